// savekit state against savekit walk (the cost of decoding every device on top of the walk)
// and against QEMU's analyze-migration.py -d state on the same bare stream, in the same run:
// the genuine samples, and 4 GiB synthetic images with device sections (all data pages, and
// half zero pages as saved guests have). Run: npm run bench:state
// The script is not shipped: give its path in ANALYZE_MIGRATION (QEMU's scripts/ folder, e.g.
// from `apt-get source qemu`); without it the Python rows are left out.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR, pairedRatio, peakRssMiB, SAVEKIT, SAVEKIT_SH, table, timeCases, type Case } from './harness.js';
import { writeSyntheticImage } from '../test/helpers/synthetic-image.js';
import { spawnSync } from 'node:child_process';

const GIB = 1024 ** 3;
const node = process.execPath;
const script = process.env.ANALYZE_MIGRATION && existsSync(process.env.ANALYZE_MIGRATION) ? process.env.ANALYZE_MIGRATION : null;
if (!script) console.log('ANALYZE_MIGRATION is not set to analyze-migration.py: the Python rows are left out');

function sh(command: string): void {
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error(`failed: ${command}`);
}

/** The bare QEMU stream of an uncompressed image (the header stripped), as the script reads it. */
function bareStream(image: string, name: string): string {
  const out = join(BENCH_DIR, `${name}.qemu`);
  const info = JSON.parse(spawnSync(node, [SAVEKIT, 'info', '--json', image]).stdout.toString()) as { payloadOffset: number };
  if (!existsSync(out) || statSync(out).size !== statSync(image).size - info.payloadOffset) sh(`tail -c +${info.payloadOffset + 1} '${image}' > '${out}'`);
  return out;
}

function measure(title: string, image: string, name: string, rounds: number): void {
  const cases: Case[] = [
    { name: 'savekit walk IMG', command: `${node} ${SAVEKIT_SH} walk '${image}'` },
    { name: 'savekit state IMG', command: `${node} ${SAVEKIT_SH} state '${image}'` },
    { name: 'savekit state --format analyze-migration IMG', command: `${node} ${SAVEKIT_SH} state --format analyze-migration '${image}'` },
  ];
  if (script) cases.push({ name: 'analyze-migration.py -d state BARE', command: `python3 '${script}' -f '${bareStream(image, name)}' -d state` });
  const timings = timeCases(cases, rounds);
  console.log(`\n${table(title, timings, statSync(image).size, 'savekit walk IMG')}`);
  for (const c of cases.slice(1)) {
    const ratio = pairedRatio(timings, 'savekit walk IMG', c.name);
    console.log(`${c.name}: walk / it ${ratio.text}, so it costs ${(1 / ratio.median).toFixed(2)} of walk`);
  }
  if (script) {
    for (const c of cases.slice(1, 3)) console.log(`${c.name}: ${pairedRatio(timings, 'analyze-migration.py -d state BARE', c.name).text} times faster than the Python script`);
  }
}

const samples = fileURLToPath(new URL('../samples/', import.meta.url));
measure('Genuine sample libvirt-9.0/raw.save (560 KB)', join(samples, 'libvirt-9.0/raw.save'), 'raw-9.0', 9);

const IMAGES = [
  { label: 'all data pages', name: 'state-4g-0', options: { zeroPageEvery: 0 } },
  { label: 'every second page zero', name: 'state-4g-2', options: { zeroPageEvery: 2 } },
  { label: 'one page in ten holds data (an idle guest)', name: 'state-4g-idle', options: { zeroPageEvery: 0, dataPageEvery: 10 } },
];
for (const { label, name, options } of IMAGES) {
  const image = join(BENCH_DIR, `${name}.save`);
  if (!existsSync(image)) {
    console.log(`writing ${image} ...`);
    writeSyntheticImage(image, { ramBytes: Math.floor((4 * GIB - 200_000) / 4104) * 4096, ...options });
  }
  sh(`cat '${image}' > /dev/null`);
  measure(`4 GiB guest, ${label} (${(statSync(image).size / 1e9).toFixed(2)} GB image)`, image, name, 5);
  if (name === 'state-4g-0') {
    const small = join(BENCH_DIR, 'state-512m.save');
    if (!existsSync(small)) writeSyntheticImage(small, { ramBytes: 512 * 1024 * 1024, zeroPageEvery: 0 });
    const rss = [peakRssMiB(`${node} ${SAVEKIT_SH} state '${small}'`), peakRssMiB(`${node} ${SAVEKIT_SH} state '${image}'`)];
    console.log(`| savekit state | ${rss[0]!.toFixed(1)} MiB at 512 MiB | ${rss[1]!.toFixed(1)} MiB at 4 GiB | ${((Math.abs(rss[1]! - rss[0]!) / rss[0]!) * 100).toFixed(1)}% |`);
  }
}
