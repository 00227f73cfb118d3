// extract-ram --physical and --elf of a 4 GiB guest (realistic pages, the device state of a
// genuine image for the ELF's notes) against `cp --sparse=always` of a file of the same size,
// in the same run; then peak RSS at 1 GiB and 8 GiB. Run: npm run bench:memory-extract
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FdSource } from '../lib/io/fd-source.js';
import { walkImage } from '../lib/jobs/walk-image.js';
import { writeSyntheticImage } from '../test/helpers/synthetic-image.js';
import { BENCH_DIR, pairedRatio, peakRssMiB, requireCommands, SAVEKIT_SH, table, timeCases } from './harness.js';

requireCommands('cp');
const GIB = 1024 ** 3;
const node = process.execPath;

/** The genuine raw sample's stream from its first device section to its end. */
async function genuineDeviceTail(): Promise<Buffer> {
  const path = fileURLToPath(new URL('../samples/libvirt-9.0/raw.save', import.meta.url));
  const fd = openSync(path, 'r');
  let first: number | null = null;
  try {
    await walkImage(new FdSource(fd), {
      onDeviceSection(section, _bytes, offset) {
        first ??= offset - (1 + 4 + 1 + section.name.length + 8);
      },
    });
  } finally {
    closeSync(fd);
  }
  return readFileSync(path).subarray(first!);
}

const deviceTail = await genuineDeviceTail();
function image(ramGiB: number): string {
  const path = join(BENCH_DIR, `memory-${ramGiB}g.save`);
  if (!existsSync(path)) {
    console.log(`writing ${path} ...`);
    writeSyntheticImage(path, { ramBytes: ramGiB * GIB, realistic: true, deviceTail });
  }
  return path;
}

const img = image(4);
const out = join(BENCH_DIR, 'memory-out');
const timings = timeCases(
  [
    { name: 'cp --sparse=always IMG OUT', command: `cp --sparse=always ${img} ${out}` },
    { name: 'savekit extract-ram --physical', command: `${node} ${SAVEKIT_SH} extract-ram --physical ${img} ${out}` },
    { name: 'savekit extract-ram --elf', command: `${node} ${SAVEKIT_SH} extract-ram --elf ${img} ${out}` },
  ],
  5,
  () => {
  // Every case starts with no dirty pages of an earlier one left to write back.
  rmSync(out, { force: true });
  spawnSync('sync');
},
);
console.log(`\n${table('Guest memory of a 4 GiB guest (realistic pages)', timings, 4 * GIB, 'cp --sparse=always IMG OUT')}`);
for (const name of ['savekit extract-ram --physical', 'savekit extract-ram --elf']) console.log(`${name} against cp --sparse=always: ${pairedRatio(timings, 'cp --sparse=always IMG OUT', name).text}`);
const small = image(1);
const large = image(8);
for (const kind of ['physical', 'elf']) {
  const rss = [peakRssMiB(`${node} ${SAVEKIT_SH} extract-ram --${kind} ${small} ${out}`), peakRssMiB(`${node} ${SAVEKIT_SH} extract-ram --${kind} ${large} ${out}`)];
  console.log(`| extract-ram --${kind} | ${rss[0]!.toFixed(1)} MiB at 1 GiB | ${rss[1]!.toFixed(1)} MiB at 8 GiB | ${((Math.abs(rss[1]! - rss[0]!) / rss[0]!) * 100).toFixed(1)}% |`);
}
rmSync(out, { force: true });
