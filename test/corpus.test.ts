// The regression corpus (test/corpus/, made by test/corpus/make.ts): every crafted bad image
// fails `savekit check` with its own code, exit 1, and nothing crashes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { json, runInProcess } from './helpers/cli.js';

const test = suite('corpus');
const folder = fileURLToPath(new URL('./corpus/', import.meta.url));
const manifest = JSON.parse(readFileSync(`${folder}manifest.json`, 'utf8')) as Array<{ file: string; code: string }>;

for (const entry of manifest) {
  test(`${entry.file}: check fails with ${entry.code}`, async () => {
    const result = await runInProcess(['check', '--json', `${folder}${entry.file}`]);
    assert.is(result.status, 1);
    assert.is((json(result).error as { code: string }).code, entry.code);
  });
}

test('the corpus is not empty', () => assert.ok(manifest.length >= 10));

test.run();
