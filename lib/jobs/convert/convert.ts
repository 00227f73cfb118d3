// Converts an image's payload between the formats libvirt reads (CONVERT.md): the prologue is
// carried as `rewrite` carries it, with the format code set; between sequential formats the
// decompressed QEMU stream goes through byte for byte into the new compressor; to and from
// sparse (mapped-ram) the RAM section is re-encoded with the codec's stream writer. The output
// keeps the LibvirtQemudPart magic until its last byte is written and synced.
import { closeSync, fstatSync } from 'node:fs';
import { type FormatName, HEADER_BYTES, MAGIC_BYTES, MAGIC_PART } from '../../constants.js';
import { decodeHeader, encodeHeaderInto, formatName, withPayloadFormat } from '../../codec/header.js';
import { decodePrologue, type SaveImagePrologue } from '../../codec/prologue.js';
import { type PayloadSeal, withoutSeal, withSeal } from '../../codec/seal.js';
import { SaveImageError } from '../../errors.js';
import { createXxh64 } from '../../hash.js';
import { FdSource } from '../../io/fd-source.js';
import { isRegularFile, realOutput, writeAll } from '../../io/fd-io.js';
import { hashFileRange } from '../../io/file-digest.js';
import { spoolToFile } from '../../io/spool.js';
import { assertSealHolds } from '../rewrite.js';
import type { ImageWalk } from '../walk-image.js';
import { compressFile, decompressToFile } from './by-program.js';
import type { ConvertParams, Run } from './conversion.js';
import { sparseToSequential } from './from-mapped-ram.js';
import { carrySequential } from './sequential.js';
import { sequentialToSparse, sparseToSparse } from './to-mapped-ram.js';

export type { ConvertParams } from './conversion.js';

export interface ConvertResult {
  before: SaveImagePrologue;
  after: SaveImagePrologue;
  from: FormatName;
  to: FormatName;
  /** Stored payload bytes read, and written (null to a pipe). */
  payloadIn: number;
  payloadOut: number | null;
  bytesIn: number;
  bytesOut: number | null;
  /** RAM pages of the stream, and how many hold data. */
  pages: number;
  dataPages: number;
  seal: PayloadSeal | null;
}

export async function convertImage(params: ConvertParams): Promise<ConvertResult> {
  const before = params.source.readPrologue(params.readOptions ?? {});
  const from = formatName(before.header.format);
  if (from === null) throw new SaveImageError('ERR_UNSUPPORTED_FORMAT', `Invalid compressed save format ${before.header.format}: the format field at offset 28 names no format libvirt knows`, { offset: 28 });
  if (from !== 'sparse' || params.source.seekable) return convertFrom(params, before, from);
  // A sparse image from a pipe: read once into a private temporary file, converted from there.
  const spooled = await spoolToFile(params.source, before.prologueBytes, params.spoolFolder);
  try {
    const source = new FdSource(spooled);
    return await convertFrom({ ...params, source }, source.readPrologue(params.readOptions ?? {}), from);
  } finally {
    closeSync(spooled);
  }
}

