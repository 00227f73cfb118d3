// savekit dumpxml IMAGE: a stored XML block exactly as stored (secrets hidden unless asked),
// like `virsh save-image-dumpxml`, but without libvirt's re-formatting.
import type { XmlBlock } from '../../codec/blocks.js';
import { SaveImageError } from '../../errors.js';
import { redactSecrets } from '../../xml/redact.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, exclusive, integerOption } from '../args.js';
import type { Command } from '../command.js';
import { openImage, type OpenedImage } from '../image-source.js';
import { print, printJson } from '../io.js';

const spec: CommandSpec = {
  name: 'dumpxml',
  summary: 'Print the domain XML stored in a save image, byte for byte (or the cookie, or any block).',
  usage: 'savekit dumpxml IMAGE [--cookie | --block N] [--security-info] [--json]',
  help: `Options:
  --cookie             print libvirt's cookie (the CPU QEMU started, slirp state) instead
  --block N            print block N of the data region (0 is the domain XML)
  --security-info      keep secrets (passwd attributes); hidden by default, as virsh does

${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, cookie: { type: 'boolean' }, block: { type: 'string' }, 'security-info': { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    exclusive(spec, values, 'cookie', 'block');
    const index = integerOption(spec, values, 'block');
    const image = await openImage(io, spec, values, positionals[0]!);
    const block = pickBlock(image, values.cookie === true, index);
    const bytes = values['security-info'] ? block.bytes : redactedBytes(block);
    if (values.json) {
      await printJson(io, { index: block.index, root: block.root, offset: block.offset, length: block.length, text: bytes.toString('utf8') });
    } else {
      await print(io, bytes);
    }
    return 0;
  },
};

function pickBlock(image: OpenedImage, cookie: boolean, index: number | undefined): XmlBlock {
  const { region } = image;
  if (cookie) {
    if (region.cookie) return region.cookie;
    throw new SaveImageError('ERR_NO_BLOCK', `${image.label} has no cookie (cookieOffset at offset 32 is ${image.header.cookieOffset})`, { offset: 32 });
  }
  const block = region.blocks[index ?? 0];
  if (block) return block;
  throw new SaveImageError('ERR_NO_BLOCK', `${image.label} has ${region.blocks.length} blocks; there is no block ${index}`);
}

/** The stored bytes with secrets cut; the very same bytes when there is nothing to hide. */
function redactedBytes(block: XmlBlock): Buffer {
  const redacted = redactSecrets(block.text);
  return redacted === block.text ? block.bytes : Buffer.from(redacted, 'utf8');
}
