// XXH64 of an image's prologue and payload in one pass over a descriptor, as `xxhsum -H1`
// would print for each part.
import type { DecodeHeaderOptions } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { xxh64Hex } from '../hash.js';
import type { FdSource } from '../io/fd-source.js';
import { createPayloadHasher } from '../io/payload-hasher.js';
import { pumpPayload } from '../io/pump.js';

export interface PayloadDigest {
  payload: string;
  payloadLength: number;
}

export interface ImageDigest extends PayloadDigest {
  image: SaveImagePrologue;
  prologue: string;
}

export interface HashProgress {
  onStart?: (payloadLength: number | null) => void;
  onProgress?: (bytes: number) => void;
}

/** Reads the prologue, then hashes both parts. */
export async function hashImage(source: FdSource, options: DecodeHeaderOptions = {}, progress: HashProgress = {}): Promise<ImageDigest> {
  const image = source.readPrologue(options);
  const prologue = await xxh64Hex(image.prologueBytes);
  return { image, prologue, ...(await hashPayload(source, image, progress)) };
}

/** Hashes the rest of `source`, whose prologue `image` was just read from it. */
export async function hashPayload(source: FdSource, image: SaveImagePrologue, progress: HashProgress = {}): Promise<PayloadDigest> {
  const expected = source.expectedSize === null ? (image.seal?.payloadLength ?? null) : source.expectedSize - image.payloadOffset;
  source.useFileWays({ everyByte: true }); // a file mapped or copied by two threads, whichever this host does faster
  const hasher = await createPayloadHasher(source, expected);
  progress.onStart?.(expected);
  try {
    const payloadLength = await pumpPayload(source, { hasher, onProgress: progress.onProgress ?? null });
    return { payload: await hasher.digestHex(source), payloadLength };
  } catch (error) {
    await hasher.abort();
    throw source.whyFailed(error);
  }
}
