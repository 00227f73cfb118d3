// rewrite, hash, seal and verify as users run them: files and pipes, genuine and synthetic
// images, the chunking matrix on stdin, truncation, seals, a closed stdout.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePrologue } from '../../lib/codec/prologue.js';
import { xxh64Hex } from '../../lib/hash.js';
import { CHUNKINGS } from '../helpers/chunking.js';
import { json, runBinary, runBinaryFed, SAVEKIT_BIN } from '../helpers/cli.js';
import { copySample, GENUINE_SAMPLES, readSample, samplePath, tempDir } from '../helpers/samples.js';
import { syntheticImageBuffer } from '../helpers/synthetic-image.js';

const test = suite('cli/pipe');

function longerXml(image: Buffer, extra: number): string {
  const stored = decodePrologue(image).region.xml.text;
  const path = join(tempDir(), 'new.xml');
  writeFileSync(path, stored.replace('<name>', `<!-- ${'x'.repeat(extra)} -->\n  <name>`));
  return path;
}

async function payloadHash(image: Buffer): Promise<string> {
  return xxh64Hex(image.subarray(decodePrologue(image).payloadOffset));
}

for (const sample of GENUINE_SAMPLES) {
  test(`rewrite ${sample.file} file to file with a much longer XML, paused, version 3`, async () => {
    const input = readSample(sample.file);
    const out = join(tempDir(), 'out.save');
    const xml = longerXml(input, 100_000);
    const result = runBinary(['rewrite', '--xml', xml, '--paused', '--version', '3', '--json', samplePath(sample.file), out]);
    assert.is(result.status, 0, result.stderr);
    const output = readFileSync(out);
    const image = decodePrologue(output);
    assert.is(image.header.version, 3);
    assert.is(image.header.wasRunning, 0);
    assert.is(image.header.format, sample.formatCode);
    assert.ok(image.region.xml.bytes.equals(readFileSync(xml)));
    assert.is(image.region.slack, 65536);
    assert.equal(image.region.blocks.map((b) => b.root), ['domain', 'cookie']);
    assert.is(await payloadHash(output), await payloadHash(input));
    assert.is(json(result).payloadLength, input.length - sample.payloadOffset);
  });
}

const SYNTHETIC = [
  { name: 'little-endian v2', options: { byteOrder: 'le' as const, version: 2 } },
  { name: 'big-endian v2', options: { byteOrder: 'be' as const, version: 2 } },
  { name: 'little-endian v3 with an extension', options: { byteOrder: 'le' as const, version: 3, extensions: ['<note/>'] } },
  { name: 'big-endian v3, cookie-less', options: { byteOrder: 'be' as const, version: 3, cookie: null } },
];

for (const c of SYNTHETIC) {
  test(`rewrite a synthetic ${c.name} image through pipes, keeping its byte order`, async () => {
    const input = syntheticImageBuffer({ ramBytes: 256 * 4096, ...c.options });
    const result = await runBinaryFed(['rewrite', '--slack', '7', '--running'], [input]);
    assert.is(result.status, 0, result.stderr);
    const image = decodePrologue(result.stdout);
    assert.is(image.header.byteOrder, c.options.byteOrder);
    assert.is(image.header.version, c.options.version);
    assert.is(image.region.slack, 7);
    assert.is(image.region.blocks.length, decodePrologue(input).region.blocks.length);
    assert.is(await payloadHash(result.stdout), await payloadHash(input));
  });
}

const RAW = readSample('libvirt-9.0/raw.save');
for (const chunking of CHUNKINGS) {
  test(`rewrite from stdin in chunks (${chunking.name}) keeps the payload byte for byte`, async () => {
    const result = await runBinaryFed(['rewrite', '--paused'], chunking.split(RAW));
    assert.is(result.status, 0, result.stderr);
    const expected = Buffer.from(RAW);
    expected.writeUInt32LE(0, 24);
    assert.ok(result.stdout.equals(expected));
  });
}

test('rewrite through pipes that were left non-blocking (EAGAIN) still copies every byte', () => {
  // A parent that touched process.stdin/stdout made the shared pipe ends non-blocking.
  const wrapper = `process.stdin; process.stdout; const r = require('child_process').spawnSync(process.execPath, ${JSON.stringify([SAVEKIT_BIN, 'rewrite'])}, { stdio: 'inherit' }); process.exitCode = r.status;`;
  const big = syntheticImageBuffer({ ramBytes: 16 * 1024 * 1024 });
  const result = spawnSync('bash', ['-c', `"${process.execPath}" -e "${wrapper.replaceAll('"', '\\"')}" | cat`], { input: big, maxBuffer: 64 * 1024 * 1024 });
  assert.is(result.status, 0, result.stderr.toString());
  assert.ok(result.stdout.equals(big));
});

