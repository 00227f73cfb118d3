// savekit info IMAGE: every header field and the layout of the data region.
import { HEADER_BYTES } from '../../constants.js';
import { type ImageInfo, inspectPrologue } from '../../inspect.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec } from '../args.js';
import type { Command } from '../command.js';
import { openImage } from '../image-source.js';
import { print, printJson } from '../io.js';

const spec: CommandSpec = {
  name: 'info',
  summary: 'Show the header fields and the layout of a save image (reads the header and the data region only).',
  usage: 'savekit info IMAGE [--json] [--allow-partial]',
  help: COMMON_HELP,
  options: COMMON_OPTIONS,
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const image = await openImage(io, spec, values, positionals[0]!);
    const info = inspectPrologue(image, image);
    if (values.json) await printJson(io, info);
    else await print(io, formatInfo(image.label, info));
    return 0;
  },
};

function formatInfo(label: string, info: ImageInfo): string {
  const rows: Array<[string, string]> = [
    ['image', label],
    ['magic', `${info.magic} (${info.complete ? 'complete' : 'partial'})`],
    ['version', `${info.version} (${info.byteOrder === 'le' ? 'little' : 'big'}-endian)`],
    ['format', `${info.format} (${info.formatCode})`],
    ['was running', info.wasRunning ? 'yes: libvirt resumes the guest on restore' : 'no: the guest stays paused on restore'],
    ['data region', `${info.dataLen} bytes at ${HEADER_BYTES}..${info.payloadOffset - 1}`],
    ['cookie offset', info.cookieOffset === 0 ? '0 (no cookie)' : String(info.cookieOffset)],
    ...info.blocks.map((block, i): [string, string] => [`  block ${i}`, `<${block.root ?? '?'}> ${block.length} bytes at ${block.offset}`]),
    ['  slack', `${info.slack} NUL bytes`],
    ['payload', `at ${info.payloadOffset}${info.payloadLength === null ? '' : `, ${info.payloadLength} bytes`}`],
    ['domain', info.domain ? `${info.domain.name ?? '?'} (${info.domain.uuid ?? 'no uuid'})` : 'unreadable'],
    ['seal', info.seal ? `xxh64 ${info.seal.digest} over ${info.seal.payloadLength} bytes` : 'none'],
    ['unused words', info.unused.every((w) => w === 0) ? 'all zero' : info.unused.join(' ')],
  ];
  const width = Math.max(...rows.map(([key]) => key.length)) + 2;
  const lines = rows.map(([key, value]) => `${`${key}:`.padEnd(width)}${value}`);
  for (const warning of info.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}
