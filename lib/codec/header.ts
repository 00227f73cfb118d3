// The 92-byte header of a libvirt QEMU save image: pure decode and encode, both byte orders.
// Mirrors virQEMUSaveHeader in libvirt src/qemu/qemu_saveimage.h and the checks of
// qemuSaveImageOpen (FORMAT.md sections 2 and 6). No I/O here.
import { Parser } from 'binary-parser';
import {
  FORMATS,
  type FormatName,
  HEADER_BYTES,
  MAGIC_BYTES,
  MAGIC_PART,
  MAGIC_SAVE,
  MAX_DATA_REGION_BYTES,
  MAX_VERSION,
  UNUSED_WORDS,
} from '../constants.js';
import { SaveImageError } from '../errors.js';

export type ByteOrder = 'le' | 'be';

/** The header as stored. Encoding it gives back the same 92 bytes. */
export interface SaveImageHeader {
  /** `LibvirtQemudSave` or `LibvirtQemudPart`. */
  magic: string;
  version: number;
  byteOrder: ByteOrder;
  /** Length of the data region (XML blocks and padding) that follows the header. */
  dataLen: number;
  /** Raw u32: libvirt resumes the guest after restore when it is non-zero. */
  wasRunning: number;
  /** Payload format code (libvirt's `format`, formerly `compressed`). */
  format: number;
  /** Offset of the cookie relative to the start of the data region; 0 when there is none. */
  cookieOffset: number;
  /** The 14 words libvirt never reads, kept verbatim (savekit keeps its seal there). */
  unused: number[];
}

export interface DecodeHeaderOptions {
  /** Accept the `LibvirtQemudPart` magic instead of failing with ERR_PARTIAL_IMAGE. */
  allowPartial?: boolean;
  /** Refuse a `dataLen` above this many bytes (guards readers that buffer the region). */
  maxDataLen?: number;
}

interface RawHeader {
  magic: string;
  version: number;
  dataLen: number;
  wasRunning: number;
  format: number;
  cookieOffset: number;
  unused: number[];
}

function compileHeaderParser(order: ByteOrder): (bytes: Buffer) => RawHeader {
  const parser = new Parser()
    .endianness(order === 'le' ? 'little' : 'big')
    .string('magic', { length: MAGIC_BYTES, encoding: 'latin1' })
    .uint32('version')
    .uint32('dataLen')
    .uint32('wasRunning')
    .uint32('format')
    .uint32('cookieOffset')
    .array('unused', { type: order === 'le' ? 'uint32le' : 'uint32be', length: UNUSED_WORDS });
  return (bytes) => parser.parse(bytes) as RawHeader;
}

const parseHeader: Record<ByteOrder, (bytes: Buffer) => RawHeader> = {
  le: compileHeaderParser('le'),
  be: compileHeaderParser('be'),
};

/**
 * The byte order of a header, from its version word: a value in 0..3 read little-endian wins,
 * else the byte-swapped value must be in 1..3 (libvirt swaps all five fields when version > 2).
 */
export function detectByteOrder(bytes: Buffer): ByteOrder | null {
  if (bytes.readUInt32LE(16) <= MAX_VERSION) return 'le';
  const swapped = bytes.readUInt32BE(16);
  return swapped >= 1 && swapped <= MAX_VERSION ? 'be' : null;
}

