// savekit check IMAGE|-: everything a restore needs, in one pass over the image.
import { createXxh64 } from '../../hash.js';
import { assertSealHolds } from '../../pipe/rewrite.js';
import { walkImage } from '../../pipe/walk-image.js';
import { parseXml } from '../../xml/parse.js';
import { formatName } from '../../codec/header.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, readOptionsOf } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../fd-args.js';
import { print, printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';
import { walkReport } from './walk.js';

const spec: CommandSpec = {
  name: 'check',
  summary: 'Check that a save image will restore: header, XML, payload format, the whole QEMU stream, the seal.',
  usage: 'savekit check IMAGE|- [--json] [--quiet]',
  help: `In one pass: the header and data region checks, the domain XML and cookie well-formed,
the payload starting as its format says (ERR_PAYLOAD_MISMATCH: the gzip flag over a raw payload
that makes virsh restore hang), the QEMU stream walkable to its EOF byte (ERR_TRUNCATED,
ERR_BAD_STREAM with the offset and section; a damaged compressed stream), and the seal when
there is one (ERR_SEAL_MISMATCH). Exit 0 only when all hold; the first failure is reported.

${QUIET_HELP}
${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION },
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const passed: string[] = [];
    const hasher = await createXxh64();
    const walk = await withProgress(io, values, (hooks) => withSource(io, positionals[0]!, (source) =>
      walkImage(source, {
        readOptions: readOptionsOf(spec, values),
        ...hooks,
        onPrologue(image) {
          passed.push(`header and data region: version ${image.header.version}, ${formatName(image.header.format)} payload at offset ${image.payloadOffset}`);
          const { xml, cookie } = image.region;
          parseXml(xml.text, { what: 'the domain XML', offset: xml.offset });
          if (cookie && cookie.length > 0) parseXml(cookie.text, { what: 'the cookie', offset: cookie.offset });
          passed.push(`domain XML${cookie ? ' and cookie' : ''} well-formed`);
          return image.seal ? (chunk) => hasher.update(chunk) : null; // hash only what has a seal
        },
      }),
    ));
    const { image, summary } = walk;
    passed.push(
      summary.eof
        ? `QEMU stream complete: ${summary.ramBlocks.length} RAM blocks, ${summary.devices.length} devices (${summary.deviceSizing}), EOF at offset ${summary.endOffset}`
        : `QEMU stream walked to an opaque device tail from offset ${summary.opaqueFrom} (no sizes, no footers: its end cannot be confirmed)`,
    );
    if (image.seal) {
      assertSealHolds(image.seal, image.payloadOffset, walk.payloadLength, hasher.digestHex());
      passed.push(`payload matches its seal (xxh64 ${image.seal.digest})`);
    }
    if (values.json) await printJson(io, { ok: true, checks: passed, walk: walkReport(summary) });
    else await print(io, `${passed.map((line) => `ok  ${line}`).join('\n')}\n`);
    return 0;
  },
};
