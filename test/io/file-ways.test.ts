// Files read copied by two threads (lib/io/read-ring.ts) and mapped or copied by trial
// (lib/io/file-ways.ts), on real files: every byte in order from any start and across every
// chunk boundary, with the worker reading too; jumps, stops, read errors; walk and hash give
// the same answers whichever way serves, and a file cut or grown under any way is
// ERR_IMAGE_CHANGED.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, closeSync, ftruncateSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SaveImagePrologue } from '../../lib/codec/prologue.js';
import { FdSource } from '../../lib/io/fd-source.js';
import { reportTrials } from '../../lib/io/file-ways.js';
import { ReadRing } from '../../lib/io/read-ring.js';
import type { ReadWay, TrialReport } from '../../lib/io/way-trial.js';
import { hashPayload } from '../../lib/jobs/hash-image.js';
import { walkImage } from '../../lib/jobs/walk-image.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { tempDir } from '../helpers/samples.js';
import { syntheticImageBuffer } from '../helpers/synthetic-image.js';

const test = suite('io/file-ways');
const KIB = 1024;
const pause = new Int32Array(new SharedArrayBuffer(4));

function fileOf(bytes: Buffer): string {
  const path = join(tempDir(), 'file.bin');
  writeFileSync(path, bytes);
  return path;
}

function patterned(length: number): Buffer {
  const bytes = Buffer.alloc(length + 4);
  for (let i = 0; i < length; i += 4) bytes.writeUInt32LE(i, i);
  return bytes.subarray(0, length);
}

