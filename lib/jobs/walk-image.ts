// Walks the QEMU stream inside an image read from a descriptor, whatever the payload format:
// raw and sparse directly (a file's tail is read first for the device sizes, and long skips
// become seeks), gzip through node:zlib, bzip2, xz, lzop and zstd through the programs libvirt
// itself runs (`<name> -dc`). Nothing but record headers is kept in memory.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { type DecodeHeaderOptions, formatName } from '../codec/header.js';
import { describePayloadMismatch } from '../codec/payload-signature.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { describeStreamEnd } from '../codec/qemu/stream-end.js';
import { decodeVmDescription, type VmDescription } from '../codec/qemu/vmdescription.js';
import { QemuStreamWalker, type WalkOptions, type WalkSummary } from '../codec/qemu/walker.js';
import type { FormatName } from '../constants.js';
import { SaveImageError } from '../errors.js';
import { createXxh64 } from '../hash.js';
import type { FdSource } from '../io/fd-source.js';
import { assertNotInterrupted, Checkpoints } from '../io/interrupt.js';
import { decompressorFailed, isZlibError, payloadDamaged, startProgram, watchExit } from '../io/programs.js';
import { pipeTo } from '../io/pipe-to.js';

/**
 * The tail read first for the device description (QEMU writes it last): 64 KiB, then 1 MiB,
 * then 16 MiB while the JSON starts before the bytes at hand. Fresh memory costs a page fault
 * per 4 KiB, so a 16 MiB read every time cost 70 ms (bench/RESULTS.md); real JSONs are ~10 KiB.
 */
const TAIL_STEPS = [64 * 1024, 1024 * 1024, 16 * 1024 * 1024];
/** Skips shorter than this are read through: a seek per 4 KiB page would cost more. */
const SEEK_FROM_BYTES = 1024 * 1024;

const PROGRAMS: Record<string, { program: string }> = {
  bzip2: { program: 'bzip2' },
  xz: { program: 'xz' },
  lzop: { program: 'lzop' },
  zstd: { program: 'zstd' },
};

export interface ImageWalk {
  image: SaveImagePrologue;
  summary: WalkSummary;
  /** Payload bytes as stored (compressed, for the compressed formats). */
  payloadLength: number;
  /** With hashStream: the decompressed stream's length and XXH64 (seed 0). */
  stream: { length: number; digest: string } | null;
}

export interface WalkImageOptions extends Pick<WalkOptions, 'onPage' | 'onDeviceSection' | 'onMemSize' | 'onRamBlock'> {
  /**
   * Sees every chunk of the QEMU stream (decompressed) before the walker does: a view, valid
   * during the call (and until the promise it may return settles, which the walk awaits).
   */
  onStreamChunk?: (chunk: Buffer) => void | Promise<void>;
  /** Stored payload bytes, for a progress bar: the total first (null from a pipe), then the count read. */
  onStart?: (totalBytes: number | null) => void;
  onProgress?: (bytes: number) => void;
  /** The prologue, when the caller has read it from the source already. */
  prologue?: SaveImagePrologue;
  readOptions?: DecodeHeaderOptions;
  /**
   * Called once the prologue is read, before any payload byte: may refuse the image (throw), and
   * may return a function that sees every stored payload chunk (a view, valid during the call),
   * for hashing in the same pass.
   */
  onPrologue?: (image: SaveImagePrologue) => ((chunk: Buffer) => void) | null | void;
  /**
   * Hash the decompressed stream (XXH64), in this thread: a hashing thread per image made delta
   * no faster and up to 30 MiB larger (reads and hashing share the memory bandwidth; bench/RESULTS.md).
   */
  hashStream?: boolean;
}

export async function walkImage(source: FdSource, options: WalkImageOptions = {}): Promise<ImageWalk> {
  const image = options.prologue ?? source.readPrologue(options.readOptions ?? {});
  const format = formatName(image.header.format);
  if (format === null) {
    throw new SaveImageError('ERR_UNSUPPORTED_FORMAT', `Invalid compressed save format ${image.header.format}: the format field at offset 28 names no format libvirt knows`, { offset: 28 });
  }
  const hasher = options.hashStream ? await createXxh64() : null;
  let streamLength = 0;
  // Where the stream's bytes pass (a raw or sparse payload is the stream; a compressed one's as it is decompressed).
  const onStreamBytes = hasher
    ? (chunk: Buffer) => {
        hasher.update(chunk);
        streamLength += chunk.length;
      }
    : null;
  // A raw or sparse file is read the way this host does faster (mapped or copied); a compressed one goes to its program as read.
  if (format === 'raw' || format === 'sparse') source.useFileWays({ everyByte: options.hashStream === true || options.onStreamChunk !== undefined });
  try {
    const walk = await walkPayload(source, image, format, options, onStreamBytes);
    return { ...walk, stream: hasher ? { length: streamLength, digest: hasher.digestHex() } : null };
  } catch (error) {
    throw source.whyFailed(error);
  }
}

