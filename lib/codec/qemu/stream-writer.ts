// Writers for the QEMU migration stream, beside the walker's readers: the records a converted
// payload is made of, sequential (formats 0 to 5) and mapped-ram (format 6), byte for byte as
// QEMU writes them (CONVERT.md sections 2.3, 2.5 and 2.6: a stream re-encoded from the model of
// a genuine one gives back the genuine bytes). Pure.
import { RAM_FLAG, RECORD } from './records.js';
import type { ConfigurationSubsection } from './walk-state.js';

/** Everything of a stream but its pages: what a conversion carries over. */
export interface StreamModel {
  /** The machine type, or null when the stream has no configuration section. */
  machine: string | null;
  configuration: ConfigurationSubsection[];
  capabilities: string[];
  ram: { id: number; instance: number; version: number };
  blocks: Array<{ name: string; length: number }>;
  pageSize: number;
  footers: boolean;
  /** QEMU 10 sends SWITCHOVER_START after the last RAM part (QEMU_VM_COMMAND 0x0b). */
  switchoverStart: boolean;
  /** Device sections in stream order: header fields and payload bytes. */
  devices: Array<{ id: number; name: string; instance: number; version: number; bytes: Buffer }>;
  /** The VMDESCRIPTION JSON text, or null when the stream had none. */
  description: string | null;
}

export const MAPPED_RAM_CAPABILITY = 'mapped-ram';
const CAPABILITIES = 'configuration/capabilities';
const SWITCHOVER_START = Buffer.from([RECORD.COMMAND, 0x00, 0x0b, 0x00, 0x00]);
/** QEMU aligns each block's page area to 1 MiB (only page-size alignment is checked on load). */
const PAGE_AREA_ALIGNMENT = 0x100000;

const u8 = (value: number) => Buffer.from([value]);
function be32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}
function be64(value: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(value));
  return b;
}
const latin1 = (text: string) => Buffer.from(text, 'latin1');
const str8 = (text: string) => Buffer.concat([u8(text.length), latin1(text)]);

/** QEVM, version 3, and the configuration section with these capabilities. */
export function encodeStreamHead(model: StreamModel, capabilities: string[]): Buffer {
  const parts = [latin1('QEVM'), be32(3)];
  if (model.machine !== null) {
    parts.push(u8(RECORD.CONFIGURATION), be32(model.machine.length), latin1(model.machine));
    const subsections = model.configuration.filter((sub) => sub.name !== CAPABILITIES);
    // QEMU's order: target-page-bits, capabilities, uuid (only sent when there are capabilities).
    const old = model.configuration.find((sub) => sub.name === CAPABILITIES);
    const at = old ? model.configuration.indexOf(old) : subsections.findIndex((sub) => sub.name !== 'configuration/target-page-bits') === -1 ? subsections.length : subsections.findIndex((sub) => sub.name !== 'configuration/target-page-bits');
    const withCaps: Array<ConfigurationSubsection | 'caps'> = [...subsections];
    if (capabilities.length > 0) withCaps.splice(at, 0, 'caps');
    for (const sub of withCaps) {
      if (sub === 'caps') parts.push(u8(RECORD.SUBSECTION), str8(CAPABILITIES), be32(old?.version ?? 1), be32(capabilities.length), ...capabilities.map(str8));
      else parts.push(u8(RECORD.SUBSECTION), str8(sub.name), be32(sub.version), sub.body ?? Buffer.alloc(0));
    }
  }
  return Buffer.concat(parts);
}

function sectionHeader(type: number, model: StreamModel): Buffer {
  return Buffer.concat([u8(type), be32(model.ram.id), str8('ram'), be32(model.ram.instance), be32(model.ram.version)]);
}

const footer = (model: StreamModel, id: number) => (model.footers ? Buffer.concat([u8(RECORD.SECTION_FOOTER), be32(id)]) : Buffer.alloc(0));
const totalRam = (model: StreamModel) => model.blocks.reduce((sum, block) => sum + block.length, 0);

