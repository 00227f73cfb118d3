// savekit state IMAGE|-: every device's state decoded with QEMU's own description, the job of
// QEMU's scripts/analyze-migration.py -d state, on any image (compressed, sparse, stdin) with
// the libvirt header in place; --registers shows each vCPU (x86, aarch64) like `info registers`.
import type { DeviceState, StateEntry } from '../../codec/qemu/device-state.js';
import { formatAnalyzeMigration, formatStateValue, type StateSection, stateTree } from '../../codec/qemu/state-format.js';
import { SaveImageError } from '../../errors.js';
import { readImageState } from '../../jobs/read-state.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, exclusive, readOptionsOf, usageError } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../../io/endpoints.js';
import { type CliIo, print, printJson } from '../io.js';

const spec: CommandSpec = {
  name: 'state',
  summary: "Decode every device's state in a save image with QEMU's own description of it.",
  usage: 'savekit state IMAGE|- [--device NAME ...] [--json | --format analyze-migration] [--registers] [--quiet]',
  help: `Walks the QEMU stream (any payload format, a file or stdin; RAM is never held), keeps
each device section's bytes and decodes them with the JSON description QEMU writes at the end
of the stream: integers, booleans, buffers, timers, structs, arrays and subsections, field by
field. From stdin the device sections wait for the description (256 MiB at most).

Options:
  --device NAME        only this device (section name such as "cpu" or
                       "0000:00:01.1/ide", or vmsd name); repeat for more
  --json               savekit's tree: {machine, described, devices: [{id, name, instance,
                       version, vmsd, bytes, state}], ram, undecoded: [{id, name, ..., reason,
                       bytes (hex)}]}; integers up to 32 bits as numbers, wider ones as
                       decimal strings (exact), buffers as hex
  --format analyze-migration
                       exactly what QEMU's analyze-migration.py -d state prints for the
                       same stream (keys, value formatting, order, indentation)
  --registers          each vCPU's registers (x86 or aarch64), laid out like QEMU's
                       'info registers'
                       (with --json: one object per vCPU, values as hex strings)

An image whose stream has no description (QEMU can be told not to write one) lists each
device's raw bytes and says why they cannot be decoded; --format analyze-migration and
--registers then fail with ERR_BAD_STREAM.

${QUIET_HELP}
${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION, device: { type: 'string', multiple: true }, format: { type: 'string' }, registers: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  choices: { format: ['analyze-migration'] },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const format = values.format;
    if (format !== undefined && format !== 'analyze-migration') throw usageError(spec, `--format takes analyze-migration, not ${JSON.stringify(format)}`);
    exclusive(spec, values, 'json', 'format');
    exclusive(spec, values, 'registers', 'format');
    const devices = (values.device as unknown as string[] | undefined) ?? [];
    const state = await withProgress(io, values, (hooks) =>
      withSource(io, positionals[0]!, (source) => readImageState(source, { readOptions: readOptionsOf(spec, values), devices: values.registers ? [...devices, 'cpu', 'cpu_common'] : devices, ...hooks })),
    );
    const decoded = state.sections.filter((section): section is Extract<StateSection, { state: DeviceState }> => 'state' in section);
    if ((format || values.registers) && state.missingDescription) {
      throw new SaveImageError('ERR_BAD_STREAM', `cannot decode the device state: ${state.missingDescription}`);
    }
    if (values.registers) return printRegisters(io, decoded.map((section) => section.state), values.json === true);
    if (format) {
      await print(io, formatAnalyzeMigration(state.sections));
      return 0;
    }
    if (values.json) {
      const ram = state.sections.find((section) => 'ramBlocks' in section);
      await printJson(io, {
        machine: state.walk.summary.machine,
        described: state.missingDescription === null,
        reason: state.missingDescription,
        ram: ram && 'ramBlocks' in ram ? ram.ramBlocks : [],
        devices: decoded.map(({ state: device }) => ({
          id: device.sectionId,
          name: device.name,
          instance: device.instance,
          version: device.version,
          vmsd: device.vmsd,
          state: stateTree(device.entries),
        })),
        undecoded: state.undecoded.map(({ bytes, ...rest }) => ({ ...rest, length: bytes.length, bytes: bytes.toString('hex') })),
      });
      return 0;
    }
    const lines: string[] = [];
    for (const { state: device } of decoded) {
      lines.push(`${device.name} (section ${device.sectionId}, instance ${device.instance}, version ${device.version}${device.vmsd && device.vmsd !== device.name ? `, vmsd ${device.vmsd}` : ''})`);
      listEntries(lines, device.entries, '  ', '');
    }
    for (const section of state.undecoded) {
      lines.push(`${section.name} (section ${section.id}, instance ${section.instance}, version ${section.version}): ${section.bytes.length} bytes, not decoded: ${section.reason}`);
      for (let at = 0; at < section.bytes.length; at += 32) lines.push(`  ${at.toString(16).padStart(6, '0')}  ${section.bytes.subarray(at, at + 32).toString('hex').replace(/(..)(?!$)/g, '$1 ')}`);
    }
    await print(io, `${lines.join('\n')}\n`);
    return 0;
  },
};

/** One line per value: `name[i].field = value`, subsections as `name/sub:` headings. */
function listEntries(lines: string[], entries: StateEntry[], indent: string, prefix: string): void {
  for (const entry of entries) {
    const name = `${prefix}${entry.name}${entry.element === undefined ? '' : `[${entry.element}]`}`;
    const value = entry.value;
    if (value.kind === 'subsection') {
      lines.push(`${indent}${entry.name} (subsection, version ${value.version})`);
      listEntries(lines, value.entries, `${indent}  `, '');
    } else if (value.kind === 'struct') {
      listEntries(lines, value.entries, indent, `${name}.`);
    } else {
      lines.push(`${indent}${name} = ${formatStateValue(value)}`);
    }
  }
}

async function printRegisters(io: CliIo, devices: DeviceState[], json: boolean): Promise<number> {
  // Loaded only here: a plain `state` need not pay for it (the command's start-up is most of
  // its time on small images).
  const { formatVcpuRegisters, vcpuRegistersJson, vcpuRegistersOf } = await import('../../codec/qemu/vcpu-registers.js');
  const registers = vcpuRegistersOf(devices, 'no registers to show');
  if (json) await printJson(io, { cpus: registers.map(vcpuRegistersJson) });
  else await print(io, registers.map((r) => `CPU#${r.cpu}\n${formatVcpuRegisters(r)}`).join('\n'));
  return 0;
}
