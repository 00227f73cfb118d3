// Reading an image from a file descriptor: exactly the prologue, then the payload in
// page-aligned chunks. Two chunk buffers alternate, so at the end of input the last two chunks
// are still intact for the stream-end check. A regular file is stamped when opened and again at
// the end of input: one written while savekit read it is refused (ERR_IMAGE_CHANGED), so no
// digest, walk or copy ever describes bytes that were never one image.
import { fstatSync } from 'node:fs';
import { HEADER_BYTES } from '../constants.js';
import { decodeHeader, type DecodeHeaderOptions, payloadOffsetOf } from '../codec/header.js';
import { decodePrologue, type SaveImagePrologue, truncatedRegion } from '../codec/prologue.js';
import { SaveImageError } from '../errors.js';
import { describeChange, type FileStamp } from '../file/file-port.js';
import { modeFromSource } from '../file/modes.js';
import { alignedBuffer, readFully, readSome } from './fd-io.js';
import { FileWays, type FileWaysOptions } from './file-ways.js';
import { growPipe, makeBlocking } from './pipe-setup.js';
import type { ReadWay } from './way-trial.js';

/** Payload chunk size (measured: bench/RESULTS.md). */
export const CHUNK_BYTES = 1024 * 1024;
/**
 * A file's reads start on its 4 KiB pages, so the kernel copies each page cache page onto a
 * page of the buffer. A payload starts wherever the XML ends; one that started in the last 15
 * bytes of a page was read at 2.1 GB/s instead of 9 on this project's AMD EPYC machine (the
 * kernel's `rep movsb`, 1 to 15 bytes out of step; bench/RESULTS.md, "Buffer alignment"):
 * the first read after an unaligned position stops at a page boundary, the rest start on one.
 */
const FILE_PAGE_BYTES = 4096;
/** Buffers smaller than this (tests cut chunks fine) are filled whole wherever the file stands. */
const ALIGN_READS_FROM_BYTES = 64 * 1024;

/**
 * Chunks read from a regular file: two 256 KiB buffers stay in the CPU cache between the kernel's
 * copy and the walker's look, where two of 1 MiB do not (a 4 GiB read loop: 0.44 s against 0.50 s,
 * bench/RESULTS.md). Pipes keep 1 MiB, the size savekit grows them to.
 */
export const FILE_CHUNK_BYTES = 256 * 1024;
/** Chunks handed out from a mapped file: views cost nothing, so only progress and interruption set their size. */
export const MAPPED_CHUNK_BYTES = 2 * 1024 * 1024;

/**
 * What feeds a pipe when it is not another program: the transfer of an s3:// object. Its
 * failure is the reason a read ended early, and the end of the pipe counts only once it says
 * the whole object came through.
 */
export interface Upstream {
  failure(): SaveImageError | null;
  assertComplete(): void;
  /** The bytes it will send in all (an object's size), once known. */
  size?(): number | null;
}

export class FdSource {
  readonly fd: number;
  /** A regular file: reads are positioned and the size is known. */
  readonly seekable: boolean;
  /** The file as it was when opened (regular files only). */
  readonly stamp: FileStamp | null;
  /** The permission bits of anything made from this image (its own, or 0600 from a pipe). */
  readonly outputMode: number;
  #position = 0;
  #buffers: Buffer[];
  #turn = 0;
  #fill = false;
  #last: Buffer | null = null;
  #beforeLast: Buffer | null = null;
  #ways: FileWays | null = null;
  readonly #windowBytes: number | undefined;
  /** Mapped chunks' size: a caller's chunkBytes, else MAPPED_CHUNK_BYTES. */
  readonly #chunkBytes: number;
  readonly #upstream: Upstream | null;

