// Sequential or sparse to sparse (mapped-ram) (jobs/convert/): pages go to their offsets in a
// MappedRamWriter, from a one-pass walk (the input may be a pipe) or copied from another
// mapped-ram file whose new prologue moved every absolute offset.
import { convertDescription, encodeStreamTail, layoutMappedRam, MAPPED_RAM_CAPABILITY } from '../../codec/qemu/stream-writer.js';
import { SaveImageError } from '../../errors.js';
import { readFully } from '../../io/fd-io.js';
import { assertNotInterrupted } from '../../io/interrupt.js';
import { type ImageWalk, walkImage } from '../walk-image.js';
import { isStored, isZero, readOptions, readStoredBitmap, type Run, type StoredHook } from './conversion.js';
import { MappedRamWriter } from './mapped-ram-writer.js';
import { deviceCollector, modelOf } from './stream-model.js';

/** Sequential to sparse, in one pass (the input may be a pipe): pages go to their offsets as they come. */
export async function sequentialToSparse(params: Run, outFd: number, streamOffset: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const collector = deviceCollector();
  let writer: MappedRamWriter | null = null;
  try {
    const walk = await walkImage(params.source, {
      ...readOptions(params),
      onPrologue,
      onDeviceSection: collector.onDeviceSection,
      onMemSize(summary) {
        const model = modelOf({ ...summary, opaqueFrom: null }, []);
        writer = new MappedRamWriter(outFd, layoutMappedRam(model, streamOffset), streamOffset);
      },
      onStreamChunk: () => (writer as MappedRamWriter | null)?.pace(),
      onPage(block, address, data, fill) {
        if (writer === null) throw new SaveImageError('ERR_BAD_STREAM', 'a RAM page before the RAM block list');
        writer.page(block.name, address, data !== null ? (isZero(data) ? null : data) : fill === 0 ? null : Buffer.alloc(block.pageSize, fill));
      },
    });
    const model = modelOf(walk.summary, collector.devices);
    if (writer === null) throw new SaveImageError('ERR_BAD_STREAM', 'the QEMU stream has no RAM block list');
    const capabilities = [...model.capabilities, MAPPED_RAM_CAPABILITY];
    await (writer as MappedRamWriter).finish(model, encodeStreamTail(model, convertDescription(model.description, capabilities)));
    return walk;
  } catch (error) {
    await (writer as MappedRamWriter | null)?.settle(); // nothing may land once the descriptor closes
    throw error;
  }
}

/** Sparse to sparse (a new prologue moves every absolute offset): the model, then the pages copied. */
export async function sparseToSparse(params: Run, outFd: number, streamOffset: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const collector = deviceCollector();
  const walk = await walkImage(params.source, { ...readOptions(params), onPrologue, onDeviceSection: collector.onDeviceSection });
  const model = modelOf(walk.summary, collector.devices);
  const writer = new MappedRamWriter(outFd, layoutMappedRam(model, streamOffset), streamOffset);
  try {
    const fd = params.source.fd;
    const page = Buffer.allocUnsafe(65536);
    for (const block of walk.summary.ramBlocks) {
      const bitmap = readStoredBitmap(fd, block);
      const mapped = block.mappedRam!;
      for (let i = 0; i < block.pages; i++) {
        if (!isStored(bitmap, i)) continue;
        const view = page.subarray(0, mapped.pageSize);
        readFully(fd, view, 0, mapped.pageSize, mapped.pagesOffset + i * mapped.pageSize);
        writer.page(block.name, i * mapped.pageSize, isZero(view) ? null : view);
        await writer.pace();
        assertNotInterrupted();
      }
    }
    await writer.finish(model, encodeStreamTail(model, convertDescription(model.description, model.capabilities)));
  } catch (error) {
    await writer.settle();
    throw error;
  }
  return walk;
}
