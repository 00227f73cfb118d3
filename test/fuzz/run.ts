// npm run fuzz [-- CASES [SEED]]: the long property-based pass over every target (default one
// million cases in all, a fresh seed each run, printed so a failure can be replayed).
import { TARGETS, fuzzAll } from './targets.js';

const total = Number(process.argv[2] ?? 1_000_000);
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
const each = Math.ceil(total / Object.keys(TARGETS).length);
const started = performance.now();
let tried = 0;
let failures = 0;
for (const name of Object.keys(TARGETS)) {
  const [report] = await fuzzAll(each, seed, name);
  tried += report!.runs;
  if (report!.failure) failures++;
  console.log(`${name.padEnd(10)} ${String(report!.runs).padStart(9)} cases  ${report!.failure ? `FAILED: ${report!.failure}` : 'ok'}`);
}
console.log(`\n${tried} cases in ${((performance.now() - started) / 1000).toFixed(1)} s, seed ${seed}: ${failures} failing targets`);
process.exitCode = failures > 0 ? 1 : 0;
