// One libvirt to test against: the machine's own (Debian 12: libvirt 9.0, QEMU 7.2), or a
// Debian 13 root (libvirt 11, QEMU 10) entered with chroot. Commands run inside it, files are
// shared through its work folder, its own virtlogd and libvirtd are started and stopped by PID,
// and its qemu.conf is restored at the end.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
  out: Buffer;
}

const MARK = '# savekit interop settings';
export const GUEST = 'savekit-interop';
// The daemons live in sbin, which a CI environment's PATH may lack.
const PATH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'].join(':');

export function sh(command: string, args: string[], options: { input?: Buffer; allowFail?: boolean; timeoutMs?: number } = {}): Run {
  const result = spawnSync(command, args, { input: options.input, timeout: options.timeoutMs ?? 120_000, maxBuffer: 1 << 28, env: { ...process.env, PATH } });
  const status = result.status ?? -1;
  if (status !== 0 && !options.allowFail) throw new Error(`${command} ${args.join(' ')} failed (${status}): ${result.stderr?.toString() ?? result.error}`);
  return { status, stdout: result.stdout?.toString() ?? '', stderr: result.stderr?.toString() ?? '', out: result.stdout ?? Buffer.alloc(0) };
}

export function alive(pid: number | null): boolean {
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; ) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return condition();
}

export class Stage {
  readonly started: number[] = [];
  #originalConf: string | null = null;

  /** `root` null: the machine itself; else the root folder entered with chroot. */
  constructor(
    readonly label: string,
    readonly root: string | null,
    /** The work folder as the host sees it. */
    readonly workHost: string,
  ) {
    mkdirSync(workHost, { recursive: true });
  }

  /** The work folder as commands inside the stage see it. */
  get work(): string {
    return this.root === null ? this.workHost : '/savekit-work';
  }

  /** A path inside the stage, as the host sees it. */
  host(path: string): string {
    return this.root === null ? path : join(this.root, path);
  }

  /** A file of the work folder: [inside path, host path]. */
  file(name: string): { inner: string; host: string } {
    return { inner: join(this.work, name), host: join(this.workHost, name) };
  }

  exec(command: string, args: string[], options: { allowFail?: boolean; timeoutMs?: number } = {}): Run {
    return this.root === null ? sh(command, args, options) : sh('chroot', [this.root, command, ...args], options);
  }

  virsh(...args: string[]): Run {
    return this.exec('virsh', ['-c', 'qemu:///system', ...args], { allowFail: true });
  }

  #pid(name: string): number | null {
    const file = this.host(`/run/${name}.pid`);
    return existsSync(file) ? Number(readFileSync(file, 'utf8').trim()) || null : null;
  }

  /** QEMU as root without cgroups, namespaces or a security driver; the save format. */
  configure(format: string): void {
    const path = this.host('/etc/libvirt/qemu.conf');
    const current = readFileSync(path, 'utf8');
    // What the file holds without our settings (a run that was killed may have left them).
    const base = current.includes(MARK) ? current.slice(0, current.indexOf(MARK)) : current;
    this.#originalConf ??= base;
    const settings = ['user = "root"', 'group = "root"', 'dynamic_ownership = 0', 'remember_owner = 0', 'cgroup_controllers = [ ]', 'namespaces = [ ]', 'security_driver = "none"', 'stdio_handler = "file"', `save_image_format = "${format}"`];
    writeFileSync(path, `${base}${MARK}\n${settings.join('\n')}\n`);
  }

  async start(): Promise<void> {
    this.configure('raw');
    if (!alive(this.#pid('virtlogd'))) {
      this.exec('virtlogd', ['-d']);
      await waitFor(() => alive(this.#pid('virtlogd')), 10_000);
      this.started.push(this.#pid('virtlogd')!);
    }
    await this.restartLibvirtd();
  }

  async restartLibvirtd(): Promise<void> {
    const pid = this.#pid('libvirtd');
    if (alive(pid)) {
      process.kill(pid!, 'SIGTERM');
      await waitFor(() => !alive(pid), 20_000);
    }
    // The old daemon's pidfile lock can outlive it ("Unable to obtain pidfile"): try again, for
    // up to 20 s (5 s was once too short, after the stage's 4.5 GiB memory pairs).
    for (let attempt = 1; this.exec('libvirtd', ['-d'], { allowFail: attempt < 10 }).status !== 0; attempt++) await waitFor(() => false, Math.min(500 * attempt, 3000));
    if (!(await waitFor(() => alive(this.#pid('libvirtd')) && this.virsh('version').status === 0, 30_000))) throw new Error(`${this.label}: libvirtd did not start`);
    this.started.push(this.#pid('libvirtd')!);
  }

  /** virsh restore of a file of the work folder, then the domain's state ("running", "paused", or why it failed). */
  restoreState(hostFile: string, extra: string[] = []): string {
    this.virsh('destroy', GUEST);
    const inner = hostFile.startsWith(this.workHost) ? join(this.work, hostFile.slice(this.workHost.length)) : hostFile;
    const restored = this.virsh('restore', ...extra, inner);
    if (restored.status !== 0) return `restore failed: ${restored.stderr.trim().split('\n').pop()}`;
    const state = this.virsh('domstate', GUEST).stdout.trim();
    this.virsh('destroy', GUEST);
    return state;
  }

  versions(): { libvirt: string; qemu: string } {
    const version = this.virsh('version').stdout;
    return { libvirt: /Using library: libvirt ([\d.]+)/.exec(version)?.[1] ?? '?', qemu: /Running hypervisor: QEMU ([\d.]+)/.exec(version)?.[1] ?? '?' };
  }

  /** Stops the guest and every daemon this stage started; restores qemu.conf. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.virsh('version').status === 0) {
      this.virsh('destroy', GUEST);
      this.virsh('managedsave-remove', GUEST);
      this.virsh('undefine', GUEST);
    }
    for (const pid of new Set([this.#pid('libvirtd'), ...this.started])) {
      if (pid !== null && this.started.includes(pid) && alive(pid)) process.kill(pid, 'SIGTERM');
    }
    await waitFor(() => this.started.every((pid) => !alive(pid)), 20_000);
    for (const pid of this.started) if (alive(pid)) process.kill(pid, 'SIGKILL');
    // Guests the daemons left (a hung restore): their QEMU runs from this stage's emulator.
    sh('pkill', ['-KILL', '-f', `guest=${GUEST}`], { allowFail: true });
    if (this.#originalConf !== null) writeFileSync(this.host('/etc/libvirt/qemu.conf'), this.#originalConf);
    rmSync(this.workHost, { recursive: true, force: true });
  }
}
