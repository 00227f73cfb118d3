// savekit state on the genuine images: the same text as QEMU's analyze-migration.py -d state
// for every sample (files and stdin, raw, compressed and sparse), registers that equal the cpu
// fields of that output, an image without a description, a description that lies, usage.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, runBinary, runInProcess } from '../helpers/cli.js';
import { GENUINE_SAMPLES, readSample, SAMPLES_DIR, samplePath, tempDir } from '../helpers/samples.js';

const test = suite('cli/state');

/** The analyzer's output for a sample's stream (an edited copy has the same stream). */
function oracleOf(file: string): string {
  const name = file.replace('edited/raw.define-desc-longer', 'raw').replace(/\.save$/, '.state.json');
  return readFileSync(join(SAMPLES_DIR, 'oracle-state', name), 'utf8');
}

for (const sample of GENUINE_SAMPLES) {
  test(`${sample.file} (${sample.format}): --format analyze-migration prints what analyze-migration.py printed, from the file and from stdin`, async () => {
    const expected = oracleOf(sample.file);
    const fromFile = await runInProcess(['state', '--format', 'analyze-migration', samplePath(sample.file)]);
    assert.is(fromFile.status, 0, fromFile.stderr);
    assert.fixture(fromFile.stdout.toString(), expected);
    const fromStdin = runBinary(['state', '--format', 'analyze-migration', '-'], readSample(sample.file));
    assert.is(fromStdin.status, 0, fromStdin.stderr);
    assert.ok(fromStdin.stdout.toString() === expected, 'stdin differs from the file');
  });
}

const hexOf = (value: string) => BigInt(value.split(' ')[0]!);

for (const sample of GENUINE_SAMPLES.filter((s) => !s.file.includes('edited'))) {
  test(`${sample.file}: --registers --json equals the cpu fields analyze-migration.py printed`, async () => {
    const oracle = JSON.parse(oracleOf(sample.file)) as Record<string, Record<string, unknown>>;
    const cpuKey = Object.keys(oracle).find((key) => key.startsWith('cpu ('))!;
    const cpu = oracle[cpuKey] as Record<string, string | string[] | Array<Record<string, string>> | Record<string, string>>;
    const result = await runInProcess(['state', '--registers', '--json', samplePath(sample.file)]);
    assert.is(result.status, 0, result.stderr);
    // A JSON document read back: its shape is what the test checks.
    const [regs] = (json(result) as { cpus: any[] }).cpus;
    const names = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
    names.forEach((name, i) => assert.is(BigInt(regs![name]!), hexOf((cpu['env.regs'] as string[])[i]!), name));
    assert.is(BigInt(regs!.rip!), hexOf(cpu['env.eip'] as string));
    assert.is(BigInt(regs!.rflags!), hexOf(cpu['env.eflags'] as string));
    for (const cr of [0, 2, 3, 4]) assert.is(BigInt(regs![`cr${cr}`]!), hexOf(cpu[`env.cr[${cr}]`] as string), `cr${cr}`);
    assert.is(BigInt(regs!.efer!), hexOf(cpu['env.efer'] as string));
    const segs = cpu['env.segs'] as Array<Record<string, string>>;
    ['es', 'cs', 'ss', 'ds', 'fs', 'gs'].forEach((name, i) => {
      for (const part of ['selector', 'base', 'limit', 'flags']) assert.is(BigInt(regs!.segments![name]![part]!), hexOf(segs[i]![part]!), `${name}.${part}`);
    });
    for (const table of ['gdt', 'idt'] as const) {
      const expected = cpu[`env.${table}`] as Record<string, string>;
      assert.is(BigInt(regs![table]!.base!), hexOf(expected.base!));
      assert.is(BigInt(regs![table]!.limit!), hexOf(expected.limit!));
    }
  });
}

