// What savekit creates from an image is no wider than the image: outputs, in-place temporaries,
// journals, extract-ram files and folders, under umask 022 and 000, from 0600 and 0640 images
// and from stdin (0600); an in-place result keeps the image's owner, group and mode; a link
// planted at the temporary's name is not followed; a define during convert --in-place is
// refused, and another program's write meanwhile wins over the conversion.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, fstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { planDefine } from '../../lib/edit/plan.js';
import { createReplacement, replacementPathOf } from '../../lib/file/replacement.js';
import { patchImage } from '../../lib/file/patch.js';
import { journalPathOf } from '../../lib/file/side-files.js';
import { SAVEKIT_BIN } from '../helpers/cli.js';
import { faultyFiles } from '../helpers/files.js';
import { copySample, readSample, tempDir } from '../helpers/samples.js';
import { writeSyntheticImage } from '../helpers/synthetic-image.js';

const test = suite('cli/permissions');
const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const modeOf = (path: string) => statSync(path).mode & 0o777;

/** The CLI under a umask, with stdin from `input` (a file) when given. */
function savekit(umask: string, argv: string[], input?: string) {
  const quoted = argv.map((arg) => `'${arg}'`).join(' ');
  return spawnSync('sh', ['-c', `umask ${umask}; exec "${process.execPath}" "${SAVEKIT_BIN}" ${quoted}${input ? ` < '${input}'` : ''}`], { encoding: 'utf8' });
}

/** A case folder others may enter, so that a file's own bits decide who reads it. */
function openFolder(): string {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  return dir;
}

/** Every file and folder below `root` with its bits. */
function tree(root: string): Array<{ path: string; mode: number; folder: boolean }> {
  const out: Array<{ path: string; mode: number; folder: boolean }> = [];
  for (const name of readdirSync(root, { recursive: true }) as string[]) {
    const stat = statSync(join(root, name));
    out.push({ path: name, mode: stat.mode & 0o777, folder: stat.isDirectory() });
  }
  return out;
}

const wider = (mode: number, limit: number) => (mode & ~limit) !== 0;

for (const umask of ['022', '000']) {
  for (const [label, sourceMode] of [['0600', 0o600], ['0640', 0o640], ['stdin', null]] as const) {
    test(`umask ${umask}, a ${label} image: every writer's files no wider than ${label === 'stdin' ? '0600' : label}`, () => {
      const dir = openFolder();
      const image = copySample('libvirt-9.0/raw.save');
      chmodSync(image, sourceMode ?? 0o600);
      const fileLimit = sourceMode ?? 0o600;
      const folderLimit = fileLimit | ((fileLimit & 0o444) >> 2);
      const from = sourceMode === null ? '-' : image;
      const stdin = sourceMode === null ? image : undefined;
      const runs: Array<[string[], string]> = [
        [['convert', '--quiet', '--format', 'zstd', from, join(dir, 'c.save')], join(dir, 'c.save')],
        [['convert', '--quiet', '--format', 'sparse', from, join(dir, 's.save')], join(dir, 's.save')],
        [['rewrite', '--quiet', '--paused', from, join(dir, 'r.save')], join(dir, 'r.save')],
        [['extract-ram', '--quiet', '--physical', from, join(dir, 'p.raw')], join(dir, 'p.raw')],
        [['extract-ram', '--quiet', '--elf', from, join(dir, 'e.elf')], join(dir, 'e.elf')],
        [['extract-ram', '--quiet', from, join(dir, 'blocks', 'deeper')], join(dir, 'blocks')],
      ];
      for (const [argv, made] of runs) {
        const result = savekit(umask, argv, stdin);
        assert.is(result.status, 0, `${argv.join(' ')}: ${result.stderr}`);
        const stat = statSync(made);
        if (stat.isDirectory()) {
          assert.not.ok(wider(stat.mode & 0o777, folderLimit), `${argv[0]}: folder ${made} is ${(stat.mode & 0o777).toString(8)}`);
          for (const entry of tree(made)) assert.not.ok(wider(entry.mode, entry.folder ? folderLimit : fileLimit), `${argv[0]}: ${entry.path} is ${entry.mode.toString(8)}`);
        } else {
          assert.not.ok(wider(stat.mode & 0o777, fileLimit), `${argv.slice(0, 3).join(' ')}: ${made} is ${(stat.mode & 0o777).toString(8)}`);
        }
      }
      // An OUT that was there already, wider, is narrowed before the first byte.
      const existing = join(dir, 'existing.save');
      writeFileSync(existing, 'old');
      chmodSync(existing, 0o666);
      assert.is(savekit(umask, ['convert', '--quiet', '--format', 'gzip', from, existing], stdin).status, 0);
      assert.not.ok(wider(modeOf(existing), fileLimit), `an existing OUT stayed ${modeOf(existing).toString(8)}`);
      // In place: the image's own bits, whatever the umask.
      if (sourceMode !== null) {
        assert.is(savekit(umask, ['convert', '--quiet', '--format', 'xz', '--in-place', image]).status, 0);
        assert.is(modeOf(image), sourceMode);
      }
    });
  }
}

