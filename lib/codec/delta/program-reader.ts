// Reads a delta's program (decompressed) as it arrives, an operation at a time; a literal comes
// in pieces as its bytes do (views of the chunks pushed), never gathered whole. Any byte that is
// not an operation, or a program that ends before its END, is ERR_BAD_DELTA naming its offset
// in the decompressed program. Pure.
import { ByteQueue } from '../byte-queue.js';
import { badDelta, type DeltaTrailer, decodeTrailer, OP } from './delta-layout.js';
import { decodeVarint as decodeAny } from './varint.js';

export type ProgramOp =
  | { op: 'prologue'; bytes: Buffer }
  | { op: 'literal'; bytes: Buffer }
  | { op: 'records' | 'pages'; first: number; count: number }
  | { op: 'hole'; length: number }
  | { op: 'end'; trailer: DeltaTrailer };

/** The largest prologue a delta may carry (a data region is a few MiB at most). */
export const MAX_PROLOGUE_BYTES = 256 * 1024 * 1024;

export class DeltaProgramReader {
  readonly #queue = new ByteQueue();
  /** Program bytes consumed. */
  #offset = 0;
  #literalLeft = 0;
  #ordinal = 0;
  #started = false;
  #ended = false;

  push(chunk: Buffer): void {
    if (this.#ended && chunk.length > 0) throw badDelta(`bytes after the program's END, at offset ${this.#offset + this.#queue.length} of the decompressed program`, this.#offset);
    this.#queue.push(chunk);
  }

  /** Copies what is still queued of the chunks pushed, so the caller may refill them (after next() gave null). */
  keepCopies(): void {
    this.#queue.keepCopies();
  }

  /** The next operation, or null until more bytes are pushed. */
  next(): ProgramOp | null {
    const queue = this.#queue;
    if (this.#literalLeft > 0) {
      const first = queue.first();
      if (first === null) return null;
      const n = Math.min(first.length, this.#literalLeft);
      this.#literalLeft -= n;
      return { op: 'literal', bytes: this.#take(n) };
    }
    if (this.#ended) {
      if (queue.length > 0) throw badDelta(`bytes after the program's END, at offset ${this.#offset} of the decompressed program`, this.#offset);
      return null;
    }
    if (queue.length === 0) return null;
    const head = queue.peek(Math.min(queue.length, 17));
    const at = this.#offset;
    const op = head[0]!;
    if (!this.#started && op !== OP.PROLOGUE) throw badDelta(`the program starts with 0x${op.toString(16)} at offset 0 of the decompressed program, not its prologue`, 0);
    if (op === OP.END) {
      const got = decodeTrailer(queue.peek(Math.min(queue.length, 64)).subarray(1));
      if (got === null) return null;
      this.#take(1 + got.length);
      this.#ended = true;
      return { op: 'end', trailer: got.trailer };
    }
    const first = decodeVarint(head, 1);
    if (first === null) return null;
    switch (op) {
      case OP.PROLOGUE: {
        if (this.#started) throw badDelta(`a second prologue at offset ${at} of the decompressed program`, at);
        if (first.value > MAX_PROLOGUE_BYTES) throw badDelta(`a prologue of ${first.value} bytes at offset ${at} of the decompressed program`, at);
        if (queue.length < 1 + first.length + first.value) return null;
        this.#take(1 + first.length);
        this.#started = true;
        return { op: 'prologue', bytes: this.#take(first.value) };
      }
      case OP.LITERAL:
        this.#take(1 + first.length);
        this.#literalLeft = first.value;
        return this.next();
      case OP.HOLE:
        this.#take(1 + first.length);
        return { op: 'hole', length: first.value };
      case OP.RECORDS:
      case OP.PAGES: {
        const second = decodeVarint(head, 1 + first.length);
        if (second === null) return null;
        this.#take(1 + first.length + second.length);
        const start = this.#ordinal + first.value;
        this.#ordinal = start + second.value;
        return { op: op === OP.RECORDS ? 'records' : 'pages', first: start, count: second.value };
      }
      default:
        throw badDelta(`unknown operation 0x${op.toString(16).padStart(2, '0')} at offset ${at} of the decompressed program`, at);
    }
  }

  /** The program's bytes ended: ERR_BAD_DELTA unless its END was read. */
  finish(): void {
    if (!this.#ended) throw badDelta(`the delta is cut: its program ends at offset ${this.#offset + this.#queue.length} (decompressed), before its END`, this.#offset);
  }

  #take(n: number): Buffer {
    this.#offset += n;
    return this.#queue.take(n);
  }
}

function decodeVarint(bytes: Buffer, offset: number): { value: number; length: number } | null {
  try {
    return decodeAny(bytes, offset);
  } catch {
    throw badDelta(`a number longer than 8 bytes in an operation of the decompressed program`);
  }
}
