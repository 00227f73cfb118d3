// savekit diff A B: what changed between two images, for people: header fields, the domain XML
// and the cookie (unified diffs of the stored text), device sections added, removed or changed
// (field by field where both streams describe them), and RAM per block; --map draws it.
import { createTwoFilesPatch } from 'diff';
import { drawBlock, type BlockChanges } from '../../codec/delta/page-map.js';
import type { XmlBlock } from '../../codec/blocks.js';
import { diffImages, type ImageDiff } from '../../jobs/diff.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, readOptionsOf, usageError } from '../args.js';
import type { Command } from '../command.js';
import { type Endpoint, openInputs, sourceOf, transferFailure } from '../../io/endpoints.js';
import { print, printJson } from '../io.js';
import { formatBytes, QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';

const spec: CommandSpec = {
  name: 'diff',
  summary: 'What changed between two save images: header, XML, device state field by field, RAM page by page.',
  usage: 'savekit diff A B [--json] [--map] [--quiet]',
  help: `A and B may have any payload format; one of them may be - (stdin). Both are read once.
Prints the header fields that differ, unified diffs of the stored domain XML and cookie, the
device sections added, removed and changed (each changed field with its value in A and in B,
decoded as 'savekit state' does, where both streams carry QEMU's description), and for each RAM
block of B its pages: equal, changed, zero -> data, data -> zero, and unpaired (no page of A at
that place in step: a block A lacks, or a page sent twice).

Options:
  --map                draw each RAM block as rows of 64 cells, a picture of where the guest
                       wrote: '.' no page changed, ':' under a quarter, '+' under three
                       quarters, '#' more
  --json               {identical, header: [{field, a, b}], xml: {changed, diff}, cookie:
                       {changed, diff}, devices: {same, changed: [{name, instance, bytesA,
                       bytesB, fields: [{field, a, b}] | null}], added, removed}, ram: [{name,
                       pages, equal, changed, zeroToData, dataToZero, unpaired, ranges:
                       [{offset, pages}]}], removedBlocks: [{name, length}]}
${QUIET_HELP}
${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION, map: { type: 'boolean' } },
  positionals: { min: 2, max: 2 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const [aArg, bArg] = positionals as [string, string];
    if (aArg === '-' && bArg === '-') throw usageError(spec, 'A and B cannot both be stdin');
    const [inputA, inputB] = (await openInputs(io, [aArg, bArg])) as [Endpoint, Endpoint];
    try {
      const result = await withProgress(io, values, (hooks) =>
        diffImages(sourceOf(io, inputA), sourceOf(io, inputB), { readOptions: readOptionsOf(spec, values), ...hooks }),
      );
      const report = diffReport(result, aArg, bArg);
      if (values.json) await printJson(io, report);
      else await print(io, formatDiff(report, result, values.map === true));
      return 0;
    } catch (error) {
      throw transferFailure(inputA, inputB) ?? error;
    } finally {
      inputA.close();
      inputB.close();
    }
  },
};

function textDiff(name: string, a: XmlBlock | null, b: XmlBlock | null, labelA: string, labelB: string): { changed: boolean; diff: string } {
  const before = a?.text ?? '';
  const after = b?.text ?? '';
  if (before === after) return { changed: false, diff: '' };
  return { changed: true, diff: createTwoFilesPatch(`${labelA} (${name})`, `${labelB} (${name})`, before, after, '', '', { context: 3 }) };
}

/** The `diff --json` object. Its keys are a public contract: add, never rename. */
function diffReport(result: ImageDiff, labelA: string, labelB: string) {
  const xml = textDiff('domain XML', result.a.region.xml, result.b.region.xml, labelA, labelB);
  const cookie = textDiff('cookie', result.a.region.cookie, result.b.region.cookie, labelA, labelB);
  const ram = result.ram.map((block) => ({ name: block.name, pages: block.pages, ...block.counts, ranges: block.ranges }));
  const identical =
    result.header.length === 0 &&
    !xml.changed &&
    !cookie.changed &&
    result.devices.changed.length + result.devices.added.length + result.devices.removed.length === 0 &&
    result.removedBlocks.length === 0 &&
    ram.every((block) => block.pages === block.equal);
  return { identical, header: result.header, xml, cookie, devices: result.devices, ram, removedBlocks: result.removedBlocks };
}

function formatDiff(report: ReturnType<typeof diffReport>, result: ImageDiff, map: boolean): string {
  const lines: string[] = [];
  lines.push(report.header.length === 0 ? 'header:  the same' : `header:  ${report.header.map((c) => `${c.field} ${c.a} -> ${c.b}`).join(', ')}`);
  lines.push(report.xml.changed ? `domain XML: changed\n${report.xml.diff.trimEnd()}` : 'domain XML: the same');
  lines.push(report.cookie.changed ? `cookie: changed\n${report.cookie.diff.trimEnd()}` : 'cookie: the same');
  const { devices } = report;
  lines.push(`devices: ${devices.same.length} the same, ${devices.changed.length} changed, ${devices.added.length} added, ${devices.removed.length} removed`);
  for (const device of devices.added) lines.push(`  + ${device.name} (instance ${device.instance})`);
  for (const device of devices.removed) lines.push(`  - ${device.name} (instance ${device.instance})`);
  for (const device of devices.changed) {
    lines.push(`  ~ ${device.name} (instance ${device.instance}): ${device.fields === null ? `${device.bytesA} -> ${device.bytesB} bytes (no description to decode them)` : `${device.fields.length} field${device.fields.length === 1 ? '' : 's'}`}`);
    for (const field of device.fields ?? []) lines.push(`      ${field.field}: ${shorten(field.a)} -> ${shorten(field.b)}`);
  }
  lines.push('RAM:');
  for (const block of result.ram) lines.push(...formatBlock(block, map));
  for (const block of report.removedBlocks) lines.push(`  ${block.name}: only in A (${formatBytes(block.length)})`);
  return `${lines.join('\n')}\n`;
}

function formatBlock(block: BlockChanges, map: boolean): string[] {
  const c = block.counts;
  const line = `  ${block.name.padEnd(20)} ${String(block.pages).padStart(9)} pages: ${c.equal} equal, ${c.changed} changed, ${c.zeroToData} zero -> data, ${c.dataToZero} data -> zero${c.unpaired ? `, ${c.unpaired} unpaired` : ''}`;
  if (!map) return [line];
  const cellBytes = block.pagesPerCell * block.pageSize;
  const rows = drawBlock(block).map((row, i) => `    ${(i * 64 * cellBytes).toString(16).padStart(10, '0')} |${row}|`);
  return [line, `    each cell ${formatBytes(cellBytes)}: '.' none changed, ':' < 1/4, '+' < 3/4, '#' more`, ...rows];
}

/** A value as one short line (long buffers cut; --json has them whole). */
function shorten(value: string | null): string {
  if (value === null) return '(absent)';
  return value.length <= 72 ? value : `${value.slice(0, 64)}... (${value.length / 2} bytes)`;
}
