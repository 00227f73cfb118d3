// The device-state decoder on synthetic descriptions: every field type, compressed arrays and
// element-by-element arrays, arrays of structs, nested subsections, and a cut inside each field
// of them; the caps on lying counts and depth; both JSON renderings.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeDeviceState, type DeviceDescription, type FieldDescription, STATE_LIMITS } from '../../../lib/codec/qemu/device-state.js';
import { formatAnalyzeMigration, stateTree } from '../../../lib/codec/qemu/state-format.js';
import { SaveImageError } from '../../../lib/errors.js';

const test = suite('codec/qemu/device-state');
const SECTION = { id: 7, name: 'dev', instance: 0, version: 3 };

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const subsection = (name: string, version: number) => Buffer.concat([Buffer.from([0x05, name.length]), Buffer.from(name, 'latin1'), hex(version.toString(16).padStart(8, '0'))]);

/** One field of each type analyze-migration.py knows, then arrays, structs and subsections. */
const FIELDS: FieldDescription[] = [
  { name: 'u8', type: 'uint8', size: 1 },
  { name: 'u16', type: 'uint16', size: 2 },
  { name: 'u32', type: 'uint32', size: 4 },
  { name: 'u64', type: 'uint64', size: 8 },
  { name: 'i8', type: 'int8', size: 1 },
  { name: 'i16', type: 'int16', size: 2 },
  { name: 'i32', type: 'int32', size: 4 },
  { name: 'i64', type: 'int64', size: 8 },
  { name: 'i32eq', type: 'int32 equal', size: 4 },
  { name: 'i64eq', type: 'int64 equal', size: 8 },
  { name: 'i32le', type: 'int32 le', size: 4 },
  { name: 'u8eq', type: 'uint8 equal', size: 1 },
  { name: 'u16eq', type: 'uint16 equal', size: 2 },
  { name: 'u32eq', type: 'uint32 equal', size: 4 },
  { name: 'flag', type: 'bool', size: 1 },
  { name: 'off', type: 'bool', size: 1 },
  { name: 'buf', type: 'buffer', size: 3 },
  { name: 'unused', type: 'unused_buffer', size: 2 },
  { name: 'bits', type: 'bitmap', size: 8 },
  { name: 'timer', type: 'timer', size: 8 },
  { name: 'f', type: 'float64', size: 8 },
  { name: 'pci', type: 'pci config', size: 4 },
  { name: 'tmp', type: 'tmp', size: 2 },
  { name: 'odd', type: 'some new type', size: 1 },
  { name: 'ptr', type: 'nullptr', size: 1 },
  { name: 'regs', type: 'uint16', size: 2, array_len: 3 },
  { name: 'one', type: 'uint8', size: 1, array_len: 1 },
  { name: 'drives', type: 'struct', size: 2, index: 0, struct: { vmsd_name: 'drive', version: 1, fields: [{ name: 'v', type: 'uint16', size: 2 }] } },
  { name: 'drives', type: 'struct', size: 2, struct: { vmsd_name: 'drive', version: 1, fields: [{ name: 'v', type: 'uint16', size: 2 }] } },
  {
    name: 'segs',
    type: 'struct',
    size: 3,
    array_len: 2,
    struct: { vmsd_name: 'seg', version: 1, fields: [{ name: 'sel', type: 'uint8', size: 1 }, { name: 'base', type: 'uint16', size: 2 }] },
  },
  {
    name: 'nested',
    type: 'struct',
    size: 1,
    struct: { vmsd_name: 'outer', version: 1, fields: [{ name: 'x', type: 'uint8', size: 1 }], subsections: [{ vmsd_name: 'outer/inner', version: 2, fields: [{ name: 'y', type: 'int8', size: 1 }] }] },
  },
];
const DESCRIPTION: DeviceDescription = {
  name: 'dev',
  instance_id: 0,
  vmsd_name: 'dev',
  version: 3,
  fields: FIELDS,
  subsections: [{ vmsd_name: 'dev/sub', version: 1, fields: [{ name: 'z', type: 'uint32', size: 4 }], subsections: [{ vmsd_name: 'dev/sub/deeper', version: 1, fields: [{ name: 'w', type: 'bool', size: 1 }] }] }],
};
const BYTES = Buffer.concat([
  hex('ff 0102 01020304 8000000000000001'),
  hex('ff fffe ffffffff fffffffffffffff0'),
  hex('ffffffff 7fffffffffffffff 80000000 ff ffff ffffffff'),
  hex('01 00 0a0b0c 0000 00000000000000ff 000000003b9aca00 3ff0000000000000 86800000 1234 99 30'),
  hex('0001 0002 0003 07 000a 000b 01 0100 02 0200 05'),
  subsection('outer/inner', 2),
  hex('fe'),
  subsection('dev/sub', 1),
  hex('deadbeef'),
  subsection('dev/sub/deeper', 1),
  hex('01'),
]);

