// extract-ram --physical and --elf against the genuine pair in samples/dump-pair: a paused guest
// dumped with `virsh dump --memory-only --format elf`, then saved with `virsh save`. savekit's core
// must hold the dump's memory range by range and byte for byte, and the dump's notes (registers);
// the physical image must be the dump's memory laid out flat. Any payload format, a pipe too.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, runBinary, runInProcess } from '../helpers/cli.js';
import { bytesAt } from '../helpers/files.js';
import { assertSameCore, segments } from '../helpers/elf.js';
import { dumpPairDir, tempDir } from '../helpers/samples.js';
import { encodeCpuNotes, encodeElfHeaders, layoutElfCore, reservedNoteBytes } from '../../lib/codec/memory/elf-core.js';
import { lowMemoryOf, physicalLayout } from '../../lib/codec/memory/physical-layout.js';
import type { X86Registers } from '../../lib/codec/qemu/x86-registers.js';
import { QemuStreamBuilder, ram } from '../helpers/qemu-stream.js';
import { syntheticPrologue } from '../helpers/synthetic-image.js';

const test = suite('cli/memory');
const GIB = 2 ** 30;


const pair = () => ({ save: join(dumpPairDir(), 'tinydump.save'), dump: join(dumpPairDir(), 'tinydump.dump.elf') });

test('--elf: the memory of every range and the notes (NT_PRSTATUS, QEMU) equal virsh dump\'s, from the file and from a pipe', async () => {
  const { save, dump } = pair();
  const out = join(tempDir(), 'core.elf');
  const result = await runInProcess(['extract-ram', '--elf', '--json', save, out]);
  assert.is(result.status, 0, result.stderr);
  assert.equal((json(result) as { cpus: number; elfMachine: string }).elfMachine, 'i386');
  assertSameCore(out, dump);
  const piped = join(tempDir(), 'piped.elf');
  const viaPipe = runBinary(['extract-ram', '--elf', '-', piped], readFileSync(save));
  assert.is(viaPipe.status, 0, viaPipe.stderr);
  assert.ok(readFileSync(piped).equals(readFileSync(out)), 'a pipe gives another core');
  assert.ok(statSync(out).blocks * 512 < 2 * 1024 * 1024, 'zero pages must stay holes');
});

test('--physical: the dump\'s memory laid out flat, byte N at guest-physical address N; holes elsewhere', async () => {
  const { save, dump } = pair();
  const out = join(tempDir(), 'phys.raw');
  const result = await runInProcess(['extract-ram', '--physical', save, out]);
  assert.is(result.status, 0, result.stderr);
  assert.is(statSync(out).size, 2 ** 32);
  for (const segment of segments(dump).filter((s) => s.type === 1)) {
    assert.ok(bytesAt(out, segment.paddr, segment.filesz).equals(bytesAt(dump, segment.offset, segment.filesz)), `GPA 0x${segment.paddr.toString(16)}`);
  }
  assert.ok(bytesAt(out, 0x1000000, 4096).equals(Buffer.alloc(4096)), 'the hole reads as zeros');
});

test('any payload format gives the same core: zstd, xz, sparse', async () => {
  const { save } = pair();
  const expected = join(tempDir(), 'expected.elf');
  assert.is((await runInProcess(['extract-ram', '--elf', save, expected])).status, 0);
  for (const format of ['zstd', 'xz', 'sparse']) {
    const converted = join(tempDir(), `tiny-${format}.save`);
    assert.is((await runInProcess(['convert', '--quiet', '--format', format, save, converted])).status, 0, format);
    const out = join(tempDir(), `${format}.elf`);
    const result = await runInProcess(['extract-ram', '--elf', converted, out]);
    assert.is(result.status, 0, `${format}: ${result.stderr}`);
    assert.ok(readFileSync(out).equals(readFileSync(expected)), format);
  }
});

