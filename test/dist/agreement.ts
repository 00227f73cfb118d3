// What "the executable and the npm package agree" means, as one table: the same command lines run
// by two savekits, each in a folder of its own holding the same images under the same names, give
// the same exit status, the same standard output and the same output files, byte for byte.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { aarch64PairDir, dumpPairDir, GENUINE_SAMPLES, samplePath } from '../helpers/samples.js';

/** How to run one savekit: argv in `cwd`; resolves to what it printed. */
export type Runner = (args: string[], cwd: string) => { status: number; stdout: Buffer; stderr: string };

export interface Case {
  name: string;
  args: string[];
  /** Files the command writes in its folder, compared after it. */
  outputs?: string[];
  /**
   * Its outputs are compressed by a program of the machine's (zstd): another version of it may
   * choose other bytes for the same data, so they are compared as their prologue and their
   * decompressed QEMU stream (converted to raw by the reference savekit).
   */
  compressedBy?: string;
}

/**
 * check's line about this machine (whether a qemu-system here offers the image's machine type:
 * a status line, or a warning when it does not) says where it ran, not what savekit is: left out
 * of the comparison.
 */
const MACHINE_LINE = /^(?:.. {2}machine type |warning: the machine type ).*\n/gm;
const checkCase = (image: string): Case => ({ name: `check ${image}`, args: ['check', image] });

/** The images the cases run on: every genuine sample, the x86 dump pair and an aarch64 pair, under short names. */
export function stageImages(folder: string, only?: readonly string[]): string[] {
  mkdirSync(folder, { recursive: true });
  const images: [string, string][] = [
    ...GENUINE_SAMPLES.map((sample): [string, string] => [sample.file.replaceAll('/', '_'), samplePath(sample.file)]),
    ['dump-pair_tinydump.save', join(dumpPairDir(), 'tinydump.save')],
    ['aarch64-11.3_tiny.save', join(aarch64PairDir('libvirt-11.3'), 'tiny.save')],
  ];
  const chosen = images.filter(([name]) => !only || only.includes(name));
  for (const [name, source] of chosen) copyFileSync(source, join(folder, name));
  return chosen.map(([name]) => name);
}

/** Every command a user meets, on every image: the full agreement. */
export function everyCase(images: readonly string[]): Case[] {
  const cases: Case[] = [];
  for (const image of images) {
    const x86 = !image.startsWith('aarch64');
    cases.push(
      { name: `info --json ${image}`, args: ['info', '--json', image] },
      { name: `walk --json ${image}`, args: ['walk', '--json', image] },
      { name: `hash ${image}`, args: ['hash', image] },
      checkCase(image),
      { name: `dumpxml ${image}`, args: ['dumpxml', image] },
      { name: `state --json ${image}`, args: ['state', '--json', image] },
      { name: `state --registers ${image}`, args: ['state', '--registers', image] },
      ...['raw', 'zstd', 'sparse', 'gzip'].map((format) => ({ name: `convert --format ${format} ${image}`, args: ['convert', '--quiet', '--format', format, image, `${image}.${format}`], outputs: [`${image}.${format}`] })),
      { name: `rewrite --seal --paused ${image}`, args: ['rewrite', '--quiet', '--seal', '--paused', image, `${image}.sealed`], outputs: [`${image}.sealed`] },
    );
    if (image.includes('tiny')) cases.push({ name: `extract-ram --elf ${image}`, args: ['extract-ram', '--quiet', '--elf', image, `${image}.core`], outputs: [`${image}.core`] });
    if (x86 && image.includes('tiny')) cases.push({ name: `extract-ram --physical ${image}`, args: ['extract-ram', '--quiet', '--physical', image, `${image}.phys`], outputs: [`${image}.phys`] });
  }
  return [...cases, ...deltaCases(images, true)];
}

/** What the issue asks of each installed package: info, check, convert to zstd, delta and apply, registers, an ELF core (its zstd may not be ours). */
export function installedCases(images: readonly string[]): Case[] {
  return images.flatMap((image) => [
    { name: `info --json ${image}`, args: ['info', '--json', image] },
    checkCase(image),
    { name: `convert --format zstd ${image}`, args: ['convert', '--quiet', '--format', 'zstd', image, `${image}.zst.save`], outputs: [`${image}.zst.save`], compressedBy: 'zstd' },
    { name: `state --registers ${image}`, args: ['state', '--registers', image] },
    ...(image.includes('tiny') ? [{ name: `extract-ram --elf ${image}`, args: ['extract-ram', '--quiet', '--elf', image, `${image}.core`], outputs: [`${image}.core`] }] : []),
  ]).concat(deltaCases(images, false));
}

