// This build against an earlier commit, in the same run on the same machine: for a change that
// should move no job's speed (a refactor), the only baseline that means anything is the code
// before it, since figures from another host or another day differ by more than the change.
// The earlier commit is checked out in a worktree under the bench folder and built there (npm ci);
// the two run alternately, each second in half the rounds (a write's writeback lands on
// whatever runs next), every output removed and synced before a timed run. Reports each job's
// medians and the paired after/before ratio. Run: npm run bench:builds -- [REV [ROUNDS]]
// (REV defaults to HEAD: the working tree's uncommitted change against the last commit).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, median, SAVEKIT_SH, shellWord, syntheticImageOf } from './harness.js';
import { writeSyntheticImage } from '../test/helpers/synthetic-image.js';

const [rev = 'HEAD', roundsArg] = process.argv.slice(2);
const rounds = Math.max(2, Number(roundsArg ?? 8) & ~1); // even: each build second as often as first
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const GIB = 1024 ** 3;

function sh(command: string, cwd = ROOT): string {
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], { cwd, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`failed: ${command}\n${result.stderr}`);
  return result.stdout.trim();
}

const commit = sh(`git rev-parse --verify ${shellWord(`${rev}^{commit}`)}`);
const tree = join(BENCH_DIR, `build-${commit.slice(0, 12)}`);
if (!existsSync(join(tree, 'dist', 'cli', 'main.js'))) {
  console.log(`building ${commit.slice(0, 12)} in ${tree} ...`);
  rmSync(tree, { recursive: true, force: true });
  sh('git worktree prune');
  sh(`git worktree add --detach ${shellWord(tree)} ${commit}`);
  sh('npm ci --no-audit --no-fund --loglevel=error', tree);
}
const before = shellWord(join(tree, 'dist', 'cli', 'main.js'));
const after = SAVEKIT_SH;

// Inputs: the synthetic 4 GiB image (sealed too) for the readers, a realistic 2 GiB guest pair
// (3% of pages rewritten, as bench:delta) for convert, delta and apply.
const image = syntheticImageOf(4 * GIB);
const sealed = syntheticImageOf(4 * GIB, { sealed: true });
const work = join(BENCH_DIR, 'builds');
mkdirSync(work, { recursive: true });
const base = join(work, 'base.save');
const next = join(work, 'new.save');
const rewritten = (page: number) => (Math.imul(page, 0x9e3779b1) >>> 0) % 66 === 0 || (page >> 6) % 66 === 33;
if (!existsSync(next)) {
  writeSyntheticImage(base, { ramBytes: 2 * GIB, realistic: true });
  writeSyntheticImage(next, { ramBytes: 2 * GIB, realistic: true, rewritten: (_block, page) => (rewritten(page) ? 'data' : null) });
}
const node = shellWord(process.execPath);
const outPath = join(work, 'out');
const [zstd, delta, out] = [join(work, 'new-zstd.save'), join(work, 'ref.delta'), outPath].map(shellWord) as [string, string, string];
sh(`${node} ${after} convert --quiet --format zstd ${shellWord(next)} ${zstd}`);
sh(`${node} ${after} delta --quiet ${shellWord(base)} ${shellWord(next)} ${delta}`);

const jobs: [string, (savekit: string) => string][] = [
  ['walk 4 GiB', (s) => `${node} ${s} walk ${shellWord(image)}`],
  ['check 4 GiB', (s) => `${node} ${s} check ${shellWord(image)}`],
  ['hash 4 GiB', (s) => `${node} ${s} hash ${shellWord(image)}`],
  ['verify 4 GiB sealed', (s) => `${node} ${s} verify ${shellWord(sealed)}`],
  ['SAVEKIT_NO_MMAP=1 walk 4 GiB', (s) => `SAVEKIT_NO_MMAP=1 ${node} ${s} walk ${shellWord(image)}`],
  ['SAVEKIT_NO_MMAP=1 hash 4 GiB', (s) => `SAVEKIT_NO_MMAP=1 ${node} ${s} hash ${shellWord(image)}`],
  ['convert zstd -> raw (2 GiB guest)', (s) => `${node} ${s} convert --quiet --format raw ${zstd} ${out}`],
  ['convert raw -> zstd (2 GiB guest)', (s) => `${node} ${s} convert --quiet --format zstd ${shellWord(next)} ${out}`],
  ['convert raw -> sparse (2 GiB guest)', (s) => `${node} ${s} convert --quiet --format sparse ${shellWord(next)} ${out}`],
  ['delta BASE NEW (2 GiB pair)', (s) => `${node} ${s} delta --quiet ${shellWord(base)} ${shellWord(next)} ${out}`],
  ['apply BASE D (2 GiB pair)', (s) => `${node} ${s} apply --quiet ${shellWord(base)} ${delta} ${out}`],
];

function timed(command: string): number {
  sh(`rm -f ${out}; sync`);
  const started = performance.now();
  sh(`${command} > /dev/null`);
  return (performance.now() - started) / 1000;
}

console.log(`\n${commit.slice(0, 12)} (before) against this tree (after), ${rounds} alternating rounds\n`);
console.log('| job | before | after | after/before, paired (range) |\n|---|---|---|---|');
for (const [name, command] of jobs) {
  const times = { before: [] as number[], after: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const which of order) times[which].push(timed(command(which === 'before' ? before : after)));
  }
  const ratios = times.after.map((seconds, round) => seconds / times.before[round]!);
  console.log(`| ${name} | ${median(times.before).toFixed(3)} s | ${median(times.after).toFixed(3)} s | ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}) |`);
}
rmSync(outPath, { force: true });
