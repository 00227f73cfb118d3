// The shape every command module exports.
import type { CommandSpec, ParsedArgs } from './args.js';
import type { CliIo } from './io.js';

export interface Command {
  spec: CommandSpec;
  /** Runs the command; resolves to its exit status. Errors thrown are reported by the caller. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}
