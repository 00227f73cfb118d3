// The delta layout (version 1), a public contract (README, "Delta layout"): a 16-byte header,
// then one zstd frame holding the program that rebuilds NEW from BASE: NEW's prologue, then
// NEW's decompressed QEMU stream as literal bytes, runs of BASE's pages (by their ordinal among
// BASE's page records) and holes, then the identities of both streams. Pure.
import { FORMATS, type FormatName } from '../../constants.js';
import { SaveImageError } from '../../errors.js';
import { decodeVarint, encodeVarintInto, MAX_VARINT_BYTES } from './varint.js';

export const DELTA_MAGIC = 'SavekitDelta';
export const DELTA_VERSION = 1;
export const DELTA_HEADER_BYTES = 16;
/** The body's encoding: one zstd frame (the only one version 1 knows). */
export const BODY_ZSTD = 1;

/** Program operations: one byte each, then varints (and bytes for P and L). */
export const OP = {
  /** P n bytes: NEW's prologue (header and data region), first and once. */
  PROLOGUE: 0x50,
  /** L n bytes: the next n bytes of NEW's stream. */
  LITERAL: 0x4c,
  /** R skip count: CONTINUE records rebuilt from BASE's page records (ordinal skip past the last one used). */
  RECORDS: 0x52,
  /** G skip count: the bytes alone of BASE's data pages (a mapped-ram page area). */
  PAGES: 0x47,
  /** H n: n zero bytes (a hole of a mapped-ram page area). */
  HOLE: 0x48,
  /** E trailer: the identities; the program's last operation. */
  END: 0x45,
} as const;

export interface StreamIdentity {
  /** Bytes of the decompressed QEMU stream. */
  length: number;
  /** Its XXH64 (seed 0), 16 hex digits. */
  digest: string;
}

export interface DeltaTrailer {
  newStream: StreamIdentity;
  baseStream: StreamIdentity;
  /** Page records in BASE (the ordinals the program may name). */
  basePages: number;
  /** Page records in NEW, and how many of them came from BASE. */
  pages: number;
  samePages: number;
}

export interface DeltaHeader {
  version: number;
  /** NEW's payload format, which apply writes unless told otherwise. */
  format: FormatName;
}

export function encodeDeltaHeader(format: FormatName): Buffer {
  const out = Buffer.alloc(DELTA_HEADER_BYTES);
  out.write(DELTA_MAGIC, 0, 'latin1');
  out.writeUInt16BE(DELTA_VERSION, 12);
  out[14] = FORMATS.indexOf(format);
  out[15] = BODY_ZSTD;
  return out;
}

/** ERR_BAD_DELTA for another file, ERR_UNSUPPORTED_VERSION for a layout newer than this savekit's. */
export function decodeDeltaHeader(bytes: Buffer): DeltaHeader {
  if (bytes.length < DELTA_HEADER_BYTES) throw badDelta(`the delta ends at offset ${bytes.length}, inside its ${DELTA_HEADER_BYTES}-byte header`, bytes.length);
  if (bytes.toString('latin1', 0, 12) !== DELTA_MAGIC) {
    throw badDelta(`not a savekit delta: magic ${JSON.stringify(bytes.toString('latin1', 0, 12))} at offset 0, not ${JSON.stringify(DELTA_MAGIC)}`, 0);
  }
  const version = bytes.readUInt16BE(12);
  if (version !== DELTA_VERSION) {
    throw new SaveImageError('ERR_UNSUPPORTED_VERSION', `a delta of layout version ${version} (the version field at offset 12): this savekit reads version ${DELTA_VERSION}; use a savekit as new as the one that made it`, { offset: 12, expected: DELTA_VERSION, actual: version });
  }
  const format = FORMATS[bytes[14]!];
  if (format === undefined) throw badDelta(`the format field at offset 14 holds ${bytes[14]}, which names no payload format`, 14);
  if (bytes[15] !== BODY_ZSTD) throw badDelta(`the body encoding field at offset 15 holds ${bytes[15]}, not ${BODY_ZSTD} (zstd)`, 15);
  return { version, format };
}

/** An operation's head: its byte and up to two varints. */
export function encodeOpInto(target: Buffer, offset: number, op: number, first: number, second?: number): number {
  let at = offset;
  target[at++] = op;
  at += encodeVarintInto(first, target, at);
  if (second !== undefined) at += encodeVarintInto(second, target, at);
  return at - offset;
}

/** The most bytes an operation's head takes. */
export const MAX_OP_HEAD_BYTES = 1 + 2 * MAX_VARINT_BYTES;

export function encodeTrailer(trailer: DeltaTrailer): Buffer {
  const out = Buffer.alloc(1 + 5 * MAX_VARINT_BYTES + 16);
  let at = 0;
  out[at++] = OP.END;
  at += encodeVarintInto(trailer.newStream.length, out, at);
  at += out.write(trailer.newStream.digest, at, 'hex');
  at += encodeVarintInto(trailer.baseStream.length, out, at);
  at += out.write(trailer.baseStream.digest, at, 'hex');
  at += encodeVarintInto(trailer.basePages, out, at);
  at += encodeVarintInto(trailer.pages, out, at);
  at += encodeVarintInto(trailer.samePages, out, at);
  return out.subarray(0, at);
}

/** The trailer after the END byte, or null when `bytes` ends inside it. */
export function decodeTrailer(bytes: Buffer): { trailer: DeltaTrailer; length: number } | null {
  let at = 0;
  const varint = () => {
    const got = decodeVarint(bytes, at);
    if (got === null) return null;
    at += got.length;
    return got.value;
  };
  const digest = () => {
    if (at + 8 > bytes.length) return null;
    at += 8;
    return bytes.toString('hex', at - 8, at);
  };
  const newLength = varint();
  const newDigest = newLength === null ? null : digest();
  const baseLength = newDigest === null ? null : varint();
  const baseDigest = baseLength === null ? null : digest();
  const basePages = baseDigest === null ? null : varint();
  const pages = basePages === null ? null : varint();
  const samePages = pages === null ? null : varint();
  if (samePages === null) return null;
  return {
    trailer: { newStream: { length: newLength!, digest: newDigest! }, baseStream: { length: baseLength!, digest: baseDigest! }, basePages: basePages!, pages: pages!, samePages },
    length: at,
  };
}

export function badDelta(message: string, offset?: number): SaveImageError {
  return new SaveImageError('ERR_BAD_DELTA', message, offset === undefined ? {} : { offset });
}
