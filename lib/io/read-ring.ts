// A regular file read with copies by two threads at once: this one and a worker each claim the
// next chunk and read it into its slot of a shared ring (ring-layout.ts); this thread takes the
// chunks in the file's order. One thread's read() runs at the speed of one core's copy out of
// the page cache; two reach nearly twice that (4 GiB cached: 0.35-0.38 s against 0.60-0.88 s,
// bench/RESULTS.md, "Mapped or copied"), and the reader's own work (a walker, a hash) goes on
// while the worker reads ahead. The worker starts on its own time: until it runs, this thread
// reads every chunk itself.
import { getSystemErrorName } from 'node:util';
import { Worker } from 'node:worker_threads';
import { executableAsset } from '../sea.js';
import { pageGap } from './fd-io.js';
import { CLAIM, CLAIMED, END, FAILED, FREE, FULL, NO_END, ONLINE, RELEASED, RingView, SHUTDOWN, STOPPED, WAKE, createRingData } from './ring-layout.js';

/** The reading thread's code among the one-file executable's assets (a CommonJS bundle). */
export const READ_WORKER_ASSET = 'read-worker.cjs';

/** Chunk and ring sizes (1 MiB chunks read 4 GiB in 0.35-0.38 s, 256 KiB in 0.42-0.45 s: bench/RESULTS.md). */
export const RING_SLOT_BYTES = 1024 * 1024;
export const RING_SLOTS = 8;
const WAIT_MS = 1000;

export class ReadRing {
  readonly #ring: RingView;
  readonly #worker: Worker;
  /** The next chunk to hand out. */
  #next = 0;
  #stopped = false;
  #closed = false;
  #readHere = 0;

  constructor(fd: number, start: number, { slotBytes = RING_SLOT_BYTES, slotCount = RING_SLOTS }: { slotBytes?: number; slotCount?: number } = {}) {
    if (slotCount < 4) throw new RangeError('a ring needs four slots: two held, two read ahead');
    this.#ring = new RingView(createRingData(fd, slotCount, slotBytes, pageGap));
    this.#ring.start = start;
    Atomics.store(this.#ring.control, END, NO_END);
    this.#worker = spare ?? startWorker();
    spare = null;
    this.#worker.postMessage(this.#ring.data);
  }

  /** The next chunk in the file's order (a view, valid until the call after next), or null at the end. */
  next(): Buffer | null {
    if (this.#closed) throw new Error('the ring is closed');
    if (this.#stopped) this.seek(this.position);
    const ring = this.#ring;
    const c = ring.control;
    const k = this.#next;
    if (k > Atomics.load(c, END)) return null;
    const slot = k % ring.data.slotCount;
    for (;;) {
      const state = Atomics.load(c, ring.stateIndex(slot));
      if (state === FULL) break;
      if (state === FAILED) throw readFailure(Atomics.load(c, ring.errnoIndex(slot)), ring.span(k)[0]);
      // Chunk k is someone's, or nobody's yet: read the next free chunk (k itself, or one ahead) rather than wait.
      const claimed = ring.claim();
      if (claimed >= 0) {
        ring.fill(claimed);
        this.#readHere++;
      } else Atomics.wait(c, ring.stateIndex(slot), state, state === CLAIMED ? WAIT_MS : 1);
    }
    const length = Atomics.load(c, ring.lengthIndex(slot));
    if (length === 0) return null;
    this.#next = k + 1;
    if (k >= 2) this.#release(k - 2);
    return ring.slot(k).subarray(0, length);
  }

  /** Chunks this thread read itself (the worker read the others). */
  get chunksReadHere(): number {
    return this.#readHere;
  }

  /** True once the worker reads too (until then this thread reads alone). */
  get online(): boolean {
    return Atomics.load(this.#ring.control, ONLINE) === 1;
  }

  /** Where the next chunk starts in the file. */
  get position(): number {
    return this.#ring.span(this.#next)[0];
  }

  /** Stops claims and waits for the reads in flight: the slots keep what they hold. */
  stop(): void {
    const ring = this.#ring;
    const c = ring.control;
    if (Atomics.load(c, CLAIM) === SHUTDOWN) return;
    this.#stopped = true;
    Atomics.store(c, CLAIM, STOPPED);
    for (let slot = 0; slot < ring.data.slotCount; slot++) {
      const index = ring.stateIndex(slot);
      while (Atomics.load(c, index) === CLAIMED) Atomics.wait(c, index, CLAIMED, WAIT_MS);
    }
  }

  /**
   * Starts over at `position` (a jump over bytes the reader does not need, or back from another
   * way of reading): claims are stopped, the reads in flight awaited, the slots emptied. Views
   * handed out before are invalid.
   */
  seek(position: number): void {
    if (this.#closed) throw new Error('the ring is closed');
    this.stop();
    const ring = this.#ring;
    const c = ring.control;
    for (let slot = 0; slot < ring.data.slotCount; slot++) Atomics.store(c, ring.stateIndex(slot), FREE);
    ring.start = position;
    Atomics.store(c, RELEASED, 0);
    Atomics.store(c, END, NO_END);
    this.#next = 0;
    this.#stopped = false;
    Atomics.store(c, CLAIM, 0);
    this.#wake();
  }

  /** Ends the worker (it finishes the read in hand, if any, then exits). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stop();
    Atomics.store(this.#ring.control, CLAIM, SHUTDOWN);
    this.#wake();
  }

  #release(k: number): void {
    const c = this.#ring.control;
    Atomics.store(c, this.#ring.stateIndex(k % this.#ring.data.slotCount), FREE);
    Atomics.store(c, RELEASED, k + 1);
    this.#wake();
  }

  #wake(): void {
    Atomics.add(this.#ring.control, WAKE, 1);
    Atomics.notify(this.#ring.control, WAKE);
  }
}

let spare: Worker | null = null;

/**
 * Starts the next ring's worker now, while the job loads and opens its files: a thread takes
 * about 40 ms to start, and competes with the reading thread meanwhile (bench/RESULTS.md).
 */
export function prestartReadWorker(): void {
  spare ??= startWorker();
}

function startWorker(): Worker {
  // Its stdout and stderr stay its own (see parallel-hash.ts: piping them would turn fd 1 non-blocking).
  const options = { stdout: true, stderr: true };
  const bundled = executableAsset(READ_WORKER_ASSET);
  const worker = bundled
    ? new Worker(Buffer.from(bundled).toString('utf8'), { ...options, eval: true })
    : import.meta.url.endsWith('.ts')
      ? new Worker(fromSources(new URL('./read-worker.ts', import.meta.url).href), { ...options, eval: true })
      : new Worker(new URL('./read-worker.js', import.meta.url), options);
  worker.unref(); // it never keeps the process alive; it ends on close() or with the process
  worker.on('error', () => undefined); // a worker that failed reads nothing: the reading thread reads everything
  return worker;
}

/** A worker script that loads a TypeScript entry (the tests run the sources): tsx registers in the worker first. */
function fromSources(entry: string): string {
  return `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
}

function readFailure(errno: number, position: number): NodeJS.ErrnoException {
  let code = 'EIO';
  try {
    code = getSystemErrorName(errno);
  } catch {}
  return Object.assign(new Error(`${code}: read failed at offset ${position}`), { code, errno, syscall: 'read' });
}
