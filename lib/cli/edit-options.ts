// Options shared by the commands that edit an image in place.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ioError } from '../errors.js';
import { type CommandSpec, exclusive, type OptionSpec, type ParsedValues } from './args.js';

export const RUN_STATE_OPTIONS: OptionSpec = {
  running: { type: 'boolean' },
  paused: { type: 'boolean' },
};

export const RUN_STATE_HELP = `  --running            mark the image to resume the guest after restore (was_running = 1)
  --paused             mark the image to leave the guest paused after restore (was_running = 0)`;

/** 1, 0, or undefined (keep) from --running / --paused. */
export function wasRunningOption(spec: CommandSpec, values: ParsedValues): 0 | 1 | undefined {
  exclusive(spec, values, 'running', 'paused');
  if (values.running) return 1;
  if (values.paused) return 0;
  return undefined;
}

/** The bytes of XMLFILE, or of stdin for `-`. */
export async function readXmlArgument(argument: string, stdin: Readable): Promise<Buffer> {
  if (argument !== '-') return readFile(argument).catch((error: unknown) => Promise.reject(ioError('read', argument, error)));
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
