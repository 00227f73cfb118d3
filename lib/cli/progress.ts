// A progress bar on stderr for long payload work (rewrite, hash, verify), like pv: bytes, rate
// and ETA when the size is known, bytes and rate otherwise. Only when stderr is a terminal, and
// never with --quiet or --json. Drawn by cli-progress, whose synchronous update redraws from
// inside savekit's blocking copy loop.
import type cliProgressModule from 'cli-progress';
import { createRequire } from 'node:module';
import type { OptionSpec, ParsedValues } from './args.js';
import type { CliIo } from './io.js';

/** --quiet, for every command that draws the bar. */
export const QUIET_OPTION: OptionSpec = { quiet: { type: 'boolean', short: 'q' } };
export const QUIET_HELP = '  --quiet, -q          no progress bar (shown only when stderr is a terminal)';

interface Progress {
  start(totalBytes: number | null): void;
  update(bytes: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { start() {}, update() {}, stop() {} };

/** Runs `work` with the bar's hooks; the bar is gone once `work` ends, whichever way it ends. */
export async function withProgress<T>(io: CliIo, values: ParsedValues, work: (hooks: ProgressHooks) => Promise<T>): Promise<T> {
  const progress = createProgress(io, values);
  try {
    return await work(progressHooks(progress));
  } finally {
    progress.stop();
  }
}

function createProgress(io: CliIo, values: ParsedValues): Progress {
  if (!io.stderr.isTTY || values.quiet || values.json) return NO_PROGRESS;
  // Loaded only for a terminal: 20 ms of start-up that a pipe never needs.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;
  let bar: cliProgressModule.SingleBar | null = null;
  let started = 0;
  let known = false;
  const payload = (bytes: number): Record<string, string> => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    return { done: formatBytes(bytes), rate: `${formatBytes(bytes / seconds)}/s` };
  };
  return {
    start(totalBytes) {
      known = totalBytes !== null && totalBytes > 0;
      started = Date.now();
      bar = new cliProgress.SingleBar(
        {
          stream: io.stderr,
          format: known ? '{bar} {percentage}% | {done} of {size} | {rate} | ETA {eta_formatted}' : '{done} | {rate}',
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(known ? totalBytes! : 1, 0, { ...payload(0), size: known ? formatBytes(totalBytes!) : '' });
    },
    update(bytes) {
      bar?.update(known ? bytes : 0, payload(bytes));
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** What the payload loops call. */
export interface ProgressHooks {
  onStart: (total: number | null) => void;
  onProgress: (bytes: number) => void;
}

function progressHooks(progress: Progress): ProgressHooks {
  return { onStart: (total) => progress.start(total), onProgress: (bytes) => progress.update(bytes) };
}
