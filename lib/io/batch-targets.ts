// Where a rebuilt stream's batches go, in order (the Sink shape of a job that fills its own
// buffers): the job fills `batch`, hands it on with submit(), and ends or aborts. DirectOutput
// (direct-output.ts) writes a raw file past the page cache; SparseTarget writes a sparse file
// with holes where QEMU left them; SinkTarget feeds a payload sink (a compressor, or a pipe).
import { ftruncateSync, fstatSync } from 'node:fs';
import type { PayloadSink } from './compressors.js';
import { alignedBuffer, writeSkippingZeros } from './fd-io.js';
import { APPLY_WRITEBACK_BYTES, Writeback } from './pump.js';

/** Batches of 1 MiB (apply on the 4 GiB pair: 256 KiB and 2 MiB were slower). */
export const BATCH_BYTES = 1024 * 1024;

/** Where StreamOut's batches go, in order, once hashed. */
export interface BatchTarget {
  /** The buffer to fill next. */
  readonly batch: Buffer;
  /** Leaves a hole for zeros (a batch may then be handed on short), rather than taking them as bytes. */
  readonly leavesHoles: boolean;
  /** Copies `source` into `batch` at `at`; returns its length. */
  readonly copy: (source: Buffer, at: number) => number;
  /** Hands on `batch`'s first `length` bytes, the stream's bytes from `at`; `batch` may be another buffer after. */
  submit(length: number, at: number): Promise<void> | void;
  /** Everything handed on is written; the stream was `streamBytes` long. */
  end(streamBytes: number): Promise<void>;
  abort(): Promise<void>;
}

/** A copy into a batch that the CPU reads next (scanned for zeros, or written to a pipe or compressor): an ordinary one. */
function copyInto(batch: Buffer): (source: Buffer, at: number) => number {
  return (source, at) => source.copy(batch, at);
}

/** A sparse NEW to a file: batches written at their offsets, whole pages of zeros left as holes, as QEMU left them. */
export class SparseTarget implements BatchTarget {
  readonly batch = alignedBuffer(BATCH_BYTES);
  readonly leavesHoles = true;
  readonly copy = copyInto(this.batch);
  readonly #fd: number;
  readonly #payloadOffset: number;
  readonly #writeback: Writeback;

  constructor(fd: number, payloadOffset: number) {
    this.#fd = fd;
    this.#payloadOffset = payloadOffset;
    this.#writeback = new Writeback(fd, APPLY_WRITEBACK_BYTES);
  }

  submit(length: number, at: number): void {
    writeSkippingZeros(this.#fd, this.batch.subarray(0, length), this.#payloadOffset + at);
    this.#writeback.wrote(length);
  }

  async end(streamBytes: number): Promise<void> {
    await this.#writeback.settle();
    this.#writeback.rethrow();
    const end = this.#payloadOffset + streamBytes;
    if (fstatSync(this.#fd).size < end) ftruncateSync(this.#fd, end); // a trailing hole
  }

  abort(): Promise<void> {
    return this.#writeback.settle();
  }
}

/** Any other NEW (compressed, or down a pipe): through the format's sink. */
export class SinkTarget implements BatchTarget {
  readonly batch = alignedBuffer(BATCH_BYTES);
  readonly leavesHoles = false;
  readonly copy = copyInto(this.batch);
  readonly #sink: PayloadSink;

  constructor(sink: PayloadSink) {
    this.#sink = sink;
  }

  submit(length: number): Promise<void> | void {
    return this.#sink.write(this.batch.subarray(0, length));
  }

  end(): Promise<void> {
    return this.#sink.end();
  }

  async abort(): Promise<void> {
    this.#sink.abort();
  }
}
