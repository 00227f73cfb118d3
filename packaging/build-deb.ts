// npm run build:deb [-- --arch x64|arm64]: savekit_<version>_<arch>.deb in dist/deb, with
// dpkg-deb alone (no debhelper, no network): /usr/bin/savekit (the one-file executable of
// build-exe.ts, built first if missing, never stripped again), savekit(1) and the bash
// completion made from the command specs, the copyright of everything the executable carries,
// and a changelog. Depends on what the executable links (Node's runtime libraries), Recommends
// the compressors libvirt runs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadCommandSpecs, VERSION } from '../lib/cli/command-table.js';
import { formatBashCompletion } from '../lib/cli/completion-script.js';
import { formatManPage } from '../lib/cli/man-page.js';
import { type BundledPackage, bundleCli } from './bundle.js';
import { buildExecutable, executablePath } from './build-exe.js';
import { ARCHES, type Arch, BUILD_LINE, RUNTIMES } from './runtimes.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const DEB_DIR = join(ROOT, 'dist', 'deb');
const DEBIAN_ARCH: Record<Arch, string> = { x64: 'amd64', arm64: 'arm64' };
const MAINTAINER = 'savekit developers <savekit@packages.invalid>';

/** What the executable needs at run time: Node's NEEDED libraries, at the versions its symbols ask for (glibc 2.28, GLIBCXX_3.4.21). */
const DEPENDS = 'libc6 (>= 2.28), libstdc++6 (>= 5), libgcc-s1 (>= 3.0), libatomic1 (>= 4.8)';
/** The programs libvirt runs for compressed saves, which savekit runs the same way. */
const RECOMMENDS = 'zstd, xz-utils, lzop, bzip2';

export const debPath = (arch: Arch): string => join(DEB_DIR, `savekit_${VERSION}_${DEBIAN_ARCH[arch]}.deb`);

/** The release date (SOURCE_DATE_EPOCH, else the last commit's), so a rebuild gives the same page. */
function releaseDate(): Date {
  const epoch = process.env.SOURCE_DATE_EPOCH ?? execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' }).trim();
  return new Date(Number(epoch) * 1000);
}

const DESCRIPTION = `inspect, edit, convert and diff libvirt QEMU save images
 savekit reads and writes the images virsh save, managed save and memory
 snapshots leave: header and domain XML shown and edited in place, crash-safe;
 images copied through pipes without holding guest memory; payloads hashed,
 sealed, verified and converted between every format libvirt reads (raw, gzip,
 bzip2, xz, lzop, zstd, sparse); the QEMU migration stream walked and checked,
 every device's state decoded, guest memory extracted as a physical image or an
 ELF core; page-level deltas between two saves of one guest.
 .
 One executable that carries its own Node.js runtime: no nodejs package needed.`;

function control(arch: Arch, installedKiB: number): string {
  return `Package: savekit
Version: ${VERSION}
Architecture: ${DEBIAN_ARCH[arch]}
Maintainer: ${MAINTAINER}
Installed-Size: ${installedKiB}
Depends: ${DEPENDS}
Recommends: ${RECOMMENDS}
Suggests: libvirt-clients
Section: admin
Priority: optional
Description: ${DESCRIPTION}
`;
}

function changelog(date: Date): string {
  return `savekit (${VERSION}) unstable; urgency=medium

  * Packaged as one executable with savekit(1) and bash completion.

 -- ${MAINTAINER}  ${date.toUTCString().replace('GMT', '+0000')}
`;
}

/** debian/copyright in the machine-readable format: savekit, the Node.js runtime inside it, and the npm packages bundled. */
function copyright(packages: BundledPackage[]): string {
  // Debian points at its own copy of the Apache License instead of repeating it (Policy 12.5).
  const nodeLicense = readFileSync(join(RUNTIMES, 'node_modules', `node${BUILD_LINE}`, 'LICENSE'), 'utf8').replace(
    /^([ \t]*)Apache License\s*\n\s*Version 2\.0, January 2004[\s\S]*?END OF TERMS AND CONDITIONS[^\n]*\n/gm,
    '$1The Apache License, Version 2.0: on Debian systems in /usr/share/common-licenses/Apache-2.0\n',
  );
  const indent = (text: string): string =>
    text
      .trimEnd()
      .split('\n')
      .map((line) => (line.trim() === '' ? ' .' : ` ${line}`))
      .join('\n');
  const bundled = packages.map((p) => `Files: embedded/npm/${p.name}\nCopyright: the authors of ${p.name} ${p.version} (npm)\nLicense: ${p.license}\n`).join('\n');
  return `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: savekit
Comment: /usr/bin/savekit is one file: savekit's code, the npm packages it bundles and
 the official Node.js ${BUILD_LINE} runtime it runs on. Their licenses follow.

Files: *
Copyright: the savekit developers
License: savekit
 savekit has not been given a license yet: its authors keep all rights until
 they choose one. Ask them before redistributing it.

Files: embedded/nodejs
Copyright: Node.js contributors and the authors of the projects Node.js includes
License: Node.js
${indent(nodeLicense)}

${bundled}`;
}

