// savekit convert: every pair of the seven formats there and back over genuine images of both
// libvirt versions (X -> Y -> X), re-encodes that give back QEMU's own bytes, synthetic streams
// with several blocks, parts and pages past 4 GiB, and every way it must refuse.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, createReadStream, existsSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { PassThrough } from 'node:stream';
import { FORMATS } from '../../lib/constants.js';
import { decodePrologue } from '../../lib/codec/prologue.js';
import { FdSource } from '../../lib/io/fd-source.js';
import { walkImage } from '../../lib/jobs/walk-image.js';
import { convertImage } from '../../lib/jobs/convert/convert.js';
import { convertStream } from '../../lib/stream/convert.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { planRewrite } from '../../lib/edit/plan.js';
import { json, runBinary, runInProcess, SAVEKIT_BIN } from '../helpers/cli.js';
import { bytesAt } from '../helpers/files.js';
import { copySample, readSample, samplePath, tempDir } from '../helpers/samples.js';
import { QemuStreamBuilder, ram } from '../helpers/qemu-stream.js';
import { syntheticPrologue, writeSyntheticImage } from '../helpers/synthetic-image.js';
import { mountsUnavailable, mountTmpfs } from '../helpers/mounts.js';

const test = suite('cli/convert');

async function convert(argv: string[]): Promise<void> {
  const result = await runInProcess(['convert', '--quiet', ...argv]);
  assert.is(result.status, 0, `${argv.join(' ')}: ${result.stderr}${result.stdout.toString()}`);
}

/** The payload of an image written raw (the sparse path through savekit itself). */
async function asRaw(path: string): Promise<Buffer> {
  const out = join(tempDir(), 'as-raw.save');
  await convert(['--format', 'raw', path, out]);
  const image = readFileSync(out);
  return image.subarray(decodePrologue(image).payloadOffset);
}

/** What walk says about an image, less what a format changes (sizes, capabilities, sizing). */
function walkShape(path: string): unknown {
  const walk = json(runBinary(['walk', '--json', path])) as { machine: string; ramBlocks: Array<{ name: string; length: number; dataPages: number }>; devices: string[]; eof: boolean; commands: string[] };
  return { machine: walk.machine, blocks: walk.ramBlocks.map((b) => [b.name, b.length]), devices: walk.devices, eof: walk.eof, commands: walk.commands };
}

const SOURCES = ['libvirt-9.0/raw.save', 'libvirt-11.3/sparse.save'];

for (const source of SOURCES) {
  test(`${source}: every pair of the seven formats, X -> Y -> X, gives back the same stream; check and walk agree`, async () => {
    const dir = tempDir();
    const original = readSample(source);
    const originalPrologue = decodePrologue(original);
    const reference = await asRaw(samplePath(source));
    const shape = walkShape(samplePath(source));
    const first = new Map<string, string>();
    for (const x of FORMATS) {
      const a = join(dir, `a-${x}.save`);
      await convert(['--format', x, samplePath(source), a]);
      first.set(x, a);
      const image = decodePrologue(readFileSync(a));
      assert.is(image.header.format, FORMATS.indexOf(x), `${x}: format code`);
      assert.ok(image.region.xml.bytes.equals(originalPrologue.region.xml.bytes), `${x}: XML carried`);
      assert.is(image.header.wasRunning, originalPrologue.header.wasRunning);
      assert.is((await runInProcess(['check', a])).status, 0, `check of ${x}`);
      assert.equal(walkShape(a), shape, `walk of ${x}`);
      assert.ok((await asRaw(a)).equals(reference), `${source} -> ${x} -> raw differs`);
    }
    for (const x of FORMATS) {
      for (const y of FORMATS) {
        if (x === y) continue;
        const b = join(dir, `b-${x}-${y}.save`);
        const c = join(dir, `c-${x}-${y}.save`);
        await convert(['--format', y, first.get(x)!, b]);
        await convert(['--format', x, b, c]);
        if (x === 'sparse' || x === 'raw') assert.ok(readFileSync(c).equals(readFileSync(first.get(x)!)), `${x} -> ${y} -> ${x}: not the same image`);
        else assert.ok((await asRaw(c)).equals(reference), `${x} -> ${y} -> ${x}: another stream`);
      }
    }
  });
}

