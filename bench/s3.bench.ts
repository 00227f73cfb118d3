// s3:// against rclone, on the same one-node Ceph 18 the object-store tests start (test/objects/
// ceph.ts), in one run: `hash s3://` against `rclone cat` of the object to /dev/null (both read
// every byte), `convert --format raw IMG s3://` against `cat IMG | rclone rcat` (both upload
// every byte), and `define s3://` against what a user does without savekit's store support:
// download, define, upload. Then peak RSS at 1 and 8 GiB. Root; installs rclone if absent.
// Run: npm run bench:s3. A 4 GiB realistic image (1.7 GB) is the subject.
import { spawnSync } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ObjectStore } from '../lib/io/s3/s3-client.js';
import { ACCESS_KEY, Ceph, SECRET_KEY } from '../test/objects/ceph.js';
import { BENCH_DIR, pairedRatio, peakRssMiB, realisticImageOf, SAVEKIT_SH, shellWord, timeCases } from './harness.js';

if (spawnSync('bash', ['-c', 'command -v rclone']).status !== 0) {
  console.log('installing rclone (Debian) ...');
  spawnSync('apt-get', ['install', '-y', '-qq', 'rclone'], { stdio: 'inherit' });
}
const rcloneVersion = /rclone (v\S+)/.exec(spawnSync('rclone', ['version']).stdout.toString())?.[1] ?? '?';
const node = shellWord(process.execPath);
const savekit = `${node} ${SAVEKIT_SH}`;
const image = realisticImageOf(4);
const at = (name: string) => join(BENCH_DIR, name);

const ceph = await Ceph.start();
try {
  // The SDK's variables for savekit; rclone's own for rclone (and no AWS_CA_BUNDLE: rclone 1.60 fails on it even over http).
  process.env = {
    ...ceph.env({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }),
    RCLONE_CONFIG_CEPH_TYPE: 's3',
    RCLONE_CONFIG_CEPH_PROVIDER: 'Ceph',
    RCLONE_CONFIG_CEPH_ENDPOINT: ceph.endpoint,
    RCLONE_CONFIG_CEPH_ACCESS_KEY_ID: ACCESS_KEY,
    RCLONE_CONFIG_CEPH_SECRET_ACCESS_KEY: SECRET_KEY,
  };
  const store = await ObjectStore.connect(process.env);
  await store.createBucket('bench');
  store.close();
  const sh = (command: string) => {
    const result = spawnSync('bash', ['-o', 'pipefail', '-c', command], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`failed: ${command}\n${result.stderr}`);
    return result.stdout;
  };
  const img = shellWord(image);
  sh(`${savekit} rewrite --quiet ${img} s3://bench/img.save`);
  const bytes = statSync(image).size;
  const machine = `${ceph.version()} (one BlueStore OSD on a file, radosgw on 127.0.0.1), rclone ${rcloneVersion}, Node ${process.version}`;

  const reading = timeCases(
    [
      { name: 'rclone cat ceph:bench/img.save > /dev/null', command: 'rclone cat ceph:bench/img.save > /dev/null' },
      { name: 'savekit hash s3://bench/img.save', command: `${savekit} hash --quiet s3://bench/img.save > /dev/null` },
      { name: 'savekit walk s3://bench/img.save', command: `${savekit} walk --quiet s3://bench/img.save > /dev/null` },
    ],
    5,
  );
  const writing = timeCases(
    [
      { name: 'cat IMG | rclone rcat ceph:bench/up-rclone.save', command: `cat ${img} | rclone rcat ceph:bench/up-rclone.save` },
      { name: 'savekit convert --format raw IMG s3://bench/up-savekit.save', command: `${savekit} convert --quiet --format raw ${img} s3://bench/up-savekit.save` },
    ],
    5,
  );

  // Two XMLs in turn, so that every define writes.
  const xml = sh(`${savekit} dumpxml ${img}`);
  writeFileSync(at('s3-a.xml'), xml.replace('</domain>', '  <description>a</description>\n</domain>'));
  writeFileSync(at('s3-b.xml'), xml.replace('</domain>', '  <description>b</description>\n</domain>'));
  const flip = shellWord(at('s3-flip'));
  const nextXml = `if [ -e ${flip} ]; then rm ${flip}; X=${shellWord(at('s3-a.xml'))}; else touch ${flip}; X=${shellWord(at('s3-b.xml'))}; fi`;
  const local = shellWord(at('s3-roundtrip.save'));
  const editing = timeCases(
    [
      { name: 'rclone copyto down, savekit define, rclone copyto up', command: `${nextXml}; rclone copyto ceph:bench/img.save ${local} && ${savekit} define ${local} "$X" && rclone copyto ${local} ceph:bench/img.save` },
      { name: 'savekit define s3://bench/img.save', command: `${nextXml}; ${savekit} define s3://bench/img.save "$X"` },
    ],
    3,
  );
  rmSync(at('s3-roundtrip.save'), { force: true });

  const row = (timings: typeof reading, baseline: string, name: string) => `| ${name} | ${timings.find((t) => t.name === name)!.seconds.toFixed(2)} s | ${((bytes / timings.find((t) => t.name === name)!.seconds) / 1e6).toFixed(0)} MB/s | ${name === baseline ? '1 (baseline)' : pairedRatio(timings, baseline, name).text} |`;
  console.log(`\n### s3:// on Ceph: a 4 GiB realistic image (${bytes} bytes)\n\n${machine}.\n`);
  console.log('| command | median | rate | speed against the baseline (baseline time / time) |\n|---|---|---|---|');
  for (const t of reading) console.log(row(reading, reading[0]!.name, t.name));
  for (const t of writing) console.log(row(writing, writing[0]!.name, t.name));
  for (const t of editing) console.log(row(editing, editing[0]!.name, t.name));

  console.log('\n### Peak RSS (MiB), GNU time %M\n\n| command | 1 GiB | 8 GiB |\n|---|---|---|');
  const small = realisticImageOf(1);
  const large = realisticImageOf(8);
  sh(`${savekit} rewrite --quiet ${shellWord(small)} s3://bench/rss-1.save`);
  sh(`${savekit} rewrite --quiet ${shellWord(large)} s3://bench/rss-8.save`);
  const rss = (command: (size: 1 | 8) => string) => [1, 8].map((size) => peakRssMiB(command(size as 1 | 8)).toFixed(1)).join(' | ');
  console.log(`| savekit hash s3:// | ${rss((size) => `${savekit} hash --quiet s3://bench/rss-${size}.save`)} |`);
  console.log(`| savekit walk s3:// | ${rss((size) => `${savekit} walk --quiet s3://bench/rss-${size}.save`)} |`);
  console.log(`| savekit convert --format raw IMG s3:// | ${rss((size) => `${savekit} convert --quiet --format raw ${shellWord(size === 1 ? small : large)} s3://bench/rss-up.save`)} |`);
  console.log(`| savekit define s3:// | ${rss((size) => `${savekit} define s3://bench/rss-${size}.save ${shellWord(at('s3-a.xml'))}`)} |`);
  console.log(`| rclone cat | ${rss((size) => `rclone cat ceph:bench/rss-${size}.save`)} |`);
} finally {
  await ceph.stop();
}