test('every field type, arrays, structs and subsections: the analyze-migration.py text', () => {
  const state = decodeDeviceState(BYTES, DESCRIPTION, SECTION);
  const text = formatAnalyzeMigration([{ id: 7, name: 'dev', state }]);
  const parsed = JSON.parse(text) as Record<string, Record<string, unknown>>;
  assert.equal(parsed['dev (7)'], {
    u8: '0xff',
    u16: '0x0102',
    u32: '0x01020304',
    u64: '0x8000000000000001',
    i8: '0xff (-1)',
    i16: '0xfffe (-2)',
    i32: '0xffffffff (-1)',
    i64: '0xfffffffffffffff0 (-16)',
    i32eq: '0xffffffff (-1)',
    i64eq: '0x7fffffffffffffff',
    i32le: '0x80000000 (-2147483648)',
    u8eq: '0xff (-1)', // the analyzer's bug 2, reproduced on purpose
    u16eq: '0xffff (-1)',
    u32eq: '0xffffffff',
    flag: true,
    off: false,
    buf: '0a 0b 0c',
    unused: '00 00',
    bits: '00 00 00 00 00 00 00 ff',
    timer: '00 00 00 00 3b 9a ca 00',
    f: '3f f0 00 00 00 00 00 00',
    pci: '86 80 00 00',
    tmp: '12 34',
    odd: '99',
    ptr: 'nullptr',
    regs: ['0x0001', '0x0002', '0x0003'],
    one: '0x07',
    drives: [{ v: '0x000a' }, { v: '0x000b' }],
    segs: [
      { sel: '0x01', base: '0x0100' },
      { sel: '0x02', base: '0x0200' },
    ],
    nested: { x: '0x05', 'outer/inner': { y: '0xfe (-2)' } },
    'dev/sub': { z: '0xdeadbeef', 'dev/sub/deeper': { w: true } },
  });
  assert.match(text, /^\{\n {4}"dev \(7\)": \{\n {8}"u8": "0xff",\n/);
  assert.ok(text.endsWith('\n    }\n}\n'));
});

test("savekit's tree: exact 64-bit values as strings, arrays as lists even of one, unsigned 'equal' types", () => {
  const tree = stateTree(decodeDeviceState(BYTES, DESCRIPTION, SECTION).entries);
  assert.is(tree.u64, '9223372036854775809');
  assert.is(tree.i64, '-16');
  assert.is(tree.i64eq, '9223372036854775807');
  assert.is(tree.u32, 0x01020304);
  assert.is(tree.i32, -1);
  assert.is(tree.u8eq, 255);
  assert.is(tree.ptr, null);
  assert.equal(tree.one, [7]);
  assert.equal(tree.regs, [1, 2, 3]);
  assert.equal(tree.drives, [{ v: 10 }, { v: 11 }]);
  assert.equal(tree.segs, [
    { sel: 1, base: 256 },
    { sel: 2, base: 512 },
  ]);
  assert.equal(tree['dev/sub'], { z: 0xdeadbeef, 'dev/sub/deeper': { w: true } });
});

test('a cut inside every field, struct and subsection: ERR_BAD_STREAM naming the device and the field, never another error', () => {
  for (let length = 0; length < BYTES.length; length++) {
    try {
      decodeDeviceState(BYTES.subarray(0, length), DESCRIPTION, SECTION);
      assert.unreachable(`a cut at ${length} decoded`);
    } catch (error) {
      assert.ok(SaveImageError.is(error), `cut at ${length}: ${String(error)}`);
      assert.is(error.code, 'ERR_BAD_STREAM');
      assert.match(error.message, 'device dev (section 7), field ');
    }
  }
});

test('bytes the description does not account for, a missing subsection, a bad nullptr: ERR_BAD_STREAM', () => {
  const cases: Array<[string, Buffer, DeviceDescription, RegExp]> = [
    ['extra bytes', Buffer.concat([BYTES, hex('00')]), DESCRIPTION, /accounts for \d+ bytes, but the section holds/],
    ['no subsection marker', Buffer.from(BYTES).fill(0x04, BYTES.indexOf(subsection('dev/sub', 1)), BYTES.indexOf(subsection('dev/sub', 1)) + 1), DESCRIPTION, /field dev\/sub: subsection dev\/sub not found: byte 0x04/],
    ['nullptr not 0', hex('31'), { name: 'dev', instance_id: 0, fields: [{ name: 'p', type: 'nullptr', size: 1 }] }, /field p: a nullptr field must be the one byte '0'/],
    ['struct without struct', hex('00'), { name: 'dev', instance_id: 0, fields: [{ name: 's', type: 'struct', size: 1 }] }, /field s: a struct field without/],
    ['a field without a type', hex('00'), { name: 'dev', instance_id: 0, fields: [{ name: 'x' } as FieldDescription] }, /field x: a field without a name or a type/],
  ];
  for (const [what, bytes, description, message] of cases) {
    try {
      decodeDeviceState(bytes, description, { ...SECTION, baseOffset: 1000 });
      assert.unreachable(what);
    } catch (error) {
      assert.ok(SaveImageError.is(error), `${what}: ${String(error)}`);
      assert.is(error.code, 'ERR_BAD_STREAM', what);
      assert.match(error.message, message, what);
      assert.type(error.offset, 'number', what);
    }
  }
});

test('lying counts, sizes and depths are refused before anything is held or looped over', () => {
  let deep: DeviceDescription = { name: 'dev', instance_id: 0, fields: [] };
  for (let i = 0; i <= STATE_LIMITS.maxDepth + 1; i++) deep = { name: 'dev', instance_id: 0, fields: [{ name: `l${i}`, type: 'struct', size: 0, struct: deep }] };
  const cases: Array<[string, DeviceDescription, RegExp]> = [
    ['huge array_len', { name: 'dev', instance_id: 0, fields: [{ name: 'a', type: 'uint8', size: 0, array_len: 2 ** 40 }] }, /array_len 1099511627776 is not a count/],
    ['negative size', { name: 'dev', instance_id: 0, fields: [{ name: 'a', type: 'buffer', size: -1 }] }, /size -1 is not a byte count/],
    ['huge size', { name: 'dev', instance_id: 0, fields: [{ name: 'a', type: 'buffer', size: 2 ** 31 }] }, /size 2147483648 is not a byte count/],
    ['deep nesting', deep, /nests deeper than 32 levels/],
    ['too many values', { name: 'dev', instance_id: 0, fields: Array.from({ length: 2 }, () => ({ name: 'a', type: 'uint8', size: 0, array_len: STATE_LIMITS.maxArrayLength })) }, /more than 1048576 values/],
  ];
  for (const [what, description, message] of cases) {
    try {
      decodeDeviceState(Buffer.alloc(16), description, SECTION);
      assert.unreachable(what);
    } catch (error) {
      assert.ok(SaveImageError.is(error), `${what}: ${String(error)}`);
      assert.match(error.message, message, what);
    }
  }
});

test('Python json.dumps details: empty objects and lists, non-ASCII escaped, no trailing spaces', () => {
  const state = decodeDeviceState(Buffer.alloc(0), { name: 'empty', instance_id: 0, fields: [] }, { ...SECTION, name: 'empty' });
  const named = decodeDeviceState(Buffer.concat([subsection('dév/x', 1)]), { name: 'd', instance_id: 0, fields: [], subsections: [{ vmsd_name: 'dév/x', fields: [] }] }, SECTION);
  const text = formatAnalyzeMigration([
    { id: 1, name: 'empty', state },
    { id: 2, name: 'ram', ramBlocks: [{ name: 'pc.ram', length: 0x1000000 }] },
    { id: 3, name: 'd', state: named },
  ]);
  assert.is(text, '{\n    "empty (1)": {},\n    "ram (2)": {\n        "section sizes": {\n            "pc.ram": "0x0000000001000000"\n        }\n    },\n    "d (3)": {\n        "d\\u00e9v/x": {}\n    }\n}\n');
});

test.run();
