// savekit extract-ram IMAGE OUTDIR: one sparse raw file per RAM block; with --physical one flat
// guest-physical image, with --elf an ELF core like `virsh dump --memory-only` writes.
import { closeSync, openSync, rmSync } from 'node:fs';
import { narrowTo } from '../../file/modes.js';
import { ioError, SaveImageError } from '../../errors.js';
import type { BlockPlacement } from '../../codec/memory/physical-layout.js';
import { extractMemory } from '../../jobs/extract-memory.js';
import { extractRam } from '../../jobs/extract-ram.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, exclusive, integerOption, type ParsedValues, readOptionsOf, usageError } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../../io/endpoints.js';
import { type CliIo, print, printJson } from '../io.js';

const spec: CommandSpec = {
  name: 'extract-ram',
  summary: 'Write each RAM block of a save image to a sparse raw file (data pages at their offsets).',
  usage: 'savekit extract-ram IMAGE|- OUTDIR [--json] [--quiet] | IMAGE|- OUT --physical | --elf [--below-4g BYTES] [--map BLOCK=ADDRESS ...]',
  help: `One file per RAM block, named after the block (pc.ram, /rom@etc/acpi/tables becomes
OUTDIR/rom@etc/acpi/tables), as analyze-migration.py -x does: data pages at their offset in the
block, zero pages left as holes. Works for every payload format, from a file or a pipe (a
sparse image's page areas are read in one pass, their holes as zeros). Offsets are RAMBlock
offsets, not guest-physical addresses.

--physical writes OUT as one sparse file indexed by guest-physical address, zero pages as holes
(what lqs2mem makes; what volatility's raw layers read). --elf writes OUT as an ELF64 core like
'virsh dump --memory-only --format elf': one PT_LOAD per physical RAM range, and the vCPUs'
notes from the decoded cpu state (for crash and gdb): x86, an NT_PRSTATUS and QEMU's CPU-state
note each; aarch64, an NT_PRSTATUS and an NT_PRFPREG each.

The layout comes from the stream's blocks and machine type. A PC (pc-i440fx-*, pc-q35-*): pc.ram
below the machine's split from 0, the rest from 4 GiB on, pc.bios just below 4 GiB, the PCI hole
empty; --below-4g BYTES gives the split for another machine, or when max-ram-below-4g was set.
An ARM virt machine: mach-virt.ram from 1 GiB, the flash devices virt.flash0 and virt.flash1 at
0 and 64 MiB (in the physical image only: QEMU's dump leaves ROM devices out). Any other
machine is refused unless --map places its blocks. Option ROMs and video memory have no fixed
guest-physical place and are left out. A partial OUT is removed on failure.

Options:
  --physical           a flat guest-physical image
  --elf                an ELF core with the vCPUs' registers
  --below-4g BYTES     RAM below 4 GiB (max-ram-below-4g), instead of the machine's rule
  --map BLOCK=ADDRESS  place a RAM block at a guest-physical address (decimal or 0x hex),
                       instead of the machine's layout; repeat for each block to include
${QUIET_HELP}

${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION, physical: { type: 'boolean' }, elf: { type: 'boolean' }, 'below-4g': { type: 'string' }, map: { type: 'string', multiple: true } },
  positionals: { min: 2, max: 2 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const [imageArg, folder] = positionals as [string, string];
    exclusive(spec, values, 'physical', 'elf');
    const below4g = integerOption(spec, values, 'below-4g');
    const map = placementsOf(values.map);
    if (values.physical || values.elf) return extractMemoryFile(io, imageArg, folder, values.elf ? 'elf' : 'physical', { below4g, map }, values);
    if (below4g !== undefined) throw usageError(spec, '--below-4g goes with --physical or --elf');
    if (map.length > 0) throw usageError(spec, '--map goes with --physical or --elf');
    const blocks = await withProgress(io, values, (hooks) => withSource(io, imageArg, (source) => extractRam(source, folder, { readOptions: readOptionsOf(spec, values), ...hooks })));
    if (values.json) await printJson(io, { folder, blocks });
    else await print(io, blocks.map((b) => `${b.file}: ${b.length} bytes, ${b.dataPages} data pages, ${b.zeroPages} zero pages`).join('\n') + '\n');
    return 0;
  },
};

/** --map BLOCK=ADDRESS, each address decimal or 0x hex. */
function placementsOf(raw: unknown): BlockPlacement[] {
  const given = Array.isArray(raw) ? (raw as string[]) : [];
  return given.map((text) => {
    const match = /^(.+)=(0x[0-9a-fA-F]+|\d+)$/.exec(text);
    const address = match ? Number(match[2]) : NaN;
    if (!match || !Number.isSafeInteger(address)) throw usageError(spec, `--map takes BLOCK=ADDRESS (decimal or 0x hex), not ${JSON.stringify(text)}`);
    return { block: match[1]!, address };
  });
}

/** --physical and --elf: OUT is a file, removed again when the extraction fails. */
async function extractMemoryFile(io: CliIo, imageArg: string, out: string, kind: 'physical' | 'elf', place: { below4g: number | undefined; map: BlockPlacement[] }, values: ParsedValues): Promise<number> {
  const { below4g, map } = place;
  const result = await withProgress(io, values, (hooks) => withSource(io, imageArg, async (source) => {
    let fd: number;
    try {
      fd = openSync(out, 'w', source.outputMode);
      narrowTo(fd, source.outputMode);
    } catch (error) {
      throw ioError('create', out, error, { writing: true });
    }
    let done = false;
    try {
      const extraction = await extractMemory(source, fd, { kind, readOptions: readOptionsOf(spec, values), ...hooks, ...(below4g === undefined ? {} : { below4g }), ...(map.length > 0 ? { map } : {}) });
      done = true;
      return extraction;
    } catch (error) {
      throw SaveImageError.is(error) ? error : ioError('write', out, error, { writing: true });
    } finally {
      closeSync(fd);
      if (!done) rmSync(out, { force: true });
    }
  }));
  const notInCore = result.elf ? result.layout.ranges.filter((range) => range.inCore === false).map((range) => range.block) : [];
  const ranges = (result.elf?.loads ?? result.layout.ranges).map((range) => ({ address: range.address, length: range.length, block: range.block, blockOffset: range.blockOffset, ...('fileOffset' in range ? { fileOffset: range.fileOffset } : {}) }));
  if (values.json) {
    await printJson(io, { file: out, kind, machine: result.layout.machine, board: result.layout.board, below4g: result.layout.below4g, ranges, unmapped: result.layout.unmapped, ...(result.elf ? { notInCore } : {}), dataPages: result.dataPages, fileBytes: result.fileBytes, ...(result.elf ? { cpus: result.elf.cpus, elfMachine: result.elf.machine } : {}) });
  } else {
    const hex = (n: number) => `0x${n.toString(16)}`;
    const lines = ranges.map((r) => `  GPA ${hex(r.address)}..${hex(r.address + r.length)}  ${r.block} +${hex(r.blockOffset)}${'fileOffset' in r ? `  at file offset ${hex(r.fileOffset as number)}` : ''}`);
    await print(io, `${out}: ${kind === 'elf' ? `ELF core (${result.elf!.machine}, ${result.elf!.cpus} vCPU notes)` : 'guest-physical image'}, ${result.fileBytes} bytes, ${result.dataPages} data pages\n${lines.join('\n')}\n${result.layout.unmapped.length ? `  not in guest-physical RAM: ${result.layout.unmapped.join(', ')}\n` : ''}${notInCore.length ? `  ROM devices, left out of the core as QEMU's dump does: ${notInCore.join(', ')}\n` : ''}`);
  }
  return 0;
}
