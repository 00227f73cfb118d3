// aarch64 guests on the genuine pairs in samples/aarch64 (a virt machine with two cortex-a57
// vCPUs, written by libvirt 9.0 + QEMU 7.2 and by libvirt 11.3 + QEMU 10.0: paused, dumped with
// `virsh dump --memory-only --format elf`, then saved): check and walk, every device decoded,
// --registers exactly as QEMU's `info registers` printed them before the save, --elf equal to the
// dump (notes and memory), --physical with the virt memory map, from a file and from a pipe.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { json, runBinary, runInProcess } from '../helpers/cli.js';
import { assertSameCore, segments } from '../helpers/elf.js';
import { bytesAt } from '../helpers/files.js';
import { aarch64PairDir, SAMPLES_DIR, tempDir } from '../helpers/samples.js';
import { sysregId } from '../../lib/codec/qemu/aarch64-registers.js';
import type { DeviceState } from '../../lib/codec/qemu/device-state.js';
import { decodeVcpuRegisters } from '../../lib/codec/qemu/vcpu-registers.js';

const test = suite('cli/aarch64');
const GIB = 2 ** 30;
const HOSTS = [
  { libvirt: 'libvirt-9.0', machine: 'virt-7.2' },
  { libvirt: 'libvirt-11.3', machine: 'virt-10.0' },
] as const;

const pair = (libvirt: (typeof HOSTS)[number]['libvirt']) => ({ save: join(aarch64PairDir(libvirt), 'tiny.save'), dump: join(aarch64PairDir(libvirt), 'tiny.dump.elf') });
/** What `virsh qemu-monitor-command --hmp 'info registers -a'` printed, blank lines aside. */
const hmpText = (libvirt: string) => readFileSync(join(SAMPLES_DIR, 'aarch64', libvirt, 'tiny.info-registers.txt'), 'utf8').split('\n').filter((line) => line !== '').join('\n');

for (const { libvirt, machine } of HOSTS) {
  test(`${libvirt}: check passes, walk reaches the end over the virt machine's blocks, every device decodes`, async () => {
    const { save } = pair(libvirt);
    const check = await runInProcess(['check', save]);
    assert.is(check.status, 0, check.stdout + check.stderr);
    const walk = await runInProcess(['walk', '--json', save]);
    assert.is(walk.status, 0, walk.stderr);
    const report = json(walk) as { eof: boolean; machine: string; ramBlocks: Array<{ name: string; length: number }> };
    assert.ok(report.eof);
    assert.is(report.machine, machine);
    assert.equal(report.ramBlocks.map((b) => [b.name, b.length]), [['mach-virt.ram', 128 * 2 ** 20], ['virt.flash0', 64 * 2 ** 20], ['virt.flash1', 64 * 2 ** 20]]);
    const state = await runInProcess(['state', '--json', save]);
    assert.is(state.status, 0, state.stderr);
    const decoded = json(state) as { devices: Array<{ name: string }>; undecoded: unknown[] };
    assert.is(decoded.undecoded.length, 0);
    assert.equal(decoded.devices.map((d) => d.name).filter((name) => name === 'cpu').length, 2);
    assert.ok(decoded.devices.some((d) => d.name === 'pl011') && decoded.devices.some((d) => d.name === 'arm_gic'));
  });

  test(`${libvirt}: --registers prints what 'info registers' printed before the save, from the file and from stdin`, async () => {
    const { save } = pair(libvirt);
    const fromFile = await runInProcess(['state', '--registers', save]);
    assert.is(fromFile.status, 0, fromFile.stderr);
    assert.fixture(fromFile.stdout.toString().split('\n').filter((line) => line !== '').join('\n'), hmpText(libvirt));
    const fromStdin = runBinary(['state', '--registers', '-'], readFileSync(save));
    assert.is(fromStdin.stdout.toString(), fromFile.stdout.toString());
  });

  test(`${libvirt}: --registers --json: X0..X30, SP, PC, PSTATE and the system registers the tiny kernel set`, async () => {
    const result = await runInProcess(['state', '--registers', '--json', pair(libvirt).save]);
    assert.is(result.status, 0, result.stderr);
    // A JSON document read back: its shape is what the test checks.
    const [boot, secondary] = (json(result) as { cpus: any[] }).cpus;
    assert.is(boot.arch, 'aarch64');
    for (let i = 0; i <= 26; i++) assert.is(boot.x[i], `0x0a640000000010${(i).toString(16).padStart(2, '0')}`, `X${i}`);
    assert.is(boot.x[28], '0x0000000040080800');
    assert.is(boot.x[29], '0x0000000041000000');
    assert.is(boot.sp, '0x0000000041000000');
    assert.is(boot.pstate, '0x400003c5');
    assert.is(boot.el, 1);
    assert.is(boot.spsel, 'h');
    assert.is(boot.system.VBAR_EL1, '0x0000000040080800', 'msr vbar_el1, x28 in the tiny kernel');
    assert.is(boot.system.SP_EL1, '0x0000000041000000', 'the live SP at EL1h');
    assert.ok(/^0x[0-9a-f]{16}$/.test(boot.system.SCTLR_EL1) && /^0x[0-9a-f]{16}$/.test(boot.system.TCR_EL1));
    assert.is(boot.q.length, 32);
    assert.is(secondary.cpu, 1);
    assert.is(secondary.pc, '0x0000000000000000', 'the second vCPU was never started (PSCI off)');
  });

  test(`${libvirt}: --elf equals virsh dump's core (EM_AARCH64, NT_PRSTATUS + NT_PRFPREG per vCPU, RAM at 1 GiB; flash left out), from a file and a pipe`, async () => {
    const { save, dump } = pair(libvirt);
    const out = join(tempDir(), 'core.elf');
    const result = await runInProcess(['extract-ram', '--elf', '--json', save, out]);
    assert.is(result.status, 0, result.stderr);
    const report = json(result) as { elfMachine: string; cpus: number; board: string; notInCore: string[] };
    assert.equal([report.elfMachine, report.cpus, report.board], ['aarch64', 2, 'virt']);
    assert.equal(report.notInCore, ['virt.flash0', 'virt.flash1']);
    assert.is(bytesAt(out, 18, 2).readUInt16LE(0), 183);
    assertSameCore(out, dump);
    const piped = join(tempDir(), 'piped.elf');
    const fromPipe = runBinary(['extract-ram', '--elf', '-', piped], readFileSync(save));
    assert.is(fromPipe.status, 0, fromPipe.stderr.toString());
    assertSameCore(piped, dump);
    // Told the same layout, the same core.
    const mapped = join(tempDir(), 'mapped.elf');
    assert.is((await runInProcess(['extract-ram', '--elf', '--map', 'mach-virt.ram=0x40000000', save, mapped])).status, 0);
    assertSameCore(mapped, dump);
  });

  test(`${libvirt}: --physical holds the dump's RAM at 1 GiB, the flash at 0 and 64 MiB as holes`, async () => {
    const { save, dump } = pair(libvirt);
    const out = join(tempDir(), 'memory.raw');
    const result = await runInProcess(['extract-ram', '--physical', save, out]);
    assert.is(result.status, 0, result.stderr);
    assert.is(statSync(out).size, GIB + 128 * 2 ** 20);
    const [load] = segments(dump).filter((s) => s.type === 1);
    assert.is(load!.paddr, GIB);
    assert.ok(bytesAt(out, GIB, load!.filesz).equals(bytesAt(dump, load!.offset, load!.filesz)));
    assert.ok(bytesAt(out, 0, 4096).equals(Buffer.alloc(4096)) && bytesAt(out, 64 * 2 ** 20, 4096).equals(Buffer.alloc(4096)));
    assert.ok(statSync(out).blocks * 512 < 4 * 2 ** 20, 'zero pages and the gap stay holes');
  });
}

