// Dispatches `savekit COMMAND ...`: the command table, --help, and one place that turns any
// error into `error[CODE]: message` (or JSON) and an exit status. Command modules load lazily
// so `savekit --help` starts fast.
import { statSync } from 'node:fs';
import { SaveImageError } from '../errors.js';
import { WAYS_FROM_BYTES } from '../io/file-ways.js';
import { interruptedBy, interruptedError } from '../io/interrupt.js';
import { prestartReadWorker } from '../io/read-ring.js';
import { settleTransfers } from '../io/s3/object-pipe.js';
import { formatHelp, parseCommandArgs } from './args.js';
import { COMMANDS, loadCommandSpecs, VERSION } from './command-table.js';
import { type CliIo, EXIT_OK, EXIT_USAGE, print, reportError } from './io.js';

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
  // A large file among the arguments: the worker that will help read it starts while the command loads.
  if (rest.some(isLargeFile)) prestartReadWorker();
  try {
    const { command } = await entry.load();
    const args = parseCommandArgs(command.spec, rest);
    if (args.values.help) {
      await print(io, formatHelp(command.spec));
      return EXIT_OK;
    }
    return await command.run(args, io, { loadSpecs: loadCommandSpecs }); // a job that finished its work despite a signal is done
  } catch (error) {
    // Stopped by a signal: whatever failed on the way down (a killed program, a closed pipe) is that.
    const signal = interruptedBy();
    return reportError(io, signal === null ? error : interruptedError(signal), json);
  } finally {
    // Uploads of a failed job are aborted before savekit exits; parts a store kept are named.
    for (const left of await settleTransfers()) io.stderr.write(`warning[${left.code}]: ${left.message}\n`);
  }
}

function isLargeFile(argument: string): boolean {
  if (argument.startsWith('-') || argument.includes('://')) return false;
  try {
    const stat = statSync(argument, { throwIfNoEntry: false });
    return stat !== undefined && stat.isFile() && stat.size >= WAYS_FROM_BYTES;
  } catch {
    return false;
  }
}
