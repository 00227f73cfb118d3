import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FORMATS } from '../../../lib/constants.js';
import { decodeDeltaHeader, decodeTrailer, DELTA_HEADER_BYTES, encodeDeltaHeader, encodeTrailer, type DeltaTrailer } from '../../../lib/codec/delta/delta-layout.js';
import { codeOf } from '../../helpers/assert-code.js';

const test = suite('codec/delta/delta-layout');


test('the header: magic, version 1, the format, zstd; every format round-trips', () => {
  for (const format of FORMATS) {
    const header = encodeDeltaHeader(format);
    assert.is(header.length, DELTA_HEADER_BYTES);
    assert.is(header.toString('hex'), Buffer.concat([Buffer.from('SavekitDelta'), Buffer.from([0, 1, FORMATS.indexOf(format), 1])]).toString('hex'));
    assert.equal(decodeDeltaHeader(header), { version: 1, format });
  }
});

test('a header that is not a delta, of a newer version, of an unknown format or body, or cut', () => {
  const good = encodeDeltaHeader('raw');
  const with_ = (offset: number, byte: number) => {
    const copy = Buffer.from(good);
    copy[offset] = byte;
    return copy;
  };
  assert.is(codeOf(() => decodeDeltaHeader(with_(0, 0x4c))), 'ERR_BAD_DELTA');
  assert.is(codeOf(() => decodeDeltaHeader(with_(13, 2))), 'ERR_UNSUPPORTED_VERSION');
  assert.is(codeOf(() => decodeDeltaHeader(with_(14, 7))), 'ERR_BAD_DELTA');
  assert.is(codeOf(() => decodeDeltaHeader(with_(15, 0))), 'ERR_BAD_DELTA');
  for (let cut = 0; cut < DELTA_HEADER_BYTES; cut++) assert.is(codeOf(() => decodeDeltaHeader(good.subarray(0, cut))), 'ERR_BAD_DELTA', `cut at ${cut}`);
});

test('the trailer round-trips, with lengths past 4 GiB, and is null while cut', () => {
  const trailer: DeltaTrailer = {
    newStream: { length: 5 * 2 ** 32 + 7, digest: '0123456789abcdef' },
    baseStream: { length: 3, digest: 'fedcba9876543210' },
    basePages: 2 ** 21,
    pages: 2 ** 21 + 5,
    samePages: 12345,
  };
  const bytes = encodeTrailer(trailer);
  assert.is(bytes[0], 0x45);
  assert.equal(decodeTrailer(bytes.subarray(1)), { trailer, length: bytes.length - 1 });
  for (let cut = 1; cut < bytes.length; cut++) assert.is(decodeTrailer(bytes.subarray(1, cut)), null, `cut at ${cut}`);
});

test.run();
