// delta and apply as a library: apply(BASE, delta(BASE, NEW)) gives NEW back, prologue and
// stream byte for byte (a raw or sparse NEW: the same file), on the genuine samples of both
// libvirt versions against each other, on synthetic pairs that break the lockstep every way
// (pages past 4 GiB, blocks added, removed and resized, pages sent twice, zero <-> data, other
// device state, another guest), in every payload format for BASE and for NEW, and from a
// signature instead of BASE (the very same delta).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMATS, type FormatName } from '../../lib/constants.js';
import { decodePrologue } from '../../lib/codec/prologue.js';
import { applyDelta, type ApplyResult } from '../../lib/jobs/apply/apply.js';
import { imagePages, signaturePages } from '../../lib/jobs/base-pages.js';
import { makeDelta, type DeltaResult } from '../../lib/jobs/delta.js';
import { FdSource } from '../../lib/io/fd-source.js';
import { writeSignature } from '../../lib/jobs/signature.js';
import { walkImage } from '../../lib/jobs/walk-image.js';
import { runInProcess } from '../helpers/cli.js';
import { samplePath, tempDir } from '../helpers/samples.js';
import { type SyntheticImageOptions, writeSyntheticImage } from '../helpers/synthetic-image.js';

const test = suite('jobs/delta');

/** Descriptors the library calls read from (they never close what they are given). */
const opened: number[] = [];
test.after.each(() => {
  for (const fd of opened.splice(0)) closeSync(fd);
});

function openFd(path: string): number {
  const fd = openSync(path, 'r');
  opened.push(fd);
  return fd;
}

function open(path: string): FdSource {
  return new FdSource(openFd(path));
}

async function delta(base: string, next: string, out: string, options: { signature?: string } = {}): Promise<DeltaResult> {
  const fd = openSync(out, 'w+');
  try {
    const pages = options.signature ? await signaturePages(openFd(options.signature), options.signature) : imagePages(open(base));
    return await makeDelta({ base: pages, source: open(next), outFd: fd });
  } finally {
    closeSync(fd);
  }
}

async function apply(base: string, deltaPath: string, out: string, format?: FormatName): Promise<ApplyResult> {
  const deltaFd = openSync(deltaPath, 'r');
  let outFd: number | null = null;
  try {
    return await applyDelta({ base: open(base), deltaFd, deltaLabel: deltaPath, openOutput: () => (outFd = openSync(out, 'w+')), ...(format ? { format } : {}) });
  } finally {
    closeSync(deltaFd);
    if (outFd !== null) closeSync(outFd);
  }
}

/** The prologue and the decompressed stream's identity: what apply promises to give back. */
async function identity(path: string): Promise<{ prologue: string; stream: unknown }> {
  const walk = await walkImage(open(path), { hashStream: true });
  return { prologue: walk.image.prologueBytes.toString('hex'), stream: walk.stream };
}

/** delta then apply; asserts NEW came back (the same file for raw and sparse). */
async function roundTrip(base: string, next: string, label: string): Promise<DeltaResult> {
  const dir = tempDir();
  const d = join(dir, 'd.delta');
  const out = join(dir, 'out.save');
  const made = await delta(base, next, d);
  const applied = await apply(base, d, out);
  assert.equal(applied.trailer.newStream, made.newStream, label);
  const format = FORMATS[decodePrologue(readFileSync(next)).header.format]!;
  if (format === 'raw' || format === 'sparse') assert.ok(readFileSync(out).equals(readFileSync(next)), `${label}: not the same file`);
  else assert.equal(await identity(out), await identity(next), `${label}: not the same prologue and stream`);
  // A sparse NEW keeps its holes: about the disk NEW itself takes (ext4 allocates a little more
  // around data runs written in 1 MiB batches: 1048 blocks against 920 for the 11.3 sample).
  if (format === 'sparse') assert.ok(statSync(out).blocks <= statSync(next).blocks + 256, `${label}: ${statSync(out).blocks} blocks allocated against NEW's ${statSync(next).blocks}`);
  return made;
}

const GENUINE = ['libvirt-9.0/raw.save', 'libvirt-9.0/gzip.save', 'libvirt-9.0/xz.save', 'libvirt-9.0/kvm-raw.save', 'libvirt-11.3/zstd.save', 'libvirt-11.3/sparse.save', 'libvirt-11.3/kvm-raw.save'];

