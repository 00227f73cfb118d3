// Every savekit command: its name, one-line summary and lazy loader (command modules load on
// use, so `savekit --help` starts fast). --help, the man page and the shell completion are all
// made from this table and the specs it loads, so they cannot drift apart.
import type { CommandSpec } from './args.js';
import type { Command } from './command.js';

export interface CommandEntry {
  summary: string;
  load: () => Promise<{ command: Command }>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  info: { summary: 'header fields and layout of a save image', load: () => import('./commands/info.js') },
  dumpxml: { summary: 'print a stored XML block byte for byte', load: () => import('./commands/dumpxml.js') },
  cpu: { summary: 'defined CPU against the CPU QEMU started', load: () => import('./commands/cpu.js') },
  define: { summary: 'replace the domain XML in place (crash-safe)', load: () => import('./commands/define.js') },
  edit: { summary: 'edit the domain XML in $EDITOR, then define it', load: () => import('./commands/edit.js') },
  set: { summary: 'change the running flag or the version in place', load: () => import('./commands/set.js') },
  recover: { summary: 'finish or undo an interrupted in-place edit', load: () => import('./commands/recover.js') },
  rewrite: { summary: 'copy an image with a new prologue, payload untouched', load: () => import('./commands/rewrite.js') },
  hash: { summary: 'XXH64 of the payload and the prologue', load: () => import('./commands/hash.js') },
  seal: { summary: 'store the payload\'s length and XXH64 in the header', load: () => import('./commands/seal.js') },
  verify: { summary: 'check the payload against its seal', load: () => import('./commands/verify.js') },
  check: { summary: 'will it restore? header, XML, payload, whole stream, seal', load: () => import('./commands/check.js') },
  convert: { summary: 'payload to another format: raw, gzip, bzip2, xz, lzop, zstd, sparse', load: () => import('./commands/convert.js') },
  'extract-ram': { summary: 'one sparse raw file per RAM block', load: () => import('./commands/extract-ram.js') },
  walk: { summary: 'walk the QEMU migration stream: RAM blocks, sections, devices', load: () => import('./commands/walk.js') },
  state: { summary: "every device's state decoded (like analyze-migration.py)", load: () => import('./commands/state.js') },
  delta: { summary: 'what turns one save of a guest into a later one: changed pages only', load: () => import('./commands/delta.js') },
  apply: { summary: 'rebuild the later save from the earlier one and a delta', load: () => import('./commands/apply.js') },
  diff: { summary: 'what changed between two saves: header, XML, devices, RAM pages', load: () => import('./commands/diff.js') },
  signature: { summary: "a save's page hashes, for a delta made where it is not", load: () => import('./commands/signature.js') },
  completion: { summary: 'print the shell completion script (bash)', load: () => import('./commands/completion.js') },
};

/** savekit's version, as package.json says (test/package.test.ts holds them together). */
export const VERSION = '0.1.0';

/** Every command's spec, in the table's order (loads every command module). */
export async function loadCommandSpecs(): Promise<CommandSpec[]> {
  return Promise.all(Object.values(COMMANDS).map(async (entry) => (await entry.load()).command.spec));
}
