// Opens the IMAGE argument of a command: a path (positioned reads, payload untouched) or `-`
// (the prologue consumed from stdin, the rest left unread).
import type { Readable } from 'node:stream';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { readImageFile } from '../file/open.js';
import { readImageStream } from '../stream/read-image.js';
import { integerOption, type CommandSpec, type ParsedValues } from './args.js';
import type { CliIo } from './io.js';

export interface OpenedImage extends SaveImagePrologue {
  /** What to call the image in messages. */
  label: string;
  /** Payload bytes already at hand without reading further (empty for a file). */
  payloadHead: Buffer;
  /** Payload length when known (a file), else null. */
  payloadLength: number | null;
  /** The rest of stdin, when the image came from there. */
  payload: Readable | null;
}

export async function openImage(io: CliIo, spec: CommandSpec, values: ParsedValues, argument: string): Promise<OpenedImage> {
  const options = {
    allowPartial: values['allow-partial'] === true,
    ...(values['max-data-len'] !== undefined ? { maxDataLen: integerOption(spec, values, 'max-data-len')! } : {}),
  };
  if (argument === '-') {
    const image = await readImageStream(io.stdin, options);
    return { ...image, label: 'stdin', payloadLength: null };
  }
  const image = await readImageFile(argument, options);
  return { ...image, label: argument, payloadHead: Buffer.alloc(0), payload: null };
}

/** Stops reading stdin once a command has what it needs from the prologue. */
export function releaseImage(image: OpenedImage): void {
  image.payload?.destroy();
}