test('libvirt-11.3: --format analyze-migration prints what QEMU 10.0\'s analyze-migration.py printed for the aarch64 stream', async () => {
  const result = await runInProcess(['state', '--format', 'analyze-migration', pair('libvirt-11.3').save]);
  assert.is(result.status, 0, result.stderr);
  assert.fixture(result.stdout.toString(), readFileSync(join(SAMPLES_DIR, 'aarch64', 'libvirt-11.3', 'tiny.state.json'), 'utf8'));
});

test('system register ids: the KVM-style ids QEMU migrates (op0, op1, CRn, CRm, op2)', () => {
  assert.is(sysregId(3, 0, 1, 0, 0), 0x603000000013c080n); // SCTLR_EL1
  assert.is(sysregId(3, 0, 2, 0, 2), 0x603000000013c102n); // TCR_EL1
  assert.is(sysregId(3, 0, 12, 0, 0), 0x603000000013c600n); // VBAR_EL1
});

test('a vCPU that is neither x86 nor aarch64 (a ppc or s390x cpu section): a clear ERR_BAD_STREAM, not a guess', () => {
  const cpu: DeviceState = { sectionId: 3, name: 'cpu', instance: 0, version: 5, vmsd: 'cpu', entries: [{ name: 'env.gpr', element: 0, value: { kind: 'int', type: 'uint64', size: 8, value: 1n } }] };
  assert.throws(() => decodeVcpuRegisters(cpu), /device cpu \(section 3\) is neither an x86 nor an aarch64 vCPU/);
});

test('convert keeps an aarch64 image whole: raw -> zstd -> sparse, the same registers and core', async () => {
  const { save, dump } = pair('libvirt-11.3');
  const dir = tempDir();
  assert.is((await runInProcess(['convert', '--quiet', '--format', 'zstd', save, join(dir, 'z.save')])).status, 0);
  assert.is((await runInProcess(['convert', '--quiet', '--format', 'sparse', join(dir, 'z.save'), join(dir, 's.save')])).status, 0);
  const registers = await runInProcess(['state', '--registers', join(dir, 's.save')]);
  assert.fixture(registers.stdout.toString().split('\n').filter((line) => line !== '').join('\n'), hmpText('libvirt-11.3'));
  assert.is((await runInProcess(['extract-ram', '--elf', join(dir, 's.save'), join(dir, 'core.elf')])).status, 0);
  assertSameCore(join(dir, 'core.elf'), dump);
});

test.run();
