// savekit hash and verify against native xxhsum -H1 over the same payload bytes, in one run:
// as they run by default (the trial on the file picks mapped or copied) and forced each way
// (SAVEKIT_MMAP=1, SAVEKIT_NO_MMAP=1), with what the choice cost against the faster way; and
// from a pipe, where a hashing thread overlaps the reads. Run: npm run bench:hash [ROUNDS]
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile } from '../lib/file/open.js';
import { BENCH_DIR, choiceAgainstFaster, machineLine, pairedRatio, READ_WAYS, requireCommands, SAVEKIT_SH, syntheticImageOf, table, timeCases, trialOutcome } from './harness.js';

requireCommands('xxhsum');
const GIB = 1024 ** 3;
const image = syntheticImageOf(4 * GIB);
const { payloadOffset, payloadLength } = await readImageFile(image);
const payload = join(BENCH_DIR, 'payload.bin');
if (!existsSync(payload) || statSync(payload).size !== payloadLength) spawnSync('bash', ['-c', `tail -c +${payloadOffset + 1} ${image} > ${payload}`]);
spawnSync('bash', ['-c', `cat ${payload} > /dev/null`]);
const node = process.execPath;
const sealed = syntheticImageOf(4 * GIB, { sealed: true }); // the same payload, for verify

const rounds = Number(process.argv[2] ?? 7);
const savekit = (command: string, path: string, environment = '') => `${environment} ${node} ${SAVEKIT_SH} ${command} ${path}`;
const jobs = [
  ['hash', 'IMG', image],
  ['verify', 'SEALED', sealed],
] as const;
const timings = timeCases(
  [
    { name: 'cat IMG > /dev/null', command: `cat ${image} > /dev/null` },
    { name: 'xxhsum -H1 PAYLOAD', command: `xxhsum -H1 ${payload}` },
    ...jobs.flatMap(([job, label, path]) => [
      { name: `savekit ${job} ${label}`, command: savekit(job, path) },
      { name: `${READ_WAYS.mapped} savekit ${job} ${label}`, command: savekit(job, path, READ_WAYS.mapped) },
      { name: `${READ_WAYS.copied} savekit ${job} ${label}`, command: savekit(job, path, READ_WAYS.copied) },
    ]),
    { name: 'cat PAYLOAD | xxhsum -H1', command: `cat ${payload} | xxhsum -H1` },
    { name: 'cat IMG | savekit hash -', command: `cat ${image} | ${node} ${SAVEKIT_SH} hash -` },
  ],
  rounds,
);
console.log(`\n${machineLine(timings[0]!.seconds, statSync(image).size)}`);
console.log(`\n${table(`XXH64 of a 4 GiB payload (medians of ${rounds} rounds)`, timings, payloadLength, 'xxhsum -H1 PAYLOAD')}`);
for (const name of timings.map((t) => t.name).filter((name) => name.includes('savekit'))) {
  console.log(`${name} against xxhsum -H1 PAYLOAD, paired per round: ${pairedRatio(timings, 'xxhsum -H1 PAYLOAD', name).text}`);
}
for (const [job, label, path] of jobs) {
  console.log(`savekit ${job}: the trial's choice against the faster forced way, per round: ${choiceAgainstFaster(timings, `savekit ${job} ${label}`, `${READ_WAYS.mapped} savekit ${job} ${label}`, `${READ_WAYS.copied} savekit ${job} ${label}`)}`);
  console.log(`savekit ${job}, once more: ${trialOutcome(savekit(job, path))}`);
}
