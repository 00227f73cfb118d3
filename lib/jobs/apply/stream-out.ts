// NEW's payload being written (jobs/apply/): the prologue under the Part magic, then the rebuilt
// stream in batches to the output target its format and OUT call for, hashed as it goes; the
// Save magic (and a re-made seal) only once everything is written and synced.
import { fstatSync } from 'node:fs';
import { type FormatName, HEADER_BYTES, MAGIC_BYTES, MAGIC_PART } from '../../constants.js';
import type { StreamIdentity } from '../../codec/delta/delta-layout.js';
import { encodeHeaderInto } from '../../codec/header.js';
import type { SaveImagePrologue } from '../../codec/prologue.js';
import { type PayloadSeal, withoutSeal, withSeal } from '../../codec/seal.js';
import { createXxh64, type Xxh64 } from '../../hash.js';
import { BATCH_BYTES, type BatchTarget, SinkTarget, SparseTarget } from '../../io/batch-targets.js';
import { type CompressOptions, compressOptionsOf, createPayloadSink } from '../../io/compressors.js';
import { DIRECT_ALIGN, DirectOutput } from '../../io/direct-output.js';
import { isRegularFile, realOutput, writeAll } from '../../io/fd-io.js';
import { hashFileRange } from '../../io/file-digest.js';
import { RECORD_HEAD_BYTES, writeRecordHead } from './page-records.js';

/** What StreamOut needs of apply's parameters: OUT, opened when the prologue is known, and the compressor's settings. */
export interface StreamOutParams extends CompressOptions {
  openOutput: () => number;
}

/** A hole's zeros, hashed without being written. */
const ZEROS = Buffer.alloc(BATCH_BYTES);

/** NEW's payload being written: the prologue under the Part magic, then the rebuilt stream. */
export class StreamOut {
  readonly #fd: number;
  readonly #image: SaveImagePrologue;
  readonly #format: FormatName;
  readonly #toFile: boolean;
  readonly #target: BatchTarget;
  readonly #hasher: Xxh64;
  #used = 0;
  /** Stream bytes handed on (and, for sparse, the next write's offset past the payload's start). */
  streamBytes = 0;

  static async open(params: StreamOutParams, image: SaveImagePrologue, format: FormatName): Promise<StreamOut> {
    const fd = params.openOutput();
    const toFile = isRegularFile(fd);
    // To a pipe the header cannot be rewritten: a compressed payload's seal (of other bytes) is dropped.
    const prologue = Buffer.from(image.prologueBytes);
    if (toFile) prologue.write(MAGIC_PART, 0, MAGIC_BYTES, 'latin1');
    else if (image.seal && format !== 'raw' && format !== 'sparse') encodeHeaderInto(withoutSeal(image.header), prologue, 0);
    let target: BatchTarget;
    if (toFile && format === 'raw') {
      // The prologue's whole blocks through the page cache; the rest of its last block leads the first batch.
      const aligned = prologue.length - (prologue.length % DIRECT_ALIGN);
      writeAll(fd, prologue.subarray(0, aligned), 0);
      target = new DirectOutput(fd, aligned, prologue.subarray(aligned));
    } else {
      writeAll(fd, prologue, null); // from offset 0 of a new file: the payload follows from the file offset
      target = toFile && format === 'sparse' ? new SparseTarget(fd, image.payloadOffset) : new SinkTarget(await createPayloadSink(format === 'sparse' ? 'raw' : format, fd, compressOptionsOf(params)));
    }
    return new StreamOut(fd, image, format, toFile, target, await createXxh64());
  }

  private constructor(fd: number, image: SaveImagePrologue, format: FormatName, toFile: boolean, target: BatchTarget, hasher: Xxh64) {
    this.#fd = fd;
    this.#image = image;
    this.#format = format;
    this.#toFile = toFile;
    this.#target = target;
    this.#hasher = hasher;
  }