test('rewrite with no change reproduces the image exactly', async () => {
  const result = await runBinaryFed(['rewrite'], [RAW]);
  assert.ok(result.stdout.equals(RAW));
});

const CUTS = [
  { name: 'inside the RAM pages', at: 100_000 },
  { name: 'inside the device sections', at: RAW.length - 3000 },
  { name: 'inside the JSON description', at: RAW.length - 10 },
  { name: 'right at the payload', at: 66990 },
];

for (const cut of CUTS) {
  test(`a truncated input (${cut.name}) is ERR_TRUNCATED, and the output file keeps the Part magic`, () => {
    const out = join(tempDir(), 'out.save');
    const result = runBinary(['rewrite', '-', out], RAW.subarray(0, cut.at));
    assert.is(result.status, 1);
    assert.match(result.stderr, 'error[ERR_TRUNCATED]');
    assert.match(result.stderr, 'LibvirtQemudPart');
    assert.is(readFileSync(out).toString('latin1', 0, 16), 'LibvirtQemudPart');
    const toPipe = runBinary(['rewrite'], RAW.subarray(0, cut.at));
    assert.is(toPipe.status, 1);
  });
}

test('rewrite --seal to a file stores a seal that verify accepts', () => {
  const out = join(tempDir(), 'sealed.save');
  const result = runBinary(['rewrite', '--seal', '--json', samplePath('libvirt-9.0/kvm-raw.save'), out]);
  assert.is(result.status, 0, result.stderr);
  const seal = json(result).seal as { digest: string; payloadLength: number };
  assert.is(seal.payloadLength, 554510 - 67220);
  const verify = runBinary(['verify', '--json', out]);
  assert.is(verify.status, 0, verify.stderr);
  assert.equal(json(verify), { sealed: true, ok: true, payloadLength: seal.payloadLength, digest: seal.digest });
});

test('rewrite --seal to a pipe is refused up front for an unsealed input, carried over for a sealed one', () => {
  const refused = runBinary(['rewrite', '--seal', samplePath('libvirt-9.0/raw.save')]);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, 'error[ERR_NOT_SEEKABLE]');
  assert.is(refused.stdout.length, 0);
  const sealed = copySample('libvirt-9.0/raw.save');
  assert.is(runBinary(['seal', sealed]).status, 0);
  const carried = runBinary(['rewrite', '--seal', '--xml', longerXml(RAW, 10), sealed]);
  assert.is(carried.status, 0, carried.stderr);
  assert.is(runBinary(['verify', '-'], carried.stdout).status, 0);
  assert.ok(decodePrologue(carried.stdout).seal);
});

test('rewrite of a sealed input whose payload was changed fails with ERR_SEAL_MISMATCH', () => {
  const sealed = copySample('libvirt-9.0/raw.save');
  runBinary(['seal', sealed]);
  const bytes = readFileSync(sealed);
  bytes[200_000] ^= 0xff;
  const result = runBinary(['rewrite'], bytes);
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_SEAL_MISMATCH]');
});

test('rewrite onto a full device (ENOSPC), as a path or as stdout: exit 1, ERR_IO naming it, no stack trace', () => {
  for (const result of [runBinary(['rewrite', samplePath('libvirt-9.0/raw.save'), '/dev/full']), spawnSync('bash', ['-c', `"${process.execPath}" "${SAVEKIT_BIN}" rewrite "${samplePath('libvirt-9.0/raw.save')}" > /dev/full`])]) {
    assert.is(result.status, 1);
    const stderr = result.stderr.toString();
    assert.match(stderr, 'error[ERR_IO]');
    assert.match(stderr, 'ENOSPC');
    assert.not.match(stderr, '    at ');
    assert.not.match(stderr, 'LibvirtQemudPart'); // not a file: nothing is left behind to refuse
  }
});

test('rewrite refuses to overwrite its own input', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const result = runBinary(['rewrite', path, path]);
  assert.is(result.status, 2);
  assert.ok(readFileSync(path).equals(RAW));
});

test('rewrite into a pipe closed early ends quietly', () => {
  const big = join(tempDir(), 'big.save');
  writeFileSync(big, syntheticImageBuffer({ ramBytes: 8 * 1024 * 1024 }));
  const result = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${SAVEKIT_BIN}" rewrite "${big}" | head -c 1000 > /dev/null; echo "status \${PIPESTATUS[0]}"`]);
  assert.match(result.stdout.toString(), 'status 0');
  assert.is(result.stderr.toString(), '');
});

