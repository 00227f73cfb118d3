// npm run test:interop: savekit against the real thing, in three stages: the machine's own
// libvirt (Debian 12: libvirt 9.0, QEMU 7.2; installed from Debian's packages when absent), then
// libvirt 7.0 and QEMU 5.2 in a Debian 11 root, then libvirt 11 and QEMU 10 in a Debian 13 root
// (test/interop/debian-root.ts). Each stage runs its own virtlogd and libvirtd (stopped by PID at
// the end, also on failure), saves a tiny guest in every format its libvirt writes, and checks
// that libvirt and QEMU agree with savekit: check, info, walk, state, byte-identical edits, seals
// that survive virsh's edits, restores of every image savekit wrote, edited or converted, and a
// cut copy refused. The 9.0 and 11 stages add memory pairs, a busy guest and an aarch64 guest;
// the 11 stage restores the images the 7.0 and 9.0 stages saved, as a host upgrade would. Exits
// non-zero, saying why, when the machine cannot build a root or run a guest.
// SAVEKIT_INTEROP_FAIL_AT=STAGE (9.0, 7.0 or 11) fails on purpose once that stage is up, to prove
// that nothing is left running, mounted or configured.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GUEST, sh, Stage } from './stage.js';
import { busyInitramfs, checkBusyGuest } from './busy-guest.js';
import { checkMemoryPair, memoryGuests } from './memory-pairs.js';
import { CACHE, ensureDebianRoot, mountInto, mountsUnder } from './debian-root.js';
import { arm64Guest, checkAarch64Guest } from './aarch64-guest.js';
import { ensureHostPackages } from './host-packages.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SAVEKIT = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FAIL_AT = process.env.SAVEKIT_INTEROP_FAIL_AT ?? null;
/** SAVEKIT_INTEROP_SKIP_MEMORY=1 leaves out the memory pairs (each dumps 4.5 GiB guests). */
const SKIP_MEMORY = process.env.SAVEKIT_INTEROP_SKIP_MEMORY === '1';
const SKIP_BUSY = process.env.SAVEKIT_INTEROP_SKIP_BUSY === '1';
/** SAVEKIT_INTEROP_SKIP_AARCH64=1 leaves out the aarch64 guests (TCG boots of an arm64 kernel). */
const SKIP_AARCH64 = process.env.SAVEKIT_INTEROP_SKIP_AARCH64 === '1';
const KVM = spawnSync('sh', ['-c', 'test -r /dev/kvm -a -w /dev/kvm']).status === 0;

interface Row {
  check: string;
  ok: boolean;
  detail: string;
}

interface StageReport {
  title: string;
  rows: Row[];
}
const reports: StageReport[] = [];
let current: StageReport | null = null;

