// Device state as data: decodes one device section's bytes with its entry of QEMU's JSON
// description (VMDESCRIPTION), field by field, as migration/vmstate.c wrote them and as
// scripts/analyze-migration.py reads them (DEVICE-STATE.md sections 2 and 3). Every length and
// count the description states is checked against the bytes at hand and capped before anything
// is held, so a lying description ends in ERR_BAD_STREAM naming the device and the field. Pure.
import { SaveImageError } from '../../errors.js';
import { RECORD } from './records.js';

/** One field of a description, as QEMU's JSON writer emits it (vmstate_save_state_v). */
export interface FieldDescription {
  name: string;
  type: string;
  size: number;
  array_len?: number;
  index?: number;
  struct?: StateDescription;
}

/** A VMStateDescription: a device, a struct or a subsection. */
export interface StateDescription {
  vmsd_name?: string;
  version?: number;
  fields?: FieldDescription[];
  subsections?: StateDescription[];
}

/** A device entry of the description's `devices` list. */
export interface DeviceDescription extends StateDescription {
  name: string;
  instance_id: number;
}

/** A decoded value. Integers keep their bytes' full width (bigint), whatever their size. */
export type StateValue =
  | { kind: 'int'; type: string; size: number; value: bigint }
  | { kind: 'bool'; type: string; value: boolean }
  | { kind: 'bytes'; type: string; bytes: Buffer }
  | { kind: 'string'; type: string; value: string }
  | { kind: 'nullptr'; type: string }
  | { kind: 'struct'; type: string; vmsd: string | null; entries: StateEntry[] }
  | { kind: 'subsection'; type: 'subsection'; vmsd: string; version: number; entries: StateEntry[] };

/** A named value in stream order; `element` is set for the elements of an array. */
export interface StateEntry {
  name: string;
  value: StateValue;
  element?: number;
}

/** What a device section holds, decoded. */
export interface DeviceState {
  sectionId: number;
  name: string;
  instance: number;
  version: number;
  vmsd: string | null;
  entries: StateEntry[];
}

/** Types read as big-endian integers, and whether analyze-migration.py reads them signed. */
export const INTEGER_TYPES: ReadonlyMap<string, { signed: boolean }> = new Map([
  ['int8', { signed: true }],
  ['int16', { signed: true }],
  ['int32', { signed: true }],
  ['int64', { signed: true }],
  ['int32 equal', { signed: true }],
  ['int64 equal', { signed: true }],
  ['int32 le', { signed: true }], // "less or equal" (get_int32_le), big-endian on the wire
  ['uint8', { signed: false }],
  ['uint16', { signed: false }],
  ['uint32', { signed: false }],
  ['uint64', { signed: false }],
  ['uint32 equal', { signed: false }],
  ['uint8 equal', { signed: false }],
  ['uint16 equal', { signed: false }],
]);

/** Limits on what a description may ask for, whatever the bytes: beyond these it lies. */
export const STATE_LIMITS = {
  /** Nesting of structs and subsections (QEMU's deepest are under 10). */
  maxDepth: 32,
  /** Elements of one compressed array. */
  maxArrayLength: 1 << 20,
  /** Values decoded from one section (the largest genuine cpu section has about 1,500). */
  maxEntries: 1 << 20,
  /** Bytes of one field. */
  maxFieldBytes: 64 * 1024 * 1024,
} as const;

interface Context {
  bytes: Buffer;
  at: number;
  device: string;
  /** Absolute offset of bytes[0], for messages (null when unknown). */
  baseOffset: number | null;
  entries: number;
}

/**
 * Decodes `bytes`, the whole payload of one device section (between its header and its footer),
 * with `description`. The description must consume every byte: anything else is ERR_BAD_STREAM.
 */
export function decodeDeviceState(
  bytes: Buffer,
  description: DeviceDescription,
  section: { id: number; name: string; instance: number; version: number; baseOffset?: number | null },
): DeviceState {
  const context: Context = { bytes, at: 0, device: `${section.name} (section ${section.id})`, baseOffset: section.baseOffset ?? null, entries: 0 };
  const entries = decodeStruct(context, description, '', 0);
  if (context.at !== bytes.length) {
    throw bad(context, `its description accounts for ${context.at} bytes, but the section holds ${bytes.length}`, '');
  }
  return { sectionId: section.id, name: section.name, instance: section.instance, version: section.version, vmsd: typeof description.vmsd_name === 'string' ? description.vmsd_name : null, entries };
}

