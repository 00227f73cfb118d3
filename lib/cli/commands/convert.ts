// savekit convert --format F [IN|-] [OUT|-]: re-encode a save image's payload in another format
// libvirt reads (raw, gzip, bzip2, xz, lzop, zstd, sparse), which libvirt cannot do after a
// save; the prologue is carried over as `rewrite` carries it, with the format code set.
import { FORMATS, type FormatName } from '../../constants.js';
import { ioError, SaveImageError } from '../../errors.js';
import { type ImageLock, lockImage } from '../../file/lock.js';
import { createReplacement, type Replacement } from '../../file/replacement.js';
import { checkCompressOptions, compressOptionsOf } from '../../io/compressors.js';
import { convertImage } from '../../jobs/convert/convert.js';
import { interruptedBy } from '../../io/interrupt.js';
import { COMMON_OPTIONS, type CommandSpec, readOptionsOf, smallIntegerOption, usageError } from '../args.js';
import type { Command } from '../command.js';
import { PROLOGUE_OPTIONS, prologuePlanOf, RUN_STATE_HELP } from '../edit-options.js';
import { finishOutput, openObjectReplacement, type Endpoint, openInput, openOutput, sourceOf, transferFailure } from '../../io/endpoints.js';
import { printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';

const spec: CommandSpec = {
  name: 'convert',
  summary: "Re-encode a save image's payload in another format libvirt reads: raw, gzip, bzip2, xz, lzop, zstd or sparse.",
  usage: 'savekit convert --format raw|gzip|bzip2|xz|lzop|zstd|sparse [--level N] [--threads N] [--seal] [--running | --paused] [--xml FILE] [--version 2|3] [--in-place] [IN|-] [OUT|-]',
  help: `IN and OUT default to - (stdin, stdout). Between raw and the compressors the QEMU stream
is carried byte for byte (decompressed as libvirt's '<name> -dc' does, compressed with node:zlib
for gzip and with the program libvirt runs on save for the others, at libvirt's level unless
--level). To and from sparse (mapped-ram) the RAM section is re-encoded: pages at their file
offsets, zero pages as holes. A sparse OUT must be a file (ERR_NOT_SEEKABLE). A sparse IN from
a pipe is read once into an unlinked private file in $TMPDIR (its data pages; the holes stay
holes), since its block list is complete only after the first block's pages.
The input must walk to its EOF byte; a sealed input is verified on the way. The output keeps
the LibvirtQemudPart magic until its last byte is written and synced.

Options:
  --format FORMAT      the payload format to write (required)
  --level N            compression level (gzip, bzip2, lzop 1-9; xz 0-9, libvirt uses 3;
                       zstd 1-19: savekit never writes a frame zstd -dc cannot read)
  --threads N          compressor threads (xz, zstd)
  --seal               store the new payload's XXH64 and length in the header (OUT a file)
  --in-place           replace IN: written beside it, synced, renamed over it
  --xml FILE           new domain XML (checked like savekit define)
${RUN_STATE_HELP}
  --version 2|3        write version 2 (libvirt) or 3 (savekit's block sequence)
  --drop-extensions    allow 3 -> 2 to drop blocks other than the XML and cookie
  --slack BYTES        NUL bytes after the blocks (default 65536, as libvirt)
  --force              skip the ABI check of --xml
${QUIET_HELP}
  --json               print {from, to, bytesIn, bytesOut, payloadIn, payloadOut, pages,
                       dataPages, seconds, sealed} (OUT must be a file)
  --allow-partial      read an IN whose magic is LibvirtQemudPart
  --max-data-len BYTES refuse an input data region larger than this (default 67108864)
  -h, --help           show this help

Exit status: 0 success, 1 image or I/O error, 2 usage error.`,
  options: {
    ...COMMON_OPTIONS,
    ...PROLOGUE_OPTIONS,
    format: { type: 'string' },
    level: { type: 'string' },
    threads: { type: 'string' },
    seal: { type: 'boolean' },
    'in-place': { type: 'boolean' },
    ...QUIET_OPTION,
  },
  positionals: { min: 0, max: 2 },
  choices: { format: FORMATS, version: ['2', '3'] },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const format = values.format;
    if (typeof format !== 'string') throw usageError(spec, '--format is required');
    if (!(FORMATS as readonly string[]).includes(format)) throw usageError(spec, `--format takes ${FORMATS.join(', ')}, not ${JSON.stringify(format)}`);
    const level = smallIntegerOption(spec, values, 'level');
    const threads = smallIntegerOption(spec, values, 'threads');
    const compress = compressOptionsOf({ level, threads });
    const wrong = checkCompressOptions(format, compress);
    if (wrong) throw usageError(spec, wrong);
    const inPlace = values['in-place'] === true;
    const [inArg = '-', outArg = inPlace ? undefined : '-'] = positionals;
    if (inPlace && (inArg === '-' || positionals.length > 1)) throw usageError(spec, '--in-place takes one IN file and no OUT');
    if (format === 'sparse' && outArg === '-') throw new SaveImageError('ERR_NOT_SEEKABLE', 'a sparse image must be written to a file: QEMU reads its pages at file offsets (give OUT as a file, not stdout)');
    if (values.json && outArg === '-') throw usageError(spec, '--json needs OUT to be a file (stdout carries the image)');
    const plan = await prologuePlanOf(spec, values);

    const input = await openInput(io, inArg);
    // In place: the image's edit lock for the whole run (define, edit, set, seal meanwhile get
    // ERR_LOCKED), and a private temporary with the image's owner and mode, renamed over it.
    let lock: ImageLock | null = null;
    let replacement: Replacement | null = null;
    let output: Endpoint | null = null;
    const started = process.hrtime.bigint();
    try {
      const inStore = input.upstream !== undefined;
      if (inPlace && !inStore) lock = await lockImage(inArg);
      // Stamped before the temporary appears: whatever writes the image from then on is seen at
      // the commit (stamped after it, a write in between was taken for the image as read).
      const source = sourceOf(io, input);
      if (inPlace && !inStore) replacement = createReplacement(inArg);
      const result = await withProgress(io, values, (hooks) =>
        convertImage({
          source,
          format: format as FormatName,
          openOutput: () => (output = replacement ? { fd: replacement.fd, label: replacement.path, isFile: true, close() {} } : inPlace ? openObjectReplacement(io, input) : openOutput(io, outArg!, input)).fd,
          readOptions: readOptionsOf(spec, values),
          plan,
          seal: values.seal === true,
          ...compress,
          ...hooks,
        }),
      );
      await finishOutput(output as Endpoint | null);
      (output as Endpoint | null)?.close();
      output = null;
      if (replacement) {
        replacement.commit({ stamp: source.stamp!, prologue: result.before.prologueBytes });
        replacement = null;
      }
      if (values.json) {
        await printJson(io, {
          from: result.from,
          to: result.to,
          bytesIn: result.bytesIn,
          bytesOut: result.bytesOut,
          payloadIn: result.payloadIn,
          payloadOut: result.payloadOut,
          pages: result.pages,
          dataPages: result.dataPages,
          seconds: Number(process.hrtime.bigint() - started) / 1e9,
          sealed: result.seal !== null,
        });
      }
      return 0;
    } catch (error) {
      // The reader of stdout went away (`| head`): a normal end, as for cat; not when a signal
      // killed the compressor savekit was writing to.
      if ((error as NodeJS.ErrnoException).code === 'EPIPE' && outArg === '-' && interruptedBy() === null) return 0;
      throw transferFailure(input, output as Endpoint | null) ?? explainOutput(error, output as Endpoint | null, inPlace, inArg);
    } finally {
      (output as Endpoint | null)?.close();
      (replacement as Replacement | null)?.abort();
      input.close();
      await (lock as ImageLock | null)?.release();
    }
  },
};

/** Names the output a failure happened on; says what is left behind, if anything. */
function explainOutput(error: unknown, output: Endpoint | null, inPlace: boolean, image: string): unknown {
  const known = SaveImageError.is(error) ? error : ioError('write to', output?.label ?? 'the output', error);
  if (inPlace) return new SaveImageError(known.code, `${known.message}\n${image} is unchanged (the temporary copy was removed)`, { ...(known.offset === undefined ? {} : { offset: known.offset }), cause: error });
  if (output === null || !output.isFile) return known;
  return new SaveImageError(known.code, `${known.message}\n${output.label} is left incomplete, under the LibvirtQemudPart magic: libvirt will not restore it`, {
    ...(known.offset === undefined ? {} : { offset: known.offset }),
    cause: error,
  });
}
