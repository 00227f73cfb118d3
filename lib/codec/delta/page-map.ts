// What changed in one RAM block between two images, page by page, in flat memory: counts per
// kind of change, the ranges of pages that changed (merged as they come), and a grid of cells
// (each a run of pages) for a picture of where the guest wrote. Pure.

export type PageChange = 'equal' | 'changed' | 'zeroToData' | 'dataToZero' | 'unpaired';

export interface PageRange {
  /** Byte offset in the block of the first page, and the pages in the range. */
  offset: number;
  pages: number;
}

/** Cells in a block's picture, at most. */
export const MAP_CELLS = 64 * 16;

export class BlockChanges {
  readonly name: string;
  readonly pageSize: number;
  readonly counts: Record<PageChange, number> = { equal: 0, changed: 0, zeroToData: 0, dataToZero: 0, unpaired: 0 };
  readonly ranges: PageRange[] = [];
  /** Pages per cell, and per cell the pages seen and the pages that differ. */
  readonly pagesPerCell: number;
  readonly seen: Uint32Array;
  readonly differ: Uint32Array;

  constructor(name: string, length: number, pageSize: number) {
    this.name = name;
    this.pageSize = pageSize;
    const pages = Math.max(1, Math.ceil(length / pageSize));
    this.pagesPerCell = Math.ceil(pages / MAP_CELLS);
    const cells = Math.ceil(pages / this.pagesPerCell);
    this.seen = new Uint32Array(cells);
    this.differ = new Uint32Array(cells);
  }

  add(address: number, change: PageChange): void {
    this.counts[change]++;
    const page = Math.floor(address / this.pageSize);
    const cell = Math.min(this.seen.length - 1, Math.floor(page / this.pagesPerCell));
    this.seen[cell]!++;
    if (change === 'equal') return;
    this.differ[cell]!++;
    const last = this.ranges[this.ranges.length - 1];
    if (last && last.offset + last.pages * this.pageSize === address) last.pages++;
    else this.ranges.push({ offset: address, pages: 1 });
  }

  get pages(): number {
    return Object.values(this.counts).reduce((sum, n) => sum + n, 0);
  }
}

/**
 * The picture of a block, rows of 64 cells: ' ' no page seen, '.' none changed, ':' under a
 * quarter, '+' under three quarters, '#' the rest.
 */
export function drawBlock(block: BlockChanges, columns = 64): string[] {
  const rows: string[] = [];
  for (let first = 0; first < block.seen.length; first += columns) {
    let row = '';
    for (let cell = first; cell < Math.min(first + columns, block.seen.length); cell++) {
      const seen = block.seen[cell]!;
      const share = seen === 0 ? -1 : block.differ[cell]! / seen;
      row += share < 0 ? ' ' : share === 0 ? '.' : share < 0.25 ? ':' : share < 0.75 ? '+' : '#';
    }
    rows.push(row);
  }
  return rows;
}
