// savekit define IMAGE XMLFILE|-: replace the domain XML in place, as `virsh
// save-image-define` does byte for byte, but crash-safe (journal, Part magic, fsync).
import { planDefine } from '../../edit/plan.js';
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { readXmlArgument, RUN_STATE_HELP, RUN_STATE_OPTIONS, wasRunningOption } from '../edit-options.js';
import { reportEdit } from '../edit-report.js';
import { patchImageAt } from '../../io/image-at.js';

const spec: CommandSpec = {
  name: 'define',
  summary: 'Replace the domain XML of a save image in place (crash-safe), as virsh save-image-define.',
  usage: 'savekit define IMAGE XMLFILE|- [--running | --paused] [--force] [--json]',
  help: `Stores the bytes of XMLFILE (or stdin) as the domain XML. The file size and dataLen
stay; the cookie moves to follow the new XML, the rest of the data region is zeroed, and
nothing at or past the payload offset is written. An XML that does not fit fails with
ERR_XML_TOO_LARGE and writes nothing (savekit rewrite can grow the region).

Options:
${RUN_STATE_HELP}
  --force              skip the ABI check (name, UUID, maximum memory, vCPUs); never
                       the well-formedness check
  --json               print the result as JSON
  -h, --help           show this help

Exit status: 0 success (also when nothing changed), 1 image or I/O error, 2 usage error.
An interrupted edit is undone or completed by 'savekit recover IMAGE'.`,
  options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, force: { type: 'boolean' }, ...RUN_STATE_OPTIONS },
  positionals: { min: 2, max: 2 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const [path, xmlArgument] = positionals as [string, string];
    const wasRunning = wasRunningOption(spec, values);
    const xml = await readXmlArgument(xmlArgument, io.stdin);
    const result = await patchImageAt(path, (image) => planDefine(image, xml, { ...(wasRunning === undefined ? {} : { wasRunning }), force: values.force === true }), undefined, { env: io.env });
    return reportEdit(io, values.json === true, path, result);
  },
};
