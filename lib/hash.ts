// XXH64 (seed 0) over xxhash-wasm, initialised once per process. Input is fed in slices of at
// most 1 MiB: each update() copies into wasm memory, which grows to the largest slice and
// never shrinks (DEPENDENCIES.md).
import xxhash from 'xxhash-wasm';

type XxhashApi = Awaited<ReturnType<typeof xxhash>>;

const MAX_SLICE_BYTES = 1024 * 1024;
let api: Promise<XxhashApi> | null = null;

/** An incremental XXH64 digest. */
export interface Xxh64 {
  update(bytes: Uint8Array): void;
  /** 16 lower-case hex digits, as `xxhsum -H1` prints. */
  digestHex(): string;
}

export async function createXxh64(): Promise<Xxh64> {
  const hasher = (await (api ??= xxhash())).create64();
  return {
    update(bytes) {
      for (let at = 0; at < bytes.length; at += MAX_SLICE_BYTES) hasher.update(bytes.subarray(at, at + MAX_SLICE_BYTES));
    },
    digestHex: () => hasher.digest().toString(16).padStart(16, '0'),
  };
}

/** XXH64 of one buffer, as 16 hex digits. */
export async function xxh64Hex(bytes: Uint8Array): Promise<string> {
  const hasher = await createXxh64();
  hasher.update(bytes);
  return hasher.digestHex();
}

/** The seeds of a page hash's two XXH64 halves (the second is XXH64's PRIME64_1). */
const PAGE_HASH_SEEDS = [0n, 0x9e3779b185ebca87n] as const;

/**
 * A 128-bit page hash for signatures: two XXH64 of the page, seeds 0 and PRIME64_1, big-endian.
 * The returned function reuses one 16-byte buffer: copy what you keep.
 */
export async function createPageHasher(): Promise<(page: Uint8Array) => Buffer> {
  const { h64Raw } = await (api ??= xxhash());
  const out = Buffer.alloc(16);
  return (page) => {
    out.writeBigUInt64BE(h64Raw(page, PAGE_HASH_SEEDS[0]), 0);
    out.writeBigUInt64BE(h64Raw(page, PAGE_HASH_SEEDS[1]), 8);
    return out;
  };
}
