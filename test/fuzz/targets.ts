// Property-based targets shared by the quick pass in `npm test` and the long `npm run fuzz`:
// random and mutated headers, regions, XML and QEMU streams, fed whole and under random
// chunkings. Each case must end in a result or a SaveImageError with a code: never another
// exception, never a hang (every case is bounded: inputs are finite and every loop consumes).
import fc from 'fast-check';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { dirname, join } from 'node:path';
import { decodePrologue, type SaveImagePrologue } from '../../lib/codec/prologue.js';
import { QemuStreamWalker } from '../../lib/codec/qemu/walker.js';
import { describeStreamEnd } from '../../lib/codec/qemu/stream-end.js';
import { decodeVmDescription } from '../../lib/codec/qemu/vmdescription.js';
import { decodeDeviceState, type DeviceDescription, type FieldDescription, type StateDescription } from '../../lib/codec/qemu/device-state.js';
import { formatAnalyzeMigration, stateTree } from '../../lib/codec/qemu/state-format.js';
import { planDefine, planRewrite, planSet } from '../../lib/edit/plan.js';
import { SaveImageError } from '../../lib/errors.js';
import { inspectPrologue } from '../../lib/inspect.js';
import { PrologueGatherer } from '../../lib/stream/prologue-gatherer.js';
import { createRewriteStream } from '../../lib/stream/rewrite.js';
import { redactSecrets } from '../../lib/xml/redact.js';
import { extractRam } from '../../lib/jobs/extract-ram.js';
import { FdSource } from '../../lib/io/fd-source.js';
import { hashImage } from '../../lib/jobs/hash-image.js';
import { rewriteImage } from '../../lib/jobs/rewrite.js';
import { walkImage } from '../../lib/jobs/walk-image.js';
import { runInProcess } from '../helpers/cli.js';
import { QemuStreamBuilder, ram } from '../helpers/qemu-stream.js';
import { syntheticImageBuffer, syntheticPrologue } from '../helpers/synthetic-image.js';

/** Runs `fn`; a SaveImageError is an accepted outcome, anything else fails the property. */
function accepts(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    if (SaveImageError.is(error) && typeof error.code === 'string') return true;
    throw error;
  }
}

async function acceptsAsync(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    if (SaveImageError.is(error) && typeof error.code === 'string') return true;
    throw error;
  }
}

/** A scratch file for the file-level targets, rewritten for every case. */
const scratch = join(mkdtempSync(join(tmpdir(), 'savekit-fuzz-')), 'case.save');
process.once('exit', () => rmSync(dirname(scratch), { recursive: true, force: true }));
const IMAGES = [syntheticImageBuffer({ ramBytes: 4 * 4096, slack: 16 }), syntheticImageBuffer({ ramBytes: 2 * 4096, slack: 0, byteOrder: 'be', version: 3 })];

/** Runs `use` on a fresh descriptor of `bytes` written to the scratch file. */
async function onFile<T>(bytes: Buffer, use: (fd: number) => Promise<T>): Promise<T> {
  writeFileSync(scratch, bytes);
  const fd = openSync(scratch, 'r');
  try {
    return await use(fd);
  } finally {
    closeSync(fd);
  }
}

const PROLOGUES = [
  syntheticPrologue({ ramBytes: 4096, slack: 64 }),
  syntheticPrologue({ ramBytes: 4096, slack: 16, byteOrder: 'be', version: 3, extensions: ['<x/>'] }),
  syntheticPrologue({ ramBytes: 4096, slack: 0, cookie: null, version: 1 }),
];

function craftedStream(): Buffer {
  const s = new QemuStreamBuilder({ capabilities: ['x-ignore-shared'] });
  s.start(2, 'ram', 4, [...ram.memSize([['pc.ram', 8 * 4096], ['b', 4096]]), ...ram.eos()]);
  s.part(2, [...ram.page(0, 'pc.ram', 1), ...ram.zero(4096, null), ...ram.xbzrle(8192, null, Buffer.from('d')), ...ram.compressed(12288, null, Buffer.from('c')), ...ram.flush(), ...ram.eos()]);
  s.command(11, Buffer.alloc(0));
  s.command(7, Buffer.from([0, 0, 0, 2]), Buffer.from('xy'));
  s.part(2, [...ram.page(16384, null, 2), ...ram.zero(0, 'b'), ...ram.eos()], 3);
  s.full(3, 'timer', 0, Buffer.alloc(24, 1));
  s.full(4, 'apic', 0, Buffer.alloc(9, 0x7e));
  return s.eof([{ name: 'timer', instance: 0, size: 24 }, { name: 'apic', instance: 0, size: 9 }]);
}
const STREAMS = [craftedStream(), syntheticImageBuffer({ ramBytes: 16 * 4096 }).subarray(syntheticPrologue({ ramBytes: 16 * 4096 }).length)];

