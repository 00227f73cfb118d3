// Unsigned LEB128 integers of the delta and signature layouts: 7 bits a byte, low bits first,
// up to 2^53 - 1 (offsets and counts of multi-GB streams; never truncated to 32 bits). Pure.

/** The most bytes an encoded safe integer takes. */
export const MAX_VARINT_BYTES = 8;

/** Writes `value` at `offset`; returns the bytes written. */
export function encodeVarintInto(value: number, target: Buffer, offset: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a varint: ${value}`);
  let at = offset;
  while (value >= 0x80) {
    target[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  target[at++] = value;
  return at - offset;
}

/** The integer at `offset` and its length, or null when `bytes` ends inside it. */
export function decodeVarint(bytes: Buffer, offset: number): { value: number; length: number } | null {
  let value = 0;
  let scale = 1;
  for (let at = offset; at < bytes.length; at++) {
    const byte = bytes[at]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (!Number.isSafeInteger(value)) throw new RangeError('a varint past 2^53');
      return { value, length: at - offset + 1 };
    }
    scale *= 0x80;
    if (at - offset + 1 >= MAX_VARINT_BYTES) throw new RangeError('a varint longer than 8 bytes');
  }
  return null;
}
