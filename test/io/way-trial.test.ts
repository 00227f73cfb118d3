// The trial that picks mapped or copied reads (lib/io/way-trial.ts), on a clock the test runs:
// each way costs so many nanoseconds a byte, the reader asks for a way per chunk, and the test
// checks which way serves, in what order, and what the report says.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CLEAR_MARGIN, type ReadWay, type TrialSettings, WayTrial } from '../../lib/io/way-trial.js';

const test = suite('io/way-trial');
const MIB = 1024 * 1024;
const SMALL: TrialSettings = { blockBytes: 4 * MIB, rounds: 3, warmupBytes: 8 * MIB, recheckBytes: 64 * MIB };

/** Reads `totalBytes` in 1 MiB chunks; `cost(way, served)` is the nanoseconds a byte of that way costs once `served` bytes went by. */
function run(totalBytes: number, cost: (way: ReadWay, served: number) => number, settings: TrialSettings = SMALL): { trial: WayTrial; ways: ReadWay[] } {
  let clock = 0n;
  const trial = new WayTrial({ ...settings, now: () => clock });
  const ways: ReadWay[] = [];
  let previous = 0;
  for (let served = 0; served < totalBytes; served += MIB) {
    const way = trial.next(previous);
    ways.push(way);
    clock += BigInt(Math.round(cost(way, served) * MIB));
    previous = MIB;
  }
  trial.next(previous);
  return { trial, ways };
}

/** The ways chunk by chunk, as runs: 'mapped x4, copied x4, ...'. */
function runs(ways: ReadWay[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ways.length; ) {
    let j = i;
    while (j < ways.length && ways[j] === ways[i]) j++;
    out.push(`${ways[i]} x${j - i}`);
    i = j;
  }
  return out;
}

test('blocks alternate, the first of a round alternating too, then the faster way serves', () => {
  const { trial, ways } = run(200 * MIB, (way) => (way === 'mapped' ? 1 : 1.2));
  // 8 MiB of warm-up (4 mapped, 4 copied), then rounds of 4 MiB blocks: (mapped, copied),
  // (copied, mapped), (mapped, copied); then mapped serves 32 MiB (a close choice is checked
  // again soon), and a round (copied, mapped) comes back.
  assert.equal(runs(ways).slice(0, 8), ['mapped x4', 'copied x4', 'mapped x4', 'copied x8', 'mapped x8', 'copied x4', 'mapped x32', 'copied x4']);
  assert.is(trial.chosen, 'mapped');
  const report = trial.report()!;
  assert.is(report.chosen, 'mapped');
  assert.is(report.mapped, MIB); // 1 ns a byte
  assert.is(report.copied, Math.round(1.2 * MIB));
  assert.is(report.served.mapped + report.served.copied, 200 * MIB);
});

test(`a clear case (one way ${CLEAR_MARGIN} times as fast as the other) is decided after two rounds, and checked again twice as late`, () => {
  const { trial, ways } = run(200 * MIB, (way) => (way === 'mapped' ? 1 : 2));
  // The warm-up and two deciding rounds; mapped serves 128 MiB; a round (mapped, copied).
  assert.equal(runs(ways).slice(0, 6), ['mapped x4', 'copied x4', 'mapped x4', 'copied x8', `mapped x${4 + 128 + 4}`, 'copied x4']);
  assert.is(trial.chosen, 'mapped');
  // Not clear: 1.6 against 1 and 2, together 1.5 against 1.6.
  const close = run(200 * MIB, (way, served) => (way === 'mapped' ? (served >= 20 * MIB && served < 24 * MIB ? 2 : 1) : 1.6));
  assert.is(runs(close.ways)[4], 'mapped x8', 'a third deciding round');
});

test('the faster way wins whichever it is', () => {
  assert.is(run(200 * MIB, (way) => (way === 'copied' ? 1 : 3)).trial.chosen, 'copied');
  assert.is(run(200 * MIB, (way) => (way === 'mapped' ? 1 : 1.2)).trial.chosen, 'mapped');
});

test('nothing is chosen before the warm-up and the deciding rounds are over', () => {
  // 8 MiB of warm-up, three rounds of two 4 MiB blocks: 32 MiB.
  const before = run(31 * MIB, () => 1).trial;
  assert.is(before.chosen, null);
  assert.is(before.report(), null);
  assert.ok(run(33 * MIB, () => 1).trial.chosen);
});

test('the warm-up is served both ways and not timed: a way slow only at first is not held against it', () => {
  const { trial, ways } = run(100 * MIB, (way, served) => (served < 8 * MIB ? 50 : way === 'copied' ? 1 : 1.2));
  assert.equal(ways.slice(0, 8), [...Array(4).fill('mapped'), ...Array(4).fill('copied')]);
  assert.is(trial.chosen, 'copied');
  assert.is(trial.report()!.copied, MIB);
});

test('a way that speeds up later takes over at a later round, and the report names the way that served most', () => {
  // Mapped costs 3 ns a byte for the first 100 MiB, then 1; copied always 2.
  const { trial, ways } = run(1024 * MIB, (way, served) => (way === 'mapped' ? (served < 100 * MIB ? 3 : 1) : 2));
  assert.is(ways[40], 'copied', 'copied serves after the first decision');
  assert.is(trial.chosen, 'mapped');
  assert.is(ways.at(-1), 'mapped');
  const report = trial.report()!;
  assert.is(report.chosen, 'mapped');
  assert.ok(report.served.mapped > report.served.copied);
});

test('after a close first choice, rounds come back after 32 MiB, then 64, then 128: twice as far apart each time one agreed', () => {
  const { trial, ways } = run(900 * MIB, (way) => (way === 'mapped' ? 1 : 1.2));
  const copiedStarts = ways.flatMap((way, i) => (way === 'copied' && ways[i - 1] === 'mapped' && i >= 32 ? [i] : []));
  // The warm-up and the first rounds end at chunk 32; then 32 chunks served, a round at 64
  // (copied, mapped), 64 served, a round at 136 (mapped, copied), 128 served, a round at 272
  // (copied, mapped), 256 served, a round at 536 (mapped, copied).
  assert.equal(copiedStarts, [64, 140, 272, 540]);
  assert.is(trial.report()!.rounds, 7);
});

test('a choice that flips brings the rounds back to every 64 MiB', () => {
  // Copied is faster until 300 MiB, mapped after.
  const { ways } = run(1024 * MIB, (way, served) => (way === 'copied' ? (served < 300 * MIB ? 1 : 3) : 2));
  assert.is(ways[60], 'copied');
  assert.is(ways.at(-1), 'mapped');
});

test.run();
