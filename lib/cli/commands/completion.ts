// savekit completion bash: prints the shell completion script, made from the same command specs
// that print --help (the Debian package installs the same script).
import { type CommandSpec, usageError } from '../args.js';
import type { Command } from '../command.js';
import { formatBashCompletion } from '../completion-script.js';
import { print } from '../io.js';

const SHELLS = ['bash'] as const;

const spec: CommandSpec = {
  name: 'completion',
  summary: 'Print the shell completion script for savekit: commands, options, --format values, files.',
  usage: 'savekit completion bash',
  help: `Load it in the current shell:
  source <(savekit completion bash)
or install it for every new shell (the Debian package does this):
  savekit completion bash > /usr/share/bash-completion/completions/savekit
zsh reads it after 'autoload -U bashcompinit && bashcompinit'.

Options:
  -h, --help           show this help

Exit status: 0 success, 2 usage error.`,
  options: { help: { type: 'boolean', short: 'h' } },
  positionals: { min: 1, max: 1 },
  positionalChoices: SHELLS,
};

export const command: Command = {
  spec,
  async run({ positionals }, io, { loadSpecs }) {
    const shell = positionals[0]!;
    if (!(SHELLS as readonly string[]).includes(shell)) throw usageError(spec, `completion is made for ${SHELLS.join(', ')}, not ${JSON.stringify(shell)}`);
    await print(io, formatBashCompletion(await loadSpecs()));
    return 0;
  },
};
