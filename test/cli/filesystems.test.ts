// The CLI on real file systems that refuse writes: a read-only mount (EROFS, even for root), an
// image another user may only read (EACCES), and a disk that is full, or has one to sixty-four
// pages left, at every step of an edit. Readers keep working; writers end with ERR_READ_ONLY or
// ERR_IO (ENOSPC), exit 1, the image unchanged and no lock or journal left behind; once there
// is room again the same command succeeds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MAGIC_BYTES, MAGIC_SAVE } from '../../lib/constants.js';
import { journalPathOf, lockPathOf } from '../../lib/file/side-files.js';
import { type CliResult, runBinary, takeKeptDraft } from '../helpers/cli.js';
import { mountsUnavailable, mountTmpfs, NOBODY, openFolder } from '../helpers/mounts.js';
import { samplePath } from '../helpers/samples.js';
import { stageCli } from '../helpers/staged-cli.js';

const test = suite('cli/file systems');

const SAMPLE = samplePath('libvirt-9.0/raw.save');
const ORIGINAL = readFileSync(SAMPLE);
const READERS = [['info'], ['dumpxml'], ['hash'], ['check'], ['walk'], ['recover']];

/** The XML libvirt's own save-image-define test stored, in a file outside the mounts. */
function xmlFile(): string {
  const path = join(openFolder(), 'domain.xml');
  copyFileSync(samplePath('libvirt-9.0/xml/raw.define-desc-longer.input.xml'), path);
  return path;
}

/** The writers, as argument lists for an image path. */
const WRITERS: Record<string, (image: string) => string[]> = {
  set: (image) => ['set', '--paused', image], // the sample was saved running
  define: (image) => ['define', image, xmlFile()],
  seal: (image) => ['seal', '--quiet', image],
};

function assertUntouched(image: string, result: CliResult, code: string): void {
  assert.is(result.status, 1, result.stderr);
  assert.match(result.stderr, `error[${code}]`);
  assert.ok(readFileSync(image).equals(ORIGINAL), 'the image changed');
  assert.not.ok(existsSync(lockPathOf(image)), 'a lock was left behind');
  assert.not.ok(existsSync(journalPathOf(image)), 'a journal was left behind');
}

let stagedBin: string | undefined;

/** Runs the CLI as `nobody`, from a copy it can read wherever the checkout lies. */
function runAsNobody(argv: string[]): CliResult {
  stagedBin ??= stageCli(openFolder());
  const result = spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, stagedBin, ...argv], {
    env: { ...process.env, HOME: '/' },
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr.toString() };
}

