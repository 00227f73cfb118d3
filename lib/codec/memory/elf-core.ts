// The ELF64 core QEMU's dump-guest-memory writes (`virsh dump --memory-only --format elf`), as
// MEMORY.md section 3 describes it: section headers at 64, program headers at 192, one PT_NOTE,
// one PT_LOAD per guest-physical RAM range packed after the notes, and .shstrtab at the end. The
// notes follow the vCPUs' architecture: x86, every vCPU's NT_PRSTATUS then every vCPU's "QEMU"
// note (target/i386/arch_dump.c); aarch64, per vCPU an NT_PRSTATUS and an NT_PRFPREG
// (target/arm/arch_dump.c, PLATFORMS.md). Pure: it lays out and encodes; the caller writes the
// pages at the offsets it is given.
import type { Aarch64Registers } from '../qemu/aarch64-registers.js';
import type { VcpuRegisters } from '../qemu/vcpu-registers.js';
import type { X86Registers } from '../qemu/x86-registers.js';
import type { PhysicalRange } from './physical-layout.js';

/** The core's e_machine, by name. */
export type ElfMachine = 'x86_64' | 'i386' | 'aarch64';

const EHDR_BYTES = 64;
const SHDR_BYTES = 64;
const PHDR_BYTES = 56;
const SECTIONS = 2; // NULL and .shstrtab
const SHSTRTAB = Buffer.from('\0.shstrtab\0', 'latin1');
const EM_386 = 3;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const E_MACHINE: Record<ElfMachine, number> = { i386: EM_386, x86_64: EM_X86_64, aarch64: EM_AARCH64 };
const PT_LOAD = 1;
const PT_NOTE = 4;
const NT_PRSTATUS = 1;
const NT_PRFPREG = 2;
const PRSTATUS_AARCH64_BYTES = 392;
const PRFPREG_AARCH64_BYTES = 528;
const PRSTATUS_X86_64_BYTES = 336;
const PRSTATUS_I386_BYTES = 144;
const QEMU_CPUSTATE_BYTES = 440;
const HF_LMA_MASK = 1n << 14n;
const LOAD_ALIGNMENT = 4096;

/** Bytes of one note: header, name padded to 4, description padded to 4. */
const noteBytes = (name: string, descBytes: number) => 12 + align4(name.length + 1) + align4(descBytes);
const align4 = (n: number) => (n + 3) & ~3;

/**
 * The most the notes of `cpus` vCPUs take, whatever their architecture (aarch64's are the
 * larger): the room is kept before the device state says which vCPUs there are.
 */
export function reservedNoteBytes(cpus: number): number {
  const x86 = noteBytes('CORE', PRSTATUS_X86_64_BYTES) + noteBytes('QEMU', QEMU_CPUSTATE_BYTES);
  const aarch64 = noteBytes('CORE', PRSTATUS_AARCH64_BYTES) + noteBytes('CORE', PRFPREG_AARCH64_BYTES);
  return cpus * Math.max(x86, aarch64);
}

export interface ElfCoreLayout {
  /** Where the notes start (after the program headers' room) and the bytes kept for them. */
  notesOffset: number;
  notesBytes: number;
  /** Each range (by address) and its file offset: block by block, back to back after the notes. */
  loads: Array<PhysicalRange & { fileOffset: number }>;
  shstrtabOffset: number;
  fileBytes: number;
}

/**
 * Program headers kept room for: every range a PC layout has (pc.ram below and above 4 GiB,
 * pc.bios), so that where the loads start does not depend on how many there turn out to be.
 */
const RESERVED_LOADS = 3;

/**
 * The file layout. QEMU packs the PT_LOADs right after the notes (0x3d8 for one i386 vCPU);
 * savekit starts them at the next 4 KiB boundary instead, so that every guest page is a file
 * system block: zero pages stay holes and pages are written whole (ELF readers go by p_offset).
 * The program headers list the loads by address; in the file they follow `blockOrder` (the RAM
 * blocks in stream order), so a block's offsets never depend on the blocks after it: a sparse
 * image from a pipe declares its blocks one by one, each with its pages right behind.
 */
export function layoutElfCore(ranges: PhysicalRange[], notesBytes: number, blockOrder: string[] = [...new Set(ranges.map((range) => range.block))]): ElfCoreLayout {
  const notesOffset = EHDR_BYTES + SECTIONS * SHDR_BYTES + (1 + Math.max(ranges.length, RESERVED_LOADS)) * PHDR_BYTES;
  let at = Math.ceil((notesOffset + notesBytes) / LOAD_ALIGNMENT) * LOAD_ALIGNMENT;
  const fileOffsets = new Map<PhysicalRange, number>();
  for (const block of blockOrder) {
    for (const range of ranges.filter((r) => r.block === block).sort((a, b) => a.blockOffset - b.blockOffset)) {
      fileOffsets.set(range, at);
      at += range.length;
    }
  }
  const loads = [...ranges].sort((a, b) => a.address - b.address).map((range) => ({ ...range, fileOffset: fileOffsets.get(range) ?? -1 }));
  const missing = loads.find((load) => load.fileOffset < 0);
  if (missing) throw new RangeError(`block ${missing.block} is not in the block order`);
  return { notesOffset, notesBytes, loads, shstrtabOffset: at, fileBytes: at + SHSTRTAB.length };
}

