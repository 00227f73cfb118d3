// The prologue: header and data region together, everything before the payload. Pure.
import { HEADER_BYTES } from '../constants.js';
import { SaveImageError } from '../errors.js';
import { decodeRegion, type DataRegion } from './blocks.js';
import { type DecodeHeaderOptions, decodeHeader, payloadOffsetOf, type SaveImageHeader } from './header.js';
import { decodeSeal, type PayloadSeal } from './seal.js';

export interface SaveImagePrologue {
  header: SaveImageHeader;
  region: DataRegion;
  /** Absolute offset of the payload: 92 + dataLen. */
  payloadOffset: number;
  seal: PayloadSeal | null;
  /** The prologue exactly as stored (92 + dataLen bytes). */
  prologueBytes: Buffer;
}

/**
 * Decodes a prologue from its bytes. `bytes` may be longer (the payload's first bytes) or
 * shorter: then ERR_TRUNCATED names where the data region was cut.
 */
export function decodePrologue(bytes: Buffer, options: DecodeHeaderOptions = {}): SaveImagePrologue {
  const header = decodeHeader(bytes, options);
  const payloadOffset = payloadOffsetOf(header);
  if (bytes.length < payloadOffset) throw truncatedRegion(header, bytes.length);
  const region = decodeRegion(bytes.subarray(HEADER_BYTES, payloadOffset), header);
  return { header, region, payloadOffset, seal: decodeSeal(header), prologueBytes: bytes.subarray(0, payloadOffset) };
}

/** ERR_TRUNCATED for an image that ends at `endOffset`, inside the data region. */
export function truncatedRegion(header: SaveImageHeader, endOffset: number): SaveImageError {
  const inCookie = header.cookieOffset !== 0 && endOffset >= HEADER_BYTES + header.cookieOffset;
  return new SaveImageError(
    'ERR_TRUNCATED',
    `failed to read ${inCookie ? 'cookie' : 'domain XML'}: the image ends at offset ${endOffset}, inside the data region (offsets ${HEADER_BYTES}..${payloadOffsetOf(header) - 1})`,
    { offset: endOffset, expected: payloadOffsetOf(header), actual: endOffset },
  );
}
