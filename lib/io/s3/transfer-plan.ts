// What the transfer thread and the main thread say to each other, and how big an upload's parts
// are: S3 allows 10,000 parts of 5 MiB to 5 GiB (the last one smaller), so the part size is
// chosen from the size expected, and grows as the parts go by when none was known.
import type { ErrorCode } from '../../errors.js';

export type TransferMessage =
  | { type: 'done'; bytes: number; etag: string; stopped?: boolean }
  | { type: 'aborted' }
  | { type: 'error'; code: ErrorCode; message: string; offset?: number; leftBehind?: boolean };

/** The job's word on an upload: complete it (only over the object with ETag `ifMatch`, when given), or abort it. */
export type TransferVerdict = { type: 'commit'; ifMatch?: string } | { type: 'abort' };

const MIB = 1024 * 1024;
/** The smallest part savekit uploads: 8 MiB (parts in flight x this is the memory an upload takes). */
export const MIN_PART_BYTES = 8 * MIB;
/** S3's largest part, and its part count. */
export const MAX_PART_BYTES = 5 * 1024 * MIB;
export const MAX_PARTS = 10_000;
/** Without a size to go by, parts double every this many: 1,000 x (8 MiB ... 4 GiB) holds 7.8 TiB. */
const PARTS_PER_DOUBLING = 1000;

/**
 * The size of part `partNumber` (from 1). With `expected` bytes known, one size for all parts
 * that fits 5% more than that in 10,000 parts (compressed outputs may outgrow their input a
 * little); without it, 8 MiB doubling every 1,000 parts.
 */
export function partBytesFor(partNumber: number, expected: number | null): number {
  const base = expected === null ? MIN_PART_BYTES : Math.max(MIN_PART_BYTES, Math.ceil((expected * 1.05) / MAX_PARTS / MIB) * MIB);
  const doublings = expected === null ? Math.floor((partNumber - 1) / PARTS_PER_DOUBLING) : 0;
  return Math.min(MAX_PART_BYTES, base * 2 ** doublings);
}
