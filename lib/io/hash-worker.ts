// The hashing side of ParallelHasher, in a worker thread: it hashes the shared slots in the
// order the reader fills them and frees each one when done. Runs as a worker entry only; no
// top-level await, so that the one-file executable can run it bundled as a script.
import { parentPort, workerData } from 'node:worker_threads';
import { createXxh64 } from '../hash.js';
import { useNativeAddon } from '../native.js';
import { END_OF_INPUT, FAILED, FREE, type HashWorkerData, slotLengthIndex, slotView } from './slots.js';

const data = workerData as HashWorkerData;
const control = new Int32Array(data.control);
if (!data.native) useNativeAddon(false);
void hashSlots();

async function hashSlots(): Promise<void> {
  try {
    const hasher = await createXxh64();
    for (let slot = 0; ; slot = (slot + 1) % data.slotCount) {
      Atomics.wait(control, slot, FREE);
      const length = Atomics.load(control, slotLengthIndex(data, slot));
      if (length === END_OF_INPUT) {
        parentPort!.postMessage(hasher.digestHex());
        break;
      }
      hasher.update(slotView(data, slot, length));
      Atomics.store(control, slot, FREE);
      Atomics.notify(control, slot);
    }
  } catch (error) {
    for (let slot = 0; slot < data.slotCount; slot++) {
      Atomics.store(control, slot, FAILED);
      Atomics.notify(control, slot);
    }
    parentPort!.postMessage({ error: String(error) });
  }
}
