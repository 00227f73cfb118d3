// Memory stays flat as the image grows: peak RSS of rewrite (and hash) on a 1 GiB and an 8 GiB
// image. The images are sparse files (a prologue, a QEVM header, a hole, the stream's EOF byte
// and device description), so 8 GiB costs no disk; every byte still flows through savekit.
// Run: npm run bench:memory
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, peakRssMiB, SAVEKIT_SH } from './harness.js';
import { SYNTHETIC_XML, syntheticPrologue } from '../test/helpers/synthetic-image.js';

const GIB = 1024 ** 3;

function sparseImage(bytes: number): string {
  const path = join(BENCH_DIR, `sparse-${bytes}.save`);
  const prologue = syntheticPrologue({ ramBytes: 4096 });
  const json = Buffer.from('{"page_size":4096,"devices":[]}');
  const tail = Buffer.concat([Buffer.from([0x00, 0x06, 0, 0, 0, 0]), json]);
  tail.writeUInt32BE(json.length, 2);
  const fd = openSync(path, 'w');
  writeSync(fd, prologue);
  writeSync(fd, Buffer.from('QEVM\0\0\0\x03', 'latin1'));
  ftruncateSync(fd, bytes - tail.length);
  writeSync(fd, tail, 0, tail.length, bytes - tail.length);
  closeSync(fd);
  return path;
}

const xml = join(BENCH_DIR, 'memory.xml');
writeFileSync(xml, SYNTHETIC_XML.replace('<name>', '<!-- longer -->\n  <name>'));
const node = process.execPath;
const rows: string[] = [];
const results: Record<string, number[]> = {};
for (const size of [1 * GIB, 8 * GIB]) {
  const image = sparseImage(size);
  const commands = {
    'rewrite IMG - (to /dev/null)': `${node} ${SAVEKIT_SH} rewrite --xml ${xml} ${image} -`,
    'cat IMG | rewrite | cat': `bash -c 'cat ${image} | ${node} ${SAVEKIT_SH} rewrite --xml ${xml} | cat > /dev/null'`,
    'hash IMG (hashing thread)': `${node} ${SAVEKIT_SH} hash ${image}`,
  };
  for (const [name, command] of Object.entries(commands)) {
    // For the pipe case GNU time reports the largest process of the pipeline (savekit).
    const rss = peakRssMiB(command);
    (results[name] ??= []).push(rss);
  }
}
for (const [name, [one, eight]] of Object.entries(results)) {
  const spread = Math.abs(eight! - one!) / one!;
  rows.push(`| ${name.replaceAll('|', '\\|')} | ${one!.toFixed(1)} MiB | ${eight!.toFixed(1)} MiB | ${(spread * 100).toFixed(1)}% | ${eight! < 100 && spread < 0.1 ? 'met' : 'MISSED'} |`);
}
console.log(['| command | peak RSS, 1 GiB | peak RSS, 8 GiB | difference | target (< 100 MiB, within 10%) |', '|---|---|---|---|---|', ...rows].join('\n'));
