// A mapped-ram (sparse) file being written (jobs/convert/): preambles, each page at its own
// offset (zero pages left as holes), then the bitmaps and the stream's tail, with writeback
// overlapped so the final fsync finds little left to do.
import { ftruncateSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { encodeMappedRamEnd, type MappedRamLayout, type StreamModel } from '../../codec/qemu/stream-writer.js';
import { SaveImageError } from '../../errors.js';
import { writeAll } from '../../io/fd-io.js';
import { Writeback, WRITEBACK_EVERY_BYTES } from '../../io/pump.js';
import { PageWriter } from '../page-writer.js';

/** A mapped-ram file being written: preambles, pages in place (zero pages left as holes), bitmaps, tail. */
export class MappedRamWriter {
  readonly #fd: number;
  readonly #layout: MappedRamLayout;
  readonly #areas: Map<string, number>;
  readonly #pages: PageWriter;
  /** Writeback overlapped with the conversion: the final fsync then finds little left to do. */
  readonly #writeback: Writeback;
  #sinceWriteback = 0;

  constructor(fd: number, layout: MappedRamLayout, streamOffset: number) {
    this.#fd = fd;
    this.#layout = layout;
    this.#areas = new Map(layout.blocks.map((block, index) => [block.name, index]));
    this.#pages = new PageWriter(fd, 'the output');
    this.#writeback = new Writeback(fd);
    writeAll(fd, layout.head, streamOffset);
    for (const block of layout.blocks) writeAll(fd, block.preamble, block.preambleOffset);
  }

  /** A page's bytes, or null for a zero page (a hole; a page written before is zeroed). */
  page(blockName: string, address: number, data: Buffer | null): void {
    const area = this.#areas.get(blockName);
    if (area === undefined) throw new SaveImageError('ERR_BAD_STREAM', `a page of block ${blockName}, which the MEM_SIZE list does not hold`);
    const pageSize = data?.length ?? 4096;
    this.#pages.page(area, Math.floor(address / pageSize), this.#layout.blocks[area]!.pagesOffset + address, data);
  }

  /** Between chunks: keeps the writes queued few, and starts an fdatasync every 128 MiB. */
  async pace(): Promise<void> {
    await this.#pages.pace();
    if (this.#pages.bytes - this.#sinceWriteback < WRITEBACK_EVERY_BYTES) return;
    this.#sinceWriteback = this.#pages.bytes;
    await nextTurn(); // lets the previous fdatasync report back
    this.#writeback.start();
  }

  /** Waits for every write (on failure too: nothing may land once the descriptor closes). */
  async settle(): Promise<void> {
    await this.#pages.settle();
    await this.#writeback.settle();
  }

  /** Bitmaps, the RAM section's end, the device tail; the file ends with the description. */
  async finish(model: StreamModel, tail: Buffer): Promise<void> {
    await this.#pages.finish();
    await this.#writeback.settle();
    this.#writeback.rethrow();
    this.#layout.blocks.forEach((block, area) => writeAll(this.#fd, this.#pages.bitmapOf(area, block.bitmapBytes), block.bitmapOffset));
    const end = Buffer.concat([encodeMappedRamEnd(model), tail]);
    writeAll(this.#fd, end, this.#layout.tailOffset);
    ftruncateSync(this.#fd, this.#layout.tailOffset + end.length);
  }
}
