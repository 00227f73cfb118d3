// The project's synthetic save-image writer, for tests and benchmarks: a valid header and data
// region (any byte order and version) and a well-formed QEMU migration stream of a chosen RAM
// size (QEMU-STREAM.md: QEVM v3, configuration, ram START/PART/END with footers, two device
// sections, EOF and the VMDESCRIPTION JSON). Multi-GB images are generated, never committed.
import { closeSync, openSync, writeSync } from 'node:fs';
import { MAGIC_SAVE, SAVE_SLACK_BYTES, UNUSED_WORDS } from '../../lib/constants.js';
import { encodeHeader, type ByteOrder, type SaveImageHeader } from '../../lib/codec/header.js';
import { dataLenForSave, layoutRegion } from '../../lib/codec/layout.js';

export const PAGE_BYTES = 4096;
const FLAG_ZERO = 0x02;
const FLAG_MEM_SIZE = 0x04;
const FLAG_PAGE = 0x08;
const FLAG_EOS = 0x10;
const FLAG_CONTINUE = 0x20;
const RAM_SECTION_ID = 2;
/** Pages per PART section (64 MiB of RAM), as QEMU splits iterations. */
const PAGES_PER_PART = 16384;
/** Pages per yielded chunk: about 1 MiB of stream. */
const PAGES_PER_CHUNK = 256;

export interface SyntheticImageOptions {
  /** Size of the `pc.ram` block; a multiple of 4096. */
  ramBytes: number;
  byteOrder?: ByteOrder;
  version?: number;
  wasRunning?: boolean;
  xml?: string;
  /** libvirt's cookie; null for a cookie-less image. */
  cookie?: string | null;
  /** More blocks after the cookie (version 3 only). */
  extensions?: string[];
  slack?: number;
  /** Every Nth page of pc.ram is a ZERO record (0: none). */
  zeroPageEvery?: number;
  /** Only every Nth page of pc.ram holds data, the rest are ZERO records (as on an idle guest); 0: off. */
  dataPageEvery?: number;
  unused?: number[];
  /**
   * Pages as a saved guest has them: 60% ZERO records, in runs of 64 pages (256 KiB) as
   * untouched memory comes, and data pages that compress about 2:1 (half random, half zero).
   * 'interleaved' mixes them page by page instead (3 zero, 2 data): the worst case for holes.
   * Overrides zeroPageEvery and dataPageEvery.
   */
  realistic?: boolean | 'interleaved';
  /**
   * The device sections, EOF byte and description to end the stream with, verbatim (a genuine
   * image's, for a cpu section to decode); by default two synthetic devices.
   */
  deviceTail?: Buffer;
  /** The RAM blocks, in MEM_SIZE order (default pc.ram of ramBytes, then a 128 KiB pc.rom of zero pages). */
  blocks?: Array<{ name: string; bytes: number }>;
  /**
   * A later save of the same guest: a page of a block other than pc.rom for which this says
   * 'data' gets new random content (a zero page becomes data), 'zero' becomes a zero page.
   */
  rewritten?: (block: string, page: number) => 'data' | 'zero' | null;
  /** Seeds the rewritten pages' content (default 1): two generations differ. */
  generation?: number;
  /** Pages of the first block sent again after every block (a later iteration), as they are. */
  resend?: number[];
  /** Added to the bytes of the synthetic device sections (changed device state). */
  deviceFill?: number;
}

export const SYNTHETIC_XML = `<domain type='kvm'>
  <name>synthetic</name>
  <uuid>00000000-5a7e-4000-8000-000000000001</uuid>
  <memory unit='KiB'>16384</memory>
  <currentMemory unit='KiB'>16384</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
  </os>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <devices>
    <graphics type='vnc' port='-1' autoport='yes' passwd='s3cret'/>
  </devices>
</domain>
`;

export const SYNTHETIC_COOKIE = `<cookie>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>qemu64</model>
    <feature policy='require' name='x2apic'/>
  </cpu>
</cookie>
`;

