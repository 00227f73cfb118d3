// Copies an image from one descriptor to another with a new prologue, the payload passing
// through byte for byte. To a file the prologue goes first under the Part magic, and the Save
// magic (with the seal) only after the last payload byte is written and synced, as libvirt
// writes its own images: a failed or cut copy is an image libvirt refuses, never a short one.
import { HEADER_BYTES, MAGIC_BYTES, MAGIC_PART } from '../constants.js';
import { decodeHeader, type DecodeHeaderOptions, encodeHeaderInto } from '../codec/header.js';
import { decodePrologue, type SaveImagePrologue } from '../codec/prologue.js';
import { describeStreamEnd, type StreamEnd } from '../codec/qemu/stream-end.js';
import { decodeSeal, type PayloadSeal, withSeal } from '../codec/seal.js';
import { SaveImageError } from '../errors.js';
import { isRegularFile, type OutputOps, realOutput } from '../io/fd-io.js';
import type { FdSource } from '../io/fd-source.js';
import { createPayloadHasher } from '../io/payload-hasher.js';
import { growPipe, makeBlocking } from '../io/pipe-setup.js';
import { pumpPayload } from '../io/pump.js';

export interface RewriteParams {
  source: FdSource;
  /** Opens the output, once the input's prologue has been read and the new one planned. */
  openOutput: () => number;
  readOptions?: DecodeHeaderOptions;
  /** The new prologue (Save magic) for the image read. */
  plan: (image: SaveImagePrologue) => Buffer;
  /** Compute and store a new payload seal (a regular-file output, or an input seal to carry). */
  seal?: boolean;
  /** Told the expected payload length (null: unknown) before the payload starts. */
  onStart?: (payloadLength: number | null) => void;
  onProgress?: (bytes: number) => void;
  /** Grow an output pipe to 1 MiB (default true). */
  growPipe?: boolean;
  /** The writes and syncs (a seam for fault injection; default: the real ones). */
  output?: OutputOps;
}

export interface RewriteResult {
  before: SaveImagePrologue;
  after: SaveImagePrologue;
  payloadLength: number;
  /** The seal the output carries, if any. */
  seal: PayloadSeal | null;
  streamEnd: StreamEnd | null;
}

const STREAM_FORMATS = new Set([0, 6]); // raw and sparse payloads are bare QEMU streams

export async function rewriteImage(params: RewriteParams): Promise<RewriteResult> {
  const { source } = params;
  const output = params.output ?? realOutput;
  const before = source.readPrologue(params.readOptions ?? {});
  const prologue = params.plan(before);
  const header = decodeHeader(prologue, { maxDataLen: Number.MAX_SAFE_INTEGER });
  const outputFd = params.openOutput();
  const toFile = isRegularFile(outputFd);
  if (!toFile) {
    makeBlocking(outputFd);
    if (params.growPipe !== false) growPipe(outputFd);
  }
  if (params.seal && !toFile && before.seal === null) {
    throw new SaveImageError('ERR_NOT_SEEKABLE', 'rewrite --seal to a pipe needs an input that is already sealed: the seal goes in the header, written before the payload is known (write to a file, or seal the input first)');
  }
  const payloadOffset = before.payloadOffset;
  const expected = source.expectedSize === null ? (before.seal?.payloadLength ?? null) : source.expectedSize - payloadOffset;
  const hasher = params.seal || before.seal ? await createPayloadHasher(source, expected) : null;
  params.onStart?.(expected);

  let payloadLength: number;
  let digest: string | null;
  try {
    output.write(outputFd, toFile ? withPartMagic(prologue) : prologue, null);
    payloadLength = await pumpPayload(source, { hasher, outputFd, overlapWriteback: toFile, onProgress: params.onProgress ?? null, output });
    digest = hasher ? await hasher.digestHex(source) : null;
  } catch (error) {
    await hasher?.abort();
    throw error;
  }

  if (before.seal) assertSealHolds(before.seal, payloadOffset, payloadLength, digest!);
  if (payloadLength === 0) {
    throw new SaveImageError('ERR_TRUNCATED', `the input ends at offset ${payloadOffset}, where its payload should start`, { offset: payloadOffset });
  }
  const streamEnd = STREAM_FORMATS.has(before.header.format) ? describeStreamEnd(source.tail()) : null;
  if (streamEnd?.kind === 'cut') {
    throw new SaveImageError(
      'ERR_TRUNCATED',
      `the QEMU stream is cut: the input ends at offset ${payloadOffset + payloadLength} without the stream's EOF byte or its device description`,
      { offset: payloadOffset + payloadLength },
    );
  }
  const seal = params.seal && toFile ? { payloadLength, digest: digest! } : decodeSeal(header);
  const finalPrologue = Buffer.from(prologue);
  encodeHeaderInto(seal ? withSeal(header, seal) : header, finalPrologue, 0);
  if (toFile) {
    output.sync(outputFd);
    output.write(outputFd, finalPrologue.subarray(0, HEADER_BYTES), 0);
    try {
      output.sync(outputFd);
    } catch (error) {
      // Not known to be on disk: take the Save magic back rather than claim a complete image.
      try {
        output.write(outputFd, Buffer.from(MAGIC_PART, 'latin1'), 0);
      } catch {
        // the disk refuses everything now; the error below says the copy failed
      }
      throw error;
    }
  }
  return { before, after: decodePrologue(finalPrologue, { maxDataLen: Number.MAX_SAFE_INTEGER }), payloadLength, seal, streamEnd };
}

function withPartMagic(prologue: Buffer): Buffer {
  const copy = Buffer.from(prologue);
  copy.write(MAGIC_PART, 0, MAGIC_BYTES, 'latin1');
  return copy;
}

/** The payload read must be the one the input's seal describes. */
export function assertSealHolds(seal: PayloadSeal, payloadOffset: number, payloadLength: number, digest: string): void {
  if (payloadLength < seal.payloadLength) {
    throw new SaveImageError(
      'ERR_TRUNCATED',
      `the payload ends at offset ${payloadOffset + payloadLength}, but the seal says it runs ${seal.payloadLength} bytes to offset ${payloadOffset + seal.payloadLength}`,
      { offset: payloadOffset + payloadLength, expected: seal.payloadLength, actual: payloadLength },
    );
  }
  if (payloadLength > seal.payloadLength) {
    throw new SaveImageError('ERR_SEAL_MISMATCH', `the payload is ${payloadLength} bytes, but the seal says ${seal.payloadLength}: bytes were added after offset ${payloadOffset + seal.payloadLength}`, {
      offset: payloadOffset + seal.payloadLength,
      expected: seal.payloadLength,
      actual: payloadLength,
    });
  }
  if (digest !== seal.digest) {
    throw new SaveImageError('ERR_SEAL_MISMATCH', `the payload at offsets ${payloadOffset}..${payloadOffset + payloadLength - 1} hashes to xxh64 ${digest}, but the seal says ${seal.digest}: it was changed or damaged`, {
      offset: payloadOffset,
      expected: seal.digest,
      actual: digest,
    });
  }
}
