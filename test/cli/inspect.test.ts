// info, dumpxml and cpu end to end: genuine samples, stdin, redaction, every damaged case of
// FORMAT.md section 6 that concerns the header or the region, and the usage contract.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, runBinary, runInProcess } from '../helpers/cli.js';
import { GENUINE_SAMPLES, readDump, readSample, samplePath, tempDir } from '../helpers/samples.js';
import { syntheticImageBuffer } from '../helpers/synthetic-image.js';

const test = suite('cli/inspect');

const INFO_KEYS = ['magic', 'complete', 'version', 'byteOrder', 'dataLen', 'wasRunning', 'format', 'formatCode', 'cookieOffset', 'unused', 'payloadOffset', 'xmlLength', 'cookieLength', 'slack', 'blocks', 'sealed', 'domain', 'warnings'];

for (const sample of GENUINE_SAMPLES) {
  test(`info --json ${sample.file} gives the samples README values`, async () => {
    const result = await runInProcess(['info', '--json', samplePath(sample.file)]);
    assert.is(result.status, 0, result.stderr);
    const info = json(result);
    for (const key of INFO_KEYS) assert.ok(key in info, `missing key ${key}`);
    assert.equal(
      [info.dataLen, info.format, info.formatCode, info.cookieOffset, info.xmlLength, info.cookieLength, info.slack, info.payloadOffset],
      [sample.dataLen, sample.format, sample.formatCode, sample.cookieOffset, sample.xmlLength, sample.cookieLength, sample.slack, sample.payloadOffset],
    );
    assert.equal(info.blocks, [
      { root: 'domain', offset: 92, length: sample.xmlLength },
      { root: 'cookie', offset: 92 + sample.cookieOffset, length: sample.cookieLength },
    ]);
  });

  test(`dumpxml ${sample.file} prints the stored XML and cookie byte for byte`, async () => {
    const xml = await runInProcess(['dumpxml', samplePath(sample.file)]);
    assert.ok(xml.stdout.equals(readDump(sample.dumps, 'embedded-xml.txt')));
    const cookie = await runInProcess(['dumpxml', '--cookie', samplePath(sample.file)]);
    assert.ok(cookie.stdout.equals(readDump(sample.dumps, 'embedded-cookie.txt')));
    const block1 = await runInProcess(['dumpxml', '--block', '1', samplePath(sample.file)]);
    assert.ok(block1.stdout.equals(cookie.stdout));
  });
}

test('info and dumpxml read stdin (-) as the binary', () => {
  const bytes = readSample('libvirt-9.0/kvm-raw.save');
  const info = runBinary(['info', '--json', '-'], bytes);
  assert.is(info.status, 0, info.stderr);
  assert.is(json(info).cookieLength, 367);
  assert.is(json(info).payloadLength, null);
  const xml = runBinary(['dumpxml', '-'], bytes);
  assert.ok(xml.stdout.equals(readDump('libvirt-9.0/dumps/kvm-raw', 'embedded-xml.txt')));
});

test('dumpxml hides passwd unless --security-info', async () => {
  const path = join(tempDir(), 'vnc.save');
  writeFileSync(path, syntheticImageBuffer({ ramBytes: 4096 }));
  const hidden = (await runInProcess(['dumpxml', path])).stdout.toString();
  assert.not.match(hidden, 'passwd');
  assert.match(hidden, `<graphics type='vnc' port='-1' autoport='yes'/>`);
  const shown = (await runInProcess(['dumpxml', '--security-info', path])).stdout.toString();
  assert.match(shown, `passwd='s3cret'`);
});

test('cpu --json on the libvirt 9.0 KVM image', async () => {
  const result = await runInProcess(['cpu', '--json', samplePath('libvirt-9.0/kvm-raw.save')]);
  assert.is(result.status, 0, result.stderr);
  const cpu = json(result);
  assert.is(cpu.portable, false);
  assert.is((cpu.added as unknown[]).length, 5);
  const text = await runInProcess(['cpu', samplePath('libvirt-9.0/kvm-raw.save')]);
  assert.match(text.stdout.toString(), '+ x2apic (require)');
});

// Damaged copies of raw.save, as in samples/README.md ("What libvirt 9.0 said").
const raw = readSample('libvirt-9.0/raw.save');
function damaged(edit: (bytes: Buffer) => Buffer): Buffer {
  return edit(Buffer.from(raw));
}
const DAMAGE = [
  { name: 'one magic byte changed', bytes: damaged((b) => (b.write('X', 3), b)), code: 'ERR_BAD_MAGIC' },
  { name: 'magic LibvirtQemudPart', bytes: damaged((b) => (b.write('LibvirtQemudPart', 0, 'latin1'), b)), code: 'ERR_PARTIAL_IMAGE' },
  { name: 'shorter than 92 bytes', bytes: raw.subarray(0, 60), code: 'ERR_TRUNCATED' },
  { name: 'cut inside the XML', bytes: raw.subarray(0, 700), code: 'ERR_TRUNCATED' },
  { name: 'version 7', bytes: damaged((b) => (b.writeUInt32LE(7, 16), b)), code: 'ERR_UNSUPPORTED_VERSION' },
  { name: 'dataLen 0', bytes: damaged((b) => (b.writeUInt32LE(0, 20), b)), code: 'ERR_BAD_DATA_LENGTH' },
  { name: 'cookieOffset > dataLen (aborts libvirtd)', bytes: damaged((b) => (b.writeUInt32LE(70000, 32), b)), code: 'ERR_BAD_COOKIE_OFFSET' },
  { name: 'XML without a NUL', bytes: damaged((b) => (b.fill(0x20, 92 + 1324, 92 + 1325), b.writeUInt32LE(1320, 32), b)), code: 'ERR_XML_UNTERMINATED' },
];