test('the genuine samples of libvirt 9.0 and 11.3: each against itself, the next and the other version', async () => {
  for (const [i, base] of GENUINE.entries()) {
    const others = [base, GENUINE[(i + 1) % GENUINE.length]!, GENUINE[(i + 4) % GENUINE.length]!];
    for (const next of others) {
      const made = await roundTrip(samplePath(base), samplePath(next), `${base} -> ${next}`);
      if (base === next) assert.ok(made.deltaBytes! < readFileSync(samplePath(next)).length / 20, `${base} against itself: a delta of ${made.deltaBytes} bytes`);
    }
  }
});

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

interface Pair {
  name: string;
  base: SyntheticImageOptions;
  next: SyntheticImageOptions;
  /** The least share of NEW's pages that must come from BASE. */
  minSame: number;
}

const BLOCKS = [
  { name: 'pc.ram', bytes: 8 * MIB },
  { name: 'vga.vram', bytes: 4 * MIB },
  { name: 'pc.rom', bytes: 128 * 1024 },
];

const PAIRS: Pair[] = [
  {
    name: 'pages past 4 GiB, a few rewritten there',
    base: { ramBytes: 4 * GIB + 8 * MIB, dataPageEvery: 512 },
    next: { ramBytes: 4 * GIB + 8 * MIB, dataPageEvery: 512, rewritten: (_block, page) => (page > 2 ** 20 && page % 1024 === 0 ? 'data' : null) },
    minSame: 0.99,
  },
  {
    name: 'several blocks, zero pages that became data and data pages that became zero',
    base: { ramBytes: 0, blocks: BLOCKS },
    next: { ramBytes: 0, blocks: BLOCKS, rewritten: (_block, page) => (page % 7 === 0 ? 'data' : page % 11 === 0 ? 'zero' : null) },
    minSame: 0.7,
  },
  { name: 'a block added', base: { ramBytes: 0, blocks: BLOCKS }, next: { ramBytes: 0, blocks: [BLOCKS[0]!, { name: 'extra', bytes: 2 * MIB }, ...BLOCKS.slice(1)] }, minSame: 0.8 },
  { name: 'a block removed', base: { ramBytes: 0, blocks: BLOCKS }, next: { ramBytes: 0, blocks: [BLOCKS[0]!, BLOCKS[2]!] }, minSame: 0.95 },
  { name: 'a block resized', base: { ramBytes: 0, blocks: BLOCKS }, next: { ramBytes: 0, blocks: [BLOCKS[0]!, { name: 'vga.vram', bytes: 8 * MIB }, BLOCKS[2]!] }, minSame: 0.7 },
  { name: 'pages sent twice, in each image', base: { ramBytes: 8 * MIB, resend: [3, 4, 9] }, next: { ramBytes: 8 * MIB, resend: [9, 100, 2], rewritten: (_block, page) => (page === 100 ? 'data' : null) }, minSame: 0.95 },
  { name: 'changed device state', base: { ramBytes: 8 * MIB }, next: { ramBytes: 8 * MIB, deviceFill: 3 }, minSame: 0.99 },
  { name: 'another guest', base: { ramBytes: 8 * MIB, realistic: true }, next: { ramBytes: 8 * MIB, realistic: true, rewritten: (_block, page) => (page % 64 < 30 ? 'data' : null), generation: 7 }, minSame: 0 },
];

for (const pair of PAIRS) {
  test(`synthetic: ${pair.name}`, async () => {
    const dir = tempDir();
    const base = join(dir, 'base.save');
    const next = join(dir, 'new.save');
    writeSyntheticImage(base, pair.base);
    writeSyntheticImage(next, pair.next);
    const made = await roundTrip(base, next, pair.name);
    assert.ok(made.samePages >= pair.minSame * made.pages, `${made.samePages} of ${made.pages} pages from BASE`);
    // And the other way round.
    await roundTrip(next, base, `${pair.name}, reversed`);
  });
}

