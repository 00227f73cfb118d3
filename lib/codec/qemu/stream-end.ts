// How a QEMU migration stream ends, judged from its last bytes: the EOF byte 0x00, then
// usually `06 | be32 len | JSON` (VMDESCRIPTION) up to the end (QEMU-STREAM.md section 4).
// The locator is structural, not analyze-migration.py's heuristic: the 0x06 must follow a
// 0x00, be followed by '{', and its length must reach exactly the end (or trailing zeros).
// A full walk of the stream (savekit walk/check) is the definitive answer. Pure.

export type StreamEnd =
  /** EOF byte and a VMDESCRIPTION that reaches the end: the stream is complete. */
  | { kind: 'vmdescription'; jsonOffset: number; jsonLength: number }
  /** Ends with 0x00: complete without a VMDESCRIPTION, or cut inside zeros. */
  | { kind: 'eof-byte' }
  /** Ends with '}' but the description starts before the bytes at hand. */
  | { kind: 'unconfirmed' }
  /** Neither: the stream was cut. */
  | { kind: 'cut' };

const EOF_BYTE = 0x00;
const VMDESCRIPTION = 0x06;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

/** Judges the end of a stream from its last bytes (`tail`, offsets relative to it). */
export function describeStreamEnd(tail: Buffer): StreamEnd {
  let end = tail.length;
  while (end > 0 && tail[end - 1] === 0) end--; // bypass-cache writers may pad with zeros
  // (lastIndexOf takes a negative start as counted from the end: never pass one.)
  for (let p = end >= 6 ? tail.lastIndexOf(VMDESCRIPTION, end - 6) : -1; p >= 1; p = tail.lastIndexOf(VMDESCRIPTION, p - 1)) {
    if (tail[p - 1] !== EOF_BYTE || tail[p + 5] !== OPEN_BRACE) continue;
    const jsonLength = tail.readUInt32BE(p + 1);
    if (p + 5 + jsonLength === end) return { kind: 'vmdescription', jsonOffset: p + 5, jsonLength };
  }
  if (tail.length > 0 && tail[tail.length - 1] === EOF_BYTE) return { kind: 'eof-byte' };
  if (end > 0 && tail[end - 1] === CLOSE_BRACE) return { kind: 'unconfirmed' };
  return { kind: 'cut' };
}
