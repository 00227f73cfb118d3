// The compressors libvirt runs (`<name> -c` on save, `<name> -dc` on restore), started as child
// processes: a missing program is ERR_MISSING_PROGRAM naming the Debian package that has it.
import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { SaveImageError } from '../errors.js';

const DEBIAN_PACKAGES: Record<string, string> = { gzip: 'gzip', bzip2: 'bzip2', xz: 'xz-utils', lzop: 'lzop', zstd: 'zstd' };

/** Starts `program`; resolves once it runs. `purpose` completes "… needs the X program". */
export async function startProgram<T extends ChildProcess>(program: string, args: string[], stdio: StdioOptions, purpose: string): Promise<T> {
  const child = spawn(program, args, { stdio }) as T;
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) => {
      const debianPackage = DEBIAN_PACKAGES[program] ?? program;
      reject(error.code === 'ENOENT' ? new SaveImageError('ERR_MISSING_PROGRAM', `${purpose} needs the ${program} program (Debian package ${debianPackage}: apt-get install ${debianPackage})`) : error);
    });
  });
  return child;
}