function record(check: string, ok: boolean, detail = ''): void {
  current!.rows.push({ check, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${check}${detail ? ` (${detail})` : ''}`);
}

const savekit = (args: string[], input?: Buffer) => sh(process.execPath, [SAVEKIT, ...args], { allowFail: true, ...(input ? { input } : {}) });

/** The guest's definition with its serial log in the stage's work folder. */
function guestXml(stage: Stage): string {
  const file = stage.file('guest.xml');
  writeFileSync(file.host, readFileSync(join(HERE, KVM ? 'guest-kvm.xml' : 'guest.xml'), 'utf8').replaceAll('@WORK@', stage.work));
  return file.inner;
}

async function startGuest(stage: Stage): Promise<void> {
  stage.virsh('destroy', GUEST);
  const created = stage.virsh('create', guestXml(stage));
  if (created.status !== 0) throw new Error(`${stage.label}: this machine cannot run a guest: virsh create failed: ${created.stderr.trim()}`);
  await new Promise((resolve) => setTimeout(resolve, 4000)); // let SeaBIOS run a little
}

/** Saves the guest as `name` in `format`: libvirt 11 takes --image-format, 9.0 its qemu.conf. */
async function saveGuest(stage: Stage, modern: boolean, format: string, name: string, extra: string[] = []): Promise<string> {
  if (!modern) {
    stage.configure(format);
    await stage.restartLibvirtd();
  }
  await startGuest(stage);
  const file = stage.file(name);
  const saved = stage.virsh('save', ...(modern ? ['--image-format', format] : []), ...extra, GUEST, file.inner);
  if (saved.status !== 0) throw new Error(`${stage.label}: virsh save (${format} ${extra.join(' ')}) failed: ${saved.stderr.trim()}`);
  return file.host;
}

function checkImage(stage: Stage, label: string, file: string, format: string): void {
  record(`${label}: savekit check passes`, savekit(['check', file]).status === 0);
  const info = JSON.parse(savekit(['info', '--json', file]).stdout) as { format: string; domain: { name: string; uuid: string }; magic: string };
  const dump = stage.virsh('save-image-dumpxml', join(stage.work, file.slice(stage.workHost.length))).stdout;
  const ok = info.format === format && info.magic === 'LibvirtQemudSave' && dump.includes(`<name>${info.domain.name}</name>`) && dump.includes(`<uuid>${info.domain.uuid}</uuid>`);
  record(`${label}: info --json agrees with virsh save-image-dumpxml and the header`, ok, `format ${info.format}`);
  const walk = savekit(['walk', '--json', file]);
  record(`${label}: savekit walk reaches the end`, walk.status === 0 && (JSON.parse(walk.stdout) as { eof: boolean }).eof);
  const state = savekit(['state', '--format', 'analyze-migration', file]);
  record(`${label}: savekit state decodes every device`, state.status === 0 && state.stdout.includes('"cpu ('), state.stderr.trim().slice(0, 200));
}

/** savekit convert; the output's host path. */
function convert(stage: Stage, input: string, format: string, name: string, extra: string[] = []): string {
  const out = stage.file(name).host;
  const result = savekit(['convert', '--quiet', '--format', format, ...extra, input, out]);
  if (result.status !== 0) record(`convert ${format} ${name}`, false, result.stderr.trim().slice(0, 300));
  return out;
}

const majorMinor = (version: string) => version.split('.').slice(0, 2).join('.');

interface StageSpec {
  stage: Stage;
  /** The name SAVEKIT_INTEROP_FAIL_AT knows the stage by. */
  name: '9.0' | '7.0' | '11';
  /** libvirt 10 and later: save --image-format, sparse, zstd. */
  modern: boolean;
  formats: string[];
  /** The memory pairs, the busy guest and the aarch64 guest (not on the oldest host). */
  guests: boolean;
  /** Where to keep a copy of the stage's raw save for a later stage (a host upgrade). */
  carry?: string;
  /** Images of older hosts to restore here. */
  upgrade?: Array<{ qemu: string; file: string }>;
}

async function runStage(spec: StageSpec): Promise<void> {
  const started = Date.now();
  try {
    await runStageChecks(spec);
  } finally {
    console.log(`(the ${spec.stage.label} stage took ${Math.round((Date.now() - started) / 1000)} s)`);
  }
}

async function runStageChecks({ stage, name, modern, formats, guests, carry, upgrade = [] }: StageSpec): Promise<void> {
  let since = Date.now();
  await stage.start();
  const { libvirt, qemu } = stage.versions();
  current = { title: `${stage.label}: libvirt ${libvirt}, QEMU ${qemu} (${KVM ? 'KVM' : 'TCG'} guest)`, rows: [] };
  reports.push(current);
  console.log(`\n== ${current.title}`);
  if (FAIL_AT === name) throw new Error(`failing on purpose (SAVEKIT_INTEROP_FAIL_AT=${FAIL_AT}) with the ${stage.label} stage up`);

  const saved = new Map<string, string>();
  for (const format of formats) {
    const file = await saveGuest(stage, modern, format, `${format}.save`);
    saved.set(format, file);
    checkImage(stage, format, file, format);
  }
  if (modern) {
    for (const [label, extra] of [
      ['sparse --parallel-channels 2', ['--parallel-channels', '2']],
      ['sparse --bypass-cache', ['--bypass-cache']],
    ] as const) {
      const file = await saveGuest(stage, modern, 'sparse', `${label.replace(/\W+/g, '-')}.save`, [...extra]);
      checkImage(stage, label, file, 'sparse');
      record(`${label}: virsh restore of libvirt's image comes back running`, stage.restoreState(file, label.includes('parallel') ? ['--parallel-channels', '2'] : []) === 'running');
    }
    // A managed save: the file libvirt keeps for a defined domain, then `virsh start` resumes it.
    stage.virsh('destroy', GUEST);
    stage.virsh('define', guestXml(stage));
    stage.virsh('start', GUEST);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const managed = stage.virsh('managedsave', GUEST);
    const managedFile = stage.host(`/var/lib/libvirt/qemu/save/${GUEST}.save`);
    const copy = stage.file('managed.save').host;
    if (managed.status === 0) copyFileSync(managedFile, copy);
    record('managed save: virsh managedsave succeeds', managed.status === 0, managed.stderr.trim());
    if (managed.status === 0) {
      record('managed save: savekit check passes', savekit(['check', copy]).status === 0);
      record('managed save: savekit walk reaches the end', savekit(['walk', copy]).status === 0);
      record('managed save: virsh start resumes it', stage.virsh('start', GUEST).status === 0 && stage.virsh('domstate', GUEST).stdout.trim() === 'running');
    }
    stage.virsh('destroy', GUEST);
    stage.virsh('managedsave-remove', GUEST);
    stage.virsh('undefine', GUEST);
  }

  const raw = saved.get('raw')!;
  // The same stored bytes through virsh and through savekit give the same file.
  const byVirsh = stage.file('define-virsh.save');
  const bySavekit = stage.file('define-savekit.save').host;
  copyFileSync(raw, byVirsh.host);
  copyFileSync(raw, bySavekit);
  const edited = stage.file('edited.xml');
  writeFileSync(edited.host, savekit(['dumpxml', '--security-info', raw]).out.toString().replace('original description', 'edited by virsh save-image-define'));
  const defined = stage.virsh('save-image-define', byVirsh.inner, edited.inner);
  const stored = stage.file('stored.xml').host;
  writeFileSync(stored, savekit(['dumpxml', '--security-info', byVirsh.host]).out);
  const ours = savekit(['define', bySavekit, stored]);
  record('define: byte-identical to virsh save-image-define given the same stored bytes', defined.status === 0 && ours.status === 0 && readFileSync(byVirsh.host).equals(readFileSync(bySavekit)), defined.stderr.trim());

  const sealed = stage.file('sealed.save');
  copyFileSync(raw, sealed.host);
  savekit(['seal', sealed.host]);
  const sealDefined = stage.virsh('save-image-define', sealed.inner, edited.inner);
  record('seal: survives virsh save-image-define (savekit verify passes after it)', sealDefined.status === 0 && savekit(['verify', '--json', sealed.host]).stdout.includes('"ok": true'));

  // Every image savekit wrote, edited or converted restores, in the state its header says.
  const paused = stage.file('paused.save').host;
  copyFileSync(raw, paused);
  savekit(['set', paused, '--paused']);
  const longer = stage.file('longer.xml').host;
  writeFileSync(longer, readFileSync(stored, 'utf8').replace('</description>', `${' and a much longer text'.repeat(4000)}</description>`));
  const piped = stage.file('piped.save').host;
  writeFileSync(piped, savekit(['rewrite', '--xml', longer, '-'], readFileSync(raw)).out);
  const resealed = stage.file('rewrite-sealed.save').host;
  savekit(['rewrite', '--seal', raw, resealed]);
  const restores: Array<[string, string, string, string[]?]> = [
    ['define', bySavekit, 'running'],
    ['set --paused', paused, 'paused'],
    ['rewrite through a pipe with a 90 KB longer XML', piped, 'running'],
    ['rewrite --seal', resealed, 'running'],
  ];

  if (modern) {
    const sparse = saved.get('sparse')!;
    const zstd = saved.get('zstd')!;
    restores.push(
      ['convert raw -> sparse', convert(stage, raw, 'sparse', 'c-raw-sparse.save'), 'running'],
      ['convert raw -> sparse, restored with --parallel-channels 2', stage.file('c-raw-sparse.save').host, 'running', ['--parallel-channels', '2']],
      ['convert sparse -> raw', convert(stage, sparse, 'raw', 'c-sparse-raw.save'), 'running'],
      ['convert sparse -> zstd', convert(stage, sparse, 'zstd', 'c-sparse-zstd.save'), 'running'],
      ['convert zstd -> sparse', convert(stage, zstd, 'sparse', 'c-zstd-sparse.save'), 'running'],
      ['convert zstd -> sparse --paused', convert(stage, zstd, 'sparse', 'c-zstd-sparse-paused.save', ['--paused']), 'paused'],
      ['convert 9.0-style lzop -> zstd (9.0 cannot read zstd)', convert(stage, saved.get('lzop')!, 'zstd', 'c-lzop-zstd.save'), 'running'],
    );
    for (const format of ['gzip', 'bzip2', 'xz', 'lzop', 'zstd']) restores.push([`convert raw -> ${format}`, convert(stage, raw, format, `c-raw-${format}.save`), 'running']);
  } else {
    const viaSparse = convert(stage, raw, 'sparse', 'c-raw-sparse.save');
    const viaZstd = convert(stage, raw, 'zstd', 'c-raw-zstd.save');
    restores.push(
      ['convert gzip -> raw', convert(stage, saved.get('gzip')!, 'raw', 'c-gzip-raw.save'), 'running'],
      ['convert xz -> lzop', convert(stage, saved.get('xz')!, 'lzop', 'c-xz-lzop.save'), 'running'],
      [`convert raw -> sparse -> raw (QEMU ${majorMinor(qemu)} cannot read sparse)`, convert(stage, viaSparse, 'raw', 'c-raw-sparse-raw.save'), 'running'],
      [`convert raw -> zstd -> bzip2 (libvirt ${majorMinor(libvirt)} cannot read zstd)`, convert(stage, viaZstd, 'bzip2', 'c-raw-zstd-bzip2.save'), 'running'],
      ['convert bzip2 -> gzip --paused', convert(stage, saved.get('bzip2')!, 'gzip', 'c-bzip2-gzip-paused.save', ['--paused']), 'paused'],
    );
    for (const format of ['gzip', 'bzip2', 'xz', 'lzop']) restores.push([`convert raw -> ${format}`, convert(stage, raw, format, `c-raw-${format}.save`), 'running']);
  }
  for (const [name, file, state, extra] of restores) {
    const got = stage.restoreState(file, extra ?? []);
    record(`restore: virsh restore of savekit ${name} comes back ${state}`, got === state, got);
  }

  if (carry) copyFileSync(raw, carry);
  for (const image of upgrade) checkUpgrade(stage, image.qemu, image.file);

  // Guest memory: pairs of `virsh dump --memory-only` and `virsh save` of the same paused guest.
  const lap = (what: string) => {
    console.log(`(${what}: ${Math.round((Date.now() - since) / 1000)} s)`);
    since = Date.now();
  };
  lap('formats, edits, restores');
  if (guests && !SKIP_MEMORY) {
    const template = readFileSync(join(HERE, KVM ? 'guest-kvm.xml' : 'guest.xml'), 'utf8').replaceAll('@WORK@', stage.work);
    const kernels = join(CACHE, modern ? 'kernel-trixie' : 'kernel-bookworm');
    for (const guest of memoryGuests(stage, template, kernels, KVM)) {
      for (const result of await checkMemoryPair(stage, guest, savekit)) record(result.check, result.ok, result.detail);
    }
    lap('memory pairs');
  }

  // Two saves of a guest that keeps writing to its memory: delta, apply, diff, and a restore.
  if (guests && !SKIP_BUSY) {
    const template = readFileSync(join(HERE, 'guest.xml'), 'utf8').replaceAll('@WORK@', stage.work);
    const kernels = join(CACHE, modern ? 'kernel-trixie' : 'kernel-bookworm');
    for (const result of await checkBusyGuest(stage, template, kernels, busyInitramfs(CACHE), savekit)) record(result.check, result.ok, result.detail);
    lap('busy guest');
  }

  // An aarch64 virt guest: registers, core and physical image against QEMU's, every format, restores.
  if (guests && !SKIP_AARCH64) {
    // The arm64 kernel comes through the Debian 13 root's apt (built first if need be).
    const assets = arm64Guest(CACHE, ensureDebianRoot('trixie', (line) => console.log(line)).root);
    for (const result of await checkAarch64Guest(stage, modern, formats, assets, savekit)) record(result.check, result.ok, result.detail);
    lap('aarch64 guest');
  }

  const cut = stage.file('cut.save').host;
  const rawBytes = readFileSync(raw);
  // At least 100 kB short, on a byte that is not zero: a stream that ends on a zero byte may be a
  // complete one without a description (savekit cannot tell from a pipe's tail; `check` walks it).
  let cutAt = rawBytes.length - 100_000;
  while (rawBytes[cutAt - 1] === 0) cutAt--;
  const cutRun = savekit(['rewrite', '-', cut], rawBytes.subarray(0, cutAt));
  const refused = stage.restoreState(cut);
  record('a copy cut by savekit rewrite (truncated input) is refused by libvirt', cutRun.status === 1 && refused.startsWith('restore failed'), refused);
}