/** The sequential RAM START section: the MEM_SIZE block list, EOS, footer (no mapped-ram headers). */
export function encodeSequentialRamStart(model: StreamModel): Buffer {
  return Buffer.concat([
    sectionHeader(RECORD.SECTION_START, model),
    be64(totalRam(model) + RAM_FLAG.MEM_SIZE),
    ...model.blocks.flatMap((block) => [str8(block.name), be64(block.length)]),
    be64(RAM_FLAG.EOS),
    footer(model, model.ram.id),
  ]);
}

/** The header of the one RAM PART section that carries every page. */
export function encodeRamPartHeader(model: StreamModel): Buffer {
  return Buffer.concat([u8(RECORD.SECTION_PART), be32(model.ram.id)]);
}

/** Bytes of a sequential page record: 8-byte header, the block name when not CONTINUE, then the body. */
export function pageRecordBytes(blockName: string | null, pageSize: number, zero: boolean): number {
  return 8 + (blockName === null ? 0 : 1 + blockName.length) + (zero ? 1 : pageSize);
}

/**
 * Writes one page record into `target` at `at` and returns the bytes written: a PAGE with the
 * page's bytes, or a ZERO record (fill byte 0) when `page` is null. `blockName` names the block
 * (first record of a block), null continues the last one.
 */
export function encodePageRecordInto(target: Buffer, at: number, blockName: string | null, address: number, page: Buffer | null): number {
  const flags = (page === null ? RAM_FLAG.ZERO : RAM_FLAG.PAGE) | (blockName === null ? RAM_FLAG.CONTINUE : 0);
  target.writeUInt32BE(Math.floor(address / 2 ** 32), at);
  target.writeUInt32BE((address % 2 ** 32) + flags, at + 4);
  let end = at + 8;
  if (blockName !== null) {
    target[end++] = blockName.length;
    end += target.write(blockName, end, 'latin1');
  }
  if (page === null) {
    target[end++] = 0;
  } else {
    page.copy(target, end);
    end += page.length;
  }
  return end - at;
}

/** After the pages: EOS and footer of the PART, SWITCHOVER_START if any, the RAM END section. */
export function encodeSequentialRamEnd(model: StreamModel): Buffer {
  return Buffer.concat([
    be64(RAM_FLAG.EOS),
    footer(model, model.ram.id),
    model.switchoverStart ? SWITCHOVER_START : Buffer.alloc(0),
    u8(RECORD.SECTION_END),
    be32(model.ram.id),
    be64(RAM_FLAG.EOS),
    footer(model, model.ram.id),
  ]);
}

/** The device sections, the EOF byte and the VMDESCRIPTION (its JSON given). */
export function encodeStreamTail(model: StreamModel, description: string | null): Buffer {
  const parts: Buffer[] = [];
  for (const device of model.devices) {
    parts.push(u8(RECORD.SECTION_FULL), be32(device.id), str8(device.name), be32(device.instance), be32(device.version), device.bytes, footer(model, device.id));
  }
  parts.push(u8(RECORD.EOF));
  if (description !== null) {
    const json = Buffer.from(description, 'utf8');
    parts.push(u8(RECORD.VMDESCRIPTION), be32(json.length), json);
  }
  return Buffer.concat(parts);
}

/** Where one block lies in a mapped-ram file (absolute offsets). */
export interface MappedRamBlock {
  name: string;
  length: number;
  pages: number;
  /** The block's preamble: u8 name length, name, be64 used length, MappedRamHeader. */
  preambleOffset: number;
  preamble: Buffer;
  bitmapOffset: number;
  bitmapBytes: number;
  pagesOffset: number;
}

export interface MappedRamLayout {
  head: Buffer;
  blocks: MappedRamBlock[];
  /** Where the RAM section's EOS, the PART, END and the device tail start. */
  tailOffset: number;
}

