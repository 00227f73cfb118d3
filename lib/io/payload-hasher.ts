// XXH64 of a payload as it streams through the pump: in the reading thread for small payloads
// and for files served by their ways (mapped: nothing to overlap; copied: a worker reads ahead
// already), on a worker thread (ParallelHasher) for large or unknown ones from a pipe, where
// overlapping the read and the hash pays for the worker's start-up (about 40 ms).
import { createXxh64, type Xxh64 } from '../hash.js';
import { CHUNK_BYTES, type FdSource } from './fd-source.js';
import { ParallelHasher } from './parallel-hash.js';

const PARALLEL_FROM_BYTES = 64 * 1024 * 1024;

export interface PayloadHasher {
  /** Before the source reads its next chunk. */
  beforeRead(source: FdSource): void;
  /** After the source returned `chunk`. */
  afterRead(source: FdSource, chunk: Buffer): void;
  digestHex(source: FdSource): Promise<string>;
  abort(): Promise<void>;
}

/** A hasher suited to a payload of `expectedBytes` (null: unknown, as from a pipe). */
export async function createPayloadHasher(source: FdSource, expectedBytes: number | null): Promise<PayloadHasher> {
  // A file's ways read ahead or need no read: this thread hashes.
  if (source.fileWay !== null || (expectedBytes !== null && expectedBytes < PARALLEL_FROM_BYTES)) return inThread(await createXxh64());
  const parallel = new ParallelHasher(CHUNK_BYTES);
  await parallel.ready();
  source.useBuffers(parallel.buffers);
  const count = parallel.buffers.length;
  return {
    beforeRead: (s) => parallel.acquire(s.nextBufferIndex),
    afterRead: (s, chunk) => parallel.submit((s.nextBufferIndex + count - 1) % count, chunk.length),
    digestHex: (s) => parallel.digestHex(s.nextBufferIndex),
    abort: () => parallel.abort(),
  };
}

function inThread(hasher: Xxh64): PayloadHasher {
  return {
    beforeRead() {},
    afterRead: (_source, chunk) => hasher.update(chunk),
    digestHex: async () => hasher.digestHex(),
    abort: async () => {},
  };
}
