// npm run test:interop: savekit against the real thing. Installs libvirt and QEMU from
// Debian's packages when absent, runs its own virtlogd and libvirtd (stopped by PID at the end,
// also on failure), saves a tiny TCG guest in every format this libvirt writes, and checks that
// libvirt and QEMU agree with savekit: check, info, walk, byte-identical edits, seals that
// survive virsh's edits, restores of every image savekit wrote, and a cut copy refused.
// Exits non-zero, saying why, when the machine cannot run a guest.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const SAVEKIT = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
// Images and guests live in a fresh temporary folder, removed at the end whatever happens.
const WORK = mkdtempSync(join(tmpdir(), 'savekit-interop-'));
const QEMU_CONF = '/etc/libvirt/qemu.conf';
const GUEST = 'savekit-interop';
const FORMATS = ['raw', 'gzip', 'bzip2', 'xz', 'lzop'];
const MARK = '# savekit interop settings';
// The daemons live in sbin, which a CI environment's PATH may lack.
process.env.PATH = ['/usr/local/sbin', '/usr/sbin', '/sbin', process.env.PATH ?? '/usr/bin:/bin'].join(':');

interface Row {
  check: string;
  ok: boolean;
  detail: string;
}
const rows: Row[] = [];
const started: number[] = [];

function sh(command: string, args: string[], options: { input?: Buffer; allowFail?: boolean; timeoutMs?: number } = {}): { status: number; stdout: string; stderr: string; out: Buffer } {
  const result = spawnSync(command, args, { input: options.input, timeout: options.timeoutMs ?? 120_000, maxBuffer: 1 << 28 });
  const status = result.status ?? -1;
  if (status !== 0 && !options.allowFail) throw new Error(`${command} ${args.join(' ')} failed (${status}): ${result.stderr?.toString() ?? result.error}`);
  return { status, stdout: result.stdout?.toString() ?? '', stderr: result.stderr?.toString() ?? '', out: result.stdout ?? Buffer.alloc(0) };
}
const virsh = (...args: string[]) => sh('virsh', ['-c', 'qemu:///system', ...args], { allowFail: true });
const savekit = (args: string[], input?: Buffer) => sh(process.execPath, [SAVEKIT, ...args], { allowFail: true, ...(input ? { input } : {}) });

function record(check: string, ok: boolean, detail = ''): void {
  rows.push({ check, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${check}${detail ? ` (${detail})` : ''}`);
}

function has(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`]).status === 0;
}

function ensurePackages(): void {
  const wanted = ['virsh', 'libvirtd', 'virtlogd', 'qemu-system-x86_64', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd'];
  if (wanted.every(has)) return;
  console.log('installing libvirt, QEMU and the compressors from Debian packages ...');
  sh('apt-get', ['update', '-qq'], { timeoutMs: 600_000 });
  sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'libvirt-daemon-system', 'libvirt-clients', 'libvirt-daemon-driver-qemu', 'qemu-system-x86', 'qemu-utils', 'gzip', 'bzip2', 'xz-utils', 'lzop', 'zstd'], {
    timeoutMs: 900_000,
  });
}

function configure(format: string): void {
  const current = readFileSync(QEMU_CONF, 'utf8');
  const base = current.includes(MARK) ? current.slice(0, current.indexOf(MARK)) : current;
  // What it takes to run QEMU as root here: no cgroups, namespaces or security driver.
  const settings = ['user = "root"', 'group = "root"', 'dynamic_ownership = 0', 'remember_owner = 0', 'cgroup_controllers = [ ]', 'namespaces = [ ]', 'security_driver = "none"', 'stdio_handler = "file"', `save_image_format = "${format}"`];
  writeFileSync(QEMU_CONF, `${base}${MARK}\n${settings.join('\n')}\n`);
}

function pidOf(file: string): number | null {
  return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || null : null;
}

function alive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return condition();
}

async function startDaemons(): Promise<void> {
  if (!alive(pidOf('/run/virtlogd.pid'))) {
    sh('virtlogd', ['-d']);
    await waitFor(() => alive(pidOf('/run/virtlogd.pid')), 10_000);
    started.push(pidOf('/run/virtlogd.pid')!);
  }
  sh('libvirtd', ['-d']);
  if (!(await waitFor(() => alive(pidOf('/run/libvirtd.pid')) && virsh('version').status === 0, 20_000))) throw new Error('libvirtd did not start');
  started.push(pidOf('/run/libvirtd.pid')!);
}

