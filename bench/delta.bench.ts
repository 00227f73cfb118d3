// savekit delta and apply against the general delta tools, in the same run, on a 4 GiB guest
// pair as DELTA.md describes it: realistic pages (60% zero pages, data pages that compress about
// 2:1), and NEW with 3% of its pages rewritten with new random content, half scattered and half
// in runs of 64 pages. Timed round-robin (median of 5):
//   savekit delta BASE NEW D    against rsync --only-write-batch --no-whole-file and
//                               zstd --patch-from (its default level 3, as savekit's body)
//   savekit apply BASE D OUT    against cp NEW OUT && sync OUT (apply syncs before its magic)
// xdelta3 -e -B 2 GiB (its largest window) runs once, for its size and memory. Then peak RSS of
// savekit at 1 and 8 GiB, beside zstd's and xdelta3's at 1 and 4 GiB (zstd refuses files over
// 2 GiB), each the median of three runs. Run: npm run bench:delta
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, pairedRatio, peakRssMiB, requireCommands, SAVEKIT_SH, shellWord, table, timeCases, type Case } from './harness.js';
import { writeSyntheticImage } from '../test/helpers/synthetic-image.js';

requireCommands('zstd', 'rsync', 'xdelta3', 'cp');
const GIB = 1024 ** 3;
const savekit = `${shellWord(process.execPath)} ${SAVEKIT_SH}`;

function sh(command: string): string {
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (result.status !== 0) throw new Error(`failed: ${command}\n${result.stderr}`);
  return result.stdout;
}

/** 1.5% of pages one by one, 1.5% in runs of 64: the pages a guest rewrote between two saves. */
const rewritten = (page: number) => (Math.imul(page, 0x9e3779b1) >>> 0) % 66 === 0 || (page >> 6) % 66 === 33;

/** A BASE and NEW pair of `ramGiB`, written once and kept in the bench folder; its changed pages. */
function pair(ramGiB: number): { base: string; next: string; changedPages: number } {
  const base = join(BENCH_DIR, `delta-${ramGiB}g-base.save`);
  const next = join(BENCH_DIR, `delta-${ramGiB}g-new.save`);
  let changedPages = 0;
  const pages = (ramGiB * GIB) / 4096;
  for (let page = 0; page < pages; page++) if (rewritten(page)) changedPages++;
  if (!existsSync(base) || !existsSync(next)) {
    console.log(`writing the ${ramGiB} GiB pair ...`);
    writeSyntheticImage(base, { ramBytes: ramGiB * GIB, realistic: true });
    writeSyntheticImage(next, { ramBytes: ramGiB * GIB, realistic: true, rewritten: (_block, page) => (rewritten(page) ? 'data' : null) });
  }
  return { base, next, changedPages };
}

const { base, next, changedPages } = pair(4);
const at = (name: string) => join(BENCH_DIR, name);
const rsyncDir = at('delta-rsync');
mkdirSync(rsyncDir, { recursive: true });
// rsync compares NEW with the file of the same name in the destination: BASE's copy.
if (!existsSync(join(rsyncDir, 'delta-4g-new.save'))) sh(`cp ${base} ${join(rsyncDir, 'delta-4g-new.save')}`);
sh(`cat ${base} ${next} > /dev/null`);
const changedBytes = changedPages * 4096;
console.log(`pair: ${(statSync(base).size / 1e9).toFixed(2)} GB and ${(statSync(next).size / 1e9).toFixed(2)} GB; ${changedPages} pages rewritten (${(changedBytes / 1e6).toFixed(1)} MB)`);

