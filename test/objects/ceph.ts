// A one-node Ceph with its RADOS Gateway, for the object-store tests and bench:s3: Debian 13's
// Ceph 18 in the Debian 13 root the interop suite builds (test/interop/debian-root.ts), one
// monitor, one BlueStore OSD on a sparse file, radosgw on 127.0.0.1, no authentication inside
// the cluster (S3 requests are still signed with the user's keys). Made fresh on every start and
// removed on stop: nothing is left running, mounted or on disk. Recipe: ../shared/OBJECTS.md.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDebianRoot, mountInto } from '../interop/debian-root.js';
import { alive, sh, waitFor } from '../interop/stage.js';

export const ACCESS_KEY = 'savekit-test-access';
export const SECRET_KEY = 'savekit-test-secret-not-for-printing';
const PORT = Number(process.env.SAVEKIT_CEPH_PORT ?? 7480);
const DAEMONS = ['ceph-mon', 'ceph-osd', 'radosgw'];

export class Ceph {
  readonly endpoint = `http://127.0.0.1:${PORT}`;
  readonly root: string;
  #unmount: (() => void) | null = null;

  private constructor(root: string) {
    this.root = root;
  }

  /** The environment an S3 client of this cluster runs with (the AWS SDK's own variables). */
  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
    return { ...env, AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: this.endpoint, ...extra };
  }

  /** Builds (or reuses) the root, makes the cluster and starts its three daemons. */
  static async start(log: (line: string) => void = console.log): Promise<Ceph> {
    const { root } = ensureDebianRoot('trixie', log);
    const ceph = new Ceph(root);
    try {
      await ceph.#start(log);
    } catch (error) {
      await ceph.stop();
      throw error;
    }
    return ceph;
  }

  exec(command: string, args: string[], options: { allowFail?: boolean; timeoutMs?: number } = {}) {
    return sh('chroot', [this.root, command, ...args], options);
  }

  async #start(log: (line: string) => void): Promise<void> {
    const started = Date.now();
    await this.#stopDaemons(); // a cluster an earlier run left (its monitor would answer for the new one)
    this.#clean();
    const fsid = randomUUID();
    mkdirSync(join(this.root, 'etc/ceph'), { recursive: true });
    writeFileSync(
      join(this.root, 'etc/ceph/ceph.conf'),
      [
        '[global]',
        `fsid = ${fsid}`,
        'mon host = 127.0.0.1:6789',
        'auth cluster required = none',
        'auth service required = none',
        'auth client required = none',
        'osd pool default size = 1',
        'osd pool default min size = 1',
        'mon allow pool size one = true',
        'osd crush chooseleaf type = 0',
        'osd objectstore = bluestore',
        'bluestore block create = true',
        // Sparse: only what is stored takes room. A full OSD blocks every write without an error.
        'bluestore block size = 68719476736',
        'osd memory target = 1073741824',
        'public addr = 127.0.0.1',
        'mon data avail warn = 1',
        'log to stderr = false',
        '[mon.a]',
        'mon data = /var/lib/ceph/mon/ceph-a',
        '[osd.0]',
        'osd data = /var/lib/ceph/osd/ceph-0',
        '[client.rgw.a]',
        `rgw frontends = beast endpoint=127.0.0.1:${PORT}`,
        'rgw enable ops log = false',
        // Overwritten objects' data is freed within seconds, not after the default two hours.
        'rgw gc obj min wait = 0',
        'rgw gc processor period = 5',
        '',
      ].join('\n'),
    );
    for (const folder of ['var/lib/ceph/mon/ceph-a', 'var/lib/ceph/osd/ceph-0', 'var/log/ceph', 'var/lib/ceph/radosgw/ceph-rgw.a']) mkdirSync(join(this.root, folder), { recursive: true });
    this.#unmount = mountInto(this.root);
    mkdirSync(join(this.root, 'run/ceph'), { recursive: true });
    this.exec('monmaptool', ['--create', '--add', 'a', '127.0.0.1:6789', '--fsid', fsid, '/tmp/monmap']);
    this.exec('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', '/tmp/monmap']);
    this.exec('ceph-mon', ['-i', 'a']);
    this.exec('ceph', ['osd', 'create'], { timeoutMs: 60_000 });
    this.exec('ceph-osd', ['-i', '0', '--mkfs', '--osd-uuid', randomUUID()], { timeoutMs: 120_000 });
    this.exec('ceph', ['osd', 'crush', 'add', 'osd.0', '1', 'root=default'], { timeoutMs: 60_000 });
    this.exec('ceph-osd', ['-i', '0']);
    this.startGateway();
    if (!(await this.waitForGateway(120_000))) throw new Error(`radosgw did not answer on ${this.endpoint}`);
    this.exec('radosgw-admin', ['user', 'create', '--uid=savekit', '--display-name=savekit', `--access-key=${ACCESS_KEY}`, `--secret=${SECRET_KEY}`], { timeoutMs: 60_000 });
    log(`Ceph ${this.version()} up in ${((Date.now() - started) / 1000).toFixed(1)} s: radosgw on ${this.endpoint}`);
  }

  version(): string {
    return /ceph version (\S+)/.exec(this.exec('ceph', ['--version'], { allowFail: true }).stdout)?.[1] ?? '?';
  }

  /** Starts radosgw (again, after killGateway). */
  startGateway(): void {
    this.exec('radosgw', ['-n', 'client.rgw.a']);
  }

  async waitForGateway(ms = 60_000): Promise<boolean> {
    return waitFor(() => sh('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${PORT} && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && head -c 12 <&3`], { allowFail: true, timeoutMs: 5000 }).stdout.startsWith('HTTP/1.'), ms);
  }

  /** SIGKILL to radosgw: the store goes away mid-request. */
  async killGateway(): Promise<void> {
    const pids = this.#daemons().filter((daemon) => daemon.name === 'radosgw').map((daemon) => daemon.pid);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(() => pids.every((pid) => !alive(pid)), 10_000);
  }

  /**
   * The cluster's daemons: processes whose root is this root and whose program is a Ceph daemon
   * (radosgw renames its main thread, so its name is not to be trusted; pid files vanish with
   * the root's /run).
   */
  #daemons(): { pid: number; name: string }[] {
    const found: { pid: number; name: string }[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        if (readlinkSync(`/proc/${entry}/root`) !== this.root) continue;
        const name = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')[0] ?? '';
        if (DAEMONS.includes(name)) found.push({ pid: Number(entry), name });
      } catch {
        // gone meanwhile, or not ours to read
      }
    }
    return found;
  }

  /** Stops the daemons (the OSD takes a few seconds), unmounts, removes the cluster's files. */
  async stop(): Promise<void> {
    await this.#stopDaemons();
    this.#unmount?.();
    this.#unmount = null;
    this.#clean();
  }

  /** SIGTERM to every daemon of this root, SIGKILL to those still there after 30 s; until none is left and the ports are free. */
  async #stopDaemons(): Promise<void> {
    const started = Date.now();
    for (;;) {
      const pids = this.#daemons().map((daemon) => daemon.pid);
      if (pids.length === 0 && !listening(6789) && !listening(PORT)) return;
      if (Date.now() - started > 60_000) throw new Error(`Ceph daemons of ${this.root} would not stop: ${pids.join(', ')}`);
      const signal = Date.now() - started > 30_000 ? 'SIGKILL' : 'SIGTERM';
      for (const pid of pids) process.kill(pid, signal);
      await waitFor(() => pids.every((pid) => !alive(pid)), 5_000);
    }
  }

  #clean(): void {
    for (const folder of ['var/lib/ceph/mon/ceph-a', 'var/lib/ceph/osd/ceph-0', 'var/lib/ceph/radosgw', 'var/log/ceph', 'etc/ceph/ceph.conf', 'tmp/monmap']) rmSync(join(this.root, folder), { recursive: true, force: true });
  }
}

/** True while something listens on 127.0.0.1:PORT (from /proc/net/tcp: no connection made). */
function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .some((line) => {
      const fields = line.trim().split(/\s+/);
      return fields[1]?.endsWith(`:${hex}`) === true && fields[3] === '0A';
    });
}