/**
 * A host upgrade: an image an older QEMU saved, restored by this stage's libvirt as it is, after
 * convert to zstd and to sparse, and paused by its header; `check` asked of this stage's QEMU
 * names its machine type as offered, and warns for a copy whose machine type no QEMU has (which
 * libvirt then refuses).
 */
function checkUpgrade(stage: Stage, qemu: string, file: string): void {
  const image = stage.file(`upgrade-${qemu}.save`).host;
  copyFileSync(file, image);
  // The folders its domain XML names (the serial log's) exist on the upgraded host too.
  const made: string[] = [];
  for (const match of savekit(['dumpxml', image]).stdout.matchAll(/<source path='([^']+)'/g)) {
    const first = mkdirSync(stage.host(dirname(match[1]!)), { recursive: true });
    if (first !== undefined) made.push(first);
  }
  try {
    checkUpgradedImage(stage, qemu, image);
  } finally {
    for (const folder of made) rmSync(folder, { recursive: true, force: true });
  }
}

function checkUpgradedImage(stage: Stage, qemu: string, image: string): void {
  // The stage's QEMU runs in its root: savekit asks it through a wrapper.
  const wrapper = stage.file('qemu-system-x86_64').host;
  writeFileSync(wrapper, `#!/bin/sh\nexec chroot '${stage.root ?? '/'}' /usr/bin/qemu-system-x86_64 "$@"\n`, { mode: 0o755 });
  const check = savekit(['check', '--json', '--qemu', wrapper, image]);
  const support = check.status === 0 ? (JSON.parse(check.stdout) as { machine: { machine: string; offered: boolean; qemu: string } }).machine : null;
  record(`upgrade from QEMU ${qemu}: check names the machine type, offered by this stage's QEMU`, support?.offered === true && support.machine.startsWith('pc-i440fx-'), check.stderr.trim() || `${support?.machine} offered by ${support?.qemu}`);
  const paused = stage.file(`upgrade-${qemu}-paused.save`).host;
  copyFileSync(image, paused);
  savekit(['set', paused, '--paused']);
  const restores: Array<[string, string, string]> = [
    ['as it is', image, 'running'],
    ['after convert to zstd', convert(stage, image, 'zstd', `upgrade-${qemu}-zstd.save`), 'running'],
    ['after convert to sparse', convert(stage, image, 'sparse', `upgrade-${qemu}-sparse.save`), 'running'],
    ['after set --paused', paused, 'paused'],
  ];
  for (const [how, path, expected] of restores) {
    const got = stage.restoreState(path);
    record(`upgrade from QEMU ${qemu}: an image it saved restores here ${how}, ${expected}`, got === expected, got);
  }
  // The same image naming a machine type no QEMU has.
  const bytes = readFileSync(image);
  const machine = support?.machine ?? 'pc-i440fx-5.2';
  const unknown = stage.file(`upgrade-${qemu}-unknown-machine.save`).host;
  const nowhere = machine.replace(/-\d\.\d$/, '-0.9'); // as long as the name it replaces
  writeFileSync(unknown, Buffer.from(bytes.toString('latin1').replaceAll(machine, nowhere), 'latin1'));
  const warned = savekit(['check', '--json', '--qemu', wrapper, unknown]);
  const report = warned.status === 0 ? (JSON.parse(warned.stdout) as { machine: { offered: boolean }; warnings: string[] }) : null;
  const refused = stage.restoreState(unknown);
  record(`upgrade from QEMU ${qemu}: a machine type no QEMU has: check warns (exit 0) and libvirt refuses the restore`, report?.machine.offered === false && report.warnings.length === 1 && refused.startsWith('restore failed'), warned.stderr.trim() || `${report?.warnings[0] ?? ''}; ${refused}`.slice(0, 300));
}

