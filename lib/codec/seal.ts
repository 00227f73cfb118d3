// The payload seal of FORMAT.md section 5: payload length and XXH64 kept in the last five
// `unused` words, which libvirt writes as zero, never reads and preserves when it edits.
import { SEAL_MARKER, SEAL_WORD } from '../constants.js';
import type { SaveImageHeader } from './header.js';

export interface PayloadSeal {
  /** Payload length in bytes. */
  payloadLength: number;
  /** XXH64 (seed 0) of the payload as stored, 16 lower-case hex digits. */
  digest: string;
}

const TWO_32 = 2 ** 32;

/** The seal a header carries, or null when the marker word is absent. */
export function decodeSeal(header: SaveImageHeader): PayloadSeal | null {
  const u = header.unused;
  if (u[SEAL_WORD] !== SEAL_MARKER) return null;
  const payloadLength = u[SEAL_WORD + 2]! * TWO_32 + u[SEAL_WORD + 1]!;
  const digest = hex8(u[SEAL_WORD + 3]!) + hex8(u[SEAL_WORD + 4]!);
  return { payloadLength, digest };
}

/** A copy of the header carrying `seal`; every other word is kept. */
export function withSeal(header: SaveImageHeader, seal: PayloadSeal): SaveImageHeader {
  if (!/^[0-9a-f]{16}$/.test(seal.digest)) throw new RangeError('seal digest must be 16 hex digits');
  if (!Number.isSafeInteger(seal.payloadLength) || seal.payloadLength < 0) throw new RangeError('seal length out of range');
  const unused = [...header.unused];
  unused[SEAL_WORD] = SEAL_MARKER;
  unused[SEAL_WORD + 1] = seal.payloadLength % TWO_32;
  unused[SEAL_WORD + 2] = Math.floor(seal.payloadLength / TWO_32);
  unused[SEAL_WORD + 3] = parseInt(seal.digest.slice(0, 8), 16);
  unused[SEAL_WORD + 4] = parseInt(seal.digest.slice(8), 16);
  return { ...header, unused };
}

/** A copy of the header without a seal (its words zeroed), for a payload that changed. */
export function withoutSeal(header: SaveImageHeader): SaveImageHeader {
  if (decodeSeal(header) === null) return header;
  const unused = [...header.unused];
  for (let word = SEAL_WORD; word <= SEAL_WORD + 4; word++) unused[word] = 0;
  return { ...header, unused };
}

function hex8(word: number): string {
  return word.toString(16).padStart(8, '0');
}
