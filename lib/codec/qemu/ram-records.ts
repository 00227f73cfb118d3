// RAM section records (migration/ram.c ram_load_precopy): the MEM_SIZE preamble with its block
// list and mapped-ram headers, the general record path that words every error, and the fast
// path that steps over whole CONTINUE pages of a chunk without a generator step per record. Pure.
import { MAPPED_RAM_HEADER_BYTES, RAM_FLAG, RAM_FLAG_MASK } from './records.js';
import { MAX_BITMAP_BYTES, type RamBlockSummary, type Request, type SectionSummary, type WalkState } from './walk-state.js';

/** RAM records up to and including EOS (migration/ram.c ram_load_precopy). */
export function* ramPayload(s: WalkState, section: SectionSummary, pageSize: number, mappedRam: boolean): Generator<Request, void, Buffer> {
  const scan = { scan: (view: Buffer) => scanContinuedPages(s, section, pageSize, view) };
  for (;;) {
    yield scan; // whole CONTINUE pages in the chunk at hand, without a yield per record
    const at = s.absolute();
    const header = yield { take: 8 };
    section.bytes += 8;
    const value = header.readBigUInt64BE(0);
    const flags = Number(value & BigInt(RAM_FLAG_MASK));
    const address = Number(value - BigInt(flags));
    const type = flags & ~RAM_FLAG.CONTINUE;
    if (type === RAM_FLAG.EOS) return;
    if (type === RAM_FLAG.MULTIFD_FLUSH) continue;
    if (type === RAM_FLAG.MEM_SIZE) {
      yield* memSizePreamble(s, section, address, pageSize, mappedRam);
      continue;
    }
    if (type !== RAM_FLAG.ZERO && type !== RAM_FLAG.PAGE && type !== RAM_FLAG.XBZRLE && type !== RAM_FLAG.COMPRESS_PAGE) {
      throw s.bad(`RAM record with flags 0x${flags.toString(16)}: not one record type`, at);
    }
    let headerBytes = 8;
    if (flags & RAM_FLAG.CONTINUE) {
      if (!s.currentBlock) throw s.bad('RAM record continues a block, but no block was named before', at);
    } else {
      const length = (yield { take: 1 })[0]!;
      const name = (yield { take: length }).toString('latin1');
      section.bytes += 1 + length;
      headerBytes += 1 + length;
      const block = s.blocks.get(name);
      if (!block) throw s.bad(`RAM record names block ${JSON.stringify(name)}, which the MEM_SIZE list does not hold`, at);
      s.currentBlock = block;
    }
    const block = s.currentBlock!;
    if (address >= block.length) throw s.bad(`RAM page at 0x${address.toString(16)} lies past the end of block ${block.name} (${block.length} bytes)`, at);
    if (type === RAM_FLAG.ZERO) {
      const fill = (yield { take: 1 })[0]!;
      section.bytes += 1;
      block.zeroPages++;
      s.onPage?.(block, address, null, fill, at, headerBytes);
    } else if (type === RAM_FLAG.PAGE) {
      if (s.onPage) s.onPage(block, address, yield { take: pageSize }, 0, at, headerBytes);
      else yield { skip: pageSize };
      section.bytes += pageSize;
      block.dataPages++;
    } else if (s.onPage) {
      throw s.bad(`a ${type === RAM_FLAG.XBZRLE ? 'XBZRLE' : 'COMPRESS_PAGE'} record: savekit counts these pages but cannot rebuild them`, at);
    } else if (type === RAM_FLAG.XBZRLE) {
      // A delta against the page's previous content: counted, not applied.
      const encoded = yield { take: 3 };
      yield { skip: encoded.readUInt16BE(1) };
      section.bytes += 3 + encoded.readUInt16BE(1);
      block.dataPages++;
    } else {
      const length = (yield { take: 4 }).readUInt32BE(0);
      yield { skip: length };
      section.bytes += 4 + length;
      block.dataPages++;
    }
  }
}

/**
 * The RAM fast path: consumes the CONTINUE PAGE and CONTINUE ZERO records that lie whole at the
 * start of `view` (a saved guest is almost only these, at a 4104- or 9-byte stride) and returns
 * the bytes consumed. Anything else, or a record cut by the chunk's end, is left to the
 * general path, which also words the errors.
 */
function scanContinuedPages(s: WalkState, section: SectionSummary, pageSize: number, view: Buffer): number {
  const block = s.currentBlock;
  if (block === null) return 0;
  const continuedPage = RAM_FLAG.PAGE | RAM_FLAG.CONTINUE;
  const continuedZero = RAM_FLAG.ZERO | RAM_FLAG.CONTINUE;
  const onPage = s.onPage;
  const base = s.absolute();
  let at = 0;
  while (at + 9 <= view.length) {
    const low = view.readUInt32BE(at + 4);
    const flags = low & RAM_FLAG_MASK;
    const address = view.readUInt32BE(at) * 2 ** 32 + (low - flags);
    if (address >= block.length) break;
    if (flags === continuedPage) {
      if (at + 8 + pageSize > view.length) break;
      onPage?.(block, address, view.subarray(at + 8, at + 8 + pageSize), 0, base + at, 8);
      block.dataPages++;
      at += 8 + pageSize;
    } else if (flags === continuedZero) {
      onPage?.(block, address, null, view[at + 8]!, base + at, 8);
      block.zeroPages++;
      at += 9;
    } else {
      break;
    }
  }
  section.bytes += at;
  return at;
}

