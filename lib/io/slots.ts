// Shared memory between the reading thread and the hashing worker (ParallelHasher): a ring of
// page-aligned chunk slots in one SharedArrayBuffer, and an Int32Array of slot states and
// lengths. A slot is FREE (the reader may fill it) or FULL (the worker may hash it).
import { nativeAddon } from '../native.js';
import { pageGap } from './fd-io.js';

export const FREE = 0;
export const FULL = 1;
export const FAILED = 2;
export const END_OF_INPUT = -1;

export interface HashWorkerData {
  memory: SharedArrayBuffer;
  control: SharedArrayBuffer;
  slotCount: number;
  slotBytes: number;
  /** The addon is in use in the reading thread: the worker uses it too, or not. */
  native: boolean;
  /** Where the first slot starts in `memory`: its first 4 KiB boundary, so file reads land page on page. */
  firstSlot: number;
}

const PAGE = 4096;

export function createSlots(slotCount: number, slotBytes: number): HashWorkerData {
  const memory = new SharedArrayBuffer(slotCount * slotBytes + PAGE);
  return {
    native: nativeAddon() !== null,
    memory,
    control: new SharedArrayBuffer(8 * slotCount),
    slotCount,
    slotBytes,
    firstSlot: pageGap(new Uint8Array(memory)),
  };
}

/** The index in `control` of a slot's length (its state is at the slot's own index). */
export function slotLengthIndex(data: HashWorkerData, slot: number): number {
  return data.slotCount + slot;
}

/** A view of `length` bytes of a slot. */
export function slotView(data: HashWorkerData, slot: number, length: number): Uint8Array {
  return new Uint8Array(data.memory, data.firstSlot + slot * data.slotBytes, length);
}