test('the in-place temporary is 0600 (the image\'s bits) from its creation, and nobody can open it', () => {
  const dir = openFolder();
  const image = join(dir, 'guest.save');
  writeFileSync(image, readSample('libvirt-9.0/raw.save'));
  chmodSync(image, 0o600);
  const replacement = createReplacement(image);
  try {
    assert.is(fstatSync(replacement.fd).mode & 0o777, 0o600);
    if (ROOT) assert.is.not(spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'cat', replacement.path]).status, 0, 'nobody read the temporary');
  } finally {
    replacement.abort();
  }
  assert.not.ok(existsSync(replacement.path));
});

test('the undo journal is 0600 while it exists (the edit stopped after writing it), and nobody can open it', async () => {
  const dir = openFolder();
  const image = join(dir, 'guest.save');
  writeFileSync(image, readSample('libvirt-9.0/raw.save'));
  chmodSync(image, 0o644); // even from an image others may read: the journal holds the XML's secrets
  const edit = (before: Parameters<typeof planDefine>[0]) => planDefine(before, Buffer.from(before.region.xml.text.replace('</description>', ' x</description>')));
  await patchImage(image, edit, { files: faultyFiles({ crashAfter: 1 }).files }).catch(() => undefined); // stops at the journal's sync
  const journal = journalPathOf(image);
  assert.ok(existsSync(journal), 'the journal was written');
  assert.is(modeOf(journal), 0o600);
  if (ROOT) assert.is.not(spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'cat', journal]).status, 0, 'nobody read the journal');
  assert.is(savekit('022', ['recover', image]).status, 0);
});

test('a link planted at the temporary\'s name is not followed: another name is used, the target untouched', () => {
  const dir = tempDir();
  const image = join(dir, 'guest.save');
  writeFileSync(image, readSample('libvirt-9.0/raw.save'));
  const target = join(dir, 'target');
  writeFileSync(target, 'precious');
  symlinkSync(target, replacementPathOf(image));
  const replacement = createReplacement(image);
  try {
    assert.is.not(replacement.path, replacementPathOf(image));
    writeSync(replacement.fd, 'new bytes');
  } finally {
    replacement.abort();
  }
  assert.is(readFileSync(target, 'utf8'), 'precious');
});

if (ROOT) {
  test('convert --in-place of an image owned by nobody:nogroup keeps both, and its mode', () => {
    const dir = tempDir();
    const image = join(dir, 'guest.save');
    writeFileSync(image, readSample('libvirt-9.0/raw.save'));
    chownSync(image, NOBODY, NOBODY);
    chmodSync(image, 0o640);
    assert.is(savekit('022', ['convert', '--quiet', '--format', 'zstd', '--in-place', image]).status, 0);
    const stat = statSync(image);
    assert.equal([stat.uid, stat.gid, stat.mode & 0o777], [NOBODY, NOBODY, 0o640]);
    assert.is(readFileSync(image).readUInt32LE(28), 5, 'converted');
  });
}

/** convert --in-place of a 512 MiB guest to xz, started; resolves once its temporary exists. */
async function slowInPlace(image: string) {
  const child = spawn(process.execPath, [SAVEKIT_BIN, 'convert', '--quiet', '--format', 'xz', '--in-place', image], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const dir = join(image, '..');
  for (const end = Date.now() + 20_000; !readdirSync(dir).some((name) => name.includes('savekit-convert')); ) {
    if (Date.now() > end) throw new Error('no temporary appeared');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return { exited, stderr: () => stderr };
}

test('define during convert --in-place: ERR_LOCKED; the conversion stands', async () => {
  const dir = tempDir();
  const image = join(dir, 'guest.save');
  writeSyntheticImage(image, { ramBytes: 256 * 1024 * 1024, realistic: true });
  const xml = join(dir, 'new.xml');
  writeFileSync(xml, readFileSync(image).subarray(92, 92 + 200).toString('latin1').split('\0')[0]!);
  const job = await slowInPlace(image);
  const define = savekit('022', ['define', image, xml]);
  assert.is(define.status, 1);
  assert.match(define.stderr, 'error[ERR_LOCKED]');
  assert.is(await job.exited, 0, job.stderr());
  assert.is(readFileSync(image).readUInt32LE(28), 3, 'converted to xz');
});

test('another program writes the XML during convert --in-place: ERR_IMAGE_CHANGED, its edit kept, no temporary', async () => {
  const dir = tempDir();
  const image = join(dir, 'guest.save');
  writeSyntheticImage(image, { ramBytes: 256 * 1024 * 1024, realistic: true });
  const job = await slowInPlace(image);
  // As virsh save-image-define does: the prologue rewritten in place, without savekit's lock.
  const fd = openSync(image, 'r+');
  const comment = Buffer.from('<!-- edited -->');
  writeSync(fd, comment, 0, comment.length, 92);
  closeSync(fd);
  const edited = readFileSync(image, { encoding: null }).subarray(0, 200);
  assert.is(await job.exited, 1);
  assert.match(job.stderr(), 'error[ERR_IMAGE_CHANGED]');
  assert.ok(readFileSync(image).subarray(0, 200).equals(edited), 'the other program\'s edit is kept');
  assert.is(readFileSync(image).readUInt32LE(28), 0, 'still raw');
  assert.equal(readdirSync(dir).filter((name) => name.includes('savekit')), []);
});

test.run();