/** A mutation of `base`: bit flips, overwritten words (extreme values), a cut, or an insertion. */
function mutated(bases: Buffer[]): fc.Arbitrary<Buffer> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('word' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 2, 3, 0x7fffffff, 0xffffffff, 0x80000000, 92, 4096, 65536) }),
    fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
  );
  return fc.tuple(fc.constantFrom(...bases), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([base, edits]) => {
    let bytes = Buffer.from(base);
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % bytes.length;
      if (e.kind === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << e.bit);
      else if (e.kind === 'word' && at + 4 <= bytes.length) bytes.writeUInt32BE(e.value >>> 0, at);
      else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
      else if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(e.bytes), bytes.subarray(at)]);
    }
    return bytes;
  });
}

/** Splits bytes at random points. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(from, p));
    from = p;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

/** `chunks` through the rewrite Transform (as pipeline() users compose it); the bytes out. */
async function throughRewriteStream(chunks: Buffer[], plan: (image: SaveImagePrologue) => Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.push(chunk);
      done();
    },
  });
  await pipeline(Readable.from(chunks), createRewriteStream({ plan, readOptions: { maxDataLen: 1 << 20 } }), sink);
  return Buffer.concat(out);
}

const anyBytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));

type AnyProperty = Parameters<typeof fc.check>[0];

/** Random descriptions: every field type, arrays, structs and subsections nested a few deep. */
const FIELD_TYPES = ['uint8', 'uint16', 'uint32', 'uint64', 'int8', 'int32', 'int64', 'int32 le', 'uint8 equal', 'bool', 'buffer', 'unused_buffer', 'timer', 'bitmap', 'nullptr', 'capability', 'tmp', 'odd type'];
const { description: anyDescription } = fc.letrec<{ description: StateDescription; field: FieldDescription }>((tie) => ({
  field: fc.oneof(
    { weight: 5, arbitrary: fc.record({ name: fc.constantFrom('a', 'b', 'c'), type: fc.constantFrom(...FIELD_TYPES), size: fc.oneof(fc.constantFrom(0, 1, 2, 4, 8), fc.integer({ min: -2, max: 70 })) }, { requiredKeys: ['name', 'type', 'size'] }) },
    { weight: 1, arbitrary: fc.record({ name: fc.constant('s'), type: fc.constant('struct'), size: fc.nat(8), struct: tie('description') }) },
  ).chain((field) => fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }).map((array_len) => (array_len === undefined ? field : { ...field, array_len }))),
  description: fc.record({
    vmsd_name: fc.constantFrom('dev', 'dev/sub', 'x'),
    fields: fc.array(tie('field') as fc.Arbitrary<FieldDescription>, { maxLength: 6 }),
    subsections: fc.array(tie('description') as fc.Arbitrary<StateDescription>, { maxLength: 2, depthIdentifier: 'sub' }),
  }, { requiredKeys: ['fields'] }),
}));

/** What the description would have QEMU write, for bytes that mostly fit (then mutated). */
function bytesFor(description: StateDescription): Buffer {
  const out: Buffer[] = [];
  for (const field of description.fields ?? []) {
    for (let i = 0; i < (field.array_len ?? 1); i++) {
      if (field.type === 'struct' && field.struct) out.push(bytesFor(field.struct));
      else if (field.type === 'capability') out.push(Buffer.from([3]), Buffer.from('cap'));
      else if (field.type === 'nullptr') out.push(Buffer.from('0'));
      else out.push(Buffer.alloc(Math.max(0, field.size), 0xa5));
    }
  }
  for (const sub of description.subsections ?? []) {
    const name = Buffer.from(sub.vmsd_name ?? '');
    out.push(Buffer.from([0x05, name.length]), name, Buffer.alloc(4), bytesFor(sub));
  }
  return Buffer.concat(out);
}