  /**
   * `growPipe: false` keeps a pipe at its size (to measure what growing it gains); `windowBytes`
   * sets the mapped windows' size (tests cross windows with small ones).
   */
  constructor(fd: number, options: { chunkBytes?: number; growPipe?: boolean; windowBytes?: number; upstream?: Upstream | undefined } = {}) {
    const stat = fstatSync(fd);
    const chunkBytes = options.chunkBytes ?? (stat.isFile() ? FILE_CHUNK_BYTES : CHUNK_BYTES);
    this.#chunkBytes = options.chunkBytes ?? MAPPED_CHUNK_BYTES;
    this.fd = fd;
    this.seekable = stat.isFile();
    this.stamp = this.seekable ? { dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs } : null;
    this.outputMode = modeFromSource(stat);
    this.#windowBytes = options.windowBytes;
    this.#upstream = options.upstream ?? null;
    this.#buffers = [alignedBuffer(chunkBytes), alignedBuffer(chunkBytes)];
    if (!this.seekable) {
      makeBlocking(fd);
      if (options.growPipe !== false) growPipe(fd);
    }
  }

  /** Bytes in the file (when opened), or null for a pipe. */
  get size(): number | null {
    return this.stamp?.size ?? null;
  }

  /**
   * Bytes the whole input will have, where anything says: a file's size when opened, an object's
   * as its store named it (once the prologue is read); else null (a pipe).
   */
  get expectedSize(): number | null {
    return this.stamp?.size ?? this.#upstream?.size?.() ?? null;
  }

  /** Bytes consumed so far. */
  get position(): number {
    return this.#position;
  }

  /** Reads exactly the prologue: the 92-byte header, then dataLen bytes. */
  readPrologue(options: DecodeHeaderOptions): SaveImagePrologue {
    const head = Buffer.alloc(HEADER_BYTES);
    const got = this.#read(head, 0, HEADER_BYTES, true);
    const header = decodeHeader(head.subarray(0, got), options);
    const prologue = Buffer.allocUnsafe(payloadOffsetOf(header));
    head.copy(prologue);
    const region = this.#read(prologue, HEADER_BYTES, header.dataLen, true);
    if (region < header.dataLen) throw truncatedRegion(header, HEADER_BYTES + region);
    return decodePrologue(prologue, options);
  }

  /**
   * Reads the payload into these buffers from now on, in turn (a ring shared with a hashing
   * thread). At least two, so the last two chunks stay intact at the end of input. Each buffer
   * is filled whole before it is handed on (a pipe read brings 64 KiB to 1 MiB): a handoff
   * to another thread costs far more than a read.
   */
  useBuffers(buffers: Buffer[]): void {
    if (buffers.length < 2) throw new RangeError('at least two buffers');
    this.#buffers = buffers;
    this.#turn = 0;
    this.#fill = true;
  }

  /**
   * Serves the rest of a regular file the way this host reads it faster (file-ways.ts): views of
   * the page cache (native/map.c) or copies by two threads, found by a trial on the file's first
   * blocks. For readers that only look at the bytes; a file cut meanwhile ends in
   * ERR_IMAGE_CHANGED (see whyFailed). The way it took, or null (a pipe, a small file: read by
   * this thread alone, as before).
   */
  useFileWays(options: Pick<FileWaysOptions, 'everyByte' | 'way' | 'waysFromBytes' | 'trialFromBytes' | 'trial' | 'slotBytes'> = {}): ReadWay | null {
    if (this.seekable && !this.#fill && !this.#ways) {
      const windowBytes = this.#windowBytes === undefined ? {} : { windowBytes: this.#windowBytes };
      this.#ways = FileWays.open(this.fd, this.stamp!.size, this.#position, { ...options, ...windowBytes, chunkBytes: this.#chunkBytes });
    }
    return this.fileWay;
  }

  /** Serves the rest of a regular file mapped (useFileWays, forced): false for a pipe or without the addon. */
  mapPayload(options: Pick<FileWaysOptions, 'everyByte'> = {}): boolean {
    return this.useFileWays({ ...options, way: 'mapped' }) === 'mapped';
  }

  /** The way serving chunks (useFileWays), or null while this thread reads them itself. */
  get fileWay(): ReadWay | null {
    return this.#ways?.way ?? null;
  }

  /** False while the worker of useFileWays is still starting. */
  get fileWaysReady(): boolean {
    return this.#ways?.ready ?? true;
  }

  /** True while chunks are views of a mapping. */
  get mapped(): boolean {
    return this.fileWay === 'mapped';
  }

  /** Stops reading ahead and unmaps (at the end of input this happens by itself). */
  close(): void {
    this.#ways?.close();
  }

