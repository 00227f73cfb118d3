// The native addon is built by `npm install` and loads; it grows pipes and clears O_NONBLOCK.
// (Its absence would not change any byte, only speed: this test keeps it from going unnoticed.)
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { join } from 'node:path';
import { canGrowPipes, growPipe, makeBlocking, PIPE_BYTES } from '../../lib/pipe/pipe-setup.js';
import { alignedBuffer } from '../../lib/pipe/fd-io.js';
import { tempDir } from '../helpers/samples.js';

const test = suite('pipe/pipe-setup');

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

test('aligned buffers have the size asked for', () => {
  assert.is(alignedBuffer(1024 * 1024).length, 1024 * 1024);
});

test.run();