/** Everything before the notes: ELF header, section headers, program headers. */
export function encodeElfHeaders(layout: ElfCoreLayout, machine: ElfMachine, notesFilesz: number): Buffer {
  const out = Buffer.alloc(layout.notesOffset);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0); // ELFCLASS64, little-endian, EV_CURRENT
  out.writeUInt16LE(4, 16); // ET_CORE
  out.writeUInt16LE(E_MACHINE[machine], 18);
  out.writeUInt32LE(1, 20);
  out.writeBigUInt64LE(0n, 24); // e_entry
  out.writeBigUInt64LE(BigInt(EHDR_BYTES + SECTIONS * SHDR_BYTES), 32); // e_phoff
  out.writeBigUInt64LE(BigInt(EHDR_BYTES), 40); // e_shoff
  out.writeUInt32LE(0, 48);
  out.writeUInt16LE(EHDR_BYTES, 52); // e_ehsize (QEMU 7.2 and 10.0 write 8 here, by mistake)
  out.writeUInt16LE(PHDR_BYTES, 54);
  out.writeUInt16LE(1 + layout.loads.length, 56);
  out.writeUInt16LE(SHDR_BYTES, 58);
  out.writeUInt16LE(SECTIONS, 60);
  out.writeUInt16LE(1, 62); // e_shstrndx
  // Section 1: .shstrtab (section 0 stays all zero).
  const sh = EHDR_BYTES + SHDR_BYTES;
  out.writeUInt32LE(1, sh); // sh_name: ".shstrtab" at 1
  out.writeUInt32LE(3, sh + 4); // SHT_STRTAB
  out.writeBigUInt64LE(BigInt(layout.shstrtabOffset), sh + 24);
  out.writeBigUInt64LE(BigInt(SHSTRTAB.length), sh + 32);
  let ph = EHDR_BYTES + SECTIONS * SHDR_BYTES;
  out.writeUInt32LE(PT_NOTE, ph);
  out.writeBigUInt64LE(BigInt(layout.notesOffset), ph + 8);
  out.writeBigUInt64LE(BigInt(notesFilesz), ph + 32);
  out.writeBigUInt64LE(BigInt(notesFilesz), ph + 40);
  for (const load of layout.loads) {
    ph += PHDR_BYTES;
    out.writeUInt32LE(PT_LOAD, ph);
    out.writeBigUInt64LE(BigInt(load.fileOffset), ph + 8);
    out.writeBigUInt64LE(BigInt(load.address), ph + 16); // p_vaddr = p_paddr without paging
    out.writeBigUInt64LE(BigInt(load.address), ph + 24);
    out.writeBigUInt64LE(BigInt(load.length), ph + 32);
    out.writeBigUInt64LE(BigInt(load.length), ph + 40);
  }
  return out;
}

/** The .shstrtab bytes that end the file. */
export function shstrtab(): Buffer {
  return Buffer.from(SHSTRTAB);
}

/** The core's machine: aarch64 for ARM vCPUs; x86_64 when the first x86 vCPU runs in long mode, else i386 (QEMU's rule). */
export function elfMachineOf(cpus: VcpuRegisters[]): ElfMachine {
  const first = cpus[0];
  if (first?.arch === 'aarch64') return 'aarch64';
  return first !== undefined && (first.hflags & HF_LMA_MASK) !== 0n ? 'x86_64' : 'i386';
}

function note(name: string, type: number, desc: Buffer): Buffer {
  const out = Buffer.alloc(noteBytes(name, desc.length));
  out.writeUInt32LE(name.length + 1, 0);
  out.writeUInt32LE(desc.length, 4);
  out.writeUInt32LE(type, 8);
  out.write(name, 12, 'latin1');
  desc.copy(out, 12 + align4(name.length + 1));
  return out;
}

/** The vCPUs' notes in QEMU's order for their architecture. */
export function encodeCpuNotes(cpus: VcpuRegisters[]): Buffer {
  const machine = elfMachineOf(cpus);
  if (machine === 'aarch64') {
    return Buffer.concat(cpus.filter(isAarch64).flatMap((cpu) => [note('CORE', NT_PRSTATUS, prstatusAarch64(cpu)), note('CORE', NT_PRFPREG, prfpregAarch64(cpu))]));
  }
  const x86 = cpus.filter((cpu): cpu is X86Registers => cpu.arch === 'x86');
  const long = machine === 'x86_64';
  return Buffer.concat([...x86.map((cpu) => note('CORE', NT_PRSTATUS, long ? prstatus64(cpu) : prstatus32(cpu))), ...x86.map((cpu) => note('QEMU', 0, qemuCpuState(cpu)))]);
}

