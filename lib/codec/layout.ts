// Laying out a data region: for a new image the way libvirt >= 6.3 saves (blocks, then 64 KiB
// of NUL slack), and for an in-place edit the way virQEMUSaveDataWrite rewrites it (same
// dataLen, new XML, the cookie moved right after it, zeros to the end). Pure, no I/O.
import { HEADER_BYTES, SAVE_SLACK_BYTES } from '../constants.js';
import { SaveImageError } from '../errors.js';
import type { DataRegion } from './blocks.js';
import { encodeHeaderInto, type SaveImageHeader } from './header.js';

/** A region laid out: its bytes and the cookieOffset that points at block 1 (0 when none). */
export interface RegionLayout {
  region: Buffer;
  cookieOffset: number;
}

/** Bytes the blocks need, each with its NUL. */
export function blocksLength(blocks: readonly Buffer[]): number {
  return blocks.reduce((sum, block) => sum + block.length + 1, 0);
}

/** dataLen for a newly written image: the blocks plus `slack` NUL bytes (libvirt: 65536). */
export function dataLenForSave(blocks: readonly Buffer[], slack = SAVE_SLACK_BYTES): number {
  return blocksLength(blocks) + slack;
}

/**
 * Lays `blocks` (domain XML first, no NULs) into exactly `dataLen` bytes, or throws
 * ERR_XML_TOO_LARGE, saying how many bytes are missing, before anything is written.
 */
export function layoutRegion(blocks: readonly Buffer[], dataLen: number): RegionLayout {
  const needed = blocksLength(blocks);
  if (needed > dataLen) {
    throw new SaveImageError(
      'ERR_XML_TOO_LARGE',
      `new xml too large to fit in file: the XML blocks need ${needed} bytes but the data region (offsets ${HEADER_BYTES}..${HEADER_BYTES + dataLen - 1}) holds ${dataLen}; ` +
        `${needed - dataLen} bytes are missing. savekit rewrite streams the image into a new file with more room`,
      { offset: HEADER_BYTES, expected: dataLen, actual: needed },
    );
  }
  const region = Buffer.alloc(dataLen);
  let at = 0;
  for (const block of blocks) {
    if (block.includes(0)) throw new SaveImageError('ERR_BAD_XML', `an XML block holds a NUL byte at offset ${block.indexOf(0)} of the block`);
    block.copy(region, at);
    at += block.length + 1;
  }
  return { region, cookieOffset: blocks.length > 1 ? blocks[0]!.length + 1 : 0 };
}

/**
 * The blocks an in-place edit keeps after the domain XML: libvirt's cookie for version <= 2
 * (an empty cookie stays, as libvirt writes it back), every extension block for version 3.
 */
export function trailingBlocks(region: DataRegion, version: number): Buffer[] {
  if (version !== 3) return region.cookie ? [region.cookie.bytes] : [];
  return region.blocks.slice(1).map((block) => block.bytes);
}

/** Header plus region in one buffer: the prologue that precedes the payload. */
export function encodePrologue(header: SaveImageHeader, region: Buffer): Buffer {
  if (region.length !== header.dataLen) throw new RangeError(`region must be ${header.dataLen} bytes, got ${region.length}`);
  const prologue = Buffer.allocUnsafe(HEADER_BYTES + region.length);
  encodeHeaderInto(header, prologue, 0);
  region.copy(prologue, HEADER_BYTES);
  return prologue;
}
