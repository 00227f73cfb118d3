// Dispatches `savekit COMMAND ...`: the command table, --help, and one place that turns any
// error into `error[CODE]: message` (or JSON) and an exit status. Command modules load lazily
// so `savekit --help` starts fast.
import { SaveImageError } from '../errors.js';
import { interruptedBy, interruptedError } from '../pipe/interrupt.js';
import { formatHelp, parseCommandArgs } from './args.js';
import type { Command } from './command.js';
import { type CliIo, EXIT_OK, EXIT_USAGE, print, reportError } from './io.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command }>;
}

const COMMANDS: Record<string, CommandEntry> = {
  info: { summary: 'header fields and layout of a save image', load: () => import('./commands/info.js') },
  dumpxml: { summary: 'print a stored XML block byte for byte', load: () => import('./commands/dumpxml.js') },
  cpu: { summary: 'defined CPU against the CPU QEMU started', load: () => import('./commands/cpu.js') },
  define: { summary: 'replace the domain XML in place (crash-safe)', load: () => import('./commands/define.js') },
  edit: { summary: 'edit the domain XML in $EDITOR, then define it', load: () => import('./commands/edit.js') },
  set: { summary: 'change the running flag or the version in place', load: () => import('./commands/set.js') },
  recover: { summary: 'finish or undo an interrupted in-place edit', load: () => import('./commands/recover.js') },
  rewrite: { summary: 'copy an image with a new prologue, payload untouched', load: () => import('./commands/rewrite.js') },
  hash: { summary: 'XXH64 of the payload and the prologue', load: () => import('./commands/hash.js') },
  seal: { summary: 'store the payload\'s length and XXH64 in the header', load: () => import('./commands/seal.js') },
  verify: { summary: 'check the payload against its seal', load: () => import('./commands/verify.js') },
  check: { summary: 'will it restore? header, XML, payload, whole stream, seal', load: () => import('./commands/check.js') },
  convert: { summary: 'payload to another format: raw, gzip, bzip2, xz, lzop, zstd, sparse', load: () => import('./commands/convert.js') },
  'extract-ram': { summary: 'one sparse raw file per RAM block', load: () => import('./commands/extract-ram.js') },
  walk: { summary: 'walk the QEMU migration stream: RAM blocks, sections, devices', load: () => import('./commands/walk.js') },
  state: { summary: "every device's state decoded (like analyze-migration.py)", load: () => import('./commands/state.js') },
  delta: { summary: 'what turns one save of a guest into a later one: changed pages only', load: () => import('./commands/delta.js') },
  apply: { summary: 'rebuild the later save from the earlier one and a delta', load: () => import('./commands/apply.js') },
  diff: { summary: 'what changed between two saves: header, XML, devices, RAM pages', load: () => import('./commands/diff.js') },
  signature: { summary: "a save's page hashes, for a delta made where it is not", load: () => import('./commands/signature.js') },
};

const VERSION = '0.1.0';

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  const list = Object.entries(COMMANDS)
    .map(([name, entry]) => `  ${name.padEnd(width)}${entry.summary}`)
    .join('\n');
  return `usage: savekit COMMAND [OPTIONS] ...

Inspect and rewrite libvirt QEMU save images (virsh save, managed save, snapshots).

Commands:
${list}

Run 'savekit COMMAND --help' for a command's options.
Exit status: 0 success, 1 image or I/O error, 2 usage error.
`;
}

/** Runs one command line (without `node savekit`); resolves to the exit status. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  const json = rest.includes('--json');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await print(io, mainHelp());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version' || name === '-V') {
    await print(io, `savekit ${VERSION}\n`);
    return EXIT_OK;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    return reportError(io, new SaveImageError('ERR_USAGE', `unknown command ${JSON.stringify(name)}; run 'savekit --help' for the list`), json);
  }
  try {
    const { command } = await entry.load();
    const args = parseCommandArgs(command.spec, rest);
    if (args.values.help) {
      await print(io, formatHelp(command.spec));
      return EXIT_OK;
    }
    return await command.run(args, io); // a job that finished its work despite a signal is done
  } catch (error) {
    // Stopped by a signal: whatever failed on the way down (a killed program, a closed pipe) is that.
    const signal = interruptedBy();
    return reportError(io, signal === null ? error : interruptedError(signal), json);
  }
}

