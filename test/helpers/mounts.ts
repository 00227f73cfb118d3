// Real file systems for the fault tests that no injection can stand in for: a small tmpfs that
// fills up (ENOSPC from the kernel), the same remounted read-only (EROFS, which root cannot
// override), and a user without root for file modes. They need root and mount(8); elsewhere
// the tests that use them are not registered, unless SAVEKIT_REQUIRE_MOUNTS=1 (set by .ci/run)
// makes their absence a failure.
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, fstatSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PAGE = 4096;
/** The unprivileged user of Debian, for file-mode tests. */
export const NOBODY = 65534;

const mounted: string[] = [];
let base: string | null = null;

process.once('exit', () => {
  for (const dir of mounted) spawnSync('umount', ['-l', dir]);
  if (base !== null) rmSync(base, { recursive: true, force: true });
});

/** A folder every user can enter (mkdtemp's 0700 would hide it from `nobody`). */
export function openFolder(): string {
  if (base === null) {
    base = mkdtempSync(join(tmpdir(), 'savekit-fs-'));
    chmodSync(base, 0o755);
  }
  const dir = mkdtempSync(join(base, 'case-'));
  chmodSync(dir, 0o777);
  return dir;
}

function run(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** Why real mounts cannot be used here, or null when they can. */
export function mountsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = openFolder();
  if (!run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe])) return 'mount -t tmpfs failed';
  run('umount', [probe]);
  if (!run('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'true'])) return 'setpriv failed';
  return null;
}

export interface Tmpfs {
  dir: string;
  /** Fills the file system, then frees `pages` pages of it. */
  fill(pages?: number): void;
  /** Removes the filler: room again. */
  free(): void;
  readOnly(): void;
  readWrite(): void;
}

/** A tmpfs of `bytes`, unmounted at exit. */
export function mountTmpfs(bytes: number): Tmpfs {
  const dir = openFolder();
  if (!run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0777`, 'tmpfs', dir])) throw new Error(`cannot mount a tmpfs on ${dir}`);
  mounted.push(dir);
  const filler = join(dir, '.filler');
  return {
    dir,
    fill(pages = 0) {
      const fd = openSync(filler, 'a');
      const block = Buffer.alloc(PAGE, 0xff);
      try {
        for (;;) writeSync(fd, block);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
      // A write may have landed in part; keep whole pages, then give `pages` back.
      const size = Math.floor(fstatSync(fd).size / PAGE) * PAGE;
      ftruncateSync(fd, Math.max(0, size - pages * PAGE));
      closeSync(fd);
    },
    free() {
      rmSync(filler, { force: true });
    },
    readOnly() {
      if (!run('mount', ['-o', 'remount,ro', dir])) throw new Error(`cannot remount ${dir} read-only`);
    },
    readWrite() {
      if (!run('mount', ['-o', 'remount,rw', dir])) throw new Error(`cannot remount ${dir} read-write`);
    },
  };
}
