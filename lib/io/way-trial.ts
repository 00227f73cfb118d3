// Which way this host reads a file faster, found on the file itself: blocks of a large payload
// are served mapped and copied in turn, each timed with the reader's own work on it (a walker
// looks at a few bytes a page, a hash at every byte), and the faster way serves what follows.
// Hosts differ by about two times either way (bench/RESULTS.md, "Mapped or copied"): a VM whose
// kernel copies at 15 GB/s walks twice as fast with copies, another at 9 GB/s faster mapped, and
// one host may hash faster copied and walk faster mapped. A way's speed also drifts in a run
// (mapping here starts at a third of its pace and reaches it after some 300 MiB), so a round of
// one block each is run again after every RECHECK_BYTES, and the last rounds decide. Pure timing
// logic: file-ways.ts does the reading.

export type ReadWay = 'mapped' | 'copied';

/**
 * Bytes in one timed block: two mapped windows (mapped-file.ts), about 3 ms at 10 GB/s. A block
 * of 16 MiB read anywhere from 3 to 30 GB/s in one steady run: too short to tell two ways apart.
 */
export const TRIAL_BLOCK_BYTES = 32 * 1024 * 1024;
/** Rounds (one block of each way, which goes first alternating) that decide: the last ones, counted together. */
export const TRIAL_ROUNDS = 3;
/**
 * Bytes served first, not timed, half mapped and half copied: the reader's code is compiled
 * meanwhile, and mapping warms up (here its first 100 MiB ran at a third of its pace; warmed on
 * copies alone, mapping lost trials it wins by half, bench/RESULTS.md).
 */
export const WARMUP_BYTES = 64 * 1024 * 1024;
/**
 * One way this much faster over the first two deciding rounds decides at once, and the next
 * round comes twice as late: a clear case costs two slow blocks less. A close first choice is
 * checked again half as late (mapping here keeps speeding up for some 300 MiB).
 */
export const CLEAR_MARGIN = 1.5;
/**
 * Bytes served the chosen way before the next round: 512 MiB (after a first choice: 1 GiB if it
 * was clear, 256 MiB if close), twice as much after each round that agreed with the choice, 512
 * MiB after one that did not.
 */
export const RECHECK_BYTES = 512 * 1024 * 1024;
/**
 * Payloads from this size hold a trial: some 100 MiB on the slower way, against 768 MiB or more
 * on the faster (a loss of at most 7% where one way is twice the other, 2% at 4 GiB); and a
 * 1 GiB image is read as an 8 GiB one is, in the same memory.
 */
export const TRIAL_FROM_BYTES = 768 * 1024 * 1024;

let forced: ReadWay | null = null;

/** Reads every file one way (SAVEKIT_MMAP=1, SAVEKIT_NO_MMAP=1: tests and benchmarks), or by trial again (null). */
export function forceReadWay(way: ReadWay | null): void {
  forced = way;
}

export function forcedReadWay(): ReadWay | null {
  return forced;
}

export interface TrialReport {
  /** The way that served the most bytes. */
  chosen: ReadWay;
  /** Nanoseconds per MiB over each way's deciding blocks. */
  mapped: number;
  copied: number;
  /** Bytes each way served. */
  served: Record<ReadWay, number>;
  /** Rounds run. */
  rounds: number;
}

export interface TrialSettings {
  blockBytes?: number;
  rounds?: number;
  warmupBytes?: number;
  recheckBytes?: number;
  now?: () => bigint;
}

interface Block {
  nanos: number;
  bytes: number;
}

export class WayTrial {
  readonly #blockBytes: number;
  readonly #rounds: number;
  readonly #recheckBytes: number;
  readonly #now: () => bigint;
  /** Rounds begun; the one under way while #inRound. */
  #round = 0;
  #inRound = true;
  #warmupLeft: number;
  readonly #warmupBytes: number;
  /** 0 or 1: the block of the round being timed. */
  #blockInRound = 0;
  #block: Block = { nanos: 0, bytes: 0 };
  #sinceRound = 0;
  #recheckEvery: number;
  #last: bigint | null = null;
  #lastWay: ReadWay | null = null;
  readonly #recent: Record<ReadWay, Block[]> = { mapped: [], copied: [] };
  readonly #served: Record<ReadWay, number> = { mapped: 0, copied: 0 };
  #chosen: ReadWay | null = null;