test('the split QEMU uses: i440fx and q35, below and above the thresholds, gigabyte_align, --below-4g', () => {
  assert.is(lowMemoryOf('pc-i440fx-7.2', 4.5 * GIB), 0xc0000000);
  assert.is(lowMemoryOf('pc-i440fx-7.2', 3 * GIB), 0xe0000000);
  assert.is(lowMemoryOf('pc-i440fx-1.7', 4.5 * GIB), 0xe0000000);
  assert.is(lowMemoryOf('pc-q35-10.0', 4.5 * GIB), 0x80000000);
  assert.is(lowMemoryOf('pc-q35-10.0', 2.5 * GIB), 0xb0000000);
  assert.is(lowMemoryOf('microvm', GIB), null);
  const layout = physicalLayout('pc-q35-7.2', [
    { name: 'pc.ram', length: 4.5 * GIB },
    { name: 'pc.bios', length: 256 * 1024 },
    { name: 'pc.rom', length: 128 * 1024 },
  ]);
  assert.equal(layout.ranges.map((r) => [r.block, r.address, r.length, r.blockOffset]), [
    ['pc.ram', 0, 2 * GIB, 0],
    ['pc.bios', 4 * GIB - 256 * 1024, 256 * 1024, 0],
    ['pc.ram', 4 * GIB, 2.5 * GIB, 2 * GIB],
  ]);
  assert.equal(layout.unmapped, ['pc.rom']);
  assert.is(physicalLayout('microvm', [{ name: 'pc.ram', length: GIB }], { below4g: 0x40000000 }).below4g, GIB);
  assert.throws(() => physicalLayout('pc-i440fx-7.2', [{ name: 'pc.ram', length: 8 * GIB }, { name: 'pc.bios', length: 256 * 1024 }], { below4g: 4 * GIB }), /pc.bios \(262144 bytes\) does not fit/);
});

test('an x86_64 core for a vCPU in long mode: EM_X86_64, NT_PRSTATUS with its registers in place', () => {
  const seg = (selector: bigint, base = 0n) => ({ selector, base, limit: 0xffffffffn, flags: 0xa09b00n });
  const cpu: X86Registers = {
    arch: 'x86',
    cpu: 0,
    regs: Array.from({ length: 16 }, (_, i) => BigInt(i + 1) * 0x1111n),
    rip: 0xffffffffab1c3643n,
    rflags: 0x283n,
    cr: { cr0: 0x80050033n, cr2: 1n, cr3: 0xcc10000n, cr4: 0x6b0n },
    efer: 0xd01n,
    segs: [seg(0n), seg(0x10n), seg(0x18n), seg(0n), seg(0n, 0x7f00n), seg(0n, 0xffff89274f800000n)],
    ldt: seg(0n),
    tr: seg(0x40n, 0xfffffe0000003000n),
    gdt: seg(0n, 0xfffffe0000001000n),
    idt: seg(0n, 0xfffffe0000000000n),
    dr: [],
    hflags: 0x40c2b3n, // LMA, CS64, CPL 3
    a20Mask: 0xffffffffn,
    kernelGsBase: 0x1234n,
    halted: false,
  };
  const notes = encodeCpuNotes([cpu]);
  const prstatus = notes.subarray(20, 20 + 336);
  assert.is(notes.readUInt32LE(4), 336);
  assert.is(prstatus.readUInt32LE(32), 1, 'pr_pid');
  assert.is(prstatus.readBigUInt64LE(112 + 10 * 8), 0x1111n, 'rax');
  assert.is(prstatus.readBigUInt64LE(112 + 16 * 8), 0xffffffffab1c3643n, 'rip');
  assert.is(prstatus.readBigUInt64LE(112 + 17 * 8), 0x10n, 'cs');
  assert.is(prstatus.readBigUInt64LE(112 + 22 * 8), 0xffff89274f800000n, 'gs_base');
  const layout = layoutElfCore([{ address: 0, length: 4096, block: 'pc.ram', blockOffset: 0 }], reservedNoteBytes(1));
  assert.is(encodeElfHeaders(layout, 'x86_64', notes.length).readUInt16LE(18), 62);
});

/** A save image whose stream names `machine` and holds `blocks` (and has no cpu section). */
function imageWithMachine(machine: string, cut = false, blocks: [string, string] = ['pc.ram', 'pc.bios']): string {
  const s = new QemuStreamBuilder({ capabilities: [] });
  const [first, second] = blocks;
  const stream = Buffer.concat([s.start(2, 'ram', 4, [...ram.memSize([[first, 65536], [second, 8192]]), ...ram.eos()]).part(2, [...ram.page(0, first), ...ram.page(0, second), ...ram.eos()]).eof([])]).toString('latin1').replace('pc-q35-9.2', machine);
  const bytes = Buffer.concat([syntheticPrologue({ ramBytes: 4096 }), Buffer.from(stream, 'latin1')]);
  const path = join(tempDir(), `${machine}.save`);
  writeFileSync(path, cut ? bytes.subarray(0, bytes.length - 5000) : bytes);
  return path;
}

