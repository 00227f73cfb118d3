// In-place edits against libvirt's semantics (FORMAT.md section 7), on every genuine sample:
// the result, the bytes that may change, and a payload that never changes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePrologue } from '../../lib/codec/prologue.js';
import { planDefine, planSet } from '../../lib/edit/plan.js';
import { readImageFile } from '../../lib/file/open.js';
import { patchImage, recoverImage } from '../../lib/file/patch.js';
import { lockImage } from '../../lib/file/lock.js';
import { journalPathOf, lockPathOf } from '../../lib/file/side-files.js';
import { xxh64Hex } from '../../lib/hash.js';
import { rejectsWithCode } from '../helpers/assert-code.js';
import { faultyFiles } from '../helpers/files.js';
import { copySample, GENUINE_SAMPLES, readDump, readSample, tempDir } from '../helpers/samples.js';
import { writeSyntheticImage } from '../helpers/synthetic-image.js';

const test = suite('file/patch');

test('reproduces libvirt\'s save-image-define of raw.save byte for byte', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const xml = readDump('libvirt-9.0/dumps/raw.define-desc-longer', 'embedded-xml.txt');
  const result = await patchImage(path, (image) => planDefine(image, xml));
  assert.ok(result.changed);
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/edited/raw.define-desc-longer.save')));
});

interface Parity {
  name: string;
  /** The new XML from the stored one and the free room (dataLen - xml - cookie - 2). */
  xml?: (stored: string, room: number) => string;
  flag?: 0 | 1;
  code?: 'ERR_XML_TOO_LARGE';
  maxChangedBytes?: number;
}

const pad = (stored: string, extra: number): string => stored.replace('</description>', `${'x'.repeat(extra)}</description>`);
const PARITY: Parity[] = [
  { name: 'same length', xml: (s) => s.replace('original description', 'Original description') },
  { name: 'shorter', xml: (s) => s.replace('original description', 'short') },
  { name: 'longer within the slack', xml: (s) => pad(s, 1000) },
  { name: 'exactly filling dataLen', xml: (s, room) => pad(s, room) },
  { name: 'one byte too long', xml: (s, room) => pad(s, room + 1), code: 'ERR_XML_TOO_LARGE' },
  { name: 'flags only (paused)', flag: 0, maxChangedBytes: 1 },
];

for (const sample of GENUINE_SAMPLES) {
  for (const c of PARITY) {
    test(`${sample.file}: ${c.name}`, async () => {
      const path = copySample(sample.file);
      const before = readFileSync(path);
      const image = decodePrologue(before);
      const room = image.header.dataLen - image.region.xml.length - 1 - (image.region.cookie ? image.region.cookie.length + 1 : 0);
      const xml = c.xml ? Buffer.from(c.xml(image.region.xml.text, room)) : image.region.xml.bytes;
      const edit = (): Promise<unknown> => patchImage(path, (current) => planDefine(current, xml, c.flag === undefined ? {} : { wasRunning: c.flag }));
      if (c.code) {
        const error = await rejectsWithCode(edit, c.code);
        assert.match(error.message, '1 bytes are missing');
        assert.ok(readFileSync(path).equals(before), 'file untouched');
        return;
      }
      await edit();
      const after = readFileSync(path);
      assert.is(after.length, before.length);
      const offset = image.payloadOffset;
      assert.is(await xxh64Hex(after.subarray(offset)), await xxh64Hex(before.subarray(offset)));
      const edited = await readImageFile(path);
      assert.ok(edited.region.xml.bytes.equals(xml));
      assert.ok(edited.region.cookie!.bytes.equals(image.region.cookie!.bytes), 'cookie moved verbatim');
      assert.is(edited.header.cookieOffset, xml.length + 1);
      assert.is(edited.header.dataLen, image.header.dataLen);
      if (c.maxChangedBytes !== undefined) {
        let changed = 0;
        for (let i = 0; i < offset; i++) if (after[i] !== before[i]) changed++;
        assert.is(changed, c.maxChangedBytes);
        assert.is(edited.header.wasRunning, 0);
      }
    });
  }
}

for (const sample of GENUINE_SAMPLES) {
  test(`${sample.file} made cookie-less stays cookie-less; byte-swapped stays big-endian`, async () => {
    const cookieless = copySample(sample.file);
    const bytes = readFileSync(cookieless);
    bytes.writeUInt32LE(0, 32);
    writeFileSync(cookieless, bytes);
    const longer = (image: { region: { xml: { text: string } } }): Buffer => Buffer.from(image.region.xml.text.replace('</description>', ' (edited)</description>'));
    await patchImage(cookieless, (image) => planDefine(image, longer(image)));
    const plain = await readImageFile(cookieless);
    assert.is(plain.header.cookieOffset, 0);
    assert.is(plain.region.cookie, null);
    assert.match(plain.region.xml.text, '(edited)');

    const swapped = copySample(sample.file);
    const be = readFileSync(swapped);
    for (let at = 16; at < 36; at += 4) be.writeUInt32BE(be.readUInt32LE(at), at);
    writeFileSync(swapped, be);
    await patchImage(swapped, (image) => planDefine(image, longer(image)));
    const after = readFileSync(swapped);
    const edited = await readImageFile(swapped);
    assert.is(edited.header.byteOrder, 'be');
    assert.is(after.readUInt32BE(32), edited.region.xml.length + 1);
    assert.ok(after.subarray(sample.payloadOffset).equals(be.subarray(sample.payloadOffset)));
  });
}

