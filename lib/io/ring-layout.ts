// The shared memory of a read-ahead ring (read-ring.ts) and the one step both its threads take:
// claim the next chunk of the file and read it into its slot. The reading thread and the
// worker (read-worker.ts) both fill slots, whichever is free; the reading thread alone takes
// them, in the file's order. Imports nothing but node:fs, so the worker starts in milliseconds.
import { readSync } from 'node:fs';

/** Words of `control`, before the slots' own. */
export const CLAIM = 0; // the next chunk to read; STOPPED or SHUTDOWN instead
export const RELEASED = 1; // chunks the reading thread has let go of, in order
export const WAKE = 2; // bumped whenever a claim may have become possible
export const END = 3; // the last chunk (the one the file ended in)
export const ONLINE = 4; // 1 once the worker runs
const HEAD_WORDS = 5;

export const STOPPED = -1;
export const SHUTDOWN = -2;
export const NO_END = 0x7fffffff;

/** A slot's states. */
export const FREE = 0;
export const CLAIMED = 1;
export const FULL = 2;
export const FAILED = 3;

const PAGE_BYTES = 4096;

export interface RingData {
  fd: number;
  slotCount: number;
  slotBytes: number;
  /** Page-aligned slots, one after another from `firstSlot`. */
  memory: SharedArrayBuffer;
  firstSlot: number;
  /** HEAD_WORDS, then per slot its state, its length, and the errno of a failed read. */
  control: SharedArrayBuffer;
  /** [where chunk 0 starts in the file]. */
  positions: SharedArrayBuffer;
}

export function createRingData(fd: number, slotCount: number, slotBytes: number, firstSlotOf: (memory: Uint8Array) => number): RingData {
  const memory = new SharedArrayBuffer(slotCount * slotBytes + PAGE_BYTES);
  return {
    fd,
    slotCount,
    slotBytes,
    memory,
    firstSlot: firstSlotOf(new Uint8Array(memory)),
    control: new SharedArrayBuffer(4 * (HEAD_WORDS + 3 * slotCount)),
    positions: new SharedArrayBuffer(8),
  };
}

/** Both threads' handles on one ring. */
export class RingView {
  readonly data: RingData;
  readonly control: Int32Array;
  readonly #positions: Float64Array;
  readonly #slots: Buffer[];

  constructor(data: RingData) {
    this.data = data;
    this.control = new Int32Array(data.control);
    this.#positions = new Float64Array(data.positions);
    this.#slots = Array.from({ length: data.slotCount }, (_, slot) => Buffer.from(data.memory, data.firstSlot + slot * data.slotBytes, data.slotBytes));
  }

  stateIndex(slot: number): number {
    return HEAD_WORDS + slot;
  }

  lengthIndex(slot: number): number {
    return HEAD_WORDS + this.data.slotCount + slot;
  }

  errnoIndex(slot: number): number {
    return HEAD_WORDS + 2 * this.data.slotCount + slot;
  }

  get start(): number {
    return this.#positions[0]!;
  }

  set start(position: number) {
    this.#positions[0] = position;
  }

  /** Chunk `k`'s bytes in the file: chunk 0 from the start to the next slot-sized step of the page grid, then whole slots, so every read after the first lands page on page. */
  span(k: number): [number, number] {
    const first = this.start - (this.start % PAGE_BYTES);
    return [k === 0 ? this.start : first + k * this.data.slotBytes, first + (k + 1) * this.data.slotBytes];
  }

  slot(k: number): Buffer {
    return this.#slots[k % this.data.slotCount]!;
  }

  /**
   * Claims the next chunk if its slot is free and the file has not ended before it; its index,
   * or -1. The slot is marked first and the claim taken second, so a thread stopping the ring
   * (read-ring.ts, seek) sees every claim in flight as a CLAIMED slot.
   */
  claim(): number {
    const c = this.control;
    const k = Atomics.load(c, CLAIM);
    if (k < 0 || k > Atomics.load(c, END) || k >= Atomics.load(c, RELEASED) + this.data.slotCount) return -1;
    const state = this.stateIndex(k % this.data.slotCount);
    if (Atomics.compareExchange(c, state, FREE, CLAIMED) !== FREE) return -1;
    if (Atomics.compareExchange(c, CLAIM, k, k + 1) === k) return k;
    this.#settle(k % this.data.slotCount, FREE);
    return -1;
  }

  /** Reads chunk `k` (claimed by this thread) into its slot and says so: FULL with its length, or FAILED with the errno. */
  fill(k: number): void {
    const c = this.control;
    const slot = k % this.data.slotCount;
    const [start, end] = this.span(k);
    const target = this.slot(k);
    let length = 0;
    try {
      while (start + length < end) {
        const n = readSync(this.data.fd, target, length, end - start - length, start + length);
        if (n === 0) break;
        length += n;
      }
    } catch (error) {
      Atomics.store(c, this.errnoIndex(slot), (error as NodeJS.ErrnoException).errno ?? -5);
      this.#settle(slot, FAILED);
      return;
    }
    Atomics.store(c, this.lengthIndex(slot), length);
    if (start + length < end) lowerEnd(c, k);
    this.#settle(slot, FULL);
  }

  #settle(slot: number, state: number): void {
    Atomics.store(this.control, this.stateIndex(slot), state);
    Atomics.notify(this.control, this.stateIndex(slot));
  }
}

function lowerEnd(control: Int32Array, k: number): void {
  for (let end = Atomics.load(control, END); k < end; end = Atomics.load(control, END)) {
    if (Atomics.compareExchange(control, END, end, k) === end) return;
  }
}

/** The worker's loop: fill whatever may be filled, sleep until the reading thread releases a slot, until SHUTDOWN. */
export function fillUntilShutdown(ring: RingView): void {
  const c = ring.control;
  Atomics.store(c, ONLINE, 1);
  for (;;) {
    const wake = Atomics.load(c, WAKE);
    if (Atomics.load(c, CLAIM) === SHUTDOWN) return;
    const k = ring.claim();
    if (k >= 0) ring.fill(k);
    else Atomics.wait(c, WAKE, wake, 250);
  }
}
