// Imports flow one way (ARCHITECTURE.md): codec and xml are pure, stream and file never reach
// the CLI, and only lib/cli touches `process`.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const test = suite('architecture');
const LIB = fileURLToPath(new URL('../lib/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const FILES = sources(LIB).map((path) => ({ path: relative(LIB, path), text: readFileSync(path, 'utf8') }));
const importsOf = (text: string): string[] => [...text.matchAll(/^import [^;]*? from '([^']+)';/gms)].map((m) => m[1]!);

const RULES = [
  { layer: 'codec/', forbidden: ['node:fs', 'node:stream', 'node:child_process', '/stream/', '/file/', '/cli/'] },
  { layer: 'xml/', forbidden: ['node:fs', 'node:stream', '/codec/', '/stream/', '/file/', '/cli/'] },
  { layer: 'stream/', forbidden: ['/cli/'] },
  { layer: 'file/', forbidden: ['/cli/'] },
  { layer: 'pipe/', forbidden: ['/cli/', '/stream/'] },
  { layer: 'store/', forbidden: ['/cli/', '/stream/'] },
  { layer: 'edit/', forbidden: ['node:fs', 'node:stream', '/cli/', '/file/', '/pipe/', '/stream/'] },
];

for (const rule of RULES) {
  test(`${rule.layer} imports nothing from ${rule.forbidden.join(', ')}`, () => {
    const files = FILES.filter((f) => f.path.startsWith(rule.layer));
    assert.ok(files.length > 0);
    for (const file of files) {
      for (const spec of importsOf(file.text)) {
        assert.not.ok(rule.forbidden.some((bad) => spec.includes(bad)), `${file.path} imports ${spec}`);
      }
    }
  });
}

test('the AWS SDK is named in lib/store/s3-client.ts only, and loaded there on demand (import(), never a static import)', () => {
  const naming = FILES.filter((file) => /['"]@aws-sdk\//.test(file.text.replace(/^\s*(\/\/|\*).*$/gm, '')));
  assert.equal(naming.map((file) => file.path), ['store/s3-client.ts']);
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