/** The prologue (header and data region) of a synthetic image. */
export function syntheticPrologue(options: SyntheticImageOptions): Buffer {
  const blocks = [Buffer.from(options.xml ?? SYNTHETIC_XML)];
  const cookie = options.cookie === undefined ? SYNTHETIC_COOKIE : options.cookie;
  if (cookie !== null) blocks.push(Buffer.from(cookie));
  for (const extension of options.extensions ?? []) blocks.push(Buffer.from(extension));
  const dataLen = dataLenForSave(blocks, options.slack ?? SAVE_SLACK_BYTES);
  const { region, cookieOffset } = layoutRegion(blocks, dataLen);
  const header: SaveImageHeader = {
    magic: MAGIC_SAVE,
    version: options.version ?? 2,
    byteOrder: options.byteOrder ?? 'le',
    dataLen,
    wasRunning: options.wasRunning === false ? 0 : 1,
    format: 0,
    cookieOffset,
    unused: options.unused ?? new Array<number>(UNUSED_WORDS).fill(0),
  };
  return Buffer.concat([encodeHeader(header), region]);
}

interface RamBlockSpec {
  name: string;
  bytes: number;
}

const DEVICES = [
  { name: 'timer', version: 2, fields: [8, 8, 8] },
  { name: 'apic', version: 3, fields: [4, 4, 4, 1, 32, 32, 32] },
];

/** The QEMU migration stream, in chunks of about 1 MiB (fresh buffers, safe to keep). */
export function* syntheticPayload(options: SyntheticImageOptions): Generator<Buffer> {
  if (options.ramBytes % PAGE_BYTES !== 0) throw new RangeError('ramBytes must be a multiple of 4096');
  const blocks: RamBlockSpec[] = options.blocks ?? [
    { name: 'pc.ram', bytes: options.ramBytes },
    { name: 'pc.rom', bytes: 128 * 1024 },
  ];
  const total = blocks.reduce((sum, block) => sum + block.bytes, 0);
  const head: Buffer[] = [u32(0x5145564d), u32(3), u8(0x07), lengthPrefixed32('pc-i440fx-7.2')];
  head.push(longSectionHeader(0x01, RAM_SECTION_ID, 'ram', 0, 4), u64(total + FLAG_MEM_SIZE));
  for (const block of blocks) head.push(u8(block.name.length), Buffer.from(block.name), u64(block.bytes));
  head.push(u64(FLAG_EOS), footer(RAM_SECTION_ID));
  yield Buffer.concat(head);

  const zeroEvery = options.zeroPageEvery ?? 4;
  const dataEvery = options.dataPageEvery ?? 0;
  const template = pageTemplate();
  const generation = options.generation ?? 1;
  /** A page's record body: null for a zero page. */
  const bodyOf = (block: RamBlockSpec, page: number): Buffer | null => {
    if (block.name === 'pc.rom') return null;
    const change = options.rewritten?.(block.name, page) ?? null;
    if (change === 'zero') return null;
    if (change === 'data') return seededPage(page, generation, PAGE_BYTES);
    const zero = options.realistic
      ? (options.realistic === 'interleaved' ? page % 5 : (page >> 6) % 5) < 3
      : (zeroEvery > 0 && page % zeroEvery === zeroEvery - 1) || (dataEvery > 0 && page % dataEvery !== 0);
    return zero ? null : options.realistic ? halfPage(page) : pageBody(template, page);
  };
  let named = '';
  const record = (block: RamBlockSpec, page: number, parts: Buffer[]) => {
    const body = bodyOf(block, page);
    const flags = (body === null ? FLAG_ZERO : FLAG_PAGE) | (named === block.name ? FLAG_CONTINUE : 0);
    parts.push(u64(page * PAGE_BYTES + flags));
    if (named !== block.name) parts.push(u8(block.name.length), Buffer.from(block.name));
    named = block.name;
    parts.push(body ?? u8(0));
  };
  for (const block of blocks) {
    const pages = block.bytes / PAGE_BYTES;
    for (let first = 0; first < pages; first += PAGES_PER_CHUNK) {
      const parts: Buffer[] = [];
      if (first % PAGES_PER_PART === 0) parts.push(u8(0x02), u32(RAM_SECTION_ID));
      const last = Math.min(first + PAGES_PER_CHUNK, pages);
      for (let page = first; page < last; page++) record(block, page, parts);
      if (last % PAGES_PER_PART === 0 || last === pages) parts.push(u64(FLAG_EOS), footer(RAM_SECTION_ID));
      yield Buffer.concat(parts);
    }
  }
  if (options.resend && options.resend.length > 0) {
    const parts: Buffer[] = [u8(0x02), u32(RAM_SECTION_ID)];
    for (const page of options.resend) record(blocks[0]!, page, parts);
    parts.push(u64(FLAG_EOS), footer(RAM_SECTION_ID));
    yield Buffer.concat(parts);
  }
  const tail: Buffer[] = [u8(0x03), u32(RAM_SECTION_ID), u64(FLAG_EOS), footer(RAM_SECTION_ID)];
  if (options.deviceTail) {
    yield Buffer.concat([...tail, options.deviceTail]);
    return;
  }
  DEVICES.forEach((device, i) => {
    tail.push(longSectionHeader(0x04, 3 + i, device.name, 0, device.version));
    for (const size of device.fields) tail.push(Buffer.alloc(size, i + 1 + (options.deviceFill ?? 0)));
    tail.push(footer(3 + i));
  });
  tail.push(u8(0x00));
  const description = JSON.stringify({
    page_size: PAGE_BYTES,
    devices: DEVICES.map((device) => ({
      name: device.name,
      instance_id: 0,
      vmsd_name: device.name,
      version: device.version,
      fields: device.fields.map((size, f) => ({ name: `field${f}`, type: 'buffer', size })),
    })),
  });
  tail.push(u8(0x06), lengthPrefixed32(description));
  yield Buffer.concat(tail);
}

