// Runs savekit the two ways users meet it: in-process through runCli (fast, for the bulk of
// the cases) and as the built executable in a child process (exit codes, stdin, no traces).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough, Readable } from 'node:stream';
import { runCli } from '../../lib/cli/run.js';

export interface CliResult {
  status: number;
  stdout: Buffer;
  stderr: string;
}

export const SAVEKIT_BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export async function runInProcess(argv: string[], stdin: Buffer = Buffer.alloc(0), env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const status = await runCli(argv, { stdinFd: -1, stdoutFd: -1, stdin: Readable.from([stdin], { objectMode: false }), stdout, stderr, env });
  return { status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
}

export function runBinary(argv: string[], input?: Buffer, env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [SAVEKIT_BIN, ...argv], {
    input: input ?? Buffer.alloc(0),
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
}

export function json(result: CliResult): Record<string, unknown> {
  return JSON.parse(result.stdout.toString()) as Record<string, unknown>;
}

/** Runs the executable feeding stdin chunk by chunk (each write flushed before the next). */
export async function runBinaryFed(argv: string[], chunks: Buffer[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [SAVEKIT_BIN, ...argv], { env: { ...process.env, ...env } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin.on('error', () => undefined); // the child may stop reading early (EPIPE)
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  for (const chunk of chunks) {
    if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once('drain', resolve));
  }
  child.stdin.end();
  const status = await exited;
  return { status, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() };
}

/** The draft a failed `savekit edit` kept (named in its message): its text, then its folder removed. */
export function takeKeptDraft(stderr: string): string {
  const draft = /kept in (\S+?)(?:;|$)/m.exec(stderr)?.[1];
  if (draft === undefined) throw new Error(`no kept draft named in: ${stderr}`);
  const text = readFileSync(draft, 'utf8');
  rmSync(dirname(draft), { recursive: true, force: true });
  return text;
}
