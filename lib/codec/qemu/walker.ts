// A lazy walk of a QEMU migration stream, fed chunk by chunk (any source, any chunking): it
// reads record headers and skips page bodies and device state without copying them, and sums
// up machine, capabilities, RAM blocks, sections and devices. Written as a generator that asks
// for bytes (take, peek, skip), driven by QemuStreamWalker.feed(); the driver can turn a long
// skip into a seek (skipHint). Mirrors qemu_loadvm_state (migration/savevm.c) and ram_load
// (migration/ram.c) as QEMU-STREAM.md describes them. Pure.
import { SaveImageError } from '../../errors.js';
import { ByteQueue } from '../byte-queue.js';
import { COMMAND_NAMES, COMMAND_PACKAGED, MAPPED_RAM_HEADER_BYTES, QEVM_MAGIC, QEVM_VERSION, RAM_FLAG, RAM_FLAG_MASK, RAM_SECTION_VERSION, RECORD } from './records.js';
import { decodeVmDescription, type VmDescription } from './vmdescription.js';

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

export interface WalkSummary {
  streamVersion: number;
  machine: string | null;
  capabilities: string[];
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
   * Called for every RAM page record, in stream order: `data` is the page (a view, valid during
   * the call) or null for a ZERO page filled with `fill`. Without it page bodies are skipped.
   */
  onPage?: (block: RamBlockSummary, address: number, data: Buffer | null, fill: number) => void;
  /**
   * Called with the whole payload of every device section (a copy the callee may keep) and the
   * absolute offset of its first byte. Without it device state is skipped.
   */
  onDeviceSection?: (section: SectionSummary, bytes: Buffer, offset: number) => void;
}

/**
 * What the walk asks of the queue: bytes to take, peek at or skip, everything left (an opaque
 * tail), or a scan: a hand-written loop run over the first queued chunk, returning how many
 * bytes of whole records it consumed (the RAM fast path).
 */
type Request = { take: number } | { peek: number } | { skip: number } | { rest: true } | { scan: (view: Buffer) => number };

const DEFAULT_FOOTER_SCAN_BYTES = 64 * 1024 * 1024;
/** Lengths the stream states for bytes the walk must hold: beyond these they are lies. */
const MAX_MACHINE_NAME_BYTES = 256;
const MAX_DESCRIPTION_BYTES = 64 * 1024 * 1024;
const MAX_BITMAP_BYTES = 64 * 1024 * 1024;
/** One device section handed to onDeviceSection (the largest genuine ones are a few KiB). */
export const MAX_DEVICE_SECTION_BYTES = 64 * 1024 * 1024;

/** Feeds a stream in, reports its summary at the end. */
export class QemuStreamWalker {
  readonly #queue = new ByteQueue();
  readonly #state: WalkState;
  readonly #steps: Generator<Request, void, Buffer>;
  #request: Request | null;
  #ended = false;
  #done = false;

  constructor(options: WalkOptions = {}) {
    this.#state = new WalkState(options);
    this.#steps = walk(this.#state);
    this.#request = this.#next(Buffer.alloc(0));
  }

  /** Bytes the walker will skip next without looking at them (a seekable driver may jump). */
  get skipHint(): number {
    const request = this.#request;
    return request && 'skip' in request && this.#queue.length === 0 ? request.skip : 0;
  }

