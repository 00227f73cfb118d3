// npm run test:dist: savekit as hosts get it without npm. Builds both executables and both
// Debian packages (npm run build:exe, build:deb), lints the packages, then proves:
// - the x64 executable gives the npm package's bytes on every sample and command, run from an
//   empty folder with the build tree hidden (a tmpfs over it, in a mount namespace of its own)
//   and never opening a file of it (strace), its addon loaded from itself;
// - the arm64 executable gives the same under qemu-aarch64 user emulation;
// - the .deb in bare Debian 11 and 13 roots without nodejs: apt pulls in the compressors, the
//   commands give the npm package's bytes, man savekit shows the page, bash completes, and
//   dpkg -r leaves nothing.
// Needs root (mount namespaces, chroot). Ends with the line CI reads: "N passed, N failed".
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonPrebuild, buildExecutable, executablePath } from '../../packaging/build-exe.js';
import { buildDeb, debPath } from '../../packaging/build-deb.js';
import { bundleCli } from '../../packaging/bundle.js';
import { ARCHES } from '../../packaging/runtimes.js';
import { FORMATS } from '../../lib/constants.js';
import { compare, type Disagreement, everyCase, installedCases, npmPackageRunner, type Runner, stageImages } from './agreement.js';
import { BareRoot, completionIn, PACKAGE_FILES, type Suite } from './debian-package.js';
import { createTally } from '../helpers/tally.js';
import { ensurePrograms } from './programs.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NPM_SAVEKIT = join(ROOT, 'dist', 'cli', 'main.js');
const AARCH64_SYSROOT = '/usr/aarch64-linux-gnu';
const tally = createTally();
const record = tally.record;