for (const c of DAMAGE) {
  test(`info on ${c.name}: exit 1, error[${c.code}], no stack trace`, () => {
    const path = join(tempDir(), 'damaged.save');
    writeFileSync(path, c.bytes);
    const result = runBinary(['info', path]);
    assert.is(result.status, 1);
    assert.match(result.stderr, `error[${c.code}]: `);
    assert.not.match(result.stderr, '    at ');
    assert.is(result.stdout.length, 0);
    const asJson = runBinary(['info', '--json', path]);
    assert.is(asJson.status, 1);
    const error = json(asJson).error as Record<string, unknown>;
    assert.is(error.code, c.code);
    assert.type(error.message, 'string');
    assert.ok('offset' in error);
  });
}

const ACCEPTED = [
  { name: 'version 0', bytes: damaged((b) => (b.writeUInt32LE(0, 16), b)), check: (i: Record<string, unknown>) => i.version === 0 },
  { name: 'version 1', bytes: damaged((b) => (b.writeUInt32LE(1, 16), b)), check: (i: Record<string, unknown>) => i.version === 1 },
  {
    name: 'all five fields byte-swapped',
    bytes: damaged((b) => {
      for (let off = 16; off < 36; off += 4) b.writeUInt32BE(b.readUInt32LE(off), off);
      return b;
    }),
    check: (i: Record<string, unknown>) => i.byteOrder === 'be' && i.cookieOffset === 1325,
  },
  { name: 'cookieOffset 0', bytes: damaged((b) => (b.writeUInt32LE(0, 32), b)), check: (i: Record<string, unknown>) => i.cookieLength === null && i.xmlLength === 1324 },
  { name: 'any non-zero was_running', bytes: damaged((b) => (b.writeUInt32LE(7, 24), b)), check: (i: Record<string, unknown>) => i.wasRunning === true },
  { name: 'cut right at the payload', bytes: raw.subarray(0, 66990), check: (i: Record<string, unknown>) => i.payloadLength === 0 && (i.warnings as string[]).length === 1 },
  { name: 'unknown format 9', bytes: damaged((b) => (b.writeUInt32LE(9, 28), b)), check: (i: Record<string, unknown>) => i.format === 'unknown' && i.formatCode === 9 },
];

for (const c of ACCEPTED) {
  test(`info accepts ${c.name}, as libvirt does`, async () => {
    const path = join(tempDir(), 'odd.save');
    writeFileSync(path, c.bytes);
    const result = await runInProcess(['info', '--json', path]);
    assert.is(result.status, 0, result.stderr);
    assert.ok(c.check(json(result)), result.stdout.toString());
  });
}

test('--allow-partial reads a Part image and warns', async () => {
  const path = join(tempDir(), 'part.save');
  writeFileSync(path, DAMAGE[1]!.bytes);
  const result = await runInProcess(['info', '--json', '--allow-partial', path]);
  assert.is(result.status, 0);
  assert.is(json(result).complete, false);
  assert.match((json(result).warnings as string[]).join(), 'never finished');
});

test('info warns when the payload head is visible and wrong (gzip flag over raw, from stdin)', async () => {
  const result = await runInProcess(['info', '--json', '-'], damaged((b) => (b.writeUInt32LE(1, 28), b)));
  assert.match((json(result).warnings as string[]).join(), 'does not start as gzip');
});

test('info reports malformed XML as a warning with domain null; dumpxml still prints it', async () => {
  const path = join(tempDir(), 'bad-xml.save');
  writeFileSync(path, damaged((b) => (b.write('<', 92 + 1320, 'latin1'), b)));
  const info = json(await runInProcess(['info', '--json', path]));
  assert.is(info.domain, null);
  assert.match((info.warnings as string[]).join(), 'not well-formed');
  assert.is((await runInProcess(['dumpxml', path])).status, 0);
  const cpu = await runInProcess(['cpu', path]);
  assert.is(cpu.status, 1);
  assert.match(cpu.stderr, 'error[ERR_BAD_XML]');
});

test('dumpxml --cookie on a cookie-less image and --block out of range are ERR_NO_BLOCK', async () => {
  const path = join(tempDir(), 'plain.save');
  writeFileSync(path, syntheticImageBuffer({ ramBytes: 4096, cookie: null }));
  assert.match((await runInProcess(['dumpxml', '--cookie', path])).stderr, 'error[ERR_NO_BLOCK]');
  assert.match((await runInProcess(['dumpxml', '--block', '3', path])).stderr, 'error[ERR_NO_BLOCK]');
});

const USAGE = [
  ['no command', []],
  ['unknown command', ['frobnicate']],
  ['unknown option', ['info', '--frob', 'x']],
  ['missing IMAGE', ['info']],
  ['two images', ['info', 'a', 'b']],
  ['--cookie with --block', ['dumpxml', '--cookie', '--block', '1', 'x']],
  ['--block not a number', ['dumpxml', '--block', 'one', 'x']],
] as const;

for (const [name, argv] of USAGE) {
  test(`usage error (${name}) exits 2`, async () => {
    const result = await runInProcess([...argv]);
    assert.is(result.status, 2);
  });
}

for (const command of ['info', 'dumpxml', 'cpu']) {
  test(`${command} --help exits 0 and shows its usage`, async () => {
    const result = await runInProcess([command, '--help']);
    assert.is(result.status, 0);
    assert.match(result.stdout.toString(), `usage: savekit ${command}`);
  });
}

test('savekit --help lists every command', () => {
  const result = runBinary(['--help']);
  assert.is(result.status, 0);
  for (const command of ['info', 'dumpxml', 'cpu']) assert.match(result.stdout.toString(), command);
});

test.run();
