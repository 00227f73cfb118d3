// The hazard behind a device description that went missing on real saves: the `timer` section
// (id 0) holds cpu_ticks_offset, 8 unused zero bytes, cpu_clock_offset (be64 each). When the
// first value's low byte is 0x7e (a host TSC reading: 1 save in 256), its bytes read
// `7e 00 00 00 00 | 00`: the footer of section 0 followed by an EOF byte. A walk that sizes
// devices by searching for footers stops there, and the description is never reached.
import { decodePrologue } from '../../lib/codec/prologue.js';

/** A copy of a raw image whose timer section holds a footer look-alike followed by an EOF byte. */
export function withLookalikeFooter(image: Buffer): Buffer {
  const copy = Buffer.from(image);
  const { payloadOffset } = decodePrologue(copy);
  const header = Buffer.concat([Buffer.from([0x04, 0, 0, 0, 0, 5]), Buffer.from('timer')]); // SECTION_FULL, id 0, "timer"
  const at = copy.indexOf(header, payloadOffset);
  if (at < 0) throw new Error('no timer section with id 0 in this image');
  const payload = at + header.length + 8; // after instance and version
  if (!copy.subarray(payload + 8, payload + 16).equals(Buffer.alloc(8))) throw new Error('the timer section does not hold 8 unused zero bytes');
  copy[payload + 7] = 0x7e; // cpu_ticks_offset's low byte
  return copy;
}