  /** The driver jumped over `n` bytes (at most skipHint) instead of feeding them. */
  skipped(n: number): void {
    const request = this.#request;
    if (!request || !('skip' in request) || this.#queue.length > 0 || n > request.skip) throw new RangeError('skipped more than asked');
    request.skip -= n;
    this.#state.position += n;
    this.#run();
  }

  /** Walks through `chunk`; the caller may reuse its memory as soon as this returns. */
  feed(chunk: Buffer): void {
    if (this.#done) {
      this.#state.trailing(chunk);
      return;
    }
    this.#queue.push(chunk);
    this.#run();
    this.#queue.keepCopies();
  }

  /** The input ended: the summary, or ERR_TRUNCATED naming where the stream was cut. */
  end(): WalkSummary {
    this.#ended = true;
    this.#run();
    if (!this.#done) {
      throw new SaveImageError('ERR_TRUNCATED', `the QEMU stream ends at offset ${this.#state.absolute(this.#queue.length)}${this.#state.offsetsOf} inside ${this.#state.where}`, {
        offset: this.#state.absolute(this.#queue.length),
      });
    }
    return this.#state.summary();
  }

  #run(): void {
    while (this.#request !== null) {
      const request = this.#request;
      const queue = this.#queue;
      let answer: Buffer;
      if ('take' in request) {
        if (queue.length < request.take) return;
        answer = queue.take(request.take);
        this.#state.position += request.take;
      } else if ('peek' in request) {
        if (queue.length < request.peek && !this.#ended) return;
        answer = queue.peek(Math.min(request.peek, queue.length));
      } else if ('skip' in request) {
        const n = Math.min(request.skip, queue.length);
        queue.skip(n);
        this.#state.position += n;
        request.skip -= n;
        if (request.skip > 0) return;
        answer = EMPTY;
      } else if ('scan' in request) {
        const first = queue.first();
        if (first === null && !this.#ended) return;
        const n = first === null ? 0 : request.scan(first);
        queue.skip(n);
        this.#state.position += n;
        answer = EMPTY;
      } else {
        if (!this.#ended) {
          this.#state.position += queue.length;
          queue.skip(queue.length);
          return;
        }
        answer = EMPTY;
      }
      this.#request = this.#next(answer);
    }
  }

  #next(answer: Buffer): Request | null {
    const step = this.#steps.next(answer);
    if (step.done) {
      this.#done = true;
      this.#state.trailing(this.#queue.take(this.#queue.length));
      return null;
    }
    return step.value;
  }
}

const EMPTY = Buffer.alloc(0);

class WalkState {
  position = 0;
  where = 'the file magic';
  streamVersion = 0;
  machine: string | null = null;
  capabilities: string[] = [];
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
  readonly onPage: WalkOptions['onPage'];
  readonly onDeviceSection: WalkOptions['onDeviceSection'];
  readonly #deviceSizes: Array<{ name: string; instance: number; bytes: number; used: boolean }>;

