// A regular file's bytes served where they lie in the page cache: windows of it mapped by the
// native addon (native/map.c) and handed out as views, so a reader that only looks at the bytes
// (walk, check, state, hash, verify, delta, diff) needs no read() copy. Three windows at most are
// mapped at a time: the one before (where the last chunk but one may lie), the current one, and
// the next, whose page tables the thread pool fills while the reader is busy with this one (a
// fault per 64 KiB cost the reader's core more than its own work), so what the mapping adds to
// the resident set is bounded whatever the file's size.
import { nativeAddon, type NativeBinding } from '../native.js';

/** Bytes a window maps (measured: bench/RESULTS.md, "Reading without copying"). */
export const WINDOW_BYTES = 16 * 1024 * 1024;
const PAGE_BYTES = 4096;

let mappingOff = false;

/** Turns mapping off (SAVEKIT_NO_MMAP=1, for tests and to measure the copying path) or on again. */
export function useFileMapping(use: boolean): void {
  mappingOff = !use;
}

type Mapper = Required<Pick<NativeBinding, 'mapFile' | 'unmapFile' | 'populateFile' | 'mappingFaults'>>;

interface Window {
  bytes: ArrayBuffer;
  /** File offset of its first byte. */
  start: number;
  end: number;
}

export class MappedFile {
  readonly #addon: Mapper;
  readonly #fd: number;
  readonly #size: number;
  readonly #windowBytes: number;
  readonly #faultsBefore: number;
  #previous: Window | null = null;
  #current: Window | null = null;
  #ahead: Window | null = null;

  private constructor(addon: Mapper, fd: number, size: number, windowBytes: number) {
    this.#addon = addon;
    this.#fd = fd;
    this.#size = size;
    this.#windowBytes = windowBytes;
    this.#faultsBefore = addon.mappingFaults();
  }

  /**
   * A mapper for `fd` (a regular file of `size` bytes when opened), or null where the addon
   * cannot map. `windowBytes` (a multiple of 4 KiB) is for tests that cross windows cheaply.
   */
  static open(fd: number, size: number, windowBytes = WINDOW_BYTES): MappedFile | null {
    const addon = nativeAddon();
    if (mappingOff || !addon?.mapFile || !addon.unmapFile || !addon.populateFile || !addon.mappingFaults) return null;
    if (windowBytes <= 0 || windowBytes % PAGE_BYTES !== 0) throw new RangeError(`a window is whole pages, not ${windowBytes} bytes`);
    const { mapFile, unmapFile, populateFile, mappingFaults } = addon;
    return new MappedFile({ mapFile, unmapFile, populateFile, mappingFaults }, fd, size, windowBytes);
  }

  /**
   * Up to `length` bytes from `position` (less at a window's end or the file's size as opened),
   * as a view valid until the window after the next one is mapped; null at the end, or when the
   * mapping is refused (the caller reads instead).
   */
  view(position: number, length: number): Buffer | null {
    if (position >= this.#size) return null;
    const window = this.#windowAt(position);
    if (window === null) return null;
    return Buffer.from(window.bytes, position - window.start, Math.min(length, window.end - position));
  }

    /** True once a page of this process's mappings faulted (the file was cut under it) since this opened. */
  faulted(): boolean {
    return this.#addon.mappingFaults() !== this.#faultsBefore;
  }

  /** Unmaps every window now (their views read as empty from then on). */
  close(): void {
    for (const window of [this.#previous, this.#current, this.#ahead]) this.#unmap(window);
    this.#previous = this.#current = this.#ahead = null;
  }

  /** The window holding `position`, moving the three on as the read goes (a jump maps afresh). */
  #windowAt(position: number): Window | null {
    const within = (window: Window | null): window is Window => window !== null && position >= window.start && position < window.end;
    if (!within(this.#current)) {
      const next = within(this.#ahead) ? this.#ahead : this.#map(position);
      if (next === null) return null;
      this.#unmap(this.#previous);
      if (next !== this.#ahead) this.#unmap(this.#ahead);
      this.#previous = this.#current;
      this.#current = next;
      this.#ahead = null;
    }
    const current = this.#current!;
    if (this.#ahead === null && current.end < this.#size) {
      this.#ahead = this.#map(current.end);
      if (this.#ahead) this.#addon.populateFile(this.#ahead.bytes);
    }
    return current;
  }

  #map(position: number): Window | null {
    const start = position - (position % PAGE_BYTES);
    const end = Math.min(this.#size, start + this.#windowBytes);
    const bytes = this.#addon.mapFile(this.#fd, start, end - start, false);
    return typeof bytes === 'number' ? null : { bytes, start, end };
  }

  #unmap(window: Window | null): void {
    if (window) this.#addon.unmapFile(window.bytes);
  }
}
