// The native addon is built by `npm install` and loads; it grows pipes, clears O_NONBLOCK, makes
// pipes and finds page boundaries.
// (Its absence would not change any byte, only speed: this test keeps it from going unnoticed.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { canGrowPipes, createPipe, growPipe, makeBlocking, PIPE_BYTES } from '../../lib/io/pipe-setup.js';
import { nativeAddon } from '../../lib/native.js';
import { alignedBuffer } from '../../lib/io/fd-io.js';
import { tempDir } from '../helpers/samples.js';

const test = suite('io/pipe-setup');

test('the native addon is built and loads', () => {
  assert.ok(canGrowPipes(), 'build/Release/savekit_native.node did not load: run npm install');
});

test('grows a pipe to 1 MiB and makes it blocking; leaves a regular file alone', () => {
  const fifo = join(tempDir(), 'fifo');
  execFileSync('mkfifo', [fifo]);
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK); // a FIFO is a pipe; O_RDWR needs no peer
  assert.ok((growPipe(fd) ?? 0) >= PIPE_BYTES);
  assert.ok(makeBlocking(fd));
  closeSync(fd);
  const file = openSync(join(tempDir(), 'plain'), 'w');
  assert.is(growPipe(file), null);
  closeSync(file);
});

test('aligned buffers have the size asked for and start on a page, after malloc has moved its threshold too', () => {
  const gap = nativeAddon()!.alignmentGap;
  for (const size of [4096, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024, 1024 * 1024]) {
    const buffer = alignedBuffer(size);
    assert.is(buffer.length, size);
    assert.is(gap(buffer), 0, `a buffer of ${size}`);
  }
  const aligned = alignedBuffer(8192);
  assert.is(gap(aligned.subarray(1)), 4095, 'one byte past a page: the next boundary is 4095 bytes on');
  assert.throws(() => gap(new Uint16Array(8) as unknown as Uint8Array), /Uint8Array/);
  assert.throws(() => gap('bytes' as unknown as Uint8Array), /Uint8Array/);
});

test('a pipe: close-on-exec, bytes go through, the reader sees the end when the writer closes', () => {
  const pipe = createPipe();
  assert.ok(pipe !== null);
  const [readFd, writeFd] = pipe;
  for (const fd of pipe) {
    const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!;
    assert.ok((parseInt(flags, 8) & 0o2000000) !== 0, `fd ${fd} is close-on-exec (flags ${flags})`);
  }
  writeSync(writeFd, Buffer.from('through'));
  closeSync(writeFd);
  const buffer = Buffer.alloc(16);
  assert.is(readSync(readFd, buffer, 0, 16, null), 7);
  assert.is(buffer.toString('latin1', 0, 7), 'through');
  assert.is(readSync(readFd, buffer, 0, 16, null), 0);
  closeSync(readFd);
});

test.run();