  constructor(options: WalkOptions) {
    this.base = options.baseOffset ?? 0;
    this.offsetsOf = options.offsetsOf ? ` of ${options.offsetsOf}` : '';
    this.maxFooterScan = options.maxFooterScanBytes ?? DEFAULT_FOOTER_SCAN_BYTES;
    this.onPage = options.onPage;
    this.onDeviceSection = options.onDeviceSection;
    this.vmdescription = options.description ?? null;
    this.#deviceSizes = (options.description?.devices ?? []).map((d) => ({ ...d, used: false }));
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

/** The walk itself: one request for bytes at a time. */
function* walk(s: WalkState): Generator<Request, void, Buffer> {
  const head = yield { take: 8 };
  if (head.readUInt32BE(0) !== QEVM_MAGIC) throw s.bad(`not a QEMU migration stream: magic ${head.subarray(0, 4).toString('hex')}, not 5145564d (QEVM)`, s.absolute(-8));
  s.streamVersion = head.readUInt32BE(4);
  if (s.streamVersion !== QEVM_VERSION) throw s.bad(`unsupported stream version ${s.streamVersion} (QEMU reads 3)`, s.absolute(-4));
  let pageSize = s.vmdescription?.pageSize ?? 4096;
  let mappedRam = false;
  let lastClosed: number | null = null;

  for (;;) {
    s.where = 'a record header';
    const type = (yield { take: 1 })[0]!;
    const recordAt = s.absolute(-1);
    switch (type) {
      case RECORD.EOF: {
        s.eof = true;
        s.endOffset = s.absolute();
        yield* afterEof(s);
        return;
      }
      case RECORD.CONFIGURATION: {
        s.where = 'the configuration section';
        const length = (yield { take: 4 }).readUInt32BE(0);
        if (length > MAX_MACHINE_NAME_BYTES) throw s.bad(`a machine type name of ${length} bytes`, s.absolute(-4));
        s.machine = (yield { take: length }).toString('latin1');
        for (;;) {
          const next = yield { peek: 1 };
          if (next[0] !== RECORD.SUBSECTION) break;
          yield { take: 1 };
          const nameLength = (yield { take: 1 })[0]!;
          const name = (yield { take: nameLength }).toString('latin1');
          yield { take: 4 }; // version_id
          if (name === 'configuration/capabilities') {
            const count = (yield { take: 4 }).readUInt32BE(0);
            for (let i = 0; i < count; i++) s.capabilities.push((yield { take: (yield { take: 1 })[0]! }).toString('latin1'));
          } else if (name === 'configuration/target-page-bits') {
            pageSize = 2 ** (yield { take: 4 }).readUInt32BE(0);
          } else if (name === 'configuration/uuid') {
            yield { take: 16 };
          } else {
            throw s.bad(`unknown configuration subsection ${JSON.stringify(name)}: its length is not in the stream`);
          }
        }
        mappedRam = s.capabilities.includes('mapped-ram');
        break;
      }
      case RECORD.SECTION_START:
      case RECORD.SECTION_FULL: {
        s.where = 'a section header';
        const id = (yield { take: 4 }).readUInt32BE(0);
        const name = (yield { take: (yield { take: 1 })[0]! }).toString('latin1');
        const tail = yield { take: 8 };
        const section: SectionSummary = { id, name, instance: tail.readUInt32BE(0), version: tail.readUInt32BE(4), kind: type === RECORD.SECTION_START ? 'iterative' : 'device', bytes: 0 };
        s.sections.set(id, section);
        s.where = `section ${id} (${name})`;
        if (name === 'ram') {
          if (section.version !== RAM_SECTION_VERSION) throw s.bad(`ram section version ${section.version}, not ${RAM_SECTION_VERSION}`, recordAt);
          yield* ramPayload(s, section, pageSize, mappedRam);
        } else if (type === RECORD.SECTION_FULL) {
          s.devices.push(name);
          const sized = yield* devicePayload(s, section);
          if (!sized) return;
        } else {
          s.opaqueFrom = recordAt;
          s.sizing = 'opaque';
          yield { rest: true };
          return;
        }
        lastClosed = id;
        yield* footer(s, id);
        break;
      }
      case RECORD.SECTION_PART:
      case RECORD.SECTION_END: {
        const id = (yield { take: 4 }).readUInt32BE(0);
        const section = s.sections.get(id);
        if (!section) throw s.bad(`section id ${id} was never started`, recordAt);
        s.where = `section ${id} (${section.name})`;
        if (section.name !== 'ram') {
          s.opaqueFrom = recordAt;
          s.sizing = 'opaque';
          yield { rest: true };
          return;
        }
        yield* ramPayload(s, section, pageSize, mappedRam);
        lastClosed = id;
        yield* footer(s, id);
        break;
      }
      case RECORD.COMMAND: {
        s.where = 'a command';
        const header = yield { take: 4 };
        const command = header.readUInt16BE(0);
        const length = header.readUInt16BE(2);
        s.commands.push(COMMAND_NAMES[command] ?? `command ${command}`);
        const data = yield { take: length };
        if (command === COMMAND_PACKAGED) {
          if (length !== 4) throw s.bad(`PACKAGED command with ${length} bytes of data, not 4`, recordAt);
          yield { skip: data.readUInt32BE(0) }; // the nested stream, which len does not count
        }
        break;
      }
      case RECORD.SECTION_FOOTER:
        throw s.bad(`a section footer with no section to close (last closed: ${lastClosed ?? 'none'})`, recordAt);
      default:
        throw s.bad(`unknown record type 0x${type.toString(16).padStart(2, '0')}`, recordAt);
    }
  }
}

/** Optional footer after a section: 0x7E and the section id (migration/savevm.c check_section_footer). */
function* footer(s: WalkState, id: number): Generator<Request, void, Buffer> {
  const next = yield { peek: 1 };
  if (next[0] !== RECORD.SECTION_FOOTER) return;
  const at = s.absolute();
  const bytes = yield { take: 5 };
  const footerId = bytes.readUInt32BE(1);
  if (footerId !== id) throw s.bad(`section footer for id ${footerId} closes section ${id}`, at);
  s.footers = true;
}

/** RAM records up to and including EOS (migration/ram.c ram_load_precopy). */
function* ramPayload(s: WalkState, section: SectionSummary, pageSize: number, mappedRam: boolean): Generator<Request, void, Buffer> {
  const scan = { scan: (view: Buffer) => scanContinuedPages(s, section, pageSize, view) };
  for (;;) {
    yield scan; // whole CONTINUE pages in the chunk at hand, without a yield per record
    const at = s.absolute();
    const header = yield { take: 8 };
    section.bytes += 8;
    const value = header.readBigUInt64BE(0);
    const flags = Number(value & BigInt(RAM_FLAG_MASK));
    const address = Number(value - BigInt(flags));
    const type = flags & ~RAM_FLAG.CONTINUE;
    if (type === RAM_FLAG.EOS) return;
    if (type === RAM_FLAG.MULTIFD_FLUSH) continue;
    if (type === RAM_FLAG.MEM_SIZE) {
      yield* memSizePreamble(s, section, address, pageSize, mappedRam);
      continue;
    }
    if (type !== RAM_FLAG.ZERO && type !== RAM_FLAG.PAGE && type !== RAM_FLAG.XBZRLE && type !== RAM_FLAG.COMPRESS_PAGE) {
      throw s.bad(`RAM record with flags 0x${flags.toString(16)}: not one record type`, at);
    }
    if (flags & RAM_FLAG.CONTINUE) {
      if (!s.currentBlock) throw s.bad('RAM record continues a block, but no block was named before', at);
    } else {
      const length = (yield { take: 1 })[0]!;
      const name = (yield { take: length }).toString('latin1');
      section.bytes += 1 + length;
      const block = s.blocks.get(name);
      if (!block) throw s.bad(`RAM record names block ${JSON.stringify(name)}, which the MEM_SIZE list does not hold`, at);
      s.currentBlock = block;
    }
    const block = s.currentBlock!;
    if (address >= block.length) throw s.bad(`RAM page at 0x${address.toString(16)} lies past the end of block ${block.name} (${block.length} bytes)`, at);
    if (type === RAM_FLAG.ZERO) {
      const fill = (yield { take: 1 })[0]!;
      section.bytes += 1;
      block.zeroPages++;
      s.onPage?.(block, address, null, fill);
    } else if (type === RAM_FLAG.PAGE) {
      if (s.onPage) s.onPage(block, address, yield { take: pageSize }, 0);
      else yield { skip: pageSize };
      section.bytes += pageSize;
      block.dataPages++;
    } else if (s.onPage) {
      throw s.bad(`a ${type === RAM_FLAG.XBZRLE ? 'XBZRLE' : 'COMPRESS_PAGE'} record: savekit counts these pages but cannot rebuild them`, at);
    } else if (type === RAM_FLAG.XBZRLE) {
      // A delta against the page's previous content: counted, not applied.
      const encoded = yield { take: 3 };
      yield { skip: encoded.readUInt16BE(1) };
      section.bytes += 3 + encoded.readUInt16BE(1);
      block.dataPages++;
    } else {
      const length = (yield { take: 4 }).readUInt32BE(0);
      yield { skip: length };
      section.bytes += 4 + length;
      block.dataPages++;
    }
  }
}

/**
 * The RAM fast path: consumes the CONTINUE PAGE and CONTINUE ZERO records that lie whole at the
 * start of `view` (a saved guest is almost only these, at a 4104- or 9-byte stride) and returns
 * the bytes consumed. Anything else, or a record cut by the chunk's end, is left to the
 * general path, which also words the errors.
 */
function scanContinuedPages(s: WalkState, section: SectionSummary, pageSize: number, view: Buffer): number {
  const block = s.currentBlock;
  if (block === null) return 0;
  const continuedPage = RAM_FLAG.PAGE | RAM_FLAG.CONTINUE;
  const continuedZero = RAM_FLAG.ZERO | RAM_FLAG.CONTINUE;
  const onPage = s.onPage;
  let at = 0;
  while (at + 9 <= view.length) {
    const low = view.readUInt32BE(at + 4);
    const flags = low & RAM_FLAG_MASK;
    const address = view.readUInt32BE(at) * 2 ** 32 + (low - flags);
    if (address >= block.length) break;
    if (flags === continuedPage) {
      if (at + 8 + pageSize > view.length) break;
      onPage?.(block, address, view.subarray(at + 8, at + 8 + pageSize), 0);
      block.dataPages++;
      at += 8 + pageSize;
    } else if (flags === continuedZero) {
      onPage?.(block, address, null, view[at + 8]!);
      block.zeroPages++;
      at += 9;
    } else {
      break;
    }
  }
  section.bytes += at;
  return at;
}

/** The block list of the first RAM record: name, used length, [mapped-ram header] until the total. */
function* memSizePreamble(s: WalkState, section: SectionSummary, total: number, pageSize: number, mappedRam: boolean): Generator<Request, void, Buffer> {
  s.memSize = total;
  let sum = 0;
  while (sum < total) {
    const nameLength = (yield { take: 1 })[0]!;
    const name = (yield { take: nameLength }).toString('latin1');
    const length = Number((yield { take: 8 }).readBigUInt64BE(0));
    section.bytes += 1 + nameLength + 8;
    const block: RamBlockSummary = { name, length, pageSize, pages: Math.ceil(length / pageSize), zeroPages: 0, dataPages: 0 };
    s.blocks.set(name, block);
    sum += length;
    if (mappedRam) {
      const header = yield { take: MAPPED_RAM_HEADER_BYTES };
      const pagesOffset = Number(header.readBigUInt64BE(20));
      const bitmapOffset = Number(header.readBigUInt64BE(12));
      block.mappedRam = { bitmapOffset, pagesOffset, pageSize: Number(header.readBigUInt64BE(4)) };
      section.bytes += MAPPED_RAM_HEADER_BYTES;
      if (pagesOffset === 0) continue; // a block shared through x-ignore-shared: nothing in the file
      // The bitmap (one bit a page, set: data in the page area) follows the header, as QEMU
      // writes it; then the page area. Offsets are absolute in the file.
      if (bitmapOffset === s.absolute()) {
        const bitmapBytes = Math.ceil(block.pages / 64) * 8;
        if (bitmapBytes > MAX_BITMAP_BYTES) throw s.bad(`a mapped-ram bitmap of ${bitmapBytes} bytes for block ${name}`);
        const present = countBits(yield { take: bitmapBytes }, block.pages);
        block.dataPages = present;
        block.zeroPages = block.pages - present;
      }
      yield { skip: Math.max(0, pagesOffset + length - s.absolute()) };
    }
  }
  if (sum !== total) throw s.bad(`the RAM blocks add up to ${sum} bytes, but MEM_SIZE says ${total}`);
}

/** Set bits among the first `count` of a little-endian bitmap of 64-bit words (x86-64 writers). */
function countBits(bitmap: Buffer, count: number): number {
  let bits = 0;
  for (let i = 0; i < count; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) bits++;
  return bits;
}

/** A device section's payload: by the JSON size, else up to a validated footer, else opaque. */
function* devicePayload(s: WalkState, section: SectionSummary): Generator<Request, boolean, Buffer> {
  const bytes = s.deviceBytes(section.name, section.instance);
  if (bytes !== null) {
    s.sizing ??= 'json';
    yield* passDevice(s, section, bytes);
    section.bytes = bytes;
    return true;
  }
  if (s.footers) {
    for (let window = 4096; window <= s.maxFooterScan; window *= 4) {
      const view = yield { peek: window + 6 };
      const end = findFooter(view, section.id, (id) => s.sections.has(id));
      if (end >= 0) {
        if (s.sizing !== 'json') s.sizing = 'footers';
        yield* passDevice(s, section, end);
        section.bytes = end;
        return true;
      }
      if (view.length < window + 6) {
        // Footers are on, so one must come: the input ended inside the section.
        throw new SaveImageError('ERR_TRUNCATED', `the QEMU stream ends at offset ${s.absolute(view.length)}${s.offsetsOf} inside ${s.where}, before its footer`, {
          offset: s.absolute(view.length),
        });
      }
    }
  }
  s.opaqueFrom = s.absolute();
  s.sizing = 'opaque';
  yield { rest: true };
  return false;
}

/** Skips a device payload of `bytes`, or hands a copy of it to onDeviceSection. */
function* passDevice(s: WalkState, section: SectionSummary, bytes: number): Generator<Request, void, Buffer> {
  if (!s.onDeviceSection) {
    yield { skip: bytes };
    return;
  }
  const at = s.absolute();
  if (bytes > MAX_DEVICE_SECTION_BYTES) throw s.bad(`a device section of ${bytes} bytes (more than the ${MAX_DEVICE_SECTION_BYTES} savekit holds to decode one)`, at);
  s.onDeviceSection(section, Buffer.from(yield { take: bytes }), at);
}

/**
 * The length of a device payload in `view`: the first 0x7E + be32(id) that is followed by a
 * byte that can start the next record. -1 when none is in view.
 */
function findFooter(view: Buffer, id: number, knownId: (id: number) => boolean): number {
  for (let at = view.indexOf(RECORD.SECTION_FOOTER); at >= 0 && at + 5 < view.length; at = view.indexOf(RECORD.SECTION_FOOTER, at + 1)) {
    if (view.readUInt32BE(at + 1) !== id) continue;
    const next = view[at + 5]!;
    if (next === RECORD.EOF || next === RECORD.SECTION_FULL || next === RECORD.SECTION_START || next === RECORD.COMMAND) return at;
    if ((next === RECORD.SECTION_PART || next === RECORD.SECTION_END) && at + 9 < view.length && knownId(view.readUInt32BE(at + 6))) return at;
  }
  return -1;
}

/** After the EOF byte: an optional VMDESCRIPTION, then only trailing bytes. */
function* afterEof(s: WalkState): Generator<Request, void, Buffer> {
  s.where = 'the device description';
  const next = yield { peek: 1 };
  if (next[0] !== RECORD.VMDESCRIPTION) return;
  yield { take: 1 };
  const length = (yield { take: 4 }).readUInt32BE(0);
  if (length > MAX_DESCRIPTION_BYTES) throw s.bad(`a device description of ${length} bytes`, s.absolute(-4));
  const json = yield { take: length };
  s.vmdescription ??= decodeVmDescription(json.toString('utf8'));
}
