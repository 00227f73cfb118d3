// The stream form of `savekit convert`, for library users with Node streams (an HTTP body, a
// socket, a decompressor): the prologue carried with its format code set, then the QEMU stream
// decoded, walked to its EOF byte and encoded again, between raw, gzip, bzip2, xz, lzop and
// zstd. Sparse images live at file offsets: convert them with convertImage on files.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { FormatName } from '../constants.js';
import { formatName, withPayloadFormat } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { QemuStreamWalker, type WalkSummary } from '../codec/qemu/walker.js';
import { planRewrite } from '../edit/plan.js';
import { SaveImageError } from '../errors.js';
import { type CompressOptions, compressCommand, decompressCommand } from '../io/compressors.js';
import { compressorFailed, decompressorFailed, isZlibError, payloadDamaged, startProgram, watchExit } from '../io/programs.js';
import { pipeTo } from '../io/pipe-to.js';
import { readImageStream } from './read-image.js';

export interface ConvertStreamOptions extends CompressOptions {
  format: FormatName;
  /** The new prologue for the image read (default: the same, carried as it is). */
  plan?: (image: SaveImagePrologue) => Buffer;
}

/**
 * Reads an image from `input` and writes it to `output` with its payload in `options.format`.
 * Resolves with the walk of the stream once `output` has taken the last byte (it is not ended:
 * the caller ends it). The bytes equal those `savekit convert` writes to a pipe.
 */
export async function convertStream(input: Readable, output: Writable, options: ConvertStreamOptions): Promise<{ from: FormatName; to: FormatName; summary: WalkSummary }> {
  const image = await readImageStream(input);
  const from = formatName(image.header.format);
  if (from === null) throw new SaveImageError('ERR_UNSUPPORTED_FORMAT', `Invalid compressed save format ${image.header.format}: the format field at offset 28 names no format libvirt knows`, { offset: 28 });
  if (from === 'sparse' || options.format === 'sparse') {
    throw new SaveImageError('ERR_NOT_SEEKABLE', 'a sparse image lies at file offsets: convert it with convertImage (or savekit convert) on files');
  }
  const prologue = withPayloadFormat((options.plan ?? ((read) => planRewrite(read, {})))(image), options.format);
  await write(output, prologue);
  const decoded = await decoder(from, image.payload);
  const encoder = await encoderTo(options.format, output, options);
  const walker = new QemuStreamWalker({ baseOffset: 0, offsetsOf: `the decoded ${from} stream`, onPage: () => undefined });
  try {
    for await (const chunk of decoded.stream) {
      walker.feed(chunk as Buffer);
      await encoder.write(chunk as Buffer);
    }
    await decoded.done();
    const summary = walker.end();
    await encoder.end();
    return { from, to: options.format, summary };
  } catch (error) {
    encoder.abort();
    decoded.abort();
    throw isZlibError(error) ? payloadDamaged(from, (error as Error).message) : error;
  }
}

async function write(target: Writable, chunk: Buffer): Promise<void> {
  if (!target.write(chunk)) await once(target, 'drain');
}

/** The payload decoded: itself for raw, node:zlib for gzip, `<program> -dc` for the others. */
async function decoder(from: FormatName, payload: Readable): Promise<{ stream: Readable; done: () => Promise<void>; abort: () => void }> {
  if (from === 'raw') return { stream: payload, done: async () => undefined, abort: () => payload.destroy() };
  if (from === 'gzip') {
    const gunzip = createGunzip();
    pipeTo(payload, gunzip);
    return { stream: gunzip, done: async () => undefined, abort: () => gunzip.destroy() };
  }
  const { program } = decompressCommand(from);
  const child = await startProgram<ChildProcessWithoutNullStreams>(program, ['-dc'], ['pipe', 'pipe', 'pipe'], `reading a ${from} payload`);
  const { exited, said } = watchExit(child);
  child.stdin.on('error', () => undefined); // its exit status says why
  pipeTo(payload, child.stdin);
  return {
    stream: child.stdout,
    async done() {
      const status = await exited;
      if (status !== 0) throw decompressorFailed(from, program, status, said());
    },
    abort: () => child.kill('SIGKILL'),
  };
}

/** Where decoded chunks go: `output` itself for raw, through node:zlib or `<program> -c`. */
async function encoderTo(format: FormatName, output: Writable, options: CompressOptions): Promise<{ write: (chunk: Buffer) => Promise<void>; end: () => Promise<void>; abort: () => void }> {
  if (format === 'raw') return { write: (chunk) => write(output, chunk), end: async () => undefined, abort: () => undefined };
  const carry = async (stream: Readable) => {
    for await (const chunk of stream) await write(output, chunk as Buffer);
  };
  if (format === 'gzip') {
    const gzip = createGzip(options.level === undefined ? {} : { level: options.level });
    const carried = carry(gzip);
    return {
      write: (chunk) => write(gzip, chunk),
      async end() {
        gzip.end();
        await carried;
      },
      abort: () => gzip.destroy(),
    };
  }
  const { program, args } = compressCommand(format, options);
  const child = await startProgram<ChildProcessWithoutNullStreams>(program, args, ['pipe', 'pipe', 'pipe'], `writing a ${format} payload`);
  const { exited, said } = watchExit(child);
  const carried = carry(child.stdout);
  return {
    write: (chunk) => write(child.stdin, chunk),
    async end() {
      child.stdin.end();
      await finished(child.stdin);
      await carried;
      const status = await exited;
      if (status !== 0) throw compressorFailed(`${program} ${args.join(' ')}`, status, said());
    },
    abort: () => child.kill('SIGKILL'),
  };
}
