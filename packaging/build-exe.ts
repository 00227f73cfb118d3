// npm run build:exe [-- --arch x64|arm64]: savekit as one executable per architecture,
// dist/exe/savekit-linux-<arch>, for hosts without a current Node. Node's single executable
// applications: the official Node of the build line (packaging/runtimes), stripped before the
// blob goes in (never after), the bundled CLI as its ES module entry, and as assets the native
// addon (prebuilds/linux-<arch>) and the hashing thread's script. Code cache only for the
// machine's own architecture (it is per platform).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleCli, type Bundle } from './bundle.js';
import { ARCHES, type Arch, BUILD_LINE, hostArch, nodeBinary } from './runtimes.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const EXE_DIR = join(ROOT, 'dist', 'exe');

/** Where `npm run build:exe` leaves the executable of `arch`. */
export const executablePath = (arch: Arch): string => join(EXE_DIR, `savekit-linux-${arch}`);

/** The addon the executable carries: the same N-API prebuild the npm package ships. */
export const addonPrebuild = (arch: Arch): string => join(ROOT, 'prebuilds', `linux-${arch}`, 'savekit_native.napi.glibc.node');

/** The strip that understands each architecture's ELF files, and the Debian package that has it. */
const STRIP: Record<Arch, { program: string; debianPackage: string }> = {
  x64: { program: 'strip', debianPackage: 'binutils' },
  arm64: { program: 'aarch64-linux-gnu-strip', debianPackage: 'binutils-aarch64-linux-gnu' },
};

/** A program a build needs is not on this machine (the message says which and where it comes from). */
export class MissingTool extends Error {}

function run(program: string, args: string[], missingHint: string): void {
  try {
    execFileSync(program, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new MissingTool(`${program} is needed: ${missingHint}`);
    throw error;
  }
}

/** Builds dist/exe/savekit-linux-<arch> from `bundle`; returns its path. */
export function buildExecutable(arch: Arch, bundle: Bundle): string {
  const addon = addonPrebuild(arch);
  if (!existsSync(addon)) throw new Error(`no addon prebuild for ${arch} (${addon}): run npm run build:addon${arch === 'x64' ? '' : `:${arch}`}`);
  mkdirSync(EXE_DIR, { recursive: true });
  const work = mkdtempSync(join(EXE_DIR, `.build-${arch}-`));
  try {
    const node = join(work, 'node');
    copyFileSync(nodeBinary(BUILD_LINE, arch), node);
    chmodSync(node, 0o755);
    const { program, debianPackage } = STRIP[arch];
    run(program, ['--strip-unneeded', node], `apt-get install ${debianPackage}`);
    writeFileSync(join(work, 'main.mjs'), bundle.cli);
    writeFileSync(join(work, 'hash-worker.cjs'), bundle.hashWorker);
    writeFileSync(join(work, 'read-worker.cjs'), bundle.readWorker);
    writeFileSync(join(work, 'transfer-worker.cjs'), bundle.transferWorker);
    const output = executablePath(arch);
    const config = {
      main: join(work, 'main.mjs'),
      mainFormat: 'module',
      executable: node,
      output,
      disableExperimentalSEAWarning: true,
      useCodeCache: arch === hostArch(),
      useSnapshot: false,
      assets: { 'savekit_native.node': addon, 'hash-worker.cjs': join(work, 'hash-worker.cjs'), 'read-worker.cjs': join(work, 'read-worker.cjs'), 'transfer-worker.cjs': join(work, 'transfer-worker.cjs') },
    };
    writeFileSync(join(work, 'sea-config.json'), JSON.stringify(config, null, 2));
    run(nodeBinary(BUILD_LINE, hostArch()), ['--build-sea', join(work, 'sea-config.json')], 'the pinned Node in packaging/runtimes');
    chmodSync(output, 0o755);
    return output;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function archesOf(argv: string[]): Arch[] {
  const at = argv.indexOf('--arch');
  if (at < 0) return [...ARCHES];
  const arch = argv[at + 1];
  if (!(ARCHES as readonly string[]).includes(arch ?? '')) throw new Error(`--arch takes ${ARCHES.join(' or ')}`);
  return [arch as Arch];
}

/**
 * Builds each of `arches` with `build`. Asked for every architecture (no --arch), one that needs
 * a program this machine lacks is skipped with what it needs, as long as the machine's own is
 * built; asked for one, or for the machine's own, a missing program fails the build.
 */
export function buildEach(arches: Arch[], askedForOne: boolean, build: (arch: Arch) => string, warn: (line: string) => void): string[] {
  const built: string[] = [];
  for (const arch of arches) {
    try {
      built.push(build(arch));
    } catch (error) {
      if (askedForOne || arch === hostArch() || !(error instanceof MissingTool)) throw error;
      warn(`skipped the ${arch} executable: ${error.message} (or build it alone with npm run build:exe -- --arch ${arch})`);
    }
  }
  return built;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const bundle = await bundleCli();
  const argv = process.argv.slice(2);
  buildEach(archesOf(argv), argv.includes('--arch'), (arch) => {
    const started = Date.now();
    const path = buildExecutable(arch, bundle);
    console.log(`${path} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return path;
  }, (line) => console.error(line));
}