test('re-encodes give back the genuine files: raw -> sparse -> raw, sparse -> zstd -> sparse (QEMU 10, libvirt 11.3)', async () => {
  const dir = tempDir();
  await convert(['--format', 'sparse', samplePath('libvirt-11.3/kvm-raw.save'), join(dir, 's.save')]);
  await convert(['--format', 'raw', join(dir, 's.save'), join(dir, 'r.save')]);
  assert.ok(readFileSync(join(dir, 'r.save')).equals(readSample('libvirt-11.3/kvm-raw.save')));
  await convert(['--format', 'zstd', samplePath('libvirt-11.3/sparse.save'), join(dir, 'z.save')]);
  await convert(['--format', 'sparse', join(dir, 'z.save'), join(dir, 's2.save')]);
  assert.ok(readFileSync(join(dir, 's2.save')).equals(readSample('libvirt-11.3/sparse.save')));
  // Zero pages are holes: the sparse file takes about what its data pages take.
  assert.ok(statSync(join(dir, 's2.save')).blocks * 512 < 2 * 1024 * 1024, 'the holes were filled');
});

/** Pages by block and address (data pages only: a ZERO record and a hole are the same memory). */
async function pagesOf(path: string): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  if (bytesAt(path, 28, 1)[0] === 6) {
    // The walk counts a sparse image's pages from its bitmaps; read them through savekit's raw.
    const raw = join(tempDir(), 'pages.save');
    await convert(['--format', 'raw', path, raw]);
    path = raw;
  }
  const fd = openSync(path, 'r');
  try {
    await walkImage(new FdSource(fd), {
      onPage(block, address, data, fill) {
        const key = `${block.name}@${address.toString(16)}`;
        if (data !== null && data.some((byte) => byte !== 0)) pages.set(key, data.toString('base64'));
        else if (data === null && fill !== 0) pages.set(key, `fill ${fill}`);
        else pages.delete(key);
      },
    });
  } finally {
    closeSync(fd);
  }
  return pages;
}


/** A synthetic image: blocks past 4 GiB, CONTINUE across sections, several parts, a re-sent page. */
function syntheticImage(path: string, options: { xbzrle?: boolean } = {}): void {
  const big = 4 * 1024 ** 3 + 3 * 4096;
  const s = new QemuStreamBuilder({ capabilities: [] });
  s.start(2, 'ram', 4, [...ram.memSize([['pc.ram', big], ['pc.bios', 65536], ['/rom@etc/acpi/tables', 8192]]), ...ram.eos()]);
  s.part(2, [...ram.page(0, 'pc.ram', 0x11), ...ram.zero(4096, null), ...ram.page(4 * 1024 ** 3 + 8192, null, 0x22), ...ram.eos()]);
  s.part(2, [...ram.page(8192, null, 0x33), ...ram.page(0, 'pc.bios', 0x44), ...ram.page(61440, null, 0x45), ...ram.eos()]); // CONTINUE across sections
  s.part(2, [...ram.page(4096, '/rom@etc/acpi/tables', 0x55), ...ram.page(0, 'pc.ram', 0x66), ...(options.xbzrle ? ram.xbzrle(12288, null, Buffer.from('delta')) : []), ...ram.eos()]); // page 0 sent again: the last wins
  s.command(11, Buffer.alloc(0));
  s.part(2, [...ram.eos()], 3);
  s.full(3, 'timer', 0, Buffer.alloc(24, 0x7e));
  s.full(4, 'serial', 0, Buffer.alloc(9, 0x01));
  const stream = s.eof([
    { name: 'timer', instance: 0, size: 24 },
    { name: 'serial', instance: 0, size: 9 },
  ]);
  writeFileSync(path, Buffer.concat([syntheticPrologue({ ramBytes: 4096 }), stream]));
}

test('synthetic stream with pages past 4 GiB, several parts, CONTINUE across sections: every page kept through every format', async () => {
  const dir = tempDir();
  const input = join(dir, 'in.save');
  syntheticImage(input);
  const expected = await pagesOf(input);
  assert.is(expected.get('pc.ram@0'), Buffer.alloc(4096, 0x66).toString('base64'), 'the page sent last wins');
  assert.ok(expected.has(`pc.ram@${(4 * 1024 ** 3 + 8192).toString(16)}`));
  for (const format of FORMATS) {
    const out = join(dir, `out-${format}.save`);
    await convert(['--format', format, input, out]);
    assert.equal(await pagesOf(out), expected, format);
    const back = join(dir, `back-${format}.save`);
    await convert(['--format', 'sparse', out, back]);
    assert.equal(await pagesOf(back), expected, `${format} -> sparse`);
    assert.equal(walkShape(back), walkShape(input), `${format} -> sparse: walk`);
  }
});