function decodeStruct(context: Context, description: StateDescription, path: string, depth: number): StateEntry[] {
  if (depth > STATE_LIMITS.maxDepth) throw bad(context, `its description nests deeper than ${STATE_LIMITS.maxDepth} levels`, path);
  const fields = description.fields ?? [];
  if (!Array.isArray(fields)) throw bad(context, 'its description has a "fields" that is not a list', path);
  const entries: StateEntry[] = [];
  for (const field of fields) {
    const name = describedName(context, field, path);
    const fieldPath = path ? `${path}.${name}` : name;
    const count = field.array_len ?? 1;
    if (!Number.isSafeInteger(count) || count < 0 || count > STATE_LIMITS.maxArrayLength) {
      throw bad(context, `array_len ${String(field.array_len)} is not a count of at most ${STATE_LIMITS.maxArrayLength}`, fieldPath);
    }
    for (let i = 0; i < count; i++) {
      if (++context.entries > STATE_LIMITS.maxEntries) throw bad(context, `more than ${STATE_LIMITS.maxEntries} values`, fieldPath);
      const element = field.array_len !== undefined ? i : typeof field.index === 'number' ? field.index : undefined;
      const value = decodeField(context, field, element === undefined ? fieldPath : `${fieldPath}[${element}]`, depth);
      entries.push(element === undefined ? { name, value } : { name, value, element });
    }
  }
  const subsections = description.subsections ?? [];
  if (!Array.isArray(subsections)) throw bad(context, 'its description has a "subsections" that is not a list', path);
  for (const subsection of subsections) {
    const expected = typeof subsection?.vmsd_name === 'string' ? subsection.vmsd_name : '(unnamed)';
    const subPath = path ? `${path}.${expected}` : expected;
    const at = context.at;
    if (take(context, 1, subPath)[0] !== RECORD.SUBSECTION) throw bad(context, `subsection ${expected} not found: byte 0x${context.bytes[at]!.toString(16).padStart(2, '0')} where 0x05 should start it`, subPath, at);
    const nameLength = take(context, 1, subPath)[0]!;
    const name = take(context, nameLength, subPath).toString('latin1');
    const version = take(context, 4, subPath).readUInt32BE(0);
    entries.push({ name, value: { kind: 'subsection', type: 'subsection', vmsd: expected, version, entries: decodeStruct(context, subsection, subPath, depth + 1) } });
  }
  return entries;
}

function decodeField(context: Context, field: FieldDescription, path: string, depth: number): StateValue {
  const type = field.type;
  if (type === 'struct') {
    if (typeof field.struct !== 'object' || field.struct === null) throw bad(context, 'a struct field without its "struct" description', path);
    return { kind: 'struct', type, vmsd: typeof field.struct.vmsd_name === 'string' ? field.struct.vmsd_name : null, entries: decodeStruct(context, field.struct, path, depth + 1) };
  }
  if (type === 'capability') {
    const length = take(context, 1, path)[0]!;
    return { kind: 'string', type, value: take(context, length, path).toString('latin1') };
  }
  const size = field.size;
  if (!Number.isSafeInteger(size) || size < 0 || size > STATE_LIMITS.maxFieldBytes) throw bad(context, `size ${String(size)} is not a byte count`, path);
  const at = context.at;
  const bytes = take(context, size, path);
  if (type === 'bool') return { kind: 'bool', type, value: size > 0 && bytes[0] !== 0 };
  if (type === 'nullptr') {
    if (size !== 1 || bytes[0] !== 0x30) throw bad(context, `a nullptr field must be the one byte '0', not ${bytes.toString('hex') || 'nothing'}`, path, at);
    return { kind: 'nullptr', type };
  }
  if (INTEGER_TYPES.has(type)) return { kind: 'int', type, size, value: readUnsigned(bytes) };
  // buffer, unused_buffer, timer, bitmap, float64, pci config, tmp, unknown, any other name.
  return { kind: 'bytes', type, bytes: Buffer.from(bytes) };
}

function describedName(context: Context, field: FieldDescription, path: string): string {
  if (typeof field !== 'object' || field === null || typeof field.name !== 'string' || typeof field.type !== 'string') {
    const named = typeof field?.name === 'string' ? (path ? `${path}.${field.name}` : field.name) : path;
    throw bad(context, 'a field without a name or a type in its description', named);
  }
  return field.name;
}

/** The next `n` bytes of the section (a view), or ERR_BAD_STREAM: the section ends first. */
function take(context: Context, n: number, path: string): Buffer {
  const left = context.bytes.length - context.at;
  if (n > left) throw bad(context, `needs ${n} bytes, but the section has ${left} left`, path);
  const view = context.bytes.subarray(context.at, context.at + n);
  context.at += n;
  return view;
}

/** A big-endian unsigned integer of any width. */
export function readUnsigned(bytes: Buffer): bigint {
  if (bytes.length === 8) return bytes.readBigUInt64BE(0);
  if (bytes.length > 0 && bytes.length <= 6) return BigInt(bytes.readUIntBE(0, bytes.length));
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** The value as a signed integer of its width (two's complement). */
export function toSigned(value: bigint, size: number): bigint {
  return size === 0 ? value : BigInt.asIntN(size * 8, value);
}

function bad(context: Context, reason: string, path: string, at = context.at): SaveImageError {
  const offset = context.baseOffset === null ? undefined : context.baseOffset + at;
  const where = offset === undefined ? `byte ${at} of the section` : `offset ${offset}`;
  return new SaveImageError('ERR_BAD_STREAM', `device ${context.device}, field ${path || '(top)'}: ${reason} (at ${where})`, offset === undefined ? {} : { offset });
}