async function restartLibvirtd(): Promise<void> {
  const pid = pidOf('/run/libvirtd.pid');
  if (alive(pid)) {
    process.kill(pid!, 'SIGTERM');
    await waitFor(() => !alive(pid), 20_000);
  }
  sh('libvirtd', ['-d']);
  if (!(await waitFor(() => virsh('version').status === 0, 20_000))) throw new Error('libvirtd did not restart');
  started.push(pidOf('/run/libvirtd.pid')!);
}

function stopDaemons(): void {
  virsh('destroy', GUEST);
  for (const pid of new Set([pidOf('/run/libvirtd.pid'), ...started])) {
    if (pid !== null && started.includes(pid) && alive(pid)) process.kill(pid, 'SIGTERM');
  }
}

async function saveGuest(format: string, file: string): Promise<void> {
  configure(format);
  await restartLibvirtd();
  virsh('destroy', GUEST);
  const created = virsh('create', join(WORK, 'guest.xml'));
  if (created.status !== 0) throw new Error(`this machine cannot run a guest: virsh create failed: ${created.stderr.trim()}`);
  await new Promise((resolve) => setTimeout(resolve, 4000)); // let SeaBIOS run a little
  const saved = virsh('save', GUEST, file);
  if (saved.status !== 0) throw new Error(`virsh save (${format}) failed: ${saved.stderr.trim()}`);
}

function restoreState(file: string): string {
  virsh('destroy', GUEST);
  const restored = virsh('restore', file);
  if (restored.status !== 0) return `restore failed: ${restored.stderr.trim().split('\n').pop()}`;
  const state = virsh('domstate', GUEST).stdout.trim();
  virsh('destroy', GUEST);
  return state;
}

