// walk, check and extract-ram as users run them: every genuine sample and payload format,
// stdin, the damage that hangs virsh restore, and RAM files checked page by page.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { decodePrologue } from '../../lib/codec/prologue.js';
import { describeStreamEnd } from '../../lib/codec/qemu/stream-end.js';
import { decodeVmDescription } from '../../lib/codec/qemu/vmdescription.js';
import { blockFilePath } from '../../lib/jobs/extract-ram.js';
import { json, runBinary } from '../helpers/cli.js';
import { copySample, GENUINE_SAMPLES, readSample, samplePath, tempDir } from '../helpers/samples.js';
import { PAGE_BYTES, syntheticImageBuffer } from '../helpers/synthetic-image.js';
import { withLookalikeFooter } from '../helpers/lookalike-footer.js';

const test = suite('cli/stream');

const RAW = readSample('libvirt-9.0/raw.save');

/** The same image with its payload compressed by another program, and the format set. */
function recompressed(bytes: Buffer, format: number, compress: (payload: Buffer) => Buffer): Buffer {
  const { payloadOffset } = decodePrologue(bytes);
  const out = Buffer.concat([bytes.subarray(0, payloadOffset), compress(bytes.subarray(payloadOffset))]);
  out.writeUInt32LE(format, 28);
  return out;
}
const viaProgram = (program: string) => (payload: Buffer) => execFileSync(program, ['-c'], { input: payload, maxBuffer: 1 << 26 });

/** The device names of the sample's own VMDESCRIPTION, read with the programs libvirt uses. */
function jsonDevices(file: string, format: string): string[] {
  const bytes = readFileSync(samplePath(file));
  const stored = bytes.subarray(decodePrologue(bytes).payloadOffset);
  const stream = format === 'raw' || format === 'sparse' ? stored : execFileSync(format, ['-dc'], { input: stored, maxBuffer: 1 << 26 });
  const end = describeStreamEnd(stream);
  assert.is(end.kind, 'vmdescription');
  const json = end.kind === 'vmdescription' ? stream.toString('utf8', end.jsonOffset, end.jsonOffset + end.jsonLength) : '{}';
  return decodeVmDescription(json)!.devices.map((d) => d.name);
}

for (const sample of GENUINE_SAMPLES) {
  test(`walk ${sample.file}: machine, version 3, blocks summing to MEM_SIZE, the JSON's devices; check passes`, () => {
    const result = runBinary(['walk', '--json', samplePath(sample.file)]);
    assert.is(result.status, 0, result.stderr);
    const walk = json(result) as { machine: string; streamVersion: number; memSize: number; ramBlocks: Array<{ length: number }>; devices: string[]; eof: boolean; deviceSizing: string };
    assert.is(walk.machine, sample.machine);
    assert.is(walk.streamVersion, 3);
    assert.is(walk.ramBlocks.reduce((sum, b) => sum + b.length, 0), walk.memSize);
    assert.ok(walk.eof);
    assert.equal(walk.devices, jsonDevices(sample.file, sample.format));
    assert.is(walk.deviceSizing, 'json'); // a compressed payload's description is read ahead
    const check = runBinary(['check', samplePath(sample.file)]);
    assert.is(check.status, 0, check.stderr);
  });
}

