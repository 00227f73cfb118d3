// BASE's page records in stream order, as far as they have been read and not yet passed: each
// its ordinal (its place among BASE's page records), its block's rank in BASE's block list, its
// address, and its body: the page (an image), a 128-bit hash (a signature), or null with the
// fill of a zero page. A ring of parallel arrays: a saved guest is a million records. Pure.

export class PageQueue {
  #rank = new Int32Array(1024);
  #address = new Float64Array(1024);
  #fill = new Int16Array(1024);
  #body: Array<Buffer | null> = new Array(1024).fill(null);
  #head = 0;
  #length = 0;
  /** The ordinal of the record at the head (or of the next one pushed, when empty). */
  #ordinal = 0;

  get length(): number {
    return this.#length;
  }

  /** Records pushed so far (the next record's ordinal). */
  get pushed(): number {
    return this.#ordinal + this.#length;
  }

  /** `body` is the page's bytes or hash, null for a zero page filled with `fill`. */
  push(rank: number, address: number, body: Buffer | null, fill: number): void {
    if (this.#length === this.#rank.length) this.#grow();
    const slot = (this.#head + this.#length) % this.#rank.length;
    this.#rank[slot] = rank;
    this.#address[slot] = address;
    this.#fill[slot] = body === null ? fill : -1;
    this.#body[slot] = body;
    this.#length++;
  }

  shift(): void {
    this.#body[this.#head] = null;
    this.#head = (this.#head + 1) % this.#rank.length;
    this.#length--;
    this.#ordinal++;
  }

  /** Drops every record queued. */
  clear(): void {
    while (this.#length > 0) this.shift();
  }

  get ordinal(): number {
    return this.#ordinal;
  }

  get rank(): number {
    return this.#rank[this.#head]!;
  }

  get address(): number {
    return this.#address[this.#head]!;
  }

  /** The head's page or hash, or null for a zero page. */
  get body(): Buffer | null {
    return this.#body[this.#head]!;
  }

  get fill(): number {
    return this.#fill[this.#head]!;
  }

  /** The body of the `k`th record from the head (k < length). */
  bodyAt(k: number): Buffer | null {
    return this.#body[(this.#head + k) % this.#rank.length]!;
  }

  /** The address of the `k`th record from the head (k < length). */
  addressAt(k: number): number {
    return this.#address[(this.#head + k) % this.#rank.length]!;
  }

  /** Drops records before (rank, address) in BASE's order; true if one at or past it is left. */
  skipBefore(rank: number, address: number): boolean {
    while (this.#length > 0) {
      const r = this.#rank[this.#head]!;
      if (r > rank || (r === rank && this.#address[this.#head]! >= address)) return true;
      this.shift();
    }
    return false;
  }

  #grow(): void {
    const size = this.#rank.length * 2;
    const order = Array.from({ length: this.#length }, (_, i) => (this.#head + i) % this.#rank.length);
    const rank = new Int32Array(size);
    const address = new Float64Array(size);
    const fill = new Int16Array(size);
    const body: Array<Buffer | null> = new Array(size).fill(null);
    order.forEach((slot, i) => {
      rank[i] = this.#rank[slot]!;
      address[i] = this.#address[slot]!;
      fill[i] = this.#fill[slot]!;
      body[i] = this.#body[slot]!;
    });
    this.#rank = rank;
    this.#address = address;
    this.#fill = fill;
    this.#body = body;
    this.#head = 0;
  }
}
