// savekit hash IMAGE|-: XXH64 of the payload and of the prologue, as `xxhsum -H1` prints them.
import { hashImage } from '../../jobs/hash-image.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, readOptionsOf } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../../io/endpoints.js';
import { print, printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';

const spec: CommandSpec = {
  name: 'hash',
  summary: 'XXH64 of the payload and of the prologue (equal to xxhsum -H1 of the same bytes).',
  usage: 'savekit hash IMAGE|- [--json] [--quiet]',
  help: `JSON keys: algorithm ("xxh64"), payloadOffset, payloadLength, payload, prologue.

${QUIET_HELP}
${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION },
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const digest = await withProgress(io, values, (hooks) => withSource(io, positionals[0]!, (source) => hashImage(source, readOptionsOf(spec, values), hooks)));
    const result = {
      algorithm: 'xxh64',
      payloadOffset: digest.image.payloadOffset,
      payloadLength: digest.payloadLength,
      payload: digest.payload,
      prologue: digest.prologue,
    };
    if (values.json) await printJson(io, result);
    else {
      await print(
        io,
        `${result.payload}  payload  (${result.payloadLength} bytes at offset ${result.payloadOffset})\n` +
          `${result.prologue}  prologue (${result.payloadOffset} bytes at offset 0)\n`,
      );
    }
    return 0;
  },
};
