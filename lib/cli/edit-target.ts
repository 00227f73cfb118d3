// The IMAGE of the in-place edits (define, edit, set, seal): a file, patched under its lock and
// journal (lib/file/patch.ts), or an s3:// object, made anew where it lies with the payload
// copied by the store (lib/store/object-edit.ts). Both give the same bytes for the same edit.
import type { FileStamp } from '../file/file-port.js';
import { type FileImage, readImageFile } from '../file/open.js';
import { patchImage, type PatchResult, type PrologueEdit } from '../file/patch.js';
import { objectAddressOf } from '../store/address.js';
import { patchObject } from '../store/object-edit.js';
import { readObjectPrologue } from '../store/object-prologue.js';
import { ObjectStore } from '../store/s3-client.js';
import type { CliIo } from './io.js';

/** What an edit was decided on: a file's stamp, or an object's ETag. */
export type EditBasis = FileStamp | string;

/** The prologue of the image to edit. */
export async function readEditTarget(io: CliIo, target: string): Promise<FileImage> {
  const address = objectAddressOf(target);
  if (!address) return readImageFile(target);
  const store = await ObjectStore.connect(io.env);
  try {
    const image = await readObjectPrologue(store, address);
    return { ...image, fileSize: image.object.size, payloadLength: Math.max(0, image.object.size - image.payloadOffset) };
  } finally {
    store.close();
  }
}

/** Applies `edit` to the prologue of `target` in place; `basis`: refuse if the image is no longer that one. */
export async function patchEditTarget(io: CliIo, target: string, edit: PrologueEdit, basis?: EditBasis | null): Promise<PatchResult> {
  const address = objectAddressOf(target);
  if (!address) return patchImage(target, edit, basis && typeof basis !== 'string' ? { expect: basis } : {});
  const store = await ObjectStore.connect(io.env);
  try {
    return await patchObject(store, address, edit, typeof basis === 'string' ? { expectEtag: basis } : {});
  } finally {
    store.close();
  }
}
