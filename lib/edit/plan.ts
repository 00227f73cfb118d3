// What an edit writes, computed before anything is written. In place (define, set): the new
// prologue, same length as the old (libvirt keeps dataLen and the file size), or null when
// nothing changes; this mirrors virQEMUSaveDataWrite as qemuSaveImageDefineXML uses it
// (FORMAT.md section 7). Streaming (rewrite): a prologue of any size. Pure.
import { MAGIC_SAVE, SAVE_SLACK_BYTES } from '../constants.js';
import { decodeHeader, encodeHeaderInto, type SaveImageHeader } from '../codec/header.js';
import type { DataRegion } from '../codec/blocks.js';
import { blocksLength, encodePrologue, layoutRegion, trailingBlocks } from '../codec/layout.js';
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
  checkNewXml(image, xml, options.force === true);
  const wasRunning = options.wasRunning ?? header.wasRunning;
  if (xml.equals(region.xml.bytes) && wasRunning === header.wasRunning) return null;
  return relayout({ ...header, wasRunning }, [xml, ...trailingBlocks(region, header.version)], header.dataLen);
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
  const blocks = [region.xml.bytes, ...carriedBlocks(region, header.version, version, options.dropExtensions === true)];
  return relayout({ ...header, version, wasRunning }, blocks, header.dataLen);
}

export interface RewriteOptions extends SetOptions {
  /** A new domain XML; the stored one is kept when absent. */
  xml?: Buffer;
  /** NUL bytes after the blocks (default 65536, as libvirt). */
  slack?: number;
  force?: boolean;
}

/** The prologue of a rewritten image: dataLen fits the blocks plus the slack; Save magic. */
export function planRewrite(image: SaveImagePrologue, options: RewriteOptions): Buffer {
  const { header, region } = image;
  if (options.xml) checkNewXml(image, options.xml, options.force === true);
  const version = options.version ?? header.version;
  const blocks = [options.xml ?? region.xml.bytes, ...carriedBlocks(region, header.version, version, options.dropExtensions === true)];
  const dataLen = blocksLength(blocks) + (options.slack ?? SAVE_SLACK_BYTES);
  return relayout({ ...header, magic: MAGIC_SAVE, version, dataLen, wasRunning: options.wasRunning ?? header.wasRunning }, blocks, dataLen);
}

/** Refuses XML that is not well-formed, and (unless forced) one that changes the guest's ABI. */
function checkNewXml(image: SaveImagePrologue, xml: Buffer, force: boolean): void {
  const proposed = parseXml(xml.toString('utf8'), { what: 'the new domain XML', offset: 0 });
  if (force) return;
  const stored = parseXml(image.region.xml.text, { what: 'the stored domain XML', offset: image.region.xml.offset });
  assertSameAbi(domainAbi(stored), domainAbi(proposed));
}

/** The blocks after the domain XML that survive a change from version `from` to `to`. */
function carriedBlocks(region: DataRegion, from: number, to: number, dropExtensions: boolean): Buffer[] {
  if (from !== to && (![2, 3].includes(to) || ![2, 3].includes(from))) {
    throw new SaveImageError('ERR_UNSUPPORTED_VERSION', `savekit converts between versions 2 and 3 only (the image is version ${from}, ${to} was asked)`, {
      offset: 16,
    });
  }
  // An empty block ends a version 3 sequence, so an empty v2 cookie has nothing to carry.
  if (to === 3) return trailingBlocks(region, from).filter((block) => block.length > 0);
  if (from !== 3) return trailingBlocks(region, from);
  const others = region.blocks.slice(1).filter((block) => block !== region.cookie);
  if (others.length > 0 && !dropExtensions) {
    const names = others.map((block) => `<${block.root ?? '?'}> at offset ${block.offset}`).join(', ');
    throw new SaveImageError('ERR_EXTENSIONS_PRESENT', `version 2 holds only the domain XML and the cookie; converting would drop ${names} (use --drop-extensions)`, {
      offset: others[0]!.offset,
    });
  }
  return region.cookie ? [region.cookie.bytes] : [];
}

function relayout(header: SaveImageHeader, blocks: Buffer[], dataLen: number): Buffer {
  const layout = layoutRegion(blocks, dataLen);
  const prologue = encodePrologue({ ...header, dataLen, cookieOffset: layout.cookieOffset }, layout.region);
  decodeHeader(prologue, { allowPartial: true, maxDataLen: Number.MAX_SAFE_INTEGER }); // never write what we could not read back
  return prologue;
}
