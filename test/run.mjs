// npm test's runner: every *.test.ts under test/ (or under the folders and files named:
// `node test/run.mjs test/cli test/hash.test.ts`), each file in a process of its own (node --import tsx FILE: uvu runs a file's
// suites itself), several at once, inside a private temporary folder; then the check that the
// suite cleaned up after itself. A file's output is printed whole when it ends, so files never
// interleave, and the run closes with uvu's own summary lines over every file (Total, Passed,
// Skipped, Duration), which .ci/run reads.
//
// Most files wait on the programs they start (the CLI, compressors, xxhsum), so more files run
// at once than there are cores: SAVEKIT_TEST_JOBS sets how many (default: cores + 2). Files are
// started longest first, by the durations of the last run on this machine where one was kept
// (node_modules/.cache), else by their size. A run must leave nothing behind in the user's
// temporary folder: whatever a test left in the private one (beyond the compile caches of tsx
// and, from Node 22 on, of Node itself, which tsx turns on) is listed and fails the run.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const named = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const targets = named.length > 0 ? named : ['test'];
const jobs = Math.max(1, Number(process.env.SAVEKIT_TEST_JOBS) || availableParallelism() + 2);
const timings = join(root, 'node_modules', '.cache', 'savekit', 'test-durations.json');

function testFiles(path) {
  if (path.endsWith('.test.ts')) return [path];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? testFiles(join(path, entry.name)) : entry.name.endsWith('.test.ts') ? [join(path, entry.name)] : [],
  );
}

function readTimings() {
  try {
    return JSON.parse(readFileSync(timings, 'utf8'));
  } catch {
    return {};
  }
}

/** uvu's closing counts in a file's output, or null when it never got there (a crash, a failed import). */
function countsOf(output) {
  const count = (name) => Number(new RegExp(`^\\s*${name}:\\s+(\\d+)`, 'm').exec(output)?.[1] ?? NaN);
  const total = count('Total');
  const passed = count('Passed');
  return Number.isNaN(total) || Number.isNaN(passed) ? null : { total, passed, skipped: count('Skipped') || 0 };
}

function runFile(file, env) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('close', (code, signal) => resolve({ file, code, signal, output: Buffer.concat(output).toString(), seconds: (performance.now() - started) / 1000 }));
  });
}

const privateTmp = mkdtempSync(join(tmpdir(), 'savekit-test-run-'));
chmodSync(privateTmp, 0o755); // the file-system tests run the CLI as `nobody` from folders in here

let status = 0;
try {
  const known = readTimings();
  const files = targets.flatMap((target) => testFiles(join(root, target)))
    .map((path) => ({ path, name: relative(root, path), weight: known[relative(root, path)] ?? statSync(path).size / 1000 }))
    .sort((a, b) => b.weight - a.weight);
  // uvu colours only a terminal; NO_COLOR beside a FORCE_COLOR made Node 22+ warn on every child's stderr.
  const env = { ...process.env, TMPDIR: privateTmp };
  delete env.FORCE_COLOR;
  console.log(`npm test: ${files.length} test files, ${Math.min(jobs, files.length)} at a time (SAVEKIT_TEST_JOBS)`);
  const started = performance.now();
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++];
      const result = await runFile(file.path, env);
      const counts = countsOf(result.output);
      const failed = result.code !== 0 || counts === null || counts.passed + counts.skipped < counts.total;
      results.push({ ...result, name: file.name, counts, failed });
      process.stdout.write(`\n${file.name} (${result.seconds.toFixed(1)} s)${failed ? '  FAILED' : ''}\n${result.output.trimEnd()}\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, files.length) }, worker));

  const total = results.reduce((sum, r) => sum + (r.counts?.total ?? 1), 0);
  const passed = results.reduce((sum, r) => sum + (r.failed ? Math.min(r.counts?.passed ?? 0, (r.counts?.total ?? 1) - 1) : r.counts.passed), 0);
  const skipped = results.reduce((sum, r) => sum + (r.counts?.skipped ?? 0), 0);
  const failedFiles = results.filter((r) => r.failed);
  if (failedFiles.length > 0) status = 1;

  const slowest = [...results].sort((a, b) => b.seconds - a.seconds).slice(0, 5);
  console.log(`\n  slowest files: ${slowest.map((r) => `${r.name} ${r.seconds.toFixed(0)} s`).join(', ')}`);
  for (const r of failedFiles) console.log(`  FAIL  ${r.name}: ${r.counts === null ? `ended without uvu's summary (exit ${r.code ?? r.signal})` : `${r.counts.total - r.counts.passed - r.counts.skipped} of ${r.counts.total} failed`}`);
  console.log(`\n  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   ${skipped}\n  Duration:  ${((performance.now() - started) / 1000).toFixed(1)}s`);

  try {
    mkdirSync(join(timings, '..'), { recursive: true });
    writeFileSync(timings, JSON.stringify({ ...known, ...Object.fromEntries(results.map((r) => [r.name, Math.round(r.seconds * 10) / 10])) }, null, 1));
  } catch {
    // a read-only node_modules: the next run orders files by size
  }

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
