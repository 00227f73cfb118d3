// savekit extract-ram IMAGE OUTDIR: one sparse raw file per RAM block.
import { extractRam } from '../../pipe/extract-ram.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, readOptionsOf } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../fd-args.js';
import { print, printJson } from '../io.js';

const spec: CommandSpec = {
  name: 'extract-ram',
  summary: 'Write each RAM block of a save image to a sparse raw file (data pages at their offsets).',
  usage: 'savekit extract-ram IMAGE|- OUTDIR [--json]',
  help: `One file per RAM block, named after the block (pc.ram, /rom@etc/acpi/tables becomes
OUTDIR/rom@etc/acpi/tables), as analyze-migration.py -x does: data pages at their offset in the
block, zero pages left as holes. Works for every payload format; a sparse (mapped-ram) image
must be a file. Offsets are RAMBlock offsets, not guest-physical addresses.

${COMMON_HELP}`,
  options: COMMON_OPTIONS,
  positionals: { min: 2, max: 2 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const [imageArg, folder] = positionals as [string, string];
    const blocks = await withSource(io, imageArg, (source) => extractRam(source, folder, { readOptions: readOptionsOf(spec, values) }));
    if (values.json) await printJson(io, { folder, blocks });
    else await print(io, blocks.map((b) => `${b.file}: ${b.length} bytes, ${b.dataPages} data pages, ${b.zeroPages} zero pages`).join('\n') + '\n');
    return 0;
  },
};