function tableOf(report: StageReport): string {
  return [`## ${report.title}`, '', '| check | result |', '|---|---|', ...report.rows.map((row) => `| ${row.check} | ${row.ok ? 'pass' : `FAIL ${row.detail}`} |`), ''].join('\n');
}

async function main(): Promise<number> {
  let failures = 0;
  ensureHostPackages();
  const work = mkdtempSync(join(tmpdir(), 'savekit-interop-'));
  // Images an older stage saved, kept for the newest one to restore (a host upgrade).
  const carried = join(work, 'carried');
  mkdirSync(carried);
  const upgrade: Array<{ qemu: string; file: string }> = [];
  const host = new Stage('libvirt 9.0 (Debian 12, this machine)', null, join(work, 'host'));
  try {
    if (FAIL_AT !== '11' && FAIL_AT !== '7.0') {
      await runStage({ stage: host, name: '9.0', modern: false, formats: ['raw', 'gzip', 'bzip2', 'xz', 'lzop'], guests: true, carry: join(carried, 'qemu-7.2.save') });
      upgrade.push({ qemu: '7.2', file: join(carried, 'qemu-7.2.save') });
    }
  } catch (error) {
    failures++;
    console.error(`interop: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await host.stop();
  }

  const roots: string[] = [];
  for (const [suite, name] of [['bullseye', '7.0'], ['trixie', '11']] as const) {
    if (FAIL_AT === '11' && name === '7.0') continue;
    let unmount: (() => void) | null = null;
    let stage: Stage | null = null;
    try {
      const root = ensureDebianRoot(suite, (line) => console.log(line));
      roots.push(root.root);
      console.log(`\nDebian ${suite} root ${root.built ? 'built' : 'reused from the cache'} in ${root.seconds.toFixed(1)} s: ${root.packages.replace(/\n/g, ', ')}`);
      unmount = mountInto(root.root);
      stage = new Stage(`libvirt ${name} (Debian ${suite === 'trixie' ? '13' : '11'} root)`, root.root, join(root.root, 'savekit-work'));
      if (name === '7.0') {
        await runStage({ stage, name, modern: false, formats: ['raw', 'gzip', 'bzip2', 'xz', 'lzop'], guests: false, carry: join(carried, 'qemu-5.2.save') });
        upgrade.unshift({ qemu: '5.2', file: join(carried, 'qemu-5.2.save') });
      } else {
        await runStage({ stage, name, modern: true, formats: ['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'sparse'], guests: true, upgrade });
      }
    } catch (error) {
      failures++;
      console.error(`interop: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await stage?.stop();
      unmount?.();
    }
  }
  rmSync(work, { recursive: true, force: true });

  const left = roots.flatMap(mountsUnder);
  if (left.length > 0) {
    failures++;
    console.error(`interop: still mounted after the run: ${left.join(', ')}`);
  }
  const text = ['# Interop results', '', '`npm run test:interop`, three stages.', '', ...reports.map(tableOf)].join('\n');
  // The committed test/interop/RESULTS.md is updated by hand, on purpose: a run writes its
  // tables to the ignored results/ folder and to its output, never to a tracked file.
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results', 'latest.md'), text);
  console.log(`\n${text}`);
  const rows = reports.flatMap((report) => report.rows);
  const failed = rows.filter((row) => !row.ok).length + failures;
  console.log(`${rows.length - rows.filter((row) => !row.ok).length} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (status) => (process.exitCode = status),
  (error: unknown) => {
    console.error(`interop: ${error instanceof Error ? error.message : String(error)}`);
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
  },
);
