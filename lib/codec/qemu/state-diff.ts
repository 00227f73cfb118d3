// The fields that differ between two decodings of one device's state: each leaf by its path
// (`env.regs[3]`, `timers_state.cpu_clock_offset`), with both values as one line of text each.
// Pure.
import type { DeviceState, StateEntry, StateValue } from './device-state.js';
import { formatStateValue } from './state-format.js';

export interface FieldChange {
  field: string;
  /** The value in A and in B, or null where that image lacks the field. */
  a: string | null;
  b: string | null;
}

export function diffDeviceStates(a: DeviceState, b: DeviceState): FieldChange[] {
  const left = leaves(a.entries);
  const right = leaves(b.entries);
  const changes: FieldChange[] = [];
  for (const [field, value] of left) {
    const other = right.get(field) ?? null;
    if (other !== value) changes.push({ field, a: value, b: other });
  }
  for (const [field, value] of right) if (!left.has(field)) changes.push({ field, a: null, b: value });
  return changes;
}

/** Every leaf value by its path, in stream order. */
function leaves(entries: StateEntry[], prefix = '', into = new Map<string, string>()): Map<string, string> {
  for (const entry of entries) {
    const path = `${prefix}${entry.name}${entry.element === undefined ? '' : `[${entry.element}]`}`;
    addValue(path, entry.value, into);
  }
  return into;
}

function addValue(path: string, value: StateValue, into: Map<string, string>): void {
  if (value.kind === 'struct' || value.kind === 'subsection') leaves(value.entries, `${path}.`, into);
  else into.set(uniquePath(path, into), value.kind === 'bytes' ? value.bytes.toString('hex') : formatStateValue(value));
}

/** A field the stream repeats without an index gets #2, #3... */
function uniquePath(path: string, taken: Map<string, string>): string {
  if (!taken.has(path)) return path;
  let n = 2;
  while (taken.has(`${path}#${n}`)) n++;
  return `${path}#${n}`;
}
