import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeSignatureHeader, encodeSignatureHeader, type SignatureItem, SignatureReader, SignatureWriter } from '../../../lib/codec/delta/signature-layout.js';
import { SaveImageError } from '../../../lib/errors.js';
import { CHUNKINGS } from '../../helpers/chunking.js';

const test = suite('codec/delta/signature-layout');

const hash = (n: number) => Buffer.alloc(16, n);

function written(): Buffer {
  const out: Buffer[] = [];
  const writer = new SignatureWriter((bytes) => out.push(Buffer.from(bytes)));
  writer.block({ name: 'pc.ram', length: 2 ** 33, pageSize: 4096 });
  writer.block({ name: 'vga.vram', length: 16 * 2 ** 20, pageSize: 4096 });
  writer.listEnd();
  writer.page(0, 0, hash(1), 0);
  writer.page(0, 1, null, 0);
  writer.page(0, 2, null, 0xaa);
  writer.page(0, 2 ** 21 + 3, hash(2), 0); // past 8 GiB: a new run
  writer.page(1, 0, hash(3), 0);
  for (let page = 1; page <= 5000; page++) writer.page(1, page, null, 0); // runs are cut at 4096
  writer.page(0, 7, hash(4), 0); // sent again
  writer.end({ length: 2 ** 34 + 1, digest: '00112233445566ff' }, 5006);
  return Buffer.concat(out);
}

function readAll(program: Buffer, pieces: Buffer[]): SignatureItem[] {
  const reader = new SignatureReader();
  const items: SignatureItem[] = [];
  for (const piece of pieces) {
    reader.push(piece);
    for (let item = reader.next(); item !== null; item = reader.next()) items.push(item.kind === 'page' && item.hash ? { ...item, hash: Buffer.from(item.hash) } : item);
  }
  reader.finish();
  return items;
}

test('header: magic, version 1, zstd', () => {
  const header = encodeSignatureHeader();
  assert.is(header.toString('latin1', 0, 16), 'SavekitSignature');
  decodeSignatureHeader(header);
  const newer = Buffer.from(header);
  newer[17] = 2;
  assert.throws(() => decodeSignatureHeader(newer), (error: unknown) => SaveImageError.is(error) && error.code === 'ERR_UNSUPPORTED_VERSION');
  assert.throws(() => decodeSignatureHeader(Buffer.from('SavekitDelta')), (error: unknown) => SaveImageError.is(error) && error.code === 'ERR_BAD_SIGNATURE');
});

test('every item comes back in order, under every chunking', () => {
  const program = written();
  let reference: SignatureItem[] | null = null;
  for (const chunking of CHUNKINGS) {
    const items = readAll(program, chunking.split(program));
    reference ??= items;
    assert.equal(items, reference, chunking.name);
  }
  const items = reference!;
  assert.equal(items.slice(0, 3), [{ kind: 'block', block: { name: 'pc.ram', length: 2 ** 33, pageSize: 4096 } }, { kind: 'block', block: { name: 'vga.vram', length: 16 * 2 ** 20, pageSize: 4096 } }, { kind: 'list-end' }]);
  const pages = items.filter((item) => item.kind === 'page');
  assert.is(pages.length, 5006);
  assert.equal(pages[0], { kind: 'page', blockIndex: 0, page: 0, hash: hash(1), fill: 0 });
  assert.equal(pages[2], { kind: 'page', blockIndex: 0, page: 2, hash: null, fill: 0xaa });
  assert.equal(pages[3], { kind: 'page', blockIndex: 0, page: 2 ** 21 + 3, hash: hash(2), fill: 0 });
  assert.equal(pages.at(-1), { kind: 'page', blockIndex: 0, page: 7, hash: hash(4), fill: 0 });
  assert.equal(items.at(-1), { kind: 'end', base: { length: 2 ** 34 + 1, digest: '00112233445566ff' }, basePages: 5006 });
  // 17 bytes a data page, 1 a zero page, plus a few bytes a run.
  assert.ok(program.length < 4 * 17 + 5003 + 200, `${program.length} bytes`);
});

test('a cut or damaged signature is ERR_BAD_SIGNATURE', () => {
  const program = written();
  for (const cut of [0, 1, 5, 30, program.length - 1]) {
    assert.throws(() => readAll(program.subarray(0, cut), [program.subarray(0, cut)]), (error: unknown) => SaveImageError.is(error) && error.code === 'ERR_BAD_SIGNATURE', `cut at ${cut}`);
  }
  const damaged = Buffer.from(program);
  damaged[0] = 0x21;
  assert.throws(() => readAll(damaged, [damaged]), (error: unknown) => SaveImageError.is(error) && error.code === 'ERR_BAD_SIGNATURE');
});

test.run();
