// Imports flow one way (ARCHITECTURE.md, the README's Design section): the codec and xml are
// pure; io (where bytes come from and go to) never reaches the jobs built on it; nothing but the
// CLI reaches the CLI; no import circle anywhere; only lib/cli touches `process`. Every import is
// resolved to the file it names, static or `import()`, so a layer is judged by where an import
// lands, not by how its path is spelled.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const test = suite('architecture');
const LIB = fileURLToPath(new URL('../lib/', import.meta.url));

interface Source {
  /** Relative to lib/, with '/' separators. */
  path: string;
  text: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const FILES: Source[] = sources(LIB).map((path) => ({ path: relative(LIB, path), text: readFileSync(path, 'utf8') }));

/** Every module a file names: static imports, re-exports and `import('...')`. */
function specifiersOf(text: string): string[] {
  const code = text.replace(/^\s*(\/\/|\*).*$/gm, '');
  const fromClauses = [...code.matchAll(/^(?:import|export) [^;]*? from '([^']+)';/gms)].map((m) => m[1]!);
  const dynamic = [...code.matchAll(/\bimport\('([^']+)'\)/g)].map((m) => m[1]!);
  return [...fromClauses, ...dynamic];
}

/** A relative specifier as the lib/ path of the file it lands on (.js -> .ts); a package or built-in as itself. */
function resolveSpecifier(from: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return normalize(join(dirname(from), spec)).replace(/\\/g, '/').replace(/\.js$/, '.ts');
}

/** The layer a lib/ path belongs to: its first folder, or 'root' for lib/*.ts. */
function layerOf(path: string): string {
  return path.includes('/') ? path.slice(0, path.indexOf('/')) : 'root';
}

/** What each layer may import besides itself, lib/*.ts (errors, constants, hash, native) and packages. */
const MAY_IMPORT: Record<string, string[]> = {
  codec: ['xml'],
  xml: [],
  types: [],
  edit: ['codec', 'xml'],
  file: ['codec'],
  io: ['codec', 'file', 'xml'],
  jobs: ['codec', 'xml', 'edit', 'file', 'io'],
  stream: ['codec', 'edit', 'io'],
  cli: ['codec', 'xml', 'edit', 'file', 'io', 'jobs', 'stream'],
  root: ['codec', 'xml', 'edit', 'file', 'io', 'jobs', 'stream'],
};
/** Node built-ins a layer may not touch: the codec and xml are pure. */
const NO_BUILTINS: Record<string, string[]> = {
  codec: ['node:fs', 'node:stream', 'node:child_process'],
  xml: ['node:fs', 'node:stream', 'node:child_process'],
  edit: ['node:fs', 'node:stream', 'node:child_process'],
};

/** Every import that breaks the layering, as "FILE imports SPEC". */
function layeringViolations(files: Source[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const layer = layerOf(file.path);
    for (const spec of specifiersOf(file.text)) {
      const target = resolveSpecifier(file.path, spec);
      if (!spec.startsWith('.')) {
        if ((NO_BUILTINS[layer] ?? []).includes(spec)) found.push(`${file.path} imports ${spec}`);
        continue;
      }
      const to = layerOf(target);
      if (to === layer || (to === 'root' && layer !== 'root') || (MAY_IMPORT[layer] ?? []).includes(to)) continue;
      found.push(`${file.path} imports ${spec} (${layer}/ may not import ${to}/)`);
    }
  }
  return found;
}

/** The import circles among `files`, each as the list of files around it. */
function importCircles(files: Source[]): string[][] {
  const known = new Set(files.map((file) => file.path));
  const edges = new Map(files.map((file) => [file.path, specifiersOf(file.text).map((spec) => resolveSpecifier(file.path, spec)).filter((target) => known.has(target))]));
  const circles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (path: string): void => {
    state.set(path, 'open');
    stack.push(path);
    for (const next of edges.get(path) ?? []) {
      if (state.get(next) === 'open') circles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(path, 'done');
  };
  for (const path of known) if (!state.has(path)) visit(path);
  return circles;
}

test('every folder of lib/ is a known layer', () => {
  const layers = new Set(FILES.map((file) => layerOf(file.path)));
  assert.equal([...layers].filter((layer) => !(layer in MAY_IMPORT)), []);
  for (const layer of ['codec', 'io', 'jobs', 'cli']) assert.ok(layers.has(layer), layer);
});

test('imports flow one way: codec and xml pure, io never reaches jobs, only cli reaches cli', () => {
  assert.equal(layeringViolations(FILES), []);
});

test('the check fails on a deliberate bad import: io/ into jobs/, codec/ into io/, node:fs in the codec, jobs/ into cli/', () => {
  const bad: Source[] = [
    { path: 'io/fd-source.ts', text: "import { walkImage } from '../jobs/walk-image.js';\n" },
    { path: 'io/s3/object-pipe.ts', text: "export { convertImage } from '../../jobs/convert/convert.js';\n" },
    { path: 'io/pump.ts', text: "const lazy = () => import('../jobs/rewrite.js');\n" },
    { path: 'codec/header.ts', text: "import { readFully } from '../io/fd-io.js';\n" },
    { path: 'codec/layout.ts', text: "import { readSync } from 'node:fs';\n" },
    { path: 'jobs/delta.ts', text: "import type { CliIo } from '../cli/io.js';\n" },
  ];
  assert.equal(layeringViolations(bad).length, bad.length);
  const good: Source[] = [
    { path: 'jobs/convert/convert.ts', text: "import { FdSource } from '../../io/fd-source.js';\nimport { walkImage } from '../walk-image.js';\n" },
    { path: 'io/s3/object-edit.ts', text: "import { patchImage } from '../../file/patch.js';\nimport { SaveImageError } from '../../errors.js';\n" },
  ];
  assert.equal(layeringViolations(good), []);
});

test('no import circle anywhere in lib/ (static imports, re-exports and import() alike)', () => {
  assert.equal(importCircles(FILES), []);
});

test('the circle check finds a circle through import()', () => {
  const circle: Source[] = [
    { path: 'cli/command-table.ts', text: "const load = () => import('./commands/completion.js');\n" },
    { path: 'cli/commands/completion.ts', text: "import { loadCommandSpecs } from '../command-table.js';\n" },
  ];
  assert.equal(importCircles(circle), [['cli/command-table.ts', 'cli/commands/completion.ts', 'cli/command-table.ts']]);
});

test('the AWS SDK is named in lib/io/s3/s3-client.ts only, and loaded there on demand (import(), never a static import)', () => {
  const naming = FILES.filter((file) => /['"]@aws-sdk\//.test(file.text.replace(/^\s*(\/\/|\*).*$/gm, '')));
  assert.equal(naming.map((file) => file.path), ['io/s3/s3-client.ts']);
  const client = naming[0]!.text;
  assert.not.match(client, /^import [^;]*from '@aws-sdk/m);
  assert.match(client, /import\('@aws-sdk\/client-s3'\)/);
});

test('only lib/cli touches process', () => {
  for (const file of FILES.filter((f) => !f.path.startsWith('cli/'))) {
    assert.not.match(file.text, /\bprocess\.(exit|stdout|stderr|stdin|argv|env)\b/, file.path);
  }
});

test.run();
