// The stream walker on the genuine samples and on crafted streams: every RAM flag, CONTINUE
// across sections, footers on and off, no configuration, commands, and a cut at every record
// boundary (ERR_TRUNCATED with the offset, never a hang), under several chunkings.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodePrologue } from '../../../lib/codec/prologue.js';
import { describeStreamEnd } from '../../../lib/codec/qemu/stream-end.js';
import { decodeVmDescription } from '../../../lib/codec/qemu/vmdescription.js';
import { QemuStreamWalker, type WalkOptions, type WalkSummary } from '../../../lib/codec/qemu/walker.js';
import { SaveImageError } from '../../../lib/errors.js';
import { CHUNKINGS } from '../../helpers/chunking.js';
import { QemuStreamBuilder, ram, type StreamOptions, u32 } from '../../helpers/qemu-stream.js';
import { GENUINE_SAMPLES, readSample, samplePath } from '../../helpers/samples.js';
import { readFileSync } from 'node:fs';
import { withLookalikeFooter } from '../../helpers/lookalike-footer.js';

const test = suite('codec/qemu/walker');

function walkBytes(bytes: Buffer, chunks: Buffer[] = [bytes], options: WalkOptions = {}): WalkSummary {
  const walker = new QemuStreamWalker(options);
  for (const chunk of chunks) walker.feed(chunk);
  return walker.end();
}

for (const sample of GENUINE_SAMPLES.filter((s) => s.format === 'raw' || s.format === 'sparse')) {
  test(`${sample.file}: machine, version, blocks summing to MEM_SIZE, the JSON's devices`, () => {
    const bytes = sample.format === 'sparse' ? readFileSync(samplePath(sample.file)) : readSample(sample.file);
    const { payloadOffset } = decodePrologue(bytes);
    const payload = bytes.subarray(payloadOffset);
    const end = describeStreamEnd(payload);
    assert.is(end.kind, 'vmdescription');
    const description = end.kind === 'vmdescription' ? decodeVmDescription(payload.subarray(end.jsonOffset, end.jsonOffset + end.jsonLength).toString()) : null;
    const sizings = [['json', { description }], ['json', {}], ['footers', { maxLookAheadBytes: 0 }]] as const; // given, read ahead, searched
    for (const [sizing, options] of sizings) {
      const summary = walkBytes(payload, CHUNKINGS[6]!.split(payload), { baseOffset: payloadOffset, ...options });
      assert.is(summary.streamVersion, 3);
      assert.is(summary.machine, sample.machine);
      assert.is(summary.ramBlocks.reduce((sum, b) => sum + b.length, 0), summary.memSize);
      assert.equal(summary.devices, description!.devices.map((d) => d.name));
      assert.is(summary.deviceSizing, sizing);
      assert.ok(summary.eof);
      assert.is(summary.trailingBytes, 0);
      if (end.kind === 'vmdescription') assert.is(summary.endOffset, payloadOffset + end.jsonOffset - 5);
      if (sample.format === 'sparse') assert.equal(summary.capabilities, ['mapped-ram']);
    }
  });
}

test('a device holding its own footer and an EOF byte: read from a pipe, sized by the description read ahead', () => {
  const bytes = withLookalikeFooter(readSample('libvirt-9.0/raw.save'));
  const { payloadOffset } = decodePrologue(bytes);
  const payload = bytes.subarray(payloadOffset);
  const expected = walkBytes(readSample('libvirt-9.0/raw.save').subarray(payloadOffset));
  for (const chunking of CHUNKINGS) {
    const summary = walkBytes(payload, chunking.split(payload), { baseOffset: payloadOffset }); // no description given: a pipe
    assert.is(summary.deviceSizing, 'json', chunking.name);
    assert.equal(summary.devices, expected.devices);
    assert.equal(summary.sections.map((s) => s.bytes), expected.sections.map((s) => s.bytes));
    assert.ok(summary.vmdescription !== null);
    assert.is(summary.trailingBytes, 0);
  }
  // What searching for footers alone makes of it (the code before the look-ahead): cut short.
  const searched = walkBytes(payload, [payload], { maxLookAheadBytes: 0 });
  assert.equal(searched.devices, ['timer']);
  assert.is(searched.vmdescription, null);
});

const BLOCKS: Array<[string, number]> = [['pc.ram', 16 * 4096], ['/rom@etc/acpi/tables', 4096 * 2]];
const DEVICES = [{ name: 'timer', instance: 0, size: 24 }, { name: 'serial', instance: 0, size: 7 }];

