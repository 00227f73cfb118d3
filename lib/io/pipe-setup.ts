// Prepares the pipes savekit copies through, with the two fcntl() calls Node.js lacks
// (native/pipe-setup.c): grow them from 64 KiB to 1 MiB (the unprivileged limit in
// /proc/sys/fs/pipe-max-size), and make an inherited non-blocking descriptor blocking again;
// and makes a pipe, which Node.js cannot. Without the addon (lib/native.ts) nothing changes and
// the copy is only slower.
import { nativeAddon } from '../native.js';

export const PIPE_BYTES = 1024 * 1024;

/** True when the native addon loaded (pipes can be grown). */
export function canGrowPipes(): boolean {
  return nativeAddon() !== null;
}

/** Grows the pipe behind `fd`; returns its capacity, or null when it is not a pipe or cannot grow. */
export function growPipe(fd: number, bytes = PIPE_BYTES): number | null {
  const size = nativeAddon()?.setPipeSize(fd, bytes);
  return size === undefined || size < 0 ? null : size;
}

/** Makes `fd` blocking (our blocking loop then never meets EAGAIN); false when it cannot. */
export function makeBlocking(fd: number): boolean {
  return nativeAddon()?.setBlocking(fd) === 0;
}

/** A new pipe's [readFd, writeFd] (close-on-exec), or null without the addon or when the system refuses. */
export function createPipe(): [number, number] | null {
  const pipe = nativeAddon()?.createPipe?.();
  return Array.isArray(pipe) ? pipe : null;
}
