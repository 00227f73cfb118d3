// savekit as people install it: `npm pack`, then `npm install` of the tarball in an empty
// folder with no C compiler (CC and CXX fail), the CLI through npx, ESM imports of `savekit`
// and `savekit/codec`, and a TypeScript consumer type-checked against the published types
// under moduleResolution node16 and bundler. The prebuilt N-API addon must load without a
// compiler; a tarball without it must still install (the addon is optional).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSample, tempDir } from './helpers/samples.js';
import { VERSION } from '../lib/cli/command-table.js';
import { LTS_LINES, hostArch } from '../packaging/runtimes.js';
import { buildEach, MissingTool } from '../packaging/build-exe.js';

const test = suite('package');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', '.bin', 'tsc');
const NO_COMPILER = { CC: 'false', CXX: 'false', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  assert.is(result.status, 0, `${command} ${args.join(' ')} in ${cwd}:\n${result.stdout}\n${result.stderr}`);
  return result;
}

/** An empty consumer project with savekit installed from `tarball`, offline-first. */
function consumer(tarball: string): string {
  const dir = join(tempDir(), 'consumer project');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  sh('npm', ['install', '--prefer-offline', tarball], dir, NO_COMPILER);
  return dir;
}

const packDir = tempDir();
const packed = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', packDir], ROOT);
const manifest = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
const TARBALL = join(packDir, manifest[0].filename);
const FILES = manifest[0].files.map((f) => f.path);

test('build:exe for every architecture skips one whose tools this machine lacks, says what it needs, and builds its own; asked for one, it fails', () => {
  const other = hostArch() === 'x64' ? 'arm64' : 'x64';
  const build = (arch: string) => {
    if (arch === other) throw new MissingTool(`aarch64-linux-gnu-strip is needed: apt-get install binutils-aarch64-linux-gnu`);
    return `dist/exe/savekit-linux-${arch}`;
  };
  const warnings: string[] = [];
  assert.equal(buildEach(['x64', 'arm64'], false, build, (line) => warnings.push(line)), [`dist/exe/savekit-linux-${hostArch()}`]);
  assert.equal(warnings, [`skipped the ${other} executable: aarch64-linux-gnu-strip is needed: apt-get install binutils-aarch64-linux-gnu (or build it alone with npm run build:exe -- --arch ${other})`]);
  assert.throws(() => buildEach([other], true, build, () => undefined), /is needed/);
  // The machine's own executable, or any other failure, is never skipped.
  assert.throws(() => buildEach([hostArch()], false, () => { throw new MissingTool('strip is needed'); }, () => undefined), /strip is needed/);
  assert.throws(() => buildEach([other], false, () => { throw new Error('no addon prebuild'); }, () => undefined), /no addon prebuild/);
});

test('the tarball holds the CLI, the types, the sources of the addon and its linux-x64 and linux-arm64 prebuilds, and no tests or builds', () => {
  for (const path of ['dist/cli/main.js', 'dist/index.js', 'dist/index.d.ts', 'dist/codec/index.d.ts', 'native/pipe-setup.c', 'binding.gyp', 'prebuilds/linux-x64/savekit_native.napi.glibc.node', 'prebuilds/linux-arm64/savekit_native.napi.glibc.node']) {
    assert.ok(FILES.includes(path), `${path} is missing from the package`);
  }
  assert.equal(FILES.filter((path) => /^(test|bench|samples|lib|packaging|dist\/exe|dist\/deb)\//.test(path) || path.endsWith('.log')), []);
  // The executables and packages npm run build:exe and build:deb leave in dist/ stay out of it.
  const files = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }).files;
  assert.ok(files.includes('!dist/exe') && files.includes('!dist/deb'));
});

test('the version savekit prints is the package\'s, and engines names the Node lines the tests run on', () => {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; engines: { node: string } };
  assert.is(VERSION, manifest.version);
  // LTS_LINES are tested by npm run test:lts (.ci/run); 20 is the machine's own Node.
  assert.is(manifest.engines.node, `^20.19.0 || >=${LTS_LINES[0]}.3.0`);
  assert.equal([...LTS_LINES], [22, 24, 26]);
});

test('installed without a compiler: npx savekit works and the prebuilt addon loads', () => {
  const dir = consumer(TARBALL);
  const installed = join(dir, 'node_modules', 'savekit');
  assert.not.ok(readdirSync(installed).includes('build'), 'nothing should have been compiled');
  assert.match(sh('npx', ['--no-install', 'savekit', '--help'], dir).stdout, 'savekit');
  writeFileSync(join(dir, 'raw.save'), readSample('libvirt-9.0/raw.save'));
  const info = JSON.parse(sh('npx', ['--no-install', 'savekit', 'info', '--json', 'raw.save'], dir).stdout) as { format: string; dataLen: number };
  assert.equal([info.format, info.dataLen], ['raw', 66898]);
  const load = `const b = require('node-gyp-build')(${JSON.stringify(installed)}); process.stdout.write(typeof b.setPipeSize)`;
  assert.is(sh(process.execPath, ['-e', load], dir).stdout, 'function');

  const esm = `import { decodeHeader, walkImage, SaveImageError } from 'savekit';
import * as codec from 'savekit/codec';
import { readFileSync } from 'node:fs';
const header = codec.decodeHeader(readFileSync('raw.save').subarray(0, 92));
console.log(JSON.stringify([typeof decodeHeader, typeof walkImage, typeof SaveImageError, typeof codec.decodeHeader, 'walkImage' in codec, header.dataLen, header.format]));`;
  writeFileSync(join(dir, 'esm.mjs'), esm);
  assert.equal(JSON.parse(sh(process.execPath, ['esm.mjs'], dir).stdout), ['function', 'function', 'function', 'function', false, 66898, 0]);

  writeFileSync(join(dir, 'consumer.ts'), `import { SaveImageError, type SaveImageHeader, type ErrorCode } from 'savekit';
import { decodeHeader } from 'savekit/codec';
const header: SaveImageHeader = decodeHeader(Buffer.alloc(92));
const code: ErrorCode = 'ERR_BAD_MAGIC';
const dataLen: number = header.dataLen;
export const used = [code, dataLen, SaveImageError.name];
// @ts-expect-error the published types must be precise: dataLen is not a string
export const wrong: string = header.dataLen;
`);
  const typeRoots = [join(ROOT, 'node_modules', '@types')];
  for (const [module, moduleResolution] of [['node16', 'node16'], ['esnext', 'bundler']]) {
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module, moduleResolution, target: 'es2022', strict: true, noEmit: true, types: ['node'], typeRoots }, files: ['consumer.ts'] }));
    sh(TSC, ['-p', 'tsconfig.json'], dir);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a package without a prebuild installs without a compiler, says so, and the CLI still works', () => {
  const work = tempDir();
  sh('tar', ['-xzf', TARBALL, '-C', work], work);
  rmSync(join(work, 'package', 'prebuilds'), { recursive: true });
  const bare = join(work, 'bare.tgz');
  sh('tar', ['-czf', bare, '-C', work, 'package'], work);
  const dir = join(work, 'consumer');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  const install = sh('npm', ['install', '--prefer-offline', '--foreground-scripts', bare], dir, NO_COMPILER);
  assert.match(install.stdout + install.stderr, 'pipes will not be grown');
  writeFileSync(join(dir, 'raw.save'), readSample('libvirt-9.0/raw.save'));
  assert.match(sh('npx', ['--no-install', 'savekit', 'walk', 'raw.save'], dir).stdout, 'pc-i440fx-7.2');
});

test.run();
