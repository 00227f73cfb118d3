// savekit seal IMAGE: hash the payload and store the seal in the header, in place.
import { decodeSeal, withSeal } from '../../codec/seal.js';
import { encodeHeaderInto } from '../../codec/header.js';
import { SaveImageError } from '../../errors.js';
import { hashImage } from '../../jobs/hash-image.js';
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../../io/endpoints.js';
import { print, printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';
import { type EditBasis, patchImageAt } from '../../io/image-at.js';

const spec: CommandSpec = {
  name: 'seal',
  summary: 'Store the payload length and XXH64 in the header (unused words libvirt keeps), in place.',
  usage: 'savekit seal IMAGE [--force] [--json] [--quiet]',
  help: `The seal lives in unused[9..13] of the header (FORMAT.md section 5): libvirt writes them as
zero, never reads them and keeps them through its own edits, so a sealed image restores as
before and stays verifiable after 'virsh save-image-define'. The header is rewritten under
the same journal as 'savekit define'. An image whose existing seal no longer matches is
refused (ERR_SEAL_MISMATCH) unless --force: resealing would hide the damage.

Options:
  --force              replace a seal that does not match
${QUIET_HELP}
  --json               print {"sealed", "changed", "payloadLength", "digest"}
  -h, --help           show this help

Exit status: 0 success, 1 image or I/O error, 2 usage error.`,
  options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, force: { type: 'boolean' }, ...QUIET_OPTION },
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const path = positionals[0]!;
    if (path === '-') throw new SaveImageError('ERR_USAGE', 'seal edits a file in place: give a path (rewrite --seal seals a copy)');
    let hashed: EditBasis | null = null;
    const digest = await withProgress(io, values, (hooks) =>
      withSource(io, path, async (source, input) => {
        hashed = source.stamp;
        const result = await hashImage(source, {}, hooks);
        hashed ??= input.version?.() ?? null; // an object: the ETag its bytes were read under
        return result;
      }),
    );
    const seal = { payloadLength: digest.payloadLength, digest: digest.payload };
    const result = await patchImageAt(path, (image) => {
      const existing = decodeSeal(image.header);
      if (existing && (existing.digest !== seal.digest || existing.payloadLength !== seal.payloadLength) && !values.force) {
        throw new SaveImageError(
          'ERR_SEAL_MISMATCH',
          `${path} is sealed (xxh64 ${existing.digest}, ${existing.payloadLength} bytes) but its payload now hashes to ${seal.digest} over ${seal.payloadLength} bytes; use --force to reseal it anyway`,
          { offset: image.payloadOffset },
        );
      }
      const prologue = Buffer.from(image.prologueBytes);
      encodeHeaderInto(withSeal(image.header, seal), prologue, 0);
      return prologue;
    }, hashed, { env: io.env }); // a payload written since it was hashed is not sealed
    if (values.json) await printJson(io, { sealed: true, changed: result.changed, ...seal });
    else await print(io, `${path}: ${result.changed ? 'sealed' : 'already sealed'}: xxh64 ${seal.digest} over ${seal.payloadLength} payload bytes\n`);
    return 0;
  },
};

