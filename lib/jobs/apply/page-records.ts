// The CONTINUE records a rebuilt stream is made of (jobs/apply/): their 8-byte heads, and runs
// of BASE's records that already lie as NEW would write them, copied as one span.
import type { PageQueue } from '../../codec/delta/page-queue.js';
import { RAM_FLAG } from '../../codec/qemu/records.js';

export const RECORD_HEAD_BYTES = 8;
const CONTINUED_PAGE = RAM_FLAG.PAGE | RAM_FLAG.CONTINUE;

export interface RecordRun {
  /** The records' bytes, as they lie in BASE's chunk. */
  bytes: Buffer;
  records: number;
}

/**
 * BASE's data-page records from the queue's head on (at most `max`) that lie back to back in
 * one chunk, each under the CONTINUE head NEW's record would have: NEW's records are those very
 * bytes, copied as one span. A record per call cost more than its 4 KiB copy (the 4 GiB pair:
 * see bench/RESULTS.md). Null when the head's record is not such a one.
 */
export function recordRun(queue: PageQueue, max: number): RecordRun | null {
  const first = queue.bodyAt(0);
  if (first === null || first.byteOffset < RECORD_HEAD_BYTES) return null;
  const chunk = Buffer.from(first.buffer, first.byteOffset - RECORD_HEAD_BYTES, first.buffer.byteLength - first.byteOffset + RECORD_HEAD_BYTES);
  let end = 0;
  let records = 0;
  for (const limit = Math.min(max, queue.length); records < limit; records++) {
    const body = records === 0 ? first : queue.bodyAt(records);
    const address = queue.addressAt(records);
    // The body follows the previous record in the same memory, under the head NEW would write.
    if (body === null || body.buffer !== first.buffer || body.byteOffset - first.byteOffset !== end) break;
    if (chunk.readUInt32BE(end) !== Math.floor(address / 2 ** 32) || chunk.readUInt32BE(end + 4) !== (address % 2 ** 32) + CONTINUED_PAGE) break;
    end += RECORD_HEAD_BYTES + body.length;
  }
  return records === 0 ? null : { bytes: chunk.subarray(0, end), records };
}

/** The 8-byte head of a CONTINUE record of a data page or a zero page, big-endian as QEMU writes it. */
export function writeRecordHead(target: Buffer, at: number, address: number, zero: boolean): void {
  const flags = (zero ? RAM_FLAG.ZERO : RAM_FLAG.PAGE) | RAM_FLAG.CONTINUE;
  target.writeUInt32BE(Math.floor(address / 2 ** 32), at);
  target.writeUInt32BE((address % 2 ** 32) + flags, at + 4);
}
