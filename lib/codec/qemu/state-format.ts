// Decoded device state as JSON, two ways: savekit's own tree (typed, 64-bit values exact as
// strings) and the exact text `analyze-migration.py -d state` prints (DEVICE-STATE.md section 3:
// keys, value formatting, order, merging of same-named fields, Python's indent=4). Pure.
import { type DeviceState, INTEGER_TYPES, type StateEntry, type StateValue, toSigned } from './device-state.js';

/** A section of the stream in the order its id was first seen: the RAM section or a device. */
export type StateSection = { id: number; name: string; ramBlocks: Array<{ name: string; length: number }> } | { id: number; name: string; state: DeviceState };

type Json = string | number | boolean | null | Json[] | JsonObject;
type JsonObject = Map<string, Json>;

/** The text analyze-migration.py -d state prints for these sections (its trailing newline included). */
export function formatAnalyzeMigration(sections: StateSection[]): string {
  const top: JsonObject = new Map();
  for (const section of sections) {
    const value: JsonObject = new Map();
    if ('ramBlocks' in section) {
      value.set('section sizes', new Map(section.ramBlocks.map((block) => [block.name, `0x${block.length.toString(16).padStart(16, '0')}`])));
    } else {
      mergeInto(value, section.state.entries, analyzeValue);
    }
    top.set(`${section.name} (${section.id})`, value);
  }
  return `${pythonJson(top, 0)}\n`;
}

/**
 * The analyzer's rule for fields that share a name (array elements, split arrays): the first is
 * a scalar, the second makes a list of both, later ones append. Subsections replace.
 */
function mergeInto(target: JsonObject, entries: StateEntry[], convert: (value: StateValue) => Json): void {
  for (const entry of entries) {
    const value = convert(entry.value);
    if (entry.value.kind === 'subsection' || !target.has(entry.name)) {
      target.set(entry.name, value);
      continue;
    }
    const existing = target.get(entry.name)!;
    if (Array.isArray(existing)) existing.push(value);
    else target.set(entry.name, [existing, value]);
  }
}

function analyzeValue(value: StateValue): Json {
  switch (value.kind) {
    case 'int': {
      const hex = `0x${value.value.toString(16).padStart(value.size * 2, '0')}`;
      // The analyzer reads "uint8 equal" and "uint16 equal" as signed (its bug 2); so do we here.
      const signed = INTEGER_TYPES.get(value.type)!.signed || value.type === 'uint8 equal' || value.type === 'uint16 equal';
      const number = signed ? toSigned(value.value, value.size) : value.value;
      return number < 0n ? `${hex} (${number})` : hex;
    }
    case 'bool':
      return value.value;
    case 'bytes':
      return spacedHex(value.bytes);
    case 'string':
      return value.value;
    case 'nullptr':
      return 'nullptr';
    case 'struct':
    case 'subsection': {
      const object: JsonObject = new Map();
      mergeInto(object, value.entries, analyzeValue);
      return object;
    }
  }
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function spacedHex(bytes: Buffer): string {
  const parts = new Array<string>(bytes.length);
  for (let i = 0; i < bytes.length; i++) parts[i] = HEX_BYTES[bytes[i]!]!;
  return parts.join(' ');
}

/** Python's json.dumps(value, indent=4, separators=(',', ': '), ensure_ascii=True). */
function pythonJson(value: Json, level: number): string {
  if (value instanceof Map) {
    if (value.size === 0) return '{}';
    const inner = '    '.repeat(level + 1);
    const items = [...value].map(([key, item]) => `${inner}${pythonString(key)}: ${pythonJson(item, level + 1)}`);
    return `{\n${items.join(',\n')}\n${'    '.repeat(level)}}`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const inner = '    '.repeat(level + 1);
    return `[\n${value.map((item) => `${inner}${pythonJson(item, level + 1)}`).join(',\n')}\n${'    '.repeat(level)}]`;
  }
  if (typeof value === 'string') return pythonString(value);
  if (value === null) return 'null';
  return String(value);
}

function pythonString(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\uffff]/g, (c) => (c === '\u007f' ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * savekit's own tree for a device: fields by name in stream order, arrays as lists (also of one
 * element), subsections as nested objects under the name the stream gives them. Integers up to
 * 32 bits are numbers, wider ones decimal strings (exact), bytes lower-case hex, nullptr null.
 */
export function stateTree(entries: StateEntry[]): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const entry of entries) {
    const value = treeValue(entry.value);
    if (entry.value.kind === 'subsection') {
      tree[entry.name] = value;
    } else if (entry.element !== undefined) {
      const list = Array.isArray(tree[entry.name]) ? (tree[entry.name] as unknown[]) : (tree[entry.name] = []);
      list.push(value);
    } else if (Object.hasOwn(tree, entry.name)) {
      const existing = tree[entry.name];
      tree[entry.name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
    } else {
      tree[entry.name] = value;
    }
  }
  return tree;
}

function treeValue(value: StateValue): unknown {
  switch (value.kind) {
    case 'int': {
      const number = INTEGER_TYPES.get(value.type)!.signed ? toSigned(value.value, value.size) : value.value;
      return value.size <= 4 ? Number(number) : number.toString();
    }
    case 'bool':
    case 'string':
      return value.value;
    case 'bytes':
      return value.bytes.toString('hex');
    case 'nullptr':
      return null;
    case 'struct':
    case 'subsection':
      return stateTree(value.entries);
  }
}

/** A value as one line of text: hex for integers (with the signed value when negative). */
export function formatStateValue(value: StateValue): string {
  switch (value.kind) {
    case 'int': {
      const hex = `0x${value.value.toString(16).padStart(value.size * 2, '0')}`;
      const number = INTEGER_TYPES.get(value.type)!.signed ? toSigned(value.value, value.size) : value.value;
      return number < 0n ? `${hex} (${number})` : hex;
    }
    case 'bool':
      return String(value.value);
    case 'bytes':
      return value.bytes.length <= 32 ? spacedHex(value.bytes) || '(empty)' : `${spacedHex(value.bytes.subarray(0, 32))} ... (${value.bytes.length} bytes)`;
    case 'string':
      return JSON.stringify(value.value);
    case 'nullptr':
      return 'nullptr';
    case 'struct':
    case 'subsection':
      return `{${value.entries.length} fields}`;
  }
}
