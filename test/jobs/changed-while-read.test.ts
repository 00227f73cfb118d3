// An image written by another program while savekit reads it (a `virsh save` still running, a
// truncate, an append, a rewrite in place) is refused with ERR_IMAGE_CHANGED by every reader
// of a file, and a rewrite then never leaves the Save magic on its output. An image renamed
// over while read is no change to the file being read: the result is the original's.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, ftruncateSync, openSync, readFileSync, renameSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MAGIC_BYTES, MAGIC_SAVE } from '../../lib/constants.js';
import { planRewrite } from '../../lib/edit/plan.js';
import { extractRam } from '../../lib/jobs/extract-ram.js';
import { FdSource } from '../../lib/io/fd-source.js';
import { hashImage } from '../../lib/jobs/hash-image.js';
import { rewriteImage } from '../../lib/jobs/rewrite.js';
import { walkImage } from '../../lib/jobs/walk-image.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { tempDir } from '../helpers/samples.js';
import { syntheticImageBuffer } from '../helpers/synthetic-image.js';

const test = suite('jobs/changed while read');

/** Eight 1 MiB chunks of payload: a change after the prologue lands mid-read. */
const IMAGE = syntheticImageBuffer({ ramBytes: 8 * 1024 * 1024, zeroPageEvery: 5 });

type Change = (path: string) => void;

const CHANGES: Record<string, Change> = {
  'cut to half its size': (path) => {
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, IMAGE.length >> 1);
    closeSync(fd);
  },
  'grown by an append': (path) => writeFileSync(path, Buffer.alloc(4096, 1), { flag: 'a' }),
  'rewritten in place, same size and bytes': (path) => {
    const fd = openSync(path, 'r+');
    writeSync(fd, IMAGE, 0, IMAGE.length, 0);
    closeSync(fd);
    utimesSync(path, new Date(), new Date(Date.now() + 10_000)); // coarse clocks: make the write visible
  },
};

/** Another complete image renamed over the path: the descriptor still reads the original. */
function renameOver(path: string): void {
  const other = join(tempDir(), 'other.save');
  writeFileSync(other, syntheticImageBuffer({ ramBytes: 4096 }));
  renameSync(other, path);
}

function imageFile(): string {
  const path = join(tempDir(), 'image.save');
  writeFileSync(path, IMAGE);
  return path;
}

async function withSource<T>(path: string, use: (source: FdSource) => Promise<T>): Promise<T> {
  const fd = openSync(path, 'r');
  try {
    return await use(new FdSource(fd));
  } finally {
    closeSync(fd);
  }
}

/** Each reader, with `change` applied to its file once the prologue is read. */
const READERS: Record<string, (path: string, change: Change | null) => Promise<unknown>> = {
  walk: (path, change) => withSource(path, async (source) => (await walkImage(source, { onPrologue: () => void change?.(path) })).summary),
  hash: (path, change) => withSource(path, async (source) => (await hashImage(source, {}, { onStart: () => change?.(path) })).payload),
  rewrite: async (path, change) => {
    const out = join(tempDir(), 'out.save');
    const outputFd = openSync(out, 'w');
    try {
      await withSource(path, (source) =>
        rewriteImage({
          source,
          openOutput: () => outputFd,
          plan: (image) => {
            change?.(path);
            return planRewrite(image, { wasRunning: 1 });
          },
        }),
      );
    } finally {
      closeSync(outputFd);
    }
    return readFileSync(out);
  },
  'extract-ram': (path, change) =>
    withSource(path, async (source) => {
      change?.(path); // after the stamp, before the first payload byte
      const folder = join(tempDir(), 'ram');
      await extractRam(source, folder);
      return readFileSync(join(folder, 'pc.ram'));
    }),
};

for (const [reader, read] of Object.entries(READERS)) {
  for (const [name, change] of Object.entries(CHANGES)) {
    test(`${reader}: an image ${name} while read is ERR_IMAGE_CHANGED`, async () => {
      const path = imageFile();
      const error = await rejectsWithCode(() => read(path, change), 'ERR_IMAGE_CHANGED');
      assert.match(error.message, `${IMAGE.length} bytes when opened`);
    });
  }

  test(`${reader}: an image renamed over while read gives the original's result`, async () => {
    const undisturbed = await read(imageFile(), null);
    assert.equal(await read(imageFile(), renameOver), undisturbed);
  });
}

test('a rewrite whose input changed leaves no Save magic on its output', async () => {
  const path = imageFile();
  const out = join(tempDir(), 'out.save');
  const outputFd = openSync(out, 'w');
  await rejectsWithCode(
    () =>
      withSource(path, (source) =>
        rewriteImage({
          source,
          openOutput: () => outputFd,
          plan: (image) => {
            CHANGES['cut to half its size']!(path);
            return planRewrite(image, { wasRunning: 1 });
          },
        }),
      ),
    'ERR_IMAGE_CHANGED',
  );
  closeSync(outputFd);
  assert.is.not(readFileSync(out).toString('latin1', 0, MAGIC_BYTES), MAGIC_SAVE);
});

test.run();
