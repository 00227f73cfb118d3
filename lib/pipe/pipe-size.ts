// Grows the pipes savekit reads from and writes to, from 64 KiB to 1 MiB (the unprivileged
// limit in /proc/sys/fs/pipe-max-size), through the one native call Node.js lacks:
// fcntl(F_SETPIPE_SZ), built by node-gyp at install (native/pipe-size.c). Without the addon,
// or on a descriptor that is not a pipe, nothing changes and the copy is only slower.
import { createRequire } from 'node:module';

interface NativeBinding {
  setPipeSize(fd: number, bytes: number): number;
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
