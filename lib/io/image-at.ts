// An image wherever it lies: a path or an s3:// address, one seam for the library and the CLI.
// Prologue reads and in-place edits go to the file layer (lock, journal) or to the store layer
// (ranged GETs, a new object with the payload copied by the store); payload readers take an
// FdSource over a file, or over the pipe an object's transfer thread fills. `env` is the
// configuration the S3 client reads (the CLI passes the process's; the SDK also reads its own).
import { closeSync, openSync } from 'node:fs';
import { ioError } from '../errors.js';
import type { DecodeHeaderOptions } from '../codec/header.js';
import type { FileStamp } from '../file/file-port.js';
import { type FileImage, readImageFile } from '../file/open.js';
import { patchImage, type PatchResult, type PrologueEdit } from '../file/patch.js';
import { FdSource } from './fd-source.js';
import { objectAddressOf } from './s3/address.js';
import { patchObject } from './s3/object-edit.js';
import { openObjectInput } from './s3/object-pipe.js';
import { readObjectPrologue } from './s3/object-prologue.js';
import { ObjectStore } from './s3/s3-client.js';

export interface LocationOptions extends DecodeHeaderOptions {
  env?: NodeJS.ProcessEnv;
}

/** What an edit was decided on: a file's stamp, or an object's ETag. */
export type EditBasis = FileStamp | string;

/** The prologue of the image at `target` (a path or s3://BUCKET/KEY); the payload is not read. */
export async function readPrologueAt(target: string, options: LocationOptions = {}): Promise<FileImage> {
  const address = objectAddressOf(target);
  if (!address) return readImageFile(target, options);
  const store = await ObjectStore.connect(options.env ?? {});
  try {
    const image = await readObjectPrologue(store, address, options);
    return { ...image, fileSize: image.object.size, payloadLength: Math.max(0, image.object.size - image.payloadOffset) };
  } finally {
    store.close();
  }
}

/**
 * Applies `edit` to the prologue of the image at `target` in place: the same bytes on a file
 * and on an object. `basis`: refuse (ERR_IMAGE_CHANGED) if the image is no longer that one.
 */
export async function patchImageAt(target: string, edit: PrologueEdit, basis?: EditBasis | null, options: LocationOptions = {}): Promise<PatchResult> {
  const address = objectAddressOf(target);
  if (!address) return patchImage(target, edit, basis && typeof basis !== 'string' ? { expect: basis } : {});
  const store = await ObjectStore.connect(options.env ?? {});
  try {
    return await patchObject(store, address, edit, typeof basis === 'string' ? { expectEtag: basis } : {});
  } finally {
    store.close();
  }
}

/** The image at `target` as an FdSource for any payload reader (walkImage, hashImage, ...); close() when done. */
export function openSourceAt(target: string, options: LocationOptions = {}): { source: FdSource; close(): Promise<void> } {
  const address = objectAddressOf(target);
  if (address) {
    const object = openObjectInput(address, options.env ?? {});
    return { source: new FdSource(object.fd, { upstream: object }), close: () => object.close() };
  }
  let fd: number;
  try {
    fd = openSync(target, 'r');
  } catch (error) {
    throw ioError('open', target, error);
  }
  return { source: new FdSource(fd), close: async () => closeSync(fd) };
}