/** The block list of the first RAM record: name, used length, [mapped-ram header] until the total. */
function* memSizePreamble(s: WalkState, section: SectionSummary, total: number, pageSize: number, mappedRam: boolean): Generator<Request, void, Buffer> {
  s.memSize = total;
  let sum = 0;
  while (sum < total) {
    const nameLength = (yield { take: 1 })[0]!;
    const name = (yield { take: nameLength }).toString('latin1');
    const length = Number((yield { take: 8 }).readBigUInt64BE(0));
    section.bytes += 1 + nameLength + 8;
    const block: RamBlockSummary = { name, length, pageSize, pages: Math.ceil(length / pageSize), zeroPages: 0, dataPages: 0 };
    s.blocks.set(name, block);
    sum += length;
    if (!mappedRam) {
      s.onRamBlock?.(s.summary());
    } else {
      const header = yield { take: MAPPED_RAM_HEADER_BYTES };
      const pagesOffset = Number(header.readBigUInt64BE(20));
      const bitmapOffset = Number(header.readBigUInt64BE(12));
      block.mappedRam = { bitmapOffset, pagesOffset, pageSize: Number(header.readBigUInt64BE(4)) };
      section.bytes += MAPPED_RAM_HEADER_BYTES;
      s.onRamBlock?.(s.summary());
      if (pagesOffset === 0) continue; // a block shared through x-ignore-shared: nothing in the file
      // The bitmap (one bit a page, set: data in the page area) follows the header, as QEMU
      // writes it; then the page area. Offsets are absolute in the file.
      let bitmap: Buffer | null = null;
      if (bitmapOffset === s.absolute()) {
        const bitmapBytes = Math.ceil(block.pages / 64) * 8;
        if (bitmapBytes > MAX_BITMAP_BYTES) throw s.bad(`a mapped-ram bitmap of ${bitmapBytes} bytes for block ${name}`);
        bitmap = yield { take: bitmapBytes };
        const present = countBits(bitmap, block.pages);
        block.dataPages = present;
        block.zeroPages = block.pages - present;
      }
      if (s.onPage) yield* mappedPages(s, block, pagesOffset, bitmap === null ? null : Buffer.from(bitmap));
      else yield { skip: Math.max(0, pagesOffset + length - s.absolute()) };
    }
  }
  if (sum !== total) throw s.bad(`the RAM blocks add up to ${sum} bytes, but MEM_SIZE says ${total}`);
  s.onMemSize?.(s.summary());
}

const ABSENT_BATCH_PAGES = 256;

/**
 * A mapped-ram page area read in file order, for onPage: each page the bitmap holds as data,
 * each other page as a zero page, its bytes skipped (a file seeks over long runs of them; a
 * pipe reads its holes as zeros). Without a bitmap in place every page is read.
 */
function* mappedPages(s: WalkState, block: RamBlockSummary, pagesOffset: number, bitmap: Buffer | null): Generator<Request, void, Buffer> {
  const { pageSize, pages, length } = block;
  if (pagesOffset < s.absolute()) throw s.bad(`block ${block.name}'s page area starts at offset ${pagesOffset}, before the bytes already read: one pass cannot reach it`);
  if (length % pageSize !== 0) throw s.bad(`block ${block.name} is ${length} bytes: not whole ${pageSize}-byte pages, as a mapped-ram block must be`);
  yield { skip: pagesOffset - s.absolute() };
  const onPage = s.onPage!;
  const areaAt = pagesOffset;
  const stored = (page: number) => bitmap === null || (bitmap[page >> 3]! & (1 << (page & 7))) !== 0;
  let page = 0;
  // Whole stored pages of the chunk at hand, without a generator step per page.
  const scan = {
    scan: (view: Buffer) => {
      let at = 0;
      for (; page < pages && at + pageSize <= view.length && stored(page); page++, at += pageSize) onPage(block, page * pageSize, view.subarray(at, at + pageSize), 0, areaAt + page * pageSize, 0);
      return at;
    },
  };
  while (page < pages) {
    if (!stored(page)) {
      const first = page;
      // In batches, so that a writer fed from onPage catches up between them (a hole may be GiBs).
      for (; page < pages && page - first < ABSENT_BATCH_PAGES && !stored(page); page++) onPage(block, page * pageSize, null, 0, areaAt + page * pageSize, 0);
      yield { skip: (page - first) * pageSize };
      continue;
    }
    yield scan;
    if (page < pages && stored(page)) {
      const data = yield { take: pageSize }; // a page across two chunks
      onPage(block, page * pageSize, data, 0, areaAt + page * pageSize, 0);
      page++;
    }
  }
}

/** Set bits among the first `count` of a little-endian bitmap of 64-bit words (x86-64 writers). */
function countBits(bitmap: Buffer, count: number): number {
  let bits = 0;
  for (let i = 0; i < count; i++) if (bitmap[i >> 3]! & (1 << (i & 7))) bits++;
  return bits;
}