const out = at('delta-out.save');
const cases: Case[] = [
  { name: 'rsync --only-write-batch --no-whole-file', command: `rsync --only-write-batch=${at('delta-rsync.batch')} --no-whole-file ${next} ${rsyncDir}/` },
  { name: 'zstd --patch-from=BASE NEW', command: `zstd -q -f --patch-from=${base} ${next} -o ${at('delta-zstd.patch')}` },
  { name: 'savekit delta BASE NEW D', command: `${savekit} delta --quiet ${base} ${next} ${at('delta-savekit.delta')}` },
  { name: 'cp NEW OUT && sync OUT', command: `cp ${next} ${out} && sync ${out}` },
  { name: 'savekit apply BASE D OUT', command: `${savekit} apply --quiet ${base} ${at('delta-savekit.delta')} ${out}` },
];
const timings = timeCases(cases, 5, () => {
  rmSync(out, { force: true });
  spawnSync('sync');
});
sh(`cmp ${out} ${next}`); // apply gave NEW back
console.log(`\n${table('Delta of a 4 GiB guest pair (3% of pages rewritten)', timings, statSync(next).size, 'rsync --only-write-batch --no-whole-file')}`);
for (const [baseline, name] of [
  ['rsync --only-write-batch --no-whole-file', 'savekit delta BASE NEW D'],
  ['zstd --patch-from=BASE NEW', 'savekit delta BASE NEW D'],
  ['cp NEW OUT && sync OUT', 'savekit apply BASE D OUT'],
]) {
  console.log(`${name} against ${baseline}: ${pairedRatio(timings, baseline!, name!).text}`);
}

const started = process.hrtime.bigint();
const xdeltaRss = peakRssMiB(`xdelta3 -f -e -B 2147483648 -s ${base} ${next} ${at('delta-xdelta3.vcdiff')}`);
const xdeltaSeconds = Number(process.hrtime.bigint() - started) / 1e9;
const size = (name: string) => statSync(at(name)).size;
const sizes = [
  ['rewritten pages (4 KiB each)', changedBytes],
  ['rsync batch', size('delta-rsync.batch')],
  [`xdelta3 -e -B 2 GiB (${xdeltaSeconds.toFixed(1)} s, ${xdeltaRss.toFixed(0)} MiB)`, size('delta-xdelta3.vcdiff')],
  ['zstd --patch-from', size('delta-zstd.patch')],
  ['savekit delta', size('delta-savekit.delta')],
] as const;
console.log('\n| delta | bytes | to the rewritten pages |\n|---|---|---|');
for (const [name, bytes] of sizes) console.log(`| ${name} | ${(bytes / 1e6).toFixed(1)} MB | ${(bytes / changedBytes).toFixed(3)} |`);
const ours = size('delta-savekit.delta');
console.log(`savekit's delta: ${(ours / size('delta-zstd.patch')).toFixed(3)} of zstd's, ${(ours / size('delta-rsync.batch')).toFixed(3)} of rsync's, ${(ours / (1.05 * changedBytes + 2 ** 20)).toFixed(3)} of 1.05 x rewritten + 1 MiB`);

const small = pair(1);
const large = pair(8);
/** Peak RSS, the median of three runs: one run's figure moves by several MiB with the GC's timing. */
const rss = (command: string) => [peakRssMiB(command), peakRssMiB(command), peakRssMiB(command)].sort((a, b) => a - b)[1]!.toFixed(1);
const d = at('delta-rss.delta');
console.log('\n| peak RSS | 1 GiB pair | 4 GiB pair | 8 GiB pair |\n|---|---|---|---|');
const deltaRss = [rss(`${savekit} delta --quiet ${small.base} ${small.next} ${d}`), rss(`${savekit} delta --quiet ${large.base} ${large.next} ${d}`)];
const applyRss = [rss(`${savekit} apply --quiet ${large.base} ${d} ${out}`)];
sh(`${savekit} delta --quiet ${small.base} ${small.next} ${d}`);
applyRss.unshift(rss(`${savekit} apply --quiet ${small.base} ${d} ${out}`));
console.log(`| savekit delta | ${deltaRss[0]} MiB | | ${deltaRss[1]} MiB |`);
console.log(`| savekit apply | ${applyRss[0]} MiB | | ${applyRss[1]} MiB |`);
console.log(`| zstd --patch-from | ${rss(`zstd -q -f --patch-from=${small.base} ${small.next} -o ${at('delta-rss.zst')}`)} MiB | ${rss(`zstd -q -f --patch-from=${base} ${next} -o ${at('delta-rss.zst')}`)} MiB | refuses (over 2 GiB) |`);
console.log(`| xdelta3 -e -B 2 GiB | ${rss(`xdelta3 -f -e -B 2147483648 -s ${small.base} ${small.next} ${at('delta-rss.vcdiff')}`)} MiB | ${xdeltaRss.toFixed(1)} MiB | |`);
rmSync(out, { force: true });
