// savekit hash against native xxhsum -H1 over the same payload bytes, in one run; and the
// hashing thread against hashing in the reading thread. Run: npm run bench:hash
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile } from '../lib/file/open.js';
import { BENCH_DIR, machineLine, pairedRatio, requireCommands, SAVEKIT_SH, syntheticImageOf, table, timeCases } from './harness.js';

requireCommands('xxhsum');
const GIB = 1024 ** 3;
const image = syntheticImageOf(4 * GIB);
const { payloadOffset, payloadLength } = await readImageFile(image);
const payload = join(BENCH_DIR, 'payload.bin');
if (!existsSync(payload) || statSync(payload).size !== payloadLength) spawnSync('bash', ['-c', `tail -c +${payloadOffset + 1} ${image} > ${payload}`]);
spawnSync('bash', ['-c', `cat ${payload} > /dev/null`]);
const node = process.execPath;
const sealed = syntheticImageOf(4 * GIB, { sealed: true }); // the same payload, for verify

const COPYING = 'SAVEKIT_NO_MMAP=1';
const timings = timeCases(
  [
    { name: 'cat IMG > /dev/null', command: `cat ${image} > /dev/null` },
    { name: 'xxhsum -H1 PAYLOAD', command: `xxhsum -H1 ${payload}` },
    { name: 'savekit hash IMG', command: `${node} ${SAVEKIT_SH} hash ${image}` },
    { name: `${COPYING} savekit hash IMG`, command: `${COPYING} ${node} ${SAVEKIT_SH} hash ${image}` },
    { name: 'savekit verify SEALED', command: `${node} ${SAVEKIT_SH} verify ${sealed}` },
    { name: `${COPYING} savekit verify SEALED`, command: `${COPYING} ${node} ${SAVEKIT_SH} verify ${sealed}` },
    { name: 'cat PAYLOAD | xxhsum -H1', command: `cat ${payload} | xxhsum -H1` },
    { name: 'cat IMG | savekit hash -', command: `cat ${image} | ${node} ${SAVEKIT_SH} hash -` },
  ],
  7,
);
console.log(`\n${machineLine(timings[0]!.seconds, statSync(image).size)}`);
console.log(`\n${table('XXH64 of a 4 GiB payload', timings, payloadLength, 'xxhsum -H1 PAYLOAD')}`);
for (const name of ['savekit hash IMG', `${COPYING} savekit hash IMG`, 'savekit verify SEALED', `${COPYING} savekit verify SEALED`]) {
  console.log(`${name} against xxhsum -H1 PAYLOAD, paired per round: ${pairedRatio(timings, 'xxhsum -H1 PAYLOAD', name).text}`);
}
for (const name of ['savekit hash IMG', `${COPYING} savekit hash IMG`]) {
  console.log(`${name} against cat IMG > /dev/null, paired per round: ${pairedRatio(timings, 'cat IMG > /dev/null', name).text}`);
}
