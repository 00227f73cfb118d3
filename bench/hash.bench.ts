// savekit hash against native xxhsum -H1 over the same payload bytes, in one run; and the
// hashing thread against hashing in the reading thread. Run: npm run bench:hash
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile } from '../lib/file/open.js';
import { BENCH_DIR, requireCommands, SAVEKIT_SH, syntheticImageOf, table, timeCases } from './harness.js';

requireCommands('xxhsum');
const GIB = 1024 ** 3;
const image = syntheticImageOf(4 * GIB);
const { payloadOffset, payloadLength } = await readImageFile(image);
const payload = join(BENCH_DIR, 'payload.bin');
if (!existsSync(payload) || statSync(payload).size !== payloadLength) spawnSync('bash', ['-c', `tail -c +${payloadOffset + 1} ${image} > ${payload}`]);
spawnSync('bash', ['-c', `cat ${payload} > /dev/null`]);
const node = process.execPath;
const sealed = syntheticImageOf(4 * GIB, { sealed: true }); // the same payload, for verify

const timings = timeCases([
  { name: 'xxhsum -H1 PAYLOAD', command: `xxhsum -H1 ${payload}` },
  { name: 'savekit hash IMG', command: `${node} ${SAVEKIT_SH} hash ${image}` },
  { name: 'cat PAYLOAD | xxhsum -H1', command: `cat ${payload} | xxhsum -H1` },
  { name: 'cat IMG | savekit hash -', command: `cat ${image} | ${node} ${SAVEKIT_SH} hash -` },
  { name: 'savekit verify SEALED', command: `${node} ${SAVEKIT_SH} verify ${sealed}` },
]);
console.log(`\n${table('XXH64 of a 4 GiB payload', timings, payloadLength, 'xxhsum -H1 PAYLOAD')}`);
