// Synchronous reads and writes on raw file descriptors: the hot loop of savekit. A blocking
// readSync/writeSync pair beats Node streams on pipes by avoiding a thread-pool hop per chunk
// (ARCHITECTURE.md, hot path 9; bench/RESULTS.md). Descriptors inherited in non-blocking mode
// answer EAGAIN: wait a millisecond and try again rather than spin.
import { fstatSync, fsyncSync, readSync, writeSync } from 'node:fs';
import { nativeAddon } from '../native.js';

const pause = new Int32Array(new SharedArrayBuffer(4));

function waitBriefly(): void {
  Atomics.wait(pause, 0, 0, 0.05);
}

/** Reads up to `length` bytes into `buffer` at `offset`; 0 at end of input. */
export function readSome(fd: number, buffer: Buffer, offset: number, length: number, position: number | null): number {
  for (;;) {
    try {
      return readSync(fd, buffer, offset, length, position);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      waitBriefly();
    }
  }
}

/** Fills `buffer` from `offset` as far as the input allows; returns the bytes read. */
export function readFully(fd: number, buffer: Buffer, offset: number, length: number, position: number | null): number {
  let done = 0;
  while (done < length) {
    const n = readSome(fd, buffer, offset + done, length - done, position === null ? null : position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Writes all of `bytes` (at `position`, or at the current offset when null). */
export function writeAll(fd: number, bytes: Uint8Array, position: number | null): void {
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done, position === null ? null : position + done);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      waitBriefly();
    }
  }
}

const PAGE_BYTES = 4096;
const ZERO_PAGE = Buffer.alloc(PAGE_BYTES);

/**
 * Writes `bytes` at `position` of a file, leaving out each 4 KiB page of zeros that lies whole
 * on a 4 KiB boundary of the file: the file keeps holes there, as `cp --sparse=always` would.
 */
export function writeSkippingZeros(fd: number, bytes: Buffer, position: number): void {
  let run = -1;
  for (let start = 0; start < bytes.length; ) {
    const end = Math.min(bytes.length, start + PAGE_BYTES - ((position + start) % PAGE_BYTES));
    const zero = end - start === PAGE_BYTES && bytes.subarray(start, end).equals(ZERO_PAGE);
    if (!zero && run < 0) run = start;
    if (zero && run >= 0) {
      writeAll(fd, bytes.subarray(run, start), position + run);
      run = -1;
    }
    start = end;
  }
  if (run >= 0) writeAll(fd, bytes.subarray(run), position + run);
}

/** Regular files can be read at positions and written back at offset 0; pipes cannot. */
export function isRegularFile(fd: number): boolean {
  return fstatSync(fd).isFile();
}

/**
 * Bytes from the start of `bytes` to the next 4 KiB boundary of memory: the addon's answer, or
 * else 4080, as glibc places an mmap'd chunk (and V8 a SharedArrayBuffer's data) 16 bytes past a
 * page. A guess that missed costs speed only: a direct write from a buffer off a page is refused,
 * and DirectOutput then goes through the page cache.
 */
export function pageGap(bytes: Uint8Array): number {
  return nativeAddon()?.alignmentGap?.(bytes) ?? 4080;
}

/**
 * A page-aligned view of `size` bytes. Direct I/O takes nothing else, and the kernel's copy out
 * of the page cache runs about four times slower into a buffer 1 to 15 bytes out of step with
 * the page modulo 64 (bench/RESULTS.md, "Buffer alignment").
 */
export function alignedBuffer(size: number): Buffer {
  const whole = Buffer.allocUnsafeSlow(size + 4096);
  const gap = pageGap(whole);
  return whole.subarray(gap, gap + size);
}

/** The writes and syncs of a copy, behind one seam so that a test can fail any of them. */
export interface OutputOps {
  write(fd: number, bytes: Uint8Array, position: number | null): void;
  sync(fd: number): void;
}

export const realOutput: OutputOps = { write: writeAll, sync: fsyncSync };
