// The chunking matrix of ARCHITECTURE.md: the same bytes fed whole, in 1, 3, 13 and 4096-byte
// chunks, split 91+1 around the header end, in an irregular pattern, and to a slow consumer,
// from each kind of source (Buffer-backed Readable, generator Readable, file).
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tempDir } from './samples.js';

export interface Chunking {
  name: string;
  split(bytes: Buffer): Buffer[];
}

/** Tiny chunks are what stress the prologue; past this many bytes they turn to 64 KiB ones. */
const SMALL_CHUNKS_UP_TO = 128 * 1024;

function fixed(size: number): (bytes: Buffer) => Buffer[] {
  return (bytes) => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; ) {
      const step = i < SMALL_CHUNKS_UP_TO ? size : 65536;
      chunks.push(bytes.subarray(i, i + step));
      i += step;
    }
    return chunks;
  };
}

function cuts(...points: number[]): (bytes: Buffer) => Buffer[] {
  return (bytes) => {
    const chunks: Buffer[] = [];
    let from = 0;
    for (const point of points.filter((p) => p > 0 && p < bytes.length)) {
      chunks.push(bytes.subarray(from, point));
      from = point;
    }
    chunks.push(bytes.subarray(from));
    return chunks;
  };
}

const IRREGULAR = [1, 90, 2, 7, 4093, 31, 65536, 5, 300, 17];

export const CHUNKINGS: Chunking[] = [
  { name: 'whole', split: (bytes) => [bytes] },
  { name: '1 byte', split: fixed(1) },
  { name: '3 bytes', split: fixed(3) },
  { name: '13 bytes', split: fixed(13) },
  { name: '4096 bytes', split: fixed(4096) },
  { name: '91+1 around the header end', split: cuts(91, 92) },
  {
    name: 'irregular',
    split: (bytes) => {
      const chunks: Buffer[] = [];
      for (let i = 0, k = 0; i < bytes.length; k++) {
        const size = IRREGULAR[k % IRREGULAR.length]!;
        chunks.push(bytes.subarray(i, i + size));
        i += size;
      }
      return chunks;
    },
  },
];

export interface SourceKind {
  name: string;
  make(bytes: Buffer, chunking: Chunking): Readable;
}

export const SOURCE_KINDS: SourceKind[] = [
  { name: 'Readable.from', make: (bytes, chunking) => Readable.from(chunking.split(bytes), { objectMode: false }) },
  {
    name: 'slow push',
    make: (bytes, chunking) => {
      const chunks = chunking.split(bytes);
      let i = 0;
      return new Readable({
        highWaterMark: 1,
        read() {
          // Yield to the event loop every few chunks: data arrives late, as from a pipe.
          const push = (): void => void this.push(i < chunks.length ? chunks[i++]! : null);
          if (i % 16 === 0) setImmediate(push);
          else push();
        },
      });
    },
  },
  {
    name: 'file',
    make: (bytes, chunking) => {
      const path = join(tempDir(), 'image');
      writeFileSync(path, bytes);
      const size = chunking.split(bytes)[0]?.length ?? 1;
      return createReadStream(path, { highWaterMark: Math.max(1, size) });
    },
  },
];

/** Reads a stream to the end into one Buffer, slowly when `slow` (a consumer that lags). */
export async function collect(stream: Readable, slow = false): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
    if (slow) await new Promise((resolve) => setImmediate(resolve));
  }
  return Buffer.concat(chunks);
}
