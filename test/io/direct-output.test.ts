// DirectOutput: a file written past the page cache in whole blocks comes out byte for byte as
// written through it, for every lead, start and length around the block and batch boundaries;
// through the page cache where direct I/O is refused or turned off; a full disk is its errno;
// and a short batch can only be the last. Its batch copy (streaming stores in the addon) lands
// every byte where Buffer.copy would, at any alignment, and refuses what does not fit.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { nativeAddon, useNativeAddon } from '../../lib/native.js';
import { DIRECT_ALIGN, DirectOutput } from '../../lib/io/direct-output.js';
import { mountsUnavailable, mountTmpfs } from '../helpers/mounts.js';
import { tempDir } from '../helpers/samples.js';

const test = suite('io/direct-output');
const MIB = 1024 * 1024;

/** Writes `before` with a plain write, then `lead` + `body` through a DirectOutput from the block `before` ends on. */
async function writeThrough(file: string, before: Buffer, lead: Buffer, body: Buffer, options: { direct?: boolean } = {}): Promise<{ direct: boolean }> {
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, before, 0, before.length, 0);
    const out = new DirectOutput(fd, before.length, lead, options);
    let at = 0;
    do {
      const batch = out.batch;
      const n = Math.min(batch.length, body.length - at);
      assert.is(out.copy(body.subarray(at, at + n), 0), n);
      await out.submit(n);
      at += n;
    } while (at < body.length);
    const direct = out.direct; // after every write: none was refused
    await out.end();
    return { direct };
  } finally {
    closeSync(fd);
  }
}

/** Whether this folder's file system takes O_DIRECT (tmpfs on older kernels does not). */
function takesDirect(dir: string): boolean {
  try {
    closeSync(openSync(join(dir, 'probe'), constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT, 0o600));
    return true;
  } catch {
    return false;
  }
}

test('the addon copies past the cache like Buffer.copy: every alignment of both ends, every length around its 64-byte steps', () => {
  const copyPastCache = nativeAddon()!.copyPastCache;
  const source = randomBytes(8192 + 200);
  for (const sourceStart of [0, 1, 8, 15, 16, 63, 64]) {
    for (const targetStart of [0, 1, 7, 8, 15, 16, 40, 64]) {
      for (const length of [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 200, 4096, 4104, 8192 + 7]) {
        const target = Buffer.alloc(targetStart + length + 64, 0xa5);
        const expected = Buffer.from(target);
        source.copy(expected, targetStart, sourceStart, sourceStart + length);
        assert.is(copyPastCache(target, targetStart, source.subarray(sourceStart, sourceStart + length)), length);
        assert.ok(target.equals(expected), `source +${sourceStart}, target +${targetStart}, ${length} bytes`);
      }
    }
  }
});

test("the addon's copy refuses what does not fit, and what is not bytes", () => {
  const copyPastCache = nativeAddon()!.copyPastCache;
  const target = Buffer.alloc(100, 7);
  assert.throws(() => copyPastCache(target, 90, Buffer.alloc(11)), /does not fit/);
  assert.throws(() => copyPastCache(target, -1, Buffer.alloc(1)), /does not fit/);
  assert.throws(() => copyPastCache(target, 101, Buffer.alloc(0)), /does not fit/);
  assert.throws(() => copyPastCache(target, 0, 'bytes' as unknown as Buffer), /takes a Uint8Array/);
  assert.throws(() => copyPastCache(new Uint16Array(50) as unknown as Buffer, 0, Buffer.alloc(1)), /takes a Uint8Array/);
  assert.ok(target.equals(Buffer.alloc(100, 7)), 'nothing written by a refused copy');
  assert.is(copyPastCache(target, 100, Buffer.alloc(0)), 0);
});

test('without the addon, the batch copy is Buffer.copy', async () => {
  const dir = tempDir();
  useNativeAddon(false);
  try {
    const body = randomBytes(3 * MIB + 4097);
    await writeThrough(join(dir, 'plain'), randomBytes(DIRECT_ALIGN), randomBytes(13), body);
    assert.ok(readFileSync(join(dir, 'plain')).subarray(DIRECT_ALIGN + 13).equals(body));
  } finally {
    useNativeAddon(true); // the test files after this one share the process
  }
});

