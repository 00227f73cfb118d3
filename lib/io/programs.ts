// The compressors libvirt runs (`<name> -c` on save, `<name> -dc` on restore), started as child
// processes: a missing program is ERR_MISSING_PROGRAM naming the Debian package that has it.
import { type ChildProcess, type ChildProcessByStdio, spawn, type StdioOptions } from 'node:child_process';
import { closeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { SaveImageError } from '../errors.js';
import { readSome } from './fd-io.js';
import { trackChild } from './interrupt.js';
import { createPipe, growPipe, PIPE_BYTES } from './pipe-setup.js';

const DEBIAN_PACKAGES: Record<string, string> = { gzip: 'gzip', bzip2: 'bzip2', xz: 'xz-utils', lzop: 'lzop', zstd: 'zstd' };

/** Starts `program`; resolves once it runs. `purpose` completes "… needs the X program". */
export async function startProgram<T extends ChildProcess>(program: string, args: string[], stdio: StdioOptions, purpose: string): Promise<T> {
  const child = spawn(program, args, { stdio }) as T;
  trackChild(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) => {
      const debianPackage = DEBIAN_PACKAGES[program] ?? program;
      reject(error.code === 'ENOENT' ? new SaveImageError('ERR_MISSING_PROGRAM', `${purpose} needs the ${program} program (Debian package ${debianPackage}: apt-get install ${debianPackage})`) : error);
    });
  });
  return child;
}

export interface ProgramOutput {
  child: ChildProcessByStdio<null, null, Readable> | ChildProcessByStdio<null, Readable, Readable>;
  /**
   * The program's standard output, chunk by chunk. Each chunk is valid until the next is asked
   * for: where the addon makes a pipe, one buffer is read into again and again, with blocking
   * reads, and the program writes up to 1 MiB ahead (a child_process stream allocates 64 KiB
   * per read, which grew apply's heap with the delta's size, and holds the program to a
   * socket's ~200 KiB).
   */
  chunks: Iterable<Buffer> | AsyncIterable<Buffer>;
}

/** Starts `program` reading `stdinFd`; its standard output comes back as chunks. */
export async function startReadingProgram(program: string, args: string[], stdinFd: number, purpose: string): Promise<ProgramOutput> {
  const pipe = createPipe();
  if (pipe === null) {
    const child = await startProgram<ChildProcessByStdio<null, Readable, Readable>>(program, args, [stdinFd, 'pipe', 'pipe'], purpose);
    return { child, chunks: child.stdout };
  }
  const [readFd, writeFd] = pipe;
  let child: ChildProcessByStdio<null, null, Readable>;
  try {
    child = await startProgram<ChildProcessByStdio<null, null, Readable>>(program, args, [stdinFd, writeFd, 'pipe'], purpose);
  } catch (error) {
    closeSync(readFd);
    throw error;
  } finally {
    closeSync(writeFd); // the child holds its own copy: the pipe ends when the program does
  }
  growPipe(readFd, PIPE_BYTES);
  return { child, chunks: readInPlace(readFd) };
}

function* readInPlace(fd: number): Generator<Buffer> {
  const buffer = Buffer.allocUnsafe(PIPE_BYTES);
  try {
    for (let n = readSome(fd, buffer, 0, buffer.length, null); n > 0; n = readSome(fd, buffer, 0, buffer.length, null)) yield buffer.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Gathers a started program's stderr; `exited` resolves with its status. */
export function watchExit(child: ChildProcess): { exited: Promise<number | null>; said: () => string } {
  const errors: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { exited, said: () => Buffer.concat(errors).toString().trim() };
}

/** A compressor that failed (a full disk, most often): ERR_IO naming the command line. */
export function compressorFailed(commandLine: string, status: number | null, said: string): SaveImageError {
  return new SaveImageError('ERR_IO', `${commandLine} exited with status ${status}${/No space left/i.test(said) ? ' (ENOSPC)' : ''}: ${said || 'no message'}`);
}

/** A payload its decoder refused: ERR_BAD_STREAM, with what libvirt does with the known traps. */
export function payloadDamaged(format: string, reason: string): SaveImageError {
  return new SaveImageError('ERR_BAD_STREAM', `the ${format} payload is damaged: ${reason}${knownTrap(format, reason)}`);
}

/** `<program> -dc` exited non-zero. */
export function decompressorFailed(format: string, program: string, status: number | null, said: string): SaveImageError {
  return payloadDamaged(format, `${program} -dc exited with status ${status}: ${said}`);
}

/**
 * What libvirt does with the payloads that fail in these ways (CONVERT.md, "What makes a
 * restore fail"): libvirt runs the same `<name> -dc`, so the restore fails too, or hangs.
 */
function knownTrap(format: string, said: string): string {
  if (format === 'zstd' && /unsupported format/.test(said)) return "\nbytes follow the zstd frame (even zero padding): libvirt's zstd -dc refuses them and the restore fails";
  if (format === 'zstd' && /too much memory|Window size larger/.test(said)) return "\na zstd frame whose window is larger than zstd -dc's default limit (128 MiB): virsh restore hangs on it with the domain paused (starting up)";
  if (format === 'xz' && /corrupt/.test(said)) return "\nthe xz data is damaged, or followed by 1 to 3 bytes of padding (only multiples of 4 are legal): libvirt's xz -dc refuses it and the restore fails";
  return '';
}

/** zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR: cut or damaged data), as opposed to others. */
export function isZlibError(error: unknown): boolean {
  return String((error as NodeJS.ErrnoException | null)?.code ?? '').startsWith('Z_');
}