test('a timer value that reads as a footer: walk, state and extract-ram --elf from stdin and from gzip give what the file gives', () => {
  const dir = tempDir();
  const raw = join(dir, 'lookalike.save');
  const gzip = join(dir, 'lookalike-gzip.save');
  writeFileSync(raw, withLookalikeFooter(RAW));
  writeFileSync(gzip, recompressed(readFileSync(raw), 1, (payload) => gzipSync(payload)));
  const fromFile = json(runBinary(['walk', '--json', raw]));
  for (const [label, args, input] of [['stdin', ['-'], readFileSync(raw)], ['gzip', [gzip], undefined]] as const) {
    const walk = json(runBinary(['walk', '--json', ...args], input));
    assert.equal(walk.devices, fromFile.devices, label);
    assert.is(walk.trailingBytes, 0, label);
    const state = runBinary(['state', '--registers', ...args], input);
    assert.is(state.status, 0, `${label}: ${state.stderr}`);
    assert.equal(state.stdout, runBinary(['state', '--registers', raw]).stdout, label);
    const core = join(dir, `${label}.elf`);
    const elf = runBinary(['extract-ram', '--elf', ...args, core], input);
    assert.is(elf.status, 0, `${label}: ${elf.stderr}`);
    const expected = join(dir, `expected-${label}.elf`);
    assert.is(runBinary(['extract-ram', '--elf', raw, expected]).status, 0);
    assert.ok(readFileSync(core).equals(readFileSync(expected)), `${label}: the cores differ`);
  }
});

test('extract-ram of a sparse image from a pipe (per block, --physical, --elf) writes what it writes from the file', () => {
  const dir = tempDir();
  const file = samplePath('libvirt-11.3/sparse.save');
  const bytes = readFileSync(file);
  const perBlock = (label: string, args: string[], input?: Buffer) => {
    const out = join(dir, label);
    const result = runBinary(['extract-ram', ...args, out], input);
    assert.is(result.status, 0, `${label}: ${result.stderr}`);
    return out;
  };
  const fileBlocks = perBlock('file-blocks', [file]);
  const pipeBlocks = perBlock('pipe-blocks', ['-'], bytes);
  for (const name of readdirSync(fileBlocks, { recursive: true }) as string[]) {
    if (statSync(join(fileBlocks, name)).isFile()) assert.ok(readFileSync(join(pipeBlocks, name)).equals(readFileSync(join(fileBlocks, name))), `block file ${name}`);
  }
  for (const form of ['--physical', '--elf']) {
    const fromFile = perBlock(`file${form}`, [form, file]);
    const fromPipe = perBlock(`pipe${form}`, [form, '-'], bytes);
    assert.is(spawnSync('cmp', ['-s', fromFile, fromPipe]).status, 0, `${form} from a pipe differs`); // 4 GiB, mostly holes
  }
});

test('the gzip and xz samples give the same kind of summary as the raw one', () => {
  const summaries = ['raw', 'gzip', 'xz'].map((name) => json(runBinary(['walk', '--json', samplePath(`libvirt-9.0/${name}.save`)])) as Record<string, unknown>);
  const shape = (w: Record<string, unknown>) => [w.machine, w.streamVersion, w.memSize, (w.ramBlocks as Array<{ name: string }>).map((b) => b.name), w.devices, w.eof];
  assert.equal(shape(summaries[1]!), shape(summaries[0]!));
  assert.equal(shape(summaries[2]!), shape(summaries[0]!));
});

const FORMATS: Array<[string, number, (payload: Buffer) => Buffer]> = [
  ['gzip (node:zlib)', 1, gzipSync],
  ['bzip2', 2, viaProgram('bzip2')],
  ['xz', 3, viaProgram('xz')],
  ['lzop', 4, viaProgram('lzop')],
  ['zstd', 5, viaProgram('zstd')],
];

/** The raw sample with its VMDESCRIPTION JSON grown by `extra` bytes, then `zeros` bytes of padding. */
function withLongerDescription(extra: number, zeros: number): Buffer {
  const { payloadOffset } = decodePrologue(RAW);
  const end = describeStreamEnd(RAW.subarray(payloadOffset));
  if (end.kind !== 'vmdescription') throw new Error('the raw sample has a description');
  const at = payloadOffset + end.jsonOffset;
  const grown = Buffer.from(`{"padding": "${'x'.repeat(extra)}", ${RAW.toString('utf8', at + 1, at + end.jsonLength)}`);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(grown.length);
  return Buffer.concat([RAW.subarray(0, at - 4), length, grown, Buffer.alloc(zeros)]);
}

