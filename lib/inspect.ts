// What `savekit info` reports about a prologue: every header field, the layout and soft
// anomalies. Pure (codec and xml only), so library users get the same object as --json.
import { MAX_VERSION } from './constants.js';
import { formatName, isComplete } from './codec/header.js';
import { describePayloadMismatch } from './codec/payload-signature.js';
import type { SaveImagePrologue } from './codec/prologue.js';
import type { PayloadSeal } from './codec/seal.js';
import { SaveImageError } from './errors.js';
import { domainIdentity, type DomainIdentity } from './xml/domain.js';
import { parseXml } from './xml/parse.js';

/** The `info --json` object. Its keys are a public contract: add, never rename. */
export interface ImageInfo {
  magic: string;
  complete: boolean;
  version: number;
  byteOrder: 'le' | 'be';
  dataLen: number;
  wasRunning: boolean;
  format: string;
  formatCode: number;
  cookieOffset: number;
  unused: number[];
  payloadOffset: number;
  /** Payload bytes in the file; null when read from a stream. */
  payloadLength: number | null;
  xmlLength: number;
  cookieLength: number | null;
  slack: number;
  blocks: Array<{ root: string | null; offset: number; length: number }>;
  sealed: boolean;
  seal: PayloadSeal | null;
  domain: DomainIdentity | null;
  warnings: string[];
}

export interface InspectContext {
  /** Payload bytes at hand without further reading (may be empty). */
  payloadHead: Buffer;
  payloadLength: number | null;
}

export function inspectPrologue(image: SaveImagePrologue, context: InspectContext): ImageInfo {
  const { header, region } = image;
  const warnings = [...region.warnings];
  const name = formatName(header.format);
  if (!isComplete(header)) warnings.push(`the magic is ${header.magic}: the image was never finished, libvirt refuses it`);
  if (name === null) warnings.push(`unknown format code ${header.format}: libvirt fails on restore (Invalid compressed save format ${header.format})`);
  if (header.version < 2 && header.format !== 0) warnings.push(`version ${header.version} images have no format field: libvirt treats the payload as raw`);
  if (header.version === MAX_VERSION) warnings.push('version 3 is savekit\'s versioned layout: libvirt refuses it until converted with `savekit set --version 2`');
  const mismatch = describePayloadMismatch(header.format, context.payloadHead);
  if (mismatch) warnings.push(mismatch);
  if (context.payloadLength === 0) warnings.push('the file ends at the payload offset: there is no payload');
  const domain = identityOrWarning(image, warnings);
  if (region.cookie && region.cookie.root === null) warnings.push(`the cookie at offset ${region.cookie.offset} is not well-formed XML`);
  return {
    magic: header.magic,
    complete: isComplete(header),
    version: header.version,
    byteOrder: header.byteOrder,
    dataLen: header.dataLen,
    wasRunning: header.wasRunning !== 0,
    format: name ?? 'unknown',
    formatCode: header.format,
    cookieOffset: header.cookieOffset,
    unused: [...header.unused],
    payloadOffset: image.payloadOffset,
    payloadLength: context.payloadLength,
    xmlLength: region.xml.length,
    cookieLength: region.cookie ? region.cookie.length : null,
    slack: region.slack,
    blocks: region.blocks.map((block) => ({ root: block.root, offset: block.offset, length: block.length })),
    sealed: image.seal !== null,
    seal: image.seal,
    domain,
    warnings,
  };
}

function identityOrWarning(image: SaveImagePrologue, warnings: string[]): DomainIdentity | null {
  const xml = image.region.xml;
  try {
    return domainIdentity(parseXml(xml.text, { what: 'domain XML', offset: xml.offset }));
  } catch (error) {
    if (!SaveImageError.is(error)) throw error;
    warnings.push(error.message);
    return null;
  }
}
