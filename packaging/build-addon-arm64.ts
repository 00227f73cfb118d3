// npm run build:addon:arm64: the native addon for aarch64 hosts, cross-compiled with Debian's
// gcc-aarch64-linux-gnu against the N-API headers of the pinned Node (no network, no node-gyp),
// into prebuilds/linux-arm64 where node-gyp-build looks on an arm64 machine and where
// build-exe.ts takes it for the arm64 executable. The result is committed, like linux-x64's.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonPrebuild } from './build-exe.js';
import { nodeHeaders } from './runtimes.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SOURCES = ['addon.c', 'pipe-setup.c', 'xxh64.c', 'copy.c', 'map.c'].map((file) => join(ROOT, 'native', file)); // as binding.gyp
const output = addonPrebuild('arm64');
mkdirSync(join(output, '..'), { recursive: true });
const compile = ['-shared', '-fPIC', '-O3', '-Wall', '-Werror', '-DNODE_GYP_MODULE_NAME=savekit_native', '-DBUILDING_NODE_EXTENSION', `-ffile-prefix-map=${ROOT}=`, '-I', nodeHeaders(), ...SOURCES, '-o', output];
try {
  execFileSync('aarch64-linux-gnu-gcc', compile, { stdio: 'inherit' });
  execFileSync('aarch64-linux-gnu-strip', ['--strip-unneeded', output], { stdio: 'inherit' });
} catch (error) {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('the cross-compiler is needed: apt-get install gcc-aarch64-linux-gnu');
  throw error;
}
console.log(output);