for (const [extra, zeros] of [[100_000, 0], [3_000_000, 0], [100_000, 4096]] as const) {
  test(`walk finds a description of ${extra} bytes${zeros ? ' before zero padding' : ''} from the file's tail`, () => {
    const path = join(tempDir(), 'image.save');
    writeFileSync(path, withLongerDescription(extra, zeros));
    const walk = json(runBinary(['walk', '--json', path])) as { deviceSizing: string; devices: string[]; trailingBytes: number };
    assert.is(walk.deviceSizing, 'json');
    assert.equal(walk.devices, jsonDevices('libvirt-9.0/raw.save', 'raw'));
    assert.is(walk.trailingBytes, zeros);
  });
}

test('a missing decompressor is ERR_MISSING_PROGRAM naming the program and its Debian package', () => {
  const path = join(tempDir(), 'image.save');
  writeFileSync(path, recompressed(RAW, 3, viaProgram('xz')));
  const result = runBinary(['walk', path], undefined, { PATH: '/nonexistent' });
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_MISSING_PROGRAM]');
  assert.match(result.stderr, 'xz-utils');
});

for (const [name, code, compress] of FORMATS) {
  test(`walk and extract-ram read a ${name} payload like the raw one, from a file and from stdin`, () => {
    const image = recompressed(RAW, code, compress);
    const path = join(tempDir(), 'image.save');
    writeFileSync(path, image);
    const rawWalk = json(runBinary(['walk', '--json', samplePath('libvirt-9.0/raw.save')]));
    for (const walk of [runBinary(['walk', '--json', path]), runBinary(['walk', '--json', '-'], image)]) {
      assert.is(walk.status, 0, walk.stderr);
      assert.equal(json(walk).ramBlocks, rawWalk.ramBlocks);
      assert.equal(json(walk).devices, rawWalk.devices);
    }
    const out = join(tempDir(), 'ram');
    assert.is(runBinary(['extract-ram', path, out]).status, 0);
    const reference = join(tempDir(), 'ram');
    runBinary(['extract-ram', samplePath('libvirt-9.0/raw.save'), reference]);
    for (const block of ['pc.ram', 'pc.bios', 'pc.rom']) assert.ok(readFileSync(join(out, block)).equals(readFileSync(join(reference, block))), block);
  });
}

test('check fails on the gzip flag over a raw payload (the restore that hangs) within seconds', () => {
  const bytes = Buffer.from(RAW);
  bytes.writeUInt32LE(1, 28);
  const started = Date.now();
  const result = runBinary(['check', '-'], bytes);
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_PAYLOAD_MISMATCH]');
  assert.ok(Date.now() - started < 5000);
});

test('check fails on a damaged gzip stream within seconds', () => {
  const image = recompressed(RAW, 1, gzipSync);
  const { payloadOffset } = decodePrologue(image);
  image.fill(0x55, payloadOffset + 2000, payloadOffset + 2100);
  const result = runBinary(['check', '-'], image);
  assert.is(result.status, 1);
  assert.match(result.stderr, /error\[ERR_(BAD_STREAM|TRUNCATED)\]/);
});

const DAMAGE: Array<[string, (b: Buffer) => Buffer, string]> = [
  ['a cut inside the RAM', (b) => b.subarray(0, 200_000), 'ERR_TRUNCATED'],
  ['a cut inside the devices', (b) => b.subarray(0, b.length - 3000), 'ERR_TRUNCATED'],
  ['a damaged RAM record header', (b) => (b.fill(0xff, 66990 + 100, 66990 + 116), b), 'ERR_BAD_STREAM'],
  ['an unknown format code', (b) => (b.writeUInt32LE(9, 28), b), 'ERR_UNSUPPORTED_FORMAT'],
  ['a file cut at the payload', (b) => b.subarray(0, 66990), 'ERR_TRUNCATED'],
  ['a malformed domain XML', (b) => (b.write('<', 92 + 1320, 'latin1'), b), 'ERR_BAD_XML'],
  ['a malformed cookie', (b) => (b.write('<', 1417 + 10, 'latin1'), b), 'ERR_BAD_XML'],
  ['a wrong magic', (b) => (b.write('X', 0, 'latin1'), b), 'ERR_BAD_MAGIC'],
];

