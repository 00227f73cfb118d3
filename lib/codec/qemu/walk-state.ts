// The walk's state and vocabulary: what a walk reports (summaries of RAM blocks, sections and
// the stream), its options, the byte requests its generators make, and the limits that keep a
// lying stream from making it hold memory. Shared by the walker and its record readers. Pure.
import { SaveImageError } from '../../errors.js';
import type { VmDescription } from './vmdescription.js';

export interface RamBlockSummary {
  name: string;
  length: number;
  /** Target page size (4096 on x86): page records' addresses are multiples of it. */
  pageSize: number;
  pages: number;
  zeroPages: number;
  dataPages: number;
  /** With mapped-ram: where the block's bitmap and pages lie (absolute file offsets). */
  mappedRam?: { bitmapOffset: number; pagesOffset: number; pageSize: number };
}

export interface SectionSummary {
  id: number;
  name: string;
  instance: number;
  version: number;
  kind: 'iterative' | 'device';
  /** Payload bytes of all its records, headers and footers excluded. */
  bytes: number;
}

export type DeviceSizing = 'json' | 'footers' | 'opaque';

/** A subsection of the configuration section, as the stream carried it. */
export interface ConfigurationSubsection {
  name: string;
  version: number;
  /** Its bytes after the version (null for capabilities, which the summary lists). */
  body: Buffer | null;
}

export interface WalkSummary {
  streamVersion: number;
  machine: string | null;
  capabilities: string[];
  configuration: ConfigurationSubsection[];
  memSize: number | null;
  ramBlocks: RamBlockSummary[];
  sections: SectionSummary[];
  devices: string[];
  commands: string[];
  deviceSizing: DeviceSizing;
  footers: boolean;
  eof: boolean;
  /** Absolute offset just past the EOF byte (or where an opaque tail starts), null if never reached. */
  endOffset: number | null;
  vmdescription: VmDescription | null;
  /** Bytes after the stream and its description (zeros written by bypass-cache writers). */
  trailingBytes: number;
  /** Absolute offset of the first byte the walk could not interpret (an opaque tail), else null. */
  opaqueFrom: number | null;
}

export interface WalkOptions {
  /** Absolute offset of the stream's first byte in the image (for messages and mapped-ram). */
  baseOffset?: number;
  /** How messages name offsets, when they are not the image's (a decompressed stream's). */
  offsetsOf?: string;
  /** Device sizes from a VMDESCRIPTION read beforehand (a file: its tail). */
  description?: VmDescription | null;
  /** Largest device section searched for its footer before giving up to an opaque tail. */
  maxFooterScanBytes?: number;
  /**
   * Without a description given, how far the walk reads ahead from the first device section to
   * find the one QEMU writes at the stream's end (0: never; footers then size the sections).
   */
  maxLookAheadBytes?: number;
  /**
   * Called for every RAM page record, in stream order: `data` is the page (a view, valid during
   * the call) or null for a ZERO page filled with `fill`. `at` is the absolute offset of the
   * record, `headerBytes` the bytes before its body or fill (8 for a CONTINUE record, 9 plus the
   * block name for one that names its block); a mapped-ram page is its bytes alone (`at` where
   * they lie, headerBytes 0; null for a page the bitmap leaves out). Without it page bodies are
   * skipped.
   */
  onPage?: (block: RamBlockSummary, address: number, data: Buffer | null, fill: number, at: number, headerBytes: number) => void;
  /**
   * Called with the whole payload of every device section (a copy the callee may keep) and the
   * absolute offset of its first byte. Without it device state is skipped.
   */
  onDeviceSection?: (section: SectionSummary, bytes: Buffer, offset: number) => void;
  /** Called once the RAM block list (MEM_SIZE) is read, with the summary so far. */
  onMemSize?: (summary: WalkSummary) => void;
  /**
   * Called as each block of that list is read, with the summary so far (the blocks up to this
   * one): with mapped-ram and onPage, the block's pages follow before the next block is known.
   */
  onRamBlock?: (summary: WalkSummary) => void;
}

/**
 * What the walk asks of the queue: bytes to take, peek at or skip, everything left (an opaque
 * tail), or a scan: a hand-written loop run over the first queued chunk, returning how many
 * bytes of whole records it consumed (the RAM fast path).
 */
export type Request = { take: number } | { peek: number } | { skip: number } | { rest: true } | { scan: (view: Buffer) => number };

