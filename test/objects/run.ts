// npm run test:objects: savekit against a real object store, a one-node Ceph 18 with its RADOS
// Gateway (test/objects/ceph.ts), started here and removed at the end. Every s3:// command is
// compared with the same command on local files, byte for byte; what crosses the wire is counted
// by a relay in front of the gateway (counting-proxy.ts); faults are real ones: the gateway
// killed and restarted, connections cut, objects replaced under a read, two writers at once,
// SIGINT. After every test no multipart upload may be left in the bucket. Ends with the line CI
// reads: "N passed, N failed". Root only (Ceph runs in the Debian 13 root).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// The library as users import it (built): under tsx, a transfer thread that loads its .ts while this thread blocks in a read never starts.
import { hashImage, openSourceAt, patchImageAt, planSet, readPrologueAt } from '../../dist/index.js';
import { objectAddressOf } from '../../lib/io/s3/address.js';
import { FIRST_READ_BYTES } from '../../lib/io/s3/object-prologue.js';
import { ObjectStore } from '../../lib/io/s3/s3-client.js';
import { writeSyntheticImage } from '../helpers/synthetic-image.js';
import { mountsUnder } from '../interop/debian-root.js';
import { waitFor } from '../interop/stage.js';
import { ACCESS_KEY, Ceph, SECRET_KEY } from './ceph.js';
import { CountingProxy } from './counting-proxy.js';
import { createTally } from '../helpers/tally.js';

const SAVEKIT = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const SAMPLES = fileURLToPath(new URL('../../samples/', import.meta.url));
const BUCKET = 'savekit-test';
const MIB = 1024 * 1024;
/** SAVEKIT_OBJECTS_BIG_GIB: the RAM of the large realistic image (4 by default). */
const BIG_GIB = Number(process.env.SAVEKIT_OBJECTS_BIG_GIB ?? 4);

const tally = createTally();
const record = tally.record;

