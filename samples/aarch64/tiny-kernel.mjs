// Writes the tiny aarch64 "kernel" the aarch64 samples were made with: an arm64 Image header
// (so QEMU's -kernel loads it as Linux and enters it at EL1 with the MMU off) and a few
// hand-encoded instructions that put known values in X0..X28, SP and VBAR_EL1, then count in
// X27 forever. Usage: node tiny-kernel.mjs OUT
import { writeFileSync } from 'node:fs';

const words = [];
const movz = (rd, imm, hw = 0) => 0xd2800000 | (hw << 21) | (imm << 5) | rd;
const movk = (rd, imm, hw) => 0xf2800000 | (hw << 21) | (imm << 5) | rd;
for (let r = 0; r <= 28; r++) words.push(movz(r, 0x1000 + r), movk(r, 0x0a64, 3));
words.push(movz(29, 0x4100, 1)); // x29 = 0x4100_0000
words.push(0x910003bf); // mov sp, x29
words.push(movz(28, 0x4008, 1), movk(28, 0x0800, 0)); // x28 = 0x4008_0800
words.push(0xd518c000 | 28); // msr vbar_el1, x28
words.push(0x9100077b); // loop: add x27, x27, #1
words.push(0x17ffffff); // b loop

const header = Buffer.alloc(64);
header.writeUInt32LE(0x14000010, 0); // b +64: over the header
const code = Buffer.alloc(words.length * 4);
words.forEach((word, i) => code.writeUInt32LE(word >>> 0, i * 4));
header.writeBigUInt64LE(0x80000n, 8); // text_offset
header.writeBigUInt64LE(BigInt(64 + code.length), 16); // image_size
header.write('ARM\x64', 56, 'latin1');
writeFileSync(process.argv[2], Buffer.concat([header, code]));
