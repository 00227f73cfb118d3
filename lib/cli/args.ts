// Command-line parsing for every command, on node:util parseArgs (no dependency, no start-up
// cost). A command declares its options, positionals and help; mistakes become ERR_USAGE (exit 2).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { DecodeHeaderOptions } from '../codec/header.js';
import { SaveImageError } from '../errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  /** Paragraphs after the usage line: what it does, options, exit status. */
  help: string;
  options: OptionSpec;
  positionals: { min: number; max: number };
  /** The values an option takes, where they are a fixed list (for shell completion and the man page). */
  choices?: Record<string, readonly string[]>;
  /** The values a positional takes, where they are a fixed list. */
  positionalChoices?: readonly string[];
}

export type ParsedValues = Record<string, string | boolean | undefined>;

export interface ParsedArgs {
  values: ParsedValues;
  positionals: string[];
}

/** Options every image-reading command accepts. */
export const COMMON_OPTIONS: OptionSpec = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
  'allow-partial': { type: 'boolean' },
  'max-data-len': { type: 'string' },
};

export const COMMON_HELP = `Common options:
  --json               print one JSON object on stdout (errors too)
  --allow-partial      read an image whose magic is LibvirtQemudPart (an unfinished write)
  --max-data-len BYTES refuse a data region larger than this (default 67108864)
  -h, --help           show this help

IMAGE is a path, or - for standard input.
Exit status: 0 success, 1 image or I/O error, 2 usage error.`;

export function parseCommandArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options: spec.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(spec, error instanceof Error ? error.message : String(error));
  }
  const values = parsed.values as ParsedValues;
  if (values.help) return { values, positionals: parsed.positionals };
  const count = parsed.positionals.length;
  if (count < spec.positionals.min || count > spec.positionals.max) {
    throw usageError(spec, count < spec.positionals.min ? 'missing argument' : `unexpected argument ${JSON.stringify(parsed.positionals[spec.positionals.max])}`);
  }
  return { values, positionals: parsed.positionals };
}

export function usageError(spec: CommandSpec, message: string): SaveImageError {
  return new SaveImageError('ERR_USAGE', `${message}\nusage: ${spec.usage}\nTry 'savekit ${spec.name} --help'.`);
}

/** A non-negative integer option, or ERR_USAGE. */
export function integerOption(spec: CommandSpec, values: ParsedValues, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || !Number.isSafeInteger(value)) throw usageError(spec, `--${name} takes a whole number of bytes, not ${JSON.stringify(raw)}`);
  return value;
}

/** A small whole number (a level, a thread count): up to three digits. */
export function smallIntegerOption(spec: CommandSpec, values: ParsedValues, name: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d{1,3}$/.test(raw)) throw usageError(spec, `--${name} takes a whole number, not ${JSON.stringify(raw)}`);
  return Number(raw);
}

/** Refuses two flags that exclude each other. */
export function exclusive(spec: CommandSpec, values: ParsedValues, ...names: string[]): void {
  const given = names.filter((name) => values[name] !== undefined && values[name] !== false);
  if (given.length > 1) throw usageError(spec, `${given.map((n) => `--${n}`).join(' and ')} exclude each other`);
}

export function formatHelp(spec: CommandSpec): string {
  return `usage: ${spec.usage}\n\n${spec.summary}\n\n${spec.help}\n`;
}

/** --allow-partial and --max-data-len, as the readers take them. */
export function readOptionsOf(spec: CommandSpec, values: ParsedValues): DecodeHeaderOptions {
  const maxDataLen = integerOption(spec, values, 'max-data-len');
  return { allowPartial: values['allow-partial'] === true, ...(maxDataLen === undefined ? {} : { maxDataLen }) };
}
