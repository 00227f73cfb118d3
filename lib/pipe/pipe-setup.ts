// Prepares the pipes savekit copies through, with the two fcntl() calls Node.js lacks (built by
// node-gyp at install from native/pipe-setup.c): grow them from 64 KiB to 1 MiB (the
// unprivileged limit in /proc/sys/fs/pipe-max-size), and make an inherited non-blocking
// descriptor blocking again. Without the addon nothing changes and the copy is only slower.
import { createRequire } from 'node:module';

interface NativeBinding {
  setPipeSize(fd: number, bytes: number): number;
  setBlocking(fd: number): number;
}

export const PIPE_BYTES = 1024 * 1024;

let binding: NativeBinding | null | undefined;

function native(): NativeBinding | null {
  if (binding === undefined) {
    try {
      binding = createRequire(import.meta.url)('../../build/Release/savekit_native.node') as NativeBinding;
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
