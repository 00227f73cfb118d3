// savekit apply BASE DELTA [OUT|-]: NEW rebuilt from BASE and a delta of savekit delta, its
// prologue and stream byte for byte, written in NEW's payload format (or --format).
import { FORMATS, type FormatName } from '../../constants.js';
import { SaveImageError } from '../../errors.js';
import { applyDelta } from '../../jobs/apply/apply.js';
import { checkCompressOptions, compressOptionsOf } from '../../io/compressors.js';
import { COMMON_OPTIONS, type CommandSpec, readOptionsOf, smallIntegerOption, usageError } from '../args.js';
import type { Command } from '../command.js';
import { assertOutputIsNot, type Endpoint, openInputs, openOutput, sourceOf, writeOutput } from '../../io/endpoints.js';
import { printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';

const spec: CommandSpec = {
  name: 'apply',
  summary: 'Rebuild NEW from BASE and a delta written by savekit delta.',
  usage: 'savekit apply BASE DELTA [OUT|-] [--format F] [--level N] [--threads N] [--json] [--quiet]',
  help: `OUT defaults to - (stdout); DELTA may be - (stdin), so that
  savekit delta old.save new.save - | ssh host savekit apply old.save - new.save
works. BASE may have any payload format whose decompressed stream is the one the delta was
made from (BASE's stream length and XXH64 are in the delta). NEW comes back with its prologue
and its decompressed QEMU stream byte for byte, in NEW's payload format: a raw or sparse NEW is
the same file byte for byte; a compressed one is compressed again (a seal it carried is made
anew for the bytes written). --format writes another format instead, as savekit convert does
(through a private temporary file in $TMPDIR when the kind changes).

OUT keeps the LibvirtQemudPart magic until BASE proved to be the delta's base and the rebuilt
stream's XXH64 equals NEW's; on any failure a file OUT is removed. A wrong BASE is
ERR_BASE_MISMATCH, a cut or damaged delta ERR_BAD_DELTA, a delta of a newer layout
ERR_UNSUPPORTED_VERSION. BASE is only read.

Options:
  --format FORMAT      write raw, gzip, bzip2, xz, lzop, zstd or sparse instead of NEW's format
  --level N            compression level of OUT's payload (as savekit convert)
  --threads N          compressor threads (xz, zstd)
${QUIET_HELP}
  --json               print {format, pages, samePages, streamBytes, payloadOut, seconds,
                       sealed, newStream, baseStream} (OUT must be a file)
  --allow-partial      read a BASE whose magic is LibvirtQemudPart
  --max-data-len BYTES refuse a BASE data region larger than this (default 67108864)
  -h, --help           show this help

Exit status: 0 success, 1 image or I/O error, 2 usage error.`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION, format: { type: 'string' }, level: { type: 'string' }, threads: { type: 'string' } },
  positionals: { min: 2, max: 3 },
  choices: { format: FORMATS },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const [baseArg, deltaArg, outArg = '-'] = positionals as [string, string, string?];
    if (baseArg === '-' && deltaArg === '-') throw usageError(spec, 'BASE and DELTA cannot both be stdin');
    if (values.json && outArg === '-') throw usageError(spec, '--json needs OUT to be a file (stdout carries the image)');
    const format = values.format;
    if (format !== undefined && (typeof format !== 'string' || !(FORMATS as readonly string[]).includes(format))) throw usageError(spec, `--format takes ${FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
    if (format === 'sparse' && outArg === '-') throw new SaveImageError('ERR_NOT_SEEKABLE', 'a sparse image must be written to a file: QEMU reads its pages at file offsets (give OUT as a file, not stdout)');
    const level = smallIntegerOption(spec, values, 'level');
    const threads = smallIntegerOption(spec, values, 'threads');
    const compress = compressOptionsOf({ level, threads });
    if (format !== undefined) {
      const wrong = checkCompressOptions(format, compress);
      if (wrong) throw usageError(spec, wrong);
    }
    const started = process.hrtime.bigint();
    const [baseInput, deltaInput] = (await openInputs(io, [baseArg, deltaArg])) as [Endpoint, Endpoint];
    // OUT is opened once the delta proved to hold a prologue; it stays under the Part magic until
    // NEW is proven, and a failed OUT is removed.
    const result = await writeOutput(outArg, [baseInput, deltaInput], 'the image', (open) => {
      assertOutputIsNot(outArg, [deltaInput]);
      return withProgress(io, values, (hooks) =>
        applyDelta({
          base: sourceOf(io, baseInput),
          baseReadOptions: readOptionsOf(spec, values),
          deltaFd: deltaInput.fd,
          deltaLabel: deltaInput.label,
          openOutput: () => open(() => openOutput(io, outArg, baseInput)),
          ...hooks,
          ...(format === undefined ? {} : { format: format as FormatName }),
          ...compress,
        }),
      );
    });
    if (result && values.json) {
      await printJson(io, {
        format: result.format,
        pages: result.trailer.pages,
        samePages: result.trailer.samePages,
        streamBytes: result.streamBytes,
        payloadOut: result.payloadOut,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        sealed: result.seal !== null,
        newStream: result.trailer.newStream,
        baseStream: result.trailer.baseStream,
      });
    }
    return 0;
  },
};

