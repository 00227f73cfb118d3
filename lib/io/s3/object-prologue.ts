// The prologue of an s3:// image, read lazily: one ranged GET of the first 64 KiB (the header
// and, for most images, the whole data region), and a second one, pinned to the same ETag, only
// for a data region that reaches further. The payload is never asked for.
import { HEADER_BYTES } from '../../constants.js';
import { decodeHeader, type DecodeHeaderOptions, payloadOffsetOf } from '../../codec/header.js';
import { decodePrologue, type SaveImagePrologue } from '../../codec/prologue.js';
import type { ObjectAddress } from './address.js';
import type { ObjectStore, StoredObject } from './s3-client.js';

/** What the first GET asks for. */
export const FIRST_READ_BYTES = 64 * 1024;

export interface ObjectPrologue extends SaveImagePrologue {
  object: StoredObject;
  /** Payload bytes the first GET brought along (up to 64 KiB less the prologue). */
  payloadHead: Buffer;
}

export async function readObjectPrologue(store: ObjectStore, address: ObjectAddress, options: DecodeHeaderOptions = {}): Promise<ObjectPrologue> {
  const first = await store.read(address, 0, FIRST_READ_BYTES);
  let bytes = first.bytes;
  const header = decodeHeader(bytes.subarray(0, HEADER_BYTES), options);
  const payloadOffset = payloadOffsetOf(header);
  if (bytes.length < payloadOffset && first.object.size > bytes.length) {
    const rest = await store.read(address, bytes.length, payloadOffset - bytes.length, first.object.etag);
    bytes = Buffer.concat([bytes, rest.bytes]);
  }
  const prologue = decodePrologue(bytes, options); // ERR_TRUNCATED when the object ends inside the region
  return { ...prologue, object: first.object, payloadHead: bytes.subarray(payloadOffset) };
}