export const DEFAULT_FOOTER_SCAN_BYTES = 64 * 1024 * 1024;
/** Device sections, EOF and description of genuine streams: 30 KiB to a few MiB. */
export const DEFAULT_LOOK_AHEAD_BYTES = 16 * 1024 * 1024;
/** Lengths the stream states for bytes the walk must hold: beyond these they are lies. */
export const MAX_MACHINE_NAME_BYTES = 256;
export const MAX_DESCRIPTION_BYTES = 64 * 1024 * 1024;
export const MAX_BITMAP_BYTES = 64 * 1024 * 1024;
/** One device section handed to onDeviceSection (the largest genuine ones are a few KiB). */
export const MAX_DEVICE_SECTION_BYTES = 64 * 1024 * 1024;


export class WalkState {
  position = 0;
  where = 'the file magic';
  streamVersion = 0;
  machine: string | null = null;
  capabilities: string[] = [];
  /** The configuration section's subsections in stream order (capabilities: body null, see capabilities). */
  configuration: ConfigurationSubsection[] = [];
  memSize: number | null = null;
  blocks = new Map<string, RamBlockSummary>();
  sections = new Map<number, SectionSummary>();
  devices: string[] = [];
  commands: string[] = [];
  footers = false;
  sizing: DeviceSizing | null = null;
  eof = false;
  endOffset: number | null = null;
  vmdescription: VmDescription | null;
  trailingBytes = 0;
  opaqueFrom: number | null = null;
  currentBlock: RamBlockSummary | null = null;
  readonly base: number;
  readonly offsetsOf: string;
  readonly maxFooterScan: number;
  readonly maxLookAhead: number;
  /** The position from which a look-ahead for the description may be tried again. */
  nextLookAhead = 0;
  readonly onPage: WalkOptions['onPage'];
  readonly onDeviceSection: WalkOptions['onDeviceSection'];
  readonly onMemSize: WalkOptions['onMemSize'];
  readonly onRamBlock: WalkOptions['onRamBlock'];
  #deviceSizes: Array<{ name: string; instance: number; bytes: number; used: boolean }> = [];

  constructor(options: WalkOptions) {
    this.base = options.baseOffset ?? 0;
    this.offsetsOf = options.offsetsOf ? ` of ${options.offsetsOf}` : '';
    this.maxFooterScan = options.maxFooterScanBytes ?? DEFAULT_FOOTER_SCAN_BYTES;
    this.maxLookAhead = options.maxLookAheadBytes ?? DEFAULT_LOOK_AHEAD_BYTES;
    this.onPage = options.onPage;
    this.onDeviceSection = options.onDeviceSection;
    this.onMemSize = options.onMemSize;
    this.onRamBlock = options.onRamBlock;
    this.vmdescription = null;
    if (options.description) this.describe(options.description);
  }

  /** The description that sizes the device sections from here on (given, or read ahead). */
  describe(description: VmDescription): void {
    this.vmdescription = description;
    this.#deviceSizes = description.devices.map((d) => ({ ...d, used: false }));
  }

  absolute(extra = 0): number {
    return this.base + this.position + extra;
  }

  bad(message: string, at = this.absolute()): SaveImageError {
    return new SaveImageError('ERR_BAD_STREAM', `${message} at offset ${at}${this.offsetsOf} (in ${this.where})`, { offset: at });
  }

  /** The JSON size of the next unused description entry for this device, or null. */
  deviceBytes(name: string, instance: number): number | null {
    const entry = this.#deviceSizes.find((d) => !d.used && d.name === name && d.instance === instance);
    if (!entry) return null;
    entry.used = true;
    return entry.bytes;
  }

  trailing(bytes: Buffer): void {
    this.trailingBytes += bytes.length;
  }

  summary(): WalkSummary {
    return {
      streamVersion: this.streamVersion,
      machine: this.machine,
      capabilities: this.capabilities,
      configuration: this.configuration,
      memSize: this.memSize,
      ramBlocks: [...this.blocks.values()], // in MEM_SIZE order: a Map keeps insertion order
      sections: [...this.sections.values()],
      devices: this.devices,
      commands: this.commands,
      deviceSizing: this.sizing ?? (this.vmdescription ? 'json' : this.footers ? 'footers' : 'opaque'),
      footers: this.footers,
      eof: this.eof,
      endOffset: this.endOffset,
      vmdescription: this.vmdescription,
      trailingBytes: this.trailingBytes,
      opaqueFrom: this.opaqueFrom,
    };
  }
}
