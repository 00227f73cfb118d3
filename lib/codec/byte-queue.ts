// A queue of chunks that joins only what is asked: the prologue gatherer takes the prologue
// once it has arrived (one join), the stream walker takes record headers and skips page bodies
// by reference (never copied). Chunks are kept as given; a caller that reuses its buffers calls
// keepCopies() before refilling them, and what is still queued is copied. Pure.

export class ByteQueue {
  #chunks: Buffer[] = [];
  #length = 0;
  /** How many leading chunks are already the queue's own copies. */
  #owned = 0;

  get length(): number {
    return this.#length;
  }

  /** The first queued chunk, or null. */
  first(): Buffer | null {
    return this.#chunks[0] ?? null;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The first `n` bytes (fewer if fewer are queued), left in the queue. */
  peek(n: number): Buffer {
    const first = this.#chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    const parts: Buffer[] = [];
    let needed = n;
    for (const chunk of this.#chunks) {
      if (needed <= 0) break;
      parts.push(chunk.length <= needed ? chunk : chunk.subarray(0, needed));
      needed -= chunk.length;
    }
    return Buffer.concat(parts, Math.min(n, this.#length));
  }

  /** Removes and returns the first `n` bytes (n <= length), joined once. */
  take(n: number): Buffer {
    if (n > this.#length) throw new RangeError(`queue holds ${this.#length} bytes, ${n} wanted`);
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /** Drops the first `n` bytes (n <= length) without copying them. */
  skip(n: number): void {
    let left = n;
    while (left > 0) {
      const chunk = this.#chunks[0]!;
      if (chunk.length <= left) {
        this.#chunks.shift();
        if (this.#owned > 0) this.#owned--;
        left -= chunk.length;
      } else {
        this.#chunks[0] = chunk.subarray(left);
        left = 0;
      }
    }
    this.#length -= n;
  }

  /** Removes and returns every chunk still queued, untouched. */
  drain(): Buffer[] {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#length = 0;
    this.#owned = 0;
    return chunks;
  }

  /** Copies the queued bytes that still belong to the caller (a partial record, usually). */
  keepCopies(): void {
    for (let i = this.#owned; i < this.#chunks.length; i++) this.#chunks[i] = Buffer.from(this.#chunks[i]!);
    this.#owned = this.#chunks.length;
  }
}
