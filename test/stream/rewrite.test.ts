// The Transform form of rewrite gives the same bytes as the CLI's descriptor loop, under the
// chunking matrix, alone in pipeline() and composed with stream-chain.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import chain from 'stream-chain';
import { planRewrite } from '../../lib/edit/plan.js';
import { createRewriteStream } from '../../lib/stream/rewrite.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { CHUNKINGS, collect } from '../helpers/chunking.js';
import { readSample } from '../helpers/samples.js';

const test = suite('stream/rewrite');
const RAW = readSample('libvirt-9.0/raw.save');
const EXPECTED = Buffer.from(RAW);
EXPECTED.writeUInt32LE(0, 24); // --paused: one byte of the header

const paused = () => createRewriteStream({ plan: (image) => planRewrite(image, { wasRunning: 0 }) });

for (const chunking of CHUNKINGS) {
  test(`pipeline(), ${chunking.name}`, async () => {
    const sink = new PassThrough();
    const collected = collect(sink, chunking.name === 'irregular');
    await pipeline(Readable.from(chunking.split(RAW), { objectMode: false }), paused(), sink);
    assert.ok((await collected).equals(EXPECTED));
  });
}

test('composed with stream-chain in byte mode', async () => {
  const stages = chain([paused(), new PassThrough()], { writableObjectMode: false, readableObjectMode: false });
  const collected = collect(stages as unknown as Readable);
  Readable.from(CHUNKINGS[6]!.split(RAW), { objectMode: false }).pipe(stages as unknown as NodeJS.WritableStream);
  assert.ok((await collected).equals(EXPECTED));
});

test('an input cut inside the prologue fails with ERR_TRUNCATED', async () => {
  await rejectsWithCode(() => pipeline(Readable.from([RAW.subarray(0, 5000)], { objectMode: false }), paused(), new PassThrough()), 'ERR_TRUNCATED');
});

test.run();
