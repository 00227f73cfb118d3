// define, edit, set and recover as users run them: the executable, real child processes
// killed with SIGKILL mid-edit, a second editor, $EDITOR.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { json, runBinary, runInProcess, takeKeptDraft } from '../helpers/cli.js';
import { copySample, readDump, readSample, SAMPLES_DIR, tempDir } from '../helpers/samples.js';

const test = suite('cli/edit');
const CHILD = fileURLToPath(new URL('../helpers/edit-child.ts', import.meta.url));

test('define reproduces libvirt\'s edit; the same XML again writes nothing', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const xml = join(SAMPLES_DIR, 'libvirt-9.0/dumps/raw.define-desc-longer.embedded-xml.txt');
  const first = runBinary(['define', '--json', path, xml]);
  assert.is(first.status, 0, first.stderr);
  assert.is(json(first).changed, true);
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/edited/raw.define-desc-longer.save')));
  const again = runBinary(['define', path, xml]);
  assert.is(again.status, 0);
  assert.match(again.stdout.toString(), 'nothing to write');
});

test('define reads the XML from stdin and takes --paused', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const result = runBinary(['define', path, '-', '--paused'], readDump('libvirt-9.0/dumps/raw', 'embedded-xml.txt'));
  assert.is(result.status, 0, result.stderr);
  const before = readSample('libvirt-9.0/raw.save');
  const after = readFileSync(path);
  let changed = 0;
  for (let i = 0; i < after.length; i++) if (after[i] !== before[i]) changed++;
  assert.is(changed, 1);
  assert.is(after.readUInt32LE(24), 0);
});

test('define with one byte too many: ERR_XML_TOO_LARGE, exit 1, file untouched', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const stored = readDump('libvirt-9.0/dumps/raw', 'embedded-xml.txt').toString();
  const room = 66898 - 1325 - 37;
  const xml = join(tempDir(), 'big.xml');
  writeFileSync(xml, stored.replace('</description>', `${'x'.repeat(room + 1)}</description>`));
  const result = runBinary(['define', path, xml]);
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_XML_TOO_LARGE]');
  assert.match(result.stderr, '1 bytes are missing');
  assert.match(result.stderr, 'savekit rewrite');
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/raw.save')));
});

test('set --version 3 then --version 2 gives back the same file; info accepts both', async () => {
  const path = copySample('libvirt-9.0/kvm-raw.save');
  assert.is((await runInProcess(['set', path, '--version', '3'])).status, 0);
  assert.is(json(await runInProcess(['info', '--json', path])).version, 3);
  assert.is((await runInProcess(['set', path, '--version', '2'])).status, 0);
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/kvm-raw.save')));
});

test('set usage errors exit 2', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  assert.is((await runInProcess(['set', path])).status, 2);
  assert.is((await runInProcess(['set', path, '--version', '4'])).status, 2);
  assert.is((await runInProcess(['set', path, '--running', '--paused'])).status, 2);
  assert.is((await runInProcess(['define', path])).status, 2);
});

for (const command of ['define', 'edit', 'set', 'recover']) {
  test(`${command} --help`, async () => {
    const result = await runInProcess([command, '--help']);
    assert.is(result.status, 0);
    assert.match(result.stdout.toString(), `usage: savekit ${command}`);
  });
}

function editorScript(body: string): string {
  const path = join(tempDir(), 'editor.sh');
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('edit stores what the editor saved', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const editor = editorScript(`sed -i 's/original description/edited in vi/' "$1"`);
  const result = runBinary(['edit', path], undefined, { EDITOR: editor, VISUAL: '' });
  assert.is(result.status, 0, result.stderr);
  assert.match(readFileSync(path).toString('latin1', 92, 1500), 'edited in vi');
});

test('edit with no change writes nothing', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const result = runBinary(['edit', path], undefined, { VISUAL: 'true' });
  assert.is(result.status, 0);
  assert.match(result.stdout.toString(), 'unchanged');
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/raw.save')));
});

test('edit that breaks the XML fails and keeps the draft', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const editor = editorScript(`sed -i 's/<\\/domain>/<\\/domian>/' "$1"`);
  const result = runBinary(['edit', path], undefined, { EDITOR: editor, VISUAL: '' });
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_BAD_XML]');
  assert.ok(takeKeptDraft(result.stderr).includes('</domian>'));
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/raw.save')));
});

test('an editor that fails without saving: nothing written, no draft left behind', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const before = readdirSync(tmpdir()).filter((name) => name.startsWith('savekit-edit-'));
  const result = runBinary(['edit', path], undefined, { VISUAL: 'false' });
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_IO]');
  assert.not.match(result.stderr, 'kept in');
  assert.equal(readdirSync(tmpdir()).filter((name) => name.startsWith('savekit-edit-')), before);
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/raw.save')));
});

test('an editor that saves, then fails: nothing written, the draft kept and named', () => {
  const path = copySample('libvirt-9.0/raw.save');
  const editor = editorScript(`sed -i 's/original description/half done/' "$1"; exit 3`);
  const result = runBinary(['edit', path], undefined, { EDITOR: editor, VISUAL: '' });
  assert.is(result.status, 1);
  assert.match(result.stderr, 'status 3');
  assert.ok(takeKeptDraft(result.stderr).includes('half done'));
  assert.ok(readFileSync(path).equals(readSample('libvirt-9.0/raw.save')));
});

test('a define killed with SIGKILL at every step is recovered to the old or the new image', () => {
  const original = readSample('libvirt-9.0/raw.save');
  let completed = false;
  for (let step = 0; step < 20 && !completed; step++) {
    const path = copySample('libvirt-9.0/raw.save');
    const child = spawnSync(process.execPath, ['--import', 'tsx', CHILD, 'kill', path, String(step)]);
    completed = child.status === 0;
    if (!completed) assert.is(child.signal, 'SIGKILL', child.stderr.toString());
    const recover = runBinary(['recover', '--json', path]);
    assert.is(recover.status, 0, recover.stderr);
    const after = readFileSync(path);
    const isOld = after.equals(original);
    assert.ok(isOld || after.toString('latin1', 92, 1500).includes('and more</description>'), `step ${step}`);
    const info = runBinary(['info', path]);
    assert.is(info.status, 0, info.stderr);
  }
  assert.ok(completed, 'the edit eventually completes');
});

test('two editors at once: the second gets ERR_LOCKED at once', async () => {
  const path = copySample('libvirt-9.0/raw.save');
  const holder = spawn(process.execPath, ['--import', 'tsx', CHILD, 'hold', path, '4000']);
  await new Promise<void>((resolve) => holder.stdout.once('data', () => resolve()));
  const started = Date.now();
  const result = runBinary(['set', path, '--paused']);
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_LOCKED]');
  assert.ok(Date.now() - started < 3000);
  holder.kill('SIGKILL');
  await new Promise((resolve) => holder.once('exit', resolve));
  const after = runBinary(['set', path, '--paused']);
  assert.is(after.status, 0, after.stderr);
});

test('while a journal exists, readers refuse with ERR_RECOVERY_NEEDED', () => {
  const path = copySample('libvirt-9.0/raw.save');
  writeFileSync(`${path}.savekit-journal`, 'torn');
  for (const argv of [['info', path], ['dumpxml', path], ['cpu', path], ['set', path, '--paused']]) {
    const result = runBinary(argv);
    assert.is(result.status, 1);
    assert.match(result.stderr, 'error[ERR_RECOVERY_NEEDED]');
  }
  assert.match(runBinary(['recover', path]).stdout.toString(), 'unchanged');
  assert.is(runBinary(['info', path]).status, 0);
});

test.run();
