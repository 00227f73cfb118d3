// An in-place edit (define, edit, set, seal) of an s3:// image, where it lies: objects cannot be
// written in part, so the object is made anew by a multipart upload whose first part is the new
// prologue filled to S3's 5 MiB minimum with the payload's first bytes, and whose other parts the
// store copies from the object itself (UploadPartCopy pinned to the ETag read). An edit of a
// 4 GiB image moves about 5 MiB and the XML; the payload never leaves the store. The object is
// replaced only when the upload completes, and only if it is still the one read: every copy is
// pinned to its ETag, the store is asked just before completing, and the completion carries
// If-Match for stores that honour it (Ceph 18 does not: README, "Images in object storage").
// A small object is read whole and put back with If-Match, which every store honours.
import { type FileImage } from '../../file/open.js';
import { countDifferences, type PatchResult, type PrologueEdit } from '../../file/patch.js';
import { SaveImageError } from '../../errors.js';
import { assertNotInterrupted } from '../interrupt.js';
import type { ObjectAddress } from './address.js';
import { readObjectPrologue } from './object-prologue.js';
import type { CompletedPart, ObjectStore } from './s3-client.js';

const MIB = 1024 * 1024;
/** S3's smallest part but the last. */
const MIN_PART_BYTES = 5 * MIB;
/** Copy parts: large enough for few requests, several at once so the store copies in parallel. */
const COPY_PART_BYTES = 512 * MIB;
const COPIES_IN_FLIGHT = 4;
const MAX_PART_BYTES = 5 * 1024 * MIB;
const MAX_PARTS = 10_000;

export interface ObjectPatchOptions {
  /** The ETag the edit was decided on (seal: the object hashed); else the one read now. */
  expectEtag?: string;
}

/** Applies `edit` to the prologue of the object at `address`; the same result as patchImage on a file. */
export async function patchObject(store: ObjectStore, address: ObjectAddress, edit: PrologueEdit, options: ObjectPatchOptions = {}): Promise<PatchResult> {
  const read = await readObjectPrologue(store, address);
  const etag = read.object.etag;
  if (options.expectEtag !== undefined && options.expectEtag !== etag) throw changed(address, options.expectEtag, etag);
  const before: FileImage = { ...read, fileSize: read.object.size, payloadLength: Math.max(0, read.object.size - read.payloadOffset) };
  const next = await edit(before);
  if (next === null || next.equals(before.prologueBytes)) return { changed: false, before, after: before.prologueBytes, changedBytes: 0 };
  if (next.length !== before.prologueBytes.length) throw new RangeError('an in-place edit must keep the prologue length');
  assertNotInterrupted();
  if (read.object.size <= 2 * MIN_PART_BYTES) await replaceWhole(store, address, before, next, etag);
  else await replaceByCopy(store, address, before, next, etag);
  return { changed: true, before, after: next, changedBytes: countDifferences(before.prologueBytes, next) };
}

function changed(address: ObjectAddress, was: string, now: string): SaveImageError {
  return new SaveImageError('ERR_IMAGE_CHANGED', `${address.url} changed while savekit edited it (ETag ${was} when read, ${now} now): another program wrote it; nothing was written`);
}

/** A small object: its payload read, the whole put back if it is still the same object. */
async function replaceWhole(store: ObjectStore, address: ObjectAddress, before: FileImage, next: Buffer, etag: string): Promise<void> {
  const payload = await store.read(address, before.payloadOffset, before.payloadLength, etag);
  await store.put(address, Buffer.concat([next, payload.bytes]), { ifMatch: etag });
}

async function replaceByCopy(store: ObjectStore, address: ObjectAddress, before: FileImage, next: Buffer, etag: string): Promise<void> {
  const size = before.fileSize;
  const firstEnd = Math.max(next.length, MIN_PART_BYTES);
  const head = await store.read(address, next.length, firstEnd - next.length, etag);
  const copyBytes = Math.min(MAX_PART_BYTES, Math.max(COPY_PART_BYTES, Math.ceil((size - firstEnd) / (MAX_PARTS - 1))));
  const uploadId = await store.startUpload(address);
  try {
    const parts: CompletedPart[] = [await store.uploadPart(address, uploadId, 1, Buffer.concat([next, head.bytes]))];
    const ranges: [number, number][] = [];
    for (let at = firstEnd; at < size; at += copyBytes) ranges.push([at, Math.min(size, at + copyBytes) - 1]);
    for (let i = 0; i < ranges.length; i += COPIES_IN_FLIGHT) {
      assertNotInterrupted();
      const batch = ranges.slice(i, i + COPIES_IN_FLIGHT);
      parts.push(...(await Promise.all(batch.map(([first, last], j) => store.copyPart(address, uploadId, i + j + 2, address, first, last, etag)))));
    }
    assertNotInterrupted();
    const now = await store.head(address);
    if (now.etag !== etag) throw changed(address, etag, now.etag);
    await store.completeUpload(address, uploadId, parts, etag);
  } catch (error) {
    await store.abortUpload(address, uploadId);
    throw error;
  }
}