async function main(): Promise<void> {
  ensurePackages();
  // KVM when /dev/kvm works, else TCG (both guests: 16 MiB, no disk, sitting in SeaBIOS).
  const kvm = spawnSync('sh', ['-c', 'test -r /dev/kvm -a -w /dev/kvm']).status === 0;
  // The guest's serial log goes to this run's folder (@WORK@ in the template).
  writeFileSync(join(WORK, 'guest.xml'), readFileSync(join(HERE, kvm ? 'guest-kvm.xml' : 'guest.xml'), 'utf8').replaceAll('@WORK@', WORK));
  const originalConf = readFileSync(QEMU_CONF, 'utf8');
  try {
    await startDaemons();
    const version = virsh('version').stdout;
    const libvirtVersion = /Using library: libvirt ([\d.]+)/.exec(version)?.[1] ?? '?';
    const qemuVersion = /Running hypervisor: QEMU ([\d.]+)/.exec(version)?.[1] ?? '?';
    const accelerator = kvm ? 'KVM' : 'TCG';
    console.log(`libvirt ${libvirtVersion}, QEMU ${qemuVersion}, ${accelerator} guest`);

    for (const [code, format] of FORMATS.entries()) {
      const file = join(WORK, `${format}.save`);
      await saveGuest(format, file);
      record(`${format}: savekit check passes`, savekit(['check', file]).status === 0);
      const info = JSON.parse(savekit(['info', '--json', file]).stdout) as { format: string; formatCode: number; domain: { name: string; uuid: string }; wasRunning: boolean; magic: string };
      const dump = virsh('save-image-dumpxml', file).stdout;
      const headerOk = info.format === format && info.formatCode === code && info.magic === 'LibvirtQemudSave' && info.wasRunning;
      const xmlOk = dump.includes(`<name>${info.domain.name}</name>`) && dump.includes(`<uuid>${info.domain.uuid}</uuid>`);
      record(`${format}: info --json agrees with virsh save-image-dumpxml and the header`, headerOk && xmlOk, `format ${info.format}, domain ${info.domain.name}`);
      const walk = savekit(['walk', '--json', file]);
      record(`${format}: savekit walk succeeds`, walk.status === 0 && (JSON.parse(walk.stdout) as { eof: boolean }).eof);
    }

    const raw = join(WORK, 'raw.save');
    // The same stored bytes through virsh and through savekit give the same file.
    const byVirsh = join(WORK, 'define-virsh.save');
    const bySavekit = join(WORK, 'define-savekit.save');
    copyFileSync(raw, byVirsh);
    copyFileSync(raw, bySavekit);
    const edited = join(WORK, 'edited.xml');
    writeFileSync(edited, savekit(['dumpxml', '--security-info', raw]).out.toString().replace('original description', 'edited by virsh save-image-define'));
    const defined = virsh('save-image-define', byVirsh, edited);
    const stored = join(WORK, 'stored.xml');
    writeFileSync(stored, savekit(['dumpxml', '--security-info', byVirsh]).out);
    const ours = savekit(['define', bySavekit, stored]);
    record('define: byte-identical to virsh save-image-define given the same stored bytes', defined.status === 0 && ours.status === 0 && readFileSync(byVirsh).equals(readFileSync(bySavekit)));

    const sealed = join(WORK, 'sealed.save');
    copyFileSync(raw, sealed);
    savekit(['seal', sealed]);
    const sealDefined = virsh('save-image-define', sealed, edited);
    record('seal: survives virsh save-image-define (savekit verify passes after it)', sealDefined.status === 0 && savekit(['verify', '--json', sealed]).stdout.includes('"ok": true'));

    // Every image savekit wrote or edited restores, in the state its header says.
    const paused = join(WORK, 'paused.save');
    copyFileSync(raw, paused);
    savekit(['set', paused, '--paused']);
    const longer = join(WORK, 'longer.xml');
    writeFileSync(longer, readFileSync(stored, 'utf8').replace('</description>', `${' and a much longer text'.repeat(4000)}</description>`));
    const piped = join(WORK, 'piped.save');
    writeFileSync(piped, savekit(['rewrite', '--xml', longer, '-'], readFileSync(raw)).out);
    const resealed = join(WORK, 'rewrite-sealed.save');
    savekit(['rewrite', '--seal', raw, resealed]);
    for (const [name, file, state] of [
      ['define', bySavekit, 'running'],
      ['set --paused', paused, 'paused'],
      ['rewrite through a pipe with a 90 KB longer XML', piped, 'running'],
      ['rewrite --seal', resealed, 'running'],
    ] as const) {
      const got = restoreState(file);
      record(`restore: virsh restore of savekit ${name} comes back ${state}`, got === state, got);
    }

    const cut = join(WORK, 'cut.save');
    const rawBytes = readFileSync(raw);
    const cutRun = savekit(['rewrite', '-', cut], rawBytes.subarray(0, rawBytes.length - 100_000));
    const refused = restoreState(cut);
    record('a copy cut by savekit rewrite (truncated input) is refused by libvirt', cutRun.status === 1 && refused.startsWith('restore failed'), refused);

    const table = [
      `# Interop results`,
      '',
      `libvirt ${libvirtVersion}, QEMU ${qemuVersion} (${accelerator} guest, ${FORMATS.join(', ')}), \`npm run test:interop\`.`,
      '',
      '| check | result |',
      '|---|---|',
      ...rows.map((row) => `| ${row.check} | ${row.ok ? 'pass' : `FAIL ${row.detail}`} |`),
      '',
    ].join('\n');
    // The committed test/interop/RESULTS.md is updated by hand, on purpose: a run writes its
    // table to the ignored results/ folder and to its output, never to a tracked file.
    mkdirSync(join(HERE, 'results'), { recursive: true });
    writeFileSync(join(HERE, 'results', 'latest.md'), table);
    console.log(`\n${table}`);
    const failed = rows.filter((row) => !row.ok).length;
    console.log(`${rows.length - failed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
  } finally {
    stopDaemons();
    writeFileSync(QEMU_CONF, originalConf);
    rmSync(WORK, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`interop: ${error instanceof Error ? error.message : String(error)}`);
  stopDaemons();
  rmSync(WORK, { recursive: true, force: true });
  console.log(`${rows.filter((r) => r.ok).length} passed, ${rows.filter((r) => !r.ok).length + 1} failed`);
  process.exitCode = 1;
});
