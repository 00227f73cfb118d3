// Converts an image's payload between the formats libvirt reads (CONVERT.md): the prologue is
// carried as `rewrite` carries it, with the format code set; between sequential formats the
// decompressed QEMU stream goes through byte for byte into the new compressor; to and from
// sparse (mapped-ram) the RAM section is re-encoded with the codec's stream writer. The output
// keeps the LibvirtQemudPart magic until its last byte is written and synced.
import type { ChildProcessByStdio } from 'node:child_process';
import { closeSync, fstatSync, ftruncateSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { type FormatName, HEADER_BYTES, MAGIC_BYTES, MAGIC_PART } from '../../constants.js';
import { decodeHeader, encodeHeaderInto, formatName, withPayloadFormat } from '../../codec/header.js';
import { decodePrologue, type SaveImagePrologue } from '../../codec/prologue.js';
import {
  convertDescription,
  encodePageRecordInto,
  encodeRamPartHeader,
  encodeSequentialRamEnd,
  encodeMappedRamEnd,
  encodeSequentialRamStart,
  encodeStreamHead,
  encodeStreamTail,
  layoutMappedRam,
  MAPPED_RAM_CAPABILITY,
  type MappedRamLayout,
  type StreamModel,
} from '../../codec/qemu/stream-writer.js';
import { QemuStreamWalker, type RamBlockSummary, type WalkSummary } from '../../codec/qemu/walker.js';
import { type PayloadSeal, withoutSeal, withSeal } from '../../codec/seal.js';
import { SaveImageError } from '../../errors.js';
import { createXxh64 } from '../../hash.js';
import { hashFileRange } from '../../io/file-digest.js';
import { compressCommand, createPayloadSink, type CompressOptions, decompressCommand, type PayloadSink } from '../../io/compressors.js';
import { isRegularFile, readFully, realOutput, writeAll } from '../../io/fd-io.js';
import { compressorFailed, decompressorFailed, startProgram, watchExit } from '../../io/programs.js';
import { FdSource } from '../../io/fd-source.js';
import { assertNotInterrupted } from '../../io/interrupt.js';
import { PageWriter } from '../page-writer.js';
import { spoolToFile } from '../../io/spool.js';
import { Writeback, WRITEBACK_EVERY_BYTES } from '../../io/pump.js';
import { assertSealHolds, type RewriteParams } from '../rewrite.js';
import { type ImageWalk, walkImage } from '../walk-image.js';

/** As rewrite takes them (source, output, plan, seal, progress), plus the format to write. */
export interface ConvertParams extends CompressOptions, Pick<RewriteParams, 'source' | 'openOutput' | 'readOptions' | 'plan' | 'seal' | 'onStart' | 'onProgress'> {
  /** The payload format to write. */
  format: FormatName;
  /** Where a sparse image read from a pipe is kept while it is converted (default: the temporary folder). */
  spoolFolder?: string;
}

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

const PAGE_RUN_BYTES = 1024 * 1024;

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
  const expected = source.size === null ? (before.seal?.payloadLength ?? null) : source.size - before.payloadOffset;
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

type StoredHook = () => ((chunk: Buffer) => void) | null;

/** Sequential to sequential: the decompressed stream, walked to its end, into the new compressor. */
async function carrySequential(params: Run, outFd: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const sink = await createPayloadSink(params.format, outFd, params);
  try {
    // onPage (doing nothing) makes the walker refuse records it cannot rebuild (XBZRLE,
    // compressed pages): a virsh save never writes them, and a converted image must restore.
    const walk = await walkImage(params.source, { ...readOptions(params), onPrologue, onStreamChunk: (chunk) => sink.write(chunk), onPage: () => undefined });
    assertWalkable(walk.summary);
    await sink.end();
    return walk;
  } catch (error) {
    sink.abort();
    throw error;
  }
}

/** The walk continues after the prologue convertImage read. */
function readOptions(params: Run): { prologue: SaveImagePrologue } {
  return { prologue: params.before };
}

/** The parameters and the prologue already read. */
type Run = ConvertParams & { before: SaveImagePrologue };

/** A stream that did not walk to its EOF byte cannot be re-encoded, nor carried. */
function assertWalkable(summary: WalkSummary): void {
  if (summary.opaqueFrom !== null) {
    throw new SaveImageError('ERR_BAD_STREAM', `the QEMU stream cannot be walked past offset ${summary.opaqueFrom} (no description sizes its device sections and no footers delimit them): it cannot be converted`, {
      offset: summary.opaqueFrom,
    });
  }
}

/**
 * Compressed to raw, into a file: the decompressor (the program libvirt runs to restore, `-dc`)
 * reads the input descriptor and writes the output file itself, the fastest way there is, and
 * savekit walks the output as it grows, from the page cache, to prove the stream whole.
 */
async function decompressToFile(params: Run, from: string, outFd: number, streamOffset: number): Promise<ImageWalk> {
  const { source, before } = params;
  positionAtPayload(source.fd, before.payloadOffset); // the decompressor reads from the file offset
  const { program } = decompressCommand(from);
  const child = await startProgram<ChildProcessByStdio<null, null, Readable>>(program, ['-dc'], [source.fd, outFd, 'pipe'], `reading a ${from} payload`);
  const { exited, said } = watchExit(child);
  let status: number | null | undefined;
  void exited.then((code) => (status = code));
  const walker = new QemuStreamWalker({ baseOffset: 0, offsetsOf: `the decompressed ${from} stream`, onPage: () => undefined });
  const buffer = Buffer.allocUnsafe(256 * 1024);
  const writeback = new Writeback(outFd);
  let position = streamOffset;
  let sinceWriteback = 0;
  try {
    for (;;) {
      const n = readSync(outFd, buffer, 0, buffer.length, position);
      if (n > 0) {
        walker.feed(buffer.subarray(0, n));
        position += n;
        params.onProgress?.(position - streamOffset);
        if ((sinceWriteback += n) >= WRITEBACK_EVERY_BYTES) {
          sinceWriteback = 0;
          await nextTurn();
          assertNotInterrupted();
          writeback.start();
        }
        continue;
      }
      if (status !== undefined) break; // exited, and everything it wrote is read
      await Promise.race([exited, sleep(1)]);
      assertNotInterrupted();
    }
    if (status !== 0) throw decompressorFailed(from, program, status ?? null, said());
    return { image: before, summary: walker.end(), payloadLength: source.size! - before.payloadOffset, stream: null };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  } finally {
    await writeback.settle();
    writeback.rethrow();
  }
}

/**
 * Raw to a program's format, from a file: the compressor reads the input descriptor and writes
 * the output itself (nothing passes through savekit on the way), while savekit walks the same
 * file from the page cache, beside it, to prove the stream whole and hash it for a seal.
 */
async function compressFile(params: Run, outFd: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const { source, before } = params;
  positionAtPayload(source.fd, before.payloadOffset);
  const { program, args } = compressCommand(params.format, params);
  const child = await startProgram<ChildProcessByStdio<null, null, Readable>>(program, args, [source.fd, outFd, 'pipe'], `writing a ${params.format} payload`);
  const { exited, said } = watchExit(child);
  const writeback = new Writeback(outFd);
  // The output grows beside the walk: flush it as it does (the timer runs while savekit waits).
  const timer = setInterval(() => writeback.start(), 250);
  try {
    const walk = await walkImage(source, { ...readOptions(params), onPrologue, onPage: () => undefined });
    assertWalkable(walk.summary);
    const status = await exited;
    if (status !== 0) throw compressorFailed(`${program} ${args.join(' ')}`, status, said());
    return walk;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  } finally {
    clearInterval(timer);
    await writeback.settle();
    writeback.rethrow();
  }
}

/** Moves a descriptor's file offset to the payload, for a child that reads it from there. */
function positionAtPayload(fd: number, payloadOffset: number): void {
  const skip = Buffer.allocUnsafe(64 * 1024);
  for (let done = 0; done < payloadOffset; ) {
    const n = readSync(fd, skip, 0, Math.min(skip.length, payloadOffset - done), null);
    if (n === 0) break;
    done += n;
  }
}

/** What is carried over from a walked stream, less its pages. */
function modelOf(summary: WalkSummary, devices: StreamModel['devices']): StreamModel {
  assertWalkable(summary);
  const ram = summary.sections.find((section) => section.name === 'ram');
  if (!ram) throw new SaveImageError('ERR_BAD_STREAM', 'the QEMU stream has no ram section: nothing to convert');
  const unknown = summary.commands.filter((command) => command !== 'SWITCHOVER_START');
  if (unknown.length > 0) throw new SaveImageError('ERR_BAD_STREAM', `the QEMU stream carries ${unknown.join(', ')}: a virsh save stream never does, and savekit converts only what it can re-encode`);
  if (summary.capabilities.includes('x-ignore-shared')) throw new SaveImageError('ERR_BAD_STREAM', 'the QEMU stream uses x-ignore-shared: its RAM is not in the image and cannot be converted');
  return {
    machine: summary.machine,
    configuration: summary.configuration,
    capabilities: summary.capabilities,
    ram: { id: ram.id, instance: ram.instance, version: ram.version },
    blocks: summary.ramBlocks.map(({ name, length }) => ({ name, length })),
    pageSize: summary.ramBlocks[0]?.pageSize ?? 4096,
    footers: summary.footers,
    switchoverStart: summary.commands.includes('SWITCHOVER_START'),
    devices,
    description: summary.vmdescription?.text ?? null,
  };
}

function deviceCollector(): { devices: StreamModel['devices']; onDeviceSection: (section: { id: number; name: string; instance: number; version: number }, bytes: Buffer) => void } {
  const devices: StreamModel['devices'] = [];
  return { devices, onDeviceSection: ({ id, name, instance, version }, bytes) => devices.push({ id, name, instance, version, bytes }) };
}

/** Sparse to sequential: the model from a walk of the file, then every page from its bitmap. */
async function sparseToSequential(params: Run, outFd: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const collector = deviceCollector();
  const walk = await walkImage(params.source, { ...readOptions(params), onPrologue, onDeviceSection: collector.onDeviceSection });
  const model = modelOf(walk.summary, collector.devices);
  const capabilities = model.capabilities.filter((cap) => cap !== MAPPED_RAM_CAPABILITY);
  const sink = await createPayloadSink(params.format, outFd, params);
  try {
    await sink.write(Buffer.concat([encodeStreamHead(model, capabilities), encodeSequentialRamStart(model), encodeRamPartHeader(model)]));
    await writeSequentialPages(params.source.fd, walk.summary.ramBlocks, sink);
    await sink.write(Buffer.concat([encodeSequentialRamEnd(model), encodeStreamTail(model, convertDescription(model.description, capabilities))]));
    await sink.end();
  } catch (error) {
    sink.abort();
    throw error;
  }
  return walk;
}

const ZERO_PAGE = Buffer.alloc(65536);

function isZero(page: Buffer): boolean {
  return page.equals(ZERO_PAGE.subarray(0, page.length));
}

/** Every page of every block, ascending: PAGE records for stored non-zero pages, ZERO for the rest. */
async function writeSequentialPages(fd: number, blocks: RamBlockSummary[], sink: PayloadSink): Promise<void> {
  const out = Buffer.allocUnsafe(PAGE_RUN_BYTES + 65536 * 2);
  const run = Buffer.allocUnsafe(PAGE_RUN_BYTES);
  let used = 0;
  let named = false;
  for (const block of blocks) {
    const { mappedRam } = block;
    if (!mappedRam) throw new SaveImageError('ERR_BAD_STREAM', `RAM block ${block.name} has no mapped-ram header`);
    const pageSize = mappedRam.pageSize;
    const bitmap = readAt(fd, mappedRam.bitmapOffset, Math.ceil(block.pages / 64) * 8);
    const runPages = Math.max(1, Math.floor(PAGE_RUN_BYTES / pageSize));
    let firstRecord = true;
    for (let page = 0; page < block.pages; ) {
      // Read the stored pages of the next run in one positioned read.
      const count = Math.min(runPages, block.pages - page);
      const anyStored = hasBits(bitmap, page, count);
      if (anyStored) readFully(fd, run, 0, count * pageSize, mappedRam.pagesOffset + page * pageSize);
      for (let i = 0; i < count; i++, page++) {
        const stored = anyStored && (bitmap[page >> 3]! & (1 << (page & 7))) !== 0;
        const body = stored ? run.subarray(i * pageSize, (i + 1) * pageSize) : null;
        if (used + 65536 + pageSize > out.length) {
          await sink.write(out.subarray(0, used));
          used = 0;
          assertNotInterrupted();
        }
        const name = firstRecord || !named ? block.name : null;
        used += encodePageRecordInto(out, used, name, page * pageSize, body !== null && !isZero(body) ? body : null);
        firstRecord = false;
        named = true;
      }
    }
  }
  if (used > 0) await sink.write(out.subarray(0, used));
}

function hasBits(bitmap: Buffer, first: number, count: number): boolean {
  for (let i = first; i < first + count; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) return true;
  return false;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  if (readFully(fd, buffer, 0, length, position) < length) throw new SaveImageError('ERR_TRUNCATED', `the image ends before offset ${position + length}, inside a mapped-ram bitmap`, { offset: position });
  return buffer;
}

/** A mapped-ram file being written: preambles, pages in place (zero pages left as holes), bitmaps, tail. */
class MappedRamWriter {
  readonly #fd: number;
  readonly #layout: MappedRamLayout;
  readonly #areas: Map<string, number>;
  readonly #pages: PageWriter;
  /** Writeback overlapped with the conversion: the final fsync then finds little left to do. */
  readonly #writeback: Writeback;
  #sinceWriteback = 0;

  constructor(fd: number, layout: MappedRamLayout, streamOffset: number) {
    this.#fd = fd;
    this.#layout = layout;
    this.#areas = new Map(layout.blocks.map((block, index) => [block.name, index]));
    this.#pages = new PageWriter(fd, 'the output');
    this.#writeback = new Writeback(fd);
    writeAll(fd, layout.head, streamOffset);
    for (const block of layout.blocks) writeAll(fd, block.preamble, block.preambleOffset);
  }

  /** A page's bytes, or null for a zero page (a hole; a page written before is zeroed). */
  page(blockName: string, address: number, data: Buffer | null): void {
    const area = this.#areas.get(blockName);
    if (area === undefined) throw new SaveImageError('ERR_BAD_STREAM', `a page of block ${blockName}, which the MEM_SIZE list does not hold`);
    const pageSize = data?.length ?? 4096;
    this.#pages.page(area, Math.floor(address / pageSize), this.#layout.blocks[area]!.pagesOffset + address, data);
  }

  /** Between chunks: keeps the writes queued few, and starts an fdatasync every 128 MiB. */
  async pace(): Promise<void> {
    await this.#pages.pace();
    if (this.#pages.bytes - this.#sinceWriteback < WRITEBACK_EVERY_BYTES) return;
    this.#sinceWriteback = this.#pages.bytes;
    await nextTurn(); // lets the previous fdatasync report back
    this.#writeback.start();
  }

  /** Waits for every write (on failure too: nothing may land once the descriptor closes). */
  async settle(): Promise<void> {
    await this.#pages.settle();
    await this.#writeback.settle();
  }

  /** Bitmaps, the RAM section's end, the device tail; the file ends with the description. */
  async finish(model: StreamModel, tail: Buffer): Promise<void> {
    await this.#pages.finish();
    await this.#writeback.settle();
    this.#writeback.rethrow();
    this.#layout.blocks.forEach((block, area) => writeAll(this.#fd, this.#pages.bitmapOf(area, block.bitmapBytes), block.bitmapOffset));
    const end = Buffer.concat([encodeMappedRamEnd(model), tail]);
    writeAll(this.#fd, end, this.#layout.tailOffset);
    ftruncateSync(this.#fd, this.#layout.tailOffset + end.length);
  }
}

/** Sequential to sparse, in one pass (the input may be a pipe): pages go to their offsets as they come. */
async function sequentialToSparse(params: Run, outFd: number, streamOffset: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const collector = deviceCollector();
  let writer: MappedRamWriter | null = null;
  try {
    const walk = await walkImage(params.source, {
      ...readOptions(params),
      onPrologue,
      onDeviceSection: collector.onDeviceSection,
      onMemSize(summary) {
        const model = modelOf({ ...summary, opaqueFrom: null }, []);
        writer = new MappedRamWriter(outFd, layoutMappedRam(model, streamOffset), streamOffset);
      },
      onStreamChunk: () => (writer as MappedRamWriter | null)?.pace(),
      onPage(block, address, data, fill) {
        if (writer === null) throw new SaveImageError('ERR_BAD_STREAM', 'a RAM page before the RAM block list');
        writer.page(block.name, address, data !== null ? (isZero(data) ? null : data) : fill === 0 ? null : Buffer.alloc(block.pageSize, fill));
      },
    });
    const model = modelOf(walk.summary, collector.devices);
    if (writer === null) throw new SaveImageError('ERR_BAD_STREAM', 'the QEMU stream has no RAM block list');
    const capabilities = [...model.capabilities, MAPPED_RAM_CAPABILITY];
    await (writer as MappedRamWriter).finish(model, encodeStreamTail(model, convertDescription(model.description, capabilities)));
    return walk;
  } catch (error) {
    await (writer as MappedRamWriter | null)?.settle(); // nothing may land once the descriptor closes
    throw error;
  }
}

/** Sparse to sparse (a new prologue moves every absolute offset): the model, then the pages copied. */
async function sparseToSparse(params: Run, outFd: number, streamOffset: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const collector = deviceCollector();
  const walk = await walkImage(params.source, { ...readOptions(params), onPrologue, onDeviceSection: collector.onDeviceSection });
  const model = modelOf(walk.summary, collector.devices);
  const writer = new MappedRamWriter(outFd, layoutMappedRam(model, streamOffset), streamOffset);
  try {
    const fd = params.source.fd;
    const page = Buffer.allocUnsafe(65536);
    for (const block of walk.summary.ramBlocks) {
      const mapped = block.mappedRam!;
      const bitmap = readAt(fd, mapped.bitmapOffset, Math.ceil(block.pages / 64) * 8);
      for (let i = 0; i < block.pages; i++) {
        if (!(bitmap[i >> 3]! & (1 << (i & 7)))) continue;
        const view = page.subarray(0, mapped.pageSize);
        readFully(fd, view, 0, mapped.pageSize, mapped.pagesOffset + i * mapped.pageSize);
        writer.page(block.name, i * mapped.pageSize, isZero(view) ? null : view);
        await writer.pace();
        assertNotInterrupted();
      }
    }
    await writer.finish(model, encodeStreamTail(model, convertDescription(model.description, model.capabilities)));
  } catch (error) {
    await writer.settle();
    throw error;
  }
  return walk;
}
