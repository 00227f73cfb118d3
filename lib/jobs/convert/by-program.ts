// Conversions a compressor program does itself, between two files (jobs/convert/): the program
// libvirt runs reads the input descriptor and writes the output file, the fastest way there is,
// while savekit walks the stream beside it from the page cache to prove it whole.
import type { ChildProcessByStdio } from 'node:child_process';
import { readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { QemuStreamWalker } from '../../codec/qemu/walker.js';
import { compressCommand, decompressCommand } from '../../io/compressors.js';
import { assertNotInterrupted } from '../../io/interrupt.js';
import { compressorFailed, decompressorFailed, startProgram, watchExit } from '../../io/programs.js';
import { Writeback, WRITEBACK_EVERY_BYTES } from '../../io/pump.js';
import { type ImageWalk, walkImage } from '../walk-image.js';
import { assertWalkable, readOptions, type Run, type StoredHook } from './conversion.js';

/**
 * Compressed to raw, into a file: the decompressor (the program libvirt runs to restore, `-dc`)
 * reads the input descriptor and writes the output file itself, the fastest way there is, and
 * savekit walks the output as it grows, from the page cache, to prove the stream whole.
 */
export async function decompressToFile(params: Run, from: string, outFd: number, streamOffset: number): Promise<ImageWalk> {
  const { source, before } = params;
  positionAtPayload(source.fd, before.payloadOffset); // the decompressor reads from the file offset
  const { program } = decompressCommand(from);
  const child = await startProgram<ChildProcessByStdio<null, null, Readable>>(program, ['-dc'], [source.fd, outFd, 'pipe'], `reading a ${from} payload`);
  const { exited, said } = watchExit(child);
  let status: number | null | undefined;
  void exited.then((code) => (status = code));
  const walker = new QemuStreamWalker({ baseOffset: 0, offsetsOf: `the decompressed ${from} stream`, onPage: () => undefined });
  const buffer = Buffer.allocUnsafe(256 * 1024);
  const writeback = new Writeback(outFd);
  let position = streamOffset;
  let sinceWriteback = 0;
  try {
    for (;;) {
      const n = readSync(outFd, buffer, 0, buffer.length, position);
      if (n > 0) {
        walker.feed(buffer.subarray(0, n));
        position += n;
        params.onProgress?.(position - streamOffset);
        if ((sinceWriteback += n) >= WRITEBACK_EVERY_BYTES) {
          sinceWriteback = 0;
          await nextTurn();
          assertNotInterrupted();
          writeback.start();
        }
        continue;
      }
      if (status !== undefined) break; // exited, and everything it wrote is read
      await Promise.race([exited, sleep(1)]);
      assertNotInterrupted();
    }
    if (status !== 0) throw decompressorFailed(from, program, status ?? null, said());
    return { image: before, summary: walker.end(), payloadLength: source.size! - before.payloadOffset, stream: null };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  } finally {
    await writeback.settle();
    writeback.rethrow();
  }
}

/**
 * Raw to a program's format, from a file: the compressor reads the input descriptor and writes
 * the output itself (nothing passes through savekit on the way), while savekit walks the same
 * file from the page cache, beside it, to prove the stream whole and hash it for a seal.
 */
export async function compressFile(params: Run, outFd: number, onPrologue: StoredHook): Promise<ImageWalk> {
  const { source, before } = params;
  positionAtPayload(source.fd, before.payloadOffset);
  const { program, args } = compressCommand(params.format, params);
  const child = await startProgram<ChildProcessByStdio<null, null, Readable>>(program, args, [source.fd, outFd, 'pipe'], `writing a ${params.format} payload`);
  const { exited, said } = watchExit(child);
  const writeback = new Writeback(outFd);
  // The output grows beside the walk: flush it as it does (the timer runs while savekit waits).
  const timer = setInterval(() => writeback.start(), 250);
  try {
    const walk = await walkImage(source, { ...readOptions(params), onPrologue, onPage: () => undefined });
    assertWalkable(walk.summary);
    const status = await exited;
    if (status !== 0) throw compressorFailed(`${program} ${args.join(' ')}`, status, said());
    return walk;
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  } finally {
    clearInterval(timer);
    await writeback.settle();
    writeback.rethrow();
  }
}

/** Moves a descriptor's file offset to the payload, for a child that reads it from there. */
function positionAtPayload(fd: number, payloadOffset: number): void {
  const skip = Buffer.allocUnsafe(64 * 1024);
  for (let done = 0; done < payloadOffset; ) {
    const n = readSync(fd, skip, 0, Math.min(skip.length, payloadOffset - done), null);
    if (n === 0) break;
    done += n;
  }
}
