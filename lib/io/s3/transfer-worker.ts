// The thread that moves an object between the store and a pipe, so that savekit's jobs, which
// read and write descriptors with blocking calls, see an s3:// object as they see stdin or
// stdout. Reading: ranged GETs, several in flight, written to the pipe in order, each pinned to
// the ETag first seen. Writing: the pipe's bytes uploaded in parts, several in flight; the
// object appears only on the main thread's "commit", and "abort" (or any failure) aborts the
// upload. Every outcome is posted on the port before the pipe is closed, so the main thread
// finds it as soon as it sees the end of the pipe.
import { close, read, write } from 'node:fs';
import { promisify } from 'node:util';
import { type MessagePort, workerData } from 'node:worker_threads';
import { SaveImageError } from '../../errors.js';
import type { ObjectAddress } from './address.js';
import { type CompletedPart, ObjectStore } from './s3-client.js';
import { partBytesFor, type TransferMessage, type TransferVerdict } from './transfer-plan.js';

export interface TransferWorkerData {
  mode: 'read' | 'write';
  fd: number;
  port: MessagePort;
  address: ObjectAddress;
  env: NodeJS.ProcessEnv;
  /** read: the ETag to pin to (else the first one seen). */
  etag?: string;
  /** read: one float64, the object's size once the store has named it (before any byte is in the pipe); -1 until then. */
  size?: SharedArrayBuffer;
  /** write: bytes expected, to choose the part size (null: unknown). */
  sizeHint?: number | null;
}

/** Bytes gathered before a write to the pipe (the size savekit grows pipes to). */
const PIPE_WRITE_BYTES = 1024 * 1024;
const UPLOADS_IN_FLIGHT = 4;

const readAsync = promisify(read);
const writeAsync = promisify(write);
const closeAsync = promisify(close);

const data = workerData as TransferWorkerData;
const port = data.port;

function post(message: TransferMessage): void {
  port.postMessage(message);
}

function failure(error: unknown): TransferMessage {
  if (SaveImageError.is(error)) return { type: 'error', code: error.code, message: error.message, ...(error.offset === undefined ? {} : { offset: error.offset }) };
  return { type: 'error', code: 'ERR_IO', message: `the transfer of ${data.address.url} failed: ${error instanceof Error ? error.message : String(error)}` };
}

async function writeAll(fd: number, bytes: Buffer): Promise<void> {
  for (let done = 0; done < bytes.length; ) done += (await writeAsync(fd, bytes, done, bytes.length - done, null)).bytesWritten;
}

async function readObject(store: ObjectStore): Promise<void> {
  // One GET of the whole object, consumed as the pipe takes it (measured against ranged GETs in
  // flight: faster on Ceph, and memory is a socket's buffers, not ranges held for their turn).
  // Chunks are gathered to PIPE_WRITE_BYTES so the pipe is written in a few large writes.
  const size = data.size ? new Float64Array(data.size) : null;
  const stream = store.stream(data.address, 0, data.etag, undefined, (object) => {
    if (size) size[0] = object.size;
  });
  const batch = Buffer.allocUnsafe(PIPE_WRITE_BYTES);
  let filled = 0;
  try {
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        await writeAll(data.fd, batch.subarray(0, filled));
        return void post({ type: 'done', bytes: next.value.size, etag: next.value.etag });
      }
      const chunk = next.value;
      if (filled + chunk.length > batch.length) {
        await writeAll(data.fd, batch.subarray(0, filled));
        filled = 0;
      }
      if (chunk.length >= batch.length) await writeAll(data.fd, chunk);
      else filled += chunk.copy(batch, filled);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') return void post({ type: 'done', bytes: 0, etag: '', stopped: true }); // the reader had what it wanted
    throw error;
  } finally {
    await stream.return(undefined as never).catch(() => undefined); // closes the connection when the reader stopped early
  }
}

async function readInto(fd: number, buffer: Buffer): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead: n } = await readAsync(fd, buffer, filled, buffer.length - filled, null);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

