// One builder at a time for what the suites keep between runs (Debian roots, pinned runtimes):
// .ci/run builds them in the background (test/prepare.ts) while earlier suites run, and a suite
// that needs one meanwhile waits here for that build instead of starting its own beside it.
// The lock is a folder (mkdir is atomic) holding the owner's pid; a lock whose owner is gone
// (killed mid-build) is taken over, and the build it guarded starts again from scratch.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const POLL_MS = 1000;

function ownerAlive(lock: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    // Just made, its pid not written yet; or its maker died in between.
    try {
      return Date.now() - statSync(lock).mtimeMs < 10_000;
    } catch {
      return false;
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs `build` holding the lock `lock` (a path); waits, saying so once, while another process holds it. */
export function withCacheLock<T>(lock: string, build: () => T, log: (line: string) => void = console.log): T {
  let said = false;
  for (;;) {
    try {
      mkdirSync(lock, { recursive: false });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        mkdirSync(join(lock, '..'), { recursive: true });
        continue;
      }
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!ownerAlive(lock)) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (!said) log(`waiting for another process building ${lock} ...`);
      said = true;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, POLL_MS);
    }
  }
  try {
    writeFileSync(join(lock, 'pid'), String(process.pid));
    return build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
