// Gathers the prologue from stream chunks without concatenating in a loop: chunk references
// are kept and joined once, when the wanted length has arrived (ARCHITECTURE.md, hot path 2).

export class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes (n <= length), left in the queue. */
  peek(n: number): Buffer {
    const first = this.#chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    return Buffer.concat(this.#chunks, this.#length).subarray(0, n);
  }

  /** Removes and returns the first `n` bytes (n <= length), joined once. */
  take(n: number): Buffer {
    if (n > this.#length) throw new RangeError(`queue holds ${this.#length} bytes, ${n} wanted`);
    const taken: Buffer[] = [];
    let needed = n;
    while (needed > 0) {
      const chunk = this.#chunks[0]!;
      if (chunk.length <= needed) {
        taken.push(chunk);
        this.#chunks.shift();
        needed -= chunk.length;
      } else {
        taken.push(chunk.subarray(0, needed));
        this.#chunks[0] = chunk.subarray(needed);
        needed = 0;
      }
    }
    this.#length -= n;
    return taken.length === 1 ? taken[0]! : Buffer.concat(taken, n);
  }

  /** Removes and returns every chunk still queued, untouched. */
  drain(): Buffer[] {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#length = 0;
    return chunks;
  }
}