async function writeObject(store: ObjectStore, verdict: Promise<TransferVerdict>): Promise<void> {
  let uploadId: string | null = null;
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  let total = 0;
  let firstFailure: unknown = null;
  try {
    for (let partNumber = 1; ; partNumber++) {
      const buffer = Buffer.allocUnsafe(partBytesFor(partNumber, data.sizeHint ?? null));
      const filled = await readInto(data.fd, buffer);
      total += filled;
      if (partNumber === 1 && filled < buffer.length) {
        // The whole object in one part: one PUT, conditions and all, once the job says it is whole.
        const word = await verdict;
        if (word.type === 'abort') return void post({ type: 'aborted' });
        const etag = await store.put(data.address, buffer.subarray(0, filled), { ...(word.ifMatch ? { ifMatch: word.ifMatch } : {}) });
        return void post({ type: 'done', bytes: total, etag });
      }
      if (filled === 0) break;
      uploadId ??= await store.startUpload(data.address);
      const id = uploadId;
      const upload = store.uploadPart(data.address, id, partNumber, buffer.subarray(0, filled)).then((part) => void parts.push(part));
      const tracked = upload.catch((error: unknown) => void (firstFailure ??= error)).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= UPLOADS_IN_FLIGHT) await Promise.race(inFlight);
      if (firstFailure) throw firstFailure;
      if (filled < buffer.length) break;
    }
    await Promise.all(inFlight);
    if (firstFailure) throw firstFailure;
    const word = await verdict;
    if (word.type === 'abort') throw new SaveImageError('ERR_INTERRUPTED', 'aborted');
    if (word.ifMatch) {
      // Ceph 18 ignores If-Match on the completion: look just before completing (the window left is the completion's own time).
      const now = await store.head(data.address);
      if (now.etag !== word.ifMatch) throw new SaveImageError('ERR_IMAGE_CHANGED', `${data.address.url} changed while savekit replaced it (ETag ${word.ifMatch} when read, ${now.etag} now): nothing was written`);
    }
    parts.sort((a, b) => a.PartNumber - b.PartNumber);
    const etag = await store.completeUpload(data.address, uploadId!, parts, word.ifMatch);
    post({ type: 'done', bytes: total, etag });
  } catch (error) {
    const aborting = SaveImageError.is(error) && error.code === 'ERR_INTERRUPTED' && error.message === 'aborted';
    // Said first, then the pipe closed: the job's next write fails (EPIPE) and finds the reason here.
    if (!aborting) post(failure(error));
    await closeOnce();
    const aborted = uploadId === null || (await store.abortUpload(data.address, uploadId));
    if (!aborted) post({ type: 'error', code: 'ERR_STORE_UNREACHABLE', message: leftBehind(uploadId!), leftBehind: true });
    else if (aborting) post({ type: 'aborted' });
  }
}

function leftBehind(uploadId: string): string {
  const { bucket, key } = data.address;
  return `the store did not answer the abort of upload ${uploadId}: its parts stay until removed (aws s3api abort-multipart-upload --bucket ${bucket} --key ${key} --upload-id ${uploadId}, or a lifecycle rule)`;
}

let closed: Promise<void> | null = null;

function closeOnce(): Promise<void> {
  closed ??= closeAsync(data.fd).catch(() => undefined);
  return closed;
}

async function main(): Promise<void> {
  let decide: (verdict: TransferVerdict) => void = () => undefined;
  const verdict = new Promise<TransferVerdict>((resolve) => (decide = resolve));
  port.on('message', (message: TransferVerdict) => decide(message));
  let store: ObjectStore | null = null;
  try {
    store = await ObjectStore.connect(data.env);
    if (data.mode === 'read') await readObject(store);
    else await writeObject(store, verdict);
  } catch (error) {
    post(failure(error));
  } finally {
    await closeOnce();
    store?.close();
    port.close();
  }
}

void main();
