// The new version of an image written beside it and renamed over it (convert --in-place): a
// temporary in the same folder, created exclusively (O_EXCL: no symlink planted at its name is
// followed, another name is tried) with the image's owner, group and mode before its first byte,
// so the result is the image's as libvirt's dynamic_ownership and a qemu user expect. Just
// before the rename the image must still be the file and the prologue that were read: another
// program's edit meanwhile (virsh save-image-define) wins, and the temporary is removed.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ioError, SaveImageError } from '../errors.js';
import { describeChange, type FileStamp } from './file-port.js';
import { imageFileOf } from './side-files.js';

const ATTEMPTS = 8;

export interface Replacement {
  /** The temporary's descriptor, open for reading and writing. */
  fd: number;
  path: string;
  /** Renames the finished temporary over the image, unless the image changed since `read`. */
  commit(read: { stamp: FileStamp; prologue: Buffer }): void;
  /** Closes and removes the temporary (nothing happens to the image). */
  abort(): void;
}

/** Creates the temporary beside the file `imagePath` names (its real path: a link stays a link). */
export function createReplacement(imagePath: string): Replacement {
  const image = imageFileOf(imagePath);
  let stat;
  try {
    stat = statSync(image);
  } catch (error) {
    throw ioError('read', imagePath, error);
  }
  const { fd, path } = createExclusive(image, stat.mode & 0o777);
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  try {
    // Owner and group first (root can give a file away; anyone else fails here, before any
    // byte is written), then the image's exact bits, which the umask may have narrowed.
    const mine = fstatSync(fd);
    if (mine.uid !== stat.uid || mine.gid !== stat.gid) fchownSync(fd, stat.uid, stat.gid);
    fchmodSync(fd, stat.mode & 0o7777);
  } catch (error) {
    close();
    rmSync(path, { force: true });
    throw ioError(`keep the owner (${stat.uid}:${stat.gid}) and mode of ${imagePath} on`, path, error, { writing: true });
  }
  return {
    fd,
    path,
    commit(read) {
      try {
        assertUnchanged(image, imagePath, read);
        fsyncSync(fd);
        close();
        renameSync(path, image);
        const folder = openSync(dirname(image), 'r');
        try {
          fsyncSync(folder);
        } finally {
          closeSync(folder);
        }
      } catch (error) {
        close();
        rmSync(path, { force: true });
        throw SaveImageError.is(error) ? error : ioError('replace', imagePath, error, { writing: true });
      }
    },
    abort() {
      close();
      rmSync(path, { force: true });
    },
  };
}

/** The name of the first try: `.IMAGE.savekit-convert-PID`. */
export function replacementPathOf(image: string): string {
  return join(dirname(image), `.${basename(image)}.savekit-convert-${process.pid}`);
}

/** A new file beside `image`, made with O_EXCL (never through a link), under a name not taken. */
function createExclusive(image: string, mode: number): { fd: number; path: string } {
  const flags = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  for (let attempt = 1; ; attempt++) {
    // A name taken (a planted link, a leftover) is never opened: another one is tried.
    const path = attempt === 1 ? replacementPathOf(image) : `${replacementPathOf(image)}-${randomBytes(4).toString('hex')}`;
    try {
      return { fd: openSync(path, flags, mode), path };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === ATTEMPTS) throw ioError('create a temporary file beside the image:', path, error, { writing: true });
    }
  }
}

/** ERR_IMAGE_CHANGED when the image is not the file, or not the prologue, that was read. */
function assertUnchanged(image: string, imagePath: string, read: { stamp: FileStamp; prologue: Buffer }): void {
  let change: string | null;
  try {
    change = describeChange(read.stamp, statSync(image));
  } catch {
    change = 'it was removed';
  }
  if (change === null) {
    const now = Buffer.alloc(read.prologue.length);
    const fd = openSync(image, 'r');
    try {
      let got = 0;
      for (let n = 1; got < now.length && n > 0; got += n) n = readSync(fd, now, got, now.length - got, got);
      change = got === now.length && now.equals(read.prologue) ? null : 'another program rewrote its header or XML';
    } finally {
      closeSync(fd);
    }
  }
  if (change !== null) {
    throw new SaveImageError('ERR_IMAGE_CHANGED', `${imagePath} changed while savekit converted it (${change}): the other program's version is kept and the conversion dropped; run it again`);
  }
}
