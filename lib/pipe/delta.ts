// savekit delta: NEW as a program over BASE (lib/codec/delta). NEW's stream is walked once and
// BASE's (or its page signature) once, in step: each CONTINUE page record of NEW is looked up at
// the same block and address in BASE, which a paused guest's saves send in the same order, and is
// carried as a reference when BASE's record holds the same bytes; all else is literal. The order
// only decides the size: records BASE has passed, or never had, are simply literal.
import { fstatSync } from 'node:fs';
import { encodeDeltaHeader, OP, type StreamIdentity } from '../codec/delta/delta-layout.js';
import { DeltaProgramWriter } from '../codec/delta/program-writer.js';
import type { FormatName } from '../constants.js';
import { formatName } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import type { RamBlockSummary } from '../codec/qemu/walker.js';
import type { DecodeHeaderOptions } from '../codec/header.js';
import { SaveImageError } from '../errors.js';
import { createPageHasher } from '../hash.js';
import { type BasePages, seekPage } from './base-pages.js';
import { isRegularFile, writeAll } from './fd-io.js';
import type { FdSource } from './fd-source.js';
import { walkImage } from './walk-image.js';
import { BODY_LEVEL, createZstdBody } from './zstd-body.js';

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

interface PageEvent {
  block: RamBlockSummary;
  address: number;
  data: Buffer | null;
  fill: number;
  at: number;
  headerBytes: number;
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

  const events: PageEvent[] = [];
  let eventCount = 0;
  let pages = 0;

  /**
   * Is BASE's record at this page the same? (The queue's head is then that record.) Answered
   * without a promise while BASE's queue reaches the page: a million pages, a few pulls.
   */
  const sameInBase = (event: PageEvent): boolean | Promise<boolean> => {
    const queue = base.queue;
    const rank = base.rankOf(event.block.name);
    if (rank !== undefined && queue.skipBefore(rank, event.address)) return queue.rank === rank && queue.address === event.address && sameBody(event);
    if (rank === undefined && base.blocksKnown) return false;
    return seekPage(base, event.block.name, event.address).then((there) => there && sameBody(event));
  };
  const sameBody = (event: PageEvent): boolean => {
    const queue = base.queue;
    const stored = queue.body;
    if (event.data === null) return stored === null && queue.fill === event.fill;
    if (stored === null) return false;
    return hashPage ? hashPage(event.data).equals(stored) : event.data.equals(stored);
  };

  const decide = async () => {
    for (let i = 0; i < eventCount; i++) {
      const event = events[i]!;
      const offset = event.at - streamBase;
      pages++;
      if (event.headerBytes === 0) {
        // A mapped-ram page: its bytes alone, or a hole.
        const size = event.block.pageSize;
        if (event.data === null) writer.hole(offset, size);
        else {
          const same = sameInBase(event);
          if (same === true || (same !== false && (await same))) take(OP.PAGES, offset, size);
          else writer.literal(offset, size);
        }
        continue;
      }
      const length = event.headerBytes + (event.data === null ? 1 : event.data.length);
      // Only CONTINUE records are rebuilt; a record that names its block stays literal.
      if (event.headerBytes !== 8) {
        writer.literal(offset, length);
        continue;
      }
      const same = sameInBase(event);
      if (same === true || (same !== false && (await same))) take(OP.RECORDS, offset, length);
      else writer.literal(offset, length);
    }
    eventCount = 0;
  };
  const take = (op: typeof OP.RECORDS | typeof OP.PAGES, offset: number, length: number) => {
    writer.copy(op, offset, length, base.queue.ordinal);
    base.queue.shift();
  };

  try {
    writer.prologue(image.prologueBytes);
    const walk = await walkImage(source, {
      prologue: image,
      hashStream: true,
      ...(params.onStart ? { onStart: params.onStart } : {}),
      ...(params.onProgress ? { onProgress: params.onProgress } : {}),
      onPage(block, address, data, fill, at, headerBytes) {
        const event = events[eventCount] ?? (events[eventCount] = { block, address, data, fill, at, headerBytes });
        event.block = block;
        event.address = address;
        event.data = data;
        event.fill = fill;
        event.at = at;
        event.headerBytes = headerBytes;
        eventCount++;
      },
      // Called before the walker sees `chunk`: the records of the chunk before are decided now,
      // while its buffer is intact, and what is left undecided of it is copied.
      onStreamChunk: async (chunk) => {
        await decide();
        writer.release();
        await body.ready();
        writer.chunk(chunk);
      },
    });
    await decide();
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
