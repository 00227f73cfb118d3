// FdSource reads a file's payload in chunks that, after the first, start on the file's 4 KiB
// pages (the kernel's copy out of the page cache is then page onto page): the first chunk stops
// at a page boundary wherever the XML left the payload, the bytes are the file's byte for byte,
// in its own buffers and in a ring it is lent; buffers under 64 KiB are filled whole as before;
// the hashing thread's shared slots, which it reads into, start on pages of memory too.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nativeAddon } from '../../lib/native.js';
import { alignedBuffer } from '../../lib/io/fd-io.js';
import { ParallelHasher } from '../../lib/io/parallel-hash.js';
import { FILE_CHUNK_BYTES, FdSource } from '../../lib/io/fd-source.js';
import { tempDir } from '../helpers/samples.js';
import { syntheticImageBuffer } from '../helpers/synthetic-image.js';

const test = suite('io/fd-source');
const PAGE = 4096;

/** The payload's chunks as read, each with the file offset it started at. */
function readChunks(image: Buffer, setUp: (fd: number) => FdSource): { chunks: { at: number; bytes: Buffer }[]; payloadOffset: number } {
  const path = join(tempDir(), 'image.save');
  writeFileSync(path, image);
  const fd = openSync(path, 'r');
  try {
    const source = setUp(fd);
    const { payloadOffset } = source.readPrologue({});
    const chunks: { at: number; bytes: Buffer }[] = [];
    for (let at = source.position, chunk = source.next(); chunk !== null; at = source.position, chunk = source.next()) chunks.push({ at, bytes: Buffer.from(chunk) });
    return { chunks, payloadOffset };
  } finally {
    closeSync(fd);
  }
}

for (const slack of [0, 1, 700, 4000]) {
  const image = syntheticImageBuffer({ ramBytes: 4 * 1024 * 1024, zeroPageEvery: 3, slack });

  test(`XML padded by ${slack}: the first chunk stops at a page boundary, the rest start on one`, () => {
    const { chunks, payloadOffset } = readChunks(image, (fd) => new FdSource(fd));
    assert.ok(payloadOffset % PAGE !== 0, 'the payload starts off a page boundary (else this test shows nothing)');
    assert.is(chunks[0]!.at, payloadOffset);
    assert.is(chunks[0]!.bytes.length, FILE_CHUNK_BYTES - (payloadOffset % PAGE));
    for (const [n, chunk] of chunks.slice(1).entries()) {
      assert.is(chunk.at % PAGE, 0, `chunk ${n + 1} starts at ${chunk.at}`);
      if (n + 2 < chunks.length) assert.is(chunk.bytes.length, FILE_CHUNK_BYTES, `chunk ${n + 1} is whole`);
    }
    assert.ok(Buffer.concat(chunks.map((chunk) => chunk.bytes)).equals(image.subarray(payloadOffset)), 'the payload byte for byte');
  });
}

test('in a lent ring of 1 MiB buffers: each chunk at its buffer\'s start, pages aligned the same', () => {
  const image = syntheticImageBuffer({ ramBytes: 4 * 1024 * 1024, zeroPageEvery: 3, slack: 123 });
  const ring = [0, 1, 2, 3].map(() => alignedBuffer(1024 * 1024));
  const seen: Buffer[] = [];
  const { chunks, payloadOffset } = readChunks(image, (fd) => {
    const source = new FdSource(fd);
    source.useBuffers(ring);
    const next = source.next.bind(source);
    source.next = () => {
      const chunk = next();
      if (chunk) seen.push(chunk);
      return chunk;
    };
    return source;
  });
  assert.is(chunks[0]!.bytes.length, 1024 * 1024 - (payloadOffset % PAGE));
  for (const chunk of chunks.slice(1)) assert.is(chunk.at % PAGE, 0);
  for (const chunk of seen) assert.ok(ring.some((buffer) => buffer.buffer === chunk.buffer && buffer.byteOffset === chunk.byteOffset), 'a chunk starts at its buffer\'s start');
  assert.ok(Buffer.concat(chunks.map((chunk) => chunk.bytes)).equals(image.subarray(payloadOffset)));
});

test('buffers under 64 KiB are filled whole wherever the file stands', () => {
  const image = syntheticImageBuffer({ ramBytes: 1024 * 1024, zeroPageEvery: 3 });
  const { chunks, payloadOffset } = readChunks(image, (fd) => new FdSource(fd, { chunkBytes: 1000 }));
  for (const chunk of chunks.slice(0, -1)) assert.is(chunk.bytes.length, 1000);
  assert.ok(Buffer.concat(chunks.map((chunk) => chunk.bytes)).equals(image.subarray(payloadOffset)));
});

test("the hashing thread's slots start on 4 KiB boundaries of memory", async () => {
  const hasher = new ParallelHasher(1024 * 1024);
  try {
    for (const buffer of hasher.buffers) assert.is(nativeAddon()!.alignmentGap(buffer), 0);
  } finally {
    await hasher.abort();
  }
});

test.run();
