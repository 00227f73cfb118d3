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
