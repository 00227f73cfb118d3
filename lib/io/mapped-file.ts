// A regular file's bytes served where they lie in the page cache: windows of it mapped by the
// native addon (native/map.c) and handed out as views, so a reader that only looks at the bytes
// (walk, check, state, hash, verify, delta, diff) needs no read() copy. Windows are unmapped on
// the thread pool once passed: the one before the current stays (the last chunk but one may lie
// there). A reader that works on every byte (a hash) also gets the next window mapped and its
// page tables filled on the thread pool while it hashes this one; a walker, which touches a few
// bytes a page, goes faster faulting its own pages (the two cores then contended for the page
// tables: bench/RESULTS.md). What the mapping adds to the resident set is at most three windows,
// whatever the file's size.
import { nativeAddon, type NativeBinding } from '../native.js';

/** Bytes a window maps (measured: bench/RESULTS.md, "Reading without copying"). */
export const WINDOW_BYTES = 16 * 1024 * 1024;
const PAGE_BYTES = 4096;

export interface MappingOptions {
  /** Whole pages a window maps (tests cross windows with small ones). */
  windowBytes?: number;
  /** The reader works on every byte (a hash): populate the next window on the thread pool meanwhile. */
  everyByte?: boolean;
}

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
  readonly #lookahead: number;
  readonly #faultsBefore: number;
  #previous: Window | null = null;
  #current: Window | null = null;
  /** The windows after the current one, mapped and being populated, nearest first. */
  #ahead: Window[] = [];

  private constructor(addon: Mapper, fd: number, size: number, windowBytes: number, lookahead: number) {
    this.#addon = addon;
    this.#fd = fd;
    this.#size = size;
    this.#windowBytes = windowBytes;
    this.#lookahead = lookahead;
    this.#faultsBefore = addon.mappingFaults();
  }

  /** A mapper for `fd` (a regular file of `size` bytes when opened), or null where the addon cannot map. */
  static open(fd: number, size: number, { windowBytes = WINDOW_BYTES, everyByte = false }: MappingOptions = {}): MappedFile | null {
    const addon = nativeAddon();
    if (mappingOff || !addon?.mapFile || !addon.unmapFile || !addon.populateFile || !addon.mappingFaults) return null;
    if (windowBytes <= 0 || windowBytes % PAGE_BYTES !== 0) throw new RangeError(`a window is whole pages, not ${windowBytes} bytes`);
    const { mapFile, unmapFile, populateFile, mappingFaults } = addon;
    return new MappedFile({ mapFile, unmapFile, populateFile, mappingFaults }, fd, size, windowBytes, everyByte ? 1 : 0);
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

  /** The file's size when opened: the mapping serves nothing past it. */
  get size(): number {
    return this.#size;
  }

  /** True once a page of this process's mappings faulted (a mapped file was cut) since this opened: time to look at the file. */
  faulted(): boolean {
    return this.#addon.mappingFaults() !== this.#faultsBefore;
  }

  /** Unmaps every window now (their views read as empty from then on); a later view maps afresh. */
  close(): void {
    for (const window of [this.#previous, this.#current, ...this.#ahead]) this.#unmap(window);
    this.#previous = this.#current = null;
    this.#ahead = [];
  }

  /** The window holding `position`, moving the windows on as the read goes (a jump maps afresh). */
  #windowAt(position: number): Window | null {
    const within = (window: Window | null | undefined): window is Window => !!window && position >= window.start && position < window.end;
    if (!within(this.#current)) {
      const reached = this.#ahead.findIndex(within);
      const next = reached >= 0 ? this.#ahead[reached]! : this.#map(position);
      if (next === null) return null;
      this.#unmap(this.#previous);
      for (const passed of reached >= 0 ? this.#ahead.slice(0, reached) : this.#ahead) this.#unmap(passed);
      this.#ahead = reached >= 0 ? this.#ahead.slice(reached + 1) : [];
      this.#previous = this.#current;
      this.#current = next;
    }
    const current = this.#current!;
    for (let last = this.#ahead.at(-1) ?? current; this.#ahead.length < this.#lookahead && last.end < this.#size; ) {
      const ahead = this.#map(last.end);
      if (ahead === null) break;
      this.#addon.populateFile(ahead.bytes);
      this.#ahead.push((last = ahead));
    }
    return current;
  }

  #map(position: number): Window | null {
    const start = position - (position % PAGE_BYTES);
    const end = Math.min(this.#size, start + this.#windowBytes);
    const bytes = this.#addon.mapFile(this.#fd, start, end - start);
    return typeof bytes === 'number' ? null : { bytes, start, end };
  }

  #unmap(window: Window | null): void {
    if (window) this.#addon.unmapFile(window.bytes);
  }
}
