// savekit walk IMAGE|-: what the QEMU migration stream inside holds, read lazily.
import type { WalkSummary } from '../../codec/qemu/walker.js';
import { walkImage } from '../../jobs/walk-image.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, readOptionsOf } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../../io/endpoints.js';
import { print, printJson } from '../io.js';
import { formatBytes } from '../progress.js';

const spec: CommandSpec = {
  name: 'walk',
  summary: 'Walk the QEMU migration stream of a save image: machine, capabilities, RAM blocks, sections, devices.',
  usage: 'savekit walk IMAGE|- [--json] [--quiet]',
  help: `Reads every payload format (raw, gzip, bzip2, xz, lzop, zstd, sparse), skipping page
bodies and device state without keeping them. Device sections are delimited by the sizes in
QEMU's trailing JSON description (read from a file's tail, or from a pipe or a compressed
payload by reading ahead from the first device section to the end, 16 MiB at most), else by
validated section footers, else the rest is kept as an opaque tail: "deviceSizing" says which.

JSON keys: streamVersion, machine, capabilities, ramBlocks ([{name, length, pages, zeroPages,
dataPages}]), sections ([{id, name, instance, version, kind, bytes}]), devices, deviceSizing
("json", "footers" or "opaque"), eof, endOffset, trailingBytes.

${QUIET_HELP}
${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION },
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const walk = await withProgress(io, values, (hooks) => withSource(io, positionals[0]!, (source) => walkImage(source, { readOptions: readOptionsOf(spec, values), ...hooks })));
    const report = walkReport(walk.summary);
    if (values.json) await printJson(io, report);
    else await print(io, formatWalk(report));
    return 0;
  },
};

/** The `walk --json` object. Its keys are a public contract: add, never rename. */
export function walkReport(summary: WalkSummary) {
  return {
    streamVersion: summary.streamVersion,
    machine: summary.machine,
    capabilities: summary.capabilities,
    memSize: summary.memSize,
    ramBlocks: summary.ramBlocks.map(({ name, length, pages, zeroPages, dataPages }) => ({ name, length, pages, zeroPages, dataPages })),
    sections: summary.sections,
    devices: summary.devices,
    commands: summary.commands,
    deviceSizing: summary.deviceSizing,
    footers: summary.footers,
    eof: summary.eof,
    endOffset: summary.endOffset,
    trailingBytes: summary.trailingBytes,
    vmdescription: summary.vmdescription !== null,
  };
}

function formatWalk(report: ReturnType<typeof walkReport>): string {
  const lines = [
    `stream:        QEVM version ${report.streamVersion}, machine ${report.machine ?? '(no configuration section)'}`,
    `capabilities:  ${report.capabilities.join(', ') || 'none'}`,
    `RAM:           ${formatBytes(report.memSize ?? 0)} in ${report.ramBlocks.length} blocks`,
    ...report.ramBlocks.map((b) => `  ${b.name.padEnd(24)} ${formatBytes(b.length).padStart(10)}  ${b.dataPages} data pages, ${b.zeroPages} zero pages of ${b.pages}`),
    `sections:      ${report.sections.length} (${report.sections.filter((s) => s.kind === 'iterative').length} iterative), footers ${report.footers ? 'on' : 'off'}`,
    `devices:       ${report.devices.length}, delimited by ${report.deviceSizing === 'json' ? "QEMU's JSON description" : report.deviceSizing === 'footers' ? 'validated footers' : 'nothing (opaque tail)'}`,
    `  ${report.devices.join(', ')}`,
    `commands:      ${report.commands.join(', ') || 'none'}`,
    `end:           ${report.eof ? `EOF byte, stream ends at offset ${report.endOffset}` : 'no EOF byte reached'}${report.vmdescription ? ', then the JSON description' : ''}${report.trailingBytes ? `, ${report.trailingBytes} trailing bytes` : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}
