// XXH64 (seed 0): in the native addon where it loaded, which hashes each chunk where it lies
// (twice xxhash-wasm's speed on multi-GB streams: bench/RESULTS.md), else over xxhash-wasm,
// initialised once per process. xxhash-wasm is fed slices of at most 1 MiB: each update()
// copies into wasm memory, which grows to the largest slice and never shrinks (DEPENDENCIES.md).
import xxhash from 'xxhash-wasm';
import { type NativeBinding, nativeAddon } from './native.js';

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
  const native = nativeHashing();
  if (native) {
    const state = new Uint8Array(native.XXH64_STATE_BYTES);
    native.xxh64Init(state, 0n);
    return {
      update: (bytes) => native.xxh64Update(state, bytes),
      digestHex: () => native.xxh64Digest(state),
    };
  }
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
  const native = nativeHashing();
  if (native) {
    const out = Buffer.alloc(16);
    return (page) => {
      native.xxh64Page(page, out);
      return out;
    };
  }
  const { h64Raw } = await (api ??= xxhash());
  const out = Buffer.alloc(16);
  return (page) => {
    out.writeBigUInt64BE(h64Raw(page, PAGE_HASH_SEEDS[0]), 0);
    out.writeBigUInt64BE(h64Raw(page, PAGE_HASH_SEEDS[1]), 8);
    return out;
  };
}

/** The addon, when it has XXH64 (a build/Release compiled from older sources may not). */
function nativeHashing(): NativeBinding | null {
  const native = nativeAddon();
  return typeof native?.xxh64Update === 'function' ? native : null;
}

/** Which XXH64 this process uses, for benchmarks and tests. */
export function xxh64Implementation(): 'native' | 'xxhash-wasm' {
  return nativeHashing() ? 'native' : 'xxhash-wasm';
}
