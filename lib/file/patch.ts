// Crash-safe in-place edit of an image's prologue (the node-tar replace.ts shape: r+,
// positioned writes, short-read loops, close in finally). libvirt writes over the live header
// with no safety net; savekit keeps an undo journal and flips the magic last:
//   1. journal (old + new prologue, checksum) written and synced, folder synced
//   2. LibvirtQemudPart magic written and synced first, so libvirt never sees a complete-looking
//      image with torn XML, then the rest of the new prologue written and synced
//   3. LibvirtQemudSave magic written, synced
//   4. journal removed, folder synced
// A crash anywhere leaves either an untouched image or a journal that `recoverImage` resolves.
// Bytes at and past the payload offset are never written. Other programs do not take our lock
// (virsh save-image-define, a `virsh save` over the same path, an mv): just before step 1 the
// image is checked to be the file and the prologue that were read, else nothing is written.
import { MAGIC_BYTES, MAGIC_PART, MAGIC_SAVE } from '../constants.js';
import { ioError, SaveImageError } from '../errors.js';
import { describeChange, type FileLike, type FilePort, type FileStamp, nodeFiles, readAt, writeAt } from './file-port.js';
import { decodeJournal, type Journal, readJournalFile, removeJournal, writeJournal } from './journal.js';
import { lockImage } from './lock.js';
import { assertNoJournal, type FileImage, readPrologueFrom } from './open.js';
import { journalPathOf } from './side-files.js';

export interface PatchOptions {
  files?: FilePort;
  /** The file as it was when the edit was decided (seal: when hashing began); checked before writing. */
  expect?: FileStamp;
}

/** Computes the new prologue from the stored one; null (or equal bytes) means nothing to write. */
export type PrologueEdit = (image: FileImage) => Buffer | null | Promise<Buffer | null>;

export interface PatchResult {
  changed: boolean;
  /** The image as it was before the edit. */
  before: FileImage;
  /** The prologue as it is now (the same bytes as before when nothing changed). */
  after: Buffer;
  /** How many bytes differ between the old and the new prologue. */
  changedBytes: number;
}

/** Applies `edit` to the prologue of `path` in place, under the lock and the journal. */
export async function patchImage(path: string, edit: PrologueEdit, options: PatchOptions = {}): Promise<PatchResult> {
  const files = options.files ?? nodeFiles;
  const lock = await lockImage(path);
  try {
    await assertNoJournal(path, files);
    const file = await openForUpdate(files, path);
    try {
      const before = await readPrologueFrom(file).catch((error: unknown) => Promise.reject(ioError('read', path, error)));
      const next = await edit(before);
      if (next === null || next.equals(before.prologueBytes)) return { changed: false, before, after: before.prologueBytes, changedBytes: 0 };
      if (next.length !== before.prologueBytes.length) throw new RangeError('an in-place edit must keep the prologue length');
      await assertStillTheImageRead(files, path, file, before.prologueBytes, options.expect);
      await writePrologue(files, path, file, { oldPrologue: before.prologueBytes, newPrologue: next });
      return { changed: true, before, after: next, changedBytes: countDifferences(before.prologueBytes, next) };
    } finally {
      await file.close();
    }
  } finally {
    await lock.release();
  }
}

/** ERR_IMAGE_CHANGED when another program replaced or rewrote the image since it was read. */
async function assertStillTheImageRead(files: FilePort, path: string, file: FileLike, prologue: Buffer, expect?: FileStamp): Promise<void> {
  const opened = await file.stat();
  const named = await files.stat(path).catch(() => null);
  const current = Buffer.alloc(prologue.length);
  const read = await readAt(file, current, 0, current.length, 0);
  const change =
    (named === null ? 'it was removed' : describeChange(opened, named)) ??
    (expect ? describeChange(expect, opened) : null) ??
    (read === current.length && current.equals(prologue) ? null : 'another program rewrote its header or XML');
  if (change !== null) {
    throw new SaveImageError('ERR_IMAGE_CHANGED', `${path} changed while savekit was editing it (${change}); nothing was written: run the command again`);
  }
}

