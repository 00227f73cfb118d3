// An s3:// object as a descriptor: a pipe with the transfer thread (transfer-worker.ts) at its
// other end. Every job that reads stdin or writes stdout with blocking calls reads or writes an
// object the same way, with memory bounded by the ranges or parts in flight. The pipe is a FIFO
// in a private folder, removed as soon as both ends are open (Node has no pipe(2)).
import { spawnSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { SaveImageError } from '../../errors.js';
import { executableAsset } from '../../sea.js';
import type { ObjectAddress } from './address.js';
import type { TransferMessage, TransferVerdict } from './transfer-plan.js';
import type { TransferWorkerData } from './transfer-worker.js';

export const TRANSFER_WORKER_ASSET = 'transfer-worker.cjs';

/** Aborts still running when the job ended: awaited (and what they left reported) before savekit exits. */
const aborting = new Set<Promise<SaveImageError | null>>();

/** Waits for every abort in progress; the uploads whose parts the store kept, said as errors. */
export async function settleTransfers(): Promise<SaveImageError[]> {
  const left = await Promise.all(aborting);
  aborting.clear();
  return left.filter((error): error is SaveImageError => error !== null);
}

/** Both ends of a new pipe: [read end, write end], blocking. */
function makePipe(): [number, number] {
  const folder = mkdtempSync(join(tmpdir(), 'savekit-pipe-'));
  try {
    const path = join(folder, 'pipe');
    const made = spawnSync('mkfifo', ['-m', '600', path]);
    if (made.status !== 0) throw new SaveImageError('ERR_IO', `cannot make a pipe in ${folder} (mkfifo: ${made.stderr?.toString().trim() || made.error?.message})`);
    // Opened read-write first, no end blocks waiting for the other; then each end on its own.
    const both = openSync(path, constants.O_RDWR);
    try {
      const readEnd = openSync(path, constants.O_RDONLY);
      const writeEnd = openSync(path, constants.O_WRONLY);
      return [readEnd, writeEnd];
    } finally {
      closeSync(both); // else neither end would ever see the other go
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/**
 * The thread and what it said. Its first word is the outcome (done, or the failure); a
 * failed upload may add that its parts were left behind. Waiting for it means waiting for the
 * thread to end by itself: an abort in progress is never cut short.
 */
class Transfer {
  readonly #port: MessagePort;
  readonly #worker: Worker;
  readonly #said: TransferMessage[] = [];
  readonly #ended: Promise<void>;

  constructor(data: Omit<TransferWorkerData, 'port'>) {
    const channel = new MessageChannel();
    this.#port = channel.port1;
    // Its stdout and stderr stay its own (see parallel-hash.ts): ours must not be created here.
    const options = { workerData: { ...data, port: channel.port2 }, transferList: [channel.port2], env: data.env, stdout: true, stderr: true, resourceLimits: { maxYoungGenerationSizeMb: 4 } };
    const bundled = executableAsset(TRANSFER_WORKER_ASSET);
    this.#worker = bundled
      ? new Worker(Buffer.from(bundled).toString('utf8'), { ...options, eval: true })
      : new Worker(new URL(import.meta.url.endsWith('.ts') ? './transfer-worker.ts' : './transfer-worker.js', import.meta.url), options);
    this.#port.on('message', (message: TransferMessage) => this.#said.push(message));
    this.#port.unref();
    this.#worker.once('error', (error) => this.#said.push({ type: 'error', code: 'ERR_IO', message: `the transfer thread failed: ${error.message}` }));
    this.#ended = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
  }

  /** Everything said so far, looked up without waiting (the caller may be blocked in a read). */
  said(): TransferMessage[] {
    for (let received = receiveMessageOnPort(this.#port); received; received = receiveMessageOnPort(this.#port)) this.#said.push(received.message as TransferMessage);
    return this.#said;
  }

  /** The first word: done, or the failure; null while it works. */
  outcome(): TransferMessage | null {
    return this.said()[0] ?? null;
  }

  tell(verdict: TransferVerdict): void {
    this.#port.postMessage(verdict);
  }

  /** Everything it said, once it has ended. */
  async ended(): Promise<TransferMessage[]> {
    await this.#ended;
    const said = this.said();
    this.#port.close();
    if (said.length === 0) said.push({ type: 'error', code: 'ERR_IO', message: 'the transfer thread stopped without a word' });
    return said;
  }
}

function errorOf(message: TransferMessage): SaveImageError | null {
  return message.type === 'error' ? new SaveImageError(message.code, message.message, message.offset === undefined ? {} : { offset: message.offset }) : null;
}

export interface ObjectInput {
  fd: number;
  /** The object's size, once the store has named it (always before the pipe's first byte); null before. */
  size(): number | null;
  /** The failure the transfer met, if any: the reason a read ended early or broke. */
  failure(): SaveImageError | null;
  /** At the end of the pipe: throws unless the whole object came through. */
  assertComplete(): void;
  /** The ETag of the object read, once the transfer has said it is done. */
  etag(): string | null;
  close(): Promise<void>;
}

/** The object, from its first byte, on the read end of a pipe. */
export function openObjectInput(address: ObjectAddress, env: NodeJS.ProcessEnv, etag?: string): ObjectInput {
  const [readEnd, writeEnd] = makePipe();
  const size = new Float64Array(new SharedArrayBuffer(8)).fill(-1);
  const transfer = new Transfer({ mode: 'read', fd: writeEnd, address, env, size: size.buffer as SharedArrayBuffer, ...(etag ? { etag } : {}) });
  return {
    fd: readEnd,
    size: () => (size[0]! >= 0 ? size[0]! : null),
    failure: () => {
      const outcome = transfer.outcome();
      return outcome ? errorOf(outcome) : null;
    },
    assertComplete() {
      const outcome = transfer.outcome();
      const error = outcome === null ? new SaveImageError('ERR_IO', `the transfer of ${address.url} ended without a word`) : errorOf(outcome);
      if (error) throw error;
    },
    etag() {
      const outcome = transfer.outcome();
      return outcome?.type === 'done' ? outcome.etag : null;
    },
    async close() {
      closeSync(readEnd); // a transfer still writing gets EPIPE and ends
      await transfer.ended();
    },
  };
}

export interface ObjectOutput {
  fd: number;
  /** The failure the upload met, if any (a write that failed with EPIPE was refused for this). */
  failure(): SaveImageError | null;
  /** The job wrote everything: complete the upload (only over the object `ifMatch` names, when given); the object appears now. */
  commit(ifMatch?: string): Promise<void>;
  /** The job failed: abort the upload (no parts left); any object there before stays. Resolves with what the store kept, if anything. */
  abort(): Promise<SaveImageError | null>;
}

export interface ObjectOutputOptions {
  /** Bytes expected (chooses the part size); null when unknown. */
  sizeHint?: number | null;
}

/** A new object, written through the write end of a pipe. */
export function openObjectOutput(address: ObjectAddress, env: NodeJS.ProcessEnv, options: ObjectOutputOptions = {}): ObjectOutput {
  const [readEnd, writeEnd] = makePipe();
  const transfer = new Transfer({ mode: 'write', fd: readEnd, address, env, sizeHint: options.sizeHint ?? null });
  let closed = false;
  const closeWriteEnd = () => {
    if (!closed) closeSync(writeEnd);
    closed = true;
  };
  return {
    fd: writeEnd,
    failure: () => {
      const outcome = transfer.outcome();
      return outcome ? errorOf(outcome) : null;
    },
    async commit(ifMatch?: string) {
      closeWriteEnd();
      transfer.tell({ type: 'commit', ...(ifMatch ? { ifMatch } : {}) });
      const said = await transfer.ended();
      const error = errorOf(said.find((message) => message.type === 'error' && message.leftBehind) ?? said[0]!);
      if (error) throw error;
    },
    abort() {
      transfer.tell({ type: 'abort' });
      closeWriteEnd();
      const done = transfer.ended().then((said) => {
        const behind = said.find((message) => message.type === 'error' && message.leftBehind);
        return behind ? errorOf(behind) : null; // parts left behind: said before savekit exits
      });
      aborting.add(done);
      return done;
    },
  };
}
