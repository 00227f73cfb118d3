// In-place define with its syncs must cost the same whatever the payload size: the same edit
// on an image with a 1 MiB payload and on one with an 8 GiB sparse payload, in one run.
// Run: npm run bench:patch   (results: bench/results/patch.json, summary in bench/RESULTS.md)
import b from 'benny';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planDefine } from '../lib/edit/plan.js';
import { patchImage } from '../lib/file/patch.js';
import { SYNTHETIC_XML, syntheticPrologue } from '../test/helpers/synthetic-image.js';

const folder = mkdtempSync(join(tmpdir(), 'savekit-bench-patch-'));
process.once('exit', () => rmSync(folder, { recursive: true, force: true }));

function imageWithPayload(name: string, payloadBytes: number): string {
  const path = join(folder, name);
  const prologue = syntheticPrologue({ ramBytes: 4096 });
  const fd = openSync(path, 'w');
  writeSync(fd, prologue);
  writeSync(fd, Buffer.alloc(1024 * 1024, 0x5a), 0, Math.min(payloadBytes, 1024 * 1024), prologue.length);
  ftruncateSync(fd, prologue.length + payloadBytes); // the rest is a hole: 8 GiB apparent, 1 MiB written
  closeSync(fd);
  return path;
}

const small = imageWithPayload('small.save', 1024 * 1024);
const huge = imageWithPayload('huge.save', 8 * 1024 ** 3);
const variants = [SYNTHETIC_XML, SYNTHETIC_XML.replace('</name>', '</name>\n  <title>edited</title>')].map((xml) => Buffer.from(xml));

function defineCase(path: string): () => Promise<void> {
  let turn = 1; // the image holds variant 0
  let previous: Promise<void> = Promise.resolve();
  // benny calls the case once, unawaited, to see whether it returns a promise: chain the calls
  // so two edits of the same image never overlap (the second would meet ERR_LOCKED).
  return () =>
    (previous = previous.then(async () => {
      const xml = variants[turn++ % 2]!;
      const result = await patchImage(path, (image) => planDefine(image, xml));
      if (!result.changed) throw new Error('every iteration must write');
    }));
}

const summary = await b.suite(
  'define in place, with journal and fsyncs',
  b.add('1 MiB payload', defineCase(small)),
  b.add('8 GiB sparse payload', defineCase(huge)),
  b.configure({ cases: { minSamples: 20, maxTime: 6 } }),
  b.cycle(),
  b.complete(),
  b.save({ file: 'patch', folder: 'bench/results', format: 'json', details: false }),
);

const [one, eight] = summary.results as Array<{ ops: number }>;
const ratio = one!.ops / eight!.ops;
console.log(`\ntime(8 GiB) / time(1 MiB) = ${ratio.toFixed(2)} (target < 1.5): ${ratio < 1.5 ? 'met' : 'MISSED'}`);
console.log(`| define, 1 MiB payload | ${one!.ops.toFixed(1)} ops/s | ${(1000 / one!.ops).toFixed(2)} ms |`);
console.log(`| define, 8 GiB sparse payload | ${eight!.ops.toFixed(1)} ops/s | ${(1000 / eight!.ops).toFixed(2)} ms |`);
