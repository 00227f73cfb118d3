// Gathers a prologue from chunks as they arrive: the header first (to learn dataLen, checked
// against the limit before anything more is buffered), then the data region. Chunk references
// are kept and joined once (ByteQueue); what follows the prologue is handed back untouched.
import { HEADER_BYTES } from '../constants.js';
import { decodeHeader, type DecodeHeaderOptions, payloadOffsetOf } from '../codec/header.js';
import { decodePrologue, type SaveImagePrologue, truncatedRegion } from '../codec/prologue.js';
import { ByteQueue } from '../codec/byte-queue.js';

export interface GatheredPrologue {
  prologue: SaveImagePrologue;
  /** Payload chunks that arrived with the prologue, in order (views, not copies). */
  rest: Buffer[];
}

export class PrologueGatherer {
  #queue = new ByteQueue();
  #payloadOffset = -1;
  readonly #options: DecodeHeaderOptions;

  constructor(options: DecodeHeaderOptions = {}) {
    this.#options = options;
  }

  /** Adds a chunk; returns the prologue once complete (then the gatherer is spent), else null. */
  push(chunk: Buffer): GatheredPrologue | null {
    const queue = this.#queue;
    queue.push(chunk);
    if (this.#payloadOffset < 0) {
      if (queue.length < HEADER_BYTES) return null;
      this.#payloadOffset = payloadOffsetOf(decodeHeader(queue.peek(HEADER_BYTES), this.#options));
    }
    if (queue.length < this.#payloadOffset) return null;
    const prologue = decodePrologue(queue.take(this.#payloadOffset), this.#options);
    return { prologue, rest: queue.drain() };
  }

  /** The input ended before the prologue did: the precise error (short header, or cut region). */
  endError(): Error {
    const queue = this.#queue;
    try {
      const header = decodeHeader(queue.peek(Math.min(queue.length, HEADER_BYTES)), this.#options);
      return truncatedRegion(header, queue.length);
    } catch (error) {
      return error as Error;
    }
  }
}
