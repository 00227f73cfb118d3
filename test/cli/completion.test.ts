// savekit completion bash: the script bash loads, driven as bash drives it (COMP_WORDS,
// COMP_CWORD, the function `complete -p` names), for commands, options, --format values and
// files; made from the same specs as --help.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMATS } from '../../lib/constants.js';
import { runBinary } from '../helpers/cli.js';
import { tempDir } from '../helpers/samples.js';

const test = suite('cli/completion');
const made = runBinary(['completion', 'bash']);
const SCRIPT = join(tempDir(), 'savekit-completion');
writeFileSync(SCRIPT, made.stdout);

/** What the completion function offers for a command line whose last word is being completed. */
function complete(words: string[]): string[] {
  const quoted = words.map((word) => `'${word}'`).join(' ');
  const result = spawnSync('bash', ['--norc', '--noprofile', '-c', `source "$SCRIPT"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; COMP_LINE="\${COMP_WORDS[*]}"; COMP_POINT=\${#COMP_LINE}; $(complete -p savekit | sed -E 's/.*-F ([^ ]+) .*/\\1/'); printf '%s\\n' "\${COMPREPLY[@]}"`], {
    encoding: 'utf8',
    env: { ...process.env, SCRIPT },
  });
  assert.is(result.status, 0, result.stderr);
  assert.is(result.stderr, '');
  return result.stdout.split('\n').filter(Boolean);
}

const CASES: { line: string[]; offers: string[] }[] = [
  { line: ['savekit', 'con'], offers: ['convert'] },
  { line: ['savekit', 'c'], offers: ['check', 'completion', 'convert', 'cpu'] },
  { line: ['savekit', 'convert', '--format', ''], offers: [...FORMATS] },
  { line: ['savekit', 'convert', '--format', 'z'], offers: ['zstd'] },
  { line: ['savekit', 'apply', 'a.save', 'b.delta', '--format', 'x'], offers: ['xz'] },
  { line: ['savekit', 'state', '--format', ''], offers: ['analyze-migration'] },
  { line: ['savekit', 'set', 'vm.save', '--version', ''], offers: ['2', '3'] },
  { line: ['savekit', 'hash', '--q'], offers: ['--quiet'] },
  { line: ['savekit', 'extract-ram', '--e'], offers: ['--elf'] },
  { line: ['savekit', 'completion', ''], offers: ['bash'] },
  { line: ['savekit', '--v'], offers: ['--version'] },
  { line: ['savekit', 'info', 'sampl'], offers: [] }, // a path: readline's own completion
];

for (const { line, offers } of CASES) {
  test(`${line.join(' ')}<TAB> offers ${offers.join(' ') || 'files'}`, () => {
    assert.equal(complete(line).sort(), [...offers].sort());
  });
}

test('registered for savekit with files as the fallback', () => {
  assert.is(made.status, 0, made.stderr);
  const result = spawnSync('bash', ['--norc', '-c', 'source "$SCRIPT"; complete -p savekit'], { encoding: 'utf8', env: { ...process.env, SCRIPT } });
  assert.is(result.stdout.trim(), 'complete -o default -F _savekit savekit');
});

test('refusals: another shell, no shell (exit 2, ERR_USAGE)', () => {
  for (const argv of [['completion', 'fish'], ['completion'], ['completion', 'bash', 'zsh']]) {
    const result = runBinary(argv);
    assert.is(result.status, 2, argv.join(' '));
    assert.match(result.stderr, /^error\[ERR_USAGE\]/);
  }
});

test.run();