  /**
   * What to report for `error`, met while reading this source: ERR_IMAGE_CHANGED when the file
   * was cut under a mapping or written while it was read (the bytes seen were never one image,
   * whatever a reader made of them), else `error` itself. Reading stops.
   */
  whyFailed(error: unknown): unknown {
    this.close();
    const upstream = this.#upstream?.failure();
    if (upstream) return upstream;
    if (SaveImageError.is(error) && error.code === 'ERR_IMAGE_CHANGED') return error;
    try {
      this.#assertIntact();
    } catch (changed) {
      return changed;
    }
    return error;
  }

  /** The index of the buffer the next chunk will be read into. */
  get nextBufferIndex(): number {
    return this.#turn;
  }

  /**
   * The next payload chunk (a view, valid until the call after next), or null at the end.
   * ERR_IMAGE_CHANGED at the end of a file that was written while it was read.
   */
  next(): Buffer | null {
    if (this.#ways) return this.#nextFromWays(this.#ways);
    const buffer = this.#buffers[this.#turn]!;
    const n = this.#read(buffer, 0, this.#readLength(buffer), this.#fill);
    if (n === 0) {
      this.assertUnchanged();
      return null; // the turn stays: nothing was put in this buffer
    }
    this.#turn = (this.#turn + 1) % this.#buffers.length;
    this.#beforeLast = this.#last;
    this.#last = buffer.subarray(0, n);
    return this.#last;
  }

  #nextFromWays(ways: FileWays): Buffer | null {
    // A fault anywhere in the process's mappings: this file may be the one cut (its size says).
    if (ways.faulted()) this.#assertIntact();
    let chunk: Buffer | null;
    try {
      chunk = ways.next(this.#position);
    } catch (error) {
      ways.close();
      throw error;
    }
    if (chunk === null) {
      this.assertUnchanged();
      return null;
    }
    this.#position += chunk.length;
    this.#beforeLast = this.#last;
    this.#last = chunk;
    return chunk;
  }

  /** ERR_IMAGE_CHANGED when the file is no longer what it was when opened, or ended elsewhere. */
  assertUnchanged(): void {
    this.#upstream?.assertComplete();
    this.#assertIntact(this.stamp === null || this.#position === this.stamp.size ? null : `it ended at ${this.#position} bytes`);
  }

  /** ERR_IMAGE_CHANGED when the file changed since it was opened (or `otherwise` says how it did). */
  #assertIntact(otherwise: string | null = null): void {
    if (this.stamp === null) return;
    const change = describeChange(this.stamp, fstatSync(this.fd)) ?? otherwise;
    if (change !== null) {
      throw new SaveImageError('ERR_IMAGE_CHANGED', `the image changed while savekit read it (${this.stamp.size} bytes when opened; ${change}): another program is writing it; try again once it is done`);
    }
  }

  /** Moves a file's read position `n` bytes on without reading them (regular files only). */
  advance(n: number): void {
    if (!this.seekable) throw new RangeError('only a regular file can be skipped over');
    this.#position += n;
  }

  /** Reads up to `length` bytes at an absolute `position` of a file, leaving the stream position. */
  readAt(position: number, length: number): Buffer {
    const target = Buffer.alloc(length);
    return target.subarray(0, readFully(this.fd, target, 0, length, position));
  }

  /** The last bytes read, up to two chunks (views; valid once next() has returned null). */
  tail(): Buffer {
    const parts = [this.#beforeLast, this.#last].filter((part): part is Buffer => part !== null);
    return Buffer.concat(parts);
  }

  /** A whole buffer, or from a file up to its next page boundary when the position is not on one. */
  #readLength(buffer: Buffer): number {
    const skew = this.seekable && buffer.length >= ALIGN_READS_FROM_BYTES ? this.#position % FILE_PAGE_BYTES : 0;
    return buffer.length - skew;
  }

  #read(target: Buffer, offset: number, length: number, exactly: boolean): number {
    const position = this.seekable ? this.#position : null;
    const n = exactly ? readFully(this.fd, target, offset, length, position) : readSome(this.fd, target, offset, length, position);
    this.#position += n;
    return n;
  }
}
