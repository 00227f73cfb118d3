// BASE's page records, read as far as a consumer asks and no further: from an image (walked in
// the background, one chunk per pull, any payload format) or from a page signature (its zstd
// program, one chunk per pull). Either way the records land in a PageQueue; a pull happens only
// once the queue is empty, so memory stays at a chunk whatever the image size.
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { StreamIdentity } from '../codec/delta/delta-layout.js';
import { PageQueue } from '../codec/delta/page-queue.js';
import { badSignature, decodeSignatureHeader, SIGNATURE_HEADER_BYTES, SignatureReader } from '../codec/delta/signature-layout.js';
import type { WalkSummary } from '../codec/qemu/walker.js';
import { SaveImageError } from '../errors.js';
import { readFully } from '../io/fd-io.js';
import type { FdSource } from '../io/fd-source.js';
import { startProgram, watchExit } from '../io/programs.js';
import { walkImage, type WalkImageOptions } from './walk-image.js';

export interface BaseEnd {
  identity: StreamIdentity;
  /** BASE's page records in all. */
  pages: number;
}

export interface BasePages {
  readonly queue: PageQueue;
  /** Bodies are 128-bit page hashes (a signature), not pages. */
  readonly hashes: boolean;
  /** BASE's rank of a block (its place in BASE's block list), or undefined if not (yet) known. */
  rankOf(name: string): number | undefined;
  /** BASE's whole block list is known. */
  readonly blocksKnown: boolean;
  readonly ended: boolean;
  /** Reads on until records are queued or BASE ends; call it with the queue empty. */
  pull(): Promise<void>;
  /** Reads BASE to its end: its stream's identity and page count. */
  finish(): Promise<BaseEnd>;
  /** Stops reading (the job failed): a program reading BASE is killed. */
  abort(): void;
}

/** Seeks the queue to (name, address): true when BASE's next record there is that page. */
export async function seekPage(base: BasePages, name: string, address: number): Promise<boolean> {
  let rank = base.rankOf(name);
  // A block BASE has not named yet: a later one of a mapped-ram list, or one BASE lacks.
  while (rank === undefined && !base.blocksKnown && !base.ended) {
    base.queue.clear();
    await base.pull();
    rank = base.rankOf(name);
  }
  if (rank === undefined) return false;
  while (!base.queue.skipBefore(rank, address)) {
    if (base.ended) return false;
    await base.pull();
  }
  return base.queue.rank === rank && base.queue.address === address;
}

/** Moves the queue to BASE's record number `ordinal`; false if BASE ends before it. */
export async function seekOrdinal(base: BasePages, ordinal: number): Promise<boolean> {
  for (;;) {
    const queue = base.queue;
    while (queue.length > 0 && queue.ordinal < ordinal) queue.shift();
    if (queue.length > 0) return true;
    if (base.ended) return false;
    await base.pull();
  }
}

/** BASE as an image. */
export type ImagePagesOptions = Pick<WalkImageOptions, 'readOptions' | 'prologue' | 'onDeviceSection'>;

export function imagePages(source: FdSource, options: ImagePagesOptions = {}): BasePages & { summary(): WalkSummary } {
  return new ImagePages(source, options);
}

class ImagePages implements BasePages {
  readonly queue = new PageQueue();
  readonly hashes = false;
  readonly #ranks = new Map<string, number>();
  blocksKnown = false;
  ended = false;
  #error: unknown = null;
  #aborted = false;
  #identity: StreamIdentity | null = null;
  #summary: WalkSummary | null = null;
  /** The walk waits on this before feeding its next chunk; the consumer on #fed for it to be done. */
  #demand: (() => void) | null = null;
  #fed: (() => void) | null = null;

  constructor(source: FdSource, options: ImagePagesOptions) {
    void this.#walk(source, options);
  }

  rankOf(name: string): number | undefined {
    return this.#ranks.get(name);
  }

