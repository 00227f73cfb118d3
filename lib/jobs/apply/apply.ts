// savekit apply: NEW rebuilt from BASE and a delta. The program (`zstd -dc` of the delta's body)
// is read an operation at a time while BASE is walked beside it, as far as the next reference
// and no further; NEW's stream goes out in NEW's payload format as it is rebuilt, a raw NEW to
// a file past the page cache (DirectOutput). The output
// keeps the LibvirtQemudPart magic until BASE proved to be the delta's base and the rebuilt
// stream's XXH64 equals NEW's; only then is it synced and given the Save magic.
import { closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { FormatName } from '../../constants.js';
import { badDelta, DELTA_HEADER_BYTES, type DeltaHeader, decodeDeltaHeader, type DeltaTrailer, type StreamIdentity } from '../../codec/delta/delta-layout.js';
import { DeltaProgramReader } from '../../codec/delta/program-reader.js';
import { formatName, type DecodeHeaderOptions } from '../../codec/header.js';
import { decodePrologue, type SaveImagePrologue } from '../../codec/prologue.js';
import type { PayloadSeal } from '../../codec/seal.js';
import { SaveImageError } from '../../errors.js';
import { type CompressOptions, compressOptionsOf } from '../../io/compressors.js';
import { readFully } from '../../io/fd-io.js';
import { FdSource } from '../../io/fd-source.js';
import { assertNotInterrupted } from '../../io/interrupt.js';
import { startReadingProgram, watchExit } from '../../io/programs.js';
import { createUnlinkedFile } from '../../io/spool.js';
import { imagePages, seekOrdinal } from '../base-pages.js';
import { convertImage } from '../convert/convert.js';
import { type RecordRun, recordRun } from './page-records.js';
import { StreamOut } from './stream-out.js';

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

export async function applyDelta(params: ApplyParams): Promise<ApplyResult> {
  const head = Buffer.alloc(DELTA_HEADER_BYTES);
  const delta = decodeDeltaHeader(head.subarray(0, readFully(params.deltaFd, head, 0, DELTA_HEADER_BYTES, null)));
  const wanted = params.format ?? delta.format;
  if (wanted === delta.format) return rebuild(params, delta);
  // Another format: NEW rebuilt into a private unlinked temporary, then converted into OUT.
  const spooled = createUnlinkedFile(params.spoolFolder ?? tmpdir(), 'the rebuilt image');
  try {
    const result = await rebuild({ ...params, openOutput: () => spooled }, delta);
    const converted = await convertImage({ source: new FdSource(spooled), format: wanted, openOutput: params.openOutput, plan: (image) => image.prologueBytes, ...compressOptionsOf(params) });
    return { ...result, format: wanted, payloadOut: converted.payloadOut, seal: converted.seal };
  } finally {
    closeSync(spooled);
  }
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
