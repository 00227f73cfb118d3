// The undo journal of an in-place edit: the old prologue (to roll back) and the new one (to
// roll forward), with a checksum so a journal torn by a crash is recognised and discarded.
// Layout: "savekit-undo-v1\n", be64 L, old prologue (L), new prologue (L), be64 XXH64 of all before.
import { SaveImageError } from '../errors.js';
import { xxh64Hex } from '../hash.js';
import { type FilePort, readAt, writeAt } from './file-port.js';
import { PRIVATE_FILE_MODE } from './modes.js';

const JOURNAL_MAGIC = Buffer.from('savekit-undo-v1\n', 'latin1');
const LENGTH_AT = JOURNAL_MAGIC.length;
const BODY_AT = LENGTH_AT + 8;

export interface Journal {
  oldPrologue: Buffer;
  newPrologue: Buffer;
}

export async function encodeJournal(journal: Journal): Promise<Buffer> {
  const length = journal.oldPrologue.length;
  if (journal.newPrologue.length !== length) throw new RangeError('old and new prologue differ in length');
  const bytes = Buffer.alloc(BODY_AT + 2 * length + 8);
  JOURNAL_MAGIC.copy(bytes);
  bytes.writeBigUInt64BE(BigInt(length), LENGTH_AT);
  journal.oldPrologue.copy(bytes, BODY_AT);
  journal.newPrologue.copy(bytes, BODY_AT + length);
  Buffer.from(await xxh64Hex(bytes.subarray(0, BODY_AT + 2 * length)), 'hex').copy(bytes, BODY_AT + 2 * length);
  return bytes;
}

/** The journal in `bytes`, or null when it is torn (short, wrong magic or checksum). */
export async function decodeJournal(bytes: Buffer): Promise<Journal | null> {
  if (bytes.length < BODY_AT + 8 || !bytes.subarray(0, LENGTH_AT).equals(JOURNAL_MAGIC)) return null;
  const length = Number(bytes.readBigUInt64BE(LENGTH_AT));
  if (bytes.length !== BODY_AT + 2 * length + 8) return null;
  const stored = bytes.subarray(BODY_AT + 2 * length).toString('hex');
  if (stored !== (await xxh64Hex(bytes.subarray(0, BODY_AT + 2 * length)))) return null;
  return {
    oldPrologue: bytes.subarray(BODY_AT, BODY_AT + length),
    newPrologue: bytes.subarray(BODY_AT + length, BODY_AT + 2 * length),
  };
}

/** Creates the journal (it must not exist), writes it and makes it durable, name included. */
export async function writeJournal(files: FilePort, path: string, journal: Journal): Promise<void> {
  const bytes = await encodeJournal(journal);
  const file = await files.open(path, 'wx', PRIVATE_FILE_MODE); // both prologues: the XML and its secrets
  try {
    await writeAt(file, bytes, 0);
    await file.sync();
  } finally {
    await file.close();
  }
  await files.syncFolderOf(path);
}

/** Reads a whole journal file (a few hundred KiB at most: two prologues). */
export async function readJournalFile(files: FilePort, path: string): Promise<Buffer> {
  const file = await files.open(path, 'r');
  try {
    const { size } = await file.stat();
    if (size > 2 * 1024 ** 3) throw new SaveImageError('ERR_BAD_JOURNAL', `journal ${path} is ${size} bytes, too large to be savekit's`);
    const bytes = Buffer.alloc(size);
    const read = await readAt(file, bytes, 0, size, 0);
    return bytes.subarray(0, read);
  } finally {
    await file.close();
  }
}

export async function removeJournal(files: FilePort, path: string): Promise<void> {
  await files.unlink(path);
  await files.syncFolderOf(path);
}