test('--registers as text: laid out like info registers (real mode, 32-bit names)', async () => {
  const result = await runInProcess(['state', '--registers', samplePath('libvirt-9.0/raw.save')]);
  assert.is(result.status, 0, result.stderr);
  const text = result.stdout.toString();
  assert.match(text, /^CPU#0\nEAX=00000000 EBX=00000000 ECX=0000b79d EDX=00000000\n/);
  assert.match(text, '\nEIP=0000b7b9 EFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n');
  assert.match(text, '\nCS =f000 000f0000 0000ffff 00009b00\n');
  assert.match(text, '\nIDT=     00000000 000003ff\n');
});

test('--json: the tree with exact 64-bit values; --device keeps the devices named (section or vmsd name)', async () => {
  const result = await runInProcess(['state', '--json', '--device', 'cpu', '--device', 'fw_cfg', samplePath('libvirt-9.0/raw.save')]);
  assert.is(result.status, 0, result.stderr);
  const report = json(result) as { described: boolean; devices: Array<{ name: string; id: number; state: Record<string, unknown> }>; undecoded: unknown[] };
  assert.equal(report.devices.map((d) => d.name), ['cpu', 'fw_cfg']);
  assert.ok(report.described);
  const cpu = report.devices[0]!.state;
  assert.is(cpu['env.mcg_ctl'], '18446744073709551615'); // 0xffffffffffffffff, exact
  assert.is(cpu['env.a20_mask'], -1);
  assert.equal(report.devices[1]!.state, { cur_entry: 14, 'cur_offset[1]': 2, 'fw_cfg/dma': { dma_addr: '0' } });
  assert.equal(report.undecoded, []);
});

test('the default listing names every device and field', async () => {
  const result = await runInProcess(['state', samplePath('libvirt-11.3/kvm-raw.save')]);
  assert.is(result.status, 0, result.stderr);
  const text = result.stdout.toString();
  assert.match(text, /^timer \(section 0, instance 0, version 2\)\n {2}cpu_ticks_offset = 0x/);
  assert.match(text, '\n  env.segs[1].selector = 0x');
  assert.match(text, '\n  cpu/tsc_khz (subsection, version 1)\n');
});

/** raw.save with its VMDESCRIPTION cut off: the stream ends at its EOF byte. */
function withoutDescription(): string {
  const image = readSample('libvirt-9.0/raw.save');
  const walk = JSON.parse(runBinary(['walk', '--json', samplePath('libvirt-9.0/raw.save')]).stdout.toString()) as { endOffset: number };
  const path = join(tempDir(), 'no-description.save');
  writeFileSync(path, image.subarray(0, walk.endOffset));
  return path;
}

test('an image without a description: every device listed with its raw bytes and why; analyze-migration format refused', async () => {
  const path = withoutDescription();
  const listing = await runInProcess(['state', path]);
  assert.is(listing.status, 0, listing.stderr);
  assert.match(listing.stdout.toString(), /^timer \(section 0, instance 0, version 2\): 24 bytes, not decoded: the stream carries no device description/m);
  assert.match(listing.stdout.toString(), /\n {2}000000 {2}00 00 00 06 db 91 44 81/);
  const report = json(await runInProcess(['state', '--json', path])) as { described: boolean; devices: unknown[]; undecoded: Array<{ name: string; bytes: string; length: number }> };
  assert.is(report.described, false);
  assert.equal(report.devices, []);
  assert.is(report.undecoded.length, 28);
  assert.is(report.undecoded[0]!.bytes.length, report.undecoded[0]!.length * 2);
  for (const argv of [['--format', 'analyze-migration'], ['--registers']]) {
    const refused = await runInProcess(['state', ...argv, path]);
    assert.is(refused.status, 1);
    assert.match(refused.stderr, 'error[ERR_BAD_STREAM]: cannot decode the device state: the stream carries no device description');
  }
});

test('a description that contradicts the stream ends in ERR_BAD_STREAM naming the device and field', async () => {
  const image = readSample('libvirt-9.0/raw.save');
  const text = image.toString('latin1');
  const at = text.indexOf('"name": "cur_entry", "type": "uint16", "size": 2');
  assert.ok(at > 0);
  const lying = Buffer.from(text.slice(0, at) + '"name": "cur_entry", "type": "uint16", "size": 9' + text.slice(at + 48), 'latin1');
  const path = join(tempDir(), 'lying.save');
  writeFileSync(path, lying);
  const result = await runInProcess(['state', '--json', path]);
  assert.is(result.status, 1);
  assert.match(result.stdout.toString(), 'ERR_BAD_STREAM');
  const fromStdin = runBinary(['state', '-'], lying);
  assert.is(fromStdin.status, 1);
  assert.match(fromStdin.stderr, /error\[ERR_BAD_STREAM\]: device fw_cfg \(section 9\), field /);
});

test('usage: --help, an unknown format, --json with --format', async () => {
  assert.match((await runInProcess(['state', '--help'])).stdout.toString(), 'usage: savekit state IMAGE|-');
  for (const argv of [['--format', 'yaml'], ['--json', '--format', 'analyze-migration'], []]) {
    const result = await runInProcess(['state', ...argv, ...(argv.length ? [samplePath('libvirt-9.0/raw.save')] : [])]);
    assert.is(result.status, 2, argv.join(' '));
    assert.match(result.stderr + result.stdout.toString(), 'ERR_USAGE');
  }
});

test.run();
