// The Debian roots of the older and newer stages: Debian 13 (trixie: libvirt 11, QEMU 10) and
// Debian 11 (bullseye: libvirt 7.0, QEMU 5.2). Each suite is bootstrapped once, as a bare
// minbase root from the Debian mirror this machine's apt uses (the dist suite installs the .deb
// into copies of it); a stage's root is a copy of that with libvirt, QEMU and the compressors
// installed by its own apt. All are kept in a cache folder outside the checkout, so the next run
// starts in seconds (a package added to the list later is installed into the cached root), and
// each is built under a lock (packaging/cache-lock.ts): .ci/run builds them in the background
// (test/prepare.ts) while earlier suites run, and a suite that needs one meanwhile waits. While a stage runs it has
// /proc, /sys, /dev and a private /run mounted; mountInto() returns the function that takes them
// all down again (also after a failure).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withCacheLock } from '../../packaging/cache-lock.js';
import { sh } from './stage.js';

export type Suite = 'trixie' | 'bullseye';
/** Where the roots, kernels and initramfs files are kept between runs. */
export const CACHE = process.env.SAVEKIT_INTEROP_CACHE ?? '/var/cache/savekit-interop';
const COMPLETE = '.savekit-complete';
const PACKAGES = ['libvirt-daemon-system', 'libvirt-clients', 'libvirt-daemon-driver-qemu', 'qemu-system-x86', 'gzip', 'bzip2', 'xz-utils', 'lzop', 'zstd'];
/** What each root has beyond PACKAGES: aarch64 guests and the object-store tests' Ceph (test/objects) run in the newest one. */
const MORE: Record<Suite, string[]> = { trixie: ['qemu-system-arm', 'ceph-mon', 'ceph-osd', 'radosgw', 'ceph-common'], bullseye: [] };

export function rootOf(suite: Suite): string {
  return join(CACHE, suite);
}

/** The mirror the machine's apt uses (deb822 or one-line sources), else Debian's own. */
export function debianMirror(): string {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(text)?.[1];
    if (uri && !uri.includes('security')) return uri;
  }
  return 'http://deb.debian.org/debian';
}

/** The bare minbase root of `suite` (debootstrap, nothing added), built once; its path. */
export function ensureMinbaseRoot(suite: Suite, log: (line: string) => void): string {
  const pristine = join(CACHE, `minbase-${suite}`);
  withCacheLock(`${pristine}.lock`, () => {
    if (existsSync(join(pristine, COMPLETE))) return;
    log(`building a bare Debian ${suite} root (debootstrap --variant=minbase, once; kept in ${pristine}) ...`);
    rmSync(pristine, { recursive: true, force: true });
    mkdirSync(pristine, { recursive: true });
    if (sh('sh', ['-c', 'command -v debootstrap'], { allowFail: true }).status !== 0) {
      sh('apt-get', ['update', '-qq'], { timeoutMs: 600_000 });
      sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'debootstrap'], { timeoutMs: 600_000 });
    }
    sh('debootstrap', ['--variant=minbase', suite, pristine, debianMirror()], { timeoutMs: 1_200_000 });
    sh('chroot', [pristine, 'apt-get', 'clean']);
    writeFileSync(join(pristine, COMPLETE), `${suite}\n`);
  }, log);
  return pristine;
}

/** The stage's root, built if the cache does not hold a complete one; its package versions. */
export function ensureDebianRoot(suite: Suite, log: (line: string) => void): { root: string; packages: string; built: boolean; seconds: number } {
  const started = Date.now();
  const root = rootOf(suite);
  const marker = join(root, COMPLETE);
  const wanted = [...PACKAGES, ...MORE[suite]];
  let built = false;
  const packages = withCacheLock(`${root}.lock`, () => {
    if (!existsSync(marker)) {
      // minbase, then apt inside: debootstrap's own --include cannot order systemd's pre-depends.
      const pristine = ensureMinbaseRoot(suite, log);
      log(`building the Debian ${suite} root in ${root} from ${pristine} (once; kept for later runs) ...`);
      rmSync(root, { recursive: true, force: true });
      sh('cp', ['-a', pristine, root]); // device nodes and owners too, which fs.cpSync cannot copy
      rmSync(join(root, COMPLETE), { force: true });
      installInto(root, wanted);
      built = true;
    } else {
      const missing = wanted.filter((name) => sh('chroot', [root, 'dpkg-query', '-W', '-f', '${Status}', name], { allowFail: true }).stdout !== 'install ok installed');
      if (missing.length > 0) {
        log(`installing ${missing.join(', ')} into the cached Debian ${suite} root ...`);
        installInto(root, missing);
      }
    }
    const versions = sh('chroot', [root, 'dpkg-query', '-W', '-f', '${Package} ${Version}\\n', 'libvirt-daemon', 'qemu-system-x86']).stdout.trim();
    if (built) writeFileSync(marker, `${versions}\n`);
    return versions;
  }, log);
  return { root, packages, built, seconds: (Date.now() - started) / 1000 };
}

/** Installs packages with the root's own apt (/proc, /sys and /dev mounted for the while). */
function installInto(root: string, packages: string[]): void {
  const unmount = mountInto(root, false);
  // No package may start its daemon inside the root (Ceph's, libvirt's): invoke-rc.d asks this first.
  const policy = join(root, 'usr/sbin/policy-rc.d');
  writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    sh('chroot', [root, 'apt-get', 'update', '-qq'], { timeoutMs: 600_000 });
    sh('chroot', [root, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages], { timeoutMs: 1_200_000 });
    sh('chroot', [root, 'apt-get', 'clean']);
  } finally {
    rmSync(policy, { force: true });
    unmount();
  }
}

/**
 * Mounts /proc, /sys, /dev (recursively) and a private tmpfs /run into `root`; returns the
 * function that unmounts them, innermost first (lazily, so a busy mount cannot stay).
 */
export function mountInto(root: string, withRun = true): () => void {
  const mounted: string[] = [];
  const mount = (args: string[], target: string) => {
    sh('mount', [...args, target]);
    mounted.push(target);
  };
  try {
    mount(['-t', 'proc', 'proc'], join(root, 'proc'));
    mount(['-t', 'sysfs', 'sysfs'], join(root, 'sys'));
    mount(['--rbind', '/dev'], join(root, 'dev'));
    sh('mount', ['--make-rslave', join(root, 'dev')]);
    if (withRun) mount(['-t', 'tmpfs', '-o', 'mode=0755', 'tmpfs'], join(root, 'run'));
  } catch (error) {
    unmountAll(mounted);
    throw error;
  }
  return () => unmountAll(mounted);
}

function unmountAll(mounted: string[]): void {
  for (const target of mounted.reverse()) sh('umount', ['-R', '-l', target], { allowFail: true });
}

/** Mount points still under `root` (for the check that nothing is left mounted). */
export function mountsUnder(root: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1] ?? '')
    .filter((target) => target === root || target.startsWith(`${root}/`));
}