  pull(): Promise<void> {
    if (this.ended) return this.#error ? Promise.reject(this.#error) : Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#fed = () => (this.#error ? reject(this.#error) : resolve());
      const demand = this.#demand;
      this.#demand = null;
      demand?.();
    });
  }

  async finish(): Promise<BaseEnd> {
    while (!this.ended) {
      this.queue.clear();
      await this.pull();
    }
    if (this.#error) throw this.#error;
    this.queue.clear();
    return { identity: this.#identity!, pages: this.queue.ordinal };
  }

  summary(): WalkSummary {
    if (this.#summary === null) throw new RangeError('BASE is not walked to its end yet');
    return this.#summary;
  }

  abort(): void {
    this.#aborted = true;
    const demand = this.#demand;
    this.#demand = null;
    demand?.();
  }

  async #walk(source: FdSource, options: ImagePagesOptions): Promise<void> {
    try {
      const walk = await walkImage(source, {
        hashStream: true,
        ...options,
        onRamBlock: (summary) => {
          const block = summary.ramBlocks[summary.ramBlocks.length - 1]!;
          if (!this.#ranks.has(block.name)) this.#ranks.set(block.name, this.#ranks.size);
        },
        onMemSize: () => {
          this.blocksKnown = true;
        },
        onPage: (block, address, data, fill) => this.queue.push(this.#ranks.get(block.name)!, address, data, fill),
        onStreamChunk: () => this.#handOver(),
      });
      this.#summary = walk.summary;
      this.#identity = walk.stream;
    } catch (error) {
      this.#error = error;
    } finally {
      this.ended = true;
      this.blocksKnown = true;
      const fed = this.#fed;
      this.#fed = null;
      fed?.();
    }
  }

  /** The chunk before this one is fed: tell the consumer, then wait until it wants the next. */
  async #handOver(): Promise<void> {
    const fed = this.#fed;
    this.#fed = null;
    fed?.();
    if (!this.#aborted) await new Promise<void>((resolve) => (this.#demand = resolve));
    if (this.#aborted) throw new SaveImageError('ERR_INTERRUPTED', 'reading BASE stopped: the job failed');
  }
}

/** BASE as a page signature read from `fd` (its header first, then `zstd -dc` of the rest). */
export async function signaturePages(fd: number, label: string): Promise<BasePages> {
  const header = Buffer.alloc(SIGNATURE_HEADER_BYTES);
  decodeSignatureHeader(header.subarray(0, readFully(fd, header, 0, SIGNATURE_HEADER_BYTES, null)));
  const child = await startProgram<ChildProcessByStdio<null, Readable, Readable>>('zstd', ['-dc'], [fd, 'pipe', 'pipe'], `reading the page signature ${label}`);
  return new SignaturePages(child, label);
}

class SignaturePages implements BasePages {
  readonly queue = new PageQueue();
  readonly hashes = true;
  readonly #ranks = new Map<string, number>();
  readonly #pageSizes: number[] = [];
  readonly #reader = new SignatureReader();
  readonly #chunks: AsyncIterator<Buffer>;
  /**
   * The next chunk, asked for at once: a child's stdout that nobody listens to when it exits is
   * resumed by Node.js and its bytes dropped (child_process flushStdio).
   */
  #next: Promise<IteratorResult<Buffer>>;
  readonly #child: ChildProcessByStdio<null, Readable, Readable>;
  readonly #exit: ReturnType<typeof watchExit>;
  readonly #label: string;
  blocksKnown = false;
  ended = false;
  #end: BaseEnd | null = null;

  constructor(child: ChildProcessByStdio<null, Readable, Readable>, label: string) {
    this.#child = child;
    this.#exit = watchExit(child);
    this.#chunks = child.stdout[Symbol.asyncIterator]();
    this.#next = this.#chunks.next();
    this.#label = label;
  }

  rankOf(name: string): number | undefined {
    return this.#ranks.get(name);
  }

  async pull(): Promise<void> {
    if (this.ended) return;
    const next = await this.#next;
    if (next.done) {
      const status = await this.#exit.exited;
      if (status !== 0) throw badSignature(`the page signature ${this.#label} is damaged: zstd -dc exited with status ${status}: ${this.#exit.said()}`);
      this.#reader.finish();
      this.ended = true;
      return;
    }
    this.#next = this.#chunks.next();
    this.#reader.push(next.value as Buffer);
    for (let item = this.#reader.next(); item !== null; item = this.#reader.next()) {
      if (item.kind === 'block') {
        this.#ranks.set(item.block.name, this.#ranks.size);
        this.#pageSizes.push(item.block.pageSize);
      }
      else if (item.kind === 'list-end') this.blocksKnown = true;
      else if (item.kind === 'page') {
        if (item.blockIndex >= this.#ranks.size) throw badSignature(`a page of block number ${item.blockIndex}, which the signature never named`);
        this.queue.push(item.blockIndex, item.page * this.#pageSizes[item.blockIndex]!, item.hash, item.fill);
      } else {
        this.#end = { identity: item.base, pages: item.basePages };
        this.blocksKnown = true;
      }
    }
  }

  async finish(): Promise<BaseEnd> {
    while (!this.ended) {
      this.queue.clear();
      await this.pull();
    }
    this.queue.clear();
    if (this.#end === null) throw badSignature(`the page signature ${this.#label} has no END`);
    if (this.#end.pages !== this.queue.ordinal) throw badSignature(`the page signature ${this.#label} lists ${this.queue.ordinal} pages, but its END says ${this.#end.pages}`);
    return this.#end;
  }

  abort(): void {
    this.#child.kill('SIGKILL');
  }
}