/**
 * The layout of a mapped-ram stream that starts at `streamOffset` in its file: the head (QEVM,
 * configuration with the mapped-ram capability, RAM START, MEM_SIZE), then per block its
 * preamble, bitmap and page area at 1 MiB alignment, then the RAM section's end.
 */
export function layoutMappedRam(model: StreamModel, streamOffset: number): MappedRamLayout {
  const capabilities = [...model.capabilities.filter((cap) => cap !== MAPPED_RAM_CAPABILITY), MAPPED_RAM_CAPABILITY];
  const head = Buffer.concat([encodeStreamHead(model, capabilities), sectionHeader(RECORD.SECTION_START, model), be64(totalRam(model) + RAM_FLAG.MEM_SIZE)]);
  let at = streamOffset + head.length;
  const blocks: MappedRamBlock[] = [];
  for (const block of model.blocks) {
    const pages = Math.ceil(block.length / model.pageSize);
    const headerOffset = at + 1 + block.name.length + 8;
    const bitmapOffset = headerOffset + 28;
    const bitmapBytes = Math.ceil(pages / 64) * 8;
    const pagesOffset = Math.ceil((bitmapOffset + bitmapBytes) / PAGE_AREA_ALIGNMENT) * PAGE_AREA_ALIGNMENT;
    const preamble = Buffer.concat([str8(block.name), be64(block.length), be32(1), be64(model.pageSize), be64(bitmapOffset), be64(pagesOffset)]);
    blocks.push({ name: block.name, length: block.length, pages, preambleOffset: at, preamble, bitmapOffset, bitmapBytes, pagesOffset });
    at = pagesOffset + block.length;
  }
  return { head, blocks, tailOffset: at };
}

/**
 * What follows the last page area of a mapped-ram stream: the START section's EOS and footer, a
 * PART with only EOS, SWITCHOVER_START when the model has it, the END section.
 */
export function encodeMappedRamEnd(model: StreamModel): Buffer {
  const withFooters = { ...model, footers: true }; // mapped-ram needs QEMU >= 9: footers always on
  return Buffer.concat([be64(RAM_FLAG.EOS), footer(withFooters, model.ram.id), encodeRamPartHeader(model), encodeSequentialRamEnd(withFooters)]);
}

/**
 * The VMDESCRIPTION for the converted stream: QEMU >= 8.2 describes the configuration section in
 * a leading "configuration" object whose `subsections` lists configuration/capabilities exactly
 * when capabilities are sent; it is added or removed and the JSON re-serialised the way QEMU's
 * writer does (", " and ": ", nothing else). Older JSON (no "configuration") is kept as it is.
 */
export function convertDescription(text: string | null, capabilities: string[]): string | null {
  if (text === null) return null;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return text;
  }
  const configuration = parsed.configuration as Record<string, unknown> | undefined;
  if (typeof configuration !== 'object' || configuration === null) return text;
  const others = Array.isArray(configuration.subsections) ? (configuration.subsections as Array<{ vmsd_name?: string }>).filter((sub) => sub.vmsd_name !== CAPABILITIES) : [];
  const subsections = [...others];
  if (capabilities.length > 0) {
    subsections.push({
      vmsd_name: CAPABILITIES,
      version: 1,
      fields: [
        { name: 'caps_count', type: 'uint32', size: 4 },
        { name: 'capabilities', type: 'capability', size: capabilities.reduce((sum, cap) => sum + 1 + cap.length, 0) },
      ],
    } as { vmsd_name: string });
  }
  const rebuilt: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(configuration)) if (key !== 'subsections') rebuilt[key] = value;
  if (subsections.length > 0) rebuilt.subsections = subsections;
  return qemuJson({ ...parsed, configuration: rebuilt });
}

/** JSON as QEMU's JSON writer prints it: ", " between items, ": " after keys, nothing else. */
export function qemuJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(qemuJson).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return `{${Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}: ${qemuJson(item)}`).join(', ')}}`;
  return JSON.stringify(value);
}
