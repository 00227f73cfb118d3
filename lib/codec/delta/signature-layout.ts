// The page signature of an image (version 1), a public contract (README, "Signature layout"):
// what `delta --signature` needs of BASE without BASE: its RAM blocks, then for each of its page
// records in stream order the block, the address and either the zero page's fill or a 128-bit
// hash of the page, then its stream's identity. A 20-byte header, then one zstd frame. Pure.
import { SaveImageError } from '../../errors.js';
import { ByteQueue } from '../byte-queue.js';
import type { StreamIdentity } from './delta-layout.js';
import { decodeVarint, encodeVarintInto, MAX_VARINT_BYTES } from './varint.js';

export const SIGNATURE_MAGIC = 'SavekitSignature';
export const SIGNATURE_VERSION = 1;
export const SIGNATURE_HEADER_BYTES = 20;
export const PAGE_HASH_BYTES = 16;

const OP_BLOCK = 0x42; // B
const OP_RUN = 0x55; // U
const OP_LIST_END = 0x4c; // L: every block of BASE's list is named above
const OP_END = 0x45; // E
const TAG_DATA = 0;
const TAG_ZERO = 1;
const TAG_FILLED = 2;
/** Entries gathered before a run is written (a run's count precedes its entries). */
const MAX_RUN_PAGES = 4096;

export function encodeSignatureHeader(): Buffer {
  const out = Buffer.alloc(SIGNATURE_HEADER_BYTES);
  out.write(SIGNATURE_MAGIC, 0, 'latin1');
  out.writeUInt16BE(SIGNATURE_VERSION, 16);
  out[18] = 1; // zstd
  return out;
}

export function decodeSignatureHeader(bytes: Buffer): void {
  if (bytes.length < SIGNATURE_HEADER_BYTES || bytes.toString('latin1', 0, 16) !== SIGNATURE_MAGIC) {
    throw badSignature(`not a savekit page signature: it does not start with ${JSON.stringify(SIGNATURE_MAGIC)} at offset 0`, 0);
  }
  const version = bytes.readUInt16BE(16);
  if (version !== SIGNATURE_VERSION) {
    throw new SaveImageError('ERR_UNSUPPORTED_VERSION', `a page signature of layout version ${version} (the version field at offset 16): this savekit reads version ${SIGNATURE_VERSION}`, { offset: 16, expected: SIGNATURE_VERSION, actual: version });
  }
  if (bytes[18] !== 1) throw badSignature(`the body encoding field at offset 18 holds ${bytes[18]}, not 1 (zstd)`, 18);
}

export interface SignatureBlock {
  name: string;
  length: number;
  pageSize: number;
}

/** Writes a signature's program as BASE's page records go by. */
export class SignatureWriter {
  readonly #emit: (bytes: Buffer) => void;
  #run = Buffer.allocUnsafe(MAX_RUN_PAGES * (1 + PAGE_HASH_BYTES));
  #runUsed = 0;
  #runCount = 0;
  #runBlock = -1;
  #runFirstPage = 0;
  #head = Buffer.allocUnsafe(512);

  constructor(emit: (bytes: Buffer) => void) {
    this.#emit = emit;
  }

