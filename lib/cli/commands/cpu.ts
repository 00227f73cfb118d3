// savekit cpu IMAGE: the guest CPU as defined (domain XML) against the CPU QEMU started
// (the cookie). Answers whether the image restores where only the definition is seen.
import { compareCpu, type CpuComparison, type CpuDefinition } from '../../xml/cpu.js';
import { parseXml } from '../../xml/parse.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { openImage } from '../image-source.js';
import { print, printJson } from '../io.js';

const spec: CommandSpec = {
  name: 'cpu',
  summary: 'Compare the CPU the domain XML defines with the CPU QEMU actually started (the cookie).',
  usage: 'savekit cpu IMAGE [--json]',
  help: `Prints the defined and started CPU models, check modes and the features added,
removed or changed, with a verdict: whether the guest restores with the same CPU on a
host or libvirt that sees only the domain XML. Exit status 0 either way.

${COMMON_HELP}`,
  options: COMMON_OPTIONS,
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const image = await openImage(io, spec, values, positionals[0]!);
    const { xml, cookie } = image.region;
    const domain = parseXml(xml.text, { what: 'domain XML', offset: xml.offset });
    const cookieTree = cookie && cookie.length > 0 ? parseXml(cookie.text, { what: 'cookie', offset: cookie.offset }) : null;
    const comparison = compareCpu(domain, cookieTree);
    if (values.json) await printJson(io, comparison);
    else await print(io, formatComparison(comparison));
    return 0;
  },
};

function formatComparison(c: CpuComparison): string {
  const lines = [`defined: ${describe(c.defined, 'no <cpu> element: the hypervisor default')}`, `started: ${describe(c.started, 'not recorded (no CPU in the cookie)')}`];
  for (const f of c.added) lines.push(`  + ${f.name} (${f.policy})`);
  for (const f of c.removed) lines.push(`  - ${f.name} (${f.policy})`);
  for (const f of c.changed) lines.push(`  ~ ${f.name} (${f.from} -> ${f.to})`);
  lines.push(`${c.portable ? 'portable' : 'NOT portable'}: ${c.verdict}`);
  return `${lines.join('\n')}\n`;
}

function describe(cpu: CpuDefinition | null, absent: string): string {
  if (cpu === null) return absent;
  const attributes = [cpu.match && `match ${cpu.match}`, cpu.check && `check ${cpu.check}`].filter(Boolean).join(', ');
  return `${cpu.mode ?? 'custom'} ${cpu.model ?? '(no model)'}${attributes ? ` (${attributes})` : ''}, ${cpu.features.length} features`;
}
