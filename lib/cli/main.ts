#!/usr/bin/env node
// The savekit executable: wires the real process to runCli. The only file that exits.
import { runCli } from './run.js';

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // A reader that closed the pipe (`savekit dumpxml x | head`) is a normal end, as for cat.
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

const status = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
process.exitCode = status;
