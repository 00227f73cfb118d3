#!/usr/bin/env node
// The savekit executable: wires the real process to runCli. The only file that exits.
// process.stdin and process.stdout are touched only when a command asks for them: creating
// them turns a piped fd 0 or 1 non-blocking, which would slow the blocking copy loop.
import type { Writable } from 'node:stream';
import type { CliIo } from './io.js';
import { runCli } from './run.js';

let stdout: Writable | undefined;

const io: CliIo = {
  stdinFd: 0,
  stdoutFd: 1,
  get stdin() {
    return process.stdin;
  },
  get stdout() {
    if (!stdout) {
      stdout = process.stdout;
      // A reader that closed the pipe (`savekit dumpxml x | head`) is a normal end, as for cat.
      stdout.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
        throw error;
      });
    }
    return stdout;
  },
  get stderr() {
    return process.stderr;
  },
  env: process.env,
};

process.exitCode = await runCli(process.argv.slice(2), io);
