// What `npm test` runs besides Node.js, in one place: the programs the tests compare against or
// drive, each with the Debian package that brings it. Run first by `npm test`: a missing program
// is installed with apt-get when this runs as root (saying what it installs), and otherwise the
// run stops at once with one message naming the packages, before anything is built.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Program -> Debian package, for every program a unit, CLI or file-system test runs. */
export const PROGRAMS = {
  xxhsum: 'xxhash', // hash: the same digests as xxhsum -H1
  lzop: 'lzop', // the compressors libvirt runs, for convert, walk and extract-ram
  zstd: 'zstd',
  bzip2: 'bzip2',
  xz: 'xz-utils',
  tar: 'tar', // the committed sparse samples are unpacked with tar -xzS
  cmp: 'diffutils', // 4 GiB sparse outputs compared without reading them into memory
  script: 'bsdutils', // a terminal for the progress bar and refusal tests
  setpriv: 'util-linux', // the CLI run as nobody
  mount: 'mount', // tmpfs mounts for the full and read-only disk tests
  umount: 'mount',
  mkfifo: 'coreutils',
  groff: 'groff-base', // the man page made from the command specs, linted and rendered
  mandoc: 'mandoc',
  man: 'man-db',
  bash: 'bash', // the completion script, driven as bash drives it
};

/** The programs of PROGRAMS that `path` (a PATH value) lacks. */
export function missingPrograms(path = process.env.PATH ?? '') {
  const folders = path.split(delimiter).filter(Boolean);
  return Object.keys(PROGRAMS).filter((program) => !folders.some((folder) => isExecutable(join(folder, program))));
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Debian packages that bring `programs`, each once. */
export function packagesFor(programs) {
  return [...new Set(programs.map((program) => PROGRAMS[program]))];
}

/**
 * Makes sure every program is there. Returns null when they are (installing them as root with
 * apt-get if need be), else the message to stop with.
 */
export function ensurePrograms({ path = process.env.PATH ?? '', uid = process.getuid?.() ?? -1, log = console.log } = {}) {
  const missing = missingPrograms(path);
  if (missing.length === 0) return null;
  const packages = packagesFor(missing);
  const aptGet = path.split(delimiter).filter(Boolean).map((folder) => join(folder, 'apt-get')).find(isExecutable);
  if (uid === 0 && aptGet) {
    log(`npm test: installing the Debian packages the tests run: ${packages.join(' ')} (for ${missing.join(', ')})`);
    const env = { ...process.env, PATH: path, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync(aptGet, ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    spawnSync(aptGet, ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: ['ignore', 'ignore', 'inherit'], env });
    const still = missingPrograms(path);
    if (still.length === 0) return null;
    return `npm test: apt-get could not install ${packagesFor(still).join(' ')}; the tests run ${still.join(', ')}`;
  }
  return [
    `npm test: the tests run programs this machine lacks: ${missing.join(', ')}.`,
    `Install them first (Debian, Ubuntu): sudo apt-get install ${packages.join(' ')}`,
    '(run as root, npm test installs them itself)',
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const message = ensurePrograms();
  if (message !== null) {
    console.error(message);
    process.exit(1);
  }
}