test('records a virsh save never writes (XBZRLE) are refused with a clear error', async () => {
  const dir = tempDir();
  const input = join(dir, 'xbzrle.save');
  syntheticImage(input, { xbzrle: true });
  for (const format of ['sparse', 'zstd', 'raw']) {
    const out = join(dir, `out-${format}.save`);
    const result = await runInProcess(['convert', '--format', format, input, out]);
    assert.is(result.status, 1, format);
    assert.match(result.stderr, 'error[ERR_BAD_STREAM]');
    assert.match(result.stderr, 'XBZRLE');
    assert.is(bytesAt(out, 0, 16).toString('latin1'), 'LibvirtQemudPart', `${format}: the output must stay Part`);
  }
});

test('from stdin to stdout, and from a pipe to sparse: the same bytes as from files', async () => {
  const dir = tempDir();
  const input = readSample('libvirt-9.0/raw.save');
  const piped = runBinary(['convert', '--format', 'zstd', '-', '-'], input);
  assert.is(piped.status, 0, piped.stderr);
  await convert(['--format', 'zstd', samplePath('libvirt-9.0/raw.save'), join(dir, 'z.save')]);
  assert.ok(piped.stdout.equals(readFileSync(join(dir, 'z.save'))), 'stdout differs from the file');
  const toSparse = runBinary(['convert', '--format', 'sparse', '-', join(dir, 's.save')], piped.stdout);
  assert.is(toSparse.status, 0, toSparse.stderr);
  await convert(['--format', 'sparse', samplePath('libvirt-9.0/raw.save'), join(dir, 's2.save')]);
  assert.ok(readFileSync(join(dir, 's.save')).equals(readFileSync(join(dir, 's2.save'))));
});

test('a sealed image converted to a pipe: the output carries no seal (its payload is another), as to a file', async () => {
  const sealed = copySample('libvirt-9.0/raw.save');
  assert.is((await runInProcess(['seal', '--quiet', sealed])).status, 0);
  // Through cat, stdout is a pipe (a file as stdout takes the file path, which rewrites the header at the end).
  const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${SAVEKIT_BIN}" convert --quiet --format zstd "$1" - | cat`, 'sh', sealed], { maxBuffer: 1 << 24 });
  assert.is(piped.status, 0, piped.stderr.toString());
  const out = join(tempDir(), 'from-pipe.save');
  writeFileSync(out, piped.stdout);
  const info = json(runBinary(['info', '--json', out])) as { sealed: boolean };
  assert.is(info.sealed, false, 'the stale seal was kept');
  assert.is(runBinary(['verify', out]).status, 0);
});

test('bzip2 and xz to a pipe, for longer than the writeback timer: no fdatasync on the pipe (EINVAL)', async () => {
  const image = join(tempDir(), 'sixteen.save');
  writeSyntheticImage(image, { ramBytes: 16 * 1024 * 1024, realistic: true });
  for (const format of ['bzip2', 'xz']) {
    const file = join(tempDir(), `to-file.${format}`);
    assert.is(runBinary(['convert', '--quiet', '--format', format, image, file]).status, 0);
    const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${SAVEKIT_BIN}" convert --quiet --format ${format} "$1" - | cat`, 'sh', image], { maxBuffer: 1 << 26 });
    assert.is(piped.status, 0, piped.stderr.toString());
    assert.is(piped.stderr.toString(), '');
    assert.ok(piped.stdout.equals(readFileSync(file)), `${format} to a pipe differs from ${format} to a file`);
  }
});

test('a sealed compressed image from a pipe to a raw file: the seal checked, payloadIn counted', async () => {
  const dir = tempDir();
  const sealed = copySample('libvirt-9.0/gzip.save');
  assert.is((await runInProcess(['seal', '--quiet', sealed])).status, 0);
  const out = join(dir, 'raw.save');
  const result = runBinary(['convert', '--quiet', '--json', '--format', 'raw', '-', out], readFileSync(sealed));
  assert.is(result.status, 0, result.stderr);
  assert.is((json(result) as { payloadIn: number }).payloadIn, readFileSync(sealed).length - 66990);
  const stream = (path: string) => readFileSync(path).subarray(66990);
  assert.ok(stream(out).equals(await asRaw(samplePath('libvirt-9.0/gzip.save'))), 'the stream differs');
  const lying = readFileSync(sealed);
  lying[lying.length - 100] ^= 0x01;
  const refused = runBinary(['convert', '--quiet', '--format', 'raw', '-', join(dir, 'lying.save')], lying);
  assert.is(refused.status, 1);
  assert.match(refused.stderr, /error\[ERR_(SEAL_MISMATCH|BAD_STREAM)\]/);
});

