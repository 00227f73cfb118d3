// The Debian 13 (trixie) root for the libvirt 11 / QEMU 10 stage: made once with debootstrap
// from the Debian mirror this machine's apt uses, libvirt, QEMU and the compressors installed in
// it with its own apt, and kept in a cache folder outside the checkout, so the next run starts
// in seconds. While the stage runs it has /proc, /sys, /dev and a private /run mounted; mount()
// returns the function that takes them all down again (also after a failure).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './stage.js';

export const TRIXIE_ROOT = process.env.SAVEKIT_TRIXIE_ROOT ?? '/var/cache/savekit-interop/trixie';
const COMPLETE = '.savekit-complete';
const PACKAGES = ['libvirt-daemon-system', 'libvirt-clients', 'libvirt-daemon-driver-qemu', 'qemu-system-x86', 'gzip', 'bzip2', 'xz-utils', 'lzop', 'zstd'];

/** The mirror the machine's apt uses (deb822 or one-line sources), else Debian's own. */
function debianMirror(): string {
  for (const file of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const uri = /^URIs:\s*(\S+)/m.exec(text)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(text)?.[1];
    if (uri && !uri.includes('security')) return uri;
  }
  return 'http://deb.debian.org/debian';
}

/** The root, built if the cache does not hold a complete one; its package versions. */
export function ensureTrixieRoot(log: (line: string) => void): { root: string; packages: string; built: boolean; seconds: number } {
  const started = Date.now();
  const marker = join(TRIXIE_ROOT, COMPLETE);
  let built = false;
  if (!existsSync(marker)) {
    log(`building the Debian 13 root in ${TRIXIE_ROOT} (once; kept for later runs) ...`);
    rmSync(TRIXIE_ROOT, { recursive: true, force: true });
    mkdirSync(TRIXIE_ROOT, { recursive: true });
    if (sh('sh', ['-c', 'command -v debootstrap'], { allowFail: true }).status !== 0) {
      sh('apt-get', ['update', '-qq'], { timeoutMs: 600_000 });
      sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'debootstrap'], { timeoutMs: 600_000 });
    }
    // minbase, then apt inside: debootstrap's own --include cannot order systemd's pre-depends.
    sh('debootstrap', ['--variant=minbase', 'trixie', TRIXIE_ROOT, debianMirror()], { timeoutMs: 1_200_000 });
    const unmount = mountInto(TRIXIE_ROOT, false);
    try {
      sh('chroot', [TRIXIE_ROOT, 'apt-get', 'update', '-qq'], { timeoutMs: 600_000 });
      sh('chroot', [TRIXIE_ROOT, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...PACKAGES], { timeoutMs: 1_200_000 });
      sh('chroot', [TRIXIE_ROOT, 'apt-get', 'clean']);
    } finally {
      unmount();
    }
    built = true;
  }
  const packages = sh('chroot', [TRIXIE_ROOT, 'dpkg-query', '-W', '-f', '${Package} ${Version}\\n', 'libvirt-daemon', 'qemu-system-x86']).stdout.trim();
  if (built) writeFileSync(marker, `${packages}\n`);
  return { root: TRIXIE_ROOT, packages, built, seconds: (Date.now() - started) / 1000 };
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

/** Whether the cache holds a complete root (for messages). */
export function trixieCached(): boolean {
  return existsSync(join(TRIXIE_ROOT, COMPLETE)) && readdirSync(TRIXIE_ROOT).length > 1;
}