async function walkPayload(source: FdSource, image: SaveImagePrologue, format: FormatName, options: WalkImageOptions, onStreamBytes: ((chunk: Buffer) => void) | null): Promise<Omit<ImageWalk, 'stream'>> {
  const first = source.next();
  if (first === null) throw new SaveImageError('ERR_TRUNCATED', `the image ends at offset ${image.payloadOffset}, where its payload should start`, { offset: image.payloadOffset });
  const mismatch = describePayloadMismatch(image.header.format, first);
  if (mismatch) throw new SaveImageError('ERR_PAYLOAD_MISMATCH', `${mismatch}, at offset ${image.payloadOffset} (the format field at offset 28 says ${format})`, { offset: image.payloadOffset });

  const onStored = options.onPrologue?.(image) ?? undefined;
  options.onStart?.(source.expectedSize === null ? (image.seal?.payloadLength ?? null) : source.expectedSize - image.payloadOffset);
  const onProgress = options.onProgress;
  const walkerOptions: WalkOptions = {
    ...(options.onPage ? { onPage: options.onPage } : {}),
    ...(options.onDeviceSection ? { onDeviceSection: options.onDeviceSection } : {}),
    ...(options.onMemSize ? { onMemSize: options.onMemSize } : {}),
    ...(options.onRamBlock ? { onRamBlock: options.onRamBlock } : {}),
  };
  const onStream = options.onStreamChunk;
  if (format === 'raw' || format === 'sparse') {
    const walker = new QemuStreamWalker({ ...walkerOptions, baseOffset: image.payloadOffset, description: tailDescription(source, image) });
    const checkpoints = new Checkpoints();
    const mayJump = !onStored && !onStream && !onStreamBytes;
    for (let chunk: Buffer | null = first; chunk !== null; chunk = nextChunk(source, walker, mayJump)) {
      onStored?.(chunk);
      onStreamBytes?.(chunk);
      if (onStream) await onStream(chunk);
      walker.feed(chunk);
      onProgress?.(source.position - image.payloadOffset);
      await checkpoints.tick(chunk.length);
    }
    const summary = walker.end();
    return { image, summary, payloadLength: source.position - image.payloadOffset };
  }
  const walker = new QemuStreamWalker({ ...walkerOptions, baseOffset: 0, offsetsOf: `the decompressed ${format} stream` });
  const onDecompressed = onStreamBytes
    ? (chunk: Buffer) => {
        onStreamBytes(chunk);
        return onStream?.(chunk);
      }
    : onStream;
  const payloadLength = await decompressInto(format, source, first, walker, { onStored, onStream: onDecompressed, onProgress });
  return { image, summary: walker.end(), payloadLength };
}

/** The next chunk, after letting a seekable file jump over a long skip (page areas, big pages). */
function nextChunk(source: FdSource, walker: QemuStreamWalker, mayJump: boolean): Buffer | null {
  const hint = walker.skipHint;
  if (mayJump && source.seekable && hint >= SEEK_FROM_BYTES) {
    const jump = Math.min(hint, Math.max(0, (source.size ?? 0) - source.position));
    source.advance(jump);
    walker.skipped(jump);
  }
  return source.next();
}

/** A file's VMDESCRIPTION, read from its tail before the walk; null from a pipe or without one. */
function tailDescription(source: FdSource, image: SaveImagePrologue): VmDescription | null {
  if (!source.seekable || source.size === null) return null;
  const payloadLength = source.size - image.payloadOffset;
  for (const step of TAIL_STEPS) {
    const length = Math.min(step, payloadLength);
    const tail = source.readAt(source.size - length, length);
    const end = describeStreamEnd(tail);
    if (end.kind === 'vmdescription') return decodeVmDescription(tail.toString('utf8', end.jsonOffset, end.jsonOffset + end.jsonLength));
    if (length === payloadLength || !endsWithBrace(tail)) return null;
  }
  return null;
}

/** The last byte before any zero padding is '}': a description may start before these bytes. */
function endsWithBrace(tail: Buffer): boolean {
  let end = tail.length;
  while (end > 0 && tail[end - 1] === 0) end--;
  return end > 0 && tail[end - 1] === 0x7d;
}

/** Feeds the decompressed stream to the walker; resolves to the stored (compressed) byte count. */
async function decompressInto(
  format: string,
  source: FdSource,
  first: Buffer,
  walker: QemuStreamWalker,
  hooks: { onStored?: ((chunk: Buffer) => void) | undefined; onStream?: WalkImageOptions['onStreamChunk']; onProgress?: WalkImageOptions['onProgress'] },
): Promise<number> {
  const { onStored, onStream, onProgress } = hooks;
  let stored = 0;
  // Chunks are copied: the decompressor holds them after FdSource reuses its buffers.
  const storedChunks = Readable.from(
    (function* () {
      for (let chunk: Buffer | null = first; chunk !== null; chunk = source.next()) {
        onStored?.(chunk);
        stored += chunk.length;
        onProgress?.(stored);
        yield Buffer.from(chunk);
      }
    })(),
    { objectMode: false },
  );
  if (format === 'gzip') {
    const gunzip = createGunzip();
    pipeTo(storedChunks, gunzip);
    try {
      for await (const chunk of gunzip) {
        assertNotInterrupted();
        if (onStream) await onStream(chunk as Buffer);
        walker.feed(chunk as Buffer);
      }
    } catch (error) {
      throw isZlibError(error) ? payloadDamaged('gzip', (error as Error).message) : error;
    }
    return stored;
  }
  const { program } = PROGRAMS[format]!;
  const child = await startProgram<ChildProcessWithoutNullStreams>(program, ['-dc'], ['pipe', 'pipe', 'pipe'], `reading a ${format} payload`);
  const { exited, said } = watchExit(child);
  child.stdin.on('error', () => undefined); // the program may stop reading first; its status says why
  pipeTo(storedChunks, child.stdin);
  for await (const chunk of child.stdout) {
    assertNotInterrupted();
    if (onStream) await onStream(chunk as Buffer);
    walker.feed(chunk as Buffer);
  }
  const status = await exited;
  if (status !== 0) throw decompressorFailed(format, program, status, said());
  return stored;
}