function fullStream(options: StreamOptions = {}) {
  const s = new QemuStreamBuilder(options);
  s.start(2, 'ram', 4, [...ram.memSize(BLOCKS), ...ram.flush(), ...ram.eos()]);
  s.part(2, [...ram.page(0, 'pc.ram'), ...ram.zero(4096, null), ...ram.xbzrle(8192, null, Buffer.from('delta')), ...ram.compressed(12288, null, Buffer.from('zlib!')), ...ram.flush(), ...ram.eos()]);
  s.part(2, [...ram.page(16384, null), ...ram.zero(0, '/rom@etc/acpi/tables', 0x11), ...ram.page(4096, null), ...ram.eos()]); // CONTINUE across sections
  s.command(11, Buffer.alloc(0));
  s.command(2, u32(7));
  s.command(7, u32(3), Buffer.from('abc')); // PACKAGED: 3 bytes its length does not count
  s.part(2, [...ram.page(20480, 'pc.ram'), ...ram.eos()], 3);
  DEVICES.forEach((d, i) => s.full(3 + i, d.name, d.instance, Buffer.alloc(d.size, 0x7e)));
  return { bytes: s.eof(DEVICES), boundaries: s.boundaries };
}

const VARIANTS: Array<[string, StreamOptions]> = [
  ['footers and description', {}],
  ['no footers', { footers: false }],
  ['no configuration section', { configuration: false }],
  ['no description', { description: false }],
];

for (const [name, options] of VARIANTS) {
  test(`crafted stream (${name}): every RAM flag, CONTINUE across sections, commands`, () => {
    const { bytes } = fullStream(options);
    for (const chunking of [CHUNKINGS[0]!, CHUNKINGS[1]!, CHUNKINGS[6]!]) {
      const description = options.description === false ? null : { pageSize: 4096, devices: DEVICES.map((d) => ({ name: d.name, instance: d.instance, bytes: d.size })), deviceDescriptions: [], text: '' };
      const summary = walkBytes(bytes, chunking.split(bytes), { description: options.footers === false ? description : null });
      assert.equal(summary.ramBlocks.map((b) => [b.name, b.zeroPages, b.dataPages]), [['pc.ram', 1, 5], ['/rom@etc/acpi/tables', 1, 1]]);
      assert.equal(summary.commands, ['SWITCHOVER_START', 'PING', 'PACKAGED']);
      assert.is(summary.machine, options.configuration === false ? null : 'pc-q35-9.2');
      assert.is(summary.footers, options.footers !== false);
      if (options.footers === false && options.description === false) {
        assert.is(summary.deviceSizing, 'opaque');
      } else {
        assert.equal(summary.devices, ['timer', 'serial']);
        assert.ok(summary.eof);
      }
    }
  });
}

test('a cut at every record boundary is ERR_TRUNCATED with its offset', () => {
  const { bytes, boundaries } = fullStream();
  for (const cut of boundaries.slice(0, -1)) {
    try {
      walkBytes(bytes.subarray(0, cut), [bytes.subarray(0, cut)], { baseOffset: 1000 });
      // Cut after the EOF byte: the stream is whole, only the description is missing.
      assert.ok(cut >= boundaries[boundaries.length - 2]!, `cut at ${cut} was accepted`);
    } catch (error) {
      assert.ok(SaveImageError.is(error), String(error));
      assert.is(error.code, 'ERR_TRUNCATED');
      assert.is(error.offset, 1000 + cut);
    }
  }
});

test('a cut inside records is ERR_TRUNCATED too (every 97th byte)', () => {
  const { bytes } = fullStream();
  for (let cut = 1; cut < bytes.length - 200; cut += 97) {
    try {
      walkBytes(bytes.subarray(0, cut));
      assert.unreachable(`cut at ${cut}`);
    } catch (error) {
      assert.is((error as SaveImageError).code, 'ERR_TRUNCATED', `cut at ${cut}: ${String(error)}`);
    }
  }
});


const BAD: Array<[string, Buffer, string]> = [
  ['wrong magic', Buffer.from('QEVN\0\0\0\x03\0'), 'QEVM'],
  ['stream version 2', Buffer.from('QEVM\0\0\0\x02\0'), 'version 2'],
  ['unknown record type', Buffer.concat([Buffer.from('QEVM\0\0\0\x03'), Buffer.from([0x42])]), 'unknown record type 0x42'],
  ['a PART for a section never started', Buffer.concat([Buffer.from('QEVM\0\0\0\x03'), Buffer.from([2]), u32(9)]), 'never started'],
  ['CONTINUE before any block', (() => { const s = new QemuStreamBuilder(); s.start(2, 'ram', 4, [...ram.memSize(BLOCKS), ...ram.page(0, null)]); return s.eof([]); })(), 'no block was named'],
  ['two record types at once', (() => { const s = new QemuStreamBuilder(); s.start(2, 'ram', 4, [...ram.memSize(BLOCKS), ...ram.raw(0x0a)]); return s.eof([]); })(), 'not one record type'],
  ['a page past its block', (() => { const s = new QemuStreamBuilder(); s.start(2, 'ram', 4, [...ram.memSize(BLOCKS), ...ram.page(16 * 4096, 'pc.ram')]); return s.eof([]); })(), 'past the end of block'],
  ['an unknown block', (() => { const s = new QemuStreamBuilder(); s.start(2, 'ram', 4, [...ram.memSize(BLOCKS), ...ram.page(0, 'vga.vram')]); return s.eof([]); })(), 'vga.vram'],
  ['a footer for another section', (() => { const s = new QemuStreamBuilder({ footers: false }); s.start(2, 'ram', 4, [...ram.memSize(BLOCKS), ...ram.eos(), Buffer.from([0x7e]), u32(5)]); return s.eof([]); })(), 'closes section 2'],
  ['ram section version 3', (() => { const s = new QemuStreamBuilder(); s.start(2, 'ram', 3, [...ram.memSize(BLOCKS), ...ram.eos()]); return s.eof([]); })(), 'ram section version 3'],
];

