// Readable.pipe without the side effect that breaks savekit's stdout: unless told {end: false},
// Node's pipe() compares its destination with the process's stdout stream, and that comparison
// creates the stream, which turns a piped fd 1 non-blocking under the compressor writing to it
// (`savekit convert --format zstd IMG - | slow-reader`: zstd died with EAGAIN).
import type { Readable, Writable } from 'node:stream';

/** `source.pipe(target)`, ending `target` when `source` ends. */
export function pipeTo(source: Readable, target: Writable): void {
  source.pipe(target, { end: false });
  source.once('end', () => target.end());
}
