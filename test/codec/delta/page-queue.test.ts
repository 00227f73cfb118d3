import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PageQueue } from '../../../lib/codec/delta/page-queue.js';

const test = suite('codec/delta/page-queue');

test('ordinals, order by (rank, address), growth past its first size with records wrapped around', () => {
  const queue = new PageQueue();
  const page = Buffer.from('page');
  // Wrap the ring first: push and shift 700 records.
  for (let i = 0; i < 700; i++) queue.push(0, i * 4096, null, 0);
  for (let i = 0; i < 700; i++) queue.shift();
  assert.is(queue.ordinal, 700);
  for (let i = 0; i < 3000; i++) queue.push(i < 1500 ? 0 : 1, (i % 1500) * 4096, i % 3 === 0 ? page : null, i % 3 === 1 ? 0x11 : 0);
  assert.is(queue.length, 3000);
  assert.is(queue.pushed, 3700);
  assert.ok(queue.skipBefore(0, 10 * 4096));
  assert.is(queue.ordinal, 710);
  assert.is(queue.address, 10 * 4096);
  assert.is(queue.fill, 0x11);
  assert.is(queue.body, null);
  assert.ok(queue.skipBefore(1, 0));
  assert.is(queue.rank, 1);
  assert.is(queue.ordinal, 700 + 1500);
  assert.is(queue.body, page);
  assert.is(queue.fill, -1);
  assert.not.ok(queue.skipBefore(2, 0));
  assert.is(queue.length, 0);
  assert.is(queue.ordinal, 3700);
});

test.run();
