// Other programs do not take savekit's lock: virsh save-image-define rewrites the prologue, a
// `virsh save` or an mv puts another file under the name. An in-place edit checks just before
// its first write that the image is still the file and the prologue it read: when not, it is
// ERR_IMAGE_CHANGED, nothing is written, and no lock or journal is left behind.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { planDefine, planSet } from '../../lib/edit/plan.js';
import { patchImage } from '../../lib/file/patch.js';
import { journalPathOf, lockPathOf } from '../../lib/file/side-files.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { copySample, readSample, tempDir } from '../helpers/samples.js';

const test = suite('file/changed while edited');

const SAMPLE = 'libvirt-9.0/raw.save';

function assertNoSideFiles(path: string): void {
  assert.not.ok(existsSync(lockPathOf(path)), 'lock left behind');
  assert.not.ok(existsSync(journalPathOf(path)), 'journal left behind');
}

/** What another program does to the image while savekit decides its edit. */
const OTHERS: Record<string, (path: string) => void> = {
  'renames another image over it': (path) => {
    const other = join(tempDir(), 'other.save');
    writeFileSync(other, readSample('libvirt-9.0/kvm-raw.save'));
    renameSync(other, path);
  },
  'rewrites its XML in place (save-image-define)': (path) => {
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from('<domain type="qemu">'), 0, 20, 92); // the XML block starts at 92
    closeSync(fd);
  },
  'removes it': (path) => renameSync(path, `${path}.moved`),
};

for (const [name, other] of Object.entries(OTHERS)) {
  test(`an edit while another program ${name} writes nothing`, async () => {
    const path = copySample(SAMPLE);
    let theirs: Buffer | null = null;
    const error = await rejectsWithCode(
      () =>
        patchImage(path, (image) => {
          other(path);
          theirs = existsSync(path) ? readFileSync(path) : null;
          return planSet(image, { wasRunning: image.header.wasRunning ? 0 : 1 });
        }),
      'ERR_IMAGE_CHANGED',
    );
    assert.match(error.message, 'nothing was written');
    if (theirs !== null) assert.ok(readFileSync(path).equals(theirs), 'the other program\'s image was touched');
    assertNoSideFiles(path);
  });
}

test('an edit checked against the file as it was when hashed: a later write is ERR_IMAGE_CHANGED', async () => {
  const path = copySample(SAMPLE);
  const hashed = statSync(path);
  utimesSync(path, new Date(), new Date(Date.now() + 10_000)); // the payload written since
  const before = readFileSync(path);
  await rejectsWithCode(() => patchImage(path, (image) => planSet(image, { wasRunning: 0 }), { expect: hashed }), 'ERR_IMAGE_CHANGED');
  assert.ok(readFileSync(path).equals(before));
  assertNoSideFiles(path);
});

test('an edit checked against the unchanged file goes through', async () => {
  const path = copySample(SAMPLE);
  const result = await patchImage(path, (image) => planDefine(image, Buffer.from(image.region.xml.text.replace('</name>', '</name>\n  <title>t</title>'))), {
    expect: statSync(path),
  });
  assert.ok(result.changed);
  assertNoSideFiles(path);
});

test.run();