test('hash equals xxhsum -H1 of the same bytes on every genuine sample', () => {
  for (const sample of GENUINE_SAMPLES) {
    const bytes = readSample(sample.file);
    const result = runBinary(['hash', '--json', samplePath(sample.file)]);
    assert.is(result.status, 0, result.stderr);
    const xxhsum = (data: Buffer): string => execFileSync('xxhsum', ['-H1', '-'], { input: data }).toString().split(/\s+/)[0]!;
    const digest = json(result);
    assert.equal(digest, {
      algorithm: 'xxh64',
      payloadOffset: sample.payloadOffset,
      payloadLength: bytes.length - sample.payloadOffset,
      payload: xxhsum(bytes.subarray(sample.payloadOffset)),
      prologue: xxhsum(bytes.subarray(0, sample.payloadOffset)),
    });
    assert.equal(json(runBinary(['hash', '--json', '-'], bytes)), digest);
  }
});

test('a payload large enough for the hashing thread gives the same digest from a file and a pipe', async () => {
  const path = join(tempDir(), 'large.save');
  const bytes = syntheticImageBuffer({ ramBytes: 80 * 1024 * 1024 });
  writeFileSync(path, bytes);
  const expected = await payloadHash(bytes);
  assert.is(json(runBinary(['hash', '--json', path])).payload, expected);
  assert.is(json(runBinary(['hash', '--json', '-'], bytes)).payload, expected);
  const out = join(tempDir(), 'sealed.save');
  assert.is(runBinary(['rewrite', '--seal', path, out]).status, 0);
  assert.is((decodePrologue(readFileSync(out).subarray(0, 200_000)).seal ?? { digest: '' }).digest, expected);
});

test('seal then verify; a define keeps it verifiable', () => {
  const path = copySample('libvirt-11.3/zstd.save');
  assert.is(runBinary(['seal', path]).status, 0);
  assert.match(runBinary(['verify', path]).stdout.toString(), 'matches its seal');
  const xml = longerXml(readFileSync(path), 50);
  assert.is(runBinary(['define', path, xml]).status, 0);
  assert.is(runBinary(['verify', path]).status, 0);
  assert.is(json(runBinary(['seal', '--json', path])).changed, false);
});

const DAMAGE = [
  { name: 'a flipped first payload byte', edit: (b: Buffer) => ((b[67220] ^= 1), b), code: 'ERR_SEAL_MISMATCH' },
  { name: 'a flipped last byte', edit: (b: Buffer) => ((b[b.length - 1] ^= 0x80), b), code: 'ERR_SEAL_MISMATCH' },
  { name: 'a cut file', edit: (b: Buffer) => b.subarray(0, b.length - 1), code: 'ERR_TRUNCATED' },
  { name: 'a cut at the payload', edit: (b: Buffer) => b.subarray(0, 67220), code: 'ERR_TRUNCATED' },
  { name: 'appended bytes', edit: (b: Buffer) => Buffer.concat([b, Buffer.from('x')]), code: 'ERR_SEAL_MISMATCH' },
];

for (const c of DAMAGE) {
  test(`verify catches ${c.name} (${c.code}), from a file and from stdin`, () => {
    const path = copySample('libvirt-9.0/kvm-raw.save');
    runBinary(['seal', path]);
    const damaged = c.edit(readFileSync(path));
    writeFileSync(path, damaged);
    for (const result of [runBinary(['verify', path]), runBinary(['verify', '-'], damaged)]) {
      assert.is(result.status, 1);
      assert.match(result.stderr, `error[${c.code}]`);
    }
  });
}

test('flipping any one payload byte breaks the seal (40 random offsets)', async () => {
  const { FdSource } = await import('../../lib/io/fd-source.js');
  const { hashImage } = await import('../../lib/jobs/hash-image.js');
  const { assertSealHolds } = await import('../../lib/jobs/rewrite.js');
  const { openSync, closeSync } = await import('node:fs');
  const path = copySample('libvirt-9.0/raw.save');
  runBinary(['seal', path]);
  const sealed = readFileSync(path);
  const verifies = async (bytes: Buffer): Promise<string> => {
    writeFileSync(path, bytes);
    const fd = openSync(path, 'r');
    try {
      const digest = await hashImage(new FdSource(fd));
      assertSealHolds(digest.image.seal!, digest.image.payloadOffset, digest.payloadLength, digest.payload);
      return 'ok';
    } catch (error) {
      return (error as { code: string }).code;
    } finally {
      closeSync(fd);
    }
  };
  assert.is(await verifies(sealed), 'ok');
  let seed = 7;
  for (let i = 0; i < 40; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const at = 66990 + (seed % (sealed.length - 66990));
    const damaged = Buffer.from(sealed);
    damaged[at] ^= 1 << (i % 8);
    assert.is(await verifies(damaged), 'ERR_SEAL_MISMATCH', `offset ${at}`);
  }
});

test('verify says plainly that an unsealed image is unsealed, exit 0', () => {
  const result = runBinary(['verify', '--json', samplePath('libvirt-9.0/raw.save')]);
  assert.is(result.status, 0);
  assert.equal(json(result), { sealed: false, ok: null });
});

