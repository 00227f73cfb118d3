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
import { writeAll } from './fd-io.js';
import type { FdSource } from './fd-source.js';
import { Checkpoints } from './interrupt.js';

const PAGE_BYTES = 4096;
const ZERO_PAGE = Buffer.alloc(PAGE_BYTES);

/**
 * Copies the image (its prologue, already read, then the rest of `source`) into an unlinked
 * temporary file in `folder`, at the same offsets; returns its descriptor (the caller closes it).
 */
export async function spoolToFile(source: FdSource, prologue: Buffer, folder = tmpdir()): Promise<number> {
  const path = join(folder, `.savekit-spool-${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
  } catch (error) {
    throw ioError('create a temporary file for the sparse image in', folder, error, { writing: true });
  }
  try {
    writeAll(fd, prologue, 0);
    let at = prologue.length;
    const checkpoints = new Checkpoints();
    for (let chunk = source.next(); chunk !== null; chunk = source.next()) {
      // Runs of non-zero pages are written; zero pages are skipped (holes).
      let run = -1;
      for (let page = 0; page < chunk.length; page += PAGE_BYTES) {
        const end = Math.min(page + PAGE_BYTES, chunk.length);
        const zero = chunk.subarray(page, end).equals(ZERO_PAGE.subarray(0, end - page));
        if (!zero && run < 0) run = page;
        if (zero && run >= 0) {
          writeAll(fd, chunk.subarray(run, page), at + run);
          run = -1;
        }
      }
      if (run >= 0) writeAll(fd, chunk.subarray(run), at + run);
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
