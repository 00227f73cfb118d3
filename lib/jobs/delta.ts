// savekit delta: NEW as a program over BASE (lib/codec/delta). NEW's stream is walked once and
// BASE's (or its page signature) once, in step (in-step.ts): each CONTINUE page record of NEW is
// carried as a reference when BASE's record at the same block and address holds the same bytes
// (a paused guest's saves send pages in the same order); all else is literal. The order only
// decides the size: records BASE has passed, or never had, are simply literal.
import { fstatSync } from 'node:fs';
import { encodeDeltaHeader, OP, type StreamIdentity } from '../codec/delta/delta-layout.js';
import { DeltaProgramWriter } from '../codec/delta/program-writer.js';
import type { FormatName } from '../constants.js';
import { formatName } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import type { DecodeHeaderOptions } from '../codec/header.js';
import { SaveImageError } from '../errors.js';
import { createPageHasher } from '../hash.js';
import type { BasePages } from './base-pages.js';
import { type PageRecord, walkInStep } from './in-step.js';
import { isRegularFile, writeAll } from '../io/fd-io.js';
import type { FdSource } from '../io/fd-source.js';
import { BODY_LEVEL, createZstdBody } from '../io/zstd-body.js';

export interface DeltaParams {
  /** BASE's page records: imagePages(BASE) or signaturePages(SIG). */
  base: BasePages;
  /** NEW, its prologue not read yet. */
  source: FdSource;
  outFd: number;
  /** zstd level of the program (default 3). */
  level?: number;
  readOptions?: DecodeHeaderOptions;
  onStart?: (totalBytes: number | null) => void;
  onProgress?: (bytes: number) => void;
}

export interface DeltaResult {
  image: SaveImagePrologue;
  /** NEW's payload format (apply writes it). */
  format: FormatName;
  newStream: StreamIdentity;
  baseStream: StreamIdentity;
  /** NEW's page records, and how many came from BASE. */
  pages: number;
  samePages: number;
  /** NEW stream bytes carried literally (before compression). */
  literalBytes: number;
  /** Bytes of the delta written (null to a pipe). */
  deltaBytes: number | null;
}

export async function makeDelta(params: DeltaParams): Promise<DeltaResult> {
  const { base, source } = params;
  const image = source.readPrologue(params.readOptions ?? {});
  const format = formatName(image.header.format);
  if (format === null) throw new SaveImageError('ERR_UNSUPPORTED_FORMAT', `Invalid compressed save format ${image.header.format}: the format field at offset 28 names no format libvirt knows`, { offset: 28 });
  // Offsets the walker reports are the file's for raw and sparse, the decompressed stream's otherwise.
  const streamBase = format === 'raw' || format === 'sparse' ? image.payloadOffset : 0;
  const hashPage = base.hashes ? await createPageHasher() : null;

  writeAll(params.outFd, encodeDeltaHeader(format), null);
  const body = await createZstdBody(params.outFd, params.level ?? BODY_LEVEL, 'savekit delta');
  const writer = new DeltaProgramWriter((bytes) => body.push(bytes));

  let pages = 0;
  /** BASE's record in step holds the same bytes. */
  const sameBody = (record: PageRecord): boolean => {
    const queue = base.queue;
    const stored = queue.body;
    if (record.data === null) return stored === null && queue.fill === record.fill;
    if (stored === null) return false;
    return hashPage ? hashPage(record.data).equals(stored) : record.data.equals(stored);
  };
  const take = (op: typeof OP.RECORDS | typeof OP.PAGES, offset: number, length: number) => {
    writer.copy(op, offset, length, base.queue.ordinal);
    base.queue.shift();
  };
  const onRecord = (record: PageRecord, inBase: boolean) => {
    const offset = record.at - streamBase;
    pages++;
    if (record.headerBytes === 0) {
      // A mapped-ram page: its bytes alone, or a hole.
      const size = record.block.pageSize;
      if (record.data === null) writer.hole(offset, size);
      else if (inBase && sameBody(record)) take(OP.PAGES, offset, size);
      else writer.literal(offset, size);
      return;
    }
    const length = record.headerBytes + (record.data === null ? 1 : record.data.length);
    // Only CONTINUE records are rebuilt; a record that names its block stays literal.
    if (record.headerBytes === 8 && inBase && sameBody(record)) take(OP.RECORDS, offset, length);
    else writer.literal(offset, length);
  };

  try {
    writer.prologue(image.prologueBytes);
    const walk = await walkInStep(source, base, {
      prologue: image,
      hashStream: true,
      ...(params.onStart ? { onStart: params.onStart } : {}),
      ...(params.onProgress ? { onProgress: params.onProgress } : {}),
      onRecord,
      // The records of the chunk before are decided: what is left undecided of it is copied.
      beforeChunk: async (chunk) => {
        writer.release();
        await body.ready();
        writer.chunk(chunk);
      },
    });
    const baseEnd = await base.finish();
    const newStream = walk.stream!;
    writer.end({ newStream, baseStream: baseEnd.identity, basePages: baseEnd.pages, pages, samePages: writer.counts.copiedPages });
    await body.end();
    const deltaBytes = isRegularFile(params.outFd) ? fstatSync(params.outFd).size : null;
    return { image, format, newStream, baseStream: baseEnd.identity, pages, samePages: writer.counts.copiedPages, literalBytes: writer.counts.literalBytes, deltaBytes };
  } catch (error) {
    body.abort();
    base.abort();
    throw error;
  }
}