test('every lead, start and length around block and batch boundaries: the same bytes, the true size', async () => {
  const dir = tempDir();
  const direct = takesDirect(dir);
  let n = 0;
  for (const before of [0, DIRECT_ALIGN, 2 * MIB]) {
    for (const leadBytes of [0, 1, 13, DIRECT_ALIGN - 1]) {
      for (const bodyBytes of [0, 1, DIRECT_ALIGN - leadBytes, MIB - leadBytes, MIB - leadBytes + 1, 3 * MIB + 4097]) {
        const file = join(dir, `out-${n++}`);
        const [head, lead, body] = [randomBytes(before), randomBytes(leadBytes), randomBytes(bodyBytes)];
        const written = await writeThrough(file, head, lead, body);
        assert.is(written.direct, direct, `direct I/O ${direct ? 'taken' : 'refused'} by the file system, the output said otherwise`);
        const expected = Buffer.concat([head, lead, body]);
        assert.is(statSync(file).size, expected.length, `size for ${before}+${leadBytes}+${bodyBytes}`);
        assert.ok(readFileSync(file).equals(expected), `bytes for ${before}+${leadBytes}+${bodyBytes}`);
      }
    }
  }
});

test('through the page cache when asked: the same bytes', async () => {
  const dir = tempDir();
  const [head, lead, body] = [randomBytes(8192), randomBytes(100), randomBytes(5 * MIB + 77)];
  const file = join(dir, 'cached');
  assert.is((await writeThrough(file, head, lead, body, { direct: false })).direct, false);
  assert.ok(readFileSync(file).equals(Buffer.concat([head, lead, body])));
});

test('a short batch ends the file: another is refused', async () => {
  const file = join(tempDir(), 'short');
  const fd = openSync(file, 'w+');
  try {
    const out = new DirectOutput(fd, 0, Buffer.alloc(0));
    out.batch.fill(7, 0, 10);
    await out.submit(10);
    assert.throws(() => out.submit(10), /only the last batch may be short/);
    await out.end();
    assert.ok(readFileSync(file).equals(Buffer.alloc(10, 7)));
  } finally {
    closeSync(fd);
  }
});

test('a lead no batch followed is written by end(): the prologue\'s last block is not lost', async () => {
  for (const direct of [true, false]) {
    const file = join(tempDir(), 'lead-only');
    const fd = openSync(file, 'w+');
    try {
      const head = randomBytes(DIRECT_ALIGN);
      writeSync(fd, head, 0, head.length, 0);
      const lead = randomBytes(77);
      const out = new DirectOutput(fd, DIRECT_ALIGN, lead, { direct });
      await out.end();
      assert.ok(readFileSync(file).equals(Buffer.concat([head, lead])), `direct: ${direct}`);
    } finally {
      closeSync(fd);
    }
  }
});

test('a start off a block boundary, or a lead of a block, is refused', () => {
  const fd = openSync(join(tempDir(), 'unaligned'), 'w+');
  try {
    assert.throws(() => new DirectOutput(fd, 100, Buffer.alloc(0)), /block boundary/);
    assert.throws(() => new DirectOutput(fd, 0, Buffer.alloc(DIRECT_ALIGN)), /block boundary/);
  } finally {
    closeSync(fd);
  }
});

const unavailable = mountsUnavailable();
if (unavailable === null) {
  for (const direct of [true, false]) {
    test(`a full disk (${direct ? 'direct' : 'page cache'}): ENOSPC from submit or end, no unhandled rejection`, async () => {
      const fs = mountTmpfs(4 * MIB);
      const fd = openSync(join(fs.dir, 'out'), 'w+');
      let caught: NodeJS.ErrnoException | null = null;
      const out = new DirectOutput(fd, 0, Buffer.alloc(0), { direct });
      try {
        for (let i = 0; i < 16; i++) {
          out.batch.fill(0x5a);
          await out.submit(out.batch.length);
        }
        await out.end();
      } catch (error) {
        caught = error as NodeJS.ErrnoException;
        await out.abort();
      } finally {
        closeSync(fd);
        fs.free();
      }
      assert.is(caught?.code, 'ENOSPC', String(caught));
    });
  }
}

test.run();