/**
 * delta, signature and apply between two saves of one guest (libvirt 9.0's gzip and raw), where
 * both are staged. A delta and a signature are zstd frames made by the machine's zstd: compared
 * byte for byte only where both savekits run the same one (`sameZstd`), and always through the
 * image apply rebuilds from them, which must be NEW's bytes.
 */
function deltaCases(images: readonly string[], sameZstd: boolean): Case[] {
  const [base, next] = ['libvirt-9.0_gzip.save', 'libvirt-9.0_raw.save'];
  if (!images.includes(base) || !images.includes(next)) return [];
  const zstdFrames = (file: string): string[] => (sameZstd ? [file] : []);
  return [
    { name: `delta ${base} ${next}`, args: ['delta', '--quiet', base, next, 'gzip-raw.delta'], outputs: zstdFrames('gzip-raw.delta') },
    { name: `apply ${base} gzip-raw.delta`, args: ['apply', '--quiet', base, 'gzip-raw.delta', 'applied.save'], outputs: ['applied.save'] },
    { name: `signature ${base}`, args: ['signature', '--quiet', base, 'gzip.sig'], outputs: zstdFrames('gzip.sig') },
    { name: `delta --signature gzip.sig ${next}`, args: ['delta', '--quiet', '--signature', 'gzip.sig', next, 'by-signature.delta'], outputs: zstdFrames('by-signature.delta') },
    { name: `apply ${base} by-signature.delta`, args: ['apply', '--quiet', base, 'by-signature.delta', 'applied-by-signature.save'], outputs: ['applied-by-signature.save'] },
  ];
}

export interface Disagreement {
  case: string;
  detail: string;
}

/** Runs every case with both savekits (each in its own folder, in order) and lists where they differ. */
export function compare(cases: readonly Case[], reference: { run: Runner; folder: string }, candidate: { run: Runner; folder: string }): Disagreement[] {
  const differences: Disagreement[] = [];
  for (const one of cases) {
    const expected = withoutMachineLine(one, reference.run(one.args, reference.folder));
    const got = withoutMachineLine(one, candidate.run(one.args, candidate.folder));
    const problems: string[] = [];
    if (expected.status !== got.status) problems.push(`exit ${got.status}, not ${expected.status}: ${got.stderr.trim().slice(0, 300)}`);
    if (!expected.stdout.equals(got.stdout)) problems.push(`stdout differs (${got.stdout.length} bytes, not ${expected.stdout.length})`);
    for (const output of one.outputs ?? []) {
      const [a, b] = [join(reference.folder, output), join(candidate.folder, output)];
      if (!existsSync(a) || !existsSync(b)) problems.push(`${output} missing (${existsSync(a) ? 'candidate' : 'reference'})`);
      else if (!sameFile(a, b) && !(one.compressedBy && sameOnceRaw(reference.run, a, b, reference.folder))) problems.push(`${output} differs`);
    }
    if (expected.status !== 0 && one.outputs) problems.push(`the reference failed: ${expected.stderr.trim().slice(0, 300)}`);
    if (problems.length > 0) differences.push({ case: one.name, detail: problems.join('; ') });
  }
  return differences;
}

function withoutMachineLine(one: Case, result: ReturnType<Runner>): ReturnType<Runner> {
  return one.args[0] === 'check' ? { ...result, stdout: Buffer.from(result.stdout.toString('latin1').replace(MACHINE_LINE, ''), 'latin1') } : result;
}

/** The same image but for the compressor's choices: equal once both are converted to raw. */
function sameOnceRaw(run: Runner, a: string, b: string, folder: string): boolean {
  const [rawA, rawB] = [`${a}.as-raw`, `${b}.as-raw`];
  try {
    return run(['convert', '--quiet', '--format', 'raw', a, rawA], folder).status === 0 && run(['convert', '--quiet', '--format', 'raw', b, rawB], folder).status === 0 && sameFile(rawA, rawB);
  } finally {
    rmSync(rawA, { force: true });
    rmSync(rawB, { force: true });
  }
}

function sameFile(a: string, b: string): boolean {
  return spawnSync('cmp', ['-s', a, b]).status === 0;
}

/** The npm package's savekit, run by this Node. */
export function npmPackageRunner(savekitJs: string): Runner {
  return (args, cwd) => {
    const result = spawnSync(process.execPath, [savekitJs, ...args], { cwd, maxBuffer: 1 << 28 });
    return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
  };
}
