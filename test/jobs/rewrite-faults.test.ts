// rewrite under injected EIO, ENOSPC and short writes at every write and sync of its output:
// each ends with a clear error, and a failed output never carries the LibvirtQemudSave magic.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planRewrite } from '../../lib/edit/plan.js';
import { type OutputOps, realOutput } from '../../lib/io/fd-io.js';
import { FdSource } from '../../lib/io/fd-source.js';
import { rewriteImage } from '../../lib/jobs/rewrite.js';
import { samplePath, tempDir } from '../helpers/samples.js';

const test = suite('jobs/rewrite faults');

function failingOutput(failAt: number, errno: string, shortWrites = false): OutputOps {
  let calls = 0;
  const step = (): void => {
    if (calls++ === failAt) throw Object.assign(new Error(`${errno}: injected`), { code: errno, syscall: 'write' });
  };
  return {
    write(fd, bytes, position) {
      step();
      if (shortWrites && bytes.length > 1) {
        realOutput.write(fd, bytes.subarray(0, bytes.length >> 1), position);
        realOutput.write(fd, bytes.subarray(bytes.length >> 1), position === null ? null : position + (bytes.length >> 1));
      } else realOutput.write(fd, bytes, position);
    },
    sync(fd) {
      step();
      realOutput.sync(fd);
    },
  };
}

async function rewriteWith(output: OutputOps, seal: boolean): Promise<{ error: unknown; bytes: Buffer }> {
  const path = join(tempDir(), 'out.save');
  const input = openSync(samplePath('libvirt-9.0/raw.save'), 'r');
  let outputFd = -1;
  let error: unknown = null;
  try {
    await rewriteImage({
      source: new FdSource(input, { chunkBytes: 64 * 1024 }),
      openOutput: () => (outputFd = openSync(path, 'w')),
      plan: (image) => planRewrite(image, { wasRunning: 0 }),
      seal,
      output,
    });
  } catch (caught) {
    error = caught;
  } finally {
    closeSync(input);
    if (outputFd >= 0) closeSync(outputFd);
  }
  return { error, bytes: readFileSync(path) };
}

for (const errno of ['EIO', 'ENOSPC']) {
  for (const seal of [false, true]) {
    test(`${errno} at every write and sync${seal ? ' (with --seal)' : ''}: an error, and never the Save magic on a failed output`, async () => {
      let failAt = 0;
      for (; ; failAt++) {
        const { error, bytes } = await rewriteWith(failingOutput(failAt, errno), seal);
        if (error === null) {
          assert.is(bytes.toString('latin1', 0, 16), 'LibvirtQemudSave');
          break;
        }
        assert.is((error as { code?: string }).code, errno, String(error));
        assert.is.not(bytes.toString('latin1', 0, 16), 'LibvirtQemudSave', `failure at call ${failAt}`);
      }
      assert.ok(failAt >= 5, `only ${failAt} writes and syncs`);
    });
  }
}

test('short writes still give the whole image', async () => {
  const { error, bytes } = await rewriteWith(failingOutput(-1, 'EIO', true), true);
  assert.is(error, null);
  const expected = readFileSync(samplePath('libvirt-9.0/raw.save'));
  assert.ok(bytes.subarray(92).equals(expected.subarray(92)));
  assert.is(bytes.readUInt32LE(24), 0);
});

test.run();