test('the library gives the CLI\'s bytes', async () => {
  const dir = tempDir();
  await convert(['--format', 'sparse', '--paused', samplePath('libvirt-9.0/gzip.save'), join(dir, 'cli.save')]);
  const inFd = openSync(samplePath('libvirt-9.0/gzip.save'), 'r');
  const outFd = openSync(join(dir, 'lib.save'), 'w+');
  try {
    const result = await convertImage({ source: new FdSource(inFd), format: 'sparse', openOutput: () => outFd, plan: (image) => planRewrite(image, { wasRunning: 0 }) });
    assert.is(result.from, 'gzip');
    assert.is(result.to, 'sparse');
  } finally {
    closeSync(inFd);
    closeSync(outFd);
  }
  assert.ok(readFileSync(join(dir, 'lib.save')).equals(readFileSync(join(dir, 'cli.save'))));
});

test('the stream form gives the CLI\'s bytes (stdout), for every sequential pair tried', async () => {
  const dir = tempDir();
  for (const [source, format] of [
    ['libvirt-9.0/raw.save', 'gzip'],
    ['libvirt-9.0/gzip.save', 'zstd'],
    ['libvirt-9.0/xz.save', 'raw'],
    ['libvirt-11.3/zstd.save', 'bzip2'],
  ] as const) {
    const cli = runBinary(['convert', '--format', format, samplePath(source), '-']);
    assert.is(cli.status, 0, cli.stderr);
    const chunks: Buffer[] = [];
    const output = new PassThrough();
    output.on('data', (chunk: Buffer) => chunks.push(chunk));
    const result = await convertStream(createReadStream(samplePath(source), { highWaterMark: 4099 }), output, { format });
    assert.is(result.to, format);
    assert.ok(result.summary.eof);
    assert.ok(Buffer.concat(chunks).equals(cli.stdout), `${source} -> ${format}`);
  }
  await rejectsWithCode(() => convertStream(createReadStream(samplePath('libvirt-9.0/raw.save')), new PassThrough(), { format: 'sparse' }), 'ERR_NOT_SEEKABLE');
  writeFileSync(join(dir, 'cut.save'), readSample('libvirt-9.0/gzip.save').subarray(0, 200_000));
  await rejectsWithCode(() => convertStream(createReadStream(join(dir, 'cut.save')), new PassThrough().resume(), { format: 'raw' }), 'ERR_BAD_STREAM');
});

test('--json summary, --seal, --level, --threads, --running/--paused, --xml', async () => {
  const dir = tempDir();
  const out = join(dir, 'z.save');
  const result = await runInProcess(['convert', '--format', 'zstd', '--level', '19', '--threads', '2', '--seal', '--paused', '--json', samplePath('libvirt-9.0/raw.save'), out]);
  assert.is(result.status, 0, result.stderr);
  const summary = json(result) as Record<string, unknown>;
  assert.equal(Object.keys(summary), ['from', 'to', 'bytesIn', 'bytesOut', 'payloadIn', 'payloadOut', 'pages', 'dataPages', 'seconds', 'sealed']);
  assert.equal([summary.from, summary.to, summary.bytesIn, summary.bytesOut, summary.sealed], ['raw', 'zstd', 553937, statSync(out).size, true]);
  assert.is(summary.pages, 4096 + 64 + 32);
  assert.is((await runInProcess(['verify', out])).status, 0);
  assert.is(decodePrologue(readFileSync(out)).header.wasRunning, 0);
  for (const [argv, message] of [
    [['--level', '22'], 'zstd levels are 1 to 19'],
    [['--level', '3', '--format', 'raw'], 'apply to compressed formats'],
    [['--threads', '2', '--format', 'gzip'], 'gzip has no threads'],
    [['--format', 'lz4'], '--format takes raw, gzip'],
    [[], '--format is required'],
  ] as const) {
    const withFormat: string[] = argv.includes('--format' as never) || argv.length === 0 ? [...argv] : ['--format', 'zstd', ...argv];
    const refused = await runInProcess(['convert', ...withFormat, samplePath('libvirt-9.0/raw.save'), join(dir, 'x.save')]);
    assert.is(refused.status, 2, argv.join(' '));
    assert.match(refused.stderr, message);
  }
});

