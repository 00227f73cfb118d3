// savekit walk and check on a raw 4 GiB image against `cat IMG > /dev/null` in the same run,
// each as it runs by default (mapped or copied, as the trial on the file finds faster here), and
// forced each way (SAVEKIT_MMAP=1, SAVEKIT_NO_MMAP=1); what the trial chose and what the choice
// cost against the faster way; and peak memory at 1 and 8 GiB, each way. `node -e 0` and a bare
// Node readSync loop (variants/read-loop.mjs) show what any Node.js program pays before it
// parses anything. Run: npm run bench:walk [ROUNDS]
import { fileURLToPath } from 'node:url';
import { choiceAgainstFaster, machineLine, pairedRatio, peakRssMiB, READ_WAYS, SAVEKIT_SH, shellWord, syntheticImageOf, table, timeCases, trialOutcome } from './harness.js';

const GIB = 1024 ** 3;
const rounds = Number(process.argv[2] ?? 7);
const image = syntheticImageOf(4 * GIB);
const node = process.execPath;
const READ_LOOP = fileURLToPath(new URL('variants/read-loop.mjs', import.meta.url));
const savekit = (command: string, environment = '') => `${environment} ${node} ${SAVEKIT_SH} ${command} ${image}`;
const jobs = ['walk', 'check'];
const timings = timeCases(
  [
    { name: 'cat IMG > /dev/null', command: `cat ${image} > /dev/null` },
    { name: 'node -e 0', command: `${node} -e 0` },
    { name: 'node read-loop.mjs IMG', command: `${node} ${shellWord(READ_LOOP)} ${image}` },
    ...jobs.flatMap((job) => [
      { name: `savekit ${job} IMG`, command: savekit(job) },
      { name: `${READ_WAYS.mapped} savekit ${job} IMG`, command: savekit(job, READ_WAYS.mapped) },
      { name: `${READ_WAYS.copied} savekit ${job} IMG`, command: savekit(job, READ_WAYS.copied) },
    ]),
    { name: 'cat IMG | savekit walk -', command: `cat ${image} | ${node} ${SAVEKIT_SH} walk -` },
  ],
  rounds,
);
console.log(`\n${machineLine(timings.find((t) => t.name === 'cat IMG > /dev/null')!.seconds, 4 * GIB)}`);
console.log(`\n${table(`Walking a raw 4 GiB image (medians of ${rounds} rounds)`, timings, 4 * GIB, 'cat IMG > /dev/null')}`);
for (const name of timings.map((t) => t.name).filter((name) => name.includes('savekit') || name.includes('read-loop'))) {
  console.log(`${name} against cat IMG > /dev/null, paired per round: ${pairedRatio(timings, 'cat IMG > /dev/null', name).text}`);
}
for (const job of jobs) {
  console.log(`savekit ${job}: the trial's choice against the faster forced way, per round: ${choiceAgainstFaster(timings, `savekit ${job} IMG`, `${READ_WAYS.mapped} savekit ${job} IMG`, `${READ_WAYS.copied} savekit ${job} IMG`)}`);
  console.log(`savekit ${job}, once more: ${trialOutcome(savekit(job))}`);
}

const sizes = [GIB, 8 * GIB];
const images = sizes.map((bytes) => syntheticImageOf(bytes));
console.log('\n| peak RSS (GNU time %M: resident anonymous and mapped file pages) | 1 GiB | 8 GiB | growth |\n|---|---|---|---|');
for (const command of ['walk', 'check', 'hash']) {
  for (const environment of ['', READ_WAYS.mapped, READ_WAYS.copied]) {
    const rss = images.map((path) => peakRssMiB(`env ${environment} ${node} ${SAVEKIT_SH} ${command} ${path}`));
    console.log(`| ${environment} savekit ${command} | ${rss[0]!.toFixed(1)} MiB | ${rss[1]!.toFixed(1)} MiB | ${(((rss[1]! - rss[0]!) / rss[0]!) * 100).toFixed(1)}% |`);
  }
}
