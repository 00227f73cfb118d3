// npm run test:lts: savekit on every Node LTS line it supports, on the official binaries pinned in
// packaging/runtimes (installed on first use). What differs from one line to the next is what
// savekit asks of the runtime: processes, pipes and descriptors, worker threads, the addon
// (N-API), streams, parseArgs. So every line runs the tests of the layers that ask it (RUNTIME_TESTS:
// every command end to end, the I/O layer, the jobs, the Node streams, hashing), not the pure
// codec, XML and edit tests again, nor the build and type check, whose output is the same
// JavaScript on every line. The machine's own Node runs `npm test` whole. Ends with the line CI
// reads: "N passed, N failed".
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LTS_LINES, nodeBinary } from '../packaging/runtimes.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs a command with `node` first on PATH, passing its output through; its uvu totals. */
function run(node: string, command: string, args: string[]): Promise<{ status: number; total: number; passed: number }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', PATH: `${dirname(node)}:${process.env.PATH ?? ''}` }, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      text += chunk.toString();
    });
    child.on('close', (status) => {
      const plain = text.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
      const count = (label: string) => Number(/^\s*(\d+)\s*$/.exec(plain.split(`${label}:`).at(-1)?.split('\n')[0] ?? '')?.[1] ?? 0);
      resolve({ status: status ?? 1, total: count('Total'), passed: count('Passed') });
    });
  });
}

/** The test folders and files that meet the runtime (test/run.mjs takes them as they are). */
const RUNTIME_TESTS = ['test/cli', 'test/io', 'test/jobs', 'test/stream', 'test/hash.test.ts'];

let passed = 0;
let failed = 0;
for (const line of LTS_LINES) {
  const node = nodeBinary(line);
  console.log(`\n== Node ${line} (${node.slice(ROOT.length)}): ${RUNTIME_TESTS.join(' ')}`);
  const started = Date.now();
  const result = await run(node, node, [join(ROOT, 'test', 'run.mjs'), ...RUNTIME_TESTS]);
  const lineFailed = result.total - result.passed + (result.status !== 0 && result.total === result.passed ? 1 : 0) + (result.total === 0 ? 1 : 0);
  passed += result.passed;
  failed += lineFailed;
  console.log(`(Node ${line}: ${result.passed} of ${result.total} passed, exit ${result.status}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
