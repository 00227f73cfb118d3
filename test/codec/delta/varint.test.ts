import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeVarint, encodeVarintInto, MAX_VARINT_BYTES } from '../../../lib/codec/delta/varint.js';

const test = suite('codec/delta/varint');

const CASES: Array<[number, string]> = [
  [0, '00'],
  [1, '01'],
  [127, '7f'],
  [128, '8001'],
  [300, 'ac02'],
  [2 ** 32, '8080808010'],
  [2 ** 32 + 4096, '80a0808010'],
  [Number.MAX_SAFE_INTEGER, 'ffffffffffffff0f'],
];

for (const [value, hex] of CASES) {
  test(`${value} <-> ${hex}`, () => {
    const out = Buffer.alloc(MAX_VARINT_BYTES);
    const n = encodeVarintInto(value, out, 0);
    assert.is(out.subarray(0, n).toString('hex'), hex);
    assert.equal(decodeVarint(Buffer.from(hex, 'hex'), 0), { value, length: n });
    for (let cut = 0; cut < n; cut++) assert.is(decodeVarint(Buffer.from(hex, 'hex').subarray(0, cut), 0), null, `cut at ${cut}`);
  });
}

test('refuses what is not a safe unsigned integer, and a number longer than 8 bytes', () => {
  for (const bad of [-1, 0.5, 2 ** 53]) assert.throws(() => encodeVarintInto(bad, Buffer.alloc(16), 0), RangeError);
  assert.throws(() => decodeVarint(Buffer.from('ffffffffffffffff01', 'hex'), 0), RangeError);
});

test.run();
