// Files read where they lie in the page cache (native/map.c, lib/io/mapped-file.ts): the views
// FdSource hands out are the file's bytes wherever the payload starts and across windows, the
// windows before the last two are unmapped as the read goes on, a file cut under the mapping
// ends in ERR_IMAGE_CHANGED through the SIGBUS handler (never a signal death: this process would
// die), and the copying path is kept where mapping is off or impossible. These files are small:
// savekit reads them with copies unless told to map (forceReadWay, as SAVEKIT_MMAP=1 does).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nativeAddon } from '../../lib/native.js';
import { FdSource } from '../../lib/io/fd-source.js';
import { hashImage } from '../../lib/jobs/hash-image.js';
import { MappedFile, useFileMapping } from '../../lib/io/mapped-file.js';
import { walkImage } from '../../lib/jobs/walk-image.js';
import { forceReadWay } from '../../lib/io/way-trial.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { runBinary, SAVEKIT_BIN } from '../helpers/cli.js';
import { GENUINE_SAMPLES, samplePath, tempDir } from '../helpers/samples.js';
import { syntheticImageBuffer } from '../helpers/synthetic-image.js';

const test = suite('io/mapped-file');
const addon = nativeAddon();
const faults = (): number => addon?.mappingFaults?.() ?? 0;

/** Small windows, so that a few MiB cross several (the real ones are WINDOW_BYTES). */
const WINDOW = 256 * 1024;
/** Past two windows, so the read maps several and unmaps the first. */
const LARGE = syntheticImageBuffer({ ramBytes: 1024 * 1024 + 5 * 4096, zeroPageEvery: 7, slack: 700 });

function fileOf(image: Buffer): string {
  const path = join(tempDir(), 'image.save');
  writeFileSync(path, image);
  return path;
}

async function withSource<T>(path: string, use: (source: FdSource) => T | Promise<T>, options: { chunkBytes?: number } = {}): Promise<T> {
  const fd = openSync(path, 'r');
  try {
    return await use(new FdSource(fd, { windowBytes: WINDOW, ...options }));
  } finally {
    closeSync(fd);
  }
}

test('the addon maps: mapFile, unmapFile and mappingFaults are there', () => {
  assert.ok(addon?.mapFile && addon.unmapFile && addon.mappingFaults, 'the addon built for this machine maps files');
});

for (const slack of [0, 1, 700, 4000]) {
  test(`payload after ${slack} bytes of slack: the mapped chunks are the file's bytes, across windows`, async () => {
    const image = slack === 700 ? LARGE : syntheticImageBuffer({ ramBytes: 1024 * 1024, zeroPageEvery: 3, slack });
    // Chunks of 100 KiB: some end at a window's end, short, and the next starts the next window.
    await withSource(fileOf(image), (source) => {
      const { payloadOffset } = source.readPrologue({});
      assert.ok(source.mapPayload());
      assert.ok(source.mapped);
      let at = payloadOffset;
      for (let chunk = source.next(); chunk !== null; chunk = source.next()) {
        assert.ok(chunk.equals(image.subarray(at, at + chunk.length)), `bytes at ${at}`);
        at += chunk.length;
      }
      assert.is(at, image.length);
    }, { chunkBytes: 100 * 1024 });
  });
}

test('windows before the last two are unmapped as the read goes on (their views read as empty)', async () => {
  await withSource(fileOf(LARGE), (source) => {
    source.readPrologue({});
    source.mapPayload();
    const first = source.next()!;
    assert.ok(first.length > 0);
    let last: Buffer | null = first;
    for (let chunk = source.next(); chunk !== null; chunk = source.next()) last = chunk;
    assert.is(first.length, 0, 'the first window is gone');
    assert.ok(last!.length > 0, 'the last chunk is still there (the stream-end check reads it)');
    assert.ok(source.tail().length > 0);
  });
});

test('MappedFile: a position past the size is the end; close() unmaps what is mapped', () => {
  const path = fileOf(LARGE);
  const fd = openSync(path, 'r');
  try {
    const mapped = MappedFile.open(fd, LARGE.length, { windowBytes: WINDOW, everyByte: true })!;
    const view = mapped.view(5000, 100)!;
    assert.ok(view.equals(LARGE.subarray(5000, 5100)));
    assert.is(mapped.view(LARGE.length, 10), null);
    mapped.close();
    assert.is(view.length, 0);
    assert.not.ok(mapped.faulted());
  } finally {
    closeSync(fd);
  }
});

/** Runs `read` with every file mapped, as SAVEKIT_MMAP=1 does. */
async function mapping<T>(read: () => Promise<T>): Promise<T> {
  forceReadWay('mapped');
  try {
    return await read();
  } finally {
    forceReadWay(null);
  }
}

const CUTS: Record<string, (path: string) => Promise<unknown>> = {
  walk: (path) => mapping(() => withSource(path, (source) => walkImage(source, { onPrologue: () => cut(path) }))),
  hash: (path) => mapping(() => withSource(path, (source) => hashImage(source, {}, { onStart: () => cut(path) }))),
};

function cut(path: string): void {
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, 4096 * 30); // inside the first window, far before the end
  closeSync(fd);
}

