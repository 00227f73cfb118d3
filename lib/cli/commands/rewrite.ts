// savekit rewrite [IN|-] [OUT|-]: copy an image with a new prologue, the payload passing
// through byte for byte at pipe speed (stdin to stdout: `ssh host cat img | savekit rewrite ...`).
import { ioError, SaveImageError } from '../../errors.js';
import { rewriteImage } from '../../jobs/rewrite.js';
import { COMMON_OPTIONS, type CommandSpec, readOptionsOf, usageError } from '../args.js';
import type { Command } from '../command.js';
import { PROLOGUE_OPTIONS, prologuePlanOf, RUN_STATE_HELP } from '../edit-options.js';
import { finishOutput, growPipes, type Endpoint, openInput, openOutput, sourceOf, transferFailure } from '../../io/endpoints.js';
import { printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';

const spec: CommandSpec = {
  name: 'rewrite',
  summary: 'Copy a save image with a new prologue (XML, flags, version, slack, seal); the payload passes through untouched.',
  usage: 'savekit rewrite [--xml FILE] [--running | --paused] [--version 2|3] [--slack BYTES] [--seal] [IN|-] [OUT|-]',
  help: `IN and OUT default to - (stdin, stdout). dataLen grows or shrinks to fit the blocks plus
the slack. To a file, the prologue is written under the LibvirtQemudPart magic and the
LibvirtQemudSave magic only after the last payload byte is written and synced: a failed or
cut copy is an image libvirt refuses, never a silently short one. Memory stays flat.

Options:
  --xml FILE           new domain XML (checked like savekit define)
${RUN_STATE_HELP}
  --version 2|3        write version 2 (libvirt) or 3 (savekit's block sequence)
  --drop-extensions    allow 3 -> 2 to drop blocks other than the XML and cookie
  --slack BYTES        NUL bytes after the blocks (default 65536, as libvirt)
  --seal               store the payload's XXH64 and length in the header (OUT a file,
                       or an IN already sealed, whose seal is then carried over)
  --force              skip the ABI check of --xml
${QUIET_HELP}
  --json               print a summary as JSON (OUT must be a file)
  --allow-partial      read an IN whose magic is LibvirtQemudPart
  --max-data-len BYTES refuse an input data region larger than this (default 67108864)
  -h, --help           show this help

Exit status: 0 success, 1 image or I/O error (ERR_TRUNCATED for a cut input), 2 usage error.
A reader that closes stdout early ends the copy quietly.`,
  options: {
    ...COMMON_OPTIONS,
    ...PROLOGUE_OPTIONS,
    seal: { type: 'boolean' },
    ...QUIET_OPTION,
  },
  positionals: { min: 0, max: 2 },
  choices: { version: ['2', '3'] },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const [inArg = '-', outArg = '-'] = positionals;
    if (values.json && outArg === '-') throw usageError(spec, '--json needs OUT to be a file (stdout carries the image)');
    const plan = await prologuePlanOf(spec, values);
    const input = await openInput(io, inArg);
    let output: Endpoint | null = null;
    try {
      const result = await withProgress(io, values, (hooks) =>
        rewriteImage({
          source: sourceOf(io, input),
          openOutput: () => (output = openOutput(io, outArg, input)).fd,
          readOptions: readOptionsOf(spec, values),
          plan,
          seal: values.seal === true,
          growPipe: growPipes(io),
          ...hooks,
        }),
      );
      await finishOutput(output as Endpoint | null);
      if (values.json) {
        await printJson(io, {
          payloadOffset: result.after.payloadOffset,
          payloadLength: result.payloadLength,
          dataLen: result.after.header.dataLen,
          version: result.after.header.version,
          wasRunning: result.after.header.wasRunning !== 0,
          sealed: result.seal !== null,
          seal: result.seal,
          streamEnd: result.streamEnd?.kind ?? null,
        });
      }
      return 0;
    } catch (error) {
      // An upload that failed closes its pipe: the EPIPE is its failure, not a reader that left.
      const behind = transferFailure(input, output as Endpoint | null);
      if (behind) throw behind;
      if ((error as NodeJS.ErrnoException).code === 'EPIPE') return 0;
      throw explainPartialOutput(error, output as Endpoint | null);
    } finally {
      (output as Endpoint | null)?.close();
      input.close();
    }
  },
};

/** Names the output a failure happened on; a file left behind keeps the Part magic: say so. */
function explainPartialOutput(error: unknown, output: Endpoint | null): unknown {
  if (output === null) return error;
  const known = SaveImageError.is(error) ? error : ioError('write to', output.label, error);
  if (!output.isFile) return known;
  return new SaveImageError(known.code, `${known.message}\n${output.label} is left incomplete, under the LibvirtQemudPart magic: libvirt will not restore it`, {
    ...(known.offset === undefined ? {} : { offset: known.offset }),
    cause: error,
  });
}

