// What every conversion path is given and shares (jobs/convert/): the parameters with the
// prologue already read, the hook that sees the stored payload's bytes, and the checks a
// walked stream must pass before it is carried or re-encoded.
import type { FormatName } from '../../constants.js';
import type { SaveImagePrologue } from '../../codec/prologue.js';
import type { RamBlockSummary, WalkSummary } from '../../codec/qemu/walker.js';
import { SaveImageError } from '../../errors.js';
import type { CompressOptions } from '../../io/compressors.js';
import { readFully } from '../../io/fd-io.js';
import type { RewriteParams } from '../rewrite.js';

/** As rewrite takes them (source, output, plan, seal, progress), plus the format to write. */
export interface ConvertParams extends CompressOptions, Pick<RewriteParams, 'source' | 'openOutput' | 'readOptions' | 'plan' | 'seal' | 'onStart' | 'onProgress'> {
  /** The payload format to write. */
  format: FormatName;
  /** Where a sparse image read from a pipe is kept while it is converted (default: the temporary folder). */
  spoolFolder?: string;
}

/** The parameters and the prologue already read. */
export type Run = ConvertParams & { before: SaveImagePrologue };

/** Called once the prologue is read: a hook for each stored payload chunk (the input's seal, progress), or null to skip holes. */
export type StoredHook = () => ((chunk: Buffer) => void) | null;

/** The walk continues after the prologue convertImage read. */
export function readOptions(params: Run): { prologue: SaveImagePrologue } {
  return { prologue: params.before };
}

/** A stream that did not walk to its EOF byte cannot be re-encoded, nor carried. */
export function assertWalkable(summary: WalkSummary): void {
  if (summary.opaqueFrom !== null) {
    throw new SaveImageError('ERR_BAD_STREAM', `the QEMU stream cannot be walked past offset ${summary.opaqueFrom} (no description sizes its device sections and no footers delimit them): it cannot be converted`, {
      offset: summary.opaqueFrom,
    });
  }
}

const ZERO_PAGE = Buffer.alloc(65536);

/** A page of zeros (written as a ZERO record, or left as a hole). */
export function isZero(page: Buffer): boolean {
  return page.equals(ZERO_PAGE.subarray(0, page.length));
}

/** A mapped-ram block's bitmap of stored pages (one bit a page, in 64-bit words), read from the image. */
export function readStoredBitmap(fd: number, block: RamBlockSummary): Buffer {
  const { mappedRam } = block;
  if (!mappedRam) throw new SaveImageError('ERR_BAD_STREAM', `RAM block ${block.name} has no mapped-ram header`);
  const position = mappedRam.bitmapOffset;
  const length = Math.ceil(block.pages / 64) * 8;
  const buffer = Buffer.alloc(length);
  if (readFully(fd, buffer, 0, length, position) < length) throw new SaveImageError('ERR_TRUNCATED', `the image ends before offset ${position + length}, inside a mapped-ram bitmap`, { offset: position });
  return buffer;
}

/** Whether `page` is stored, by the bitmap readStoredBitmap read. */
export function isStored(bitmap: Buffer, page: number): boolean {
  return (bitmap[page >> 3]! & (1 << (page & 7))) !== 0;
}
