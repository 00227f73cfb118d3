// FilePort wrappers for tests: one that counts the bytes read, one that stops an edit at the
// Nth write or sync as a crash would (the process "dies": nothing after that step runs).
import { closeSync, openSync, readSync } from 'node:fs';
import { type FileLike, type FilePort, nodeFiles } from '../../lib/file/file-port.js';

export function countingFiles(): { files: FilePort; bytesRead: () => number } {
  let bytesRead = 0;
  const files: FilePort = {
    ...nodeFiles,
    async open(path, flags, mode) {
      const file = await nodeFiles.open(path, flags, mode);
      return {
        ...bind(file),
        async read(buffer, offset, length, position) {
          const result = await file.read(buffer, offset, length, position);
          bytesRead += result.bytesRead;
          return result;
        },
      };
    },
  };
  return { files, bytesRead: () => bytesRead };
}

/** Thrown by a faulty FilePort at its crash point. */
export class SimulatedCrash extends Error {
  constructor(readonly step: number) {
    super(`simulated crash at step ${step}`);
  }
}

export interface FaultPlan {
  /** Stop after this many completed durable steps (writes, syncs, unlinks); Infinity: never. */
  crashAfter: number;
  /** Or fail with this errno instead of crashing. */
  errno?: string;
  /** With errno: fail that one step only (a transient fault), not every step after it. */
  once?: boolean;
  /** Die at the crash point with SIGKILL (in a child process) instead of throwing. */
  kill?: boolean;
  /** Write only half the bytes of every write (short writes). */
  shortWrites?: boolean;
}

/** Counts durable steps and crashes (or fails with an errno) at the planned one. */
export function faultyFiles(plan: FaultPlan): { files: FilePort; steps: () => number; log: string[] } {
  let steps = 0;
  let failed = false;
  const log: string[] = [];
  const step = async <T>(name: string, action: () => Promise<T>): Promise<T> => {
    if (plan.once ? steps === plan.crashAfter && !failed : steps >= plan.crashAfter) {
      failed = true;
      if (plan.kill) process.kill(process.pid, 'SIGKILL');
      if (plan.errno) throw Object.assign(new Error(`${plan.errno}: injected at ${name}`), { code: plan.errno });
      throw new SimulatedCrash(steps);
    }
    const result = await action();
    steps++;
    log.push(name);
    return result;
  };
  const files: FilePort = {
    ...nodeFiles,
    async open(path, flags, mode) {
      const file = await nodeFiles.open(path, flags, mode);
      return {
        ...bind(file),
        write: (buffer, offset, length, position) =>
          step(`write ${path}@${position}+${length}`, () => file.write(buffer, offset, plan.shortWrites ? Math.max(1, length >> 1) : length, position)),
        sync: () => step(`sync ${path}`, () => file.sync()),
      };
    },
    unlink: (path) => step(`unlink ${path}`, () => nodeFiles.unlink(path)),
    syncFolderOf: (path) => step(`sync folder of ${path}`, () => nodeFiles.syncFolderOf(path)),
  };
  return { files, steps: () => steps, log };
}

function bind(file: FileLike): FileLike {
  return {
    read: file.read.bind(file),
    write: file.write.bind(file),
    sync: file.sync.bind(file),
    stat: file.stat.bind(file),
    close: file.close.bind(file),
  };
}

/** `length` bytes at `offset` of a file (sparse outputs are too large to read whole). */
export function bytesAt(path: string, offset: number, length: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, offset);
    return buffer;
  } finally {
    closeSync(fd);
  }
}
