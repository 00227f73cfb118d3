// Pages written at file offsets (a sparse image's page areas, a physical image, an ELF core's
// loads): contiguous pages gathered into runs of up to 1 MiB, the runs written in order, one at
// a time, on the thread pool while the walk reads on, so reading and writing overlap. Zero pages
// are never written (holes), unless they replace a page written before (the last record wins:
// a page bitmap per area tells, and the zeros queue behind the earlier write).
import { write } from 'node:fs';
import { ioError } from '../errors.js';
import { writeAll } from '../io/fd-io.js';

const RUN_BYTES = 1024 * 1024;
/** Runs queued at most; past this the walk waits (a few MiB of memory, whatever the image). */
const QUEUED = 4;
const ZEROS = Buffer.alloc(65536);

export class PageWriter {
  readonly #fd: number;
  readonly #label: string;
  /** Run buffers, allocated once: fresh memory costs a page fault per 4 KiB in these VMs. */
  readonly #free: Buffer[] = Array.from({ length: QUEUED + 1 }, () => Buffer.allocUnsafe(RUN_BYTES));
  #run: Buffer = Buffer.allocUnsafe(RUN_BYTES);
  /** The run gathered holds a page written before: it must land after the earlier write. */
  #runRewrites = false;
  #runStart = -1;
  #runLength = 0;
  /** Runs to write, in order; the first is being written. */
  readonly #queue: Array<{ run: Buffer; length: number; position: number; pooled: boolean }> = [];
  #failure: unknown = null;
  #settled: Array<() => void> = [];
  readonly #written = new Map<number, Uint8Array>();
  /** Pages written or zeroed at any time: a later record of one must queue behind them. */
  readonly #touched = new Map<number, Uint8Array>();
  /** Data pages the output holds. */
  dataPages = 0;
  /** Bytes of data written. */
  bytes = 0;

  constructor(fd: number, label: string) {
    this.#fd = fd;
    this.#label = label;
  }

  /** A page of area `area` (its `index`-th) at `offset` in the file; null: a zero page. */
  page(area: number, index: number, offset: number, data: Buffer | null): void {
    const bits = bitmap(this.#written, area, index);
    const touched = bitmap(this.#touched, area, index);
    const bit = 1 << (index & 7);
    const again = (touched[index >> 3]! & bit) !== 0;
    if (data === null) {
      if (bits[index >> 3]! & bit) {
        // An earlier page, now zero: its zeros queue behind the write that put it there.
        this.#flush();
        this.#enqueue(ZEROS, 4096, offset, false);
        bits[index >> 3]! &= ~bit;
        this.dataPages--;
      }
      return;
    }
    if (!(bits[index >> 3]! & bit)) this.dataPages++;
    bits[index >> 3]! |= bit;
    touched[index >> 3]! |= bit;
    if (this.#runStart + this.#runLength !== offset || this.#runLength + data.length > RUN_BYTES) this.#flush();
    if (this.#runLength === 0) this.#runStart = offset;
    if (again) this.#runRewrites = true; // this run, not the one just flushed
    data.copy(this.#run, this.#runLength);
    this.#runLength += data.length;
    this.bytes += data.length;
  }

  /** The pages of `area` written so far, one bit each (byte i >> 3, bit i & 7), in `bytes` bytes. */
  bitmapOf(area: number, bytes: number): Buffer {
    const out = Buffer.alloc(bytes);
    const bits = this.#written.get(area);
    if (bits) out.set(bits.subarray(0, Math.min(bytes, bits.length)));
    return out;
  }

  /** Lets the walk go on only while few runs are queued (await it between chunks). */
  async pace(): Promise<void> {
    while (this.#queue.length >= QUEUED) await new Promise<void>((resolve) => this.#settled.push(resolve));
    this.#rethrow();
  }

  /** Writes what is gathered and waits for every queued run. */
  async finish(): Promise<void> {
    this.#flush();
    while (this.#queue.length > 0) await new Promise<void>((resolve) => this.#settled.push(resolve));
    this.#rethrow();
  }

  /** Waits for the queued writes, whatever they end in (before the descriptor is closed). */
  async settle(): Promise<void> {
    while (this.#queue.length > 0) await new Promise<void>((resolve) => this.#settled.push(resolve));
  }

  /**
   * Queues the run gathered and takes a free buffer for the next. With none free (many short
   * runs between two paces) the run is written here instead, unless it rewrites a page whose
   * earlier write may still be queued: order matters only then.
   */
  #flush(): void {
    if (this.#runLength === 0) return;
    const next = this.#free.pop();
    if (next === undefined && !this.#runRewrites) {
      try {
        writeAll(this.#fd, this.#run.subarray(0, this.#runLength), this.#runStart);
      } catch (error) {
        throw ioError('write', this.#label, error, { writing: true });
      }
    } else {
      this.#enqueue(this.#run, this.#runLength, this.#runStart, true);
      this.#run = next ?? Buffer.allocUnsafe(RUN_BYTES);
    }
    this.#runLength = 0;
    this.#runStart = -1;
    this.#runRewrites = false;
  }

  #enqueue(run: Buffer, length: number, position: number, pooled: boolean): void {
    this.#queue.push({ run, length, position, pooled });
    if (this.#queue.length === 1) this.#writeFrom(0);
  }

  /** Writes the head of the queue from `done` on; then the next one. */
  #writeFrom(done: number): void {
    const head = this.#queue[0]!;
    write(this.#fd, head.run, done, head.length - done, head.position + done, (error, written) => {
      if (!error && done + written < head.length) return this.#writeFrom(done + written);
      if (error) this.#failure ??= ioError('write', this.#label, error, { writing: true });
      this.#queue.shift();
      if (head.pooled && this.#free.length <= QUEUED) this.#free.push(head.run);
      if (this.#queue.length > 0 && !this.#failure) this.#writeFrom(0);
      else if (this.#failure) this.#queue.length = 0;
      for (const resolve of this.#settled.splice(0)) resolve();
    });
  }

  #rethrow(): void {
    if (this.#failure) throw this.#failure;
  }
}

/** The bitmap of `area` in `maps`, grown to hold bit `index`. */
function bitmap(maps: Map<number, Uint8Array>, area: number, index: number): Uint8Array {
  let bits = maps.get(area);
  if (!bits || bits.length <= index >> 3) {
    const grown = new Uint8Array(Math.max((index >> 3) + 1, (bits?.length ?? 0) * 2));
    if (bits) grown.set(bits);
    maps.set(area, (bits = grown));
  }
  return bits;
}
