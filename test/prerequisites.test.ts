// npm test's own check for the programs the tests run: what it finds missing, the message that
// stops a run that cannot install them (before anything is built), and the install as root
// through apt-get (a stand-in apt-get on a private PATH: the machine's packages are not touched).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain ES module without types, run by npm test before TypeScript is built
import { ensurePrograms, missingPrograms, PROGRAMS } from './prerequisites.mjs';
import { tempDir } from './helpers/samples.js';

const test = suite('prerequisites');
const SCRIPT = fileURLToPath(new URL('prerequisites.mjs', import.meta.url));
const ALL = Object.keys(PROGRAMS as Record<string, string>);

/** A folder for PATH holding executables named `names` (shell scripts that do nothing). */
function binFolder(names: string[]): string {
  const dir = join(tempDir(), 'bin');
  mkdirSync(dir);
  for (const name of names) {
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}

test('every program on PATH: nothing missing; each one left out is named', () => {
  assert.equal(missingPrograms(binFolder(ALL)), []);
  assert.equal(missingPrograms(binFolder(ALL.filter((p) => p !== 'xxhsum' && p !== 'lzop'))), ['xxhsum', 'lzop']);
  assert.equal(missingPrograms('/nonexistent'), ALL);
});

test('a PATH without the programs: npm test stops at once, naming the Debian packages', () => {
  const bin = binFolder([]);
  symlinkSync(process.execPath, join(bin, 'node'));
  const run = spawnSync(join(bin, 'node'), [SCRIPT], { env: { PATH: bin }, encoding: 'utf8', timeout: 10_000 });
  assert.is(run.status, 1);
  assert.match(run.stderr, 'programs this machine lacks: xxhsum, lzop, zstd');
  assert.match(run.stderr, 'sudo apt-get install xxhash lzop zstd bzip2 xz-utils');
  assert.is(run.stdout, '');
});

test('not root: no install is tried, the message names what to install', () => {
  const logged: string[] = [];
  const message = ensurePrograms({ path: binFolder(ALL.filter((p) => p !== 'xxhsum')), uid: 1000, log: (line: string) => logged.push(line) });
  assert.match(message, 'lacks: xxhsum.');
  assert.match(message, 'sudo apt-get install xxhash');
  assert.equal(logged, []);
});

test('root with apt-get: the missing packages are installed, saying so', () => {
  const bin = binFolder(ALL.filter((p) => p !== 'xxhsum' && p !== 'lzop'));
  // The stand-in apt-get records its arguments and "installs" the two programs.
  writeFileSync(join(bin, 'apt-get'), `#!/bin/sh\nPATH=/usr/bin:/bin\necho "$@" >> ${join(bin, 'apt-get.log')}\nfor p in xxhsum lzop; do printf '#!/bin/sh\\n' > ${bin}/$p; chmod 755 ${bin}/$p; done\n`);
  chmodSync(join(bin, 'apt-get'), 0o755);
  const logged: string[] = [];
  assert.is(ensurePrograms({ path: bin, uid: 0, log: (line: string) => logged.push(line) }), null);
  assert.equal(logged, ['npm test: installing the Debian packages the tests run: xxhash lzop (for xxhsum, lzop)']);
  const calls = readFileSync(join(bin, 'apt-get.log'), 'utf8').trim().split('\n');
  assert.equal(calls, ['update -qq', 'install -y -qq --no-install-recommends xxhash lzop']);
  assert.ok(existsSync(join(bin, 'xxhsum')));
});

test('root, but apt-get cannot bring them: the run stops, naming what is still missing', () => {
  const bin = binFolder(ALL.filter((p) => p !== 'xxhsum'));
  writeFileSync(join(bin, 'apt-get'), '#!/bin/sh\nexit 100\n');
  chmodSync(join(bin, 'apt-get'), 0o755);
  const message = ensurePrograms({ path: bin, uid: 0, log: () => undefined });
  assert.match(message, 'apt-get could not install xxhash');
});

test.run();
