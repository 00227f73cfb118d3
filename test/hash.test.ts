// XXH64 in the native addon equals xxhash-wasm's (the reference savekit shipped with) for every
// length around its 32-byte stripes, however the input is cut into updates, over Buffers and
// shared memory, for both page-hash seeds; `savekit hash` prints the same digest with the addon
// turned off, and so does the library; and the addon's functions refuse what they cannot hash.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import xxhash from 'xxhash-wasm';
import { createPageHasher, createXxh64, xxh64Implementation } from '../lib/hash.js';
import { nativeAddon, useNativeAddon } from '../lib/native.js';
import { samplePath } from './helpers/samples.js';
import { runBinary } from './helpers/cli.js';

const test = suite('hash');
const wasm = await xxhash();
const PRIME64_1 = 0x9e3779b185ebca87n;
const hex = (value: bigint) => value.toString(16).padStart(16, '0');

test('the addon hashes (so the fallback below is not all that ever runs)', () => {
  assert.is(xxh64Implementation(), 'native', 'build/Release or prebuilds/linux-x64 did not load: run npm install');
});

test('every length from 0 to 300 and past 1 MiB: the same digest as xxhash-wasm', async () => {
  const bytes = randomBytes(1024 * 1024 + 300);
  for (const length of [...Array.from({ length: 301 }, (_, n) => n), 1024 * 1024 - 1, 1024 * 1024 + 31, bytes.length]) {
    const hasher = await createXxh64();
    hasher.update(bytes.subarray(0, length));
    assert.is(hasher.digestHex(), hex(wasm.h64Raw(bytes.subarray(0, length))), `length ${length}`);
  }
});

test('cut into any updates, empty ones too: the digest of the whole', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.array(fc.nat(600), { maxLength: 12 }), async (bytes, cuts) => {
      const hasher = await createXxh64();
      const points = [0, ...cuts.map((cut) => Math.min(cut, bytes.length)).sort((a, b) => a - b), bytes.length];
      for (let i = 1; i < points.length; i++) hasher.update(bytes.subarray(points[i - 1], points[i]));
      assert.is(hasher.digestHex(), hex(wasm.h64Raw(bytes)));
    }),
    { numRuns: 400 },
  );
});

test('a view of shared memory (the hashing thread reads its slots so)', async () => {
  const shared = new Uint8Array(new SharedArrayBuffer(70000), 3, 65536);
  shared.set(randomBytes(shared.length));
  const hasher = await createXxh64();
  hasher.update(shared);
  assert.is(hasher.digestHex(), hex(wasm.h64Raw(Uint8Array.from(shared))));
});

test('page hashes: seeds 0 and PRIME64_1, big-endian, as xxhash-wasm gives them', async () => {
  const hashPage = await createPageHasher();
  for (const page of [Buffer.alloc(4096), randomBytes(4096), randomBytes(4096), randomBytes(13)]) {
    const expected = Buffer.alloc(16);
    expected.writeBigUInt64BE(wasm.h64Raw(page, 0n), 0);
    expected.writeBigUInt64BE(wasm.h64Raw(page, PRIME64_1), 8);
    assert.ok(hashPage(page).equals(expected), page.toString('hex', 0, 8));
  }
});

test('the addon refuses a state too small or misaligned, and bytes that are not a Uint8Array', () => {
  const native = nativeAddon()!;
  const state = new Uint8Array(new ArrayBuffer(native.XXH64_STATE_BYTES + 8));
  assert.throws(() => native.xxh64Init(state.subarray(0, native.XXH64_STATE_BYTES - 1), 0n), /state/);
  assert.throws(() => native.xxh64Init(state.subarray(1, 1 + native.XXH64_STATE_BYTES), 0n), /state/);
  native.xxh64Init(state, 0n);
  assert.throws(() => native.xxh64Update(state, new Uint16Array(4) as unknown as Uint8Array), /Uint8Array/);
  assert.throws(() => native.xxh64Update(state, 'text' as unknown as Uint8Array), /Uint8Array/);
  assert.throws(() => native.xxh64Page(Buffer.alloc(4096), Buffer.alloc(15)), /16-byte/);
  assert.is(native.xxh64Digest(state), hex(wasm.h64Raw(new Uint8Array(0))));
});

test('savekit hash with the addon turned off (SAVEKIT_NO_NATIVE): the same digests', () => {
  const image = samplePath('libvirt-11.3/kvm-raw.save');
  const run = (env: NodeJS.ProcessEnv) => runBinary(['hash', image], undefined, env).stdout.toString();
  const withAddon = run({});
  assert.match(withAddon, /^[0-9a-f]{16}  payload/);
  assert.is(run({ SAVEKIT_NO_NATIVE: '1' }), withAddon);
});

test('turned off, XXH64 runs in xxhash-wasm with the same digests; turned on again, in the addon', async () => {
  const bytes = randomBytes(100_003);
  const before = await createXxh64();
  before.update(bytes);
  useNativeAddon(false);
  try {
    assert.is(xxh64Implementation(), 'xxhash-wasm');
    const after = await createXxh64();
    after.update(bytes.subarray(0, 5));
    after.update(bytes.subarray(5));
    assert.is(after.digestHex(), before.digestHex());
    const hashPage = await createPageHasher();
    const expected = Buffer.alloc(16);
    expected.writeBigUInt64BE(wasm.h64Raw(bytes.subarray(0, 4096), 0n), 0);
    expected.writeBigUInt64BE(wasm.h64Raw(bytes.subarray(0, 4096), PRIME64_1), 8);
    assert.ok(hashPage(bytes.subarray(0, 4096)).equals(expected));
  } finally {
    useNativeAddon(true); // the test files after this one share the process
  }
  assert.is(xxh64Implementation(), 'native');
});

test.run();
