import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeRegion } from '../../lib/codec/blocks.js';
import { blocksLength, dataLenForSave, encodePrologue, layoutRegion, trailingBlocks } from '../../lib/codec/layout.js';
import { decodePrologue } from '../../lib/codec/prologue.js';
import { SaveImageError } from '../../lib/errors.js';
import { readDump, readSample } from '../helpers/samples.js';

const test = suite('codec/layout');
const b = (text: string): Buffer => Buffer.from(text);

test('dataLen for a new image adds 64 KiB of slack, as libvirt >= 6.3', () => {
  assert.is(dataLenForSave([b('<a/>'), b('<cookie/>')]), 5 + 10 + 65536);
  assert.is(dataLenForSave([b('<a/>')], 0), 5);
});

const LAYOUTS = [
  { name: 'xml and cookie', blocks: ['<a/>', '<c/>'], dataLen: 12, hex: '3c612f3e003c632f3e000000', cookieOffset: 5 },
  { name: 'cookie-less', blocks: ['<a/>'], dataLen: 6, hex: '3c612f3e0000', cookieOffset: 0 },
  { name: 'exactly filled', blocks: ['<a/>', '<c/>'], dataLen: 10, hex: '3c612f3e003c632f3e00', cookieOffset: 5 },
];

for (const c of LAYOUTS) {
  test(`lays out ${c.name}`, () => {
    const layout = layoutRegion(c.blocks.map(b), c.dataLen);
    assert.is(layout.region.toString('hex'), c.hex);
    assert.is(layout.cookieOffset, c.cookieOffset);
  });
}

test('one byte too many is ERR_XML_TOO_LARGE naming the missing bytes', () => {
  try {
    layoutRegion([b('<a/>'), b('<c/>')], 9);
    assert.unreachable();
  } catch (error) {
    assert.ok(SaveImageError.is(error));
    assert.is(error.code, 'ERR_XML_TOO_LARGE');
    assert.match(error.message, '1 bytes are missing');
    assert.match(error.message, 'savekit rewrite');
  }
});

test('a NUL inside a block is refused', () => {
  try {
    layoutRegion([b('<a>\0</a>')], 100);
    assert.unreachable();
  } catch (error) {
    assert.is((error as SaveImageError).code, 'ERR_BAD_XML');
  }
});

test('reproduces libvirt\'s in-place layout of raw.define-desc-longer', () => {
  const before = decodePrologue(readSample('libvirt-9.0/raw.save'));
  const after = readSample('libvirt-9.0/edited/raw.define-desc-longer.save');
  const xml = readDump('libvirt-9.0/dumps/raw.define-desc-longer', 'embedded-xml.txt');
  const blocks = [xml, ...trailingBlocks(before.region, 2)];
  const layout = layoutRegion(blocks, before.header.dataLen);
  const prologue = encodePrologue({ ...before.header, cookieOffset: layout.cookieOffset }, layout.region);
  assert.ok(prologue.equals(after.subarray(0, before.payloadOffset)));
});

test('trailing blocks: the cookie for v2, every extension for v3', () => {
  const v3 = Buffer.from('<a/>\0<cookie/>\0<x/>\0\0', 'latin1');
  const header = { magic: 'LibvirtQemudSave', version: 3, byteOrder: 'le' as const, dataLen: v3.length, wasRunning: 1, format: 0, cookieOffset: 5, unused: new Array(14).fill(0) };
  assert.equal(trailingBlocks(decodeRegion(v3, header), 3).map(String), ['<cookie/>', '<x/>']);
  assert.equal(trailingBlocks(decodeRegion(v3, { ...header, version: 2, cookieOffset: 5 }), 2).map(String), ['<cookie/>']);
  assert.is(blocksLength([b('ab'), b('')]), 4);
});

test.run();
