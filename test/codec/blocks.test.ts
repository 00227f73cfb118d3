import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRegion } from '../../lib/codec/blocks.js';
import type { SaveImageHeader } from '../../lib/codec/header.js';
import { SaveImageError } from '../../lib/errors.js';

const test = suite('codec/blocks');

function header(version: number, dataLen: number, cookieOffset: number): SaveImageHeader {
  return { magic: 'LibvirtQemudSave', version, byteOrder: 'le', dataLen, wasRunning: 1, format: 0, cookieOffset, unused: new Array(14).fill(0) };
}
const region = (text: string): Buffer => Buffer.from(text.replace(/~/g, '\0'), 'utf8');

const CASES = [
  { name: 'v2 xml and cookie, slack', version: 2, bytes: '<a/>~<cookie/>~~~~', cookieOffset: 5, expect: { blocks: [[92, 4], [97, 9]], cookie: 97, slack: 3, stray: 0 } },
  { name: 'v2 no cookie: whole region is XML', version: 2, bytes: '<a/>~~~', cookieOffset: 0, expect: { blocks: [[92, 4]], cookie: null, slack: 2, stray: 0 } },
  { name: 'v2 exactly filled', version: 2, bytes: '<a/>~<b/>~', cookieOffset: 5, expect: { blocks: [[92, 4], [97, 4]], cookie: 97, slack: 0, stray: 0 } },
  { name: 'v2 empty cookie', version: 2, bytes: '<a/>~~~', cookieOffset: 5, expect: { blocks: [[92, 4], [97, 0]], cookie: 97, slack: 1, stray: 0 } },
  { name: 'v2 cookie after a gap', version: 2, bytes: '<a/>~xx<c/>~', cookieOffset: 7, expect: { blocks: [[92, 4], [99, 4]], cookie: 99, slack: 0, stray: 2 } },
  { name: 'v2 garbage in the padding', version: 2, bytes: '<a/>~~z~', cookieOffset: 0, expect: { blocks: [[92, 4]], cookie: null, slack: 3, stray: 1 } },
  { name: 'v2 cookieOffset equal to dataLen', version: 2, bytes: '<a/>~', cookieOffset: 5, expect: { blocks: [[92, 4]], cookie: null, slack: 0, stray: 0 } },
  { name: 'v1 reads like v2', version: 1, bytes: '<a/>~~', cookieOffset: 0, expect: { blocks: [[92, 4]], cookie: null, slack: 1, stray: 0 } },
  { name: 'v3 xml, cookie, extension', version: 3, bytes: '<a/>~<cookie/>~<ext/>~~~', cookieOffset: 5, expect: { blocks: [[92, 4], [97, 9], [107, 6]], cookie: 97, slack: 2, stray: 0 } },
  { name: 'v3 extension before the cookie', version: 3, bytes: '<a/>~<ext/>~<cookie/>~', cookieOffset: 5, expect: { blocks: [[92, 4], [97, 6], [104, 9]], cookie: 104, slack: 0, stray: 0 } },
  { name: 'v3 only the domain XML', version: 3, bytes: '<a/>~~~~', cookieOffset: 0, expect: { blocks: [[92, 4]], cookie: null, slack: 3, stray: 0 } },
  { name: 'v3 sequence ends at the first empty block', version: 3, bytes: '<a/>~~<x/>~', cookieOffset: 0, expect: { blocks: [[92, 4]], cookie: null, slack: 6, stray: 4 } },
];

for (const c of CASES) {
  test(c.name, () => {
    const bytes = region(c.bytes);
    const decoded = decodeRegion(bytes, header(c.version, bytes.length, c.cookieOffset));
    assert.equal(decoded.blocks.map((b) => [b.offset, b.length]), c.expect.blocks);
    assert.is(decoded.cookie?.offset ?? null, c.expect.cookie);
    assert.is(decoded.slack, c.expect.slack);
    assert.is(decoded.strayBytes, c.expect.stray);
    assert.is(decoded.xml, decoded.blocks[0]);
  });
}

test('decodes text and root lazily and remembers them', () => {
  const bytes = region('<domain>é</domain>~<cookie/>~');
  const decoded = decodeRegion(bytes, header(2, bytes.length, 20));
  assert.is(decoded.xml.text, '<domain>é</domain>');
  assert.is(decoded.xml.root, 'domain');
  assert.is(decoded.xml.text, decoded.xml.text);
  assert.is(decoded.cookie!.root, 'cookie');
});

test('root is null for a block that is not XML', () => {
  const bytes = region('not xml~');
  assert.is(decodeRegion(bytes, header(2, bytes.length, 0)).xml.root, null);
});

test('v3 warns when cookieOffset does not point at block 1', () => {
  const bytes = region('<a/>~<cookie/>~');
  assert.match(decodeRegion(bytes, header(3, bytes.length, 0)).warnings.join(), 'cookieOffset is 0 but block 1 starts at 5');
});

const UNTERMINATED = [
  { name: 'v2 XML without NUL', version: 2, bytes: '<a/>xx', cookieOffset: 0, offset: 92 },
  { name: 'v2 XML runs into the cookie', version: 2, bytes: '<a/>x<c/>~', cookieOffset: 5, offset: 92 },
  { name: 'v2 cookie without NUL', version: 2, bytes: '<a/>~<c/>', cookieOffset: 5, offset: 97 },
  { name: 'v3 extension without NUL', version: 3, bytes: '<a/>~<c/>', cookieOffset: 5, offset: 97 },
];

for (const c of UNTERMINATED) {
  test(`ERR_XML_UNTERMINATED: ${c.name}`, () => {
    const bytes = region(c.bytes);
    try {
      decodeRegion(bytes, header(c.version, bytes.length, c.cookieOffset));
      assert.unreachable();
    } catch (error) {
      assert.ok(SaveImageError.is(error));
      assert.is(error.code, 'ERR_XML_UNTERMINATED');
      assert.is(error.offset, c.offset);
    }
  });
}

test.run();
