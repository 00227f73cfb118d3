// The programs the interop suite runs on this machine itself (its own libvirt and QEMU stage,
// debootstrap for the other stages' roots, gdb and readelf for the memory checks), installed
// from Debian's packages when absent. test/prepare.ts calls it too, ahead of the suites.
import { spawnSync } from 'node:child_process';
import { sh } from './stage.js';

function has(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { env: { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH ?? ''}` } }).status === 0;
}

export function ensureHostPackages(): void {
  const wanted = ['virsh', 'libvirtd', 'virtlogd', 'qemu-system-x86_64', 'qemu-system-aarch64', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'debootstrap', 'gdb', 'gdb-multiarch', 'readelf', 'cpio'];
  if (wanted.every(has)) return;
  console.log('installing libvirt, QEMU, debootstrap and the compressors from Debian packages ...');
  sh('apt-get', ['update', '-qq'], { timeoutMs: 600_000 });
  sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'libvirt-daemon-system', 'libvirt-clients', 'libvirt-daemon-driver-qemu', 'qemu-system-x86', 'qemu-system-arm', 'qemu-utils', 'gzip', 'bzip2', 'xz-utils', 'lzop', 'zstd', 'debootstrap', 'gdb', 'gdb-multiarch', 'binutils', 'cpio'], {
    timeoutMs: 900_000,
  });
}
