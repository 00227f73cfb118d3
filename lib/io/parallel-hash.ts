// XXH64 on the second core: the reading thread fills shared slots and carries on reading (and
// writing) while a worker thread hashes the slots it filled before. Reading a cached file runs
// at about 20 GB/s and xxhash-wasm at about 11 GB/s here, so doing both on one thread costs
// their sum; overlapped, the copy costs the slower of the two (bench/RESULTS.md).
import { Worker } from 'node:worker_threads';
import { SaveImageError } from '../errors.js';
import { executableAsset } from '../sea.js';
import { createSlots, END_OF_INPUT, FAILED, FREE, FULL, type HashWorkerData, slotLengthIndex, slotView } from './slots.js';

/** The hashing thread's code among the one-file executable's assets (a CommonJS bundle). */
export const HASH_WORKER_ASSET = 'hash-worker.cjs';

const SLOT_COUNT = 4;
const WAIT_MS = 1000;

export class ParallelHasher {
  readonly #data: HashWorkerData;
  readonly #control: Int32Array;
  readonly #worker: Worker;
  readonly #digest: Promise<string>;
  /** Buffers over the slots, for the reader to fill in order. */
  readonly buffers: Buffer[];

  constructor(slotBytes: number) {
    this.#data = createSlots(SLOT_COUNT, slotBytes);
    this.#control = new Int32Array(this.#data.control);
    this.buffers = Array.from({ length: SLOT_COUNT }, (_, slot) => {
      const view = slotView(this.#data, slot, slotBytes);
      return Buffer.from(view.buffer, view.byteOffset, view.length);
    });
    // Its stdout and stderr stay its own: piping them to ours would create our stdout stream and
    // turn a piped fd 1 non-blocking under the copy loop (EAGAIN at every full pipe).
    const options = { workerData: this.#data, stdout: true, stderr: true };
    const bundled = executableAsset(HASH_WORKER_ASSET);
    this.#worker = bundled
      ? new Worker(Buffer.from(bundled).toString('utf8'), { ...options, eval: true }) // the one-file executable has no files to run
      : new Worker(new URL(import.meta.url.endsWith('.ts') ? './hash-worker.ts' : './hash-worker.js', import.meta.url), options);
    this.#digest = new Promise((resolve, reject) => {
      this.#worker.once('message', (message: string | { error: string }) =>
        typeof message === 'string' ? resolve(message) : reject(new SaveImageError('ERR_IO', `the hashing thread failed: ${message.error}`)),
      );
      this.#worker.once('error', reject);
    });
    this.#digest.catch(() => undefined); // reported by digestHex()
  }

  /**
   * Resolves once the worker runs. A worker starts through its parent's event loop, so the
   * reader must not block in acquire() before this: the worker would never start.
   */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#worker.once('online', () => resolve());
      this.#worker.once('error', reject);
    });
  }

  /** Blocks until the worker has finished with `slot`, so the reader may fill it again. */
  acquire(slot: number): void {
    for (;;) {
      const state = Atomics.load(this.#control, slot);
      if (state === FREE) return;
      if (state === FAILED) throw new SaveImageError('ERR_IO', 'the hashing thread failed');
      Atomics.wait(this.#control, slot, state, WAIT_MS);
    }
  }

  /** Hands a filled slot to the worker. */
  submit(slot: number, length: number): void {
    Atomics.store(this.#control, slotLengthIndex(this.#data, slot), length);
    Atomics.store(this.#control, slot, FULL);
    Atomics.notify(this.#control, slot);
  }

  /** Ends the input at `nextSlot` (the slot the worker looks at next) and waits for the digest. */
  async digestHex(nextSlot: number): Promise<string> {
    this.acquire(nextSlot);
    this.submit(nextSlot, END_OF_INPUT);
    try {
      return await this.#digest;
    } finally {
      await this.#worker.terminate();
    }
  }

  /** Stops the worker without a digest (the copy failed). */
  async abort(): Promise<void> {
    await this.#worker.terminate();
  }
}