function sh(command: string, args: string[], options: { cwd?: string; input?: Buffer; env?: Record<string, string> } = {}): { status: number; stdout: string; stderr: string; out: Buffer } {
  const result = spawnSync(command, args, { cwd: options.cwd, input: options.input, maxBuffer: 1 << 28, env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH ?? ''}`, ...options.env } });
  return { status: result.status ?? -1, stdout: result.stdout?.toString() ?? '', stderr: result.stderr?.toString() ?? String(result.error ?? ''), out: result.stdout ?? Buffer.alloc(0) };
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const summary = (differences: Disagreement[]): string => differences.slice(0, 5).map((d) => `${d.case}: ${d.detail}`).join(' | ');

async function build(work: string): Promise<void> {
  const bundle = await bundleCli();
  for (const arch of ARCHES) {
    const started = Date.now();
    const path = buildExecutable(arch, bundle);
    const mib = statSync(path).size / 2 ** 20;
    const stripped = sh('file', [path]).stdout.includes('not stripped') === false;
    record(`build:exe ${arch}: one file, stripped, ${mib.toFixed(0)} MiB`, mib < 130 && stripped, seconds(started));
  }
  for (const arch of ARCHES) {
    const started = Date.now();
    const deb = await buildDeb(arch, { xzLevel: 1 }); // the files are what is checked: spend no CI time on xz -6
    record(`build:deb ${arch}: ${deb.slice(ROOT.length)}`, statSync(deb).size > 0, seconds(started));
    // lintian leaves folders of its own (mldbm-elf-*) in $TMPDIR: give it one that goes with the run.
    const lintTmp = join(work, `lintian-${arch}`);
    mkdirSync(lintTmp);
    const lint = sh('lintian', ['--fail-on', 'error', deb], { env: { TMPDIR: lintTmp } });
    const errors = lint.stdout.split('\n').filter((line) => line.startsWith('E:'));
    const said = lint.stdout.split('\n').filter(Boolean);
    record(`lintian ${arch}: no error`, lint.status === 0 && errors.length === 0, said.length ? said.join('; ') : lint.stderr.trim().slice(0, 300));
  }
}

/** The x64 executable, copied out of the build tree, run with that tree hidden under a tmpfs. */
function isolatedRunner(exe: string, strace: string | null): Runner {
  return (args, cwd) => {
    const inner = ['sh', '-c', 'mount -t tmpfs -o size=1m tmpfs "$1" && cd "$2" && shift 2 && exec "$@"', 'sh', ROOT, cwd, ...(strace ? ['strace', '-f', '-o', strace, '-e', 'trace=%file,%process', exe] : [exe]), ...args];
    const result = spawnSync('unshare', ['--mount', '--propagation', 'private', ...inner], { maxBuffer: 1 << 28 });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
  };
}

function checkExecutable(work: string): void {
  const exe = join(work, 'bin', 'savekit');
  mkdirSync(join(work, 'bin'));
  copyFileSync(executablePath('x64'), exe);
  chmodSync(exe, 0o755);
  const [reference, candidate] = [join(work, 'npm'), join(work, 'exe')];
  const images = stageImages(reference);
  stageImages(candidate);
  const started = Date.now();
  const cases = everyCase(images);
  const differences = compare(cases, { run: npmPackageRunner(NPM_SAVEKIT), folder: reference }, { run: isolatedRunner(exe, null), folder: candidate });
  record(`x64 executable = npm package: ${cases.length} commands on ${images.length} images, from a folder holding only them, the build tree hidden`, differences.length === 0, differences.length ? summary(differences) : seconds(started));

  // Which files it touches: none of the build tree, and the addon from its own assets.
  const trace = join(work, 'strace.txt');
  const piped = spawnSync('sh', ['-c', 'cat "$1" | "$2" hash -', 'sh', join(candidate, images[0]!), exe]);
  const traced = isolatedRunner(exe, trace)(['convert', '--quiet', '--format', 'zstd', 'libvirt-9.0_xz.save', 'traced.save'], candidate);
  const text = sh('cat', [trace]).stdout;
  const opened = [...text.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  const inTree = opened.filter((path) => path.startsWith(ROOT) && path !== ROOT);
  record('x64 executable: opens no file of the build tree (strace)', traced.status === 0 && inTree.length === 0, inTree.slice(0, 5).join(', ') || traced.stderr.slice(0, 200));
  const unpacked = /savekit-addon-[^/]+\/savekit_native\.node/.test(text);
  record('x64 executable: its native addon comes from its own assets', unpacked, unpacked ? '' : 'strace shows no unpacked addon');
  const hashWithout = spawnSync('sh', ['-c', 'cat "$1" | SAVEKIT_NO_NATIVE=1 "$2" hash -', 'sh', join(candidate, images[0]!), exe]);
  record('x64 executable: the hashing thread runs inside it, with and without the addon (hash from a pipe)', piped.status === 0 && piped.stdout.equals(hashWithout.stdout) && piped.stdout.length > 0, `${piped.stderr}${hashWithout.stderr}`.slice(0, 200));
}

function checkArm64(work: string): void {
  const emulated: Runner = (args, cwd) => {
    const result = spawnSync('qemu-aarch64', ['-L', AARCH64_SYSROOT, executablePath('arm64'), ...args], { cwd, maxBuffer: 1 << 28 });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
  };
  const arch = sh('qemu-aarch64', ['-L', AARCH64_SYSROOT, executablePath('arm64'), '--version']);
  record('arm64 executable runs under qemu-aarch64', arch.status === 0 && arch.stdout.startsWith('savekit '), arch.stderr.slice(0, 200));
  const [reference, candidate] = [join(work, 'npm-arm64'), join(work, 'exe-arm64')];
  const only = ['libvirt-9.0_raw.save', 'libvirt-9.0_gzip.save', 'libvirt-11.3_zstd.save', 'libvirt-11.3_sparse.save', 'libvirt-7.0_lzop.save', 'dump-pair_tinydump.save', 'aarch64-11.3_tiny.save'];
  const images = stageImages(reference, only);
  stageImages(candidate, only);
  const started = Date.now();
  const cases = installedCases(images);
  const differences = compare(cases, { run: npmPackageRunner(NPM_SAVEKIT), folder: reference }, { run: emulated, folder: candidate });
  record(`arm64 executable = npm package under qemu-aarch64: ${cases.length} commands on ${images.length} genuine images`, differences.length === 0, differences.length ? summary(differences) : seconds(started));
  const addon = sh('file', [addonPrebuild('arm64')]).stdout;
  record('arm64 executable carries the cross-compiled aarch64 addon', addon.includes('ARM aarch64'), addon.includes('ARM aarch64') ? '' : addon.trim());
}

function checkDebian(suite: Suite, work: string): void {
  const started = Date.now();
  const bare = BareRoot.open(suite, (line) => console.log(line));
  try {
    const label = `Debian ${suite === 'bullseye' ? '11' : '13'} (${suite}, minbase)`;
    record(`${label}: no nodejs in the root`, !bare.installed('nodejs') && bare.run('sh', ['-c', 'command -v node']).status !== 0);
    copyFileSync(debPath('x64'), join(bare.root, 'tmp', 'savekit.deb'));
    bare.run('apt-get', ['update', '-qq'], { timeoutMs: 600_000 });
    const install = bare.run('apt-get', ['install', '-y', '-qq', '/tmp/savekit.deb', 'man-db', 'bash-completion'], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 900_000 });
    const installedOk = install.status === 0 && bare.installed('savekit');
    record(`${label}: apt-get install ./savekit.deb`, installedOk, installedOk ? '' : install.stderr.trim().slice(-300));
    const compressors = ['zstd', 'xz-utils', 'lzop', 'bzip2', 'libatomic1', 'libstdc++6'].filter((name) => !bare.installed(name));
    record(`${label}: apt pulled in what it depends on and recommends (zstd, xz-utils, lzop, bzip2)`, compressors.length === 0, compressors.length ? `missing ${compressors.join(', ')}` : '');

    const [reference, inRoot] = [join(work, `npm-${suite}`), join(bare.root, 'work')];
    const only = ['libvirt-9.0_raw.save', 'libvirt-9.0_gzip.save', 'libvirt-11.3_zstd.save', 'libvirt-11.3_sparse.save', 'libvirt-7.0_bzip2.save', 'libvirt-7.0_xz.save', 'dump-pair_tinydump.save', 'aarch64-11.3_tiny.save'];
    const images = stageImages(reference, only);
    stageImages(inRoot, only);
    const cases = installedCases(images);
    const differences = compare(cases, { run: npmPackageRunner(NPM_SAVEKIT), folder: reference }, { run: bare.savekit(), folder: inRoot });
    record(`${label}: /usr/bin/savekit = npm package: ${cases.length} commands (info, check, convert --format zstd, delta/apply, state --registers, extract-ram --elf) on ${images.length} genuine images (zstd ${bare.run('zstd', ['-V']).stdout.match(/v[\d.]+/)?.[0] ?? '?'} here)`, differences.length === 0, summary(differences));

    const man = bare.run('man', ['savekit'], { env: { MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' } });
    record(`${label}: man savekit shows the page`, man.status === 0 && man.stdout.includes('SAVEKIT(1)') && man.stdout.includes('savekit convert --format'), man.stderr.trim().slice(0, 200));
    const commands = completionIn(bare, ['savekit', 'con']);
    record(`${label}: bash completes savekit con<TAB> to convert`, commands.join(' ') === 'convert', commands.join(' '));
    const formats = completionIn(bare, ['savekit', 'convert', '--format', '']);
    record(`${label}: bash completes savekit convert --format <TAB> to the seven formats`, formats.join(' ') === FORMATS.join(' '), formats.join(' '));

    const removed = bare.run('dpkg', ['-r', 'savekit']);
    const left = PACKAGE_FILES.filter((file) => bare.run('test', ['-e', file]).status === 0);
    const folders = ['/usr/share/doc/savekit'].filter((folder) => bare.run('test', ['-e', folder]).status === 0);
    const status = bare.run('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}', 'savekit']).stdout.trim();
    record(`${label}: dpkg -r leaves nothing behind`, removed.status === 0 && left.length === 0 && folders.length === 0 && !status.startsWith('i') && !status.startsWith('r'), `${[...left, ...folders].join(', ')} ${status} ${removed.stderr.trim()}`.trim());
  } finally {
    bare.close();
    console.log(`(Debian ${suite}: ${seconds(started)})`);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('test:dist needs root: mount namespaces, chroot, dpkg in a Debian root');
  ensurePrograms();
  const work = mkdtempSync(join(tmpdir(), 'savekit-dist-'));
  try {
    const only = process.env.SAVEKIT_DIST_ONLY; // one step by name, while working on it
    for (const [name, step] of [
      ['build', () => build(work)],
      ['x64 executable', () => checkExecutable(work)],
      ['arm64 executable', () => checkArm64(work)],
      ['Debian 11', () => checkDebian('bullseye', work)],
      ['Debian 13', () => checkDebian('trixie', work)],
    ] as const) {
      if (only && only !== name) continue;
      const started = Date.now();
      console.log(`\n== ${name}`);
      try {
        await step();
      } catch (error) {
        record(`${name}: ran to its end`, false, error instanceof Error ? error.message : String(error));
      }
      console.log(`(${name}: ${seconds(started)})`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => {
    console.log(tally.summary());
    process.exitCode = tally.failed === 0 ? 0 : 1;
  },
  (error: unknown) => {
    console.error(`test:dist: ${error instanceof Error ? error.message : String(error)}`);
    console.log(`${tally.passed} passed, ${tally.failed + 1} failed`);
    process.exitCode = 1;
  },
);
