// Two images walked in step: NEW is walked as it comes, and each of its page records is looked
// up in BASE at the same RAM block and address (BASE read only as far as that), so that the
// caller sees NEW's records in order, each beside BASE's record there, if BASE has one in step.
// Records are gathered while the walker reads a chunk and handed over before the next chunk is
// read in, while the views on both sides are intact. Shared by delta and diff.
import type { RamBlockSummary } from '../codec/qemu/walker.js';
import { type BasePages, seekPage } from './base-pages.js';
import type { FdSource } from '../io/fd-source.js';
import { type ImageWalk, walkImage, type WalkImageOptions } from './walk-image.js';

/** A page record of NEW, as the walker reported it (a view, valid while it is handed over). */
export interface PageRecord {
  block: RamBlockSummary;
  address: number;
  /** The page, or null for a zero page (or a mapped-ram page the bitmap leaves out). */
  data: Buffer | null;
  fill: number;
  /** Where the record starts (absolute, as the walker counts), and its bytes before the body. */
  at: number;
  headerBytes: number;
}

export interface InStepOptions extends Omit<WalkImageOptions, 'onPage' | 'onStreamChunk'> {
  /**
   * Each record of NEW in stream order; `inBase` says whether BASE's next record in step is at
   * the same block and address (base.queue's head is then that record: shift() to take it).
   */
  onRecord: (record: PageRecord, inBase: boolean) => void;
  /** After the records of the chunk before are handed over, before `chunk` is walked. */
  beforeChunk?: (chunk: Buffer) => void | Promise<void>;
}

export async function walkInStep(source: FdSource, base: BasePages, options: InStepOptions): Promise<ImageWalk> {
  const { onRecord, beforeChunk, ...walkOptions } = options;
  const records: PageRecord[] = [];
  let count = 0;

  /** Where BASE is at the record: answered without a promise while BASE's queue reaches it. */
  const locate = (record: PageRecord): boolean | Promise<boolean> => {
    const queue = base.queue;
    const rank = base.rankOf(record.block.name);
    if (rank !== undefined && queue.skipBefore(rank, record.address)) return queue.rank === rank && queue.address === record.address;
    if (rank === undefined && base.blocksKnown) return false;
    return seekPage(base, record.block.name, record.address);
  };
  const handOver = async () => {
    for (let i = 0; i < count; i++) {
      const record = records[i]!;
      const found = locate(record);
      onRecord(record, found === true || (found !== false && (await found)));
    }
    count = 0;
  };

  const walk = await walkImage(source, {
    ...walkOptions,
    onPage(block, address, data, fill, at, headerBytes) {
      const record = records[count] ?? (records[count] = { block, address, data, fill, at, headerBytes });
      record.block = block;
      record.address = address;
      record.data = data;
      record.fill = fill;
      record.at = at;
      record.headerBytes = headerBytes;
      count++;
    },
    onStreamChunk: async (chunk) => {
      await handOver();
      await beforeChunk?.(chunk);
    },
  });
  await handOver();
  return walk;
}
