// Prepares the pipes savekit copies through, with the two fcntl() calls Node.js lacks
// (native/pipe-setup.c): grow them from 64 KiB to 1 MiB (the unprivileged limit in
// /proc/sys/fs/pipe-max-size), and make an inherited non-blocking descriptor blocking again.
// node-gyp-build loads build/Release (compiled at install) or else the N-API prebuild shipped in
// prebuilds/linux-x64. Without either nothing changes and the copy is only slower.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface NativeBinding {
  setPipeSize(fd: number, bytes: number): number;
  setBlocking(fd: number): number;
}

export const PIPE_BYTES = 1024 * 1024;

let binding: NativeBinding | null | undefined;

function native(): NativeBinding | null {
  if (binding === undefined) {
    try {
      const load = createRequire(import.meta.url)('node-gyp-build') as (root: string) => NativeBinding;
      binding = load(fileURLToPath(new URL('../../', import.meta.url)));
    } catch {
      binding = null;
    }
  }
  return binding;
}

/** True when the native addon loaded (pipes can be grown). */
export function canGrowPipes(): boolean {
  return native() !== null;
}

/** Grows the pipe behind `fd`; returns its capacity, or null when it is not a pipe or cannot grow. */
export function growPipe(fd: number, bytes = PIPE_BYTES): number | null {
  const size = native()?.setPipeSize(fd, bytes);
  return size === undefined || size < 0 ? null : size;
}

/** Makes `fd` blocking (our blocking loop then never meets EAGAIN); false when it cannot. */
export function makeBlocking(fd: number): boolean {
  return native()?.setBlocking(fd) === 0;
}