async function until(condition: () => boolean): Promise<void> {
  for (const end = Date.now() + 10_000; !condition(); ) {
    if (Date.now() > end) throw new Error('the reading worker never started');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Reads a ring to its end; a slow reader (a pause per chunk) leaves the worker time to read ahead. */
function drain(ring: ReadRing, slow: boolean): { bytes: Buffer; chunks: number } {
  const parts: Buffer[] = [];
  let previous: { view: Buffer; copy: Buffer } | null = null;
  for (let chunk = ring.next(); chunk !== null; chunk = ring.next()) {
    // The chunk before stays intact until the call after next.
    if (previous) assert.ok(previous.view.equals(previous.copy), 'the previous chunk changed under its reader');
    previous = { view: chunk, copy: Buffer.from(chunk) };
    parts.push(previous.copy);
    if (slow) Atomics.wait(pause, 0, 0, 0.2);
  }
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

const FILE = patterned(3 * 1024 * KIB + 123);

for (const start of [0, 1, 4095, 4096, 70_000]) {
  for (const slotBytes of [8 * KIB, 64 * KIB]) {
    test(`ReadRing from ${start}, ${slotBytes / KIB} KiB chunks: the file's bytes in order, the worker reading some`, async () => {
      const fd = openSync(fileOf(FILE), 'r');
      try {
        const ring = new ReadRing(fd, start, { slotBytes, slotCount: 4 });
        await until(() => ring.online);
        const { bytes, chunks } = drain(ring, true);
        assert.ok(bytes.equals(FILE.subarray(start)), 'the bytes differ');
        assert.ok(ring.chunksReadHere < chunks, `the worker read none of ${chunks} chunks`);
        assert.is(ring.next(), null, 'the end stays the end');
        ring.close();
      } finally {
        closeSync(fd);
      }
    });
  }
}

test('ReadRing: a file of whole chunks ends after its last one; an empty rest is the end at once', () => {
  const whole = patterned(256 * KIB);
  const fd = openSync(fileOf(whole), 'r');
  try {
    const ring = new ReadRing(fd, 0, { slotBytes: 64 * KIB, slotCount: 4 });
    const { bytes, chunks } = drain(ring, false);
    assert.ok(bytes.equals(whole));
    assert.is(chunks, 4);
    ring.close();
    const atEnd = new ReadRing(fd, whole.length, { slotBytes: 64 * KIB, slotCount: 4 });
    assert.is(atEnd.next(), null);
    atEnd.close();
  } finally {
    closeSync(fd);
  }
});

test('ReadRing: seek forward and back, and stop then go on, give the bytes from there', async () => {
  const fd = openSync(fileOf(FILE), 'r');
  try {
    const ring = new ReadRing(fd, 0, { slotBytes: 16 * KIB, slotCount: 4 });
    await until(() => ring.online);
    assert.ok(ring.next()!.equals(FILE.subarray(0, 16 * KIB)));
    for (const to of [1_000_000, 5, 2_500_001, FILE.length - 10]) {
      ring.seek(to);
      assert.is(ring.position, to);
      const chunk = ring.next()!;
      assert.ok(chunk.equals(FILE.subarray(to, to + chunk.length)), `after a seek to ${to}`);
    }
    ring.seek(100_000);
    ring.next();
    ring.stop();
    const at = ring.position;
    const { bytes } = drain(ring, false);
    assert.ok(bytes.equals(FILE.subarray(at)), 'after stop()');
    ring.close();
    assert.throws(() => ring.next(), /closed/);
  } finally {
    closeSync(fd);
  }
});

test('ReadRing: a failed read is the reader\'s error, with its code', () => {
  const fd = openSync(tempDir(), 'r'); // a folder: read() fails with EISDIR
  try {
    const ring = new ReadRing(fd, 0, { slotBytes: 8 * KIB, slotCount: 4 });
    assert.throws(() => ring.next(), (error: NodeJS.ErrnoException) => error.code === 'EISDIR' && /offset 0/.test(error.message));
    ring.close();
  } finally {
    closeSync(fd);
  }
});

// An image of about 6 MiB, read in small pieces so that a trial runs rounds and comes back.
const IMAGE = syntheticImageBuffer({ ramBytes: 6 * 1024 * KIB, zeroPageEvery: 5, slack: 333 });
const SMALL_WAYS = { waysFromBytes: 0, trialFromBytes: 0, slotBytes: 32 * KIB, trial: { blockBytes: 256 * KIB, rounds: 2, warmupBytes: 512 * KIB, recheckBytes: 512 * KIB } };

/** Opens the image at `path` and reads its payload `way` (the worker started), with `read`. */
async function readImage<T>(way: ReadWay | 'trial', path: string, read: (source: FdSource, prologue: SaveImagePrologue) => Promise<T>): Promise<T> {
  const fd = openSync(path, 'r');
  try {
    const source = new FdSource(fd, { chunkBytes: 48 * KIB, windowBytes: 512 * KIB });
    const prologue = source.readPrologue({});
    source.useFileWays(way === 'trial' ? SMALL_WAYS : { ...SMALL_WAYS, way });
    await until(() => source.fileWaysReady);
    return await read(source, prologue);
  } finally {
    closeSync(fd);
  }
}

test('walk and hash: the same summary and digests mapped, copied and by trial, and the trial served both ways', async () => {
  const reports: TrialReport[] = [];
  reportTrials((report) => reports.push(report));
  try {
    const results: Record<string, unknown> = {};
    for (const way of ['mapped', 'copied', 'trial'] as const) {
      results[`walk ${way}`] = await readImage(way, fileOf(IMAGE), async (source, prologue) => {
        const walk = await walkImage(source, { prologue, hashStream: true });
        return { summary: walk.summary, stream: walk.stream, length: walk.payloadLength };
      });
      results[`hash ${way}`] = await readImage(way, fileOf(IMAGE), (source, prologue) => hashPayload(source, prologue));
    }
    assert.equal(results['walk copied'], results['walk mapped']);
    assert.equal(results['walk trial'], results['walk mapped']);
    assert.equal(results['hash copied'], results['hash mapped']);
    assert.equal(results['hash trial'], results['hash mapped']);
    assert.is(reports.length, 2, 'one report per trial');
    for (const report of reports) {
      assert.ok(report.served.mapped > 0 && report.served.copied > 0, 'both ways served');
      assert.ok(report.rounds >= 3, `${report.rounds} rounds`);
    }
  } finally {
    reportTrials(null);
  }
});

for (const way of ['mapped', 'copied', 'trial'] as const) {
  test(`${way}: a file cut or grown while it is read is ERR_IMAGE_CHANGED`, async () => {
    const cutPath = fileOf(IMAGE);
    await rejectsWithCode(
      () =>
        readImage(way, cutPath, async (source) => {
          source.next();
          const fd = openSync(cutPath, 'r+');
          ftruncateSync(fd, source.position + 100 * KIB);
          closeSync(fd);
          while (source.next() !== null);
        }),
      'ERR_IMAGE_CHANGED',
    );
    const grownPath = fileOf(IMAGE);
    await rejectsWithCode(
      () =>
        readImage(way, grownPath, async (source) => {
          source.next();
          appendFileSync(grownPath, Buffer.alloc(100 * KIB, 1));
          while (source.next() !== null);
        }),
      'ERR_IMAGE_CHANGED',
    );
  });
}

test.run();