test('--in-place replaces the image whole (mode kept), or leaves it untouched and no temporary', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const dir = join(path, '..');
  await convert(['--format', 'xz', '--in-place', path]);
  assert.is(decodePrologue(readFileSync(path)).header.format, 3);
  assert.ok((await asRaw(path)).equals(await asRaw(samplePath('libvirt-9.0/raw.save'))));
  // A damaged input: refused, the image as it was, nothing left beside it.
  const damaged = copySample('libvirt-9.0/xz.save');
  const bytes = readFileSync(damaged);
  bytes[bytes.length - 5000] ^= 0xff;
  writeFileSync(damaged, bytes);
  const result = await runInProcess(['convert', '--format', 'raw', '--in-place', damaged]);
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_BAD_STREAM]');
  assert.match(result.stderr, 'is unchanged');
  assert.ok(readFileSync(damaged).equals(bytes));
  assert.equal(readdirSync(dir).filter((name) => name.includes('savekit-convert')), []);
});

test('a sparse image from a pipe converts to every format as from its file (and to stdout for the sequential ones); nothing is left behind', async () => {
  const dir = tempDir();
  const sparse = readSample('libvirt-11.3/sparse.save');
  for (const format of FORMATS) {
    const fromFile = join(dir, `file-${format}.save`);
    const fromPipe = join(dir, `pipe-${format}.save`);
    await convert(['--format', format, samplePath('libvirt-11.3/sparse.save'), fromFile]);
    const piped = runBinary(['convert', '--quiet', '--json', '--format', format, '-', fromPipe], sparse);
    assert.is(piped.status, 0, `${format}: ${piped.stderr}`);
    // The same image; a compressor's own header may hold a time (lzop): then the same stream.
    const same = async (path: string) => (format === 'raw' || format === 'sparse' ? readFileSync(path).equals(readFileSync(fromFile)) : (await asRaw(path)).equals(await asRaw(fromFile)));
    assert.ok(await same(fromPipe), `${format}: the pipe gave another image`);
    if (format !== 'sparse') {
      const toStdout = runBinary(['convert', '--quiet', '--format', format, '-', '-'], sparse);
      assert.is(toStdout.status, 0, `${format} to stdout: ${toStdout.stderr}`);
      const written = join(dir, `stdout-${format}.save`);
      writeFileSync(written, toStdout.stdout);
      assert.ok(await same(written), `${format}: stdout differs from the file`);
    }
  }
  assert.equal(readdirSync(tmpdir()).filter((name) => name.includes('savekit-spool')), []);
});