async function writePrologue(files: FilePort, path: string, file: FileLike, journal: Journal): Promise<void> {
  const journalPath = journalPathOf(path);
  try {
    await writeJournal(files, journalPath, journal);
  } catch (error) {
    await files.unlink(journalPath).catch(() => undefined); // the image is untouched
    throw ioError('write the undo journal', journalPath, error, { writing: true });
  }
  try {
    await writeAt(file, Buffer.from(MAGIC_PART, 'latin1'), 0);
    await file.sync();
    await writeAt(file, journal.newPrologue.subarray(MAGIC_BYTES), MAGIC_BYTES);
    await file.sync();
    await writeAt(file, journal.newPrologue.subarray(0, MAGIC_BYTES), 0);
    await file.sync();
  } catch (error) {
    throw await rollBackAfter(files, path, file, journal, error);
  }
  try {
    await removeJournal(files, journalPath);
  } catch (error) {
    throw ioError(`finish the edit (it is complete; \`savekit recover ${path}\` clears the journal)`, journalPath, error);
  }
}

/** A write failed mid-edit: put the old prologue back now if the disk lets us, else leave it to recover. */
async function rollBackAfter(files: FilePort, path: string, file: FileLike, journal: Journal, cause: unknown): Promise<SaveImageError> {
  const failure = ioError('write the new prologue of', path, cause);
  try {
    await writeAt(file, journal.oldPrologue, 0);
    await file.sync();
    await removeJournal(files, journalPathOf(path));
    return new SaveImageError(failure.code, `${failure.message}; the image was rolled back unchanged`, { cause });
  } catch {
    return new SaveImageError(failure.code, `${failure.message}; the image could not be rolled back yet: run \`savekit recover ${path}\``, { cause });
  }
}

export type RecoveryAction = 'none' | 'discarded-journal' | 'rolled-back' | 'rolled-forward';

/**
 * Resolves an interrupted edit from its journal: forward when the new prologue is fully on
 * disk (only the magic may be missing), back to the old prologue otherwise. A torn journal
 * means the image was never written (the journal is synced first), so it is just removed.
 */
export async function recoverImage(path: string, options: PatchOptions = {}): Promise<RecoveryAction> {
  const files = options.files ?? nodeFiles;
  const journalPath = journalPathOf(path);
  // Nothing to recover needs no lock: a read-only image without a journal is simply fine.
  if (!(await files.exists(journalPath))) return 'none';
  const lock = await lockImage(path);
  try {
    if (!(await files.exists(journalPath))) return 'none';
    const journal = await decodeJournal(await readJournalFile(files, journalPath).catch((error: unknown) => Promise.reject(ioError('read', journalPath, error))));
    if (journal === null) {
      await removeJournal(files, journalPath);
      return 'discarded-journal';
    }
    const file = await openForUpdate(files, path);
    let action: RecoveryAction;
    try {
      const current = Buffer.alloc(journal.newPrologue.length);
      const read = await readAt(file, current, 0, current.length, 0);
      const magic = current.toString('latin1', 0, MAGIC_BYTES);
      const complete =
        read === current.length && (magic === MAGIC_PART || magic === MAGIC_SAVE) && current.subarray(MAGIC_BYTES).equals(journal.newPrologue.subarray(MAGIC_BYTES));
      if (complete) {
        await writeAt(file, journal.newPrologue.subarray(0, MAGIC_BYTES), 0);
        action = 'rolled-forward';
      } else {
        await writeAt(file, journal.oldPrologue, 0);
        action = 'rolled-back';
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await removeJournal(files, journalPath);
    return action;
  } finally {
    await lock.release();
  }
}

async function openForUpdate(files: FilePort, path: string): Promise<FileLike> {
  try {
    return await files.open(path, 'r+');
  } catch (error) {
    throw ioError('open for writing', path, error, { writing: true });
  }
}

/** How many bytes differ between two prologues of one length. */
export function countDifferences(a: Buffer, b: Buffer): number {
  let count = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) count++;
  return count;
}
