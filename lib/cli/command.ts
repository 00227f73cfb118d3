// The shape every command module exports.
import type { CommandSpec, ParsedArgs } from './args.js';
import type { CliIo } from './io.js';

export interface Command {
  spec: CommandSpec;
  /** Runs the command; resolves to its exit status. Errors thrown are reported by the caller. */
  run(args: ParsedArgs, io: CliIo, context: CommandContext): Promise<number>;
}

/**
 * What the runner hands a command besides its arguments: the other commands' specs, for the
 * ones that describe the rest (completion). The table names the commands; a command never
 * imports the table, so no command module and the table import each other.
 */
export interface CommandContext {
  loadSpecs(): Promise<CommandSpec[]>;
}
