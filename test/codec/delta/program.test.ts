// The delta program: what the writer makes of a stream and its decisions, read back by the
// reader under every chunking, gives back the stream; runs, holes and literals merge as they
// should; every damage is ERR_BAD_DELTA.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OP, type DeltaTrailer } from '../../../lib/codec/delta/delta-layout.js';
import { DeltaProgramReader, type ProgramOp } from '../../../lib/codec/delta/program-reader.js';
import { DeltaProgramWriter } from '../../../lib/codec/delta/program-writer.js';
import { codeOf } from '../../helpers/assert-code.js';
import { CHUNKINGS } from '../../helpers/chunking.js';

const test = suite('codec/delta/program');

const TRAILER: DeltaTrailer = { newStream: { length: 0, digest: '0000000000000001' }, baseStream: { length: 9, digest: '0000000000000002' }, basePages: 9, pages: 4, samePages: 2 };

type Decision = { at: number; length: number } & ({ kind: 'literal' } | { kind: 'hole' } | { kind: 'copy'; op: typeof OP.RECORDS | typeof OP.PAGES; ordinal: number });

/** Writes `stream` cut into `chunks`, deciding records as `decisions` say, each in the chunk that ends it. */
function write(stream: Buffer, chunkEnds: number[], decisions: Decision[]): Buffer {
  const out: Buffer[] = [];
  const writer = new DeltaProgramWriter((bytes) => out.push(Buffer.from(bytes)));
  writer.prologue(Buffer.from('PROLOGUE'));
  let from = 0;
  let next = 0;
  for (const end of chunkEnds) {
    // A scratch copy that is overwritten once released, as a reused read buffer is.
    const scratch = Buffer.from(stream.subarray(from, end));
    writer.chunk(scratch);
    for (; next < decisions.length && decisions[next]!.at + decisions[next]!.length <= end; next++) {
      const d = decisions[next]!;
      if (d.kind === 'literal') writer.literal(d.at, d.length);
      else if (d.kind === 'hole') writer.hole(d.at, d.length);
      else writer.copy(d.op, d.at, d.length, d.ordinal);
    }
    writer.release();
    scratch.fill(0xee);
    from = end;
  }
  writer.end({ ...TRAILER, newStream: { ...TRAILER.newStream, length: stream.length } });
  return Buffer.concat(out);
}

function read(program: Buffer, pieces: number[]): ProgramOp[] {
  const reader = new DeltaProgramReader();
  const ops: ProgramOp[] = [];
  let at = 0;
  for (const size of pieces) {
    reader.push(program.subarray(at, at + size));
    at += size;
    for (let op = reader.next(); op !== null; op = reader.next()) ops.push(op.op === 'literal' || op.op === 'prologue' ? { ...op, bytes: Buffer.from(op.bytes) } : op);
  }
  reader.push(program.subarray(at));
  for (let op = reader.next(); op !== null; op = reader.next()) ops.push(op.op === 'literal' || op.op === 'prologue' ? { ...op, bytes: Buffer.from(op.bytes) } : op);
  reader.finish();
  return ops;
}

/** Replays ops against `base` records (each 3 bytes 'Bnn') and holes of zeros. */
function replay(ops: ProgramOp[]): Buffer {
  const parts: Buffer[] = [];
  for (const op of ops) {
    if (op.op === 'literal') parts.push(op.bytes);
    else if (op.op === 'hole') parts.push(Buffer.alloc(op.length));
    else if (op.op === 'records' || op.op === 'pages') for (let i = 0; i < op.count; i++) parts.push(Buffer.from(`${op.op === 'records' ? 'R' : 'G'}${String(op.first + i).padStart(2, '0')}`));
  }
  return Buffer.concat(parts);
}

