#!/usr/bin/env node
// The savekit executable: wires the real process to runCli. The only file that exits.
// process.stdin and process.stdout are touched only when a command asks for them: creating
// them turns a piped fd 0 or 1 non-blocking, which would slow the blocking copy loop.
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import { useNativeAddon } from '../native.js';
import { reportTrials } from '../io/file-ways.js';
import { useFileMapping } from '../io/mapped-file.js';
import { forceReadWay } from '../io/way-trial.js';
import { childrenGone, interrupt, interruptedBy } from '../io/interrupt.js';
import type { CliIo } from './io.js';
import { runCli } from './run.js';

// Ctrl-C, kill, a closed terminal: the job stops its programs and ends through its failure
// path (lib/io/interrupt.ts), then exits 128 + the signal. A second signal exits at once.
const exitStatusOf = (signal: NodeJS.Signals) => 128 + constants.signals[signal];
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interruptedBy() !== null) process.exit(exitStatusOf(interruptedBy()!));
    interrupt(signal);
    // A job that cannot get to a checkpoint (its loop blocked on a silent pipe) is not waited on forever.
    setTimeout(() => process.exit(exitStatusOf(signal)), 10_000).unref();
  });
}

// The addon's fallbacks (pipes as they are, xxhash-wasm) on demand, for tests and a suspect build.
if (process.env.SAVEKIT_NO_NATIVE === '1') useNativeAddon(false);
// Large files are read mapped or copied, whichever a trial on the file finds faster here; these
// force one way for every file, to compare them or to rule one out.
if (process.env.SAVEKIT_NO_MMAP === '1') {
  useFileMapping(false);
  forceReadWay('copied');
} else if (process.env.SAVEKIT_MMAP === '1') forceReadWay('mapped');
if (process.env.SAVEKIT_TRACE_READS === '1') {
  const rate = (nanosPerMiB: number) => `${(1048576 / nanosPerMiB).toFixed(1)} GB/s`;
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  reportTrials(({ chosen, mapped, copied, served, rounds }) =>
    process.stderr.write(`savekit: read ${chosen} (mapped ${gib(served.mapped)}, copied ${gib(served.copied)}; ${rounds} rounds, the last with this job's work: mapped ${rate(mapped)}, copied ${rate(copied)})\n`),
  );
}
// The AWS SDK (s3:// addresses) warns on Node 20 that its releases from 2027 on need Node 22:
// savekit pins its release and moves on deliberately, so its users need not read that.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

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

const status = await runCli(process.argv.slice(2), io);
const signal = interruptedBy();
if (signal !== null) await childrenGone(2000); // killed by interrupt(): reaped before savekit goes
// A job the signal stopped exits 128 + the signal; one that had finished its work keeps its 0.
process.exitCode = signal === null || status === 0 ? status : exitStatusOf(signal);
