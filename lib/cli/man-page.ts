// savekit(1) in roff (man(7) macros), laid out from the same command specs and help texts that
// print --help, the error table and the command table: a man page that cannot drift from the
// program. packaging/build-deb.ts installs it; test/cli/man-page.test.ts lints it.
import { ERROR_CODES } from '../errors.js';
import type { CommandSpec } from './args.js';
import { ERROR_MEANINGS } from './error-meanings.js';
import { type HelpBlock, parseHelpText } from './help-text.js';

export interface ManPageOptions {
  version: string;
  /** The page's date, YYYY-MM-DD (the release's, so that a rebuild gives the same bytes). */
  date: string;
}

/** Characters made safe for roff: backslashes, and minus signs (so options copy as typed). */
export function roffText(text: string): string {
  return text.replaceAll('\\', '\\e').replaceAll('-', '\\-');
}

const LINE_BYTES = 78;

/** Roff text as source lines of at most 78 characters (where words allow), none read as a request. */
function wrapped(roff: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of roff.split(' ').filter(Boolean)) {
    if (line && line.length + 1 + word.length > LINE_BYTES) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((text) => text.replace(/^['.]/, '\\&$&'));
}

const prose = (text: string): string[] => wrapped(roffText(text));

/** An option's term: its dashed words bold, its arguments italic ("--level N" -> \fB--level\fR \fIN\fR). */
function roffTerm(term: string): string {
  return term
    .split(' ')
    .map((word) => (word.startsWith('-') ? `\\fB${roffText(word.replace(/,$/, ''))}\\fR${word.endsWith(',') ? ',' : ''}` : `\\fI${roffText(word)}\\fR`))
    .join(' ');
}

function roffBlock(block: HelpBlock): string[] {
  switch (block.kind) {
    case 'paragraph':
      return ['.PP', ...prose(block.text)];
    case 'heading':
      return ['.PP', `.B ${roffText(block.text)}`];
    case 'option':
      return ['.TP', roffTerm(block.term), ...prose(block.description || '(see above)')];
    case 'example':
      return ['.PP', '.RS 4', '.nf', ...block.lines.map((line) => roffText(line).replace(/^['.]/, '\\&$&')), '.fi', '.RE'];
    default:
      throw new Error(`unknown help block ${JSON.stringify(block satisfies never)}`);
  }
}

function commandSection(spec: CommandSpec): string[] {
  const [, ...usage] = spec.usage.split(' '); // "savekit"
  const [name, ...rest] = usage;
  return [`.SS ${name}`, ...wrapped(`\\fBsavekit ${roffText(name!)}\\fR ${roffText(rest.join(' '))}`), '.PP', ...prose(spec.summary), ...parseHelpText(spec.help).flatMap(roffBlock)];
}

const DESCRIPTION = `savekit reads and writes the files libvirt writes for a QEMU guest's saved state: \
virsh save, managed save and memory snapshots. Such an image is a 92\\-byte header, a data region of \
XML blocks (the domain XML, then the cookie with the CPU QEMU started), and the QEMU migration stream \
(guest RAM and device state), raw or compressed. savekit shows and edits the header and the XML in \
place (crash\\-safe, in constant time), copies images through pipes without holding guest memory, \
hashes, seals and verifies payloads, walks and checks the migration stream, decodes every device's \
state, converts the payload between every format libvirt reads, extracts guest memory as a physical \
image or an ELF core, and makes page\\-level deltas between two saves of one guest.`;

const ENVIRONMENT: [string, string][] = [
  ['TMPDIR', 'where a sparse image read from a pipe is spooled, apply and convert keep private temporary files, and the executable unpacks its native addon (default /tmp)'],
  ['VISUAL, EDITOR', 'the editor of savekit edit (else vi)'],
  ['PATH', 'where gzip\'s siblings are found: bzip2, xz, lzop and zstd for those payload formats (as libvirt runs them), qemu\\-system\\-ARCH for check\'s machine\\-type question'],
  ['SAVEKIT_NO_NATIVE', 'set to 1 to run without the native addon (pipes left as they are, XXH64 in WebAssembly, files read with copies): the same bytes, slower'],
  ['SAVEKIT_NO_MMAP', 'set to 1 to read every image file with copies (two threads) instead of mapping it from the page cache or letting a trial on the file choose: the same bytes'],
  ['SAVEKIT_MMAP', 'set to 1 to map every image file from the page cache instead of letting a trial on the file choose (large files) or copying it (small ones): the same bytes'],
  ['SAVEKIT_TRACE_READS', 'set to 1 to print, on stderr, which way a large file was read and how fast each way went in the trial'],
  ['SAVEKIT_NO_GROW_PIPES', 'set to 1 to leave pipes at the size they have instead of growing them to 1 MiB: the same bytes, slower'],
  ['SAVEKIT_S3_PATH_STYLE', 'set to 1 to address s3:// buckets in the path (https://HOST/BUCKET/KEY) rather than the host name, as some stores need'],
];

const FILES: [string, string][] = [
  ['IMAGE.savekit-journal', 'the undo journal of an in\\-place edit (define, edit, set, seal), beside the real file; savekit recover finishes or undoes the edit it records'],
  ['IMAGE.savekit-lock', 'the edit lock (the holder\'s PID); a dead holder\'s lock is taken over'],
  ['.IMAGE.savekit-convert-PID', 'convert \\-\\-in\\-place\'s new image, renamed over IMAGE when complete'],
];

const EXAMPLES: [string, string[]][] = [
  ['What a save holds, and whether it will restore:', ['savekit info /var/lib/libvirt/qemu/save/vm.save', 'savekit check vm.save']],
  ['Change the domain XML in place, as virsh save\\-image\\-define does, but crash\\-safe:', ['savekit dumpxml vm.save > vm.xml', 'savekit define vm.save vm.xml']],
  ['Recompress a saved guest with zstd, in place:', ['savekit convert \\-\\-format zstd \\-\\-in\\-place vm.save']],
  ['Send only the pages that changed since the last save:', ['savekit delta monday.save tuesday.save \\- | ssh host savekit apply monday.save \\- tuesday.save']],
  ['Guest memory as an ELF core for crash(8) or gdb(1):', ['savekit extract\\-ram \\-\\-elf vm.save vm.core']],
];

const SEE_ALSO = ['virsh(1)', 'qemu-img(1)', 'gzip(1)', 'zstd(1)', 'xz(1)', 'lzop(1)', 'bzip2(1)', 'xxhsum(1)', 'crash(8)', 'gdb(1)'];

/** The whole page, from every command's spec (in the command table's order). */
export function formatManPage(specs: readonly CommandSpec[], options: ManPageOptions): string {
  const lines = [
    `.\\" savekit(1), made from savekit's command specs by 'npm run build:deb'; do not edit.`,
    `.TH SAVEKIT 1 ${options.date} "savekit ${options.version}" "User Commands"`,
    '.nh', // options and file names are not to be split at a hyphen
    '.SH NAME',
    'savekit \\- inspect, edit, convert and diff libvirt QEMU save images',
    '.SH SYNOPSIS',
    '.B savekit',
    '.I command',
    '.RI [ options ]',
    '.RI [ arguments ]',
    '.br',
    '.B savekit',
    '.BR \\-\\-help " | " \\-\\-version',
    '.SH DESCRIPTION',
    ...wrapped(DESCRIPTION),
    '.PP',
    ...wrapped('Every command takes \\fB\\-\\-help\\fR; most take \\fB\\-\\-json\\fR and then print one JSON object, errors included.'),
    ...wrapped('IMAGE, IN, OUT, BASE, NEW and DELTA may be \\- for standard input or output where the command says so.'),
    '.SH COMMANDS',
    ...specs.flatMap(commandSection),
    '.SH EXIT STATUS',
    '.TP', '.B 0', 'success (for verify: the payload matches its seal, or the image has none)',
    '.TP', '.B 1', ...wrapped('an image, I/O or other error: standard error says error[CODE]: message (see ERRORS)'),
    '.TP', '.B 2', 'a usage error (ERR_USAGE)',
    '.TP', '.B 128 + N', ...wrapped('ended by signal N (SIGINT, SIGTERM, SIGHUP): what was being written is removed or left under the LibvirtQemudPart magic (ERR_INTERRUPTED)'),
    '.SH ERRORS',
    ...wrapped('Each error has a stable code, printed as error[CODE] (or {"error": {"code": ...}} with \\-\\-json), and a message that names the offset and the field.'),
    ...ERROR_CODES.flatMap((code) => ['.TP', `.B ${code}`, ...prose(ERROR_MEANINGS[code])]),
    '.SH ENVIRONMENT',
    ...ENVIRONMENT.flatMap(([name, text]) => ['.TP', `.B ${name}`, ...wrapped(text)]),
    '.SH FILES',
    ...FILES.flatMap(([name, text]) => ['.TP', `.I ${roffText(name)}`, ...wrapped(text)]),
    '.SH EXAMPLES',
    ...EXAMPLES.flatMap(([text, commands], index) => [...(index > 0 ? ['.PP'] : []), ...wrapped(text), '.PP', '.RS 4', '.nf', ...commands, '.fi', '.RE']),
    '.SH SEE ALSO',
    ...SEE_ALSO.map((page, index) => `.BR ${page.replace('(', ' (').replaceAll('-', '\\-')}${index < SEE_ALSO.length - 1 ? ',' : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}
