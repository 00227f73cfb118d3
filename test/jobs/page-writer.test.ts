// PageWriter: pages land where they belong whatever the order of runs in flight, a page sent
// again wins over its earlier copy, a zero page over a written one clears it, and a page never
// written stays a hole. Many short runs between paces force the synchronous path too.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PageWriter } from '../../lib/jobs/page-writer.js';
import { tempDir } from '../helpers/samples.js';

const test = suite('jobs/page-writer');
const PAGE = 4096;

for (const seed of [1, 7, 42, 1234]) {
  test(`a random mix of pages, rewrites and zero pages (seed ${seed}) ends as the last record of each page says`, async () => {
    let x = seed;
    const random = (n: number) => {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      return x % n;
    };
    const pages = 600;
    const expected = Buffer.alloc(pages * PAGE);
    const path = join(tempDir(), 'pages.bin');
    const fd = openSync(path, 'w+');
    const writer = new PageWriter(fd, path);
    try {
      for (let step = 0; step < 3000; step++) {
        const index = step < 400 ? step : random(pages); // first mostly in order, then anywhere
        const zero = random(5) === 0;
        const page = zero ? null : Buffer.alloc(PAGE, 1 + random(250));
        writer.page(0, index, index * PAGE, page);
        (page ?? Buffer.alloc(PAGE)).copy(expected, index * PAGE);
        if (random(7) === 0) await writer.pace();
      }
      await writer.finish();
    } finally {
      closeSync(fd);
    }
    const written = readFileSync(path);
    assert.ok(written.equals(expected.subarray(0, written.length)), 'the file differs from the last record of each page');
    assert.ok(expected.subarray(written.length).every((byte) => byte === 0));
  });
}

test('pages never written are holes', async () => {
  const path = join(tempDir(), 'holes.bin');
  const fd = openSync(path, 'w+');
  const writer = new PageWriter(fd, path);
  writer.page(0, 0, 0, Buffer.alloc(PAGE, 1));
  writer.page(0, 4095, 4095 * PAGE, Buffer.alloc(PAGE, 2));
  await writer.finish();
  closeSync(fd);
  assert.is(statSync(path).size, 4096 * PAGE);
  assert.ok(statSync(path).blocks * 512 <= 64 * 1024, 'the gap was filled');
  assert.is(writer.dataPages, 2);
});

test.run();
