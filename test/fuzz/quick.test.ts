// The fixed-seed quick fuzz pass of `npm test` (the long pass: npm run fuzz).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fuzzAll } from './targets.js';

const test = suite('fuzz (quick, fixed seed)');

for (const report of await fuzzAll(400, 20261125)) {
  test(`${report.target}: ${report.runs} cases end in a result or a coded SaveImageError`, () => {
    assert.is(report.failure, null, report.failure ?? '');
  });
}

test.run();
