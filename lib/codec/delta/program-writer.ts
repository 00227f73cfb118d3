// Writes a delta's program as NEW's stream goes by: the caller hands over NEW's stream chunk by
// chunk and says, record by record, which came from BASE (a run of ordinals), which are holes and
// which are literal; every other byte is literal. Bytes not yet decided when a chunk's buffer is
// about to be reused are copied (device state, a record cut by the chunk's end): a few KiB. Pure.
import { type DeltaTrailer, encodeOpInto, encodeTrailer, MAX_OP_HEAD_BYTES, OP } from './delta-layout.js';

const OUT_BYTES = 1024 * 1024;
/**
 * A literal is written in pieces of this size, the last one shorter: the program is then the
 * same however NEW's stream was chunked (a pipe's reads vary), so two runs give one delta.
 */
const LITERAL_PIECE_BYTES = 1024 * 1024;

export interface ProgramCounts {
  /** NEW stream bytes carried as literals, as holes, and rebuilt from BASE. */
  literalBytes: number;
  holeBytes: number;
  copiedBytes: number;
  /** Records (or mapped-ram pages) rebuilt from BASE. */
  copiedPages: number;
}

export class DeltaProgramWriter {
  readonly counts: ProgramCounts = { literalBytes: 0, holeBytes: 0, copiedBytes: 0, copiedPages: 0 };
  readonly #emit: (bytes: Buffer) => void;
  #out = Buffer.allocUnsafe(OUT_BYTES);
  #used = 0;
  /** NEW stream bytes handed over, and how far the program covers them. */
  #streamEnd = 0;
  #cursor = 0;
  /** The end of the last record decided literal: bytes before it need not be kept. */
  #decidedEnd = 0;
  /** Copies of the bytes from the cursor to the current chunk. */
  #held = Buffer.allocUnsafe(64 * 1024);
  #heldLength = 0;
  #current: Buffer | null = null;
  #currentStart = 0;
  /** The run being gathered: RECORDS or PAGES from `first` on, or a HOLE. */
  #runOp = 0;
  #runFirst = 0;
  #runCount = 0;
  #holeBytes = 0;
  /** Literal bytes gathered for the piece being written. */
  #literal = Buffer.allocUnsafe(LITERAL_PIECE_BYTES);
  #literalLength = 0;
  /** The ordinal after the last run written: the next run's skip is counted from it. */
  #lastRunEnd = 0;

  /** `emit` receives the program in pieces of up to 1 MiB (a buffer reused after the call). */
  constructor(emit: (bytes: Buffer) => void) {
    this.#emit = emit;
  }

  prologue(bytes: Buffer): void {
    this.#head(OP.PROLOGUE, bytes.length);
    this.#bytes(bytes);
  }

