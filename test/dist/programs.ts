// The programs test:dist runs beside savekit (lintian, strace, qemu-aarch64, the arm64 strip,
// debootstrap, the compressors), each with its Debian package, installed when absent.
// test/prepare.ts calls it too, ahead of the suites.
import { spawnSync } from 'node:child_process';

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

function sh(command: string, args: string[]): { status: number; stderr: string } {
  const result = spawnSync(command, args, { env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH ?? ''}` } });
  return { status: result.status ?? -1, stderr: result.stderr?.toString() ?? String(result.error ?? '') };
}

export function ensurePrograms(): void {
  const missing = Object.keys(PROGRAMS).filter((program) => sh('sh', ['-c', `command -v ${program}`]).status !== 0);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.map((program) => PROGRAMS[program]!))];
  console.log(`test:dist: installing ${packages.join(' ')} (for ${missing.join(', ')})`);
  sh('apt-get', ['update', '-qq']);
  const installed = sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  if (installed.status !== 0) throw new Error(`apt-get could not install ${packages.join(' ')}: ${installed.stderr}`);
}
