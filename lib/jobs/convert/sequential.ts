// Sequential to sequential (jobs/convert/): the decompressed QEMU stream goes through byte for
// byte into the new compressor, walked to its end on the way.
import { createPayloadSink } from '../../io/compressors.js';
import { type ImageWalk, walkImage } from '../walk-image.js';
import { assertWalkable, readOptions, type Run, type StoredHook } from './conversion.js';

/** Sequential to sequential: the decompressed stream, walked to its end, into the new compressor. */
export async function carrySequential(params: Run, outFd: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const sink = await createPayloadSink(params.format, outFd, params);
  try {
    // onPage (doing nothing) makes the walker refuse records it cannot rebuild (XBZRLE,
    // compressed pages): a virsh save never writes them, and a converted image must restore.
    const walk = await walkImage(params.source, { ...readOptions(params), onPrologue, onStreamChunk: (chunk) => sink.write(chunk), onPage: () => undefined });
    assertWalkable(walk.summary);
    await sink.end();
    return walk;
  } catch (error) {
    sink.abort();
    throw error;
  }
}