test('a cookie-less image stays cookie-less', async () => {
  const path = join(tempDir(), 'plain.save');
  writeSyntheticImage(path, { ramBytes: 8 * 4096, cookie: null });
  await patchImage(path, (image) => planDefine(image, Buffer.from(image.region.xml.text.replace('synthetic</name>', 'synthetic</name>\n  <title>t</title>'))));
  const edited = await readImageFile(path);
  assert.is(edited.header.cookieOffset, 0);
  assert.is(edited.region.cookie, null);
  assert.match(edited.region.xml.text, '<title>t</title>');
});

test('a big-endian header stays big-endian', async () => {
  const path = join(tempDir(), 'be.save');
  writeSyntheticImage(path, { ramBytes: 8 * 4096, byteOrder: 'be' });
  const before = readFileSync(path);
  await patchImage(path, (image) => planDefine(image, Buffer.from(image.region.xml.text.replace('<vcpu', '<!-- c -->\n  <vcpu'))));
  const after = readFileSync(path);
  const edited = await readImageFile(path);
  assert.is(edited.header.byteOrder, 'be');
  assert.is(after.readUInt32BE(16), 2);
  assert.is(after.readUInt32BE(32), edited.region.xml.length + 1);
  assert.ok(after.subarray(edited.payloadOffset).equals(before.subarray(edited.payloadOffset)));
});

test('the same XML and no flag change writes nothing', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const result = await patchImage(path, (image) => planDefine(image, image.region.xml.bytes));
  assert.is(result.changed, false);
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/raw.save')));
});

test('a sealed image keeps its seal words through define', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const bytes = readFileSync(path);
  for (let w = 9; w < 14; w++) bytes.writeUInt32LE(0x01020304 + w, 36 + 4 * w);
  bytes.writeUInt32LE(0x4c414553, 36 + 36);
  writeFileSync(path, bytes);
  await patchImage(path, (image) => planDefine(image, Buffer.from(image.region.xml.text.replace('original', 'new'))));
  assert.ok(readFileSync(path).subarray(36, 92).equals(bytes.subarray(36, 92)));
});

const REFUSALS = [
  { name: 'not well-formed', xml: (s: string) => s.replace('</domain>', '</domian>'), code: 'ERR_BAD_XML' as const },
  { name: 'a NUL inside', xml: (s: string) => s.replace('<title>', '<title>\0'), code: 'ERR_BAD_XML' as const },
  { name: 'a renamed domain', xml: (s: string) => s.replace('<name>tinysave</name>', '<name>other</name>'), code: 'ERR_ABI_MISMATCH' as const },
  { name: 'another UUID', xml: (s: string) => s.replace('c0de</uuid>', 'c0df</uuid>'), code: 'ERR_ABI_MISMATCH' as const },
  { name: 'more memory', xml: (s: string) => s.replace("<memory unit='KiB'>16384", "<memory unit='KiB'>32768"), code: 'ERR_ABI_MISMATCH' as const },
  { name: 'more vCPUs', xml: (s: string) => s.replace(">1</vcpu>", ">2</vcpu>"), code: 'ERR_ABI_MISMATCH' as const },
];

for (const c of REFUSALS) {
  test(`refuses ${c.name} with ${c.code} and writes nothing`, async () => {
    const path = copySample('libvirt-9.0/raw.save');
    const xml = Buffer.from(c.xml(readDump('libvirt-9.0/dumps/raw', 'embedded-xml.txt').toString()));
    await rejectsWithCode(() => patchImage(path, (image) => planDefine(image, xml)), c.code);
    assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/raw.save')));
  });
}

test('--force skips the ABI check, never the well-formedness check', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const stored = readDump('libvirt-9.0/dumps/raw', 'embedded-xml.txt').toString();
  await patchImage(path, (image) => planDefine(image, Buffer.from(stored.replace('>1</vcpu>', '>2</vcpu>')), { force: true }));
  assert.match((await readImageFile(path)).region.xml.text, '>2</vcpu>');
  await rejectsWithCode(() => patchImage(path, (image) => planDefine(image, Buffer.from('<domain>'), { force: true })), 'ERR_BAD_XML');
});

