// Options shared by the commands that edit an image in place or write it anew.
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { planRewrite } from '../edit/plan.js';
import { ioError } from '../errors.js';
import { type CommandSpec, exclusive, integerOption, type OptionSpec, type ParsedValues, usageError } from './args.js';

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

/** The options prologuePlanOf reads (with the run state), as rewrite and convert declare them. */
export const PROLOGUE_OPTIONS: OptionSpec = {
  ...RUN_STATE_OPTIONS,
  xml: { type: 'string' },
  version: { type: 'string' },
  'drop-extensions': { type: 'boolean' },
  slack: { type: 'string' },
  force: { type: 'boolean' },
};

/**
 * The new prologue of `rewrite` and `convert`, from their options (--xml, --running/--paused,
 * --version, --slack, --drop-extensions, --force), checked before anything is read.
 */
export async function prologuePlanOf(spec: CommandSpec, values: ParsedValues): Promise<(image: SaveImagePrologue) => Buffer> {
  const wasRunning = wasRunningOption(spec, values);
  const version = values.version === undefined ? undefined : Number(values.version);
  if (version !== undefined && version !== 2 && version !== 3) throw usageError(spec, `--version takes 2 or 3, not ${JSON.stringify(values.version)}`);
  const slack = integerOption(spec, values, 'slack');
  const xml = typeof values.xml === 'string' ? await readFile(values.xml).catch((error: unknown) => Promise.reject(ioError('read', String(values.xml), error))) : undefined;
  return (image) =>
    planRewrite(image, {
      ...(xml ? { xml } : {}),
      ...(wasRunning === undefined ? {} : { wasRunning }),
      ...(version === undefined ? {} : { version }),
      ...(slack === undefined ? {} : { slack }),
      dropExtensions: values['drop-extensions'] === true,
      force: values.force === true,
    });
}
