// Multi-GB images through pipes and between files, against the tools people use today, in one
// run: cat | cat | cat, pv, cp. Run: npm run bench:pipe (summary for bench/RESULTS.md printed).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile } from '../lib/file/open.js';
import { BENCH_DIR, requireCommands, SAVEKIT_SH, shellWord, syntheticImageOf, table, timeCases } from './harness.js';

requireCommands('pv', 'cp', 'cat', 'sync');
const GIB = 1024 ** 3;
const image = syntheticImageOf(4 * GIB);
const bytes = 4 * GIB;
const sealed = syntheticImageOf(4 * GIB, { sealed: true });
const xml = join(BENCH_DIR, 'longer.xml');
const sameSizeXml = join(BENCH_DIR, 'same-size.xml');
const stored = (await readImageFile(image)).region.xml.text;
writeFileSync(xml, stored.replace('<name>', '<!-- a longer definition -->\n  <name>'));
writeFileSync(sameSizeXml, stored.replace('synthetic', 'Synthetic'));
const out = join(BENCH_DIR, 'out');
mkdirSync(out, { recursive: true });
const node = process.execPath;
const variants = new URL('./variants/', import.meta.url).pathname;
const variant = (name: string) => shellWord(`${variants}${name}`);

const pipes = timeCases([
  { name: 'cat | cat | cat', command: `cat ${image} | cat | cat > /dev/null` },
  { name: 'cat | pv | cat', command: `cat ${image} | pv -q | cat > /dev/null` },
  { name: 'cat | savekit rewrite --xml X | cat', command: `cat ${image} | ${node} ${SAVEKIT_SH} rewrite --xml ${xml} | cat > /dev/null` },
  { name: 'cat SEALED | savekit rewrite --xml X | cat (checks the seal)', command: `cat ${sealed} | ${node} ${SAVEKIT_SH} rewrite --xml ${xml} | cat > /dev/null` },
  { name: 'same, pipes not grown (SAVEKIT_NO_GROW_PIPES=1)', command: `cat ${image} | SAVEKIT_NO_GROW_PIPES=1 ${node} ${SAVEKIT_SH} rewrite --xml ${xml} | cat > /dev/null` },
  { name: 'cat | Node pipeline(createRewriteStream) | cat', command: `cat ${image} | ${node} ${variant('node-streams.mjs')} pipeline ${xml} | cat > /dev/null` },
  { name: 'cat | stream-chain([createRewriteStream]) | cat', command: `cat ${image} | ${node} ${variant('node-streams.mjs')} chain ${xml} | cat > /dev/null` },
  { name: 'cat | Node PassThrough (no rewrite) | cat', command: `cat ${image} | ${node} ${variant('node-streams.mjs')} passthrough | cat > /dev/null` },
]);

const clean = (): void => {
  rmSync(join(out, 'copy.save'), { force: true });
  spawnSync('sync'); // every copy starts with no dirty pages of the previous one
};
const files = timeCases(
  [
    { name: 'cp IMG OUT', command: `cp ${image} ${out}/copy.save` },
    { name: 'cp IMG OUT && sync OUT', command: `cp ${image} ${out}/copy.save && sync ${out}/copy.save` },
    { name: 'savekit rewrite --xml X IMG OUT (fsyncs)', command: `${node} ${SAVEKIT_SH} rewrite --xml ${xml} ${image} ${out}/copy.save` },
    { name: 'savekit rewrite --seal --xml X IMG OUT (fsyncs)', command: `${node} ${SAVEKIT_SH} rewrite --seal --xml ${xml} ${image} ${out}/copy.save` },
    { name: 'copyFile + in-place patch (same size)', command: `${node} ${variant('copy-then-patch.mjs')} ${image} ${out}/copy.save ${sameSizeXml}` },
  ],
  3,
  clean,
);
clean();

console.log(`\n${table('Pipes: 4 GiB image, stdin to stdout', pipes, bytes, 'cat | cat | cat')}`);
console.log(table('Files: 4 GiB image, file to file on the same disk', files, bytes, 'cp IMG OUT'));
