// XXH64 of a range of a file, read in 1 MiB pieces with interrupt checkpoints: the payload an
// output holds, to seal it or to prove it.
import { createXxh64 } from '../hash.js';
import { readFully } from './fd-io.js';
import { Checkpoints } from './interrupt.js';

/** XXH64 of `length` bytes of a file from `offset` (the output, to seal it). */
export async function hashFileRange(fd: number, offset: number, length: number): Promise<string> {
  const hasher = await createXxh64();
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const checkpoints = new Checkpoints();
  for (let done = 0; done < length; ) {
    const n = readFully(fd, buffer, 0, Math.min(buffer.length, length - done), offset + done);
    if (n === 0) break;
    hasher.update(buffer.subarray(0, n));
    done += n;
    await checkpoints.tick(n);
  }
  return hasher.digestHex();
}

