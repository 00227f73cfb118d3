// Reads the prologue of a save image from any Readable (stdin, a socket, a decompressor),
// then hands the same stream back, positioned at the first payload byte, for whoever needs
// the payload. Nothing past the prologue is consumed: the bytes already read are unshifted.
import type { Readable } from 'node:stream';
import type { DecodeHeaderOptions } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { ioError } from '../errors.js';
import { PrologueGatherer } from './prologue-gatherer.js';

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
    const gatherer = new PrologueGatherer(options);
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
    const onEnd = (): void => fail(gatherer.endError());
    const onReadable = (): void => {
      try {
        let chunk: Buffer | null;
        while ((chunk = source.read() as Buffer | null) !== null) {
          const gathered = gatherer.push(chunk);
          if (gathered === null) continue;
          cleanup();
          for (let i = gathered.rest.length - 1; i >= 0; i--) source.unshift(gathered.rest[i]!);
          const head = gathered.rest[0] ?? Buffer.alloc(0);
          resolve({ ...gathered.prologue, payload: source, payloadHead: head.subarray(0, PAYLOAD_HEAD_BYTES) });
          return;
        }
      } catch (error) {
        fail(error);
      }
    };
    source.on('readable', onReadable);
    source.on('end', onEnd);
    source.on('error', onError);
  });
}
