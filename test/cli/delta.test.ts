// savekit delta, apply and signature on the command line: pipes end to end (the ssh recipes of
// the README, in a folder whose name has spaces), --json and --help, and every way they refuse:
// a wrong BASE, a cut, damaged or newer delta, a damaged signature, a full disk. A failed apply
// leaves nothing under the Save magic, and BASE is never written.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { json, runBinary, runInProcess, SAVEKIT_BIN } from '../helpers/cli.js';
import { mountsUnavailable, mountTmpfs } from '../helpers/mounts.js';
import { copySample, samplePath, tempDir } from '../helpers/samples.js';

const test = suite('cli/delta');

const OLD = 'libvirt-9.0/gzip.save';
const NEW = 'libvirt-9.0/raw.save';

/** A folder with spaces in its name, holding private copies of OLD and NEW. */
function workspace(): { dir: string; base: string; next: string } {
  const dir = join(tempDir(), 'a folder with spaces');
  mkdirSync(dir);
  const base = join(dir, 'old vm.save');
  const next = join(dir, 'new vm.save');
  writeFileSync(base, readFileSync(samplePath(OLD)));
  writeFileSync(next, readFileSync(samplePath(NEW)));
  return { dir, base, next };
}

/** Runs `script` in bash, where `sk` runs savekit (its path may hold spaces, as the clone's). */
function shell(script: string, env: Record<string, string>): { status: number; stderr: string } {
  const result = spawnSync('bash', ['-o', 'pipefail', '-c', `sk() { "$SK_NODE" "$SK_MAIN" "$@"; }\n${script}`], { env: { ...process.env, ...env, SK_NODE: process.execPath, SK_MAIN: SAVEKIT_BIN } });
  return { status: result.status ?? -1, stderr: result.stderr.toString() };
}

test('delta | apply through pipes, and signature | delta --signature | apply: NEW back byte for byte', () => {
  const { dir, base, next } = workspace();
  const env = { BASE: base, NEXT: next, OUT1: join(dir, 'out 1.save'), OUT2: join(dir, 'out 2.save'), OUT3: join(dir, 'out 3.save') };
  let run = shell('sk delta "$BASE" "$NEXT" - | sk apply "$BASE" - "$OUT1"', env);
  assert.is(run.status, 0, run.stderr);
  assert.ok(readFileSync(env.OUT1).equals(readFileSync(next)));
  run = shell('sk signature "$BASE" - | sk delta --signature - "$NEXT" - | sk apply "$BASE" - "$OUT2"', env);
  assert.is(run.status, 0, run.stderr);
  assert.ok(readFileSync(env.OUT2).equals(readFileSync(next)));
  // NEW from stdin, OUT to stdout.
  run = shell('sk delta "$BASE" - - < "$NEXT" | sk apply "$BASE" - - > "$OUT3"', env);
  assert.is(run.status, 0, run.stderr);
  assert.ok(readFileSync(env.OUT3).equals(readFileSync(next)));
  assert.ok(readFileSync(base).equals(readFileSync(samplePath(OLD))), 'BASE untouched');
});

test('--json: the keys of the contract', async () => {
  const { dir, base, next } = workspace();
  const d = join(dir, 'd.delta');
  const made = json(await runInProcess(['delta', '--json', base, next, d]));
  for (const key of ['pages', 'samePages', 'literalBytes', 'deltaBytes', 'seconds', 'format', 'newStream', 'baseStream']) assert.ok(key in made, key);
  assert.is(made.deltaBytes, readFileSync(d).length);
  assert.is(made.format, 'raw');
  const applied = json(await runInProcess(['apply', '--json', base, d, join(dir, 'out.save')]));
  for (const key of ['format', 'pages', 'samePages', 'streamBytes', 'payloadOut', 'seconds', 'sealed', 'newStream', 'baseStream']) assert.ok(key in applied, key);
  assert.equal(applied.newStream, made.newStream);
  const sig = json(await runInProcess(['signature', '--json', base, join(dir, 'base.sig')]));
  assert.is(sig.signatureBytes, readFileSync(join(dir, 'base.sig')).length);
  assert.equal(sig.baseStream, made.baseStream);
});

test('--help of each, and usage errors exit 2', async () => {
  for (const name of ['delta', 'apply', 'signature']) {
    const help = await runInProcess([name, '--help']);
    assert.is(help.status, 0);
    assert.match(help.stdout.toString(), `savekit ${name}`);
  }
  const { base, next } = workspace();
  for (const argv of [
    ['delta', base],
    ['delta', '-', '-'],
    ['delta', '--json', base, next],
    ['delta', '--level', '0', base, next, join(tempDir(), 'x')],
    ['apply', '-', '-'],
    ['apply', '--format', 'zip', base, next],
    ['signature', '--json', base],
  ]) {
    const result = await runInProcess(argv);
    assert.is(result.status, 2, `${argv.join(' ')}: ${result.stderr}`);
  }
  // OUT may be none of the inputs: nothing is written to it.
  const d = join(tempDir(), 'd.delta');
  assert.is((await runInProcess(['delta', base, next, d])).status, 0);
  const before = [readFileSync(base), readFileSync(next), readFileSync(d)];
  for (const argv of [
    ['delta', base, next, base],
    ['delta', base, next, next],
    ['apply', base, d, d],
    ['apply', base, d, base],
    ['signature', base, base],
  ]) {
    const result = await runInProcess(argv);
    assert.is(result.status, 2, `${argv.join(' ')}: ${result.stderr}`);
  }
  assert.ok([readFileSync(base), readFileSync(next), readFileSync(d)].every((bytes, i) => bytes.equals(before[i]!)), 'an input was written');
});

