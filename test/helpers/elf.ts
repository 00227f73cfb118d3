// ELF cores in tests: the program headers of a core, and the check that two cores hold the same
// segments (notes and memory) byte for byte.
import * as assert from 'uvu/assert';
import { bytesAt } from './files.js';

interface Segment {
  type: number;
  offset: number;
  paddr: number;
  filesz: number;
}

/** The program headers of an ELF64 little-endian file. */
export function segments(path: string): Segment[] {
  const head = bytesAt(path, 0, 64);
  const phoff = Number(head.readBigUInt64LE(32));
  const count = head.readUInt16LE(56);
  const table = bytesAt(path, phoff, count * 56);
  return Array.from({ length: count }, (_, i) => ({
    type: table.readUInt32LE(i * 56),
    offset: Number(table.readBigUInt64LE(i * 56 + 8)),
    paddr: Number(table.readBigUInt64LE(i * 56 + 24)),
    filesz: Number(table.readBigUInt64LE(i * 56 + 32)),
  }));
}

export function assertSameCore(ours: string, theirs: string): void {
  const a = segments(ours);
  const b = segments(theirs);
  assert.equal(a.map((s) => [s.type, s.paddr, s.filesz]), b.map((s) => [s.type, s.paddr, s.filesz]), 'the same segments');
  assert.is(bytesAt(ours, 18, 2).readUInt16LE(0), bytesAt(theirs, 18, 2).readUInt16LE(0), 'e_machine');
  for (let i = 0; i < a.length; i++) {
    assert.ok(bytesAt(ours, a[i]!.offset, a[i]!.filesz).equals(bytesAt(theirs, b[i]!.offset, b[i]!.filesz)), `segment ${i} (type ${a[i]!.type}, GPA 0x${a[i]!.paddr.toString(16)}) differs`);
  }
}

