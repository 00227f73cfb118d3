// --level of the commands that write a zstd body (delta, signature): zstd's own 1 to 19.
import { type CommandSpec, type ParsedValues, usageError } from './args.js';
import { BODY_LEVEL } from '../io/zstd-body.js';

export const LEVEL_HELP = `  --level N            zstd level of the body, 1 to 19 (default ${BODY_LEVEL}, zstd's own)`;

export function bodyLevelOf(spec: CommandSpec, values: ParsedValues): number {
  const raw = values.level;
  if (raw === undefined) return BODY_LEVEL;
  if (typeof raw !== 'string' || !/^\d{1,2}$/.test(raw) || Number(raw) < 1 || Number(raw) > 19) throw usageError(spec, `--level takes 1 to 19, not ${JSON.stringify(raw)}`);
  return Number(raw);
}
