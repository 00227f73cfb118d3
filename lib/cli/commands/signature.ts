// savekit signature BASE [OUT|-]: BASE's page signature, for `savekit delta --signature` on a
// host that does not hold BASE.
import { writeSignature } from '../../jobs/signature.js';
import { COMMON_OPTIONS, type CommandSpec, readOptionsOf, usageError } from '../args.js';
import { bodyLevelOf, LEVEL_HELP } from '../body-level.js';
import type { Command } from '../command.js';
import { type Endpoint, openInputs, openOutput, sourceOf, writeOutput } from '../../io/endpoints.js';
import { printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';

const spec: CommandSpec = {
  name: 'signature',
  summary: "Write BASE's page signature: what savekit delta --signature needs instead of BASE.",
  usage: 'savekit signature BASE|- [OUT|-] [--level N] [--json] [--quiet]',
  help: `OUT defaults to - (stdout). For each page record of BASE's stream, in order: its RAM block
and address, and a 128-bit hash of the page (two XXH64, seeds 0 and PRIME64_1) or the fill of a
zero page; then BASE's stream length and XXH64. About 1/256 of the guest's RAM (17 bytes a data
page, 1 a zero page), compressed with zstd. Its layout is in the README ("Signature layout").
So that the host holding only NEW sends what the other lacks:
  ssh old savekit signature vm.save - | savekit delta --signature - new.save - |
    ssh old savekit apply vm.save - vm.save.new

Options:
${LEVEL_HELP}
${QUIET_HELP}
  --json               print {pages, signatureBytes, seconds, baseStream} (OUT must be a file)
  --allow-partial      read a BASE whose magic is LibvirtQemudPart
  --max-data-len BYTES refuse a data region larger than this (default 67108864)
  -h, --help           show this help

Exit status: 0 success, 1 image or I/O error, 2 usage error.`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION, level: { type: 'string' } },
  positionals: { min: 1, max: 2 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const [baseArg, outArg = '-'] = positionals as [string, string?];
    if (values.json && outArg === '-') throw usageError(spec, '--json needs OUT to be a file (stdout carries the signature)');
    const level = bodyLevelOf(spec, values);
    const started = process.hrtime.bigint();
    const [input] = (await openInputs(io, [baseArg])) as [Endpoint];
    const result = await writeOutput(outArg, [input], 'the signature', (open) => {
      const outFd = open(() => openOutput(io, outArg, input));
      return withProgress(io, values, (hooks) => writeSignature({ source: sourceOf(io, input), outFd, level, readOptions: readOptionsOf(spec, values), ...hooks }));
    });
    if (result && values.json) await printJson(io, { pages: result.pages, signatureBytes: result.signatureBytes, seconds: Number(process.hrtime.bigint() - started) / 1e9, baseStream: result.base });
    return 0;
  },
};