test('bad input: an unknown machine type without --below-4g, a layout the blocks do not fit, a cut stream: a clear error, no output left', async () => {
  const cases: Array<[string[], string, string]> = [
    [['--physical', imageWithMachine('microvm2.0')], 'ERR_BAD_STREAM', 'give --below-4g BYTES'],
    [['--physical', '--below-4g', String(2 ** 33), imageWithMachine('microvm2.0')], 'ERR_BAD_STREAM', 'do not fit below 4 GiB'],
    [['--physical', imageWithMachine('pc-q35-9.2', true)], 'ERR_TRUNCATED', 'ends at offset'],
    [['--elf', imageWithMachine('pc-q35-9.2')], 'ERR_BAD_STREAM', 'no cpu section'],
    [['--physical', imageWithMachine('raspi4b-10', false, ['sbsa.ram', 'sbsa.flash'])], 'ERR_NO_BLOCK', 'give each block\'s address with --map BLOCK=ADDRESS'],
    [['--physical', '--map', 'nope.ram=0x1000', imageWithMachine('raspi4b-10', false, ['sbsa.ram', 'sbsa.flash'])], 'ERR_NO_BLOCK', '--map names block "nope.ram", which the stream does not have'],
    [['--physical', '--map', 'sbsa.ram=0x0', '--map', 'sbsa.flash=0x8000', imageWithMachine('raspi4b-10', false, ['sbsa.ram', 'sbsa.flash'])], 'ERR_BAD_STREAM', 'block sbsa.flash at 0x8000 overlaps block sbsa.ram'],
    [['--physical', '--map', 'sbsa.ram', imageWithMachine('raspi4b-10', false, ['sbsa.ram', 'sbsa.flash'])], 'ERR_USAGE', '--map takes BLOCK=ADDRESS'],
    [['--physical', '--elf', imageWithMachine('pc-q35-9.2')], 'ERR_USAGE', 'exclude each other'],
  ];
  for (const [argv, code, message] of cases) {
    const out = join(tempDir(), 'out.bin');
    const result = await runInProcess(['extract-ram', ...argv, out]);
    assert.is(result.status, code === 'ERR_USAGE' ? 2 : 1, argv.join(' '));
    assert.match(result.stderr, `error[${code}]`, argv.join(' '));
    assert.match(result.stderr, message, argv.join(' '));
    assert.not.ok(existsSync(out), `${argv.join(' ')}: a partial output was left`);
  }
  const ok = await runInProcess(['extract-ram', '--physical', '--below-4g', String(2 ** 20), imageWithMachine('microvm2.0'), join(tempDir(), 'ok.raw')]);
  assert.is(ok.status, 0, ok.stderr);
  // A machine savekit has no layout for still walks and decodes; told the layout, it is laid out.
  const unknown = imageWithMachine('raspi4b-10', false, ['sbsa.ram', 'sbsa.flash']);
  assert.is((await runInProcess(['walk', unknown])).status, 0);
  const placed = join(tempDir(), 'placed.raw');
  const given = await runInProcess(['extract-ram', '--physical', '--json', '--map', 'sbsa.ram=0x10000000', unknown, placed]);
  assert.is(given.status, 0, given.stderr);
  const report = json(given) as { board: string; ranges: Array<{ block: string; address: number }>; unmapped: string[] };
  assert.is(report.board, 'given');
  assert.equal(report.ranges.map((r) => [r.block, r.address]), [['sbsa.ram', 0x10000000]]);
  assert.equal(report.unmapped, ['sbsa.flash']);
  assert.is(statSync(placed).size, 0x10000000 + 65536);
});

test('the virt layout: flash at 0 and 64 MiB (not in the core), mach-virt.ram from 1 GiB; blocks declared one by one only grow it', () => {
  const blocks = [
    { name: 'mach-virt.ram', length: 2 * GIB },
    { name: 'virt.flash0', length: 64 * 2 ** 20 },
    { name: 'virt.flash1', length: 64 * 2 ** 20 },
    { name: '/rom@etc/acpi/tables', length: 2 ** 21 },
  ];
  const layout = physicalLayout('virt-10.0', blocks);
  assert.is(layout.board, 'virt');
  assert.is(layout.below4g, null);
  assert.equal(layout.ranges.map((r) => [r.block, r.address, r.length, r.inCore !== false]), [
    ['virt.flash0', 0, 64 * 2 ** 20, false],
    ['virt.flash1', 64 * 2 ** 20, 64 * 2 ** 20, false],
    ['mach-virt.ram', GIB, 2 * GIB, true],
  ]);
  assert.equal(layout.unmapped, ['/rom@etc/acpi/tables']);
  assert.equal(physicalLayout('virt', blocks.slice(0, 1)).ranges.map((r) => r.address), [GIB]);
});

test.run();
