// savekit verify IMAGE|-: does the payload still match the seal in the header?
import { hashPayload } from '../../jobs/hash-image.js';
import { assertSealHolds } from '../../jobs/rewrite.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, readOptionsOf } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../../io/endpoints.js';
import { print, printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';

const spec: CommandSpec = {
  name: 'verify',
  summary: 'Check the payload of a sealed image against its seal (length and XXH64).',
  usage: 'savekit verify IMAGE|- [--json] [--quiet]',
  help: `Exit 0 when the payload matches the seal, and also for an unsealed image (said plainly:
"sealed": false); 1 with ERR_SEAL_MISMATCH (changed or grown) or ERR_TRUNCATED (cut).
Seal an image with 'savekit seal IMAGE' or 'savekit rewrite --seal'.

${QUIET_HELP}
${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION },
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    return withSource(io, positionals[0]!, async (source, input) => {
      const image = source.readPrologue(readOptionsOf(spec, values));
      const seal = image.seal;
      if (seal === null) {
        if (values.json) await printJson(io, { sealed: false, ok: null });
        else await print(io, `${input.label}: not sealed: there is no seal to verify (savekit seal adds one)\n`);
        return 0;
      }
      const digest = await withProgress(io, values, (hooks) => hashPayload(source, image, hooks));
      assertSealHolds(seal, image.payloadOffset, digest.payloadLength, digest.payload);
      if (values.json) await printJson(io, { sealed: true, ok: true, payloadLength: digest.payloadLength, digest: digest.payload });
      else await print(io, `${input.label}: payload matches its seal (xxh64 ${digest.payload}, ${digest.payloadLength} bytes)\n`);
      return 0;
    });
  },
};
