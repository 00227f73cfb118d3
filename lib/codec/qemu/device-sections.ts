// Device sections: how long each payload is (QEMU's JSON sizes, else a validated footer, else an
// opaque tail), skipped or handed over whole for decoding, and the optional section footer
// (migration/savevm.c check_section_footer). Pure.
import { SaveImageError } from '../../errors.js';
import { RECORD } from './records.js';
import { lookAhead } from './stream-tail.js';
import { MAX_DEVICE_SECTION_BYTES, type Request, type SectionSummary, type WalkState } from './walk-state.js';

/** Optional footer after a section: 0x7E and the section id (migration/savevm.c check_section_footer). */
export function* footer(s: WalkState, id: number): Generator<Request, void, Buffer> {
  const next = yield { peek: 1 };
  if (next[0] !== RECORD.SECTION_FOOTER) return;
  const at = s.absolute();
  const bytes = yield { take: 5 };
  const footerId = bytes.readUInt32BE(1);
  if (footerId !== id) throw s.bad(`section footer for id ${footerId} closes section ${id}`, at);
  s.footers = true;
}

/** A device section's payload: by the JSON size, else up to a validated footer, else opaque. */
export function* devicePayload(s: WalkState, section: SectionSummary): Generator<Request, boolean, Buffer> {
  yield* lookAhead(s);
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
