// npm run test:lts: savekit on every Node LTS line it supports, on the official binaries pinned in
// packaging/runtimes (installed on first use): `npm test` whole on the current line, the CLI tests
// (test/cli: every command end to end, as a child process and in-process) on the others. The
// machine's own Node runs `npm test` itself. Ends with the line CI reads: "N passed, N failed".
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_LINE, LTS_LINES, nodeBinary } from '../packaging/runtimes.js';

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

let passed = 0;
let failed = 0;
for (const line of LTS_LINES) {
  const node = nodeBinary(line);
  const whole = line === BUILD_LINE;
  console.log(`\n== Node ${line} (${node.slice(ROOT.length)}): ${whole ? 'npm test' : 'the CLI tests'}`);
  const started = Date.now();
  const result = whole ? await run(node, 'npm', ['test']) : await run(node, node, [join(ROOT, 'test', 'run.mjs'), 'test/cli']);
  const lineFailed = result.total - result.passed + (result.status !== 0 && result.total === result.passed ? 1 : 0) + (result.total === 0 ? 1 : 0);
  passed += result.passed;
  failed += lineFailed;
  console.log(`(Node ${line}: ${result.passed} of ${result.total} passed, exit ${result.status}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
