// savekit signature: what `delta --signature` needs of BASE, without BASE: BASE walked once,
// each page record written as its block and address with a 128-bit hash of the page (or the
// fill of a zero page), then the stream's identity (lib/codec/delta/signature-layout.ts).
import { fstatSync } from 'node:fs';
import type { StreamIdentity } from '../codec/delta/delta-layout.js';
import { encodeSignatureHeader, SignatureWriter } from '../codec/delta/signature-layout.js';
import type { DecodeHeaderOptions } from '../codec/header.js';
import type { SaveImagePrologue } from '../codec/prologue.js';
import { createPageHasher } from '../hash.js';
import { isRegularFile, writeAll } from '../io/fd-io.js';
import type { FdSource } from '../io/fd-source.js';
import { walkImage } from './walk-image.js';
import { BODY_LEVEL, createZstdBody } from '../io/zstd-body.js';

export interface SignatureResult {
  image: SaveImagePrologue;
  base: StreamIdentity;
  pages: number;
  /** Bytes of the signature written (null to a pipe). */
  signatureBytes: number | null;
}

export async function writeSignature(params: { source: FdSource; outFd: number; level?: number; readOptions?: DecodeHeaderOptions; onStart?: (total: number | null) => void; onProgress?: (bytes: number) => void }): Promise<SignatureResult> {
  const header = encodeSignatureHeader();
  writeAll(params.outFd, header, null);
  const body = await createZstdBody(params.outFd, params.level ?? BODY_LEVEL, 'savekit signature');
  const hashPage = await createPageHasher();
  const writer = new SignatureWriter((bytes) => body.push(bytes));
  const ranks = new Map<string, number>();
  let pages = 0;
  try {
    const walk = await walkImage(params.source, {
      hashStream: true,
      ...(params.readOptions ? { readOptions: params.readOptions } : {}),
      ...(params.onStart ? { onStart: params.onStart } : {}),
      ...(params.onProgress ? { onProgress: params.onProgress } : {}),
      onRamBlock(summary) {
        const block = summary.ramBlocks[summary.ramBlocks.length - 1]!;
        ranks.set(block.name, ranks.size);
        writer.block({ name: block.name, length: block.length, pageSize: block.pageSize });
      },
      onMemSize: () => writer.listEnd(),
      onPage(block, address, data, fill) {
        writer.page(ranks.get(block.name)!, address / block.pageSize, data === null ? null : hashPage(data), fill);
        pages++;
      },
      onStreamChunk: () => body.ready(),
    });
    const base = walk.stream!;
    writer.end(base, pages);
    await body.end();
    const signatureBytes = isRegularFile(params.outFd) ? fstatSync(params.outFd).size : null;
    return { image: walk.image, base, pages, signatureBytes };
  } catch (error) {
    body.abort();
    throw error;
  }
}