const isAarch64 = (cpu: VcpuRegisters): cpu is Aarch64Registers => cpu.arch === 'aarch64';

/** struct elf_prstatus for aarch64: pr_pid at 32, user_pt_regs (x0..x30, sp, pc, pstate) at 112, pr_fpvalid 1. */
function prstatusAarch64(cpu: Aarch64Registers): Buffer {
  const out = Buffer.alloc(PRSTATUS_AARCH64_BYTES);
  out.writeUInt32LE(cpu.cpu + 1, 32);
  [...cpu.x, cpu.sp, cpu.pc, BigInt(cpu.pstate)].forEach((value, i) => out.writeBigUInt64LE(value, 112 + i * 8));
  out.writeUInt32LE(1, 112 + 34 * 8);
  return out;
}

/** struct user_fpsimd_state: V0..V31 (low half first), fpsr, fpcr, padding. */
function prfpregAarch64(cpu: Aarch64Registers): Buffer {
  const out = Buffer.alloc(PRFPREG_AARCH64_BYTES);
  cpu.v.forEach(([low, high], i) => {
    out.writeBigUInt64LE(low, i * 16);
    out.writeBigUInt64LE(high, i * 16 + 8);
  });
  out.writeUInt32LE(cpu.fpsr >>> 0, 512);
  out.writeUInt32LE(cpu.fpcr >>> 0, 516);
  return out;
}

/** struct elf_prstatus for x86_64: pr_pid at 32, user_regs_struct at 112. */
function prstatus64(cpu: X86Registers): Buffer {
  const out = Buffer.alloc(PRSTATUS_X86_64_BYTES);
  out.writeUInt32LE(cpu.cpu + 1, 32);
  const r = cpu.regs;
  const seg = cpu.segs;
  const values = [r[15], r[14], r[13], r[12], r[5], r[3], r[11], r[10], r[9], r[8], r[0], r[1], r[2], r[6], r[7], 0n, cpu.rip, seg[1]?.selector, cpu.rflags, r[4], seg[2]?.selector, seg[4]?.base, seg[5]?.base, seg[3]?.selector, seg[0]?.selector, seg[4]?.selector, seg[5]?.selector];
  values.forEach((value, i) => out.writeBigUInt64LE(BigInt.asUintN(64, value ?? 0n), 112 + i * 8));
  return out;
}

/** struct elf_prstatus for i386: pr_pid at 24, the 17 registers at 72 (selectors as u16 + pad). */
function prstatus32(cpu: X86Registers): Buffer {
  const out = Buffer.alloc(PRSTATUS_I386_BYTES);
  out.writeUInt32LE(cpu.cpu + 1, 24);
  const r = cpu.regs;
  const seg = cpu.segs;
  const values = [r[3], r[1], r[2], r[6], r[7], r[5], r[0], seg[3]?.selector, seg[0]?.selector, seg[4]?.selector, seg[5]?.selector, 0n, cpu.rip, seg[1]?.selector, cpu.rflags, r[4], seg[2]?.selector];
  values.forEach((value, i) => out.writeUInt32LE(Number(BigInt.asUintN(32, value ?? 0n)), 72 + i * 4));
  return out;
}

/** QEMUCPUState (target/i386/arch_dump.c): version, size, registers, 10 segments, cr[5], kernel_gs_base. */
function qemuCpuState(cpu: X86Registers): Buffer {
  const out = Buffer.alloc(QEMU_CPUSTATE_BYTES);
  out.writeUInt32LE(1, 0);
  out.writeUInt32LE(QEMU_CPUSTATE_BYTES, 4);
  const r = cpu.regs;
  const general = [r[0], r[3], r[1], r[2], r[6], r[7], r[4], r[5], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15], cpu.rip, cpu.rflags];
  general.forEach((value, i) => out.writeBigUInt64LE(BigInt.asUintN(64, value ?? 0n), 8 + i * 8));
  const segs = [cpu.segs[1], cpu.segs[3], cpu.segs[0], cpu.segs[4], cpu.segs[5], cpu.segs[2], cpu.ldt, cpu.tr, cpu.gdt, cpu.idt];
  segs.forEach((s, i) => {
    const at = 152 + i * 24;
    out.writeUInt32LE(Number(BigInt.asUintN(32, s?.selector ?? 0n)), at);
    out.writeUInt32LE(Number(BigInt.asUintN(32, s?.limit ?? 0n)), at + 4);
    out.writeUInt32LE(Number(BigInt.asUintN(32, s?.flags ?? 0n)), at + 8);
    out.writeBigUInt64LE(BigInt.asUintN(64, s?.base ?? 0n), at + 16);
  });
  [cpu.cr.cr0, 0n, cpu.cr.cr2, cpu.cr.cr3, cpu.cr.cr4].forEach((value, i) => out.writeBigUInt64LE(BigInt.asUintN(64, value), 392 + i * 8));
  out.writeBigUInt64LE(BigInt.asUintN(64, cpu.kernelGsBase), 432);
  return out;
}
