// Ending a job on a signal. The CLI's SIGINT, SIGTERM and SIGHUP handler calls interrupt(): every
// program savekit started is killed at once (and reaped where the job awaits its exit), and the
// job's long loops, at their next checkpoint, throw ERR_INTERRUPTED, so the job ends through its
// ordinary failure path: an in-place temporary removed, an output without a magic removed, one
// with a magic left under LibvirtQemudPart. Checkpoints yield to the event loop, where the
// signal's handler runs; a loop blocked in a read of a silent pipe sees it when the pipe speaks.
import type { ChildProcess } from 'node:child_process';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SaveImageError } from '../errors.js';

/** Bytes a loop may move between two checkpoints (a few ms of work). */
export const CHECKPOINT_BYTES = 32 * 1024 * 1024;

let received: NodeJS.Signals | null = null;
const children = new Set<ChildProcess>();

/** The signal that asked the job to stop, or null. */
export function interruptedBy(): NodeJS.Signals | null {
  return received;
}

/** Stops the job: programs killed now, loops stopped at their next checkpoint. */
export function interrupt(signal: NodeJS.Signals): void {
  received ??= signal;
  for (const child of children) child.kill('SIGKILL');
}

/** A program savekit started: killed if the job is interrupted while it runs. */
export function trackChild(child: ChildProcess): void {
  if (received !== null) child.kill('SIGKILL');
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function assertNotInterrupted(): void {
  if (received !== null) throw interruptedError(received);
}

/** What a job ended by `signal` reports, whatever failed on the way down. */
export function interruptedError(signal: NodeJS.Signals): SaveImageError {
  return new SaveImageError('ERR_INTERRUPTED', `interrupted by ${signal}: stopped, and what it was writing removed or left under the LibvirtQemudPart magic`);
}

/** Lets a signal's handler run (one turn of the event loop), then stops if it asked to. */
export async function checkpoint(): Promise<void> {
  await nextTurn();
  assertNotInterrupted();
}

/** Resolves once every program savekit started has exited and been reaped (or after `ms`). */
export async function childrenGone(ms: number): Promise<void> {
  for (const end = Date.now() + ms; children.size > 0 && Date.now() < end; ) await new Promise((resolve) => setTimeout(resolve, 10));
}

/** A checkpoint every CHECKPOINT_BYTES of a loop's work: `await ticker.tick(n)` after each step. */
export class Checkpoints {
  #since = 0;

  async tick(bytes: number): Promise<void> {
    if ((this.#since += bytes) < CHECKPOINT_BYTES) return;
    this.#since = 0;
    await checkpoint();
  }
}
