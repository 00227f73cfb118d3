// Reads the prologue of a save image from any Readable (stdin, a socket, a decompressor),
// then hands the same stream back, positioned at the first payload byte, for whoever needs
// the payload. Nothing past the prologue is consumed: the bytes already read are unshifted.
import type { Readable } from 'node:stream';
import { HEADER_BYTES } from '../constants.js';
import { decodeHeader, type DecodeHeaderOptions, payloadOffsetOf } from '../codec/header.js';
import { decodePrologue, truncatedRegion, type SaveImagePrologue } from '../codec/prologue.js';
import { ioError } from '../errors.js';
import { ByteQueue } from './byte-queue.js';

export interface StreamImage extends SaveImagePrologue {
  /** The source stream, paused at the first payload byte. Read it, pipe it, or destroy it. */
  payload: Readable;
  /** Up to 16 payload bytes that had already arrived with the prologue (may be empty). */
  payloadHead: Buffer;
}

const PAYLOAD_HEAD_BYTES = 16;

/** Consumes exactly the prologue of `source`; the rest stays in the stream. */
export function readImageStream(source: Readable, options: DecodeHeaderOptions = {}): Promise<StreamImage> {
  return new Promise((resolve, reject) => {
    const queue = new ByteQueue();
    let wanted = HEADER_BYTES;
    let payloadOffset = -1;

    const cleanup = (): void => {
      source.off('readable', onReadable);
      source.off('end', onEnd);
      source.off('error', onError);
    };
    const fail = (error: unknown): void => {
      cleanup();
      reject(error);
    };
    const onError = (error: unknown): void => fail(ioError('read', 'the input stream', error));
    const onEnd = (): void => {
      try {
        // Decoding what arrived gives the precise error (a short header, or a cut region).
        if (payloadOffset < 0) decodeHeader(queue.peek(queue.length), options);
        fail(truncatedRegion(decodeHeader(queue.peek(HEADER_BYTES), options), queue.length));
      } catch (error) {
        fail(error);
      }
    };
    const onReadable = (): void => {
      try {
        let chunk: Buffer | null;
        while ((chunk = source.read() as Buffer | null) !== null) {
          queue.push(chunk);
          if (queue.length < wanted) continue;
          if (payloadOffset < 0) {
            payloadOffset = payloadOffsetOf(decodeHeader(queue.peek(HEADER_BYTES), options));
            wanted = payloadOffset;
            if (queue.length < wanted) continue;
          }
          return finish();
        }
      } catch (error) {
        fail(error);
      }
    };
    const finish = (): void => {
      cleanup();
      const prologueBytes = queue.take(payloadOffset);
      const rest = queue.drain();
      for (let i = rest.length - 1; i >= 0; i--) source.unshift(rest[i]!);
      const head = rest[0] ?? Buffer.alloc(0);
      const prologue = decodePrologue(prologueBytes, options);
      resolve({ ...prologue, payload: source, payloadHead: head.subarray(0, PAYLOAD_HEAD_BYTES) });
    };

    source.on('readable', onReadable);
    source.on('end', onEnd);
    source.on('error', onError);
  });
}
