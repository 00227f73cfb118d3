// What a command may touch of the process: its streams and environment, passed in by main.ts
// so commands stay testable in-process. Exit statuses and error printing live here, in one table.
import type { Readable, Writable } from 'node:stream';
import { type ErrorCode, SaveImageError } from '../errors.js';

export interface CliIo {
  /** Descriptors for the commands that copy payloads with blocking reads and writes. */
  stdinFd: number;
  stdoutFd: number;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Every code exits 1 but usage errors; a table so new codes get a deliberate status. */
const EXIT_STATUS: Partial<Record<ErrorCode, number>> = { ERR_USAGE: EXIT_USAGE };

export function exitStatusOf(error: SaveImageError): number {
  return EXIT_STATUS[error.code] ?? EXIT_FAILURE;
}

/** Writes text to stdout; resolves when flushed (a closed pipe is the reader's choice, not an error). */
export function print(io: CliIo, text: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    io.stdout.write(text, () => resolve());
  });
}

export function printJson(io: CliIo, value: unknown): Promise<void> {
  return print(io, `${JSON.stringify(value, null, 2)}\n`);
}

/** Reports an error the way every command does, and returns the exit status. */
export async function reportError(io: CliIo, error: unknown, json: boolean): Promise<number> {
  const known = SaveImageError.is(error) ? error : asSaveImageError(error);
  if (json) {
    await printJson(io, { error: { code: known.code, message: known.message, offset: known.offset ?? null } });
  } else {
    io.stderr.write(`error[${known.code}]: ${known.message}\n`);
  }
  return exitStatusOf(known);
}

/** A system error (errno) becomes ERR_IO with its message; anything else is a bug: show its stack. */
function asSaveImageError(error: unknown): SaveImageError {
  const sys = error as NodeJS.ErrnoException;
  if (sys instanceof Error && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    return new SaveImageError('ERR_IO', `${sys.syscall} failed (${sys.code}): ${sys.message}`, { cause: error });
  }
  return new SaveImageError('ERR_IO', `internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
}
