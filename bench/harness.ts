// Whole-process timing for the throughput benchmarks: each command runs in bash, several
// times, interleaved with its baselines so the machine's drift hits all alike; the median
// counts. GB/s figures from one process each are more honest here than benny's ops/s.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticImage } from '../test/helpers/synthetic-image.js';

export const SAVEKIT = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
/** A path as one shell word (a clone's path may hold spaces). */
export const shellWord = (path: string): string => `'${path.replaceAll("'", "'\\''")}'`;
/** The CLI as one shell word, for the command lines below. */
export const SAVEKIT_SH = shellWord(SAVEKIT);
export const BENCH_DIR = join(tmpdir(), 'savekit-bench');
mkdirSync(BENCH_DIR, { recursive: true });

export interface Case {
  name: string;
  command: string;
}

export interface Timing {
  name: string;
  seconds: number;
  runs: number[];
}

export function requireCommands(...names: string[]): void {
  for (const name of names) {
    if (spawnSync('bash', ['-c', `command -v ${name}`]).status !== 0) throw new Error(`${name} is needed (apt-get install ${name === 'xxhsum' ? 'xxhash' : name})`);
  }
}

function run(command: string): number {
  const started = process.hrtime.bigint();
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (result.status !== 0) throw new Error(`failed (${result.status}): ${command}\n${result.stderr}`);
  return seconds;
}

/** The machine a run measured, for its results: CPU, cores, Node, and what `cat` read at. */
export function machineLine(catSeconds: number, bytes: number): string {
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU';
  return `Machine: ${cpu}, ${availableParallelism()} cores, Node ${process.version}, kernel ${release()}; cat IMG > /dev/null read ${(bytes / catSeconds / 1e9).toFixed(1)} GB/s (page cache warm).`;
}

/** Runs every case `rounds` times, round-robin; returns the median seconds of each. */
export function timeCases(cases: Case[], rounds = 5, before?: () => void): Timing[] {
  const runs = cases.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    cases.forEach((c, i) => {
      before?.();
      runs[i]!.push(run(c.command));
    });
  }
  return cases.map((c, i) => ({ name: c.name, seconds: median(runs[i]!), runs: runs[i]! }));
}

/** Peak resident set size of one command (GNU time), in MiB. */
export function peakRssMiB(command: string): number {
  requireCommands('/usr/bin/time');
  const result = spawnSync('bash', ['-c', `/usr/bin/time -f '%M' ${command} 2>&1 >/dev/null | tail -n 1`]);
  return Number(result.stdout.toString().trim()) / 1024;
}

/**
 * The ratio baseline/case of each round (the two ran back to back, so drift hits both alike):
 * the median over the rounds and the range, as `0.83 (0.79 to 0.88, 9 pairs)`.
 */
export function pairedRatio(timings: Timing[], baseline: string, name: string): { median: number; min: number; max: number; text: string } {
  const base = timings.find((t) => t.name === baseline)!.runs;
  const runs = timings.find((t) => t.name === name)!.runs;
  const ratios = runs.map((seconds, round) => base[round]! / seconds);
  const result = { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
  return { ...result, text: `${result.median.toFixed(2)} (${result.min.toFixed(2)} to ${result.max.toFixed(2)}, ${ratios.length} pairs)` };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A synthetic image with realistic pages (test/helpers/synthetic-image.ts) of `ramGiB` GiB of RAM, made once and kept. */
export function realisticImageOf(ramGiB: number): string {
  const path = join(BENCH_DIR, `convert-${ramGiB}g.save`);
  if (!existsSync(path)) {
    console.log(`writing ${path} ...`);
    writeSyntheticImage(path, { ramBytes: ramGiB * 1024 ** 3, realistic: true });
  }
  return path;
}

/** A synthetic image of about `bytes` (unsealed, or sealed), made once and kept in the bench folder. */
export function syntheticImageOf(bytes: number, options: { sealed?: boolean } = {}): string {
  const path = join(BENCH_DIR, `synthetic-${bytes}.save`);
  const ramBytes = Math.floor((bytes - 200_000) / 4104) * 4096;
  if (!existsSync(path) || Math.abs(statSync(path).size - bytes) > 1_000_000) {
    console.log(`writing ${path} ...`);
    writeSyntheticImage(path, { ramBytes, zeroPageEvery: 0 });
  }
  if (!options.sealed) {
    run(`cat ${path} > /dev/null`); // into the page cache
    return path;
  }
  const sealed = join(BENCH_DIR, `synthetic-${bytes}-sealed.save`);
  if (!existsSync(sealed) || statSync(sealed).size !== statSync(path).size) run(`${process.execPath} ${SAVEKIT_SH} rewrite --seal --quiet ${path} ${sealed}`);
  run(`cat ${sealed} > /dev/null`);
  return sealed;
}

export function table(title: string, timings: Timing[], bytes: number, baseline: string): string {
  const base = timings.find((t) => t.name === baseline)!;
  const rows = timings.map((t) => `| ${t.name.replaceAll('|', '\\|')} | ${t.seconds.toFixed(3)} s | ${(bytes / t.seconds / 1e9).toFixed(2)} GB/s | ${(base.seconds / t.seconds).toFixed(2)} |`);
  return [`### ${title}`, '', `| command | median | throughput | ratio to ${baseline.replaceAll('|', '\\|')} |`, '|---|---|---|---|', ...rows, ''].join('\n');
}

/** Environment settings that force each way of reading a file (lib/io/way-trial.ts); the default is the trial. */
export const READ_WAYS = { mapped: 'SAVEKIT_MMAP=1', copied: 'SAVEKIT_NO_MMAP=1' } as const;

/**
 * The default against the faster of the forced ways, round by round (each round ran all three
 * back to back): `0.97 (0.91 to 1.02, 7 rounds)`; 1.00 means the choice cost nothing.
 */
export function choiceAgainstFaster(timings: Timing[], chosen: string, mapped: string, copied: string): string {
  const runsOf = (name: string) => timings.find((t) => t.name === name)!.runs;
  const [c, m, k] = [runsOf(chosen), runsOf(mapped), runsOf(copied)];
  const ratios = c.map((seconds, round) => Math.min(m[round]!, k[round]!) / seconds);
  return `${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)} to ${Math.max(...ratios).toFixed(2)}, ${ratios.length} rounds)`;
}

/** What the trial chose for `command` (run once more with SAVEKIT_TRACE_READS=1), as savekit prints it. */
export function trialOutcome(command: string): string {
  const result = spawnSync('bash', ['-c', `SAVEKIT_TRACE_READS=1 ${command} 2>&1 >/dev/null`]);
  return /savekit: read .*/.exec(result.stdout.toString())?.[0] ?? 'no trial (a small file, or a pipe)';
}
