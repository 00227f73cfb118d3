// The compressors libvirt runs (`<name> -c` on save, `<name> -dc` on restore), started as child
// processes: a missing program is ERR_MISSING_PROGRAM naming the Debian package that has it.
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { SaveImageError } from '../errors.js';
import { trackChild } from './interrupt.js';

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
