// savekit edit IMAGE: the stored domain XML in $VISUAL / $EDITOR, then define. Like
// `virsh save-image-edit`; an edit that cannot be stored is kept in a file, never lost.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { PRIVATE_FILE_MODE } from '../../file/modes.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planDefine } from '../../edit/plan.js';
import { ioError, SaveImageError } from '../../errors.js';
import type { CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { RUN_STATE_HELP, RUN_STATE_OPTIONS, wasRunningOption } from '../edit-options.js';
import { reportEdit } from '../edit-report.js';
import { type CliIo, print } from '../io.js';
import { patchImageAt, readPrologueAt } from '../../io/image-at.js';

const spec: CommandSpec = {
  name: 'edit',
  summary: 'Edit the domain XML of a save image in $VISUAL or $EDITOR, then store it in place.',
  usage: 'savekit edit IMAGE [--running | --paused] [--force] [--json]',
  help: `Opens the stored XML (secrets included, since they are stored back) in $VISUAL, else
$EDITOR, else vi. Unchanged text writes nothing. The edited XML goes through the same checks
as 'savekit define'; when it fails them the edit is kept in a file named in the message.

Options:
${RUN_STATE_HELP}
  --force              skip the ABI check (name, UUID, maximum memory, vCPUs)
  --json               print the result as JSON
  -h, --help           show this help

Exit status: 0 success (also when nothing changed), 1 image or I/O error, 2 usage error.`,
  options: { help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, force: { type: 'boolean' }, ...RUN_STATE_OPTIONS },
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const path = positionals[0]!;
    const wasRunning = wasRunningOption(spec, values);
    const stored = (await readPrologueAt(path, { env: io.env })).region.xml.bytes;
    const folder = await mkdtemp(join(tmpdir(), 'savekit-edit-'));
    const draft = join(folder, 'domain.xml');
    await writeFile(draft, stored, { mode: PRIVATE_FILE_MODE }); // the XML with its secrets, in a 0700 folder
    try {
      await runEditor(io, draft);
    } catch (error) {
      // An editor that failed may still have saved work worth keeping; an untouched draft is not.
      const saved = await readFile(draft).catch(() => stored);
      if (saved.equals(stored)) await rm(folder, { recursive: true, force: true });
      else if (SaveImageError.is(error)) throw new SaveImageError(error.code, `${error.message}\nwhat the editor saved is kept in ${draft}`, error);
      throw error;
    }
    const edited = await readFile(draft);
    if (edited.equals(stored) && wasRunning === undefined) {
      await rm(folder, { recursive: true, force: true });
      await print(io, `${path}: the XML is unchanged: nothing written\n`);
      return 0;
    }
    try {
      const result = await patchImageAt(path, (image) => planDefine(image, edited, { ...(wasRunning === undefined ? {} : { wasRunning }), force: values.force === true }), undefined, { env: io.env });
      await rm(folder, { recursive: true, force: true });
      return await reportEdit(io, values.json === true, path, result);
    } catch (error) {
      if (!SaveImageError.is(error)) throw error;
      throw new SaveImageError(error.code, `${error.message}\nyour edited XML is kept in ${draft}; fix it and run: savekit define ${path} ${draft}`, error);
    }
  },
};

/** Runs the user's editor through the shell (it may carry arguments, as `code --wait`). */
function runEditor(io: CliIo, file: string): Promise<void> {
  const editor = io.env.VISUAL || io.env.EDITOR || 'vi';
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `${editor} "$1"`, 'savekit-edit', file], { stdio: 'inherit' });
    child.on('error', (error) => reject(ioError('start the editor', editor, error)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new SaveImageError('ERR_IO', `the editor (${editor}) ended with ${signal ?? `status ${code}`}; nothing was written`));
    });
  });
}
