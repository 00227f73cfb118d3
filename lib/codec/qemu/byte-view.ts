// The walker's input queue: take and peek join chunks only for the few bytes asked (record
// headers), skip drops whole chunks by reference (page bodies are never copied). A caller that
// reuses its buffers calls keepCopies() before refilling them: what is still queued is copied.

export class ByteQueueView {
  #chunks: Buffer[] = [];
  #length = 0;
  /** How many leading chunks are already the queue's own copies. */
  #owned = 0;

  /** Copies the queued bytes that still belong to the caller (a partial record, usually). */
  keepCopies(): void {
    for (let i = this.#owned; i < this.#chunks.length; i++) this.#chunks[i] = Buffer.from(this.#chunks[i]!);
    this.#owned = this.#chunks.length;
  }

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

  take(n: number): Buffer {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

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
}
