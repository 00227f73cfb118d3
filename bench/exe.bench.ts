// The one-file executable against the npm package, in one run: start-up (`--version`, `info` of
// a genuine sample, ten calls a round), `hash` of a 4 GiB image, peak RSS, and the sizes of the
// executable and the .deb. Run: npm run bench:exe (builds dist/exe/savekit-linux-x64 if absent).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildExecutable, executablePath } from '../packaging/build-exe.js';
import { bundleCli } from '../packaging/bundle.js';
import { debPath } from '../packaging/build-deb.js';
import { BUILD_LINE, nodeBinary } from '../packaging/runtimes.js';
import { pairedRatio, peakRssMiB, SAVEKIT_SH, shellWord, syntheticImageOf, timeCases } from './harness.js';

const SAMPLE = shellWord(fileURLToPath(new URL('../samples/libvirt-9.0/raw.save', import.meta.url)));
if (!existsSync(executablePath('x64'))) buildExecutable('x64', await bundleCli());
const exe = shellWord(executablePath('x64'));
const node = shellWord(process.execPath);
const nodeLts = shellWord(nodeBinary(BUILD_LINE));
const tenTimes = (command: string): string => `for i in 1 2 3 4 5 6 7 8 9 10; do ${command} > /dev/null; done`;

const startup = timeCases(
  [
    { name: `node ${process.version} dist/cli/main.js --version`, command: tenTimes(`${node} ${SAVEKIT_SH} --version`) },
    { name: `node ${BUILD_LINE} dist/cli/main.js --version`, command: tenTimes(`${nodeLts} ${SAVEKIT_SH} --version`) },
    { name: 'savekit-linux-x64 --version', command: tenTimes(`${exe} --version`) },
    { name: `node ${process.version} dist/cli/main.js info SAMPLE`, command: tenTimes(`${node} ${SAVEKIT_SH} info ${SAMPLE}`) },
    { name: 'savekit-linux-x64 info SAMPLE', command: tenTimes(`${exe} info ${SAMPLE}`) },
  ],
  9,
);
const perCall = (name: string): string => `${((startup.find((t) => t.name === name)!.seconds / 10) * 1000).toFixed(1)} ms`;
console.log('\n### Start-up, one call (median of 9 rounds of 10 calls)\n\n| command | one call | savekit-linux-x64 against it |\n|---|---|---|');
for (const [name, exeName] of [
  [`node ${process.version} dist/cli/main.js --version`, 'savekit-linux-x64 --version'],
  [`node ${BUILD_LINE} dist/cli/main.js --version`, 'savekit-linux-x64 --version'],
  [`node ${process.version} dist/cli/main.js info SAMPLE`, 'savekit-linux-x64 info SAMPLE'],
] as const) {
  // pairedRatio gives baseline/case: above 1 the executable is faster; time(exe)/time(node) is its inverse.
  const { median, min, max } = pairedRatio(startup, name, exeName);
  console.log(`| ${name} | ${perCall(name)} | ${perCall(exeName)}: ${(1 / median).toFixed(2)}x its time (${(1 / max).toFixed(2)} to ${(1 / min).toFixed(2)}) |`);
}

const GIB = 1024 ** 3;
const image = syntheticImageOf(4 * GIB);
const hashing = timeCases([
  { name: `node ${process.version} dist/cli/main.js hash IMG`, command: `${node} ${SAVEKIT_SH} hash ${shellWord(image)}` },
  { name: 'savekit-linux-x64 hash IMG', command: `${exe} hash ${shellWord(image)}` },
  { name: `node ${BUILD_LINE} dist/cli/main.js hash IMG`, command: `${nodeLts} ${SAVEKIT_SH} hash ${shellWord(image)}` },
]);
console.log(`\n### hash of a 4 GiB image (${statSync(image).size} bytes), median of 5\n\n| command | median | ratio to node ${process.version} |\n|---|---|---|`);
for (const timing of hashing) console.log(`| ${timing.name} | ${timing.seconds.toFixed(3)} s | ${pairedRatio(hashing, hashing[0]!.name, timing.name).text} |`);

const small = syntheticImageOf(GIB);
console.log('\n### Peak RSS of hash (MiB)\n\n| command | 1 GiB | 4 GiB |\n|---|---|---|');
for (const [name, command] of [
  [`node ${process.version} dist/cli/main.js`, `${node} ${SAVEKIT_SH}`],
  ['savekit-linux-x64', exe],
] as const) {
  console.log(`| ${name} | ${peakRssMiB(`${command} hash ${shellWord(small)}`).toFixed(1)} | ${peakRssMiB(`${command} hash ${shellWord(image)}`).toFixed(1)} |`);
}

const mib = (path: string): string => (existsSync(path) ? `${(statSync(path).size / 2 ** 20).toFixed(1)} MiB` : 'not built (npm run build:deb)');
console.log(`\n### Sizes\n\n| file | size |\n|---|---|\n| official node ${BUILD_LINE} binary | ${mib(nodeBinary(BUILD_LINE))} |\n| dist/exe/savekit-linux-x64 (stripped before the blob) | ${mib(executablePath('x64'))} |\n| ${join('dist/deb', debPath('x64').split('/').at(-1)!)} (xz) | ${mib(debPath('x64'))} |`);