function lyingBitmap(): Buffer {
  const head = Buffer.concat([Buffer.from('QEVM\0\0\0\x03', 'latin1'), Buffer.from([7]), u32(10), Buffer.from('pc-q35-9.2'), Buffer.from([5]), Buffer.from([26]), Buffer.from('configuration/capabilities'), u32(1), u32(1), Buffer.from([10]), Buffer.from('mapped-ram')]);
  const start = Buffer.concat([Buffer.from([1]), u32(2), Buffer.from([3]), Buffer.from('ram'), u32(0), u32(4)]);
  const length = 2 ** 45;
  const memSize = Buffer.concat([...ram.raw(length + 4), Buffer.from([6]), Buffer.from('pc.ram'), ...ram.raw(length)]);
  const headerAt = head.length + start.length + memSize.length;
  const header = Buffer.alloc(28);
  header.writeUInt32BE(1, 0);
  header.writeBigUInt64BE(4096n, 4);
  header.writeBigUInt64BE(BigInt(500 + headerAt + 28), 12); // absolute: the tests walk from offset 500
  header.writeBigUInt64BE(1n << 20n, 20);
  return Buffer.concat([head, start, memSize, header, Buffer.alloc(64)]);
}

BAD.push(
  ['a machine name length that lies', Buffer.concat([Buffer.from('QEVM\0\0\0\x03', 'latin1'), Buffer.from([7]), u32(0x7fffffff), Buffer.from('pc')]), 'machine type name of 2147483647 bytes'],
  ['a description length that lies', Buffer.concat([Buffer.from('QEVM\0\0\0\x03', 'latin1'), Buffer.from([0, 6]), u32(0xfffffff0), Buffer.from('{"a":1}')]), 'device description of'],
  ['a mapped-ram block length that lies', lyingBitmap(), 'mapped-ram bitmap of'],
);

for (const [name, bytes, message] of BAD) {
  test(`ERR_BAD_STREAM for ${name}`, () => {
    try {
      walkBytes(bytes, [bytes], { baseOffset: 500 });
      assert.unreachable();
    } catch (error) {
      assert.ok(SaveImageError.is(error), String(error));
      assert.is(error.code, 'ERR_BAD_STREAM', error.message);
      assert.match(error.message, message);
      assert.ok(error.offset! >= 500);
    }
  });
}

test('onPage sees every page at its address, zero pages as null', () => {
  const s = new QemuStreamBuilder();
  s.start(2, 'ram', 4, [...ram.memSize(BLOCKS), ...ram.eos()]);
  s.part(2, [...ram.page(0, 'pc.ram', 1), ...ram.zero(4096, null), ...ram.eos()]);
  s.part(2, [...ram.page(16384, null, 2), ...ram.zero(0, '/rom@etc/acpi/tables', 0x11), ...ram.page(4096, null, 3), ...ram.eos()], 3);
  const bytes = s.eof([]);
  const seen: string[] = [];
  walkBytes(bytes, CHUNKINGS[3]!.split(bytes), { onPage: (block, address, data, fill) => seen.push(`${block.name}@${address}:${data ? data[0] : `zero ${fill}`}`) });
  assert.equal(seen, ['pc.ram@0:1', 'pc.ram@4096:zero 0', 'pc.ram@16384:2', '/rom@etc/acpi/tables@0:zero 17', '/rom@etc/acpi/tables@4096:3']);
});

test('pages that cannot be rebuilt (XBZRLE, COMPRESS_PAGE) stop an extraction with ERR_BAD_STREAM', () => {
  const { bytes } = fullStream();
  try {
    walkBytes(bytes, [bytes], { onPage: () => undefined });
    assert.unreachable();
  } catch (error) {
    assert.is((error as SaveImageError).code, 'ERR_BAD_STREAM');
    assert.match((error as Error).message, 'XBZRLE');
  }
});

test.run();