for (const [reader, read] of Object.entries(CUTS)) {
  test(`${reader}: a file cut under its mapping is ERR_IMAGE_CHANGED, through the SIGBUS handler`, async () => {
    const before = faults();
    const error = await rejectsWithCode(() => read(fileOf(LARGE)), 'ERR_IMAGE_CHANGED');
    assert.match(error.message, `${LARGE.length} bytes when opened`);
    assert.ok(faults() > before, 'the cut pages were touched and answered with zero pages');
  });
}

test('a file cut under its mapping fails its own reader only: another mapped file reads on to its end', async () => {
  const [cutPath, otherPath] = [fileOf(LARGE), fileOf(LARGE)];
  await withSource(otherPath, async (other) => {
    other.readPrologue({});
    other.mapPayload();
    other.next(); // both mapped, the other one first
    await rejectsWithCode(() => CUTS.walk!(cutPath), 'ERR_IMAGE_CHANGED');
    let at = other.position;
    for (let chunk = other.next(); chunk !== null; chunk = other.next()) at += chunk.length;
    assert.is(at, LARGE.length);
  });
});

test('SIGINT while a mapped file is hashed: exit 130 with ERR_INTERRUPTED, as on the copying path', async () => {
  // A prologue, then 6 GiB of holes: hashing them maps and zero-fills pages for a second or more.
  const path = fileOf(syntheticImageBuffer({ ramBytes: 4096 }));
  const fd = openSync(path, 'r+');
  ftruncateSync(fd, 6 * 1024 ** 3);
  closeSync(fd);
  const child = spawn(process.execPath, [SAVEKIT_BIN, 'hash', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  setTimeout(() => child.kill('SIGINT'), 400);
  const [status, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (code, sig) => resolve([code, sig])));
  assert.is(signal, null);
  assert.is(status, 130, stderr);
  assert.match(stderr, /error\[ERR_INTERRUPTED\]/);
});

test('a process that walks a file cut under its mapping exits with the error, not SIGBUS', () => {
  const path = fileOf(LARGE);
  const script = `
    import { openSync, ftruncateSync } from 'node:fs';
    import { FdSource } from ${JSON.stringify(fileURLToPath(new URL('../../lib/io/fd-source.ts', import.meta.url)))};
    import { walkImage } from ${JSON.stringify(fileURLToPath(new URL('../../lib/jobs/walk-image.ts', import.meta.url)))};
    import { forceReadWay } from ${JSON.stringify(fileURLToPath(new URL('../../lib/io/way-trial.ts', import.meta.url)))};
    forceReadWay('mapped');
    const path = process.env.IMAGE;
    const source = new FdSource(openSync(path, 'r'), { windowBytes: ${WINDOW} });
    await walkImage(source, { onPrologue: () => ftruncateSync(openSync(path, 'r+'), 8192) }).catch((error) => { process.stdout.write(error.code); });`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { ...process.env, IMAGE: path }, encoding: 'utf8' });
  assert.is(child.signal, null, `killed by ${child.signal}`);
  assert.is(child.stdout.trim(), 'ERR_IMAGE_CHANGED', child.stderr);
});

test('with mapping off (SAVEKIT_NO_MMAP=1), the same bytes come through reads', async () => {
  useFileMapping(false);
  try {
    await withSource(fileOf(LARGE), (source) => {
      source.readPrologue({});
      assert.not.ok(source.mapPayload());
      assert.not.ok(source.mapped);
    });
  } finally {
    useFileMapping(true);
  }
});

test('a pipe and a source lent a ring of buffers are never mapped', async () => {
  await withSource(fileOf(LARGE), (source) => {
    source.readPrologue({});
    source.useBuffers([Buffer.alloc(65536), Buffer.alloc(65536)]);
    assert.not.ok(source.mapPayload());
  });
  const child = spawnSync('sh', ['-c', 'cat "$1" | "$2" --input-type=module -e "$3"', 'sh', fileOf(LARGE), process.execPath, `
    const { FdSource } = await import(${JSON.stringify(new URL('../../dist/io/fd-source.js', import.meta.url).href)});
    const source = new FdSource(0); source.readPrologue({}); process.stdout.write(String(source.mapPayload()));`], { encoding: 'utf8', env: { ...process.env } });
  assert.is(child.stdout.trim(), 'false', child.stderr);
});

test('every genuine sample: walk, check, state, hash and verify print the same mapped (SAVEKIT_MMAP=1), copied (SAVEKIT_NO_MMAP=1) and read alone (the default for small files)', () => {
  for (const sample of GENUINE_SAMPLES) {
    for (const argv of [['walk', '--json'], ['check'], ['state', '--json'], ['hash'], ['verify', '--json']]) {
      const alone = runBinary([...argv, samplePath(sample.file)]);
      for (const way of ['SAVEKIT_MMAP', 'SAVEKIT_NO_MMAP']) {
        const forced = runBinary([...argv, samplePath(sample.file)], undefined, { [way]: '1' });
        assert.is(forced.status, alone.status, `${argv[0]} ${sample.file} ${way}`);
        assert.ok(forced.stdout.equals(alone.stdout), `${argv.join(' ')} ${sample.file} ${way}: the outputs differ`);
        assert.is(forced.stderr, alone.stderr);
      }
    }
  }
});

test.run();