test('bad input: a cut input, a lying seal, a missing program, a pipe as sparse output, the input as its own output', async () => {
  const dir = tempDir();
  const raw = readSample('libvirt-9.0/raw.save');
  const cut = join(dir, 'cut.save');
  writeFileSync(cut, raw.subarray(0, raw.length - 1000));
  const cases: Array<{ argv: string[]; code: string; output?: string; env?: NodeJS.ProcessEnv; status?: number }> = [
    { argv: ['--format', 'zstd', cut, join(dir, 'o1.save')], code: 'ERR_TRUNCATED', output: join(dir, 'o1.save') },
    { argv: ['--format', 'sparse', cut, join(dir, 'o2.save')], code: 'ERR_TRUNCATED', output: join(dir, 'o2.save') },
    { argv: ['--format', 'zstd', samplePath('libvirt-9.0/raw.save'), join(dir, 'o3.save')], code: 'ERR_MISSING_PROGRAM', env: { PATH: '/nonexistent' }, output: join(dir, 'o3.save') },
    { argv: ['--format', 'sparse', samplePath('libvirt-9.0/raw.save'), '-'], code: 'ERR_NOT_SEEKABLE' },
    { argv: ['--format', 'raw', '-', join(dir, 'o4.save')], code: 'ERR_TRUNCATED', output: join(dir, 'o4.save') }, // a cut sparse image from a pipe
    { argv: ['--format', 'zstd', cut, cut], code: 'ERR_USAGE', status: 2 },
  ];
  for (const { argv, code, output, env, status } of cases) {
    const input = argv.includes('-') && argv[1] === 'raw' ? readSample('libvirt-11.3/sparse.save').subarray(0, 4 * 1024 * 1024) : undefined;
    const result = runBinary(['convert', '--quiet', ...argv], input, env);
    assert.is(result.status, status ?? 1, `${argv.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, `error[${code}]`, argv.join(' '));
    if (output && existsSync(output)) assert.is(readFileSync(output).toString('latin1', 0, 16), 'LibvirtQemudPart', argv.join(' '));
  }
  assert.ok(readFileSync(cut).equals(raw.subarray(0, raw.length - 1000)), 'the input was touched');

  const sealed = copySample('libvirt-9.0/raw.save');
  assert.is((await runInProcess(['seal', '--quiet', sealed])).status, 0);
  const bytes = readFileSync(sealed);
  bytes[bytes.length - 10] ^= 0x01; // inside the JSON: the stream still walks
  writeFileSync(sealed, bytes);
  const lying = await runInProcess(['convert', '--format', 'gzip', sealed, join(dir, 'o5.save')]);
  assert.is(lying.status, 1);
  assert.match(lying.stderr, 'error[ERR_SEAL_MISMATCH]');
  assert.is(readFileSync(join(dir, 'o5.save')).toString('latin1', 0, 16), 'LibvirtQemudPart');
});

const unavailable = mountsUnavailable();
if (unavailable === null) {
  test('a full disk: ERR_IO with ENOSPC, the output under the Part magic, in place: the image untouched and no temporary', async () => {
    const fs = mountTmpfs(1024 * 1024);
    for (const format of ['raw', 'zstd', 'sparse', 'gzip']) {
      const out = join(fs.dir, `out-${format}.save`);
      fs.free();
      for (const entry of readdirSync(fs.dir)) writeFileSync(join(fs.dir, entry), '');
      fs.fill(20); // room for the prologue, not for the payload
      const result = runBinary(['convert', '--quiet', '--format', format, samplePath('libvirt-9.0/raw.save'), out]);
      assert.is(result.status, 1, `${format}: ${result.stderr}`);
      assert.match(result.stderr, 'error[ERR_IO]', format);
      assert.match(result.stderr, 'ENOSPC', format);
      if (existsSync(out)) assert.is.not(readFileSync(out).toString('latin1', 0, 16), 'LibvirtQemudSave', format);
    }
    fs.free();
    for (const entry of readdirSync(fs.dir)) writeFileSync(join(fs.dir, entry), '');
    const image = join(fs.dir, 'image.save');
    writeFileSync(image, readSample('libvirt-9.0/raw.save'));
    fs.fill(20);
    const result = runBinary(['convert', '--quiet', '--format', 'raw', '--in-place', image]);
    assert.is(result.status, 1, result.stderr);
    assert.ok(readFileSync(image).equals(readSample('libvirt-9.0/raw.save')));
    assert.equal(readdirSync(fs.dir).filter((name) => name.includes('savekit-convert')), []);
    fs.free();
  });
}

test('a compressor writing to a slow reader of stdout: every byte, no EAGAIN (a pipe() once made fd 1 non-blocking)', () => {
  const dir = tempDir();
  for (const [source, format] of [
    ['libvirt-9.0/gzip.save', 'zstd'],
    ['libvirt-9.0/xz.save', 'bzip2'],
    ['libvirt-9.0/raw.save', 'lzop'],
    ['libvirt-11.3/zstd.save', 'xz'],
    ['libvirt-7.0/bzip2.save', 'gzip'],
  ] as const) {
    const expected = runBinary(['convert', '--format', format, samplePath(source), '-']);
    assert.is(expected.status, 0, expected.stderr);
    const out = join(dir, `${format}.save`);
    // The reader starts late: zstd and the others fill the pipe and must wait, not fail.
    const slow = spawnSync('bash', ['-c', 'set -o pipefail; "$NODE" "$SAVEKIT" convert --format "$FORMAT" "$IN" - | (sleep 0.4; cat > "$OUT")'], {
      env: { ...process.env, NODE: process.execPath, SAVEKIT: SAVEKIT_BIN, FORMAT: format, IN: samplePath(source), OUT: out },
      encoding: 'utf8',
    });
    assert.is(slow.status, 0, `${source} -> ${format}: ${slow.stderr}`);
    assert.ok(readFileSync(out).equals(expected.stdout), `${source} -> ${format}: ${readFileSync(out).length} bytes, not ${expected.stdout.length}`);
  }
});

test.run();
