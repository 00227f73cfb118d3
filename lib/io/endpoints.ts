// Where a job's bytes come from and go to, whatever they are: a path, - for stdin and stdout,
// or an s3:// object (a pipe with the transfer thread at its other end, s3/object-pipe.ts).
// Every one is an `Endpoint` (a descriptor with a label and a close), and an input is read
// through one `FdSource`: the jobs take those and never learn which kind they were given.
// Opened here, closed by the caller through `close()`; an object OUT appears only when
// `finish()` completes it, and is aborted otherwise.
import { closeSync, fstatSync, openSync, rmSync, statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { ioError, SaveImageError } from '../errors.js';
import { modeFromSource, narrowTo } from '../file/modes.js';
import { assertNoJournal } from '../file/open.js';
import { FdSource, type Upstream } from './fd-source.js';
import { type ObjectAddress, objectAddressOf } from './s3/address.js';
import { openObjectInput, openObjectOutput } from './s3/object-pipe.js';

/** What opening an argument needs of the process: its standard descriptors and environment. */
export interface ProcessEnds {
  stdinFd: number;
  stdoutFd: number;
  env: NodeJS.ProcessEnv;
}

/** An opened input or output: a descriptor, what to call it, and how to let it go. */
export interface Endpoint {
  fd: number;
  label: string;
  /** A regular file (an output then gets the Part magic until it is complete). */
  isFile: boolean;
  close(): void;
  /** An object's transfer: what went wrong at the other end of the pipe. */
  upstream?: Upstream;
  /** An object IN: the ETag its bytes were read under, once read to the end. */
  version?(): string | null;
  /** An object OUT: completes the upload (the object appears). Awaited before success is reported. */
  finish?(): Promise<void>;
}

/** Where inputs and outputs that are objects failed, if they did: the reason behind a cut read or an EPIPE. */
export function transferFailure(...opened: (Endpoint | null | undefined)[]): SaveImageError | null {
  for (const one of opened) {
    const failure = one?.upstream?.failure();
    if (failure) return failure;
  }
  return null;
}

/** Completes OUT when it is an object (a file or a pipe is complete once written). */
export async function finishOutput(output: Endpoint | null): Promise<void> {
  await output?.finish?.();
}

export async function openInput(io: ProcessEnds, argument: string): Promise<Endpoint> {
  if (argument === '-') return { fd: io.stdinFd, label: 'stdin', isFile: false, close() {} };
  const address = objectAddressOf(argument);
  if (address) {
    const object = openObjectInput(address, io.env);
    return { fd: object.fd, label: address.url, isFile: false, upstream: object, version: () => object.etag(), close: () => void object.close() };
  }
  await assertNoJournal(argument);
  let fd: number;
  try {
    fd = openSync(argument, 'r');
  } catch (error) {
    throw ioError('open', argument, error);
  }
  return { fd, label: argument, isFile: fstatSync(fd).isFile(), close: () => closeSync(fd) };
}

/**
 * Opens OUT for writing (created or truncated), refusing to overwrite the input itself, and
 * refusing a terminal as stdout, as gzip and zstd do: an image there garbles the screen.
 */
export function openOutput(io: ProcessEnds, argument: string, input: Endpoint): Endpoint {
  if (argument === '-') {
    if (io.stdoutFd >= 0 && isatty(io.stdoutFd)) {
      throw new SaveImageError('ERR_USAGE', 'not writing a save image to a terminal: give OUT as a file, or redirect stdout (savekit ... > out.save)');
    }
    return { fd: io.stdoutFd, label: 'stdout', isFile: false, close() {} };
  }
  const address = objectAddressOf(argument);
  if (address) {
    if (input.label === address.url) throw new SaveImageError('ERR_USAGE', `${argument} is the input itself: write to another object (savekit define and set edit in place)`);
    return objectOutput(io, address, input);
  }
  const inputStat = fstatSync(input.fd);
  const mode = modeFromSource(inputStat); // no wider than the image, from the first byte
  let fd: number;
  try {
    fd = openSync(argument, 'a+', mode); // opened without truncating, so the check below comes first
  } catch (error) {
    throw ioError('create', argument, error, { writing: true });
  }
  const outputStat = fstatSync(fd);
  if (inputStat.isFile() && inputStat.dev === outputStat.dev && inputStat.ino === outputStat.ino) {
    closeSync(fd);
    throw new SaveImageError('ERR_USAGE', `${argument} is the input itself: write to another file (savekit define and set edit in place)`);
  }
  try {
    if (outputStat.isFile()) narrowTo(fd, mode);
  } catch (error) {
    closeSync(fd);
    throw ioError('narrow the permissions of', argument, error, { writing: true });
  }
  closeSync(fd);
  try {
    fd = openSync(argument, 'w+'); // readable too: convert --seal hashes what it wrote
  } catch (error) {
    throw ioError('create', argument, error, { writing: true });
  }
  return { fd, label: argument, isFile: fstatSync(fd).isFile(), close: () => closeSync(fd) };
}

/**
 * An object OUT: a pipe to an upload that completes in `finish()` (when `replacing`, only over
 * the object that input read, by its ETag) and is aborted by `close()` before that.
 */
function objectOutput(io: ProcessEnds, address: ObjectAddress, input: Endpoint, replacing = false): Endpoint {
  const object = openObjectOutput(address, io.env, { sizeHint: input.isFile ? fstatSync(input.fd).size : null });
  let finished = false;
  return {
    fd: object.fd,
    label: address.url,
    isFile: false,
    upstream: { failure: () => object.failure(), assertComplete() {} },
    finish: async () => {
      finished = true;
      const read = replacing ? (input.version?.() ?? null) : null;
      if (replacing && read === null) {
        await object.abort();
        throw new SaveImageError('ERR_IMAGE_CHANGED', `${address.url} was not read to its end: not replaced`);
      }
      await object.commit(read ?? undefined);
    },
    close: () => {
      if (!finished) void object.abort(); // awaited, and reported, before savekit exits (run.ts)
      finished = true;
    },
  };
}

/** OUT of `convert --in-place` of an object: the same key, replaced only if it still holds the object read. */
export function openObjectReplacement(io: ProcessEnds, input: Endpoint): Endpoint {
  return objectOutput(io, objectAddressOf(input.label)!, input, true);
}

/** ERR_USAGE when OUT is one of the other inputs (openOutput checks the one it is given). */
export function assertOutputIsNot(argument: string, inputs: Endpoint[]): void {
  if (argument === '-') return;
  if (objectAddressOf(argument)) {
    const same = inputs.find((input) => input.label === argument);
    if (same) throw new SaveImageError('ERR_USAGE', `${argument} is an input: write to another object`);
    return;
  }
  let out;
  try {
    out = statSync(argument);
  } catch {
    return; // not there yet: it cannot be an input
  }
  for (const input of inputs) {
    const stat = fstatSync(input.fd);
    if (stat.isFile() && stat.dev === out.dev && stat.ino === out.ino) throw new SaveImageError('ERR_USAGE', `${argument} is ${input.label}, an input: write to another file`);
  }
}

/** Opens each argument in turn (a path or -); those opened are closed again if one fails. */
export async function openInputs(io: ProcessEnds, args: string[]): Promise<Endpoint[]> {
  const opened: Endpoint[] = [];
  try {
    for (const arg of args) opened.push(await openInput(io, arg));
    return opened;
  } catch (error) {
    for (const input of opened) input.close();
    throw error;
  }
}

/**
 * Runs `job`, which opens OUT through `open` when it is ready to write, and closes the inputs
 * and OUT however it ends. A file OUT the job did not finish is removed (delta, signature and
 * apply outputs are of no use cut short: a signal, a full disk, a refused BASE). EPIPE on stdout
 * is a quiet end (null), as for cat; any other failure that is not a SaveImageError is named as
 * writing `what` to OUT.
 */
export async function writeOutput<T>(
  outArg: string,
  inputs: Endpoint[],
  what: string,
  job: (open: (opener: () => Endpoint) => number) => Promise<T>,
): Promise<T | null> {
  let output: Endpoint | null = null;
  let done = false;
  try {
    const result = await job((opener) => (output = opener()).fd);
    await finishOutput(output);
    done = true;
    return result;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPIPE' && outArg === '-') return null;
    const behind = transferFailure(...inputs, output);
    if (behind) throw behind;
    throw SaveImageError.is(error) ? error : ioError(`write ${what} to`, (output as Endpoint | null)?.label ?? outArg, error, { writing: true });
  } finally {
    const out = output as Endpoint | null;
    out?.close();
    if (!done && out?.isFile) rmSync(outArg, { force: true });
    for (const input of inputs) input.close();
  }
}

/** Pipes are grown to 1 MiB unless SAVEKIT_NO_GROW_PIPES=1 (to compare, or to rule it out). */
export function growPipes(io: ProcessEnds): boolean {
  return io.env.SAVEKIT_NO_GROW_PIPES !== '1';
}

/** Opens IMAGE (a path or -) as an FdSource for `use`, and closes it however `use` ends. */
export async function withSource<T>(io: ProcessEnds, argument: string, use: (source: FdSource, input: Endpoint) => Promise<T>): Promise<T> {
  const input = await openInput(io, argument);
  try {
    return await use(sourceOf(io, input), input);
  } catch (error) {
    throw transferFailure(input) ?? error;
  } finally {
    input.close();
  }
}

/** The FdSource over an opened input (an object's transfer as its upstream). */
export function sourceOf(io: ProcessEnds, input: Endpoint): FdSource {
  return new FdSource(input.fd, { growPipe: growPipes(io), upstream: input.upstream });
}
