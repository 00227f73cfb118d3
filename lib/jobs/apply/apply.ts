// savekit apply: NEW rebuilt from BASE and a delta. The program (`zstd -dc` of the delta's body)
// is read an operation at a time while BASE is walked beside it, as far as the next reference
// and no further; NEW's stream goes out in NEW's payload format as it is rebuilt, a raw NEW to
// a file past the page cache (DirectOutput). The output
// keeps the LibvirtQemudPart magic until BASE proved to be the delta's base and the rebuilt
// stream's XXH64 equals NEW's; only then is it synced and given the Save magic.
import { closeSync, ftruncateSync, fstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { type FormatName, HEADER_BYTES, MAGIC_BYTES, MAGIC_PART } from '../../constants.js';
import { badDelta, DELTA_HEADER_BYTES, type DeltaHeader, decodeDeltaHeader, type DeltaTrailer, type StreamIdentity } from '../../codec/delta/delta-layout.js';
import { DeltaProgramReader } from '../../codec/delta/program-reader.js';
import { encodeHeaderInto, formatName, type DecodeHeaderOptions } from '../../codec/header.js';
import { decodePrologue, type SaveImagePrologue } from '../../codec/prologue.js';
import { RAM_FLAG } from '../../codec/qemu/records.js';
import { type PayloadSeal, withoutSeal, withSeal } from '../../codec/seal.js';
import { SaveImageError } from '../../errors.js';
import { createXxh64, type Xxh64 } from '../../hash.js';
import type { PageQueue } from '../../codec/delta/page-queue.js';
import { imagePages, seekOrdinal } from '../base-pages.js';
import { type CompressOptions, createPayloadSink, type PayloadSink } from '../../io/compressors.js';
import { alignedBuffer, isRegularFile, readFully, realOutput, writeAll, writeSkippingZeros } from '../../io/fd-io.js';
import { DIRECT_ALIGN, DirectOutput } from '../../io/direct-output.js';
import { hashFileRange } from '../../io/file-digest.js';
import { convertImage } from '../convert/convert.js';
import { FdSource } from '../../io/fd-source.js';
import { assertNotInterrupted } from '../../io/interrupt.js';
import { createUnlinkedFile } from '../../io/spool.js';
import { startReadingProgram, watchExit } from '../../io/programs.js';
import { APPLY_WRITEBACK_BYTES, Writeback } from '../../io/pump.js';

export interface ApplyParams extends CompressOptions {
  /** BASE, its prologue not read yet. */
  base: FdSource;
  baseReadOptions?: DecodeHeaderOptions;
  /** The delta: its header is read here, its body by `zstd -dc` from the same descriptor. */
  deltaFd: number;
  deltaLabel: string;
  /** Opens OUT once the delta proved to hold a prologue; returns its descriptor. */
  openOutput: () => number;
  /** A progress bar's hooks: no total (the delta does not say it before its end), then NEW's stream bytes rebuilt. */
  onStart?: (totalBytes: number | null) => void;
  onProgress?: (streamBytes: number) => void;
  /** The payload format to write, when not NEW's: NEW is rebuilt into a private temporary, then converted. */
  format?: FormatName;
  /** Where that temporary goes (default: the temporary folder). */
  spoolFolder?: string;
}

export interface ApplyResult {
  delta: DeltaHeader;
  image: SaveImagePrologue;
  format: FormatName;
  trailer: DeltaTrailer;
  /** Bytes of NEW's decompressed stream rebuilt, and of the payload written (null to a pipe). */
  streamBytes: number;
  payloadOut: number | null;
  seal: PayloadSeal | null;
}

/** NEW is rebuilt 1 MiB at a time (on the 4 GiB pair, 256 KiB and 2 MiB batches were slower). */
const BATCH_BYTES = 1024 * 1024;
/** A hole's zeros, hashed without being written. */
const ZEROS = Buffer.alloc(BATCH_BYTES);

export async function applyDelta(params: ApplyParams): Promise<ApplyResult> {
  const head = Buffer.alloc(DELTA_HEADER_BYTES);
  const delta = decodeDeltaHeader(head.subarray(0, readFully(params.deltaFd, head, 0, DELTA_HEADER_BYTES, null)));
  const wanted = params.format ?? delta.format;
  if (wanted === delta.format) return rebuild(params, delta);
  // Another format: NEW rebuilt into a private unlinked temporary, then converted into OUT.
  const spooled = createUnlinkedFile(params.spoolFolder ?? tmpdir(), 'the rebuilt image');
  try {
    const result = await rebuild({ ...params, openOutput: () => spooled }, delta);
    const converted = await convertImage({ source: new FdSource(spooled), format: wanted, openOutput: params.openOutput, plan: (image) => image.prologueBytes, ...compressOptions(params) });
    return { ...result, format: wanted, payloadOut: converted.payloadOut, seal: converted.seal };
  } finally {
    closeSync(spooled);
  }
}

function compressOptions(params: CompressOptions): CompressOptions {
  return { ...(params.level === undefined ? {} : { level: params.level }), ...(params.threads === undefined ? {} : { threads: params.threads }) };
}

/** NEW in the delta's own format, its header already read from `params.deltaFd`. */
async function rebuild(params: ApplyParams, delta: DeltaHeader): Promise<ApplyResult> {
  const { child, chunks } = await startReadingProgram('zstd', ['-dc'], params.deltaFd, `reading the delta ${params.deltaLabel}`);
  const { exited, said } = watchExit(child);
  const base = imagePages(params.base, params.baseReadOptions ? { readOptions: params.baseReadOptions } : {});
  const reader = new DeltaProgramReader();
  params.onStart?.(null);
  let out: StreamOut | null = null;
  let image: SaveImagePrologue | null = null;
  let trailer: DeltaTrailer | null = null;
  try {
    for await (const chunk of chunks) {
      reader.push(chunk);
      for (let op = reader.next(); op !== null; op = reader.next()) {
        switch (op.op) {
          case 'prologue': {
            image = decodePrologue(Buffer.from(op.bytes), { maxDataLen: Number.MAX_SAFE_INTEGER });
            if (formatName(image.header.format) !== delta.format) throw badDelta(`the delta's header says ${delta.format}, its prologue's format field ${image.header.format}`);
            out = await StreamOut.open(params, image, delta.format);
            break;
          }
          case 'literal':
            await out!.bytes(op.bytes);
            break;
          case 'hole':
            await out!.hole(op.length);
            break;
          case 'records':
          case 'pages':
            // A million records: each is rebuilt without a promise unless BASE must be read on.
            for (let ordinal = op.first; ordinal < op.first + op.count; ordinal++) {
              const queue = base.queue;
              while (queue.length > 0 && queue.ordinal < ordinal) queue.shift();
              if (queue.length === 0 && !(await seekOrdinal(base, ordinal))) throw baseMismatch(`BASE has ${base.queue.ordinal} page records; the delta uses record ${ordinal}`);
              let run: RecordRun | null;
              if (op.op === 'pages') {
                if (queue.body === null) throw baseMismatch(`BASE's page record ${ordinal} is a zero page; the delta takes a data page from it`);
                const bytes = out!.bytes(queue.body);
                if (bytes) await bytes;
              } else if ((run = recordRun(queue, op.first + op.count - ordinal)) !== null) {
                const bytes = out!.bytes(run.bytes);
                if (bytes) await bytes;
                ordinal += run.records - 1;
              } else {
                const written = out!.record(queue.address, queue.body, queue.fill);
                if (written) await written;
              }
            }
            break;
          case 'end':
            trailer = op.trailer;
        }
      }
      reader.keepCopies(); // the chunk's buffer is read into again
      params.onProgress?.(out?.streamBytes ?? 0);
      assertNotInterrupted();
    }
    const status = await exited;
    if (status !== 0) throw badDelta(`the delta ${params.deltaLabel} is damaged: zstd -dc exited with status ${status}: ${said() || 'no message'}`);
    reader.finish();
    if (out === null || image === null || trailer === null) throw badDelta(`the delta ${params.deltaLabel} has no program`);
    const baseEnd = await base.finish();
    if (!sameIdentity(baseEnd.identity, trailer.baseStream)) {
      throw baseMismatch(`BASE's stream is ${describe(baseEnd.identity)}; the delta was made from a stream of ${describe(trailer.baseStream)}`);
    }
    const rebuilt = await out.identity();
    if (!sameIdentity(rebuilt, trailer.newStream)) {
      throw badDelta(`the rebuilt stream is ${describe(rebuilt)}, not ${describe(trailer.newStream)} as the delta says: the delta is damaged, or a page hash of its signature matched other bytes`);
    }
    const { payloadOut, seal } = await out.finish();
    return { delta, image, format: delta.format, trailer, streamBytes: rebuilt.length, payloadOut, seal };
  } catch (error) {
    child.kill('SIGKILL');
    base.abort();
    await out?.abort();
    await exited;
    throw error;
  }
}

function sameIdentity(a: StreamIdentity, b: StreamIdentity): boolean {
  return a.length === b.length && a.digest === b.digest;
}

function describe(identity: StreamIdentity): string {
  return `${identity.length} bytes, XXH64 ${identity.digest}`;
}

function baseMismatch(reason: string): SaveImageError {
  return new SaveImageError('ERR_BASE_MISMATCH', `BASE is not the image this delta was made from: ${reason}`);
}

/** NEW's payload being written: the prologue under the Part magic, then the rebuilt stream. */
class StreamOut {
  readonly #fd: number;
  readonly #image: SaveImagePrologue;
  readonly #format: FormatName;
  readonly #toFile: boolean;
  readonly #target: BatchTarget;
  readonly #hasher: Xxh64;
  #used = 0;
  /** Stream bytes handed on (and, for sparse, the next write's offset past the payload's start). */
  streamBytes = 0;

  static async open(params: ApplyParams, image: SaveImagePrologue, format: FormatName): Promise<StreamOut> {
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
      target = toFile && format === 'sparse' ? new SparseTarget(fd, image.payloadOffset) : new SinkTarget(await createPayloadSink(format === 'sparse' ? 'raw' : format, fd, compressOptions(params)));
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

const RECORD_HEAD_BYTES = 8;
const CONTINUED_PAGE = RAM_FLAG.PAGE | RAM_FLAG.CONTINUE;

interface RecordRun {
  /** The records' bytes, as they lie in BASE's chunk. */
  bytes: Buffer;
  records: number;
}

/**
 * BASE's data-page records from the queue's head on (at most `max`) that lie back to back in
 * one chunk, each under the CONTINUE head NEW's record would have: NEW's records are those very
 * bytes, copied as one span. A record per call cost more than its 4 KiB copy (the 4 GiB pair:
 * see bench/RESULTS.md). Null when the head's record is not such a one.
 */
function recordRun(queue: PageQueue, max: number): RecordRun | null {
  const first = queue.bodyAt(0);
  if (first === null || first.byteOffset < RECORD_HEAD_BYTES) return null;
  const chunk = Buffer.from(first.buffer, first.byteOffset - RECORD_HEAD_BYTES, first.buffer.byteLength - first.byteOffset + RECORD_HEAD_BYTES);
  let end = 0;
  let records = 0;
  for (const limit = Math.min(max, queue.length); records < limit; records++) {
    const body = records === 0 ? first : queue.bodyAt(records);
    const address = queue.addressAt(records);
    // The body follows the previous record in the same memory, under the head NEW would write.
    if (body === null || body.buffer !== first.buffer || body.byteOffset - first.byteOffset !== end) break;
    if (chunk.readUInt32BE(end) !== Math.floor(address / 2 ** 32) || chunk.readUInt32BE(end + 4) !== (address % 2 ** 32) + CONTINUED_PAGE) break;
    end += RECORD_HEAD_BYTES + body.length;
  }
  return records === 0 ? null : { bytes: chunk.subarray(0, end), records };
}

/** The 8-byte head of a CONTINUE record of a data page or a zero page, big-endian as QEMU writes it. */
function writeRecordHead(target: Buffer, at: number, address: number, zero: boolean): void {
  const flags = (zero ? RAM_FLAG.ZERO : RAM_FLAG.PAGE) | RAM_FLAG.CONTINUE;
  target.writeUInt32BE(Math.floor(address / 2 ** 32), at);
  target.writeUInt32BE((address % 2 ** 32) + flags, at + 4);
}

/** Where StreamOut's batches go, in order, once hashed. */
interface BatchTarget {
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
class SparseTarget implements BatchTarget {
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
class SinkTarget implements BatchTarget {
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
