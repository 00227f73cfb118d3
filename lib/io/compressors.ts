// Where a converted payload goes: straight to the output descriptor (raw), through node:zlib
// (gzip, on the thread pool), or through the program libvirt itself runs on save (`<name> -c`,
// writing to the output descriptor itself). The compressor works beside the copy, never behind
// it: the copy only waits when the compressor's input pipe is full.
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { once } from 'node:events';
import { createGzip } from 'node:zlib';
import { compressorFailed, startProgram, watchExit } from './programs.js';
import { isRegularFile, writeAll } from './fd-io.js';
import { Writeback, WRITEBACK_EVERY_BYTES } from './pump.js';
import { setImmediate as nextTurn } from 'node:timers/promises';

/** A payload being written: chunks in order, then end(). */
export interface PayloadSink {
  /** Takes `chunk` (the caller may reuse its memory once the promise, if any, settles). */
  write(chunk: Buffer): void | Promise<void>;
  end(): Promise<void>;
  /** Stops early (the conversion failed): kills a child, drops buffered bytes. */
  abort(): void;
}

export const SEQUENTIAL_FORMATS = ['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd'] as const;

const PROGRAMS: Record<string, { program: string; defaultArgs: string[]; levels: [number, number]; threads: boolean }> = {
  bzip2: { program: 'bzip2', defaultArgs: [], levels: [1, 9], threads: false },
  // libvirt runs `xz -c -3` (its re-encodes equal libvirt's bytes only at -3: CONVERT.md 2.4).
  xz: { program: 'xz', defaultArgs: ['-3'], levels: [0, 9], threads: true },
  lzop: { program: 'lzop', defaultArgs: [], levels: [1, 9], threads: false },
  // Levels past 19 need --ultra and bigger windows; a window over zstd -dc's default 128 MiB
  // makes `virsh restore` hang (CONVERT.md): savekit never writes one.
  zstd: { program: 'zstd', defaultArgs: [], levels: [1, 19], threads: true },
};

export interface CompressOptions {
  level?: number;
  threads?: number;
}

/** Just the compressor's settings of a larger parameter object (those not given stay absent). */
export function compressOptionsOf(params: CompressOptions): CompressOptions {
  return { ...(params.level === undefined ? {} : { level: params.level }), ...(params.threads === undefined ? {} : { threads: params.threads }) };
}

/** Refuses a level or thread count the format's program cannot take (before anything is written). */
export function checkCompressOptions(format: string, options: CompressOptions): string | null {
  if (format === 'gzip') {
    if (options.level !== undefined && (options.level < 1 || options.level > 9)) return `gzip levels are 1 to 9, not ${options.level}`;
    if (options.threads !== undefined) return 'gzip has no threads (--threads applies to xz and zstd)';
    return null;
  }
  const spec = PROGRAMS[format];
  if (!spec) return options.level !== undefined || options.threads !== undefined ? `--level and --threads apply to compressed formats, not ${format}` : null;
  if (options.level !== undefined && (options.level < spec.levels[0] || options.level > spec.levels[1])) return `${format} levels are ${spec.levels[0]} to ${spec.levels[1]}, not ${options.level}`;
  if (options.threads !== undefined && !spec.threads) return `${spec.program} has no threads (--threads applies to xz and zstd)`;
  return null;
}

/** The program that decompresses `format` (`<program> -dc`, as libvirt restores it). */
export function decompressCommand(format: string): { program: string } {
  return { program: format === 'gzip' ? 'gzip' : PROGRAMS[format]!.program };
}

/** The command line that compresses to stdout for `format`. */
export function compressCommand(format: string, options: CompressOptions): { program: string; args: string[] } {
  const spec = PROGRAMS[format]!;
  const args = ['-c', ...(options.level === undefined ? spec.defaultArgs : [`-${options.level}`])];
  if (options.threads !== undefined) args.push(`-T${options.threads}`);
  return { program: spec.program, args };
}

/** A sink writing `format` to `fd` from its current offset on. */
export async function createPayloadSink(format: string, fd: number, options: CompressOptions = {}): Promise<PayloadSink> {
  const sink = format === 'raw' ? rawSink(fd) : format === 'gzip' ? gzipSink(fd, options.level) : await programSink(format, fd, options);
  return isRegularFile(fd) ? withWriteback(sink, fd) : sink;
}

function rawSink(fd: number): PayloadSink {
  return { write: (chunk) => writeAll(fd, chunk, null), end: async () => undefined, abort: () => undefined };
}

/**
 * To a file, an fdatasync is started every 128 MiB of payload: the disk writes back during the
 * conversion, and the final fsync finds little to do.
 */
function withWriteback(sink: PayloadSink, fd: number): PayloadSink {
  const writeback = new Writeback(fd);
  let since = 0;
  return {
    async write(chunk) {
      await sink.write(chunk);
      if ((since += chunk.length) < WRITEBACK_EVERY_BYTES) return;
      since = 0;
      await nextTurn(); // lets the previous fdatasync report back
      writeback.start();
    },
    async end() {
      try {
        await sink.end();
      } finally {
        await writeback.settle();
      }
      writeback.rethrow();
    },
    abort: () => sink.abort(),
  };
}

function gzipSink(fd: number, level: number | undefined): PayloadSink {
  const gzip = createGzip(level === undefined ? {} : { level });
  let failure: unknown = null;
  gzip.on('data', (chunk: Buffer) => {
    try {
      writeAll(fd, chunk, null);
    } catch (error) {
      failure ??= error;
      gzip.destroy(error as Error); // a waiting write() then rejects instead of waiting for 'drain'
    }
  });
  gzip.on('error', (error) => (failure ??= error));
  const finished = once(gzip, 'end').catch(() => undefined);
  return {
    async write(chunk) {
      if (failure) throw failure;
      if (!gzip.write(Buffer.from(chunk))) await once(gzip, 'drain'); // rejects on 'error'
      if (failure) throw failure;
    },
    async end() {
      gzip.end();
      await finished;
      if (failure) throw failure;
    },
    abort: () => gzip.destroy(),
  };
}

async function programSink(format: string, fd: number, options: CompressOptions): Promise<PayloadSink> {
  const { program, args } = compressCommand(format, options);
  const child = await startProgram<ChildProcessByStdio<Writable, null, Readable>>(program, args, ['pipe', fd, 'pipe'], `writing a ${format} payload`);
  const { exited, said } = watchExit(child);
  let inputError: unknown = null;
  child.stdin.on('error', (error) => (inputError ??= error)); // the program died; its status says why
  const failed = async () => compressorFailed(`${program} ${args.join(' ')}`, await exited, said());
  return {
    async write(chunk) {
      if (inputError) throw await failed();
      if (!child.stdin.write(Buffer.from(chunk))) {
        await Promise.race([once(child.stdin, 'drain'), exited]);
        if (inputError || child.exitCode !== null) throw await failed();
      }
    },
    async end() {
      child.stdin.end();
      const status = await exited;
      if (status !== 0) throw await failed();
    },
    abort: () => {
      child.stdin.destroy();
      child.kill('SIGKILL');
    },
  };
}
