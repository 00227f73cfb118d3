// npm test's runner: every *.test.ts under test/ through uvu (ESM, via tsx), inside a private
// temporary folder, then the check that the suite cleaned up after itself. A run of the tests
// must leave nothing behind in the user's temporary folder: whatever a test left in the private
// one (beyond the compile caches of tsx and, from Node 22 on, of Node itself, which tsx turns
// on) is listed and fails the run, and the folder is removed.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// `node test/run.mjs [FOLDER] [uvu options]`: every test, or those under one folder (test/cli).
const [first, ...rest] = process.argv.slice(2);
const folder = first !== undefined && !first.startsWith('-') ? first : 'test';
const options = folder === first ? rest : process.argv.slice(2);
const privateTmp = mkdtempSync(join(tmpdir(), 'savekit-test-run-'));
chmodSync(privateTmp, 0o755); // the file-system tests run the CLI as `nobody` from folders in here

let status;
try {
  // uvu colours its output by setting FORCE_COLOR, which every program the tests start inherits;
  // beside a NO_COLOR (CI's), Node 22 and later warn about the pair on stderr, where tests look.
  const colour = process.env.NO_COLOR ? ['--no-color'] : [];
  const uvu = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'node_modules/uvu/bin.js'), folder, '\\.test\\.ts$', ...colour, ...options], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TMPDIR: privateTmp },
  });
  status = uvu.status ?? 1;
  const left = readdirSync(privateTmp).filter((name) => !name.startsWith('tsx-') && name !== 'node-compile-cache');
  if (left.length > 0) {
    console.log(`\n  FAIL  the tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temporary folder: ${left.join(', ')}`);
    status = 1;
  } else {
    console.log('\n  temporary folder: nothing left behind');
  }
  console.log('  s3:// images: the object-store tests need a real Ceph: npm run test:objects (as root; CI runs it)');
} finally {
  rmSync(privateTmp, { recursive: true, force: true });
}
process.exit(status);
