// The programs test:dist runs beside savekit (lintian, strace, qemu-aarch64, the arm64 strip,
// debootstrap, the compressors) and the arm64 sysroot qemu-aarch64 needs, each with its Debian
// package, installed when absent.
// test/prepare.ts calls it too, ahead of the suites.
import { existsSync } from 'node:fs';
import { sh } from '../interop/stage.js';

/** The programs this suite runs beside savekit, with their Debian packages. */
const PROGRAMS: Record<string, string> = {
  lintian: 'lintian',
  'dpkg-deb': 'dpkg',
  strace: 'strace',
  unshare: 'util-linux',
  'qemu-aarch64': 'qemu-user',
  'aarch64-linux-gnu-strip': 'binutils-aarch64-linux-gnu',
  debootstrap: 'debootstrap',
  cmp: 'diffutils',
  zstd: 'zstd',
  lzop: 'lzop',
  bzip2: 'bzip2',
  xz: 'xz-utils',
};

/**
 * Files the suite needs that no program names: the arm64 sysroot that qemu-aarch64 runs the arm64
 * executable against (-L /usr/aarch64-linux-gnu), with the Debian packages that bring them.
 */
const FILES: Record<string, string> = {
  '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1': 'libc6-arm64-cross',
  '/usr/aarch64-linux-gnu/lib/libstdc++.so.6': 'libstdc++6-arm64-cross',
  '/usr/aarch64-linux-gnu/lib/libgcc_s.so.1': 'libgcc-s1-arm64-cross',
  '/usr/aarch64-linux-gnu/lib/libatomic.so.1': 'libatomic1-arm64-cross',
};

export function ensurePrograms(): void {
  const missing = [
    ...Object.keys(PROGRAMS).filter((program) => sh('sh', ['-c', `command -v ${program}`], { allowFail: true }).status !== 0),
    ...Object.keys(FILES).filter((file) => !existsSync(file)),
  ];
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((needed) => PROGRAMS[needed] ?? FILES[needed]!))];
  console.log(`test:dist: installing ${packages.join(' ')} (for ${missing.join(', ')})`);
  sh('apt-get', ['update', '-qq'], { allowFail: true, timeoutMs: 600_000 });
  const installed = sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { allowFail: true, timeoutMs: 900_000 });
  if (installed.status !== 0) throw new Error(`apt-get could not install ${packages.join(' ')}: ${installed.stderr}`);
}