/** apply that must fail with `code`: nothing under the Save magic, BASE unchanged. */
function refused(base: string, delta: string, code: string): void {
  const before = readFileSync(base);
  const out = join(tempDir(), 'refused.save');
  const result = runBinary(['apply', '--quiet', base, delta, out]);
  assert.is(result.status, 1, result.stderr);
  assert.match(result.stderr, `error[${code}]`);
  assert.not.ok(existsSync(out) && readFileSync(out).toString('latin1', 0, 16) === 'LibvirtQemudSave', 'OUT under the Save magic');
  assert.ok(readFileSync(base).equals(before), 'BASE changed');
}

test('a wrong BASE: another guest, another save of the same guest, the same save in another format', async () => {
  const { dir, base, next } = workspace();
  const d = join(dir, 'd.delta');
  assert.is((await runInProcess(['delta', base, next, d])).status, 0);
  refused(copySample('libvirt-9.0/kvm-raw.save'), d, 'ERR_BASE_MISMATCH');
  refused(copySample('libvirt-9.0/xz.save'), d, 'ERR_BASE_MISMATCH');
  refused(copySample('libvirt-11.3/zstd.save'), d, 'ERR_BASE_MISMATCH');
  // The same stream in another payload format is the same BASE.
  const asRaw = join(dir, 'base-as-raw.save');
  assert.is((await runInProcess(['convert', '--quiet', '--format', 'xz', base, asRaw])).status, 0);
  assert.is(runBinary(['apply', '--quiet', asRaw, d, join(dir, 'ok.save')]).status, 0);
  assert.ok(readFileSync(join(dir, 'ok.save')).equals(readFileSync(next)));
});

test('a cut, damaged, newer or foreign delta, and a damaged signature', async () => {
  const { dir, base, next } = workspace();
  const d = join(dir, 'd.delta');
  assert.is((await runInProcess(['delta', base, next, d])).status, 0);
  const bytes = readFileSync(d);
  for (const cut of [0, 10, 16, 17, 100, Math.floor(bytes.length / 2), bytes.length - 1]) {
    const cutPath = join(dir, `cut-${cut}.delta`);
    writeFileSync(cutPath, bytes.subarray(0, cut));
    refused(base, cutPath, 'ERR_BAD_DELTA');
  }
  for (const at of [20, Math.floor(bytes.length / 2), bytes.length - 3]) {
    const damaged = Buffer.from(bytes);
    damaged[at] ^= 0x40;
    const damagedPath = join(dir, `damaged-${at}.delta`);
    writeFileSync(damagedPath, damaged);
    refused(base, damagedPath, 'ERR_BAD_DELTA');
  }
  const newer = Buffer.from(bytes);
  newer.writeUInt16BE(2, 12);
  writeFileSync(join(dir, 'newer.delta'), newer);
  refused(base, join(dir, 'newer.delta'), 'ERR_UNSUPPORTED_VERSION');
  refused(base, next, 'ERR_BAD_DELTA'); // an image given as the delta
  const sig = join(dir, 'base.sig');
  assert.is((await runInProcess(['signature', base, sig])).status, 0);
  const damagedSig = readFileSync(sig);
  damagedSig[damagedSig.length - 4] ^= 0x01;
  writeFileSync(sig, damagedSig);
  const result = await runInProcess(['delta', '--signature', sig, next, join(dir, 'from-sig.delta')]);
  assert.is(result.status, 1);
  assert.match(result.stderr, 'error[ERR_BAD_SIGNATURE]');
  assert.not.ok(existsSync(join(dir, 'from-sig.delta')), 'a failed delta is removed');
});

const unavailable = mountsUnavailable();
if (unavailable === null) {
  test('a full disk: ERR_IO, nothing under the Save magic, no delta left', async () => {
    const { dir, base, next } = workspace();
    const d = join(dir, 'd.delta');
    assert.is((await runInProcess(['delta', base, next, d])).status, 0);
    const fs = mountTmpfs(1024 * 1024);
    fs.fill(20);
    const out = join(fs.dir, 'out.save');
    const applied = runBinary(['apply', '--quiet', base, d, out]);
    assert.is(applied.status, 1, applied.stderr);
    assert.match(applied.stderr, 'error[ERR_IO]');
    assert.not.ok(existsSync(out), 'the failed OUT is removed');
    fs.free();
    fs.fill(2);
    const delta = runBinary(['delta', '--quiet', base, copySample('libvirt-11.3/kvm-raw.save'), join(fs.dir, 'x.delta')]);
    assert.is(delta.status, 1, delta.stderr);
    assert.match(delta.stderr, 'error[ERR_IO]');
    assert.equal(readdirSync(fs.dir).filter((name) => !name.startsWith('.')), []);
    fs.free();
  });
}

test.run();
