// The stream reader under the chunking matrix: every chunking, every source kind, a slow
// consumer; the prologue decodes the same and the payload comes back byte for byte.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Readable } from 'node:stream';
import { readImageStream } from '../../lib/stream/read-image.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { CHUNKINGS, collect, SOURCE_KINDS } from '../helpers/chunking.js';
import { readSample } from '../helpers/samples.js';
import { syntheticImageBuffer } from '../helpers/synthetic-image.js';

const test = suite('stream/read-image');

const IMAGES = [
  { name: 'genuine raw.save', bytes: readSample('libvirt-9.0/raw.save') },
  { name: 'synthetic big-endian v3', bytes: syntheticImageBuffer({ ramBytes: 64 * 4096, byteOrder: 'be', version: 3, extensions: ['<ext/>'], slack: 7 }) },
];

for (const image of IMAGES) {
  for (const kind of SOURCE_KINDS) {
    for (const chunking of CHUNKINGS) {
      if (kind.name === 'file' && chunking.name !== 'whole' && chunking.name !== '4096 bytes' && chunking.name !== '13 bytes') continue;
      test(`${image.name} from ${kind.name}, ${chunking.name}`, async () => {
        const read = await readImageStream(kind.make(image.bytes, chunking));
        const offset = read.payloadOffset;
        assert.ok(read.prologueBytes.equals(image.bytes.subarray(0, offset)));
        assert.ok(read.region.xml.bytes.length > 0);
        const payload = await collect(read.payload, chunking.name === 'irregular');
        assert.is(payload.length, image.bytes.length - offset);
        assert.ok(payload.equals(image.bytes.subarray(offset)));
      });
    }
  }
}

test('hands back a stream that can be piped after the prologue', async () => {
  const bytes = IMAGES[0]!.bytes;
  const read = await readImageStream(Readable.from([bytes], { objectMode: false }));
  assert.ok(read.payloadHead.equals(bytes.subarray(read.payloadOffset, read.payloadOffset + 16)));
  const { PassThrough } = await import('node:stream');
  const sink = new PassThrough();
  read.payload.pipe(sink);
  assert.is((await collect(sink)).length, bytes.length - read.payloadOffset);
});

const CUTS = [
  { name: 'empty stream', end: 0, code: 'ERR_TRUNCATED' as const },
  { name: 'inside the header', end: 50, code: 'ERR_TRUNCATED' as const },
  { name: 'right after the header', end: 92, code: 'ERR_TRUNCATED' as const },
  { name: 'inside the XML', end: 500, code: 'ERR_TRUNCATED' as const },
  { name: 'inside the cookie', end: 1420, code: 'ERR_TRUNCATED' as const },
  { name: 'one byte short of the payload', end: 66989, code: 'ERR_TRUNCATED' as const },
];

for (const cut of CUTS) {
  for (const chunking of [CHUNKINGS[0]!, CHUNKINGS[3]!]) {
    test(`a stream cut ${cut.name} (${chunking.name}) is ${cut.code} at offset ${cut.end}`, async () => {
      const bytes = IMAGES[0]!.bytes.subarray(0, cut.end);
      const error = await rejectsWithCode(() => readImageStream(Readable.from(chunking.split(bytes), { objectMode: false })), cut.code);
      assert.is(error.offset, cut.end);
    });
  }
}

test('a stream cut exactly at the payload reads fine with an empty payload', async () => {
  const bytes = IMAGES[0]!.bytes.subarray(0, 66990);
  const read = await readImageStream(Readable.from([bytes], { objectMode: false }));
  assert.is((await collect(read.payload)).length, 0);
});

test('the dataLen limit stops a lying header before buffering', async () => {
  const bytes = Buffer.from(IMAGES[0]!.bytes.subarray(0, 92));
  bytes.writeUInt32LE(0x7fffffff, 20);
  let pulled = 0;
  const source = new Readable({
    read() {
      pulled++;
      this.push(pulled === 1 ? bytes : Buffer.alloc(65536));
    },
  });
  await rejectsWithCode(() => readImageStream(source), 'ERR_BAD_DATA_LENGTH');
  assert.ok(pulled < 4, `pulled ${pulled} chunks`);
});

test('a stream error is ERR_IO', async () => {
  const source = new Readable({
    read() {
      this.destroy(Object.assign(new Error('boom'), { code: 'EIO' }));
    },
  });
  await rejectsWithCode(() => readImageStream(source), 'ERR_IO');
});

test.run();