  block(block: SignatureBlock): void {
    this.#flushRun();
    const name = Buffer.from(block.name, 'latin1');
    let at = 0;
    this.#head[at++] = OP_BLOCK;
    this.#head[at++] = name.length;
    at += name.copy(this.#head, at);
    at += encodeVarintInto(block.length, this.#head, at);
    at += encodeVarintInto(block.pageSize, this.#head, at);
    this.#emit(this.#head.subarray(0, at));
  }

  /** Every block of BASE's list has been named (later pages name no block missing so far). */
  listEnd(): void {
    this.#flushRun();
    this.#emit(Buffer.from([OP_LIST_END]));
  }

  /** The next page record of BASE: its block's index, page number, and hash (data) or fill (zero). */
  page(blockIndex: number, page: number, hash: Buffer | null, fill: number): void {
    if (blockIndex !== this.#runBlock || page !== this.#runFirstPage + this.#runCount || this.#runCount === MAX_RUN_PAGES) {
      this.#flushRun();
      this.#runBlock = blockIndex;
      this.#runFirstPage = page;
    }
    if (hash !== null) {
      this.#run[this.#runUsed++] = TAG_DATA;
      this.#runUsed += hash.copy(this.#run, this.#runUsed, 0, PAGE_HASH_BYTES);
    } else if (fill === 0) {
      this.#run[this.#runUsed++] = TAG_ZERO;
    } else {
      this.#run[this.#runUsed++] = TAG_FILLED;
      this.#run[this.#runUsed++] = fill;
    }
    this.#runCount++;
  }

  end(base: StreamIdentity, basePages: number): void {
    this.#flushRun();
    let at = 0;
    this.#head[at++] = OP_END;
    at += encodeVarintInto(base.length, this.#head, at);
    at += this.#head.write(base.digest, at, 'hex');
    at += encodeVarintInto(basePages, this.#head, at);
    this.#emit(this.#head.subarray(0, at));
  }

  #flushRun(): void {
    if (this.#runCount === 0) return;
    let at = 0;
    this.#head[at++] = OP_RUN;
    at += encodeVarintInto(this.#runBlock, this.#head, at);
    at += encodeVarintInto(this.#runFirstPage, this.#head, at);
    at += encodeVarintInto(this.#runCount, this.#head, at);
    this.#emit(this.#head.subarray(0, at));
    this.#emit(this.#run.subarray(0, this.#runUsed));
    this.#runUsed = 0;
    this.#runCount = 0;
  }
}

export type SignatureItem =
  | { kind: 'block'; block: SignatureBlock }
  | { kind: 'list-end' }
  | { kind: 'page'; blockIndex: number; page: number; hash: Buffer | null; fill: number }
  | { kind: 'end'; base: StreamIdentity; basePages: number };

/** Reads a signature's program as it arrives, an item at a time. */
export class SignatureReader {
  readonly #queue = new ByteQueue();
  #offset = 0;
  #runLeft = 0;
  #runBlock = 0;
  #runPage = 0;
  #ended = false;

  push(chunk: Buffer): void {
    this.#queue.push(chunk);
  }

  /** The next item, or null until more bytes are pushed. */
  next(): SignatureItem | null {
    const queue = this.#queue;
    if (queue.length === 0) return null;
    if (this.#ended) throw badSignature(`bytes after the signature's END, at offset ${this.#offset} of its decompressed program`, this.#offset);
    const at = this.#offset;
    if (this.#runLeft > 0) {
      const tag = queue.peek(1)[0]!;
      const size = tag === TAG_DATA ? 1 + PAGE_HASH_BYTES : tag === TAG_ZERO ? 1 : tag === TAG_FILLED ? 2 : -1;
      if (size < 0) throw badSignature(`a page entry with tag ${tag} at offset ${at} of the decompressed program`, at);
      if (queue.length < size) return null;
      const entry = this.#take(size);
      this.#runLeft--;
      return { kind: 'page', blockIndex: this.#runBlock, page: this.#runPage++, hash: tag === TAG_DATA ? entry.subarray(1) : null, fill: tag === TAG_FILLED ? entry[1]! : 0 };
    }
    const head = queue.peek(Math.min(queue.length, 3 + 3 * MAX_VARINT_BYTES + 256));
    const varints = (from: number, count: number): { values: number[]; end: number } | null => {
      const values: number[] = [];
      let offset = from;
      for (let i = 0; i < count; i++) {
        const got = safeVarint(head, offset, at);
        if (got === null) return null;
        values.push(got.value);
        offset += got.length;
      }
      return { values, end: offset };
    };
    switch (head[0]) {
      case OP_BLOCK: {
        if (head.length < 2 || head.length < 2 + head[1]!) return null;
        const name = head.toString('latin1', 2, 2 + head[1]!);
        const got = varints(2 + head[1]!, 2);
        if (got === null) return null;
        this.#take(got.end);
        return { kind: 'block', block: { name, length: got.values[0]!, pageSize: got.values[1]! } };
      }
      case OP_LIST_END:
        this.#take(1);
        return { kind: 'list-end' };
      case OP_RUN: {
        const got = varints(1, 3);
        if (got === null) return null;
        this.#take(got.end);
        [this.#runBlock, this.#runPage, this.#runLeft] = got.values as [number, number, number];
        return this.next();
      }
      case OP_END: {
        const length = safeVarint(head, 1, at);
        if (length === null || head.length < 1 + length.length + 8) return null;
        const pages = safeVarint(head, 1 + length.length + 8, at);
        if (pages === null) return null;
        const digest = head.toString('hex', 1 + length.length, 1 + length.length + 8);
        this.#take(1 + length.length + 8 + pages.length);
        this.#ended = true;
        return { kind: 'end', base: { length: length.value, digest }, basePages: pages.value };
      }
      default:
        throw badSignature(`unknown operation 0x${head[0]!.toString(16).padStart(2, '0')} at offset ${at} of the decompressed program`, at);
    }
  }

  finish(): void {
    if (!this.#ended) throw badSignature(`the signature is cut: its program ends at offset ${this.#offset + this.#queue.length} (decompressed), before its END`, this.#offset);
  }

  #take(n: number): Buffer {
    this.#offset += n;
    return this.#queue.take(n);
  }
}

function safeVarint(bytes: Buffer, offset: number, at: number): { value: number; length: number } | null {
  try {
    return decodeVarint(bytes, offset);
  } catch {
    throw badSignature(`a number longer than 8 bytes at offset ${at} of the decompressed program`, at);
  }
}

export function badSignature(message: string, offset?: number): SaveImageError {
  return new SaveImageError('ERR_BAD_SIGNATURE', message, offset === undefined ? {} : { offset });
}
