// SIGINT, SIGTERM and SIGHUP in the middle of every job that writes: convert to each format (to
// OUT, and in place), rewrite, extract-ram in its three forms, delta, signature and apply. Afterwards no program the job
// started is left (killed and reaped), no temporary is left, no output looks complete (removed,
// or under the LibvirtQemudPart magic), and the exit status is 128 + the signal. Inputs to OUT
// come through a FIFO that the test keeps feeding after the signal, so no job can finish first.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, openSync, readdirSync, readFileSync, readSync, closeSync, statSync, copyFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { SAVEKIT_BIN } from '../helpers/cli.js';
import { tempDir } from '../helpers/samples.js';
import { writeSyntheticImage } from '../helpers/synthetic-image.js';

const test = suite('cli/interrupt');
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const dir = tempDir();
const IMAGE = join(dir, 'guest.save');
const { payloadOffset } = writeSyntheticImage(IMAGE, { ramBytes: 512 * 1024 * 1024, realistic: true });
/** A delta of the image against itself, for apply (whose BASE then comes through the FIFO). */
const SELF_DELTA = join(dir, 'self.delta');
spawnSync(process.execPath, [SAVEKIT_BIN, 'delta', '--quiet', IMAGE, IMAGE, SELF_DELTA]);

/** The PIDs of the programs `pid` started (its direct children). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const magicOf = (path: string) => {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(16);
  readSync(fd, head, 0, 16, 0);
  closeSync(fd);
  return head.toString('latin1');
};

async function until(condition: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); ) {
    if (Date.now() > end) throw new Error('the job did not start');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Job {
  name: string;
  argv: (input: string, out: string) => string[];
  /** Reads the input from a FIFO the test feeds (else the file itself, for --in-place). */
  fifo: boolean;
  /** A program runs beside savekit: wait for it before the signal. */
  child: boolean;
  /** What may be left at OUT: nothing, or an image under the Part magic. */
  out: 'none' | 'part';
}

const JOBS: Job[] = [
  ...['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'sparse'].map((format): Job => ({ name: `convert --format ${format} - OUT`, argv: (input, out) => ['convert', '--format', format, input, out], fifo: true, child: ['bzip2', 'xz', 'lzop', 'zstd'].includes(format), out: 'part' })),
  ...['gzip', 'bzip2', 'xz', 'lzop', 'zstd'].map((format): Job => ({ name: `convert --format ${format} --in-place`, argv: (input) => ['convert', '--format', format, '--in-place', input], fifo: false, child: format !== 'gzip', out: 'none' })),
  { name: 'rewrite --paused - OUT', argv: (input, out) => ['rewrite', '--paused', input, out], fifo: true, child: false, out: 'part' },
  { name: 'extract-ram - OUTDIR', argv: (input, out) => ['extract-ram', input, out], fifo: true, child: false, out: 'none' },
  { name: 'extract-ram --physical - OUT', argv: (input, out) => ['extract-ram', '--physical', input, out], fifo: true, child: false, out: 'none' },
  { name: 'extract-ram --elf - OUT', argv: (input, out) => ['extract-ram', '--elf', input, out], fifo: true, child: false, out: 'none' },
  // A delta, a signature or an image cut short is removed: nothing half-made is left to be trusted.
  { name: 'delta BASE - OUT', argv: (input, out) => ['delta', IMAGE, input, out], fifo: true, child: true, out: 'none' },
  { name: 'signature - OUT', argv: (input, out) => ['signature', input, out], fifo: true, child: true, out: 'none' },
  { name: 'apply - DELTA OUT', argv: (input, out) => ['apply', input, SELF_DELTA, out], fifo: true, child: true, out: 'none' },
];

for (const job of JOBS) {
  test(`${job.name}: SIGINT, SIGTERM, SIGHUP stop it cleanly`, async () => {
    for (const signal of SIGNALS) {
      const work = tempDir();
      const out = join(work, 'out');
      let input = join(work, 'in.save');
      if (job.fifo) spawnSync('mkfifo', [input]);
      else copyFileSync(IMAGE, input);
      const child = spawn(process.execPath, [SAVEKIT_BIN, ...job.argv(input, out)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      let feeding = true;
      const fed = job.fifo ? feed(input, () => feeding) : Promise.resolve();
      // Started: its program runs, or its output holds payload bytes (a temporary, in place).
      await until(() => (job.child ? childrenOf(child.pid!).length > 0 : job.fifo ? writtenBeyond(out, payloadOffset) : readdirSync(work).some((name) => name.includes('savekit-convert'))));
      const programs = childrenOf(child.pid!);
      child.kill(signal);
      const status = await exited;
      feeding = false;
      await fed;
      const label = `${job.name}, ${signal}`;
      assert.is(status, 128 + constants.signals[signal], `${label}: ${stderr}`);
      assert.match(stderr, `error[ERR_INTERRUPTED]: interrupted by ${signal}`, label);
      for (const pid of programs) assert.not.ok(alive(pid), `${label}: program ${pid} is still there`);
      const left = readdirSync(work).filter((name) => name !== 'in.save' && name !== 'out');
      assert.equal(left, [], `${label}: left behind`);
      if (job.out === 'none') assert.not.ok(existsSync(out), `${label}: ${out} was left`);
      else if (existsSync(out)) assert.is(magicOf(out), 'LibvirtQemudPart', `${label}: the output looks complete`);
      if (!job.fifo) assert.ok(readFileSync(input).equals(readFileSync(IMAGE)), `${label}: the image changed`);
    }
  });
}

/** Feeds the image into the FIFO, then zeros, until told to stop (the reader gone ends it too). */
function feed(fifo: string, more: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const sink = createWriteStream(fifo);
    sink.on('error', () => resolve()); // EPIPE: savekit is gone
    sink.on('close', () => resolve());
    const source = createReadStream(IMAGE, { highWaterMark: 1024 * 1024 });
    source.on('data', (chunk) => {
      if (!more()) {
        source.destroy();
        sink.end();
        return;
      }
      if (!sink.write(chunk)) {
        source.pause();
        sink.once('drain', () => source.resume());
      }
    });
    source.on('end', () => {
      // The whole image went in before the signal was handled: keep the pipe open and silent
      // (savekit must still be stopped by the signal at its next checkpoint, and it is, since
      // its last read then returns 0 only when the pipe closes).
      const wait = setInterval(() => {
        if (more()) return;
        clearInterval(wait);
        sink.end();
      }, 10);
    });
  });
}

function writtenBeyond(path: string, bytes: number): boolean {
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) return readdirSync(path).length > 0;
    return stat.size > bytes || stat.blocks * 512 > 64 * 1024;
  } catch {
    return false;
  }
}

test.run();
