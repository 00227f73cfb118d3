import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { readImageFile } from '../../lib/file/open.js';
import { journalPathOf } from '../../lib/file/side-files.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { countingFiles } from '../helpers/files.js';
import { readSample, tempDir } from '../helpers/samples.js';
import { syntheticPrologue } from '../helpers/synthetic-image.js';

const test = suite('file/open');

test('reads exactly 92 + dataLen bytes of an image with a 10 GiB sparse payload', async () => {
  const path = join(tempDir(), 'huge.save');
  const prologue = syntheticPrologue({ ramBytes: 4096 });
  const fd = openSync(path, 'w');
  writeSync(fd, prologue);
  writeSync(fd, Buffer.from('QEVM'), 0, 4, prologue.length);
  ftruncateSync(fd, prologue.length + 10 * 1024 ** 3);
  closeSync(fd);
  const { files, bytesRead } = countingFiles();
  const image = await readImageFile(path, { files });
  assert.is(bytesRead(), prologue.length);
  assert.is(image.payloadLength, 10 * 1024 ** 3);
  assert.is(image.fileSize, prologue.length + 10 * 1024 ** 3);
});

const CUTS = [
  { name: 'empty file', end: 0, code: 'ERR_TRUNCATED' as const },
  { name: 'cut in the header', end: 91, code: 'ERR_TRUNCATED' as const },
  { name: 'cut in the XML', end: 1000, code: 'ERR_TRUNCATED' as const },
  { name: 'cut in the padding', end: 66000, code: 'ERR_TRUNCATED' as const },
];

for (const cut of CUTS) {
  test(`a file ${cut.name} is ${cut.code} at offset ${cut.end}`, async () => {
    const path = join(tempDir(), 'cut.save');
    writeFileSync(path, readSample('libvirt-9.0/raw.save').subarray(0, cut.end));
    const error = await rejectsWithCode(() => readImageFile(path), cut.code);
    assert.is(error.offset, cut.end);
    assert.match(error.message, String(cut.end));
  });
}

test('a file cut right at the payload reads, with an empty payload', async () => {
  const path = join(tempDir(), 'cut.save');
  writeFileSync(path, readSample('libvirt-9.0/raw.save').subarray(0, 66990));
  assert.is((await readImageFile(path)).payloadLength, 0);
});

test('a missing file is ERR_IO naming the path', async () => {
  const error = await rejectsWithCode(() => readImageFile('/nonexistent/x.save'), 'ERR_IO');
  assert.match(error.message, '/nonexistent/x.save');
  assert.match(error.message, 'ENOENT');
});

test('a folder is ERR_IO', async () => {
  await rejectsWithCode(() => readImageFile(tempDir()), 'ERR_IO');
});

test('refuses to read while an interrupted edit left its journal', async () => {
  const path = join(tempDir(), 'image.save');
  writeFileSync(path, readSample('libvirt-9.0/raw.save'));
  writeFileSync(journalPathOf(path), 'x');
  const error = await rejectsWithCode(() => readImageFile(path), 'ERR_RECOVERY_NEEDED');
  assert.match(error.message, 'savekit recover');
  assert.ok(await readImageFile(path, { ignoreJournal: true }));
});

test.run();