test('version 2 -> 3 -> 2 round trips byte for byte', async () => {
  for (const sample of GENUINE_SAMPLES) {
    const path = copySample(sample.file);
    const original = readFileSync(path);
    await patchImage(path, (image) => planSet(image, { version: 3 }));
    const v3 = await readImageFile(path);
    assert.is(v3.header.version, 3);
    assert.equal(v3.region.blocks.map((b) => b.root), ['domain', 'cookie']);
    assert.is(v3.region.cookie!.offset, 92 + sample.cookieOffset);
    await patchImage(path, (image) => planSet(image, { version: 2 }));
    assert.ok(readFileSync(path).equals(original), sample.file);
  }
});

test('3 -> 2 refuses to drop extension blocks unless asked', async () => {
  const path = join(tempDir(), 'v3.save');
  writeSyntheticImage(path, { ramBytes: 4096, version: 3, extensions: ['<savekit-note>keep me</savekit-note>'] });
  const before = readFileSync(path);
  const error = await rejectsWithCode(() => patchImage(path, (image) => planSet(image, { version: 2 })), 'ERR_EXTENSIONS_PRESENT');
  assert.match(error.message, '<savekit-note>');
  assert.ok(readFileSync(path).equals(before));
  await patchImage(path, (image) => planSet(image, { version: 2, dropExtensions: true }));
  const v2 = await readImageFile(path);
  assert.equal(v2.region.blocks.map((b) => b.root), ['domain', 'cookie']);
  assert.not.match(readFileSync(path).toString('latin1'), 'keep me');
});

test('define on a version 3 image keeps every extension block', async () => {
  const path = join(tempDir(), 'v3.save');
  writeSyntheticImage(path, { ramBytes: 4096, version: 3, extensions: ['<a/>', '<b/>'] });
  await patchImage(path, (image) => planDefine(image, Buffer.from(image.region.xml.text.replace('<vcpu', '<!-- longer -->\n  <vcpu'))));
  const edited = await readImageFile(path);
  assert.equal(edited.region.blocks.map((b) => b.root), ['domain', 'cookie', 'a', 'b']);
  assert.is(edited.header.cookieOffset, edited.region.xml.length + 1);
});

test('a second editor gets ERR_LOCKED at once; a dead holder\'s lock is taken over', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const lock = await lockImage(path);
  await rejectsWithCode(() => patchImage(path, (image) => planSet(image, { wasRunning: 0 })), 'ERR_LOCKED');
  await lock.release();
  writeFileSync(lockPathOf(path), '999999999\n');
  const result = await patchImage(path, (image) => planSet(image, { wasRunning: 0 }));
  assert.ok(result.changed);
});

test('an image reached through a symlink is edited where it lies, the link kept', async () => {
  const target = copySample('libvirt-9.0/raw.save');
  const link = join(tempDir(), 'link.save');
  symlinkSync(target, link);
  await patchImage(link, (image) => planSet(image, { wasRunning: 0 }));
  assert.ok(lstatSync(link).isSymbolicLink());
  assert.is(readFileSync(target).readUInt32LE(24), 0);
});

test('an edit through a symlink takes the lock of the real file, and leaves a crash\'s journal beside it', async () => {
  const target = copySample('libvirt-9.0/raw.save');
  const link = join(tempDir(), 'link.save');
  symlinkSync(target, link);
  assert.is(lockPathOf(link), lockPathOf(target));
  const held = await lockImage(target);
  try {
    await rejectsWithCode(() => patchImage(link, (image) => planSet(image, { wasRunning: 0 })), 'ERR_LOCKED');
  } finally {
    await held.release();
  }
  const crashing = faultyFiles({ crashAfter: 3 }); // journal written and synced, Part magic written
  await patchImage(link, (image) => planSet(image, { wasRunning: 0 }), { files: crashing.files }).catch(() => undefined);
  assert.ok(existsSync(journalPathOf(target)), 'the journal lies beside the real file');
  await rejectsWithCode(() => readImageFile(target), 'ERR_RECOVERY_NEEDED');
  assert.is.not(await recoverImage(target), 'none');
  assert.is((await readImageFile(target)).header.wasRunning, 1);
});

test('an edit refuses while a journal is pending', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  writeFileSync(journalPathOf(path), 'torn');
  await rejectsWithCode(() => patchImage(path, (image) => planSet(image, { wasRunning: 0 })), 'ERR_RECOVERY_NEEDED');
});

test('a partial (Part magic) image is not edited', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const bytes = readFileSync(path);
  bytes.write('LibvirtQemudPart', 0, 'latin1');
  writeFileSync(path, bytes);
  await rejectsWithCode(() => patchImage(path, (image) => planSet(image, { wasRunning: 0 })), 'ERR_PARTIAL_IMAGE');
});

test.run();
