// One editor at a time: an exclusive lock file beside the image, created with O_EXCL and
// holding the owner's PID. A lock whose owner has died (a crash, SIGKILL) is taken over, so a
// crash never blocks `savekit recover`. Local file systems only, like libvirt's own images.
// A lock that cannot be written whole (a full disk) is removed at once, never left behind.
import { promises as fs } from 'node:fs';
import { ioError, SaveImageError } from '../errors.js';
import { lockPathOf } from './side-files.js';

const EMPTY_LOCK_GRACE_MS = 5000;

export interface ImageLock {
  release(): Promise<void>;
}

/** Takes the lock of `imagePath` at once, or throws ERR_LOCKED naming the holder. */
export async function lockImage(imagePath: string): Promise<ImageLock> {
  const path = lockPathOf(imagePath);
  for (let attempt = 0; attempt < 2; attempt++) {
    if (await create(path, imagePath)) return { release: () => fs.rm(path, { force: true }) };
    const holder = await readHolder(path);
    if (holder === null ? await isFresh(path) : isAlive(holder)) {
      throw new SaveImageError('ERR_LOCKED', `${imagePath} is being edited by process ${holder ?? '(starting)'} (lock ${path}); try again when it is done`);
    }
    await fs.rm(path, { force: true }); // the holder died: its lock is stale
  }
  throw new SaveImageError('ERR_LOCKED', `${imagePath} is locked (${path}) and the lock could not be taken over`);
}

/** Creates the lock holding our PID; false when it exists already. */
async function create(path: string, imagePath: string): Promise<boolean> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw ioError(`edit ${imagePath}: savekit keeps its lock and undo journal beside the image, and cannot create`, path, error, { writing: true });
  }
  try {
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return true;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await fs.rm(path, { force: true }); // ours: created above; an empty lock would hold others off
    throw ioError(`edit ${imagePath}: cannot write its lock`, path, error, { writing: true });
  }
}

async function readHolder(path: string): Promise<number | null> {
  const text = await fs.readFile(path, 'utf8').catch(() => '');
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** An empty lock is one being created right now, unless it is older than a few seconds. */
async function isFresh(path: string): Promise<boolean> {
  const stat = await fs.stat(path).catch(() => null);
  return stat !== null && Date.now() - stat.mtimeMs < EMPTY_LOCK_GRACE_MS;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
