// savekit(1) from the command specs: every command, option and error code on the page, the help
// text's layout read back right, and the page clean for groff -ww, mandoc -T lint and man -l.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCommandSpecs, VERSION } from '../../lib/cli/command-table.js';
import { optionWords } from '../../lib/cli/completion-script.js';
import { type HelpBlock, parseHelpText } from '../../lib/cli/help-text.js';
import { formatManPage, roffText } from '../../lib/cli/man-page.js';
import { ERROR_CODES } from '../../lib/errors.js';
import { tempDir } from '../helpers/samples.js';

const test = suite('cli/man-page');
const SPECS = await loadCommandSpecs();
const PAGE = formatManPage(SPECS, { version: VERSION, date: '2026-12-07' });

/** The page's section for one command: from its .SS to the next .SS or .SH. */
function sectionOf(name: string): string {
  const start = PAGE.indexOf(`\n.SS ${name}\n`);
  assert.ok(start >= 0, `no section for ${name}`);
  const next = PAGE.slice(start + 1).search(/\n\.S[SH] /);
  return PAGE.slice(start, start + 1 + next);
}

const HELP_CASES: { name: string; text: string; blocks: HelpBlock[] }[] = [
  { name: 'a paragraph over two lines', text: 'Reads the header\nand the region.', blocks: [{ kind: 'paragraph', text: 'Reads the header and the region.' }] },
  { name: 'a heading', text: 'Options:\n  --json               print JSON', blocks: [{ kind: 'heading', text: 'Options' }, { kind: 'option', term: '--json', description: 'print JSON' }] },
  { name: 'a term that fills its column', text: '  --max-data-len BYTES refuse a data region', blocks: [{ kind: 'option', term: '--max-data-len BYTES', description: 'refuse a data region' }] },
  { name: 'a long term, described below it', text: '  --format analyze-migration\n                       exactly what QEMU prints', blocks: [{ kind: 'option', term: '--format analyze-migration', description: 'exactly what QEMU prints' }] },
  { name: 'a continued description', text: '  --level N            compression level\n                       (zstd 1-19)', blocks: [{ kind: 'option', term: '--level N', description: 'compression level (zstd 1-19)' }] },
  { name: 'a command line kept as written', text: 'so that\n  ssh a savekit signature vm.save - |\n    savekit delta -\nworks.', blocks: [{ kind: 'paragraph', text: 'so that' }, { kind: 'example', lines: ['ssh a savekit signature vm.save - |', '  savekit delta -'] }, { kind: 'paragraph', text: 'works.' }] },
];

for (const { name, text, blocks } of HELP_CASES) {
  test(`help text: ${name}`, () => {
    assert.equal(parseHelpText(text), blocks);
  });
}

test('roff: backslashes and minus signs escaped', () => {
  assert.is(roffText('a\\b --x'), 'a\\eb \\-\\-x');
});

test('every command has its section, with its usage and every option it takes', () => {
  assert.is(SPECS.length, 21);
  for (const spec of SPECS) {
    const section = sectionOf(spec.name);
    assert.ok(section.includes(roffText(spec.usage.split(' ').slice(2).join(' ')).slice(0, 40)), `${spec.name}: usage`);
    for (const word of optionWords(spec).filter((w) => w.startsWith('--'))) {
      assert.ok(section.includes(`\\fB${roffText(word)}\\fR`), `${spec.name}: ${word} is not on the page`);
    }
  }
});

test('every error code, the exit statuses, environment, files and see also', () => {
  for (const code of ERROR_CODES) assert.ok(PAGE.includes(`\n.B ${code}\n`), code);
  for (const heading of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'COMMANDS', 'EXIT STATUS', 'ERRORS', 'ENVIRONMENT', 'FILES', 'EXAMPLES', 'SEE ALSO']) {
    assert.ok(PAGE.includes(`\n.SH ${heading}\n`), heading);
  }
  assert.ok(PAGE.includes('.BR virsh (1),'));
  assert.ok(PAGE.startsWith('.\\" savekit(1)'));
  assert.ok(PAGE.includes(`.TH SAVEKIT 1 2026-12-07 "savekit ${VERSION}" "User Commands"`));
});

test('every SAVEKIT_ variable savekit reads is under ENVIRONMENT', () => {
  const read = new Set<string>();
  const visit = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.name.endsWith('.ts')) for (const match of readFileSync(path, 'utf8').matchAll(/\b(SAVEKIT_[A-Z0-9_]+)\b/g)) read.add(match[1]!);
    }
  };
  visit(fileURLToPath(new URL('../../lib/', import.meta.url)));
  assert.ok(read.has('SAVEKIT_MMAP') && read.has('SAVEKIT_S3_PATH_STYLE'), 'the search finds them');
  const environment = PAGE.slice(PAGE.indexOf('\n.SH ENVIRONMENT\n'), PAGE.indexOf('\n.SH FILES\n'));
  for (const name of read) assert.ok(environment.includes(roffText(name)), `${name} is not under ENVIRONMENT`);
});

test('no source line is read as a request by accident; filled text in lines of 80 bytes at most', () => {
  const known = /^\.(\\"|TH|SH|SS|PP|TP|B|I|BR|RI|br|RS|RE|nf|fi|nh)( |$)/;
  let filling = true; // command lines between .nf and .fi stand as written
  for (const line of PAGE.split('\n')) {
    if (line.startsWith('.') || line.startsWith("'")) assert.ok(known.test(line), `stray request: ${line}`);
    if (line === '.nf' || line === '.fi') filling = line === '.fi';
    if (filling && !line.startsWith('.\\"')) assert.ok(Buffer.byteLength(line) <= 80, `long line: ${line}`);
  }
});

test('groff -ww and mandoc -T lint find nothing; man -l renders it', () => {
  const file = join(tempDir(), 'savekit.1');
  writeFileSync(file, PAGE);
  const groff = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', file], { encoding: 'utf8' });
  assert.is(groff.status, 0, groff.stderr);
  assert.is(groff.stderr, '');
  const mandoc = spawnSync('mandoc', ['-T', 'lint', file], { encoding: 'utf8' });
  assert.is(mandoc.stdout + mandoc.stderr, '');
  assert.is(mandoc.status, 0);
  const man = spawnSync('man', ['-l', file], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '80', MANPAGER: 'cat', PAGER: 'cat' } });
  assert.is(man.status, 0, man.stderr);
  assert.match(man.stdout, /SAVEKIT\(1\)/);
  assert.match(man.stdout, /savekit convert --format raw\|gzip\|bzip2\|xz\|lzop\|zstd\|sparse/);
  assert.match(man.stdout, /ERR_IMAGE_CHANGED/);
});

test('the same specs give the same page, byte for byte', async () => {
  assert.is(formatManPage(await loadCommandSpecs(), { version: VERSION, date: '2026-12-07' }), PAGE);
});

test.run();
