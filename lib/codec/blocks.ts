// The data region: NUL-terminated XML blocks, then NUL padding (FORMAT.md sections 3 and 4).
// Version <= 2 splits it as libvirt's qemuSaveImageOpen does (XML up to cookieOffset, cookie
// after it); version 3 is a block sequence ending at the first empty block. Pure, no I/O.
import { HEADER_BYTES } from '../constants.js';
import { SaveImageError } from '../errors.js';
import { rootElementName } from '../xml/parse.js';
import type { SaveImageHeader } from './header.js';

/** One stored XML block. `text` and `root` are decoded on first access and remembered. */
export class XmlBlock {
  #text: string | undefined;
  #root: string | null | undefined;

  constructor(
    /** Position in the block sequence (0 is the domain XML). */
    readonly index: number,
    /** Absolute offset of its first byte in the image. */
    readonly offset: number,
    /** The stored bytes, without the terminating NUL (a view into the region). */
    readonly bytes: Buffer,
  ) {}

  /** Byte count before the NUL. */
  get length(): number {
    return this.bytes.length;
  }

  get text(): string {
    return (this.#text ??= this.bytes.toString('utf8'));
  }

  /** Name of the root element, or null when the block is not well-formed XML. */
  get root(): string | null {
    if (this.#root === undefined) this.#root = rootElementName(this.text);
    return this.#root;
  }
}

export interface DataRegion {
  /** Every block in stored order: the domain XML first. */
  blocks: XmlBlock[];
  /** Block 0. */
  xml: XmlBlock;
  /** libvirt's cookie: the block at cookieOffset (version <= 2) or the `<cookie>` block (version 3). */
  cookie: XmlBlock | null;
  /** NUL bytes after the last block's terminator, up to dataLen. */
  slack: number;
  /** Non-NUL bytes found outside the blocks (gaps and padding); libvirt ignores them. */
  strayBytes: number;
  /** Soft anomalies, worded for people. */
  warnings: string[];
}

/** Decodes a data region of exactly `header.dataLen` bytes. */
export function decodeRegion(region: Buffer, header: SaveImageHeader): DataRegion {
  if (region.length !== header.dataLen) throw new RangeError(`region must be ${header.dataLen} bytes, got ${region.length}`);
  return header.version === 3 ? decodeBlockSequence(region, header) : decodeLibvirtRegion(region, header);
}

function decodeLibvirtRegion(region: Buffer, header: SaveImageHeader): DataRegion {
  const warnings: string[] = [];
  // libvirt: xml_len = cookieOffset ? cookieOffset : data_len; cookie_len = data_len - xml_len.
  const xmlEnd = header.cookieOffset || header.dataLen;
  const xml = terminatedBlock(region, 0, 0, xmlEnd, 'domain XML');
  const blocks = [xml];
  let cookie: XmlBlock | null = null;
  if (header.cookieOffset !== 0) {
    if (header.cookieOffset === header.dataLen) {
      warnings.push(`cookieOffset ${header.cookieOffset} equals dataLen: the cookie is empty`);
    } else {
      cookie = terminatedBlock(region, 1, header.cookieOffset, header.dataLen, 'cookie');
      blocks.push(cookie);
    }
  }
  return finish(region, blocks, cookie, warnings);
}

function decodeBlockSequence(region: Buffer, header: SaveImageHeader): DataRegion {
  const warnings: string[] = [];
  const blocks: XmlBlock[] = [];
  let start = 0;
  while (start < region.length && (blocks.length === 0 || region[start] !== 0)) {
    const block = terminatedBlock(region, blocks.length, start, region.length, blocks.length === 0 ? 'domain XML' : `block ${blocks.length}`);
    blocks.push(block);
    start += block.length + 1;
  }
  const expectedCookieOffset = blocks.length > 1 ? blocks[1]!.offset - HEADER_BYTES : 0;
  if (header.cookieOffset !== expectedCookieOffset) {
    warnings.push(`cookieOffset is ${header.cookieOffset} but block 1 starts at ${expectedCookieOffset} of the data region`);
  }
  const cookie = blocks.slice(1).find((block) => block.root === 'cookie') ?? null;
  return finish(region, blocks, cookie, warnings);
}

/** A block from `start` up to its first NUL before `end`, or ERR_XML_UNTERMINATED. */
function terminatedBlock(region: Buffer, index: number, start: number, end: number, what: string): XmlBlock {
  const nul = region.subarray(start, end).indexOf(0);
  if (nul === -1) {
    throw new SaveImageError(
      'ERR_XML_UNTERMINATED',
      `${what} at offset ${HEADER_BYTES + start} has no NUL terminator before offset ${HEADER_BYTES + end}`,
      { offset: HEADER_BYTES + start },
    );
  }
  return new XmlBlock(index, HEADER_BYTES + start, region.subarray(start, start + nul));
}

function finish(region: Buffer, blocks: XmlBlock[], cookie: XmlBlock | null, warnings: string[]): DataRegion {
  const last = blocks[blocks.length - 1]!;
  const usedEnd = last.offset - HEADER_BYTES + last.length + 1;
  let strayBytes = countNonZero(region, usedEnd, region.length);
  for (let i = 1; i < blocks.length; i++) {
    const gapStart = blocks[i - 1]!.offset - HEADER_BYTES + blocks[i - 1]!.length + 1;
    strayBytes += countNonZero(region, gapStart, blocks[i]!.offset - HEADER_BYTES);
  }
  if (strayBytes > 0) warnings.push(`the data region holds ${strayBytes} non-NUL bytes outside its XML blocks`);
  return { blocks, xml: blocks[0]!, cookie, slack: region.length - usedEnd, strayBytes, warnings };
}

function countNonZero(bytes: Buffer, start: number, end: number): number {
  let count = 0;
  for (let i = start; i < end; i++) if (bytes[i] !== 0) count++;
  return count;
}
