// savekit's optional native addon (native/): node-gyp-build loads build/Release (compiled at
// install) or else the N-API prebuild shipped in prebuilds/linux-<arch>. Inside the one-file
// executable (packaging/build-exe.ts) the addon is one of the executable's assets instead.
// Without either, callers fall back: pipes keep their size, XXH64 runs in xxhash-wasm, copies
// use Buffer.copy. Loaded once per thread.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { executableAsset, loadAddonFromBytes } from './sea.js';

export interface NativeBinding {
  setPipeSize(fd: number, bytes: number): number;
  setBlocking(fd: number): number;
  /** Bytes from the start of `bytes` to the next 4 KiB boundary of memory. */
  alignmentGap(bytes: Uint8Array): number;
  /** [readFd, writeFd], close-on-exec, or -errno. */
  createPipe(): [number, number] | number;
  /** Bytes of an XXH64 streaming state (an 8-byte-aligned Uint8Array the caller owns). */
  XXH64_STATE_BYTES: number;
  xxh64Init(state: Uint8Array, seed: bigint): void;
  xxh64Update(state: Uint8Array, bytes: Uint8Array): void;
  xxh64Digest(state: Uint8Array): string;
  /** XXH64 of `page` with seeds 0 and PRIME64_1, big-endian, into `out`'s first 16 bytes. */
  xxh64Page(page: Uint8Array, out: Uint8Array): void;
  /** `source` into `target` from `targetStart` with streaming stores (past the CPU cache); returns its length. */
  copyPastCache(target: Uint8Array, targetStart: number, source: Uint8Array): number;
  /** Bytes [offset, offset + length) of a file as a read-only ArrayBuffer over the page cache (offset page-aligned), or -errno. */
  mapFile?(fd: number, offset: number, length: number): ArrayBuffer | number;
  /** Unmaps a mapFile window now and detaches it. */
  unmapFile?(window: ArrayBuffer): void;
  /** Fills a mapFile window's page tables on the thread pool (fire and forget). */
  populateFile?(window: ArrayBuffer): void;
  /** SIGBUS faults in mapped windows (a file cut under them) answered with zero pages so far. */
  mappingFaults?(): number;
}

/** The name of the addon among the one-file executable's assets. */
export const ADDON_ASSET = 'savekit_native.node';

let binding: NativeBinding | null | undefined;

/** The addon, or null when none fits this machine (or it was turned off). */
export function nativeAddon(): NativeBinding | null {
  if (binding === undefined) {
    try {
      binding = loadBinding();
    } catch {
      binding = null;
    }
  }
  return binding;
}

function loadBinding(): NativeBinding | null {
  const asset = executableAsset(ADDON_ASSET);
  if (asset !== undefined) return asset === null ? null : (loadAddonFromBytes(asset) as NativeBinding);
  const load = createRequire(import.meta.url)('node-gyp-build') as (root: string) => NativeBinding;
  return load(fileURLToPath(new URL('../', import.meta.url)));
}

/** Runs this thread without the addon, on the fallbacks (SAVEKIT_NO_NATIVE=1, for tests and for a suspect build), or with it again. */
export function useNativeAddon(use: boolean): void {
  binding = use ? undefined : null;
}