export const TARGETS: Record<string, AnyProperty> = {
  prologue: fc.property(fc.oneof(mutated(PROLOGUES), anyBytes), (bytes) =>
    accepts(() => {
      const image = decodePrologue(bytes, { maxDataLen: 1 << 20, allowPartial: true });
      inspectPrologue(image, { payloadHead: Buffer.alloc(0), payloadLength: null });
      image.region.blocks.forEach((block) => block.root);
    }),
  ),
  gatherer: fc.property(mutated(PROLOGUES), fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) =>
    accepts(() => {
      const gatherer = new PrologueGatherer({ maxDataLen: 1 << 20 });
      for (const chunk of chunked(bytes, cuts)) if (gatherer.push(chunk)) return;
      throw gatherer.endError();
    }),
  ),
  walker: fc.property(fc.oneof({ weight: 4, arbitrary: mutated(STREAMS) }, anyBytes), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (bytes, cuts, pages) =>
    accepts(() => {
      const walker = new QemuStreamWalker({ baseOffset: 100, maxFooterScanBytes: 1 << 16, ...(pages ? { onPage: () => undefined } : {}) });
      for (const chunk of chunked(bytes, cuts)) walker.feed(chunk);
      walker.end();
      const end = describeStreamEnd(bytes);
      if (end.kind === 'vmdescription') decodeVmDescription(bytes.toString('utf8', end.jsonOffset, end.jsonOffset + end.jsonLength));
    }),
  ),
  edits: fc.property(mutated(PROLOGUES), fc.string({ maxLength: 200 }), fc.constantFrom(2, 3), (bytes, xml, version) =>
    accepts(() => {
      const image = decodePrologue(bytes, { maxDataLen: 1 << 20 });
      planSet(image, { version, wasRunning: 0, dropExtensions: true });
      planRewrite(image, { xml: Buffer.from(xml), version, force: true, slack: 10 });
      planDefine(image, Buffer.from(image.region.xml.text.replace('</name>', `${xml.replace(/[<&]/g, '')}</name>`)));
    }),
  ),
  images: fc.asyncProperty(mutated(IMAGES), fc.constantFrom('walk', 'hash', 'rewrite', 'extract'), (bytes, what) =>
    acceptsAsync(() =>
      onFile(bytes, async (fd) => {
        const source = new FdSource(fd);
        if (what === 'walk') return walkImage(source, { readOptions: { maxDataLen: 1 << 20 } });
        if (what === 'hash') return hashImage(source, { maxDataLen: 1 << 20 });
        if (what === 'extract') return extractRam(source, join(dirname(scratch), 'ram'), { readOptions: { maxDataLen: 1 << 20 } });
        const out = openSync('/dev/null', 'w');
        try {
          return await rewriteImage({ source, openOutput: () => out, readOptions: { maxDataLen: 1 << 20 }, plan: (image) => planRewrite(image, { wasRunning: 0, slack: 8 }) });
        } finally {
          closeSync(out);
        }
      }),
    ),
  ),
  // `savekit check` itself (it adds the XML, cookie and seal checks to the walk): exit 0, or exit
  // 1 with a coded error; never an internal error, never another status.
  check: fc.asyncProperty(mutated(IMAGES), async (bytes) => {
    writeFileSync(scratch, bytes);
    const result = await runInProcess(['check', '--max-data-len', String(1 << 20), scratch]);
    if (result.status === 0) return true;
    if (result.status === 1 && /^error\[ERR_[A-Z_]+\]/.test(result.stderr) && !result.stderr.includes('internal error')) return true;
    throw new Error(`check ended with status ${result.status}: ${result.stderr.slice(0, 500)}`);
  }),
  transform: fc.asyncProperty(mutated(IMAGES), fc.array(fc.nat(), { maxLength: 12 }), (bytes, cuts) =>
    acceptsAsync(async () => {
      const plan = (image: SaveImagePrologue) => planRewrite(image, { wasRunning: 0, slack: 8 });
      const out = await throughRewriteStream(chunked(bytes, cuts), plan);
      // It went through: the new prologue, then every payload byte as it came (the check's own
      // errors are failures, not accepted outcomes).
      let expected: Buffer;
      try {
        const image = decodePrologue(bytes, { maxDataLen: 1 << 20 });
        expected = Buffer.concat([plan(image), bytes.subarray(image.payloadOffset)]);
      } catch (error) {
        throw new Error(`the rewrite stream took an image the codec refuses: ${String(error)}`);
      }
      if (!out.equals(expected)) throw new Error('the rewrite stream changed a payload byte or wrote another prologue');
    }),
  ),
  // The device-state decoder: random descriptions with bytes that fit, cut, grown or flipped;
  // a result renders both ways, anything else is a coded error.
  state: fc.property(anyDescription, fc.nat(), fc.integer({ min: -3, max: 3 }), fc.option(fc.nat(), { nil: undefined }), (description, cutSeed, grow, flip) =>
    accepts(() => {
      let bytes = bytesFor(description);
      if (grow < 0) bytes = bytes.subarray(0, Math.max(0, bytes.length - (cutSeed % (bytes.length + 1))));
      else if (grow > 0) bytes = Buffer.concat([bytes, Buffer.alloc(grow)]);
      if (flip !== undefined && bytes.length > 0) bytes[flip % bytes.length] ^= 0xff;
      const device: DeviceDescription = { name: 'dev', instance_id: 0, ...description };
      const state = decodeDeviceState(bytes, device, { id: 1, name: 'dev', instance: 0, version: 1 });
      formatAnalyzeMigration([{ id: 1, name: 'dev', state }]);
      stateTree(state.entries);
    }),
  ),
  xml: fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom(`<g passwd='x'/>`, `<!DOCTYPE a [<!ENTITY b "c">]><a passwd="&b;"/>`)), (text) => {
    redactSecrets(text);
    return true;
  }),
};

export interface FuzzReport {
  target: string;
  runs: number;
  failure: string | null;
}

/** Runs every target `runsEach` times from `seed`; reports instead of throwing. */
export async function fuzzAll(runsEach: number, seed: number, only?: string): Promise<FuzzReport[]> {
  const reports: FuzzReport[] = [];
  for (const [target, property] of Object.entries(TARGETS)) {
    if (only && target !== only) continue;
    const details = await fc.check(property, { numRuns: runsEach, seed, endOnFailure: true });
    reports.push({ target, runs: details.numRuns, failure: details.failed ? `${String(details.errorInstance ?? 'property false')} for ${fc.stringify(details.counterexample)}`.slice(0, 2000) : null });
  }
  return reports;
}
