// The zstd frame of a delta or a page signature: savekit writes the program into `zstd -c`,
// which writes the output descriptor itself. zstd works on the other core, beside savekit, as
// libvirt's compressors do; its output does not pass through savekit (a 64 KiB pipe back to a
// busy thread stalled zstd, and savekit behind it, a fifth of the time: bench/RESULTS.md).
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { compressorFailed, startProgram, watchExit } from './programs.js';

export interface BodyWriter {
  /** Takes `bytes` (copied at once: the caller may reuse them on return). */
  push(bytes: Buffer): void;
  /** Resolves once zstd has caught up enough for more (a failed zstd, a full disk: rejects). */
  ready(): Promise<void>;
  /** The frame is complete and written. */
  end(): Promise<void>;
  abort(): void;
}

/** zstd's level for bodies unless told: its own default, as `zstd --patch-from` uses. */
export const BODY_LEVEL = 3;
/**
 * Bytes queued for zstd before savekit waits, and until how few it waits: not until the queue is
 * empty ('drain'), which left savekit idle while zstd compressed the last piece. 4 MiB went as
 * fast as 16 and kept 12 MiB less (bench/RESULTS.md, delta).
 */
const QUEUED_BYTES = 4 * 1024 * 1024;
const RESUME_BYTES = 3 * 1024 * 1024;
/**
 * Pieces are copied into buffers used again once written: fresh memory costs a page fault per
 * 4 KiB here, and a fresh copy of every piece cost a tenth of the delta's time.
 */
const PIECE_BYTES = 1024 * 1024;

export async function createZstdBody(outFd: number, level: number, purpose: string): Promise<BodyWriter> {
  const args = ['-c', '-q', `-${level}`];
  const child = await startProgram<ChildProcessByStdio<Writable, null, Readable>>('zstd', args, ['pipe', outFd, 'pipe'], purpose);
  const { exited, said } = watchExit(child);
  const free: Buffer[] = [];
  let caughtUp: (() => void) | null = null;
  let inputError: unknown = null;
  child.stdin.on('error', (error) => (inputError ??= error)); // zstd died: its status says why
  const failed = async () => compressorFailed(`zstd ${args.join(' ')}`, await exited, said());
  return {
    push(bytes) {
      if (inputError !== null) return; // ready() or end() reports it
      for (let at = 0; at < bytes.length; at += PIECE_BYTES) {
        const piece = free.pop() ?? Buffer.allocUnsafe(PIECE_BYTES);
        const n = bytes.copy(piece, 0, at, Math.min(bytes.length, at + PIECE_BYTES));
        child.stdin.write(piece.subarray(0, n), () => {
          free.push(piece);
          if (child.stdin.writableLength <= RESUME_BYTES) caughtUp?.();
        });
      }
    },
    async ready() {
      if (inputError !== null || child.exitCode !== null) throw await failed();
      if (child.stdin.writableLength > QUEUED_BYTES) {
        await Promise.race([new Promise<void>((resolve) => (caughtUp = resolve)), exited]);
        caughtUp = null;
        if (inputError !== null || child.exitCode !== null) throw await failed();
      }
    },
    async end() {
      child.stdin.end();
      const status = await exited;
      if (inputError !== null || status !== 0) throw await failed();
    },
    abort() {
      child.stdin.destroy();
      child.kill('SIGKILL');
    },
  };
}
