// What an in-place edit writes, computed before anything is written: the new prologue, same
// length as the old (libvirt keeps dataLen and the file size), or null when nothing changes.
// Mirrors virQEMUSaveDataWrite as used by qemuSaveImageDefineXML (FORMAT.md section 7). Pure.
import { decodeHeader, encodeHeaderInto, type SaveImageHeader } from '../codec/header.js';
import { encodePrologue, layoutRegion, trailingBlocks } from '../codec/layout.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { SaveImageError } from '../errors.js';
import { assertSameAbi, domainAbi } from '../xml/domain.js';
import { parseXml } from '../xml/parse.js';

export interface DefineOptions {
  /** 1 for --running, 0 for --paused, undefined to keep the stored value. */
  wasRunning?: 0 | 1;
  /** Skip the ABI check (never the well-formedness check). */
  force?: boolean;
}

/** The prologue with `xml` as the domain XML, the cookie (or every extension) moved after it. */
export function planDefine(image: SaveImagePrologue, xml: Buffer, options: DefineOptions = {}): Buffer | null {
  const { header, region } = image;
  const proposed = parseXml(xml.toString('utf8'), { what: 'the new domain XML', offset: 0 });
  if (!options.force) {
    const stored = parseXml(region.xml.text, { what: 'the stored domain XML', offset: region.xml.offset });
    assertSameAbi(domainAbi(stored), domainAbi(proposed));
  }
  const wasRunning = options.wasRunning ?? header.wasRunning;
  if (xml.equals(region.xml.bytes) && wasRunning === header.wasRunning) return null;
  return relayout(header, [xml, ...trailingBlocks(region, header.version)], { wasRunning });
}

export interface SetOptions {
  wasRunning?: 0 | 1;
  /** 2 or 3. */
  version?: number;
  /** Allow 3 -> 2 to drop extension blocks other than the cookie. */
  dropExtensions?: boolean;
}

/** Header-level changes: the running flag and conversions between versions 2 and 3. */
export function planSet(image: SaveImagePrologue, options: SetOptions): Buffer | null {
  const { header, region } = image;
  const version = options.version ?? header.version;
  const wasRunning = options.wasRunning ?? header.wasRunning;
  if (version === header.version && wasRunning === header.wasRunning) return null;
  if (version === header.version) {
    // A flag alone: the header changes, the region stays byte for byte.
    const prologue = Buffer.from(image.prologueBytes);
    encodeHeaderInto({ ...header, wasRunning }, prologue, 0);
    return prologue;
  }
  if (![2, 3].includes(version) || ![2, 3].includes(header.version)) {
    throw new SaveImageError('ERR_UNSUPPORTED_VERSION', `savekit converts between versions 2 and 3 only (the image is version ${header.version}, ${version} was asked)`, {
      offset: 16,
    });
  }
  if (version === 3) {
    // An empty block ends a version 3 sequence, so an empty v2 cookie has nothing to carry.
    const blocks = [region.xml.bytes, ...trailingBlocks(region, header.version).filter((block) => block.length > 0)];
    return relayout({ ...header, version }, blocks, { wasRunning });
  }
  const others = region.blocks.slice(1).filter((block) => block !== region.cookie);
  if (others.length > 0 && !options.dropExtensions) {
    const names = others.map((block) => `<${block.root ?? '?'}> at offset ${block.offset}`).join(', ');
    throw new SaveImageError(
      'ERR_EXTENSIONS_PRESENT',
      `version 2 holds only the domain XML and the cookie; converting would drop ${names} (use --drop-extensions)`,
      { offset: others[0]!.offset },
    );
  }
  const blocks = [region.xml.bytes, ...(region.cookie ? [region.cookie.bytes] : [])];
  return relayout({ ...header, version }, blocks, { wasRunning });
}

function relayout(header: SaveImageHeader, blocks: Buffer[], changes: { wasRunning: number }): Buffer {
  const layout = layoutRegion(blocks, header.dataLen);
  const next: SaveImageHeader = { ...header, cookieOffset: layout.cookieOffset, wasRunning: changes.wasRunning };
  const prologue = encodePrologue(next, layout.region);
  decodeHeader(prologue, { allowPartial: true, maxDataLen: Number.MAX_SAFE_INTEGER }); // never write what we could not read back
  return prologue;
}
