// Reads the prologue of an image file with positioned reads: exactly the 92-byte header, then
// exactly dataLen bytes of data region. The payload is never read, whatever its size.
import { HEADER_BYTES } from '../constants.js';
import { decodeHeader, type DecodeHeaderOptions, payloadOffsetOf } from '../codec/header.js';
import { decodePrologue, truncatedRegion, type SaveImagePrologue } from '../codec/prologue.js';
import { ioError, SaveImageError } from '../errors.js';
import { type FileLike, type FilePort, nodeFiles, readAt } from './file-port.js';
import { journalPathOf } from './side-files.js';

export interface FileImage extends SaveImagePrologue {
  fileSize: number;
  /** Bytes from the payload offset to the end of the file (0 when cut before it). */
  payloadLength: number;
}

export interface ReadImageFileOptions extends DecodeHeaderOptions {
  files?: FilePort;
  /** Read even though an interrupted edit left a journal (recover uses this). */
  ignoreJournal?: boolean;
}

/** Opens `path`, reads its prologue and closes it. */
export async function readImageFile(path: string, options: ReadImageFileOptions = {}): Promise<FileImage> {
  const files = options.files ?? nodeFiles;
  if (!options.ignoreJournal) await assertNoJournal(path, files);
  let file: FileLike;
  try {
    file = await files.open(path, 'r');
  } catch (error) {
    throw ioError('open', path, error);
  }
  try {
    return await readPrologueFrom(file, options);
  } catch (error) {
    throw ioError('read', path, error);
  } finally {
    await file.close();
  }
}

/** Reads the prologue from an open file. */
export async function readPrologueFrom(file: FileLike, options: DecodeHeaderOptions = {}): Promise<FileImage> {
  const { size: fileSize } = await file.stat();
  const headerBytes = Buffer.alloc(HEADER_BYTES);
  const headerRead = await readAt(file, headerBytes, 0, HEADER_BYTES, 0);
  const header = decodeHeader(headerBytes.subarray(0, headerRead), options);
  const payloadOffset = payloadOffsetOf(header);
  const prologueBytes = Buffer.allocUnsafe(payloadOffset);
  headerBytes.copy(prologueBytes);
  const regionRead = await readAt(file, prologueBytes, HEADER_BYTES, header.dataLen, HEADER_BYTES);
  if (regionRead < header.dataLen) throw truncatedRegion(header, HEADER_BYTES + regionRead);
  const prologue = decodePrologue(prologueBytes, options);
  return { ...prologue, fileSize, payloadLength: Math.max(0, fileSize - payloadOffset) };
}

/** ERR_RECOVERY_NEEDED while an interrupted in-place edit's journal lies beside the image. */
export async function assertNoJournal(path: string, files: FilePort = nodeFiles): Promise<void> {
  const journal = journalPathOf(path);
  if (await files.exists(journal)) {
    throw new SaveImageError(
      'ERR_RECOVERY_NEEDED',
      `an in-place edit of ${path} was interrupted (journal ${journal} exists): run \`savekit recover ${path}\` first`,
    );
  }
}
