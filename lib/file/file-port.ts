// The file operations savekit's file layer performs, behind one small interface, so a test can
// count bytes read or stop an edit after any write or sync (fault injection) without mocks.
import { constants, promises as fs } from 'node:fs';
import { dirname } from 'node:path';

/** What tells one version of a file from another: which file, how long, last written when. */
export interface FileStamp {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface FileLike {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  stat(): Promise<FileStamp>;
  close(): Promise<void>;
}

export interface FilePort {
  /** `flags` as for fs.open: 'r', 'r+', 'wx'; `mode` for a file it creates. */
  open(path: string, flags: string, mode?: number): Promise<FileLike>;
  unlink(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** The stamp of the file `path` names now (it follows symlinks, as open does). */
  stat(path: string): Promise<FileStamp>;
  /** fsync the folder holding `path`, so a created or removed name survives a crash. */
  syncFolderOf(path: string): Promise<void>;
}

export const nodeFiles: FilePort = {
  open: (path, flags, mode) => fs.open(path, flags, mode),
  unlink: (path) => fs.unlink(path),
  stat: (path) => fs.stat(path),
  exists: (path) =>
    fs.access(path, constants.F_OK).then(
      () => true,
      () => false,
    ),
  async syncFolderOf(path) {
    const folder = await fs.open(dirname(path), 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  },
};

/** How `now` differs from `then`, in words; null when it is the same version of the same file. */
export function describeChange(then: FileStamp, now: FileStamp): string | null {
  if (then.dev !== now.dev || then.ino !== now.ino) return 'another file now has its name';
  if (then.size !== now.size) return `its size went from ${then.size} to ${now.size} bytes`;
  if (then.mtimeMs !== now.mtimeMs) return `it was written at ${new Date(now.mtimeMs).toISOString()}`;
  return null;
}

/** Reads up to `length` bytes at `position`, looping over short reads; shorter only at EOF. */
export async function readAt(file: FileLike, target: Buffer, targetOffset: number, length: number, position: number): Promise<number> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(target, targetOffset + done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done;
}

/** Writes all of `source` at `position`, looping over short writes. */
export async function writeAt(file: FileLike, source: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < source.length) {
    const { bytesWritten } = await file.write(source, done, source.length - done, position + done);
    if (bytesWritten === 0) throw new Error(`write made no progress at offset ${position + done}`);
    done += bytesWritten;
  }
}
