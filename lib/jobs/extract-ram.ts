// Writes each RAM block of an image to its own raw file, data pages at their offsets in the
// block and zero pages left as holes (sparse files), like analyze-migration.py -x. Offsets are
// RAMBlock offsets, not guest-physical addresses (QEMU-STREAM.md section 3).
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, rmdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RamBlockSummary } from '../codec/qemu/walker.js';
import { ioError } from '../errors.js';
import { folderModeOf } from '../file/modes.js';
import { writeAll } from '../io/fd-io.js';
import type { FdSource } from '../io/fd-source.js';
import { walkImage, type WalkImageOptions } from './walk-image.js';

export interface ExtractedBlock {
  name: string;
  file: string;
  length: number;
  dataPages: number;
  zeroPages: number;
}

/** The file a block goes to: its name as a path under `folder`, without any way out of it. */
export function blockFilePath(folder: string, name: string): string {
  const segments = name.split('/').filter((part) => part !== '' && part !== '.' && part !== '..');
  return join(folder, ...(segments.length > 0 ? segments : ['unnamed-block']));
}

export async function extractRam(source: FdSource, folder: string, options: Pick<WalkImageOptions, 'readOptions' | 'onStart' | 'onProgress'> = {}): Promise<ExtractedBlock[]> {
  const mode = source.outputMode;
  const folderMode = folderModeOf(mode);
  /** Folders this run made, outermost first: a failed or interrupted run removes what it made. */
  const made: string[] = [];
  writing('create the folder', folder, () => makeFolder(folder, folderMode, made));
  // Pages written so far, per block: a set, since a lying block length must not size memory.
  const files = new Map<string, { fd: number; written: Set<number>; file: string }>();
  const open = (block: RamBlockSummary) => {
    let entry = files.get(block.name);
    if (!entry) {
      const file = blockFilePath(folder, block.name);
      const fd = writing('create', file, () => {
        makeFolder(dirname(file), folderMode, made);
        return openSync(file, 'w', mode);
      });
      writing('size', file, () => ftruncateSync(fd, block.length)); // all holes until pages arrive
      entry = { fd, written: new Set<number>(), file };
      files.set(block.name, entry);
    }
    return entry;
  };
  try {
    const walk = await walkImage(source, {
      ...options,
      onPage(block, address, data, fill) {
        const entry = open(block);
        const page = address / block.pageSize;
        if (data) {
          writePage(entry, data, address);
          entry.written.add(page);
        } else if (fill !== 0 || entry.written.has(page)) {
          // The last record wins: a zero page over an earlier data page must clear it.
          writePage(entry, Buffer.alloc(block.pageSize, fill), address);
          if (fill === 0) entry.written.delete(page);
          else entry.written.add(page);
        }
      },
    });
    for (const block of walk.summary.ramBlocks) open(block); // a block with no page has its file too
    return walk.summary.ramBlocks.map((block) => ({ name: block.name, file: files.get(block.name)!.file, length: block.length, dataPages: block.dataPages, zeroPages: block.zeroPages }));
  } catch (error) {
    // Block files have no magic to tell a partial one from a finished one: none is left.
    for (const entry of files.values()) rmSync(entry.file, { force: true });
    for (const created of made.reverse()) {
      try {
        rmdirSync(created); // emptied above
      } catch {
        // something else was put there meanwhile: it stays
      }
    }
    throw error;
  } finally {
    for (const entry of files.values()) closeSync(entry.fd);
  }
}

/** Writes one page of a block file (no closure: this runs once per page). */
function writePage(target: { fd: number; file: string }, bytes: Buffer, position: number): void {
  try {
    writeAll(target.fd, bytes, position);
  } catch (error) {
    throw ioError('write', target.file, error, { writing: true });
  }
}

/** Runs a write to `path`; a system error becomes a coded error naming the file. */
function writing<T>(action: string, path: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    throw ioError(action, path, error, { writing: true });
  }
}

/**
 * mkdir -p, noting in `made` each folder it creates (outermost first); a failure reports the
 * errno of the level that failed (the recursive form says ENOENT on a read-only mount).
 */
function makeFolder(folder: string, mode: number, made: string[]): void {
  if (existsSync(folder)) return;
  const parent = dirname(folder);
  if (parent !== folder) makeFolder(parent, mode, made);
  try {
    mkdirSync(folder, { mode });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  made.push(folder);
}