/** The whole image as chunks: the prologue, then the payload. */
export function* syntheticImage(options: SyntheticImageOptions): Generator<Buffer> {
  yield syntheticPrologue(options);
  yield* syntheticPayload(options);
}

/** The whole image in one Buffer (small images only). */
export function syntheticImageBuffer(options: SyntheticImageOptions): Buffer {
  return Buffer.concat([...syntheticImage(options)]);
}

/** Writes a synthetic image to `path`; returns its size and payload offset. */
export function writeSyntheticImage(path: string, options: SyntheticImageOptions): { size: number; payloadOffset: number } {
  const fd = openSync(path, 'w');
  let size = 0;
  let payloadOffset = 0;
  try {
    for (const chunk of syntheticImage(options)) {
      if (payloadOffset === 0) payloadOffset = chunk.length;
      writeSync(fd, chunk);
      size += chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  return { size, payloadOffset };
}

/** 4096 bytes of pseudo-random data; each page stamps its number on it so pages differ. */
function pageTemplate(): Buffer {
  const page = Buffer.allocUnsafe(PAGE_BYTES);
  let x = 0x2545f491;
  for (let i = 0; i < PAGE_BYTES; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    page.writeInt32LE(x | 0, i);
  }
  return page;
}

function pageBody(template: Buffer, page: number): Buffer {
  const body = Buffer.from(template);
  body.writeUInt32BE(page, 0);
  return body;
}

/**
 * A page that compresses about 2:1: a pseudo-random half, then zeros. The same page number gives
 * the same bytes in every image (two saves of one guest), and no two pages share a run of bytes.
 */
function halfPage(page: number): Buffer {
  const body = seededPage(page, 0, PAGE_BYTES / 2);
  body.writeUInt32BE(page, 0);
  return body;
}

/** A page whose first `randomBytes` are xorshift128 output seeded by (page, generation), then zeros. */
function seededPage(page: number, generation: number, randomBytes: number): Buffer {
  const body = Buffer.alloc(PAGE_BYTES);
  const words = new Int32Array(body.buffer, body.byteOffset, randomBytes / 4);
  let x = (page * 0x9e3779b1) | 1;
  let y = generation * 0x85ebca6b + 0x2545f491;
  let z = page ^ 0x5bd1e995;
  let w = (generation + 1) * 0xc2b2ae35;
  for (let i = 0; i < 16; i++) {
    const t = x ^ (x << 11);
    x = y; y = z; z = w;
    w = w ^ (w >>> 19) ^ (t ^ (t >>> 8));
  }
  for (let i = 0; i < words.length; i++) {
    const t = x ^ (x << 11);
    x = y; y = z; z = w;
    w = w ^ (w >>> 19) ^ (t ^ (t >>> 8));
    words[i] = w;
  }
  return body;
}

function longSectionHeader(type: number, id: number, name: string, instance: number, version: number): Buffer {
  return Buffer.concat([u8(type), u32(id), u8(name.length), Buffer.from(name), u32(instance), u32(version)]);
}

function footer(id: number): Buffer {
  return Buffer.concat([u8(0x7e), u32(id)]);
}

function lengthPrefixed32(text: string): Buffer {
  const body = Buffer.from(text);
  return Buffer.concat([u32(body.length), body]);
}

function u8(value: number): Buffer {
  return Buffer.from([value]);
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value);
  return b;
}

function u64(value: number): Buffer {
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(value));
  return b;
}