test('seal refuses to hide damage under a new seal unless --force', () => {
  const path = copySample('libvirt-9.0/raw.save');
  runBinary(['seal', path]);
  const bytes = readFileSync(path);
  bytes[300_000] ^= 1;
  writeFileSync(path, bytes);
  const refused = runBinary(['seal', path]);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, 'error[ERR_SEAL_MISMATCH]');
  assert.is(runBinary(['seal', '--force', path]).status, 0);
  assert.is(runBinary(['verify', path]).status, 0);
});

test('no progress output when stderr is not a terminal', () => {
  const result = runBinary(['hash', samplePath('libvirt-9.0/raw.save')]);
  assert.is(result.stderr, '');
});

test('a progress bar on a terminal, none with --quiet', () => {
  const big = join(tempDir(), 'big.save');
  writeFileSync(big, syntheticImageBuffer({ ramBytes: 64 * 1024 * 1024 }));
  const command = (extra: string): string =>
    spawnSync('script', ['-qec', `"${process.execPath}" "${SAVEKIT_BIN}" hash ${extra} "${big}" 2>&1 >/dev/null`, '/dev/null'], { env: { ...process.env, TERM: 'xterm' } }).stdout.toString();
  assert.match(command(''), 'MiB');
  assert.match(command(''), 'ETA');
  assert.not.match(command('--quiet'), 'MiB');
  // From a pipe the size is unknown: bytes and rate, no percentage and no ETA.
  const piped = spawnSync('script', ['-qec', `cat "${big}" | "${process.execPath}" "${SAVEKIT_BIN}" hash - 2>&1 >/dev/null`, '/dev/null'], { env: { ...process.env, TERM: 'xterm' } }).stdout.toString();
  assert.match(piped, '/s');
  assert.not.match(piped, 'ETA');
});

test('walk, check, state, extract-ram (every form), delta, signature, apply and diff draw the bar too, and take --quiet', () => {
  const dir = tempDir();
  const big = join(dir, 'big.save');
  writeFileSync(big, syntheticImageBuffer({ ramBytes: 64 * 1024 * 1024 }));
  const delta = join(dir, 'self.delta');
  assert.is(runBinary(['delta', big, big, delta]).status, 0);
  const forms: Array<[string, string]> = [
    ['walk', `"${big}"`],
    ['check', `"${big}"`],
    ['state', `"${big}"`],
    ['extract-ram', `"${big}" "${join(dir, 'blocks')}"`],
    ['extract-ram', `--physical "${big}" "${join(dir, 'flat.raw')}"`],
    ['delta', `"${big}" "${big}" "${join(dir, 'again.delta')}"`],
    ['signature', `"${big}" "${join(dir, 'big.sig')}"`],
    ['apply', `"${big}" "${delta}" "${join(dir, 'applied.save')}"`],
    ['diff', `"${big}" "${big}"`],
  ];
  for (const [name, args] of forms) {
    const run = (extra: string) => spawnSync('script', ['-qec', `"${process.execPath}" "${SAVEKIT_BIN}" ${name} ${extra} ${args} 2>&1 >/dev/null`, '/dev/null'], { env: { ...process.env, TERM: 'xterm' } }).stdout.toString();
    assert.match(run(''), 'MiB', `${name} ${args}`);
    assert.not.match(run('--quiet'), 'MiB', `${name} --quiet`);
  }
});

test('rewrite and convert refuse to pour an image onto a terminal (exit 2, OUT or a redirection named)', () => {
  const image = samplePath('libvirt-9.0/raw.save');
  for (const argv of [['rewrite', image], ['rewrite', '--paused', image, '-'], ['convert', '--format', 'zstd', image], ['convert', '--format', 'gzip', image, '-']]) {
    const shown = spawnSync('script', ['-qec', `"${process.execPath}" "${SAVEKIT_BIN}" ${argv.map((a) => `"${a}"`).join(' ')}; echo "exit $?"`, '/dev/null'], { env: { ...process.env, TERM: 'xterm' } }).stdout.toString('latin1');
    assert.match(shown, 'error[ERR_USAGE]: not writing a save image to a terminal', argv.join(' '));
    assert.match(shown, 'exit 2', argv.join(' '));
    assert.not.match(shown, 'LibvirtQemud', argv.join(' '));
  }
  // Redirected, the same command writes the image.
  const redirected = runBinary(['rewrite', image]);
  assert.is(redirected.status, 0, redirected.stderr);
  assert.ok(redirected.stdout.equals(readFileSync(image)));
});

for (const name of ['rewrite', 'hash', 'seal', 'verify', 'walk', 'check', 'state', 'extract-ram']) {
  test(`${name} --help`, () => {
    const result = runBinary([name, '--help']);
    assert.is(result.status, 0);
    assert.match(result.stdout.toString(), `usage: savekit ${name}`);
  });
}

test.run();