async function convertFrom(params: ConvertParams, before: SaveImagePrologue, from: FormatName): Promise<ConvertResult> {
  const { source, format: to } = params;
  const prologue = withPayloadFormat(params.plan(before), to);
  // The payload changes: the input's seal does not describe it (to a file, --seal puts a new one in at the end).
  encodeHeaderInto(withoutSeal(decodeHeader(prologue, { maxDataLen: Number.MAX_SAFE_INTEGER })), prologue, 0);
  const outFd = params.openOutput();
  const toFile = isRegularFile(outFd);
  if (to === 'sparse' && !toFile) throw new SaveImageError('ERR_NOT_SEEKABLE', 'a sparse image must be written to a file: QEMU reads its pages at file offsets (give OUT as a file, not a pipe)');
  if (params.seal && !toFile) throw new SaveImageError('ERR_NOT_SEEKABLE', 'convert --seal needs OUT to be a file: the seal goes in the header, written after the payload');

  const inputHasher = before.seal ? await createXxh64() : null;
  const expected = source.expectedSize === null ? (before.seal?.payloadLength ?? null) : source.expectedSize - before.payloadOffset;
  params.onStart?.(expected);
  let progress = 0;
  // A sparse input is walked with seeks over its holes, unless a seal asks for every byte.
  const onPrologue = () =>
    from === 'sparse' && inputHasher === null
      ? null
      : (chunk: Buffer) => {
          inputHasher?.update(chunk);
          params.onProgress?.((progress += chunk.length));
        };
  writeAll(outFd, toFile ? withPartMagic(prologue) : prologue, null); // the payload follows from this offset on
  const streamOffset = prologue.length;

  const run: Run = { ...params, before };
  const compressed = (format: FormatName) => format !== 'raw' && format !== 'sparse';
  // Between two files, the program libvirt runs reads and writes them itself (savekit walks beside).
  const decompressesItself = compressed(from) && to === 'raw' && toFile && source.seekable;
  const compressesItself = from === 'raw' && compressed(to) && to !== 'gzip' && source.seekable;
  let walk: ImageWalk;
  if (decompressesItself) {
    walk = await decompressToFile(run, from, outFd, streamOffset);
  } else if (compressesItself) {
    walk = await compressFile(run, outFd, onPrologue);
  } else if (from !== 'sparse' && to !== 'sparse') {
    walk = await carrySequential(run, outFd, onPrologue);
  } else if (to === 'sparse') {
    walk = from === 'sparse' ? await sparseToSparse(run, outFd, streamOffset, onPrologue) : await sequentialToSparse(run, outFd, streamOffset, onPrologue);
  } else {
    walk = await sparseToSequential(run, outFd, onPrologue);
  }
  const summary = walk.summary;
  const storedIn = walk.payloadLength;
  if (before.seal) {
    // decompressToFile hands the input to the decompressor: its bytes are hashed here instead.
    const digest = decompressesItself ? await hashFileRange(source.fd, before.payloadOffset, storedIn) : inputHasher!.digestHex();
    assertSealHolds(before.seal, before.payloadOffset, storedIn, digest);
  }

  const header = decodeHeader(prologue, { maxDataLen: Number.MAX_SAFE_INTEGER });
  let seal: PayloadSeal | null = null;
  let payloadOut: number | null = null;
  if (toFile) {
    payloadOut = fstatSync(outFd).size - streamOffset;
    realOutput.sync(outFd);
    if (params.seal) seal = { payloadLength: payloadOut, digest: await hashFileRange(outFd, streamOffset, payloadOut) };
  }
  const finalPrologue = Buffer.from(prologue);
  encodeHeaderInto(seal ? withSeal(header, seal) : withoutSeal(header), finalPrologue, 0);
  if (toFile) {
    writeAll(outFd, finalPrologue.subarray(0, HEADER_BYTES), 0);
    realOutput.sync(outFd);
  }
  const pages = summary.ramBlocks.reduce((sum, block) => sum + block.pages, 0);
  const dataPages = summary.ramBlocks.reduce((sum, block) => sum + block.dataPages, 0);
  return {
    before,
    after: decodePrologue(finalPrologue, { maxDataLen: Number.MAX_SAFE_INTEGER }),
    from,
    to,
    payloadIn: storedIn,
    payloadOut,
    bytesIn: before.payloadOffset + storedIn,
    bytesOut: payloadOut === null ? null : streamOffset + payloadOut,
    pages,
    dataPages,
    seal,
  };
}

function withPartMagic(prologue: Buffer): Buffer {
  const copy = Buffer.from(prologue);
  copy.write(MAGIC_PART, 0, MAGIC_BYTES, 'latin1');
  return copy;
}
