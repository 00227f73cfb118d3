// The rewrite as a Node Transform, for library users who compose streams (pipeline(),
// stream-chain): the new prologue out, then every payload chunk passed through by reference.
// The CLI uses the blocking descriptor loop of lib/io instead, which is faster on pipes
// (bench/RESULTS.md); both produce the same bytes.
import { Transform } from 'node:stream';
import type { DecodeHeaderOptions } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { PrologueGatherer } from './prologue-gatherer.js';

export interface RewriteStreamOptions {
  /** The new prologue for the image read. */
  plan: (image: SaveImagePrologue) => Buffer;
  readOptions?: DecodeHeaderOptions;
  /** Byte-mode buffering of the stage (default 1 MiB). */
  highWaterMark?: number;
}

export function createRewriteStream(options: RewriteStreamOptions): Transform {
  let gatherer: PrologueGatherer | null = new PrologueGatherer(options.readOptions ?? {});
  return new Transform({
    highWaterMark: options.highWaterMark ?? 1024 * 1024,
    transform(chunk: Buffer, _encoding, callback) {
      if (gatherer === null) return callback(null, chunk);
      try {
        const gathered = gatherer.push(chunk);
        if (gathered === null) return callback();
        gatherer = null;
        this.push(options.plan(gathered.prologue));
        for (const rest of gathered.rest) this.push(rest);
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      callback(gatherer === null ? null : gatherer.endError());
    },
  });
}
