// savekit delta BASE NEW [OUT|-] (or --signature SIG NEW): what turns BASE into NEW, page by
// page: NEW's prologue, its stream as references to BASE's pages and literal bytes, zstd'd.
import { imagePages, signaturePages } from '../../jobs/base-pages.js';
import { makeDelta } from '../../jobs/delta.js';
import { COMMON_OPTIONS, type CommandSpec, readOptionsOf, usageError } from '../args.js';
import type { Command } from '../command.js';
import { assertOutputIsNot, type Endpoint, openInputs, openOutput, sourceOf, writeOutput } from '../../io/endpoints.js';
import { printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';
import { bodyLevelOf, LEVEL_HELP } from '../body-level.js';

const spec: CommandSpec = {
  name: 'delta',
  summary: 'Write what turns BASE into NEW (two saves of one guest): the pages that changed and a reference to the rest.',
  usage: 'savekit delta BASE NEW [OUT|-] | savekit delta --signature SIG NEW [OUT|-]  [--level N] [--json] [--quiet]',
  help: `OUT defaults to - (stdout). NEW may be - (stdin); BASE and NEW may have any payload format
(the decompressed QEMU streams are compared, as walk reads them). BASE and NEW are read once
each, in step: each page record of NEW that holds what BASE's record at the same RAM block and
address holds becomes a reference, all else (changed pages, device state) is carried literally,
and the whole is compressed with zstd. The delta also holds both streams' length and XXH64, so
savekit apply refuses a BASE it was not made from. Its layout is in the README ("Delta layout").

With --signature SIG (a file, or - for stdin) instead of BASE, the pages are compared by the
128-bit hashes of 'savekit signature BASE': the same delta, made where BASE is not.

Options:
  --signature SIG      compare with BASE's page signature instead of BASE
${LEVEL_HELP}
${QUIET_HELP}
  --json               print {pages, samePages, literalBytes, deltaBytes, seconds, format,
                       newStream, baseStream} (OUT must be a file)
  --allow-partial      read a BASE or NEW whose magic is LibvirtQemudPart
  --max-data-len BYTES refuse a data region larger than this (default 67108864)
  -h, --help           show this help

Exit status: 0 success, 1 image or I/O error, 2 usage error.`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION, signature: { type: 'string' }, level: { type: 'string' } },
  positionals: { min: 1, max: 3 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const signature = typeof values.signature === 'string' ? values.signature : null;
    const args = signature === null ? positionals : [signature, ...positionals];
    if (args.length < 2 || args.length > 3) throw usageError(spec, signature === null ? 'give BASE and NEW (and OUT)' : 'with --signature, give NEW (and OUT)');
    const [baseArg, newArg, outArg = '-'] = args as [string, string, string?];
    if (baseArg === '-' && newArg === '-') throw usageError(spec, `${signature === null ? 'BASE' : 'SIG'} and NEW cannot both be stdin`);
    if (values.json && outArg === '-') throw usageError(spec, '--json needs OUT to be a file (stdout carries the delta)');
    const level = bodyLevelOf(spec, values);
    const started = process.hrtime.bigint();
    const [baseInput, newInput] = (await openInputs(io, [baseArg, newArg])) as [Endpoint, Endpoint];
    const result = await writeOutput(outArg, [baseInput, newInput], 'the delta', async (open) => {
      assertOutputIsNot(outArg, [baseInput]);
      const outFd = open(() => openOutput(io, outArg, newInput));
      const base = signature === null ? imagePages(sourceOf(io, baseInput), { readOptions: readOptionsOf(spec, values) }) : await signaturePages(baseInput.fd, signature);
      return withProgress(io, values, (hooks) => makeDelta({ base, source: sourceOf(io, newInput), outFd, level, readOptions: readOptionsOf(spec, values), ...hooks }));
    });
    if (result && values.json) {
      await printJson(io, {
        pages: result.pages,
        samePages: result.samePages,
        literalBytes: result.literalBytes,
        deltaBytes: result.deltaBytes,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        format: result.format,
        newStream: result.newStream,
        baseStream: result.baseStream,
      });
    }
    return 0;
  },
};