test('every payload format for BASE and for NEW', async () => {
  const dir = tempDir();
  const base = join(dir, 'base.save');
  const next = join(dir, 'new.save');
  writeSyntheticImage(base, { ramBytes: 4 * MIB, realistic: true });
  writeSyntheticImage(next, { ramBytes: 4 * MIB, realistic: true, rewritten: (_block, page) => (page % 50 === 3 ? 'data' : null) });
  const as = async (path: string, format: FormatName) => {
    const out = `${path}.${format}`;
    const result = await runInProcess(['convert', '--quiet', '--format', format, path, out]);
    assert.is(result.status, 0, result.stderr);
    return out;
  };
  const bases = new Map<FormatName, string>();
  const nexts = new Map<FormatName, string>();
  for (const format of FORMATS) {
    bases.set(format, await as(base, format));
    nexts.set(format, await as(next, format));
  }
  // Each format as BASE against a raw and a sparse NEW, and as NEW against a raw and a sparse BASE.
  const pairs = FORMATS.flatMap((format) => [[format, 'raw'], [format, 'sparse'], ['raw', format], ['sparse', format]] as const);
  for (const key of new Set(pairs.map((pair) => pair.join('>')))) {
    const [baseFormat, newFormat] = key.split('>') as [FormatName, FormatName];
    const made = await roundTrip(bases.get(baseFormat)!, nexts.get(newFormat)!, `${baseFormat} -> ${newFormat}`);
    // About 21 pages of 4 KiB were rewritten; the rest comes from BASE (or is a hole).
    assert.ok(made.deltaBytes! < 2 * 21 * 4096 + 64 * 1024, `${baseFormat} -> ${newFormat}: a delta of ${made.deltaBytes} bytes`);
  }
});

test('a delta made from a signature is the very delta made from BASE, and applies', async () => {
  const dir = tempDir();
  for (const [base, next] of [
    [samplePath('libvirt-9.0/raw.save'), samplePath('libvirt-9.0/xz.save')],
    [samplePath('libvirt-11.3/sparse.save'), samplePath('libvirt-11.3/zstd.save')],
    [samplePath('libvirt-11.3/zstd.save'), samplePath('libvirt-11.3/sparse.save')],
  ] as const) {
    const sig = join(dir, 'base.sig');
    const fromBase = join(dir, 'from-base.delta');
    const fromSig = join(dir, 'from-sig.delta');
    const fd = openSync(sig, 'w+');
    const signature = await writeSignature({ source: open(base), outFd: fd });
    closeSync(fd);
    assert.ok(signature.signatureBytes! < (signature.pages * 4096) / 200, `signature of ${signature.signatureBytes} bytes for ${signature.pages} pages`);
    await delta(base, next, fromBase);
    await delta(base, next, fromSig, { signature: sig });
    assert.ok(readFileSync(fromSig).equals(readFileSync(fromBase)), `${base} -> ${next}`);
    const out = join(dir, 'out.save');
    await apply(base, fromSig, out);
    assert.equal(await identity(out), await identity(next));
  }
});

test('apply --format: NEW written in another format, its stream the same', async () => {
  const dir = tempDir();
  const base = samplePath('libvirt-11.3/zstd.save');
  const next = samplePath('libvirt-11.3/sparse.save');
  const d = join(dir, 'd.delta');
  await delta(base, next, d);
  for (const format of ['raw', 'zstd', 'sparse'] as const) {
    const out = join(dir, `out.${format}`);
    const result = await apply(base, d, out, format);
    assert.is(result.format, format);
    assert.is(decodePrologue(readFileSync(out)).header.format, FORMATS.indexOf(format));
    const back = join(dir, `back.${format}`);
    assert.is((await runInProcess(['convert', '--quiet', '--format', 'sparse', out, back])).status, 0);
    assert.ok(readFileSync(back).equals(readFileSync(next)), `${format}, converted back to sparse: not the genuine file`);
  }
});

test('a sealed NEW: raw keeps its seal, a compressed one gets a seal of the bytes written; both verify', async () => {
  const dir = tempDir();
  const base = samplePath('libvirt-9.0/raw.save');
  for (const sample of ['libvirt-9.0/raw.save', 'libvirt-9.0/gzip.save']) {
    const next = join(dir, `sealed-${sample.split('/')[1]}`);
    writeFileSync(next, readFileSync(samplePath(sample)));
    assert.is((await runInProcess(['seal', next])).status, 0);
    const d = join(dir, 'd.delta');
    const out = join(dir, 'out.save');
    await delta(base, next, d);
    const result = await apply(base, d, out);
    assert.ok(result.seal !== null, sample);
    const verified = await runInProcess(['verify', '--json', out]);
    assert.is(verified.status, 0, `${sample}: ${verified.stderr}${verified.stdout.toString()}`);
    if (sample.endsWith('raw.save')) assert.ok(readFileSync(out).equals(readFileSync(next)));
  }
});

test.run();