/**
 * /usr/bin/savekit is the official Node.js binary with savekit inside. Node links zlib and
 * mbedtls into itself and is not built as PIE, as every official Node binary is; savekit cannot
 * swap in the system's copies without building its own Node.
 */
const LINTIAN_OVERRIDES = `# savekit's executable is the official Node.js runtime with savekit inside: Node links
# these libraries into itself, as every official Node.js binary does.
savekit: embedded-library mbedtls [usr/bin/savekit]
savekit: embedded-library zlib [usr/bin/savekit]
`;

function md5sums(stage: string): string {
  const lines: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else lines.push(`${createHash('md5').update(readFileSync(path)).digest('hex')}  ${relative(stage, path)}`);
    }
  };
  walk(join(stage, 'usr'));
  return `${lines.join('\n')}\n`;
}

function duKiB(dir: string): number {
  let bytes = 0;
  const walk = (path: string): void => {
    const stat = statSync(path);
    bytes += Math.ceil(stat.size / 1024) * 1024;
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(join(dir, 'usr'));
  return Math.ceil(bytes / 1024);
}

function place(stage: string, path: string, content: Buffer | string, mode = 0o644): void {
  const full = join(stage, path);
  mkdirSync(join(full, '..'), { recursive: true });
  for (let dir = join(full, '..'); dir.length > stage.length; dir = join(dir, '..')) chmodSync(dir, 0o755); // whatever the umask
  writeFileSync(full, content);
  chmodSync(full, mode);
}

/**
 * Builds dist/deb/savekit_<version>_<debian arch>.deb from the executable of `arch`. `xzLevel`:
 * 6 as dpkg-deb's own default (28 s, 26.5 MiB); test:dist packs at 1 (8 s, 31 MiB: the same files).
 */
export async function buildDeb(arch: Arch, { xzLevel = 6 }: { xzLevel?: number } = {}): Promise<string> {
  const bundle = await bundleCli();
  if (!existsSync(executablePath(arch))) buildExecutable(arch, bundle);
  const date = releaseDate();
  const specs = await loadCommandSpecs();
  const stage = join(DEB_DIR, `.stage-${arch}`);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'DEBIAN'), { recursive: true });
  try {
    mkdirSync(join(stage, 'usr', 'bin'), { recursive: true });
    copyFileSync(executablePath(arch), join(stage, 'usr/bin/savekit'));
    chmodSync(join(stage, 'usr/bin/savekit'), 0o755);
    const page = formatManPage(specs, { version: VERSION, date: date.toISOString().slice(0, 10) });
    place(stage, 'usr/share/man/man1/savekit.1.gz', gzipSync(page, { level: 9 }));
    place(stage, 'usr/share/bash-completion/completions/savekit', formatBashCompletion(specs));
    place(stage, 'usr/share/doc/savekit/copyright', copyright(bundle.packages));
    place(stage, 'usr/share/doc/savekit/changelog.gz', gzipSync(changelog(date), { level: 9 }));
    place(stage, 'usr/share/lintian/overrides/savekit', LINTIAN_OVERRIDES);
    place(stage, 'DEBIAN/control', control(arch, duKiB(stage)));
    place(stage, 'DEBIAN/md5sums', md5sums(stage));
    mkdirSync(DEB_DIR, { recursive: true });
    // xz, as Debian's own packages: dpkg on Debian 11 reads no zstd.
    execFileSync('dpkg-deb', ['--root-owner-group', '-Zxz', `-z${xzLevel}`, '--build', stage, debPath(arch)], { stdio: ['ignore', 'ignore', 'inherit'] });
    return debPath(arch);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--arch');
  const arches = at < 0 ? [...ARCHES] : ARCHES.filter((arch) => arch === process.argv[at + 1]);
  if (arches.length === 0) throw new Error(`--arch takes ${ARCHES.join(' or ')}`);
  for (const arch of arches) {
    const started = Date.now();
    console.log(`${await buildDeb(arch)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  }
}
