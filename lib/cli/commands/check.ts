// savekit check IMAGE|-: everything a restore needs, in one pass over the image.
import { createXxh64 } from '../../hash.js';
import { assertSealHolds } from '../../jobs/rewrite.js';
import { walkImage } from '../../jobs/walk-image.js';
import { parseXml, type XmlElement } from '../../xml/parse.js';
import { domainMachine } from '../../xml/domain.js';
import { machineSupport, type MachineSupport } from '../../jobs/qemu-machines.js';
import { formatName } from '../../codec/header.js';
import { COMMON_HELP, COMMON_OPTIONS, type CommandSpec, readOptionsOf } from '../args.js';
import type { Command } from '../command.js';
import { withSource } from '../../io/endpoints.js';
import { print, printJson } from '../io.js';
import { QUIET_HELP, QUIET_OPTION, withProgress } from '../progress.js';
import { walkReport } from './walk.js';

const spec: CommandSpec = {
  name: 'check',
  summary: 'Check that a save image will restore: header, XML, payload format, the whole QEMU stream, the seal.',
  usage: 'savekit check IMAGE|- [--qemu PROGRAM] [--json] [--quiet]',
  help: `In one pass: the header and data region checks, the domain XML and cookie well-formed,
the payload starting as its format says (ERR_PAYLOAD_MISMATCH: the gzip flag over a raw payload
that makes virsh restore hang), the QEMU stream walkable to its EOF byte (ERR_TRUNCATED,
ERR_BAD_STREAM with the offset and section; a damaged compressed stream), and the seal when
there is one (ERR_SEAL_MISMATCH). Exit 0 only when all hold; the first failure is reported.

Then, for this machine: whether the QEMU libvirt would run here (qemu-system-<arch> of the
domain XML's <type arch=...>, found on PATH) offers the machine type the stream names (its
'-machine help' lists it). A QEMU that lacks it cannot restore the image (a newer QEMU drops old
machine types after deprecation): said as a warning, not a failure of the image. JSON key
"machine": {machine, arch, program, qemu (its version line, null when not installed), offered}.

Options:
  --qemu PROGRAM       ask this QEMU instead (the <emulator> libvirt will run, a newer QEMU
                       installed elsewhere, or a wrapper that runs another host's)
${QUIET_HELP}
${COMMON_HELP}`,
  options: { ...COMMON_OPTIONS, ...QUIET_OPTION, qemu: { type: 'string' } },
  positionals: { min: 1, max: 1 },
};

export const command: Command = {
  spec,
  async run({ values, positionals }, io) {
    const passed: string[] = [];
    const hasher = await createXxh64();
    let domain: XmlElement | null = null;
    const walk = await withProgress(io, values, (hooks) => withSource(io, positionals[0]!, (source) =>
      walkImage(source, {
        readOptions: readOptionsOf(spec, values),
        ...hooks,
        onPrologue(image) {
          passed.push(`header and data region: version ${image.header.version}, ${formatName(image.header.format)} payload at offset ${image.payloadOffset}`);
          const { xml, cookie } = image.region;
          domain = parseXml(xml.text, { what: 'the domain XML', offset: xml.offset });
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
    const support = machineSupportOf(domain!, summary.machine, typeof values.qemu === 'string' ? values.qemu : undefined);
    const warnings = support?.offered === false ? [`the machine type ${support.machine} is not offered by ${values.qemu ? '' : "this machine's "}${support.program} (${support.qemu}): virsh restore with it would fail; restore where a QEMU offers it`] : [];
    if (support?.offered) passed.push(`machine type ${support.machine}: offered by ${values.qemu ? '' : "this machine's "}${support.program} (${support.qemu})`);
    if (values.json) await printJson(io, { ok: true, checks: passed, warnings, machine: support, walk: walkReport(summary) });
    else {
      const notInstalled = support && support.offered === null ? [`--  machine type ${support.machine}: no ${support.program} on this machine to ask`] : [];
      await print(io, `${[...passed.map((line) => `ok  ${line}`), ...warnings.map((line) => `warning: ${line}`), ...notInstalled].join('\n')}\n`);
    }
    return 0;
  },
};

/** The stream's machine type (else the XML's) against this machine's QEMU; null without one. */
function machineSupportOf(domain: XmlElement, streamMachine: string | null, program: string | undefined): MachineSupport | null {
  const { arch, machine } = domainMachine(domain);
  const name = streamMachine ?? machine;
  return arch === null || name === null ? null : machineSupport(name, arch, program);
}
