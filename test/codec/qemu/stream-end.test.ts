import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeStreamEnd } from '../../../lib/codec/qemu/stream-end.js';
import { GENUINE_SAMPLES, readSample } from '../../helpers/samples.js';
import { syntheticImageBuffer } from '../../helpers/synthetic-image.js';

const test = suite('codec/qemu/stream-end');

const description = (json: string, before = 'ram...\x00'): Buffer => {
  const body = Buffer.from(json);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([Buffer.from(before, 'latin1'), Buffer.from([0x06]), length, body]);
};

const CASES = [
  { name: 'EOF byte then a VMDESCRIPTION', bytes: description('{"devices":[]}'), kind: 'vmdescription' },
  { name: 'a VMDESCRIPTION followed by zero padding', bytes: Buffer.concat([description('{"a":1}'), Buffer.alloc(100)]), kind: 'vmdescription' },
  { name: 'a JSON length byte that is 0x7B ({)', bytes: description(`{"x":"${'y'.repeat(0x7b - 8)}"}`), kind: 'vmdescription' },
  { name: 'a 0x06 inside the JSON', bytes: description('{"a":"\x06\x00\x00\x00\x02{}"}'), kind: 'vmdescription' },
  { name: 'EOF byte only (suppressed description)', bytes: Buffer.from('ram\x7e\x00\x00\x00\x02\x00', 'latin1'), kind: 'eof-byte' },
  { name: 'cut inside the JSON', bytes: description('{"devices":[1,2,3]}').subarray(0, -3), kind: 'cut' },
  { name: 'cut in page data', bytes: Buffer.from('abcdefgh', 'latin1'), kind: 'cut' },
  { name: 'a description longer than the bytes at hand', bytes: Buffer.from('"name": 1}', 'latin1'), kind: 'unconfirmed' },
  { name: 'nothing', bytes: Buffer.alloc(0), kind: 'cut' },
];

for (const c of CASES) {
  test(c.name, () => assert.is(describeStreamEnd(c.bytes).kind, c.kind));
}

for (const sample of GENUINE_SAMPLES.filter((s) => s.format === 'raw')) {
  test(`${sample.file} ends with its VMDESCRIPTION`, () => {
    const end = describeStreamEnd(readSample(sample.file).subarray(sample.payloadOffset));
    assert.is(end.kind, 'vmdescription');
    if (end.kind === 'vmdescription') assert.ok(end.jsonLength > 1000);
  });
}

test('the synthetic writer ends its stream the same way', () => {
  assert.is(describeStreamEnd(syntheticImageBuffer({ ramBytes: 4096 * 4 })).kind, 'vmdescription');
});

test.run();
