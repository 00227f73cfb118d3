// savekit walk and check on a raw 4 GiB image against `cat IMG > /dev/null` in the same run,
// each as it runs by default (the file mapped from the page cache, no copy) and with
// SAVEKIT_NO_MMAP=1 (read with copies, the path pipes take); and peak memory at 1 and 8 GiB.
// `node -e 0` and a bare Node readSync loop (variants/read-loop.mjs) show what any Node.js
// program pays before it parses anything. Run: npm run bench:walk
import { fileURLToPath } from 'node:url';
import { machineLine, pairedRatio, peakRssMiB, SAVEKIT_SH, shellWord, syntheticImageOf, table, timeCases } from './harness.js';

const GIB = 1024 ** 3;
const image = syntheticImageOf(4 * GIB);
const node = process.execPath;
const READ_LOOP = fileURLToPath(new URL('variants/read-loop.mjs', import.meta.url));
const COPYING = 'SAVEKIT_NO_MMAP=1';
const timings = timeCases([
  { name: 'cat IMG > /dev/null', command: `cat ${image} > /dev/null` },
  { name: 'node -e 0', command: `${node} -e 0` },
  { name: 'node read-loop.mjs IMG', command: `${node} ${shellWord(READ_LOOP)} ${image}` },
  { name: 'savekit walk IMG', command: `${node} ${SAVEKIT_SH} walk ${image}` },
  { name: `${COPYING} savekit walk IMG`, command: `${COPYING} ${node} ${SAVEKIT_SH} walk ${image}` },
  { name: 'savekit check IMG', command: `${node} ${SAVEKIT_SH} check ${image}` },
  { name: `${COPYING} savekit check IMG`, command: `${COPYING} ${node} ${SAVEKIT_SH} check ${image}` },
  { name: 'cat IMG | savekit walk -', command: `cat ${image} | ${node} ${SAVEKIT_SH} walk -` },
], 9);
console.log(`\n${machineLine(timings.find((t) => t.name === 'cat IMG > /dev/null')!.seconds, 4 * GIB)}`);
console.log(`\n${table('Walking a raw 4 GiB image', timings, 4 * GIB, 'cat IMG > /dev/null')}`);
for (const name of ['savekit walk IMG', `${COPYING} savekit walk IMG`, 'savekit check IMG', `${COPYING} savekit check IMG`, 'node read-loop.mjs IMG']) {
  console.log(`${name} against cat IMG > /dev/null, paired per round: ${pairedRatio(timings, 'cat IMG > /dev/null', name).text}`);
}

const sizes = [GIB, 8 * GIB];
const images = sizes.map((bytes) => syntheticImageOf(bytes));
console.log('\n| peak RSS (GNU time %M: resident anonymous and mapped file pages) | 1 GiB | 8 GiB | growth |\n|---|---|---|---|');
for (const [command, environment] of [['walk', ''], ['walk', COPYING], ['check', ''], ['hash', '']] as const) {
  const rss = images.map((path) => peakRssMiB(`env ${environment} ${node} ${SAVEKIT_SH} ${command} ${path}`));
  console.log(`| ${environment} savekit ${command} | ${rss[0]!.toFixed(1)} MiB | ${rss[1]!.toFixed(1)} MiB | ${(((rss[1]! - rss[0]!) / rss[0]!) * 100).toFixed(1)}% |`);
}
