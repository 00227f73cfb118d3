import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteQueue } from '../../lib/codec/byte-queue.js';

const test = suite('codec/byte-queue');
const b = (text: string): Buffer => Buffer.from(text);

test('take joins across chunks only what is asked; skip drops by reference', () => {
  const queue = new ByteQueue();
  for (const part of ['ab', '', 'cde', 'f']) queue.push(b(part));
  assert.is(queue.length, 6);
  assert.is(queue.peek(4).toString(), 'abcd');
  assert.is(queue.take(3).toString(), 'abc');
  queue.skip(1);
  assert.is(queue.first()!.toString(), 'e');
  assert.equal(queue.drain().map(String), ['e', 'f']);
  assert.is(queue.length, 0);
});

test('take within one chunk is a view, not a copy', () => {
  const chunk = b('abcdef');
  const queue = new ByteQueue();
  queue.push(chunk);
  const taken = queue.take(2);
  chunk[0] = 0x7a;
  assert.is(taken.toString(), 'zb');
});

test('keepCopies detaches what is queued from the caller\'s buffer', () => {
  const reused = b('abcdef');
  const queue = new ByteQueue();
  queue.push(reused);
  queue.skip(4);
  queue.keepCopies();
  reused.fill(0x78);
  assert.is(queue.take(2).toString(), 'ef');
});

test('taking more than queued is a RangeError', () => {
  const queue = new ByteQueue();
  queue.push(b('ab'));
  assert.throws(() => queue.take(3), RangeError);
});

test.run();
