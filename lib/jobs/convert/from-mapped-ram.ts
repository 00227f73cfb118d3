// Sparse (mapped-ram) to sequential (jobs/convert/): the model from a walk of the file, then
// every page from its bitmap, in ascending order, as QEMU's sequential RAM section holds them.
import {
  convertDescription,
  encodePageRecordInto,
  encodeRamPartHeader,
  encodeSequentialRamEnd,
  encodeSequentialRamStart,
  encodeStreamHead,
  encodeStreamTail,
  MAPPED_RAM_CAPABILITY,
} from '../../codec/qemu/stream-writer.js';
import type { RamBlockSummary } from '../../codec/qemu/walker.js';
import { createPayloadSink, type PayloadSink } from '../../io/compressors.js';
import { readFully } from '../../io/fd-io.js';
import { assertNotInterrupted } from '../../io/interrupt.js';
import { type ImageWalk, walkImage } from '../walk-image.js';
import { isStored, isZero, readOptions, readStoredBitmap, type Run, type StoredHook } from './conversion.js';
import { deviceCollector, modelOf } from './stream-model.js';

const PAGE_RUN_BYTES = 1024 * 1024;

/** Sparse to sequential: the model from a walk of the file, then every page from its bitmap. */
export async function sparseToSequential(params: Run, outFd: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const collector = deviceCollector();
  const walk = await walkImage(params.source, { ...readOptions(params), onPrologue, onDeviceSection: collector.onDeviceSection });
  const model = modelOf(walk.summary, collector.devices);
  const capabilities = model.capabilities.filter((cap) => cap !== MAPPED_RAM_CAPABILITY);
  const sink = await createPayloadSink(params.format, outFd, params);
  try {
    await sink.write(Buffer.concat([encodeStreamHead(model, capabilities), encodeSequentialRamStart(model), encodeRamPartHeader(model)]));
    await writeSequentialPages(params.source.fd, walk.summary.ramBlocks, sink);
    await sink.write(Buffer.concat([encodeSequentialRamEnd(model), encodeStreamTail(model, convertDescription(model.description, capabilities))]));
    await sink.end();
  } catch (error) {
    sink.abort();
    throw error;
  }
  return walk;
}

/** Every page of every block, ascending: PAGE records for stored non-zero pages, ZERO for the rest. */
async function writeSequentialPages(fd: number, blocks: RamBlockSummary[], sink: PayloadSink): Promise<void> {
  const out = Buffer.allocUnsafe(PAGE_RUN_BYTES + 65536 * 2);
  const run = Buffer.allocUnsafe(PAGE_RUN_BYTES);
  let used = 0;
  let named = false;
  for (const block of blocks) {
    const bitmap = readStoredBitmap(fd, block);
    const mappedRam = block.mappedRam!;
    const pageSize = mappedRam.pageSize;
    const runPages = Math.max(1, Math.floor(PAGE_RUN_BYTES / pageSize));
    let firstRecord = true;
    for (let page = 0; page < block.pages; ) {
      // Read the stored pages of the next run in one positioned read.
      const count = Math.min(runPages, block.pages - page);
      const anyStored = hasBits(bitmap, page, count);
      if (anyStored) readFully(fd, run, 0, count * pageSize, mappedRam.pagesOffset + page * pageSize);
      for (let i = 0; i < count; i++, page++) {
        const stored = anyStored && isStored(bitmap, page);
        const body = stored ? run.subarray(i * pageSize, (i + 1) * pageSize) : null;
        if (used + 65536 + pageSize > out.length) {
          await sink.write(out.subarray(0, used));
          used = 0;
          assertNotInterrupted();
        }
        const name = firstRecord || !named ? block.name : null;
        used += encodePageRecordInto(out, used, name, page * pageSize, body !== null && !isZero(body) ? body : null);
        firstRecord = false;
        named = true;
      }
    }
  }
  if (used > 0) await sink.write(out.subarray(0, used));
}

function hasBits(bitmap: Buffer, first: number, count: number): boolean {
  for (let i = first; i < first + count; i++) if (isStored(bitmap, i)) return true;
  return false;
}
