// Opens the IMAGE argument of the commands that read the prologue only (info, dumpxml, cpu):
// a path (positioned reads, payload untouched), an s3:// object (at most two ranged GETs, the
// payload never asked for) or `-` (the prologue consumed from stdin, which is then closed: the
// upstream writer sees EPIPE, as with `head`).
import type { SaveImagePrologue } from '../codec/prologue.js';
import { readPrologueAt } from '../io/image-at.js';
import { readImageStream } from '../stream/read-image.js';
import { type CommandSpec, type ParsedValues, readOptionsOf } from './args.js';
import type { CliIo } from './io.js';

export interface OpenedImage extends SaveImagePrologue {
  /** What to call the image in messages. */
  label: string;
  /** Payload bytes already at hand without reading further (empty for a file or an object). */
  payloadHead: Buffer;
  /** Payload length when known (a file), else null. */
  payloadLength: number | null;
}

export async function openImage(io: CliIo, spec: CommandSpec, values: ParsedValues, argument: string): Promise<OpenedImage> {
  const options = readOptionsOf(spec, values);
  if (argument === '-') {
    const image = await readImageStream(io.stdin, options);
    image.payload.destroy(); // every caller needs the prologue only: stop reading stdin
    return { ...image, label: 'stdin', payloadLength: null };
  }
  const image = await readPrologueAt(argument, { ...options, env: io.env });
  return { ...image, label: argument, payloadHead: Buffer.alloc(0) };
}
