// savekit set IMAGE: header-level changes in place: the running flag, version 2 <-> 3.
import { planSet } from '../../edit/plan.js';
import { type CommandSpec, usageError } from '../args.js';
import type { Command } from '../command.js';
import { RUN_STATE_HELP, RUN_STATE_OPTIONS, wasRunningOption } from '../edit-options.js';
import { reportEdit } from '../edit-report.js';
import { patchImageAt } from '../../io/image-at.js';

const spec: CommandSpec = {
  name: 'set',
  summary: 'Change header fields of a save image in place (crash-safe): running flag, version 2 <-> 3.',
  usage: 'savekit set IMAGE [--running | --paused] [--version 2|3] [--drop-extensions] [--json]',
  help: `Options:
${RUN_STATE_HELP}
  --version 2|3        convert the data region: 2 is what libvirt reads (domain XML and
                       cookie); 3 is savekit's block sequence. 2 -> 3 is lossless
  --drop-extensions    allow 3 -> 2 to drop blocks other than the domain XML and cookie
  --json               print the result as JSON
  -h, --help           show this help

Exit status: 0 success (also when nothing changed), 1 image or I/O error, 2 usage error.`,
  options: {
    help: { type: 'boolean', short: 'h' },
    json: { type: 'boolean' },
    version: { type: 'string' },
    'drop-extensions': { type: 'boolean' },
    ...RUN_STATE_OPTIONS,
  },
  positionals: { min: 1, max: 1 },
  choices: { version: ['2', '3'] },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const path = positionals[0]!;
    const wasRunning = wasRunningOption(spec, values);
    const version = values.version === undefined ? undefined : Number(values.version);
    if (version !== undefined && version !== 2 && version !== 3) throw usageError(spec, `--version takes 2 or 3, not ${JSON.stringify(values.version)}`);
    if (version === undefined && wasRunning === undefined) throw usageError(spec, 'nothing to set: give --running, --paused or --version');
    const result = await patchImageAt(
      path,
      (image) =>
        planSet(image, {
          ...(wasRunning === undefined ? {} : { wasRunning }),
          ...(version === undefined ? {} : { version }),
          dropExtensions: values['drop-extensions'] === true,
        }),
      undefined,
      { env: io.env },
    );
    return reportEdit(io, values.json === true, path, result);
  },
};
