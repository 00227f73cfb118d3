// savekit diff: what changed between two images, for people. The headers and the stored XML
// are compared as they are; the QEMU streams are walked in step (in-step.ts), once each: every
// RAM page of B beside A's page at the same block and address, and every device section kept
// (a few KiB each) and, where both streams carry QEMU's description, decoded field by field.
import { BlockChanges, type PageChange } from '../codec/delta/page-map.js';
import type { DecodeHeaderOptions } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import type { DeviceState } from '../codec/qemu/device-state.js';
import { diffDeviceStates, type FieldChange } from '../codec/qemu/state-diff.js';
import type { SectionSummary } from '../codec/qemu/walker.js';
import { imagePages } from './base-pages.js';
import type { FdSource } from '../io/fd-source.js';
import { type PageRecord, walkInStep } from './in-step.js';
import { decodeHeldSections, type HeldSection } from './read-state.js';

export interface HeaderChange {
  field: string;
  a: string | number;
  b: string | number;
}

export interface DeviceChange {
  name: string;
  instance: number;
  bytesA: number;
  bytesB: number;
  /** The fields that differ, or null when a description is missing on either side. */
  fields: FieldChange[] | null;
}

export interface ImageDiff {
  a: SaveImagePrologue;
  b: SaveImagePrologue;
  header: HeaderChange[];
  devices: {
    same: string[];
    changed: DeviceChange[];
    added: Array<{ name: string; instance: number }>;
    removed: Array<{ name: string; instance: number }>;
  };
  /** B's RAM blocks, page by page against A's; then A's blocks that B lacks. */
  ram: BlockChanges[];
  removedBlocks: Array<{ name: string; length: number }>;
}

export interface DiffOptions {
  readOptions?: DecodeHeaderOptions;
  onStart?: (totalBytes: number | null) => void;
  onProgress?: (bytes: number) => void;
}

const HEADER_FIELDS = ['magic', 'version', 'byteOrder', 'dataLen', 'wasRunning', 'format', 'cookieOffset'] as const;

export async function diffImages(sourceA: FdSource, sourceB: FdSource, options: DiffOptions = {}): Promise<ImageDiff> {
  const a = sourceA.readPrologue(options.readOptions ?? {});
  const b = sourceB.readPrologue(options.readOptions ?? {});
  const heldA: HeldSection[] = [];
  const heldB: HeldSection[] = [];
  const base = imagePages(sourceA, { prologue: a, onDeviceSection: (section, bytes, offset) => heldA.push({ section, bytes, offset }) });
  const blocks = new Map<string, BlockChanges>();

  const classify = (record: PageRecord, inBase: boolean): PageChange => {
    if (!inBase) return 'unpaired';
    const queue = base.queue;
    const before = queue.body;
    const fillBefore = queue.fill;
    queue.shift();
    if (before === null) {
      if (record.data === null) return record.fill === fillBefore ? 'equal' : 'changed';
      return isFilled(record.data, fillBefore) ? 'equal' : 'zeroToData';
    }
    if (record.data === null) return isFilled(before, record.fill) ? 'equal' : 'dataToZero';
    return record.data.equals(before) ? 'equal' : 'changed';
  };

  try {
    const walk = await walkInStep(sourceB, base, {
      prologue: b,
      ...(options.onStart ? { onStart: options.onStart } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      onDeviceSection: (section, bytes, offset) => heldB.push({ section, bytes, offset }),
      onRecord(record, inBase) {
        let block = blocks.get(record.block.name);
        if (!block) blocks.set(record.block.name, (block = new BlockChanges(record.block.name, record.block.length, record.block.pageSize)));
        block.add(record.address, classify(record, inBase));
      },
    });
    await base.finish();
    const summaryA = base.summary();
    const inB = new Set(walk.summary.ramBlocks.map((block) => block.name));
    return {
      a,
      b,
      header: headerChanges(a, b),
      devices: deviceChanges(decodeHeldSections(summaryA, heldA).sections, heldA, decodeHeldSections(walk.summary, heldB).sections, heldB),
      ram: walk.summary.ramBlocks.map((block) => blocks.get(block.name) ?? new BlockChanges(block.name, block.length, block.pageSize)),
      removedBlocks: summaryA.ramBlocks.filter((block) => !inB.has(block.name)).map(({ name, length }) => ({ name, length })),
    };
  } catch (error) {
    base.abort();
    throw error;
  }
}

function headerChanges(a: SaveImagePrologue, b: SaveImagePrologue): HeaderChange[] {
  const changes: HeaderChange[] = [];
  for (const field of HEADER_FIELDS) if (a.header[field] !== b.header[field]) changes.push({ field, a: a.header[field], b: b.header[field] });
  a.header.unused.forEach((word, i) => {
    if (word !== b.header.unused[i]) changes.push({ field: `unused[${i}]`, a: word, b: b.header.unused[i] ?? 0 });
  });
  return changes;
}

type Decoded = ReturnType<typeof decodeHeldSections>['sections'];

function deviceChanges(decodedA: Decoded, heldA: HeldSection[], decodedB: Decoded, heldB: HeldSection[]): ImageDiff['devices'] {
  const key = (section: SectionSummary) => `${section.name}\0${section.instance}`;
  const states = (decoded: Decoded) => new Map<string, DeviceState>(decoded.flatMap((section) => ('state' in section ? [[`${section.name}\0${section.state.instance}`, section.state] as const] : [])));
  const stateA = states(decodedA);
  const stateB = states(decodedB);
  const byKeyA = new Map(heldA.map((held) => [key(held.section), held]));
  const keysB = new Set(heldB.map((held) => key(held.section)));
  const result: ImageDiff['devices'] = { same: [], changed: [], added: [], removed: [] };
  for (const held of heldB) {
    const { name, instance } = held.section;
    const before = byKeyA.get(key(held.section));
    if (!before) {
      result.added.push({ name, instance });
    } else if (before.bytes.equals(held.bytes)) {
      result.same.push(name);
    } else {
      const a: DeviceState | undefined = stateA.get(key(held.section));
      const b: DeviceState | undefined = stateB.get(key(held.section));
      result.changed.push({ name, instance, bytesA: before.bytes.length, bytesB: held.bytes.length, fields: a && b ? diffDeviceStates(a, b) : null });
    }
  }
  for (const held of heldA) if (!keysB.has(key(held.section))) result.removed.push({ name: held.section.name, instance: held.section.instance });
  return result;
}

const ZEROS = Buffer.alloc(65536);

/** Every byte of `page` is `fill` (a data page holding what a zero page would). */
function isFilled(page: Buffer, fill: number): boolean {
  if (fill === 0) return page.length <= ZEROS.length && page.equals(ZEROS.subarray(0, page.length));
  return page.every((byte) => byte === fill);
}
