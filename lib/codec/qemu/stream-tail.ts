// The stream's end: after the EOF byte the optional VMDESCRIPTION (0x06, be32 length, JSON), read
// into the walk's description when none was known beforehand, anything after it trailing bytes;
// and the look-ahead that finds that description before the device sections it sizes. Pure.
import { RECORD } from './records.js';
import { describeStreamEnd } from './stream-end.js';
import { decodeVmDescription } from './vmdescription.js';
import { MAX_DESCRIPTION_BYTES, type Request, type WalkState } from './walk-state.js';

/** After the EOF byte: an optional VMDESCRIPTION, then only trailing bytes. */
export function* afterEof(s: WalkState): Generator<Request, void, Buffer> {
  s.where = 'the device description';
  const next = yield { peek: 1 };
  if (next[0] !== RECORD.VMDESCRIPTION) return;
  yield { take: 1 };
  const length = (yield { take: 4 }).readUInt32BE(0);
  if (length > MAX_DESCRIPTION_BYTES) throw s.bad(`a device description of ${length} bytes`, s.absolute(-4));
  const json = yield { take: length };
  s.vmdescription ??= decodeVmDescription(json.toString('utf8'));
}

/**
 * Without a description known beforehand (a pipe, a compressed payload), reads ahead to the end
 * of the stream when a device section starts: QEMU writes its description after the EOF byte,
 * and its sizes are exact, where a footer found by searching may lie in a device's own bytes
 * (a timer value ending in 0x7e before 8 zero bytes reads as the footer of section 0). A tail
 * longer than the limit is not held: footers size the sections, and the look-ahead is tried
 * again once the walk has passed that many bytes.
 */
export function* lookAhead(s: WalkState): Generator<Request, void, Buffer> {
  if (s.vmdescription !== null || s.maxLookAhead === 0 || s.absolute() < s.nextLookAhead) return;
  const view = yield { peek: s.maxLookAhead + 1 };
  if (view.length > s.maxLookAhead) {
    s.nextLookAhead = s.absolute() + s.maxLookAhead;
    return;
  }
  s.nextLookAhead = Infinity; // the whole rest of the stream is at hand: one look is the answer
  const end = describeStreamEnd(view);
  if (end.kind !== 'vmdescription') return;
  const description = decodeVmDescription(view.toString('utf8', end.jsonOffset, end.jsonOffset + end.jsonLength));
  if (description !== null) s.describe(description);
}