/** Decodes and validates a header, in libvirt's order of checks (FORMAT.md section 6). */
export function decodeHeader(bytes: Buffer, options: DecodeHeaderOptions = {}): SaveImageHeader {
  if (bytes.length < HEADER_BYTES) {
    throw new SaveImageError(
      'ERR_TRUNCATED',
      `failed to read qemu header: the image ends at offset ${bytes.length}, inside the ${HEADER_BYTES}-byte header`,
      { offset: bytes.length, expected: HEADER_BYTES, actual: bytes.length },
    );
  }
  const magic = bytes.toString('latin1', 0, MAGIC_BYTES);
  if (magic === MAGIC_PART) {
    if (!options.allowPartial) {
      throw new SaveImageError(
        'ERR_PARTIAL_IMAGE',
        `save image is incomplete: magic at offset 0 is ${MAGIC_PART} (the writer did not finish); use --allow-partial to read it anyway`,
        { offset: 0, expected: MAGIC_SAVE, actual: magic },
      );
    }
  } else if (magic !== MAGIC_SAVE) {
    throw new SaveImageError('ERR_BAD_MAGIC', `image magic is incorrect: offset 0 holds ${JSON.stringify(magic)}, not ${MAGIC_SAVE}`, {
      offset: 0,
      expected: MAGIC_SAVE,
      actual: magic,
    });
  }
  const byteOrder = detectByteOrder(bytes);
  if (byteOrder === null) {
    const version = bytes.readUInt32LE(16);
    throw new SaveImageError(
      'ERR_UNSUPPORTED_VERSION',
      `image version is not supported (${version} > 2): the version field at offset 16 is neither 0..${MAX_VERSION} nor a byte-swapped 1..${MAX_VERSION}`,
      { offset: 16, expected: `0..${MAX_VERSION}`, actual: version },
    );
  }
  const raw = parseHeader[byteOrder](bytes);
  const header: SaveImageHeader = { ...raw, magic, byteOrder };
  assertDataRegionBounds(header, options.maxDataLen ?? MAX_DATA_REGION_BYTES);
  return header;
}

/** The two checks that guard every reader before it buffers the data region. */
export function assertDataRegionBounds(header: SaveImageHeader, maxDataLen: number): void {
  if (header.dataLen === 0 || header.dataLen > maxDataLen) {
    const why = header.dataLen === 0 ? 'it is 0' : `it exceeds the limit of ${maxDataLen} bytes (raise it with --max-data-len)`;
    throw new SaveImageError('ERR_BAD_DATA_LENGTH', `invalid header data length: ${header.dataLen} at offset 20 (${why})`, {
      offset: 20,
      expected: `1..${maxDataLen}`,
      actual: header.dataLen,
    });
  }
  if (header.cookieOffset > header.dataLen) {
    throw new SaveImageError(
      'ERR_BAD_COOKIE_OFFSET',
      `cookie offset exceeds data length: cookieOffset ${header.cookieOffset} at offset 32 is beyond dataLen ${header.dataLen}`,
      { offset: 32, expected: `0..${header.dataLen}`, actual: header.cookieOffset },
    );
  }
}

/** Encodes a header into 92 new bytes, in its own byte order. */
export function encodeHeader(header: SaveImageHeader): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  encodeHeaderInto(header, bytes, 0);
  return bytes;
}

/** Encodes a header into `target` at `offset` (no allocation). */
export function encodeHeaderInto(header: SaveImageHeader, target: Buffer, offset: number): void {
  if (header.magic.length !== MAGIC_BYTES) throw new RangeError(`magic must be ${MAGIC_BYTES} characters`);
  if (header.unused.length !== UNUSED_WORDS) throw new RangeError(`unused must hold ${UNUSED_WORDS} words`);
  target.write(header.magic, offset, MAGIC_BYTES, 'latin1');
  const words = [header.version, header.dataLen, header.wasRunning, header.format, header.cookieOffset, ...header.unused];
  words.forEach((word, i) => {
    if (header.byteOrder === 'le') target.writeUInt32LE(word, offset + MAGIC_BYTES + 4 * i);
    else target.writeUInt32BE(word, offset + MAGIC_BYTES + 4 * i);
  });
}

/** The absolute offset of the payload: right after the data region. */
export function payloadOffsetOf(header: SaveImageHeader): number {
  return HEADER_BYTES + header.dataLen;
}

/** The format's name, or null for a code libvirt does not know. */
/** A copy of `prologue` whose header names `format` (in the header's own byte order). */
export function withPayloadFormat(prologue: Buffer, format: FormatName): Buffer {
  const out = Buffer.from(prologue);
  const header = decodeHeader(out, { maxDataLen: Number.MAX_SAFE_INTEGER });
  encodeHeaderInto({ ...header, format: FORMATS.indexOf(format) }, out, 0);
  return out;
}

export function formatName(code: number): FormatName | null {
  return FORMATS[code] ?? null;
}

export function isComplete(header: SaveImageHeader): boolean {
  return header.magic === MAGIC_SAVE;
}
