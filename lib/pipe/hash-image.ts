// XXH64 of an image's prologue and payload in one pass over a descriptor, as `xxhsum -H1`
// would print for each part.
import type { DecodeHeaderOptions } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { createXxh64, xxh64Hex } from '../hash.js';
import type { FdSource } from './fd-source.js';
import { pumpPayload } from './pump.js';

export interface ImageDigest {
  image: SaveImagePrologue;
  prologue: string;
  payload: string;
  payloadLength: number;
}

export async function hashImage(
  source: FdSource,
  options: DecodeHeaderOptions = {},
  onStart?: (image: SaveImagePrologue, payloadLength: number | null) => void,
  onProgress?: (bytes: number) => void,
): Promise<ImageDigest> {
  const image = source.readPrologue(options);
  const prologue = await xxh64Hex(image.prologueBytes);
  const hasher = await createXxh64();
  onStart?.(image, source.size === null ? (image.seal?.payloadLength ?? null) : source.size - image.payloadOffset);
  const payloadLength = pumpPayload(source, { hasher, onProgress: onProgress ?? null });
  return { image, prologue, payload: hasher.digestHex(), payloadLength };
}
