// savekit convert against the programs that do each half of the job alone, in the same run, on a
// 4 GiB guest with realistic pages (60% zero pages, data pages that compress about 2:1):
//   raw -> zstd    against zstd -c PAYLOAD > OUT (same level, same threads)
//   zstd -> raw    against zstd -dc ZPAYLOAD > OUT
//   raw -> sparse  against cp --sparse=always IMG OUT
//   sparse -> raw  against cp RAW OUT (the same bytes written), from the file and from a pipe
// savekit syncs its output before the final magic: the ratios that count are against the
// baselines that do the same work, `&& sync OUT`; the plain rows stay to show what the sync
// costs. Then peak RSS at 1 GiB and 8 GiB. Run: npm run bench:convert
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, pairedRatio, peakRssMiB, realisticImageOf, requireCommands, SAVEKIT_SH, table, timeCases, type Case } from './harness.js';

requireCommands('zstd', 'cp');
const node = process.execPath;
const savekit = `${node} ${SAVEKIT_SH} convert --quiet`;

function sh(command: string): string {
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`failed: ${command}\n${result.stderr}`);
  return result.stdout;
}

const image = realisticImageOf(4);
const payloadOffset = (JSON.parse(sh(`${node} ${SAVEKIT_SH} info --json ${image}`)) as { payloadOffset: number }).payloadOffset;
const at = (name: string) => join(BENCH_DIR, name);
if (!existsSync(at('convert-4g.qemu'))) sh(`tail -c +${payloadOffset + 1} ${image} > ${at('convert-4g.qemu')}`);
if (!existsSync(at('convert-4g-zstd.save'))) sh(`${savekit} --format zstd ${image} ${at('convert-4g-zstd.save')}`);
if (!existsSync(at('convert-4g-sparse.save'))) sh(`${savekit} --format sparse ${image} ${at('convert-4g-sparse.save')}`);
if (!existsSync(at('convert-4g.zst'))) sh(`tail -c +${payloadOffset + 1} ${at('convert-4g-zstd.save')} > ${at('convert-4g.zst')}`);
sh(`cat ${image} ${at('convert-4g.qemu')} ${at('convert-4g-zstd.save')} ${at('convert-4g.zst')} > /dev/null`);
const sizes = { image: statSync(image).size, zstd: statSync(at('convert-4g-zstd.save')).size };
console.log(`image ${(sizes.image / 1e9).toFixed(2)} GB raw, ${(sizes.zstd / 1e9).toFixed(2)} GB zstd (${(sizes.image / sizes.zstd).toFixed(2)}:1)`);

const out = at('convert-out');
const cases: Case[] = [
  { name: 'zstd -c PAYLOAD > OUT', command: `zstd -q -c ${at('convert-4g.qemu')} > ${out}` },
  { name: 'savekit convert raw -> zstd', command: `${savekit} --format zstd ${image} ${out}` },
  { name: 'zstd -c PAYLOAD > OUT && sync OUT', command: `zstd -q -c ${at('convert-4g.qemu')} > ${out} && sync ${out}` },
  { name: 'zstd -dc ZPAYLOAD > OUT', command: `zstd -q -dc ${at('convert-4g.zst')} > ${out}` },
  { name: 'savekit convert zstd -> raw', command: `${savekit} --format raw ${at('convert-4g-zstd.save')} ${out}` },
  { name: 'zstd -dc ZPAYLOAD > OUT && sync OUT', command: `zstd -q -dc ${at('convert-4g.zst')} > ${out} && sync ${out}` },
  { name: 'cp --sparse=always IMG OUT', command: `cp --sparse=always ${image} ${out}` },
  { name: 'savekit convert raw -> sparse', command: `${savekit} --format sparse ${image} ${out}` },
  { name: 'cp --sparse=always IMG OUT && sync OUT', command: `cp --sparse=always ${image} ${out} && sync ${out}` },
  { name: 'cat SPARSE > /dev/null', command: `cat ${at('convert-4g-sparse.save')} > /dev/null` },
  { name: 'cp RAW OUT', command: `cp ${image} ${out}` },
  { name: 'savekit convert sparse -> raw', command: `${savekit} --format raw ${at('convert-4g-sparse.save')} ${out}` },
  { name: 'cat SPARSE | savekit convert sparse -> raw', command: `cat ${at('convert-4g-sparse.save')} | ${savekit} --format raw - ${out}` },
  { name: 'cp RAW OUT && sync OUT', command: `cp ${image} ${out} && sync ${out}` },
];
const timings = timeCases(cases, 5, () => {
  // Every case starts with no dirty pages of an earlier one left to write back.
  rmSync(out, { force: true });
  spawnSync('sync');
});
console.log(`\n${table('Converting a 4 GiB guest (realistic pages)', timings, sizes.image, 'cat SPARSE > /dev/null')}`);
for (const [baseline, name] of [
  ['zstd -c PAYLOAD > OUT && sync OUT', 'savekit convert raw -> zstd'],
  ['zstd -dc ZPAYLOAD > OUT && sync OUT', 'savekit convert zstd -> raw'],
  ['cp --sparse=always IMG OUT && sync OUT', 'savekit convert raw -> sparse'],
  ['cp RAW OUT && sync OUT', 'savekit convert sparse -> raw'],
  ['cp RAW OUT && sync OUT', 'cat SPARSE | savekit convert sparse -> raw'],
  // Without the sync (the baselines leave their output in the page cache; savekit cannot).
  ['zstd -c PAYLOAD > OUT', 'savekit convert raw -> zstd'],
  ['zstd -dc ZPAYLOAD > OUT', 'savekit convert zstd -> raw'],
  ['cp --sparse=always IMG OUT', 'savekit convert raw -> sparse'],
  ['cp RAW OUT', 'savekit convert sparse -> raw'],
]) {
  console.log(`${name} against ${baseline}: ${pairedRatio(timings, baseline!, name!).text}`);
}

const small = realisticImageOf(1);
const large = realisticImageOf(8);
for (const format of ['zstd', 'sparse', 'raw']) {
  const rss = [peakRssMiB(`${savekit} --format ${format} ${small} ${out}`), peakRssMiB(`${savekit} --format ${format} ${large} ${out}`)];
  console.log(`| convert raw -> ${format} | ${rss[0]!.toFixed(1)} MiB at 1 GiB | ${rss[1]!.toFixed(1)} MiB at 8 GiB | ${((Math.abs(rss[1]! - rss[0]!) / rss[0]!) * 100).toFixed(1)}% |`);
}
rmSync(out, { force: true });