  constructor({ blockBytes = TRIAL_BLOCK_BYTES, rounds = TRIAL_ROUNDS, warmupBytes = WARMUP_BYTES, recheckBytes = RECHECK_BYTES, now = process.hrtime.bigint }: TrialSettings = {}) {
    this.#blockBytes = blockBytes;
    this.#rounds = rounds;
    this.#warmupLeft = warmupBytes;
    this.#warmupBytes = warmupBytes;
    this.#recheckBytes = recheckBytes;
    this.#recheckEvery = recheckBytes;
    this.#now = now;
  }

  /** The faster way as the last rounds found it, or null before the first decision. */
  get chosen(): ReadWay | null {
    return this.#chosen;
  }

  /**
   * The way to read the next chunk with. `previousBytes` is the size of the chunk served at the
   * last call (0 at the first): the time since then, its reading and the reader's work on it,
   * counts to that chunk's way.
   */
  next(previousBytes: number): ReadWay {
    const now = this.#now();
    if (this.#last !== null && this.#lastWay !== null && previousBytes > 0) this.#count(this.#lastWay, Number(now - this.#last), previousBytes);
    this.#last = now;
    this.#lastWay = this.#warmupLeft > 0 ? (this.#warmupLeft > this.#warmupBytes / 2 ? 'mapped' : 'copied') : this.#inRound ? this.#wayOf(this.#round, this.#blockInRound) : this.#chosen!;
    return this.#lastWay;
  }

  /** What was measured and served so far (null before the first decision). */
  report(): TrialReport | null {
    if (!this.#chosen) return null;
    const chosen = this.#served.mapped > this.#served.copied ? 'mapped' : 'copied';
    return { chosen, mapped: this.#perMiB('mapped'), copied: this.#perMiB('copied'), served: { ...this.#served }, rounds: this.#round + 1 };
  }

  #count(way: ReadWay, nanos: number, bytes: number): void {
    this.#served[way] += bytes;
    if (this.#warmupLeft > 0) {
      this.#warmupLeft -= bytes;
      return;
    }
    if (!this.#inRound) {
      if ((this.#sinceRound += bytes) < this.#recheckEvery) return;
      this.#sinceRound = 0;
      this.#inRound = true;
      this.#round++;
      return;
    }
    this.#block.nanos += nanos;
    this.#block.bytes += bytes;
    if (this.#block.bytes < this.#blockBytes) return;
    this.#recent[way] = [...this.#recent[way], this.#block].slice(-this.#rounds);
    this.#block = { nanos: 0, bytes: 0 };
    if (++this.#blockInRound < 2) return;
    this.#blockInRound = 0;
    const deciding = this.#round + 1;
    if (this.#chosen === null && deciding < this.#rounds && !(deciding >= 2 && this.#clear())) {
      this.#round++;
      return;
    }
    const before = this.#chosen;
    this.#chosen = this.#faster((way) => this.#perMiB(way));
    // Twice as far to the next round when this one agreed, from the start when it did not (its own blocks alone).
    const agreed = before === this.#chosen && this.#faster((way) => this.#perMiB(way, 1)) === this.#chosen;
    // A clear first choice is checked again twice as late; a close one half as late.
    const first = before === null ? (this.#clear() ? 2 : 0.5) : 1;
    this.#recheckEvery = agreed ? 2 * this.#recheckEvery : this.#recheckBytes * first;
    this.#inRound = false;
  }

  /** One way at least CLEAR_MARGIN times as fast as the other over their counted blocks. */
  #clear(): boolean {
    const [mapped, copied] = [this.#perMiB('mapped'), this.#perMiB('copied')];
    return Number.isFinite(mapped) && Number.isFinite(copied) && Math.max(mapped, copied) >= CLEAR_MARGIN * Math.min(mapped, copied);
  }

  #faster(perMiB: (way: ReadWay) => number): ReadWay {
    return perMiB('mapped') <= perMiB('copied') ? 'mapped' : 'copied';
  }

  /** Nanoseconds per MiB over the last `count` counted blocks of `way`. */
  #perMiB(way: ReadWay, count = this.#rounds): number {
    const blocks = this.#recent[way].slice(-count);
    const nanos = blocks.reduce((sum, block) => sum + block.nanos, 0);
    const bytes = blocks.reduce((sum, block) => sum + block.bytes, 0);
    return bytes === 0 ? Infinity : Math.round((nanos * 1024 * 1024) / bytes);
  }

  /** Mapped first in even rounds, copied first in odd ones: a run that speeds up as it goes favours neither. */
  #wayOf(round: number, block: number): ReadWay {
    return (round + block) % 2 === 0 ? 'mapped' : 'copied';
  }
}