// NEW's stream: literal device bytes, records R00 R01 (from BASE 0, 1), a changed record, R05
// (BASE 5), a hole, G06 G07 (pages from BASE 6, 7), a tail.
const STREAM = Buffer.concat([Buffer.from('head-bytes'), Buffer.from('R00R01'), Buffer.from('XYZ'), Buffer.from('R05'), Buffer.alloc(5), Buffer.from('G06G07'), Buffer.from('tail')]);
const DECISIONS: Decision[] = [
  { at: 10, length: 3, kind: 'copy', op: OP.RECORDS, ordinal: 0 },
  { at: 13, length: 3, kind: 'copy', op: OP.RECORDS, ordinal: 1 },
  { at: 16, length: 3, kind: 'literal' },
  { at: 19, length: 3, kind: 'copy', op: OP.RECORDS, ordinal: 5 },
  { at: 22, length: 5, kind: 'hole' },
  { at: 27, length: 3, kind: 'copy', op: OP.PAGES, ordinal: 6 },
  { at: 30, length: 3, kind: 'copy', op: OP.PAGES, ordinal: 7 },
];

test('written under every chunking of the stream and read under every chunking of the program, it gives back the stream', () => {
  for (const chunking of CHUNKINGS) {
    const ends = chunking.split(STREAM).reduce<number[]>((list, chunk) => [...list, (list.at(-1) ?? 0) + chunk.length], []);
    const program = write(STREAM, ends, DECISIONS);
    for (const reading of CHUNKINGS) {
      const pieces = reading.split(program).map((chunk) => chunk.length);
      const ops = read(program, pieces);
      assert.equal(ops[0], { op: 'prologue', bytes: Buffer.from('PROLOGUE') });
      assert.ok(replay(ops).equals(STREAM), `${chunking.name} / ${reading.name}`);
      assert.equal(ops.at(-1)!.op, 'end');
    }
  }
});

test('consecutive references merge into runs; the skip counts from the last run', () => {
  const ops = read(write(STREAM, [STREAM.length], DECISIONS), [1 << 20]).filter((op) => op.op === 'records' || op.op === 'pages' || op.op === 'hole');
  assert.equal(ops, [
    { op: 'records', first: 0, count: 2 },
    { op: 'records', first: 5, count: 1 },
    { op: 'hole', length: 5 },
    { op: 'pages', first: 6, count: 2 },
  ]);
});

test('a reference may not go back', () => {
  const writer = new DeltaProgramWriter(() => undefined);
  writer.chunk(Buffer.alloc(12));
  writer.copy(OP.RECORDS, 0, 3, 4);
  assert.throws(() => writer.copy(OP.RECORDS, 3, 3, 4), RangeError);
});


test('a cut, damaged or over-long program is ERR_BAD_DELTA', () => {
  const program = write(STREAM, [STREAM.length], DECISIONS);
  for (let cut = 0; cut < program.length; cut++) assert.is(codeOf(() => read(program.subarray(0, cut), [cut])), 'ERR_BAD_DELTA', `cut at ${cut}`);
  const unknownOp = Buffer.from(program);
  unknownOp[1 + 1 + 8] = 0x99; // the byte after the prologue
  assert.is(codeOf(() => read(unknownOp, [unknownOp.length])), 'ERR_BAD_DELTA');
  assert.is(codeOf(() => read(Buffer.concat([program, Buffer.from([0x4c])]), [program.length + 1])), 'ERR_BAD_DELTA');
  assert.is(codeOf(() => read(Buffer.from('L\x01x'), [3])), 'ERR_BAD_DELTA'); // no prologue first
});

test('undecided bytes are kept when a chunk is released, and only those', () => {
  // A record cut by the chunk's end is decided in the next chunk; the device bytes before it
  // must survive their buffer's reuse.
  const stream = Buffer.from('devdevR00R01tail');
  const program = write(stream, [8, 16], [
    { at: 6, length: 3, kind: 'copy', op: OP.RECORDS, ordinal: 0 },
    { at: 9, length: 3, kind: 'copy', op: OP.RECORDS, ordinal: 1 },
  ]);
  assert.ok(replay(read(program, [program.length])).equals(stream));
});

test.run();
