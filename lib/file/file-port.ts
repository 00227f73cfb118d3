// The file operations savekit's file layer performs, behind one small interface, so a test can
// count bytes read or stop an edit after any write or sync (fault injection) without mocks.
import { constants, promises as fs } from 'node:fs';
import { dirname } from 'node:path';

export interface FileLike {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  sync(): Promise<void>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

export interface FilePort {
  /** `flags` as for fs.open: 'r', 'r+', 'wx'. */
  open(path: string, flags: string): Promise<FileLike>;
  unlink(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** fsync the folder holding `path`, so a created or removed name survives a crash. */
  syncFolderOf(path: string): Promise<void>;
}

export const nodeFiles: FilePort = {
  open: (path, flags) => fs.open(path, flags),
  unlink: (path) => fs.unlink(path),
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