interface Result {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

let baseEnv: NodeJS.ProcessEnv = {};

/** savekit in a child process (the relay lives in this one's event loop: nothing here may block it). */
function savekit(args: string[], options: { env?: NodeJS.ProcessEnv; input?: Buffer; onStart?: (child: ReturnType<typeof spawn>) => void; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SAVEKIT, ...args], { env: { ...baseEnv, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? Buffer.alloc(0));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    options.onStart?.(child);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** What `command` writes to a terminal (script(1) gives it one), without blocking this process's event loop. */
function onTerminal(command: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...baseEnv, TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.on('close', () => resolve(Buffer.concat(out).toString()));
  });
}

const s3 = (key: string) => `s3://${BUCKET}/${key}`;
const errorCode = (result: Result) => /error\[(ERR_[A-Z_]+)\]/.exec(result.stderr)?.[1] ?? (result.status === 0 ? 'none' : `exit ${result.status}`);

let store: ObjectStore;
let work: string;

async function download(key: string): Promise<Buffer> {
  const address = objectAddressOf(s3(key))!;
  const object = await store.head(address);
  const chunks: Buffer[] = [];
  for (let at = 0; at < object.size; at += 64 * MIB) chunks.push((await store.read(address, at, Math.min(64 * MIB, object.size - at))).bytes);
  return Buffer.concat(chunks);
}

async function exists(key: string): Promise<boolean> {
  try {
    await store.head(objectAddressOf(s3(key))!);
    return true;
  } catch {
    return false;
  }
}

async function assertNoUploadsLeft(after: string): Promise<void> {
  const pending = await store.pendingUploads(BUCKET);
  if (pending.length > 0) record(`no multipart upload left after ${after}`, false, pending.map((upload) => upload.key).join(', '));
}

/** The same command on a file and on its object: outputs equal (the image's name aside). */
async function sameOutput(label: string, args: (image: string) => string[], file: string, key: string): Promise<void> {
  const local = await savekit(args(file));
  const remote = await savekit(args(s3(key)));
  const strip = (result: Result, name: string) => result.stdout.toString('latin1').replaceAll(name, 'IMAGE');
  const ok = local.status === remote.status && strip(local, file) === strip(remote, s3(key));
  record(label, ok, ok ? '' : `exit ${local.status}/${remote.status} ${remote.stderr.trim().slice(0, 200)}`);
}

function genuineSamples(): string[] {
  const found: string[] = [];
  for (const folder of ['libvirt-7.0', 'libvirt-9.0', 'libvirt-11.3', 'aarch64']) {
    const dir = join(SAMPLES, folder);
    for (const name of readdirSync(dir)) if (name.endsWith('.save') && statSync(join(dir, name)).isFile()) found.push(join(dir, name));
  }
  return found;
}

async function samplesRoundTrip(): Promise<void> {
  for (const sample of genuineSamples()) {
    const name = sample.slice(SAMPLES.length);
    const key = `samples/${name}`;
    const up = await savekit(['rewrite', '--quiet', sample, s3(key)]);
    const same = up.status === 0 && (await download(key)).equals(readFileSync(sample));
    record(`${name}: rewrite FILE s3:// stores it byte for byte`, same, up.stderr.trim().slice(0, 200));
    if (!same) continue;
    await sameOutput(`${name}: info --json`, (image) => ['info', '--json', image], sample, key);
    await sameOutput(`${name}: walk --json`, (image) => ['walk', '--json', '--quiet', image], sample, key);
    await sameOutput(`${name}: hash, verify`, (image) => ['hash', '--quiet', image], sample, key);
    await sameOutput(`${name}: state --json --registers`, (image) => ['state', '--json', '--registers', '--quiet', image], sample, key);
    await sameOutput(`${name}: dumpxml`, (image) => ['dumpxml', image], sample, key);
    await sameOutput(`${name}: cpu --json`, (image) => ['cpu', '--json', image], sample, key);
  }
}

/** The library takes the same addresses: readPrologueAt, openSourceAt with walkImage and hashImage, patchImageAt. */
async function libraryAddresses(): Promise<void> {
  const sample = join(SAMPLES, 'libvirt-9.0/raw.save');
  const key = 'library/raw.save';
  await savekit(['rewrite', '--quiet', sample, s3(key)]);
  const options = { env: baseEnv };
  const [local, remote] = [await readPrologueAt(sample), await readPrologueAt(s3(key), options)];
  record('library: readPrologueAt(s3://) is readPrologueAt(FILE)', local.prologueBytes.equals(remote.prologueBytes) && local.fileSize === remote.fileSize);
  const digests: string[] = [];
  for (const target of [sample, s3(key)]) {
    const opened = openSourceAt(target, options);
    try {
      digests.push((await hashImage(opened.source)).payload);
    } finally {
      await opened.close();
    }
  }
  record('library: hashImage(openSourceAt(s3://).source) is the file\'s digest', digests[0] === digests[1], digests.join(' '));
  const edited = await patchImageAt(s3(key), (image) => planSet(image, { wasRunning: 0 }), undefined, options);
  const copy = join(work, 'library.save');
  writeFileSync(copy, readFileSync(sample));
  await patchImageAt(copy, (image) => planSet(image, { wasRunning: 0 }));
  for (const mode of ['--physical', '--elf']) {
    const [fromFile, fromStore] = [join(work, `mem-file${mode}`), join(work, `mem-store${mode}`)];
    await savekit(['extract-ram', '--quiet', sample, fromFile, mode]);
    const extracted = await savekit(['extract-ram', '--quiet', s3('samples/libvirt-9.0/raw.save'), fromStore, mode]);
    // --physical is as large as the guest's address space (sparse): compared by cmp, not in memory.
    record(`extract-ram s3:// OUT ${mode}: the bytes it writes from the file`, extracted.status === 0 && spawnSync('cmp', ['-s', fromFile, fromStore]).status === 0, extracted.stderr.trim().slice(0, 200));
  }
  record('library: patchImageAt(s3://) gives the bytes it gives on a file', edited.changed && (await download(key)).equals(readFileSync(copy)));
}

async function formatsRoundTrip(image: string): Promise<void> {
  for (const format of ['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd']) {
    const local = join(work, `f.${format}.save`);
    const key = `formats/${format}.save`;
    await savekit(['convert', '--quiet', '--format', format, image, local]);
    const up = await savekit(['convert', '--quiet', '--format', format, image, s3(key)]);
    record(`convert --format ${format} FILE s3://: the bytes convert writes to a file`, up.status === 0 && (await download(key)).equals(readFileSync(local)), up.stderr.trim().slice(0, 200));
    const backLocal = join(work, `b.${format}.local`);
    const backRemote = join(work, `b.${format}.remote`);
    await savekit(['convert', '--quiet', '--format', 'raw', local, backLocal]);
    const down = await savekit(['convert', '--quiet', '--format', 'raw', s3(key), backRemote]);
    record(`convert --format raw s3://${format} FILE: the bytes from a file`, down.status === 0 && readFileSync(backRemote).equals(readFileSync(backLocal)), down.stderr.trim().slice(0, 200));
    const check = await savekit(['check', '--quiet', s3(key)]);
    record(`check s3:// of a ${format} payload`, check.status === 0, check.stderr.trim().slice(0, 200));
  }
  // Sparse: written to files only (holes), read from the store as a stream like any other.
  const sparse = join(work, 'f.sparse.save');
  await savekit(['convert', '--quiet', '--format', 'sparse', image, sparse]);
  const refused = await savekit(['convert', '--quiet', '--format', 'sparse', image, s3('formats/sparse-out.save')]);
  record('convert --format sparse FILE s3:// is refused (ERR_NOT_SEEKABLE), nothing stored', errorCode(refused) === 'ERR_NOT_SEEKABLE' && !(await exists('formats/sparse-out.save')));
  await savekit(['rewrite', '--quiet', sparse, s3('formats/sparse.save')]);
  const back = join(work, 'b.sparse.remote');
  const backLocal = join(work, 'b.sparse.local');
  await savekit(['convert', '--quiet', '--format', 'raw', sparse, backLocal]);
  const down = await savekit(['convert', '--quiet', '--format', 'raw', s3('formats/sparse.save'), back]);
  record('convert --format raw s3://sparse FILE: the bytes from a file', down.status === 0 && readFileSync(back).equals(readFileSync(backLocal)), down.stderr.trim().slice(0, 200));
  await assertNoUploadsLeft('the format round trips');
}

/** define, set, seal, convert --in-place on an object and on a copy of the file: the same bytes. */
async function editsMatchFiles(image: string, label: string): Promise<void> {
  const key = `edits/${label}.save`;
  const local = join(work, `edit-${label}.save`);
  writeFileSync(local, readFileSync(image));
  await savekit(['rewrite', '--quiet', image, s3(key)]);
  const xml = join(work, 'new.xml');
  writeFileSync(xml, (await savekit(['dumpxml', image])).stdout.toString().replace('</domain>', '  <description>edited in the store</description>\n</domain>'));
  const steps: [string, (target: string) => string[]][] = [
    ['define', (target) => ['define', target, xml]],
    ['set --paused', (target) => ['set', '--paused', target]],
    ['set --version 3', (target) => ['set', '--version', '3', target]],
    ['seal', (target) => ['seal', '--quiet', target]],
    ['convert --in-place --format zstd', (target) => ['convert', '--quiet', '--in-place', '--format', 'zstd', target]],
  ];
  // savekit edit, with an "editor" that adds an element the same way on both.
  const editor = { VISUAL: `sed -i 's|</domain>|  <title>edited by edit</title>\\n</domain>|'` };
  steps.splice(1, 0, ['edit', (target) => ['edit', target]]);
  for (const [name, args] of steps) {
    const env = name === 'edit' ? editor : {};
    const onFile = await savekit(args(local), { env });
    const onObject = await savekit(args(s3(key)), { env });
    const same = onFile.status === 0 && onObject.status === 0 && (await download(key)).equals(readFileSync(local));
    record(`${label}: ${name} on an object gives the bytes it gives on a file`, same, `${onObject.stderr.trim().slice(0, 200)}`);
  }
  const acl = (await store.client.send(new store.sdk.GetObjectAclCommand({ Bucket: BUCKET, Key: key }))) as { Owner?: { ID?: string }; Grants?: { Grantee?: { ID?: string; URI?: string }; Permission?: string }[] };
  const others = (acl.Grants ?? []).filter((grant) => grant.Grantee?.ID !== acl.Owner?.ID);
  record(`${label}: the objects savekit writes are not made public (the owner's grant only)`, others.length === 0 && (acl.Grants ?? []).length > 0, JSON.stringify(acl.Grants));
  const verify = await savekit(['verify', '--quiet', s3(key)]);
  record(`${label}: the sealed object verifies`, verify.status === 0, verify.stderr.trim());
  await assertNoUploadsLeft(`the edits of ${label}`);
}

async function deltasAcrossTheStore(): Promise<void> {
  const mon = join(work, 'mon.save');
  const tue = join(work, 'tue.save');
  writeSyntheticImage(mon, { ramBytes: 48 * MIB, realistic: true });
  writeSyntheticImage(tue, { ramBytes: 48 * MIB, realistic: true, rewritten: (_block, page) => (page % 61 === 0 ? 'data' : null), generation: 2 });
  await savekit(['rewrite', '--quiet', mon, s3('deltas/mon.save')]);
  const tueBytes = readFileSync(tue);
  const localDelta = join(work, 'tue.delta');
  await savekit(['delta', '--quiet', mon, tue, localDelta]);
  const made = await savekit(['delta', '--quiet', s3('deltas/mon.save'), tue, s3('deltas/tue.delta')]);
  record('delta s3://BASE NEW s3://DELTA: the bytes delta writes to a file', made.status === 0 && (await download('deltas/tue.delta')).equals(readFileSync(localDelta)), made.stderr.trim().slice(0, 200));
  for (const base of [mon, s3('deltas/mon.save')]) {
    for (const delta of [localDelta, s3('deltas/tue.delta')]) {
      for (const toStore of [false, true]) {
        const out = toStore ? s3('deltas/tue.rebuilt') : join(work, 'tue.rebuilt');
        const applied = await savekit(['apply', '--quiet', base, delta, out]);
        const bytes = toStore ? await download('deltas/tue.rebuilt') : readFileSync(out);
        record(`apply ${base.startsWith('s3') ? 's3://BASE' : 'BASE'} ${delta.startsWith('s3') ? 's3://DELTA' : 'DELTA'} ${toStore ? 's3://OUT' : 'OUT'} rebuilds NEW byte for byte`, applied.status === 0 && bytes.equals(tueBytes), applied.stderr.trim().slice(0, 200));
      }
    }
  }
  const signed = await savekit(['signature', '--quiet', s3('deltas/mon.save'), s3('deltas/mon.sig')]);
  const viaSignature = await savekit(['delta', '--quiet', '--signature', s3('deltas/mon.sig'), tue, s3('deltas/tue.sigdelta')]);
  const rebuilt = await savekit(['apply', '--quiet', s3('deltas/mon.save'), s3('deltas/tue.sigdelta'), join(work, 'tue.sig-rebuilt')]);
  record('signature s3:// s3://, delta --signature s3:// NEW s3://, apply s3:// s3:// OUT: NEW byte for byte', signed.status === 0 && viaSignature.status === 0 && rebuilt.status === 0 && readFileSync(join(work, 'tue.sig-rebuilt')).equals(tueBytes), `${signed.stderr}${viaSignature.stderr}${rebuilt.stderr}`.trim().slice(0, 300));
  const diffLocal = await savekit(['diff', '--json', mon, tue]);
  const diffRemote = await savekit(['diff', '--json', s3('deltas/mon.save'), s3('deltas/tue.rebuilt')]);
  const strip = (text: string) => text.replaceAll(mon, 'A').replaceAll(tue, 'B').replaceAll(s3('deltas/mon.save'), 'A').replaceAll(s3('deltas/tue.rebuilt'), 'B');
  record('diff s3:// s3:// says what diff FILE FILE says', diffRemote.status === diffLocal.status && strip(diffRemote.stdout.toString()) === strip(diffLocal.stdout.toString()));
  await assertNoUploadsLeft('the deltas');
}

/** info, define and delta --signature of a large realistic image: requests and bytes counted at the relay. */
async function countedOnALargeImage(proxy: CountingProxy, env: NodeJS.ProcessEnv): Promise<void> {
  const big = join(work, 'big.save');
  writeSyntheticImage(big, { ramBytes: BIG_GIB * 1024 * MIB, realistic: true });
  const size = statSync(big).size;
  const up = await savekit(['rewrite', '--quiet', big, s3('big/mon.save')], { env });
  proxy.reset();
  record(`a ${BIG_GIB} GiB realistic image (${(size / 1e9).toFixed(2)} GB) stored`, up.status === 0, up.stderr.trim().slice(0, 200));

  const hashes = [await savekit(['hash', '--quiet', big]), await savekit(['hash', '--quiet', s3('big/mon.save')], { env })];
  const read = proxy.reset();
  record(`hash s3:// of the ${BIG_GIB} GiB image equals hash of the file`, hashes[1]!.status === 0 && hashes[0]!.stdout.equals(hashes[1]!.stdout), `${read.requests} requests, ${(read.received / 1e9).toFixed(2)} GB received`);

  const info = await savekit(['info', '--json', s3('big/mon.save')], { env });
  const infoCounts = proxy.reset();
  const region = (JSON.parse(info.stdout.toString()) as { payloadOffset: number }).payloadOffset;
  const infoBudget = Math.max(FIRST_READ_BYTES, region) + 16 * 1024; // the bytes asked for, and HTTP headers
  record(`info s3:// of the ${BIG_GIB} GiB image: at most 2 GETs and 64 KiB plus the data region`, info.status === 0 && infoCounts.requests <= 2 && (infoCounts.byMethod.GET ?? 0) === infoCounts.requests && infoCounts.received <= infoBudget, `${infoCounts.requests} requests, ${infoCounts.received} bytes received, ${infoCounts.sent} sent`);
  console.log(`     counted: info: ${JSON.stringify(infoCounts)}`);

  const xml = join(work, 'big.xml');
  writeFileSync(xml, (await savekit(['dumpxml', big])).stdout.toString().replace('</domain>', '  <description>edited in the store</description>\n</domain>'));
  proxy.reset();
  const started = Date.now();
  const defined = await savekit(['define', s3('big/mon.save'), xml], { env });
  const ended = performance.now();
  const seconds = (Date.now() - started) / 1000;
  const log = proxy.log;
  // The window Ceph 18 leaves two writers: from the last look (HEAD) to the end of the completion.
  const lastLook = proxy.times[log.findLastIndex((line) => line.startsWith('HEAD '))];
  if (lastLook !== undefined) console.log(`     define window: ${(ended - lastLook).toFixed(1)} ms from the HEAD to the end of the command (the completion and the exit)`);
  const defineCounts = proxy.reset();
  // Part 1 is the new prologue filled to 5 MiB with the payload's first bytes: those come down once and go up once.
  const budget = 6 * MIB + statSync(xml).size + region;
  record(`define s3:// of the ${BIG_GIB} GiB image sends at most 6 MiB plus the XML, and receives as much`, defined.status === 0 && defineCounts.sent <= budget && defineCounts.received <= budget, `${defineCounts.requests} requests, ${defineCounts.sent} bytes sent, ${defineCounts.received} received, ${seconds.toFixed(2)} s`);
  console.log(`     counted: define: ${JSON.stringify(defineCounts)} requests: ${log.map((line) => line.split('?')[0]!.split(' ')[0]).join(' ')}`);
  await savekit(['define', big, xml]);
  const after = [await savekit(['hash', '--quiet', big]), await savekit(['hash', '--quiet', s3('big/mon.save')], { env })];
  record('the edited object hashes as the file edited the same way', after[0]!.stdout.equals(after[1]!.stdout) && after[1]!.status === 0);
  // On a terminal, a read from the store knows the object's size: percentage, total and ETA, as from a file.
  const bar = await onTerminal(`"${process.execPath}" "${SAVEKIT}" hash ${s3('big/mon.save')} 2>&1 >/dev/null`);
  record('hash s3:// on a terminal: the progress bar has the total (percentage, size, ETA)', /\d+% \| .* of \d+(\.\d+)? [MG]iB \| .*ETA/.test(bar), bar.replace(/\s+/g, ' ').slice(-200));

  const sig = join(work, 'big.sig');
  await savekit(['signature', '--quiet', big, sig]);
  const sigUp = await savekit(['signature', '--quiet', big, s3('big/mon.sig')]);
  record('signature FILE s3://SIG stores the bytes signature writes to a file', sigUp.status === 0 && (await download('big/mon.sig')).equals(readFileSync(sig)), sigUp.stderr.trim().slice(0, 200));
  const tue = join(work, 'big-tue.save');
  writeSyntheticImage(tue, { ramBytes: BIG_GIB * 1024 * MIB, realistic: true, rewritten: (_block, page) => (page % 211 === 0 ? 'data' : null), generation: 2 });
  rmSync(big);
  proxy.reset();
  const delta = await savekit(['delta', '--quiet', '--signature', s3('big/mon.sig'), tue, join(work, 'big.delta')], { env });
  const deltaCounts = proxy.reset();
  const sigBytes = statSync(sig).size;
  record('delta --signature s3://SIG NEW OUT reads only the signature from the store', delta.status === 0 && deltaCounts.received <= sigBytes + 64 * 1024 && (deltaCounts.byMethod.PUT ?? 0) === 0, `signature ${sigBytes} bytes; ${deltaCounts.requests} requests, ${deltaCounts.received} bytes received`);
  console.log(`     counted: delta --signature: ${JSON.stringify(deltaCounts)}`);
  rmSync(tue);
  rmSync(join(work, 'big.delta'), { force: true });
  await assertNoUploadsLeft('the large image');
}

async function faults(ceph: Ceph, proxy: CountingProxy, env: NodeJS.ProcessEnv): Promise<void> {
  const sample = join(SAMPLES, 'libvirt-9.0/raw.save');
  const medium = join(work, 'medium.save');
  writeSyntheticImage(medium, { ramBytes: 256 * MIB, realistic: true });
  await savekit(['rewrite', '--quiet', medium, s3('faults/medium.save')]);

  // Credentials and addresses.
  const denied = await savekit(['info', s3('faults/medium.save')], { env: { AWS_SECRET_ACCESS_KEY: 'not-the-secret' } });
  record('wrong credentials: ERR_STORE_DENIED, exit 1, no secret printed', errorCode(denied) === 'ERR_STORE_DENIED' && denied.status === 1 && !denied.stderr.includes('not-the-secret') && !denied.stderr.includes(SECRET_KEY), denied.stderr.trim());
  const deniedWrite = await savekit(['rewrite', '--quiet', sample, s3('faults/denied.save')], { env: { AWS_ACCESS_KEY_ID: 'nobody-at-all' } });
  record('wrong credentials on a write: ERR_STORE_DENIED, nothing stored', errorCode(deniedWrite) === 'ERR_STORE_DENIED' && !(await exists('faults/denied.save')), deniedWrite.stderr.trim());
  const noBucket = await savekit(['hash', `s3://no-such-bucket-here/x.save`]);
  record('a missing bucket: ERR_OBJECT_NOT_FOUND', errorCode(noBucket) === 'ERR_OBJECT_NOT_FOUND' && noBucket.status === 1, noBucket.stderr.trim());
  const noKey = await savekit(['info', s3('faults/nothing-here.save')]);
  const noKeyStream = await savekit(['walk', s3('faults/nothing-here.save')]);
  record('a missing key: ERR_OBJECT_NOT_FOUND (prologue and stream readers)', errorCode(noKey) === 'ERR_OBJECT_NOT_FOUND' && errorCode(noKeyStream) === 'ERR_OBJECT_NOT_FOUND', `${noKey.stderr.trim()} / ${noKeyStream.stderr.trim()}`);
  const malformed = await savekit(['info', 's3://Bad_Bucket']);
  record('a malformed address: ERR_USAGE, exit 2', errorCode(malformed) === 'ERR_USAGE' && malformed.status === 2, malformed.stderr.trim());
  const json = await savekit(['info', '--json', s3('faults/nothing-here.save')]);
  record('--json errors name the code and never a credential', JSON.parse(json.stdout.toString()).error?.code === 'ERR_OBJECT_NOT_FOUND' && !json.stdout.toString().includes(ACCESS_KEY));

  // Replaced under a read: the reader is held (stdout not read) while the object is replaced.
  {
    let resume: () => void = () => undefined;
    const result = savekit(['rewrite', '--quiet', s3('faults/medium.save'), '-'], {
      onStart: (child) => {
        child.stdout!.pause();
        resume = () => child.stdout!.resume();
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await store.put(objectAddressOf(s3('faults/medium.save'))!, readFileSync(sample));
    resume();
    const replaced = await result;
    // The GET under way may go on serving the object it began with (radosgw does), or break off and be asked again under its ETag (412).
    const whole = replaced.status === 0 && replaced.stdout.equals(readFileSync(medium));
    record('an object replaced during a read: the image as the read began, whole, or ERR_IMAGE_CHANGED; never a mix', whole || (errorCode(replaced) === 'ERR_IMAGE_CHANGED' && replaced.status === 1), `exit ${replaced.status} ${replaced.stderr.trim().slice(0, 200)}`);
    await savekit(['rewrite', '--quiet', medium, s3('faults/medium.save')]);
  }

  // Replaced under a read whose connection then breaks: the read is asked again under its ETag, and refused.
  {
    let resume: () => void = () => undefined;
    const result = savekit(['rewrite', '--quiet', s3('faults/medium.save'), '-'], {
      env,
      onStart: (child) => {
        child.stdout!.pause();
        resume = () => child.stdout!.resume();
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await store.put(objectAddressOf(s3('faults/medium.save'))!, readFileSync(sample));
    proxy.cutAll();
    resume();
    const replaced = await result;
    record('an object replaced under a read whose connection breaks: ERR_IMAGE_CHANGED (the resumed GET carries If-Match)', errorCode(replaced) === 'ERR_IMAGE_CHANGED' && replaced.status === 1, `exit ${replaced.status} ${replaced.stderr.trim().slice(0, 200)}`);
    await savekit(['rewrite', '--quiet', medium, s3('faults/medium.save')]);
  }

  // Two defines on one object at once: both requests are held at the relay and let go together.
  for (const [label, image] of [['small', sample], ['multipart', medium]] as const) {
    const key = `faults/race-${label}.save`;
    await savekit(['rewrite', '--quiet', image, s3(key)]);
    const base = (await savekit(['dumpxml', image])).stdout.toString();
    const xmls = ['one', 'two'].map((word) => {
      const path = join(work, `race-${word}.xml`);
      writeFileSync(path, base.replace('</domain>', `  <description>${word}</description>\n</domain>`));
      return path;
    });
    // The small object's PUT, or the multipart one's last look before completing (a HEAD): held until both are there.
    proxy.holdUntil(2, (line) => (label === 'small' ? line.startsWith('PUT ') : line.startsWith('HEAD ')));
    const results = await Promise.all(xmls.map((xml) => savekit(['define', s3(key), xml], { env })));
    const codes = results.map(errorCode).sort();
    if (label === 'small') {
      record('two defines on one small object at once: one succeeds, one ERR_IMAGE_CHANGED', codes[0] === 'ERR_IMAGE_CHANGED' && codes[1] === 'none', codes.join(', '));
    } else {
      // Ceph 18 ignores If-Match on CompleteMultipartUpload: when both looked before either completed, both complete (README: the window).
      const stored = (await savekit(['dumpxml', s3(key)])).stdout.toString();
      const whole = stored.includes('<description>one</description>') !== stored.includes('<description>two</description>');
      record('two defines on one large object, both past their last look: the object is one of the two, whole (Ceph 18 ignores If-Match on completion)', whole && codes.every((code) => code === 'none' || code === 'ERR_IMAGE_CHANGED'), codes.join(', '));
    }
    await assertNoUploadsLeft(`two defines (${label})`);
  }
  {
    // One define after another one's completion: the second one's ETag check catches it.
    const key = 'faults/race-serial.save';
    await savekit(['rewrite', '--quiet', medium, s3(key)]);
    proxy.holdUntil(2, (line) => line.startsWith('HEAD ')); // only this define's HEAD comes through the relay: held until released
    const xml = join(work, 'race-one.xml');
    const first = savekit(['define', s3(key), xml], { env });
    await waitFor(() => proxy.held() === 1, 60_000);
    const other = await savekit(['set', '--paused', s3(key)]);
    proxy.release();
    const held = await first;
    record('a define whose object was replaced before its last look: ERR_IMAGE_CHANGED, the other edit kept', other.status === 0 && errorCode(held) === 'ERR_IMAGE_CHANGED' && !(await savekit(['dumpxml', s3(key)])).stdout.toString().includes('<description>one</description>'), `${errorCode(other)} ${held.stderr.trim().slice(0, 200)}`);
    await assertNoUploadsLeft('a define overtaken');
  }

  // SIGINT mid-upload over an object that is there: it stays as it was.
  {
    await savekit(['rewrite', '--quiet', sample, s3('faults/interrupted.save')]);
    const result = savekit(['rewrite', '--quiet', medium, s3('faults/interrupted.save')], {
      env,
      onStart: (child) => {
        const poll = setInterval(() => {
          if ((proxy.counts.byMethod.PUT ?? 0) >= 1) {
            clearInterval(poll);
            child.kill('SIGINT');
          }
        }, 5);
      },
    });
    proxy.reset();
    const interrupted = await result;
    const before = (await download('faults/interrupted.save')).equals(readFileSync(sample));
    record('SIGINT mid-upload: exit 130, ERR_INTERRUPTED, the upload aborted, the object there before unchanged', interrupted.status === 130 && errorCode(interrupted) === 'ERR_INTERRUPTED' && before && (await store.pendingUploads(BUCKET)).length === 0, `${interrupted.status} ${interrupted.stderr.trim().slice(0, 200)}`);
  }

  // The gateway killed mid-upload, then started again.
  {
    proxy.reset();
    const result = savekit(['rewrite', '--quiet', medium, s3('faults/killed-upload.save')], { env, timeoutMs: 180_000 });
    await waitFor(() => (proxy.counts.byMethod.PUT ?? 0) >= 2, 60_000);
    await ceph.killGateway();
    ceph.startGateway();
    const ended = await result;
    await ceph.waitForGateway();
    const stored = await exists('faults/killed-upload.save');
    const ok = ended.status === 0 ? stored && (await download('faults/killed-upload.save')).equals(readFileSync(medium)) : !stored && ['ERR_STORE_UNREACHABLE', 'ERR_IO'].includes(errorCode(ended));
    record('radosgw killed mid-upload and restarted: the upload completes byte for byte, or fails with no object', ok, `exit ${ended.status}: ${ended.stderr.trim().slice(0, 300)}`);
    await waitFor(() => false, 500);
    const pending = await store.pendingUploads(BUCKET);
    record('radosgw killed mid-upload: the upload was aborted once the store came back (none left)', pending.length === 0, pending.map((upload) => upload.uploadId).join(', '));
  }

  // The gateway killed mid-read, then started again; and connections cut under a read.
  {
    const local = await savekit(['hash', '--quiet', medium]);
    let child: ReturnType<typeof spawn> | null = null;
    const result = savekit(['rewrite', '--quiet', s3('faults/medium.save'), '-'], { timeoutMs: 180_000, onStart: (started) => (child = started) });
    await waitFor(() => false, 300);
    (child as ReturnType<typeof spawn> | null)?.stdout?.pause();
    await ceph.killGateway();
    ceph.startGateway();
    (child as ReturnType<typeof spawn> | null)?.stdout?.resume();
    const ended = await result;
    const resumed = ended.status === 0 && ended.stdout.equals(readFileSync(medium));
    record('radosgw killed mid-read and restarted: the read resumes byte for byte or fails clearly, never hangs', resumed || ['ERR_STORE_UNREACHABLE'].includes(errorCode(ended)), `exit ${ended.status} ${ended.stderr.trim().slice(0, 200)}`);
    await ceph.waitForGateway();
    const cut = savekit(['hash', '--quiet', s3('faults/medium.save')], { env, timeoutMs: 120_000 });
    await waitFor(() => false, 200);
    proxy.cutAll();
    await waitFor(() => false, 100);
    proxy.cutAll();
    const cutResult = await cut;
    record('connections cut under a read: it resumes from the byte it reached (same digest)', cutResult.status === 0 && cutResult.stdout.equals(local.stdout), cutResult.stderr.trim().slice(0, 200));
  }
  await assertNoUploadsLeft('the faults');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.log('test:objects starts Ceph in a Debian root: run it as root');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  work = mkdtempSync(join(tmpdir(), 'savekit-objects-'));
  let ceph: Ceph | null = null;
  let proxy: CountingProxy | null = null;
  try {
    ceph = await Ceph.start();
    baseEnv = ceph.env({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
    process.env = { ...baseEnv }; // this process's own client (downloads, listings) reads the same configuration
    store = await ObjectStore.connect(baseEnv);
    await store.createBucket(BUCKET);
    proxy = await CountingProxy.start(Number(new URL(ceph.endpoint).port));
    const counted = { AWS_ENDPOINT_URL: proxy.endpoint };
    const mid = join(work, 'mid.save');
    writeSyntheticImage(mid, { ramBytes: 24 * MIB, realistic: true });
    mkdirSync(join(work, 'out'), { recursive: true });

    await samplesRoundTrip();
    await libraryAddresses();
    await formatsRoundTrip(mid);
    await editsMatchFiles(join(SAMPLES, 'libvirt-9.0/raw.save'), 'small');
    await editsMatchFiles(mid, 'multipart');
    await deltasAcrossTheStore();
    await countedOnALargeImage(proxy, counted);
    await faults(ceph, proxy, counted);
  } catch (error) {
    record('the object-store suite ran to its end', false, error instanceof Error ? (error.stack ?? error.message) : String(error));
  } finally {
    store?.close();
    await proxy?.stop();
    await ceph?.stop();
    rmSync(work, { recursive: true, force: true });
    if (ceph) {
      const left = mountsUnder(ceph.root);
      record('Ceph stopped: nothing left running or mounted', left.length === 0, left.join(', '));
    }
  }
  console.log(tally.summary());
  process.exit(tally.failed === 0 ? 0 : 1);
}

await main();
