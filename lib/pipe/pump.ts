// The payload loop shared by rewrite, hash and verify: every chunk goes, by reference, to the
// hasher (when there is one) and to the output (when there is one). No copy, no allocation per
// chunk; the loop is synchronous, so nothing else competes with it for the event loop.
import type { Xxh64 } from '../hash.js';
import { writeAll } from './fd-io.js';
import type { FdSource } from './fd-source.js';

export interface PumpTargets {
  hasher?: Xxh64 | null;
  outputFd?: number | null;
  /** Called after each chunk with the payload bytes moved so far. */
  onProgress?: ((bytes: number) => void) | null;
}

/** Moves the rest of `source` to the targets; returns the payload byte count. */
export function pumpPayload(source: FdSource, targets: PumpTargets): number {
  const { hasher, outputFd, onProgress } = targets;
  let moved = 0;
  for (let chunk = source.next(); chunk !== null; chunk = source.next()) {
    hasher?.update(chunk);
    if (outputFd !== undefined && outputFd !== null) writeAll(outputFd, chunk, null);
    moved += chunk.length;
    onProgress?.(moved);
  }
  return moved;
}
