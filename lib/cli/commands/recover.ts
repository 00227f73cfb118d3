// savekit recover IMAGE: finish or undo an in-place edit that was interrupted.
import { SaveImageError } from '../../errors.js';
import { recoverImage, type RecoveryAction } from '../../file/patch.js';
import { isObjectAddress } from '../../io/s3/address.js';
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { print, printJson } from '../io.js';

const spec: CommandSpec = {
  name: 'recover',
  summary: 'Resolve an interrupted in-place edit from its undo journal (IMAGE.savekit-journal).',
  usage: 'savekit recover IMAGE [--json]',
  help: `Rolls the edit forward when the new prologue reached the disk whole (only the final
magic was missing), back to the old prologue otherwise; a journal torn by the crash means the
image was never written and is simply removed. Afterwards the image is byte-identical to
either its old or its new version. Safe to run again; does nothing without a journal.

Options:
  --json               print {"action": ...}: none, discarded-journal, rolled-back, rolled-forward
  -h, --help           show this help

Exit status: 0 success, 1 image or I/O error, 2 usage error.`,
  options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
};

const SAID: Record<RecoveryAction, string> = {
  none: 'nothing to recover: no interrupted edit',
  'discarded-journal': 'the edit was interrupted before it wrote to the image: the image is unchanged, the torn journal removed',
  'rolled-back': 'the interrupted edit was undone: the image is back to its old version',
  'rolled-forward': 'the interrupted edit was completed: the image holds its new version',
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const path = positionals[0]!;
    if (isObjectAddress(path)) throw new SaveImageError('ERR_USAGE', `${path} is an object: an edit there replaces it whole or not at all, so there is never a half-done edit to recover`);
    const action = await recoverImage(path);
    if (values.json) await printJson(io, { action });
    else await print(io, `${path}: ${SAID[action]}\n`);
    return 0;
  },
};