  /** NEW's next stream bytes (a view the writer reads until the next chunk() or release()). */
  chunk(view: Buffer): void {
    if (this.#current !== null) this.release();
    this.#current = view;
    this.#currentStart = this.#streamEnd;
    this.#streamEnd += view.length;
  }

  /** The record at [offset, offset + length) of NEW's stream stays literal. */
  literal(offset: number, length: number): void {
    this.#decidedEnd = Math.max(this.#decidedEnd, offset + length);
  }

  /** The record at `offset` is rebuilt from BASE's page record number `ordinal` (RECORDS or PAGES). */
  copy(op: typeof OP.RECORDS | typeof OP.PAGES, offset: number, length: number, ordinal: number): void {
    this.#literalUpTo(offset);
    this.#endLiteral();
    const next = this.#runCount > 0 ? this.#runFirst + this.#runCount : this.#lastRunEnd; // past the open run, else the last one
    if (ordinal < next) throw new RangeError(`BASE's page ordinal ${ordinal} comes after ${next - 1}: a program only goes forward`);
    if (this.#runOp !== op || ordinal !== this.#runFirst + this.#runCount) {
      this.#flushRun();
      this.#runOp = op;
      this.#runFirst = ordinal;
    }
    this.#runCount++;
    this.counts.copiedBytes += length;
    this.counts.copiedPages++;
    this.#advance(length);
  }

  /** The bytes at [offset, offset + length) are a hole (zeros that were never written). */
  hole(offset: number, length: number): void {
    this.#literalUpTo(offset);
    this.#endLiteral();
    if (this.#runOp !== OP.HOLE) {
      this.#flushRun();
      this.#runOp = OP.HOLE;
    }
    this.#holeBytes += length;
    this.counts.holeBytes += length;
    this.#advance(length);
  }

  /** The current chunk's buffer is about to be reused: what is undecided in it is copied. */
  release(): void {
    const current = this.#current;
    if (current === null) return;
    this.#literalUpTo(this.#decidedEnd);
    const from = Math.max(0, this.#cursor - this.#currentStart);
    this.#hold(current.subarray(from));
    this.#current = null;
    this.#currentStart = this.#streamEnd;
  }

  /** NEW's stream ended: the rest is literal, then the trailer. */
  end(trailer: DeltaTrailer): void {
    this.#literalUpTo(this.#streamEnd);
    this.#endLiteral();
    this.#flushRun();
    this.#bytes(encodeTrailer(trailer));
    this.flush();
  }

  flush(): void {
    if (this.#used === 0) return;
    this.#emit(this.#out.subarray(0, this.#used));
    this.#used = 0;
  }

  /** Takes NEW's bytes from the cursor up to `offset` into the literal being gathered. */
  #literalUpTo(offset: number): void {
    const n = offset - this.#cursor;
    if (n <= 0) return;
    this.#flushRun();
    const fromHeld = Math.min(n, this.#heldLength);
    this.#gather(this.#held.subarray(0, fromHeld));
    if (n > fromHeld) {
      const start = this.#cursor + fromHeld - this.#currentStart;
      this.#gather(this.#current!.subarray(start, start + n - fromHeld));
    }
    this.counts.literalBytes += n;
    this.#advance(n);
  }

  #gather(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) {
      const n = bytes.copy(this.#literal, this.#literalLength, at);
      this.#literalLength += n;
      at += n;
      if (this.#literalLength === LITERAL_PIECE_BYTES) this.#endLiteral();
    }
  }

  /** Writes the literal gathered so far as one L operation. */
  #endLiteral(): void {
    if (this.#literalLength === 0) return;
    this.#head(OP.LITERAL, this.#literalLength);
    this.#bytes(this.#literal.subarray(0, this.#literalLength));
    this.#literalLength = 0;
  }

  /** Moves the cursor on, dropping held bytes it passes. */
  #advance(n: number): void {
    const dropped = Math.min(n, this.#heldLength);
    if (dropped > 0) {
      this.#held.copyWithin(0, dropped, this.#heldLength);
      this.#heldLength -= dropped;
    }
    this.#cursor += n;
  }

  #hold(bytes: Buffer): void {
    if (this.#heldLength + bytes.length > this.#held.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#held.length * 2, this.#heldLength + bytes.length));
      this.#held.copy(grown, 0, 0, this.#heldLength);
      this.#held = grown;
    }
    this.#heldLength += bytes.copy(this.#held, this.#heldLength);
  }

  #flushRun(): void {
    if (this.#runOp === OP.HOLE) {
      if (this.#holeBytes > 0) this.#head(OP.HOLE, this.#holeBytes);
      this.#holeBytes = 0;
    } else if (this.#runOp !== 0 && this.#runCount > 0) {
      this.#room(MAX_OP_HEAD_BYTES);
      this.#used += encodeOpInto(this.#out, this.#used, this.#runOp, this.#runFirst - this.#lastRunEnd, this.#runCount);
      this.#lastRunEnd = this.#runFirst + this.#runCount;
    }
    this.#runOp = 0;
    this.#runCount = 0;
  }

  #head(op: number, n: number): void {
    this.#room(MAX_OP_HEAD_BYTES);
    this.#used += encodeOpInto(this.#out, this.#used, op, n);
  }

  #room(n: number): void {
    if (this.#used + n > this.#out.length) this.flush();
  }

  #bytes(bytes: Buffer): void {
    for (let at = 0; at < bytes.length; ) {
      if (this.#used === this.#out.length) this.flush();
      const n = bytes.copy(this.#out, this.#used, at);
      this.#used += n;
      at += n;
    }
  }
}
