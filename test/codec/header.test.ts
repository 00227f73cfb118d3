import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeHeader, detectByteOrder, encodeHeader } from '../../lib/codec/header.js';
import { SaveImageError, type ErrorCode } from '../../lib/errors.js';

const test = suite('codec/header');

const SAVE = '4c69627669727451656d756453617665';
const PART = '4c69627669727451656d756450617274';
const ZERO_WORDS = '00000000'.repeat(14);
const hex = (...parts: string[]): Buffer => Buffer.from(parts.join('').replace(/\s+/g, ''), 'hex');

// Header of samples/libvirt-9.0/raw.save (dumps/raw.head256.txt), then variants of it.
const CASES = [
  { name: 'libvirt 9.0 raw.save (le, v2)', bytes: hex(SAVE, '02000000 52050100 01000000 00000000 2d050000', ZERO_WORDS), expect: { byteOrder: 'le', version: 2, dataLen: 66898, wasRunning: 1, format: 0, cookieOffset: 1325 } },
  { name: 'big-endian v2', bytes: hex(SAVE, '00000002 00010552 00000001 00000003 0000052d', ZERO_WORDS), expect: { byteOrder: 'be', version: 2, dataLen: 66898, wasRunning: 1, format: 3, cookieOffset: 1325 } },
  { name: 'little-endian v3', bytes: hex(SAVE, '03000000 00100000 00000000 01000000 00000000', ZERO_WORDS), expect: { byteOrder: 'le', version: 3, dataLen: 4096, wasRunning: 0, format: 1, cookieOffset: 0 } },
  { name: 'big-endian v3', bytes: hex(SAVE, '00000003 00001000 00000007 00000006 00000010', ZERO_WORDS), expect: { byteOrder: 'be', version: 3, dataLen: 4096, wasRunning: 7, format: 6, cookieOffset: 16 } },
  { name: 'version 0', bytes: hex(SAVE, '00000000 10000000 01000000 00000000 00000000', ZERO_WORDS), expect: { byteOrder: 'le', version: 0, dataLen: 16, wasRunning: 1, format: 0, cookieOffset: 0 } },
  { name: 'version 1 big-endian', bytes: hex(SAVE, '00000001 00000010 00000000 00000000 00000000', ZERO_WORDS), expect: { byteOrder: 'be', version: 1, dataLen: 16, wasRunning: 0, format: 0, cookieOffset: 0 } },
  { name: 'unknown format code 99', bytes: hex(SAVE, '02000000 10000000 01000000 63000000 00000000', ZERO_WORDS), expect: { byteOrder: 'le', version: 2, dataLen: 16, wasRunning: 1, format: 99, cookieOffset: 0 } },
  { name: 'non-zero unused words', bytes: hex(SAVE, '02000000 10000000 01000000 00000000 00000000', 'ffffffff 01020304'.padEnd(14 * 8 + 1, '5')), expect: { byteOrder: 'le', version: 2, dataLen: 16, wasRunning: 1, format: 0, cookieOffset: 0 } },
  { name: 'partial magic (allowed)', bytes: hex(PART, '02000000 10000000 01000000 00000000 00000000', ZERO_WORDS), expect: { byteOrder: 'le', version: 2, dataLen: 16, wasRunning: 1, format: 0, cookieOffset: 0 }, allowPartial: true },
];

for (const c of CASES) {
  test(`decodes ${c.name}`, () => {
    assert.is(c.bytes.length, 92);
    const header = decodeHeader(c.bytes, { allowPartial: c.allowPartial ?? false });
    const { byteOrder, version, dataLen, wasRunning, format, cookieOffset } = header;
    assert.equal({ byteOrder, version, dataLen, wasRunning, format, cookieOffset }, c.expect);
    assert.is(header.unused.length, 14);
  });
  test(`round trips ${c.name} byte for byte`, () => {
    assert.ok(encodeHeader(decodeHeader(c.bytes, { allowPartial: true })).equals(c.bytes));
  });
}

