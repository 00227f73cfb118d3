// A file written front to back past the page cache (O_DIRECT), as `dd oflag=direct` or libvirt's
// `--bypass-cache` write a save image. The caller fills page-aligned 1 MiB batches that lie on
// 4 KiB boundaries of the file; each goes to the disk on the thread pool while the next ones
// are filled. No CPU copies the bytes into the page cache and nothing is left dirty for the
// final fsync, so on 2 cores a multi-GB write stops costing the writer's thread most of its time
// (apply on the 4 GiB pair: bench/RESULTS.md, "Deltas between saves"). Where the file system
// refuses direct I/O (tmpfs on older kernels, some FUSE and network file systems) the same
// batches are written through the page cache, with an fdatasync started every 32 MiB.
import { closeSync, constants, ftruncateSync, openSync, write } from 'node:fs';
import { nativeAddon } from '../native.js';
import { BATCH_BYTES, type BatchTarget } from './batch-targets.js';
import { alignedBuffer, writeAll } from './fd-io.js';
import { APPLY_WRITEBACK_BYTES, Writeback } from './pump.js';

/** Direct I/O moves whole blocks: offsets, lengths and memory on 4 KiB boundaries. */
export const DIRECT_ALIGN = 4096;
/** Batches in flight: enough to keep the disk busy while the caller fills the next. */
const RING = 4;

export class DirectOutput implements BatchTarget {
  readonly #fd: number;
  /** A second descriptor on the same file, opened with O_DIRECT, or null where it cannot be. */
  #directFd: number | null;
  /** A direct write was refused: the batches go through the page cache. */
  #refused = false;
  readonly #buffers = Array.from({ length: RING }, () => alignedBuffer(BATCH_BYTES));
  readonly #pending: (Promise<void> | null)[] = Array.from({ length: RING }, () => null);
  #turn = 0;
  /** Where the caller's next bytes go: the current buffer, past its lead. */
  #batch: Buffer;
  /** Where the current buffer goes in the file (after the last batch, the file's true end: its padding is cut back), and the bytes already at its start. */
  #offset: number;
  #lead: number;
  readonly #writeback: Writeback;
  /** A batch shorter than a whole buffer ends the file: nothing may follow it. */
  #ended = false;

  /**
   * Writes from `offset` of `fd` on; `offset` must lie on a block boundary. `lead` (under a
   * block) goes first: the bytes between that boundary and where the caller's bytes start.
   * `direct: false` writes through the page cache from the start (as where direct I/O is refused).
   */
  constructor(fd: number, offset: number, lead: Uint8Array, options: { direct?: boolean } = {}) {
    if (offset % DIRECT_ALIGN !== 0 || lead.length >= DIRECT_ALIGN) throw new RangeError('a direct output starts on a block boundary, its lead within the block');
    this.#fd = fd;
    this.#directFd = options.direct === false ? null : openDirect(fd);
    this.#offset = offset;
    this.#lead = lead.length;
    this.#buffers[0]!.set(lead);
    this.#batch = this.#buffers[0]!.subarray(lead.length);
    this.#writeback = new Writeback(fd, APPLY_WRITEBACK_BYTES);
  }

  /** Where the caller's next bytes go: the current buffer, past its lead. */
  get batch(): Buffer {
    return this.#batch;
  }

  /** Zeros are taken as bytes: the direct writes are whole blocks, back to back. */
  readonly leavesHoles = false;

  /**
   * Copies `source` into the batch at `at`; returns its length. The disk reads a batch next, not
   * the CPU: the addon's streaming stores skip fetching its lines into the cache (native/copy.c).
   */
  readonly copy: (source: Buffer, at: number) => number = pastCacheCopy(() => this.#batch);

  /** True while the batches go past the page cache. */
  get direct(): boolean {
    return this.#directFd !== null && !this.#refused;
  }

  /** Sends the first `length` bytes of `batch` (the whole of it, but for the last); waits only when the ring is full. */
  submit(length: number): Promise<void> | void {
    if (this.#ended) throw new RangeError('only the last batch may be short');
    const buffer = this.#buffers[this.#turn]!;
    const used = this.#lead + length;
    this.#ended = used < buffer.length;
    const blocks = Math.ceil(used / DIRECT_ALIGN) * DIRECT_ALIGN;
    buffer.fill(0, used, blocks); // a last, partial block: end() cuts the file back to #offset
    const written = this.#write(buffer.subarray(0, blocks), this.#offset);
    written.catch(() => undefined); // reported when the ring comes round to it, or by end()
    this.#pending[this.#turn] = written;
    this.#offset += used;
    this.#lead = 0;
    this.#turn = (this.#turn + 1) % RING;
    this.#batch = this.#buffers[this.#turn]!;
    const previous = this.#pending[this.#turn];
    this.#pending[this.#turn] = null;
    return previous ?? undefined;
  }

  /** Everything written, a lead no batch followed too, and the file cut to its true end; the caller syncs it. */
  async end(): Promise<void> {
    try {
      if (this.#lead > 0) await this.submit(0);
      for (const pending of this.#pending) await pending;
      await this.#writeback.settle();
      this.#writeback.rethrow();
      ftruncateSync(this.#fd, this.#offset);
    } finally {
      this.#closeDirect();
    }
  }

  /** Stops: waits for the writes in flight (the descriptor must not close under them). */
  async abort(): Promise<void> {
    for (const pending of this.#pending) await pending?.catch(() => undefined);
    await this.#writeback.settle();
    this.#closeDirect();
  }

  async #write(bytes: Buffer, offset: number): Promise<void> {
    if (this.#directFd !== null && !this.#refused) {
      try {
        await writeAllAt(this.#directFd, bytes, offset);
        return;
      } catch (error) {
        // Refused for its alignment (some file systems take O_DIRECT at open, not at write): the page cache from here on.
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
        this.#refused = true; // its descriptor stays open for the writes still in flight
      }
    }
    writeAll(this.#fd, bytes, offset);
    this.#writeback.wrote(bytes.length);
  }

  #closeDirect(): void {
    if (this.#directFd === null) return;
    closeSync(this.#directFd);
    this.#directFd = null;
  }
}

/** The copy into the current batch: the addon's, or Buffer.copy where it is not loaded (or lacks it). */
function pastCacheCopy(batch: () => Buffer): (source: Buffer, at: number) => number {
  const native = nativeAddon();
  if (typeof native?.copyPastCache !== 'function') return (source, at) => source.copy(batch(), at);
  return (source, at) => native.copyPastCache(batch(), at, source);
}

/** The file behind `fd` opened again for direct writes, or null where it cannot be. */
function openDirect(fd: number): number | null {
  if (constants.O_DIRECT === undefined) return null;
  try {
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_DIRECT);
  } catch {
    return null; // no /proc, no O_DIRECT on this file system, or the file is not writable by path
  }
}

/** pwrite on the thread pool until every byte is written. */
function writeAllAt(fd: number, bytes: Buffer, offset: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const from = (done: number): void =>
      write(fd, bytes, done, bytes.length - done, offset + done, (error, n) => {
        if (error) reject(error);
        else if (done + n < bytes.length) from(done + n);
        else resolve();
      });
    from(0);
  });
}
