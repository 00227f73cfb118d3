// A sparse (mapped-ram) image read from a pipe, kept in a temporary file for the conversions that
// need it whole: QEMU writes each RAM block's header right before that block's page area, so the
// block list is complete only after the first block's pages, and a sequential stream must list
// every block before its first page. The input is still read once; zero pages stay holes in the
// copy, so it takes the disk space of the data pages and no memory. The file is private (0600,
// created exclusively) and unlinked at once: nothing is left behind, whatever ends the process.
import { closeSync, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ioError } from '../errors.js';
import { writeAll, writeSkippingZeros } from './fd-io.js';
import type { FdSource } from './fd-source.js';
import { Checkpoints } from './interrupt.js';

/**
 * Copies the image (its prologue, already read, then the rest of `source`) into an unlinked
 * temporary file in `folder`, at the same offsets; returns its descriptor (the caller closes it).
 */
export async function spoolToFile(source: FdSource, prologue: Buffer, folder = tmpdir()): Promise<number> {
  const fd = createUnlinkedFile(folder, 'the sparse image');
  try {
    writeAll(fd, prologue, 0);
    let at = prologue.length;
    const checkpoints = new Checkpoints();
    for (let chunk = source.next(); chunk !== null; chunk = source.next()) {
      writeSkippingZeros(fd, chunk, at);
      at += chunk.length;
      await checkpoints.tick(chunk.length);
    }
    ftruncateSync(fd, at);
    return fd;
  } catch (error) {
    closeSync(fd);
    throw ioError('write the temporary copy of the sparse image in', folder, error, { writing: true }); // coded errors pass as they are
  }
}

/** A private (0600, exclusive) file in `folder`, unlinked at once: its descriptor (the caller closes it). */
export function createUnlinkedFile(folder: string, what: string): number {
  const path = join(folder, `.savekit-spool-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
    return fd;
  } catch (error) {
    throw ioError(`create a temporary file for ${what} in`, folder, error, { writing: true });
  }
}