test('keeps unused words verbatim in the header byte order', () => {
  const bytes = hex(SAVE, '00000002 00000010 00000001 00000000 00000000', '00000001 fffffffe', '00000000'.repeat(12));
  const header = decodeHeader(bytes);
  assert.equal(header.unused.slice(0, 2), [1, 0xfffffffe]);
});

const ERRORS: Array<{ name: string; bytes: Buffer; code: ErrorCode; offset: number; options?: { maxDataLen?: number } }> = [
  { name: 'empty input', bytes: Buffer.alloc(0), code: 'ERR_TRUNCATED', offset: 0 },
  { name: '91 bytes', bytes: hex(SAVE, '02000000 52050100 01000000 00000000 2d050000', ZERO_WORDS).subarray(0, 91), code: 'ERR_TRUNCATED', offset: 91 },
  { name: 'partial magic', bytes: hex(PART, '02000000 10000000 01000000 00000000 00000000', ZERO_WORDS), code: 'ERR_PARTIAL_IMAGE', offset: 0 },
  { name: 'one magic byte changed', bytes: hex('5c69627669727451656d756453617665', '02000000 10000000 01000000 00000000 00000000', ZERO_WORDS), code: 'ERR_BAD_MAGIC', offset: 0 },
  { name: 'version 4', bytes: hex(SAVE, '04000000 10000000 01000000 00000000 00000000', ZERO_WORDS), code: 'ERR_UNSUPPORTED_VERSION', offset: 16 },
  { name: 'big-endian version 4', bytes: hex(SAVE, '00000004 00000010 00000001 00000000 00000000', ZERO_WORDS), code: 'ERR_UNSUPPORTED_VERSION', offset: 16 },
  { name: 'dataLen 0', bytes: hex(SAVE, '02000000 00000000 01000000 00000000 00000000', ZERO_WORDS), code: 'ERR_BAD_DATA_LENGTH', offset: 20 },
  { name: 'dataLen 0xffffffff', bytes: hex(SAVE, '02000000 ffffffff 01000000 00000000 00000000', ZERO_WORDS), code: 'ERR_BAD_DATA_LENGTH', offset: 20 },
  { name: 'dataLen over a custom limit', bytes: hex(SAVE, '02000000 00100000 01000000 00000000 00000000', ZERO_WORDS), code: 'ERR_BAD_DATA_LENGTH', offset: 20, options: { maxDataLen: 4095 } },
  { name: 'cookieOffset > dataLen', bytes: hex(SAVE, '02000000 10000000 01000000 00000000 11000000', ZERO_WORDS), code: 'ERR_BAD_COOKIE_OFFSET', offset: 32 },
];

for (const c of ERRORS) {
  test(`rejects ${c.name} with ${c.code} at offset ${c.offset}`, () => {
    try {
      decodeHeader(c.bytes, c.options);
      assert.unreachable('decoded');
    } catch (error) {
      assert.ok(SaveImageError.is(error), String(error));
      assert.is((error as SaveImageError).code, c.code);
      assert.is((error as SaveImageError).offset, c.offset);
      assert.match((error as SaveImageError).message, String(c.offset));
    }
  });
}

test('quotes libvirt messages', () => {
  const messages = ERRORS.map((c) => {
    try {
      decodeHeader(c.bytes, c.options);
      return '';
    } catch (error) {
      return (error as Error).message;
    }
  });
  assert.match(messages[0]!, 'failed to read qemu header');
  assert.match(messages[2]!, 'save image is incomplete');
  assert.match(messages[3]!, 'image magic is incorrect');
  assert.match(messages[4]!, 'image version is not supported (4 > 2)');
  assert.match(messages[6]!, 'invalid header data length: 0');
  assert.match(messages[9]!, 'cookie offset exceeds data length');
});

test('detects the byte order from the version word', () => {
  assert.is(detectByteOrder(hex(SAVE, '03000000', '00'.repeat(72))), 'le');
  assert.is(detectByteOrder(hex(SAVE, '00000003', '00'.repeat(72))), 'be');
  assert.is(detectByteOrder(hex(SAVE, '00000000', '00'.repeat(72))), 'le');
  assert.is(detectByteOrder(hex(SAVE, '00000005', '00'.repeat(72))), null);
});

test.run();
