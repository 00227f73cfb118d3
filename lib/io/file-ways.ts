// The rest of a regular file, served one of two ways: mapped (views of the page cache,
// mapped-file.ts) or copied by two threads (read-ring.ts), or as a trial (way-trial.ts) finds
// faster on this host with this reader: both in turn for a few blocks, the faster then.
// Whichever serves, chunks come in the file's order and each stays valid until the call after
// next, so the last two are intact at the end of input.
import { MappedFile, type MappingOptions } from './mapped-file.js';
import { RING_SLOT_BYTES, ReadRing } from './read-ring.js';
import { forcedReadWay, type ReadWay, TRIAL_FROM_BYTES, type TrialReport, WayTrial } from './way-trial.js';

/** Below this, a file is read by this thread alone: a worker's start (about 40 ms of the other core) would not pay. */
export const WAYS_FROM_BYTES = 64 * 1024 * 1024;

export interface FileWaysOptions extends Pick<MappingOptions, 'everyByte' | 'windowBytes'> {
  /** Mapped chunks' size. */
  chunkBytes: number;
  /** A trial from this many bytes left (tests make it small), else TRIAL_FROM_BYTES. */
  trialFromBytes?: number;
  /** The trial's settings (tests). */
  trial?: ConstructorParameters<typeof WayTrial>[0];
  /** No ways below this many bytes left (tests make it small), else WAYS_FROM_BYTES. */
  waysFromBytes?: number;
  /** The copying ring's chunk size (tests cross chunks with small ones), else RING_SLOT_BYTES. */
  slotBytes?: number;
  /** One way whatever the size (tests, and what SAVEKIT_MMAP / SAVEKIT_NO_MMAP force for all). */
  way?: ReadWay;
}

let onChosen: ((report: TrialReport) => void) | null = null;

/**
 * The trial of the files one job reads at once (delta's BASE and NEW, read in step): one way
 * for all of them at a time, timed over all their chunks. Each file timed on its own would
 * count the other's reads in its own time, whichever way that one was read.
 */
let shared: { trial: WayTrial; members: number } | null = null;

function joinTrial(settings: FileWaysOptions['trial']): WayTrial {
  shared ??= { trial: new WayTrial(settings), members: 0 };
  shared.members++;
  return shared.trial;
}

/** The trial's report once its last file is read, else null. */
function leaveTrial(trial: WayTrial): TrialReport | null {
  if (shared?.trial === trial && --shared.members > 0) return null;
  if (shared?.trial === trial) shared = null;
  return trial.report();
}

/** Hears each trial's outcome (SAVEKIT_TRACE_READS=1 prints it; the benchmarks read it). */
export function reportTrials(listener: ((report: TrialReport) => void) | null): void {
  onChosen = listener;
}

export class FileWays {
  readonly #fd: number;
  #mapped: MappedFile | null;
  #ring: ReadRing | null;
  #trial: WayTrial | null;
  #way: ReadWay;
  readonly #chunkBytes: number;
  readonly #slotBytes: number;
  /** The size of the chunk served last: the trial counts it at the next call. */
  #lastChunkBytes = 0;
  /** Chunks served copied since the last mapped one (the mapping is let go at the second). */
  #copiedSince = 0;

  private constructor(fd: number, mapped: MappedFile | null, ring: ReadRing | null, trial: WayTrial | null, chunkBytes: number, slotBytes: number) {
    this.#fd = fd;
    this.#mapped = mapped;
    this.#ring = ring;
    this.#trial = trial;
    this.#way = mapped && !ring ? 'mapped' : 'copied';
    this.#chunkBytes = chunkBytes;
    this.#slotBytes = slotBytes;
  }

  /**
   * The ways for `fd` (`size` bytes when opened) from `position`: as forced (SAVEKIT_MMAP=1,
   * SAVEKIT_NO_MMAP=1), else a trial for a large rest, copies for a middling one, and null
   * below WAYS_FROM_BYTES (the caller reads by itself).
   */
  static open(fd: number, size: number, position: number, options: FileWaysOptions): FileWays | null {
    const forced = options.way ?? forcedReadWay();
    const rest = size - position;
    if (forced === null && rest < (options.waysFromBytes ?? WAYS_FROM_BYTES)) return null;
    const wantsMapping = forced === 'mapped' || (forced === null && rest >= (options.trialFromBytes ?? TRIAL_FROM_BYTES));
    const mapped = forced !== 'copied' && wantsMapping ? MappedFile.open(fd, size, options) : null;
    const ring = forced === 'mapped' && mapped ? null : new ReadRing(fd, position, options.slotBytes === undefined ? {} : { slotBytes: options.slotBytes });
    const trial = mapped && ring ? joinTrial(options.trial) : null;
    return new FileWays(fd, mapped, ring, trial, options.chunkBytes, options.slotBytes ?? RING_SLOT_BYTES);
  }

  /** False while a worker that will read is still starting (a trial waits for it). */
  get ready(): boolean {
    return this.#ring?.online ?? true;
  }

  /** The way serving now. */
  get way(): ReadWay {
    return this.#way;
  }

  /** True once a page of this process's mappings faulted (a mapped file was cut): time to look at the file. */
  faulted(): boolean {
    return this.#mapped?.faulted() ?? false;
  }

  /** The chunk at `position` (the caller's count of bytes served and skipped), or null at the end. */
  next(position: number): Buffer | null {
    // The trial starts once the worker runs: before, copies are this thread's alone, and the reader's code is not yet compiled.
    if (this.#trial && this.#ring!.online) this.#follow(this.#trial.next(this.#lastChunkBytes));
    const chunk = this.#way === 'mapped' ? this.#nextMapped(position) : this.#nextCopied(this.#ring!, position);
    this.#lastChunkBytes = chunk?.length ?? 0;
    // Copies serve now and the last mapped view is two calls behind: unmap until mapping serves again (its windows count as resident).
    this.#copiedSince = this.#way === 'copied' ? this.#copiedSince + 1 : 0;
    if (this.#copiedSince === 2) this.#mapped?.close();
    if (chunk === null) this.#finish(); // the mapping stays: the last two chunks may be its views
    return chunk;
  }

  /** Stops the reading worker and unmaps what is mapped (views of the mapping read as empty from then on). */
  close(): void {
    this.#finish();
    this.#mapped?.close();
  }

  #finish(): void {
    this.#ring?.close();
    const report = this.#trial ? leaveTrial(this.#trial) : null;
    this.#trial = null;
    if (report) onChosen?.(report);
  }

  #nextMapped(position: number): Buffer | null {
    const view = this.#mapped!.view(position, this.#chunkBytes);
    if (view !== null || position >= this.#mapped!.size) return view;
    // The mapping was refused (no address space, a file system that cannot): copies serve the rest.
    if (this.#trial) leaveTrial(this.#trial);
    this.#trial = null;
    this.#mapped = null;
    this.#ring ??= new ReadRing(this.#fd, position, { slotBytes: this.#slotBytes });
    this.#way = 'copied';
    return this.#nextCopied(this.#ring, position);
  }

  /** The ring's next chunk, from `position` on (after a jump or a mapped block, it starts over there). */
  #nextCopied(ring: ReadRing, position: number): Buffer | null {
    if (ring.position !== position) ring.seek(position);
    return ring.next();
  }

  /** Switches to `way` (the ring picks up where the mapping left, at its next chunk). */
  #follow(way: ReadWay): void {
    if (way === this.#way) return;
    if (way === 'mapped') this.#ring!.stop(); // its reads ahead would compete with the mapped blocks'
    this.#way = way;
  }
}