for (const [name, damage, code] of DAMAGE) {
  test(`check fails on ${name} with ${code}`, () => {
    const path = join(tempDir(), 'damaged.save');
    writeFileSync(path, damage(Buffer.from(RAW)));
    const result = runBinary(['check', path]);
    assert.is(result.status, 1, result.stdout.toString());
    assert.match(result.stderr, `error[${code}]`);
  });
}

test('check verifies the seal in the same pass', () => {
  const path = copySample('libvirt-9.0/kvm-raw.save');
  runBinary(['seal', path]);
  assert.match(runBinary(['check', path]).stdout.toString(), 'matches its seal');
  const bytes = readFileSync(path);
  bytes[100_000] ^= 1; // inside a page body: the stream still walks, the seal does not hold
  writeFileSync(path, bytes);
  const result = runBinary(['check', path]);
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_SEAL_MISMATCH]');
});

test('extract-ram writes data pages where they belong and leaves zero pages as holes', () => {
  const path = join(tempDir(), 'synthetic.save');
  writeFileSync(path, syntheticImageBuffer({ ramBytes: 256 * PAGE_BYTES, zeroPageEvery: 4 }));
  const out = join(tempDir(), 'ram');
  const result = runBinary(['extract-ram', '--json', path, out]);
  assert.is(result.status, 0, result.stderr);
  const ram = readFileSync(join(out, 'pc.ram'));
  assert.is(ram.length, 256 * PAGE_BYTES);
  for (let page = 0; page < 256; page++) {
    const body = ram.subarray(page * PAGE_BYTES, (page + 1) * PAGE_BYTES);
    if (page % 4 === 3) assert.ok(body.every((b) => b === 0), `page ${page} should be zero`);
    else assert.is(body.readUInt32BE(0), page, `page ${page}`);
  }
  assert.ok(statSync(join(out, 'pc.ram')).blocks * 512 < ram.length, 'zero pages are holes');
  assert.equal(readdirSync(out).sort(), ['pc.ram', 'pc.rom']);
});

test('extract-ram of the sparse sample reads pages through the bitmap', () => {
  const out = join(tempDir(), 'ram');
  const result = runBinary(['extract-ram', '--json', samplePath('libvirt-11.3/sparse.save'), out]);
  assert.is(result.status, 0, result.stderr);
  const blocks = json(result).blocks as Array<{ name: string; dataPages: number }>;
  assert.equal(blocks.map((b) => [b.name, b.dataPages]), [['pc.ram', 54], ['pc.bios', 47], ['pc.rom', 0]]);
  const ram = readFileSync(join(out, 'pc.ram'));
  let nonZeroPages = 0;
  for (let page = 0; page < ram.length / PAGE_BYTES; page++) if (ram.subarray(page * PAGE_BYTES, (page + 1) * PAGE_BYTES).some((b) => b !== 0)) nonZeroPages++;
  assert.ok(nonZeroPages > 0 && nonZeroPages <= 54);
});

test('block names cannot lead out of the folder', () => {
  assert.is(blockFilePath('/out', '/rom@etc/acpi/tables'), '/out/rom@etc/acpi/tables');
  assert.is(blockFilePath('/out', '../../etc/passwd'), '/out/etc/passwd');
  assert.is(blockFilePath('/out', '/'), '/out/unnamed-block');
});

for (const name of ['walk', 'check', 'extract-ram']) {
  test(`${name} --help`, () => {
    const result = runBinary([name, '--help']);
    assert.is(result.status, 0);
    assert.match(result.stdout.toString(), `usage: savekit ${name}`);
  });
}

test.run();
