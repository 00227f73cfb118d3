// The permission bits of what savekit makes from an image. A save image holds the guest's RAM
// (keys, passwords, page cache) and the domain XML's secrets, and libvirt writes it 0600: every
// output, temporary, journal and extracted file is created no wider than the image it comes
// from, as cp makes a copy (the source's bits less the umask), 0600 when the image comes from a
// pipe, and folders searchable wherever they are readable. Created so from the first byte: never
// made wider and narrowed afterwards.
import { fchmodSync, fstatSync } from 'node:fs';

/** Bits for anything made from an image read from a pipe, or of no image (a journal). */
export const PRIVATE_FILE_MODE = 0o600;

/** The bits a file made from the image behind `stat` may have. */
export function modeFromSource(stat: { isFile(): boolean; mode: number }): number {
  return stat.isFile() ? stat.mode & 0o777 : PRIVATE_FILE_MODE;
}

/** A folder for such files: x wherever r is (0600 -> 0700, 0640 -> 0750). */
export function folderModeOf(fileMode: number): number {
  return fileMode | ((fileMode & 0o444) >> 2);
}

/**
 * An output opened with `mode` that was there already keeps its own bits, less those `mode`
 * lacks: taken away here, before the caller writes its first byte.
 */
export function narrowTo(fd: number, mode: number): void {
  const existing = fstatSync(fd).mode & 0o777;
  if ((existing & ~mode) !== 0) fchmodSync(fd, existing & mode);
}
