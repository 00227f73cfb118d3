// After the EOF byte: the optional VMDESCRIPTION (0x06, be32 length, JSON), read into the
// walk's description when none was known beforehand; anything after it is trailing bytes. Pure.
import { RECORD } from './records.js';
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