const unavailable = mountsUnavailable();
if (unavailable !== null) {
  if (process.env.SAVEKIT_REQUIRE_MOUNTS === '1') test('real file systems can be mounted here', () => assert.unreachable(`needs root, mount and setpriv: ${unavailable}`));
  else console.log(`cli/file systems: not run here (${unavailable}); CI runs them as root`);
} else {
  test('a read-only mount: every reader works, every writer is ERR_READ_ONLY and writes nothing', () => {
    const fs = mountTmpfs(2 * 1024 * 1024);
    const image = join(fs.dir, 'raw.save');
    copyFileSync(SAMPLE, image);
    fs.readOnly();
    try {
      for (const argv of READERS) assert.is(runBinary([...argv, image]).status, 0, argv.join(' '));
      for (const writer of Object.values(WRITERS)) assertUntouched(image, runBinary(writer(image)), 'ERR_READ_ONLY');
      const edit = runBinary(['edit', image], undefined, { EDITOR: 'sed -i s/tinysave/tinysaved/' });
      assertUntouched(image, edit, 'ERR_READ_ONLY');
      assert.match(takeKeptDraft(edit.stderr), 'tinysaved');
      assertUntouched(image, runBinary(['rewrite', '--running', image, join(fs.dir, 'out.save')]), 'ERR_READ_ONLY');
      assertUntouched(image, runBinary(['extract-ram', image, join(fs.dir, 'ram')]), 'ERR_READ_ONLY');
      assert.equal(readdirSync(fs.dir), ['raw.save']);
      const copy = join(openFolder(), 'copy.save');
      assert.is(runBinary(['rewrite', '--running', image, copy]).status, 0, 'a read-only image can be copied out');
    } finally {
      fs.readWrite();
    }
  });

  test('an image another user may only read: readers work, writers are ERR_READ_ONLY, no lock is left', () => {
    const dir = openFolder();
    const image = join(dir, 'raw.save');
    copyFileSync(SAMPLE, image);
    chmodSync(image, 0o444);
    for (const argv of [['info'], ['hash'], ['walk']]) assert.is(runAsNobody([...argv, image]).status, 0, argv.join(' '));
    for (const writer of Object.values(WRITERS)) assertUntouched(image, runAsNobody(writer(image)), 'ERR_READ_ONLY');
    chmodSync(image, 0o666);
    chmodSync(dir, 0o755); // the folder now refuses the lock file
    assertUntouched(image, runAsNobody(WRITERS.set!(image)), 'ERR_READ_ONLY');
  });

  for (const [name, writer] of Object.entries(WRITERS)) {
    test(`${name} on a full disk and with 1 to 64 pages left: done whole or not at all, then done once there is room`, () => {
      const roomy = join(openFolder(), 'raw.save');
      copyFileSync(SAMPLE, roomy);
      assert.is(runBinary(writer(roomy)).status, 0);
      const expected = readFileSync(roomy);
      const fs = mountTmpfs(1024 * 1024);
      const image = join(fs.dir, 'raw.save');
      const outcomes: string[] = [];
      for (const pages of [0, 1, 2, 4, 8, 16, 24, 30, 32, 34, 36, 40, 48, 64]) {
        rmSync(image, { force: true });
        fs.free();
        copyFileSync(SAMPLE, image);
        fs.fill(pages);
        const result = runBinary(writer(image));
        if (result.status === 0) {
          assert.ok(readFileSync(image).equals(expected), `${pages} pages: a different result`);
          outcomes.push(`${pages}:done`);
        } else {
          assertUntouched(image, result, 'ERR_IO');
          assert.match(result.stderr, 'ENOSPC');
          outcomes.push(`${pages}:refused`);
          fs.free();
          assert.is(runBinary(writer(image)).status, 0, `${pages} pages: the command fails again with room`);
          assert.ok(readFileSync(image).equals(expected));
        }
      }
      assert.is(outcomes[0], '0:refused', outcomes.join(' '));
      assert.is(outcomes.at(-1), '64:done', outcomes.join(' '));
    });
  }

  test('rewrite and extract-ram onto a full disk: ERR_IO naming the file, no output with the Save magic', () => {
    const fs = mountTmpfs(256 * 1024);
    for (const pages of [0, 4, 32]) {
      for (const entry of readdirSync(fs.dir)) rmSync(join(fs.dir, entry), { recursive: true, force: true });
      fs.fill(pages);
      const out = join(fs.dir, 'out.save');
      const rewrite = runBinary(['rewrite', '--running', SAMPLE, out]);
      assert.is(rewrite.status, 1, `${pages} pages`);
      assert.match(rewrite.stderr, 'error[ERR_IO]');
      assert.match(rewrite.stderr, out);
      if (existsSync(out)) assert.is.not(readFileSync(out).toString('latin1', 0, MAGIC_BYTES), MAGIC_SAVE);
      const extract = runBinary(['extract-ram', SAMPLE, join(fs.dir, 'ram')]);
      assert.is(extract.status, 1, `${pages} pages`);
      assert.match(extract.stderr, 'error[ERR_IO]');
      assert.match(extract.stderr, 'ENOSPC');
      assert.match(extract.stderr, join(fs.dir, 'ram'));
    }
    assert.ok(readFileSync(SAMPLE).equals(ORIGINAL));
  });
}

test.run();
