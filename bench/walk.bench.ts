// savekit walk on a raw 4 GiB image against `cat IMG > /dev/null` in the same run, and its
// peak memory at two sizes. `node -e 0` and a bare Node readSync loop (variants/read-loop.mjs)
// show what any Node.js program pays before it parses anything. Run: npm run bench:walk
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, pairedRatio, peakRssMiB, SAVEKIT_SH, shellWord, syntheticImageOf, table, timeCases } from './harness.js';
import { writeSyntheticImage } from '../test/helpers/synthetic-image.js';

const GIB = 1024 ** 3;
const image = syntheticImageOf(4 * GIB);
const node = process.execPath;
const READ_LOOP = fileURLToPath(new URL('variants/read-loop.mjs', import.meta.url));
const timings = timeCases([
  { name: 'cat IMG > /dev/null', command: `cat ${image} > /dev/null` },
  { name: 'node -e 0', command: `${node} -e 0` },
  { name: 'node read-loop.mjs IMG', command: `${node} ${shellWord(READ_LOOP)} ${image}` },
  { name: 'savekit walk IMG', command: `${node} ${SAVEKIT_SH} walk ${image}` },
  { name: 'savekit check IMG', command: `${node} ${SAVEKIT_SH} check ${image}` },
  { name: 'cat IMG | savekit walk -', command: `cat ${image} | ${node} ${SAVEKIT_SH} walk -` },
], 9);
console.log(`\n${table('Walking a raw 4 GiB image', timings, 4 * GIB, 'cat IMG > /dev/null')}`);
const seconds = (name: string) => timings.find((t) => t.name === name)!.seconds;
for (const name of ['savekit walk IMG', 'savekit check IMG', 'node read-loop.mjs IMG']) {
  console.log(`${name} / cat IMG > /dev/null, paired per round: median ${pairedRatio(timings, 'cat IMG > /dev/null', name).text}`);
}
console.log(`savekit walk against the bare Node read loop: ${(seconds('node read-loop.mjs IMG') / seconds('savekit walk IMG')).toFixed(2)}`);

const small = join(BENCH_DIR, 'walk-512m.save');
writeSyntheticImage(small, { ramBytes: 512 * 1024 * 1024, zeroPageEvery: 0 });
const rss = [peakRssMiB(`${node} ${SAVEKIT_SH} walk ${small}`), peakRssMiB(`${node} ${SAVEKIT_SH} walk ${image}`)];
console.log(`| savekit walk | ${rss[0]!.toFixed(1)} MiB at 512 MiB | ${rss[1]!.toFixed(1)} MiB at 4 GiB | ${((Math.abs(rss[1]! - rss[0]!) / rss[0]!) * 100).toFixed(1)}% |`);