  /** A CONTINUE record: a page of data, or a zero page of `fill` (a promise only when a batch filled up). */
  record(address: number, page: Buffer | null, fill: number): Promise<void> | void {
    const batch = this.#target.batch;
    const at = this.#used;
    if (at + RECORD_HEAD_BYTES + (page?.length ?? 1) > batch.length) return this.#splitRecord(address, page, fill);
    writeRecordHead(batch, at, address, page === null);
    if (page === null) {
      batch[at + RECORD_HEAD_BYTES] = fill;
      this.#used = at + RECORD_HEAD_BYTES + 1;
    } else {
      this.#used = at + RECORD_HEAD_BYTES + this.#target.copy(page, at + RECORD_HEAD_BYTES);
    }
  }

  /** A record across the end of a batch: every batch but the last is filled whole (DirectOutput writes whole blocks). */
  async #splitRecord(address: number, page: Buffer | null, fill: number): Promise<void> {
    const head = Buffer.allocUnsafe(RECORD_HEAD_BYTES + 1);
    writeRecordHead(head, 0, address, page === null);
    head[RECORD_HEAD_BYTES] = fill;
    await this.bytes(page === null ? head : head.subarray(0, RECORD_HEAD_BYTES));
    if (page !== null) await this.bytes(page);
  }

  /** Bytes of the stream (a promise only when a batch filled up). */
  bytes(bytes: Buffer): Promise<void> | void {
    const batch = this.#target.batch;
    const fits = batch.length - this.#used;
    if (bytes.length <= fits) {
      this.#used += this.#target.copy(bytes, this.#used);
      return;
    }
    this.#used += this.#target.copy(bytes.subarray(0, fits), this.#used);
    return Promise.resolve(this.#fill(batch)).then(() => this.bytes(bytes.subarray(fits)));
  }

  /** Zeros of a sparse image's hole: hashed, and left out of a sparse file or sent down a pipe. */
  async hole(length: number): Promise<void> {
    if (this.#target.leavesHoles) {
      if (this.#used > 0) await this.#fill(this.#target.batch.subarray(0, this.#used));
      for (let left = length; left > 0; left -= ZEROS.length) this.#hasher.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
      this.streamBytes += length;
      return;
    }
    for (let left = length; left > 0; ) {
      const batch = this.#target.batch;
      const n = Math.min(left, batch.length - this.#used);
      batch.fill(0, this.#used, this.#used + n);
      this.#used += n;
      left -= n;
      if (this.#used === batch.length) await this.#fill(batch);
    }
  }

  /** The stream rebuilt: every byte handed on, and its identity. */
  async identity(): Promise<StreamIdentity> {
    if (this.#used > 0) await this.#fill(this.#target.batch.subarray(0, this.#used));
    return { length: this.streamBytes, digest: this.#hasher.digestHex() };
  }

  /** Everything written and synced, then the Save magic (and, for a re-compressed payload, its seal). Call after identity(). */
  async finish(): Promise<{ payloadOut: number | null; seal: PayloadSeal | null }> {
    const payloadOffset = this.#image.payloadOffset;
    await this.#target.end(this.streamBytes);
    if (!this.#toFile) return { payloadOut: null, seal: null };
    const payloadOut = fstatSync(this.#fd).size - payloadOffset;
    realOutput.sync(this.#fd);
    let seal = this.#image.seal;
    if (seal && this.#format !== 'raw' && this.#format !== 'sparse') {
      // The compressor may not write the bytes NEW held: the seal is made anew for those written.
      seal = { payloadLength: payloadOut, digest: await hashFileRange(this.#fd, payloadOffset, payloadOut) };
    }
    const header = Buffer.alloc(HEADER_BYTES);
    encodeHeaderInto(seal ? withSeal(this.#image.header, seal) : this.#image.header, header, 0);
    writeAll(this.#fd, header, 0);
    realOutput.sync(this.#fd);
    return { payloadOut, seal };
  }

  abort(): Promise<void> {
    return this.#target.abort();
  }

  /** The batch, filled to `bytes`, hashed and handed on; the next is filled from its start. */
  #fill(bytes: Buffer): Promise<void> | void {
    this.#hasher.update(bytes);
    const at = this.streamBytes;
    this.streamBytes += bytes.length;
    this.#used = 0;
    return this.#target.submit(bytes.length, at);
  }
}
