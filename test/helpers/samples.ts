// The genuine libvirt images in samples/, with the header values of samples/README.md, and
// helpers that give each test its own copy (tests never change a committed sample).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SAMPLES_DIR = fileURLToPath(new URL('../../samples/', import.meta.url));

export interface GenuineSample {
  /** Path relative to samples/. */
  file: string;
  /** Prefix of its files in dumps/, relative to samples/. */
  dumps: string;
  dataLen: number;
  format: string;
  formatCode: number;
  cookieOffset: number;
  xmlLength: number;
  cookieLength: number;
  slack: number;
  payloadOffset: number;
  domain: string;
  /** The machine type the stream's configuration section names. */
  machine: string;
}

export const GENUINE_SAMPLES: GenuineSample[] = [
  { file: 'libvirt-9.0/raw.save', dumps: 'libvirt-9.0/dumps/raw', dataLen: 66898, format: 'raw', formatCode: 0, cookieOffset: 1325, xmlLength: 1324, cookieLength: 36, slack: 65536, payloadOffset: 66990, domain: 'tinysave', machine: 'pc-i440fx-7.2' },
  { file: 'libvirt-9.0/gzip.save', dumps: 'libvirt-9.0/dumps/gzip', dataLen: 66898, format: 'gzip', formatCode: 1, cookieOffset: 1325, xmlLength: 1324, cookieLength: 36, slack: 65536, payloadOffset: 66990, domain: 'tinysave', machine: 'pc-i440fx-7.2' },
  { file: 'libvirt-9.0/xz.save', dumps: 'libvirt-9.0/dumps/xz', dataLen: 66898, format: 'xz', formatCode: 3, cookieOffset: 1325, xmlLength: 1324, cookieLength: 36, slack: 65536, payloadOffset: 66990, domain: 'tinysave', machine: 'pc-i440fx-7.2' },
  { file: 'libvirt-9.0/kvm-raw.save', dumps: 'libvirt-9.0/dumps/kvm-raw', dataLen: 67128, format: 'raw', formatCode: 0, cookieOffset: 1224, xmlLength: 1223, cookieLength: 367, slack: 65536, payloadOffset: 67220, domain: 'tinykvm', machine: 'pc-i440fx-7.2' },
  { file: 'libvirt-9.0/edited/raw.define-desc-longer.save', dumps: 'libvirt-9.0/dumps/raw.define-desc-longer', dataLen: 66898, format: 'raw', formatCode: 0, cookieOffset: 1533, xmlLength: 1532, cookieLength: 36, slack: 65328, payloadOffset: 66990, domain: 'tinysave', machine: 'pc-i440fx-7.2' },
  { file: 'libvirt-11.3/zstd.save', dumps: 'libvirt-11.3/dumps/zstd', dataLen: 67035, format: 'zstd', formatCode: 5, cookieOffset: 1263, xmlLength: 1262, cookieLength: 235, slack: 65536, payloadOffset: 67127, domain: 'tinysave', machine: 'pc-i440fx-10.0' },
  { file: 'libvirt-11.3/sparse.save', dumps: 'libvirt-11.3/dumps/sparse', dataLen: 67035, format: 'sparse', formatCode: 6, cookieOffset: 1263, xmlLength: 1262, cookieLength: 235, slack: 65536, payloadOffset: 67127, domain: 'tinysave', machine: 'pc-i440fx-10.0' },
  { file: 'libvirt-11.3/kvm-raw.save', dumps: 'libvirt-11.3/dumps/kvm-raw', dataLen: 67066, format: 'raw', formatCode: 0, cookieOffset: 1162, xmlLength: 1161, cookieLength: 367, slack: 65536, payloadOffset: 67158, domain: 'tinykvm', machine: 'pc-i440fx-10.0' },
  // libvirt 7.0 wrote the same header and data region for every format of one guest.
  ...([['raw', 0], ['bzip2', 2], ['xz', 3], ['lzop', 4]] as const).map(([format, formatCode]) => ({
    file: `libvirt-7.0/${format}.save`,
    dumps: `libvirt-7.0/dumps/${format}`,
    dataLen: 66824,
    format,
    formatCode,
    cookieOffset: 1251,
    xmlLength: 1250,
    cookieLength: 36,
    slack: 65536,
    payloadOffset: 66916,
    domain: 'savekit-interop',
    machine: 'pc-i440fx-5.2',
  })),
];

let scratch: string | null = null;

/** A folder for this test process, removed at exit. */
export function scratchDir(): string {
  if (scratch === null) {
    const dir = mkdtempSync(join(tmpdir(), 'savekit-test-'));
    scratch = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return scratch;
}

/** A fresh temporary folder inside the scratch folder. */
export function tempDir(): string {
  return mkdtempSync(join(scratchDir(), 'case-'));
}

let sparseUnpacked: string | null = null;

/**
 * The absolute path of a sample, read-only use. sparse.save is committed as a tar.gz that keeps
 * its holes (20 MB apparent, 0.5 MB allocated) and is unpacked once per test process.
 */
export function samplePath(file: string): string {
  if (file !== 'libvirt-11.3/sparse.save') return join(SAMPLES_DIR, file);
  if (sparseUnpacked === null) {
    const dir = join(scratchDir(), 'sparse');
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('tar', ['-xzSf', join(SAMPLES_DIR, 'libvirt-11.3/sparse.save.tar.gz'), '-C', dir]);
    sparseUnpacked = join(dir, 'sparse.save');
  }
  return sparseUnpacked;
}

let pairUnpacked: string | null = null;

/**
 * The genuine dump pair (samples/dump-pair: a paused guest dumped with virsh dump --memory-only
 * and then saved with virsh save), unpacked once per test process: the folder holding
 * tinydump.save and tinydump.dump.elf.
 */
export function dumpPairDir(): string {
  if (pairUnpacked === null) {
    const dir = join(scratchDir(), 'dump-pair');
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('tar', ['--zstd', '-xSf', join(SAMPLES_DIR, 'dump-pair/tiny-pair.tar.zst'), '-C', dir]);
    pairUnpacked = dir;
  }
  return pairUnpacked;
}

const aarch64Unpacked = new Map<string, string>();

/**
 * A genuine aarch64 pair (samples/aarch64/LIBVIRT/tiny-pair.tar.zst: a virt guest paused, dumped
 * with virsh dump --memory-only, then saved), unpacked once per test process: the folder holding
 * tiny.save and tiny.dump.elf.
 */
export function aarch64PairDir(libvirt: 'libvirt-9.0' | 'libvirt-11.3'): string {
  let dir = aarch64Unpacked.get(libvirt);
  if (dir === undefined) {
    dir = join(scratchDir(), `aarch64-${libvirt}`);
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('tar', ['--zstd', '-xSf', join(SAMPLES_DIR, 'aarch64', libvirt, 'tiny-pair.tar.zst'), '-C', dir]);
    aarch64Unpacked.set(libvirt, dir);
  }
  return dir;
}

/** A private copy of a sample that a test may change. */
export function copySample(file: string): string {
  const target = join(tempDir(), basename(file));
  copyFileSync(samplePath(file), target);
  return target;
}

export function readSample(file: string): Buffer {
  return readFileSync(samplePath(file));
}

export function readDump(prefix: string, kind: string): Buffer {
  return readFileSync(join(SAMPLES_DIR, `${prefix}.${kind}`));
}
