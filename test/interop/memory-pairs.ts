// Memory pairs made by the real thing, for `extract-ram --elf` and `--physical`: a guest paused
// with `virsh suspend`, dumped with `virsh dump --memory-only --format elf`, then saved with
// `virsh save`. savekit's core must hold the dump's memory range by range and byte for byte and
// the same notes, gdb must print the same registers for both, and the physical image must be the
// dump's memory at its guest-physical addresses. Guests: i440fx and q35 with RAM across the
// 4 GiB split, and a Linux kernel booted directly into long mode (x86_64 notes).
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GUEST, sh, type Stage } from './stage.js';

interface Segment {
  type: number;
  offset: number;
  paddr: number;
  filesz: number;
}

export function segmentsOf(path: string): { machine: number; segments: Segment[] } {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    const count = head.readUInt16LE(56);
    const table = Buffer.alloc(count * 56);
    readSync(fd, table, 0, table.length, Number(head.readBigUInt64LE(32)));
    const segments = Array.from({ length: count }, (_, i) => ({
      type: table.readUInt32LE(i * 56),
      offset: Number(table.readBigUInt64LE(i * 56 + 8)),
      paddr: Number(table.readBigUInt64LE(i * 56 + 24)),
      filesz: Number(table.readBigUInt64LE(i * 56 + 32)),
    }));
    return { machine: head.readUInt16LE(18), segments };
  } finally {
    closeSync(fd);
  }
}

/** Compares `length` bytes of two files at two offsets, 8 MiB at a time; the first difference or null. */
export function firstDifference(a: string, aOffset: number, b: string, bOffset: number, length: number): number | null {
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  const ba = Buffer.alloc(8 * 1024 * 1024);
  const bb = Buffer.alloc(8 * 1024 * 1024);
  try {
    for (let done = 0; done < length; ) {
      const n = Math.min(ba.length, length - done);
      readSync(fa, ba, 0, n, aOffset + done);
      readSync(fb, bb, 0, n, bOffset + done);
      if (!ba.subarray(0, n).equals(bb.subarray(0, n))) return done;
      done += n;
    }
    return null;
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

/**
 * `gdb -batch -c CORE` printing the registers (no executable: the core's notes only); an
 * aarch64 core is read by gdb-multiarch, every vCPU's thread.
 */
function gdbRegisters(core: string, aarch64: boolean): string {
  const args = aarch64 ? ['-nx', '-q', '-batch', '-ex', 'thread apply all info registers', '-c', core] : ['-nx', '-q', '-batch', '-ex', 'info registers', '-c', core];
  const run = sh(aarch64 ? 'gdb-multiarch' : 'gdb', args, { allowFail: true });
  return run.stdout
    .split('\n')
    .filter((line) => /^[a-z0-9_]+\s+0x/.test(line) || /^Thread \d/.test(line))
    .join('\n');
}

/** The kernel of Debian's cloud image for this stage's Debian (its own apt), unpacked once. */
export function kernelFor(stage: Stage, cache: string): string {
  const found = existsSync(cache) ? readdirSync(cache).find((name) => name.startsWith('vmlinuz-')) : undefined;
  if (found) return join(cache, found);
  mkdirSync(cache, { recursive: true });
  let depends = stage.exec('apt-cache', ['depends', 'linux-image-cloud-amd64'], { allowFail: true }).stdout;
  if (!depends.includes('Depends:')) {
    stage.exec('apt-get', ['update', '-qq'], { timeoutMs: 600_000 });
    depends = stage.exec('apt-cache', ['depends', 'linux-image-cloud-amd64'], { allowFail: true }).stdout;
  }
  const name = /Depends:\s*(linux-image-\S+-cloud-amd64)/.exec(depends)?.[1];
  if (!name) throw new Error(`${stage.label}: no linux-image-*-cloud-amd64 package in this stage's apt lists`);
  const inner = join(stage.work, 'kernel-download');
  mkdirSync(stage.host(inner), { recursive: true });
  stage.exec('sh', ['-c', `cd ${inner} && apt-get download ${name} >/dev/null && dpkg-deb -x ${name}_*.deb unpacked`], { timeoutMs: 600_000 });
  const boot = join(stage.host(inner), 'unpacked', 'boot');
  const vmlinuz = readdirSync(boot).find((file) => file.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`${stage.label}: ${name} has no vmlinuz`);
  writeFileSync(join(cache, vmlinuz), readFileSync(join(boot, vmlinuz)));
  rmSync(stage.host(inner), { recursive: true, force: true });
  return join(cache, vmlinuz);
}

export interface PairGuest {
  label: string;
  xml: string;
  settleMs: number;
  /** An aarch64 guest: gdb-multiarch reads the cores, and --registers is held against HMP's. */
  aarch64?: boolean;
}

export function memoryGuests(stage: Stage, template: string, kernelCache: string, kvm: boolean): PairGuest[] {
  const big = (machine: string) => template.replace(/<memory unit='MiB'>16<\/memory>/, "<memory unit='MiB'>4608</memory>").replace(/<currentMemory unit='MiB'>16<\/currentMemory>/, "<currentMemory unit='MiB'>4608</currentMemory>").replace(/machine='pc'/, `machine='${machine}'`);
  const guests: PairGuest[] = [
    { label: 'i440fx, 4.5 GiB (RAM across the 4 GiB split)', xml: big('pc'), settleMs: 4000 },
    { label: 'q35, 4.5 GiB (RAM across the 4 GiB split)', xml: big('q35'), settleMs: 4000 },
  ];
  const kernel = kernelFor(stage, kernelCache);
  const inner = join(stage.work, 'vmlinuz');
  writeFileSync(stage.host(inner), readFileSync(kernel));
  const linux = template
    .replace(/<memory unit='MiB'>16<\/memory>/, "<memory unit='MiB'>256</memory>")
    .replace(/<currentMemory unit='MiB'>16<\/currentMemory>/, "<currentMemory unit='MiB'>256</currentMemory>")
    .replace(/<boot dev='network'\/>/, `<kernel>${inner}</kernel><cmdline>console=ttyS0 panic=0 nokaslr</cmdline>`);
  // Without a root file system the kernel panics and stays there, in long mode: what is wanted.
  guests.push({ label: `Linux ${kernel.split('vmlinuz-')[1]} in long mode (${kvm ? 'KVM' : 'TCG'})`, xml: linux, settleMs: kvm ? 8000 : 30000 });
  return guests;
}

export interface PairResult {
  check: string;
  ok: boolean;
  detail: string;
}

/**
 * Makes the pair for `guest` and checks savekit's core and physical image against the dump (and,
 * for aarch64, `state --registers` against HMP's `info registers`). `keep`: a path the save is
 * copied to before the pair's files are removed.
 */
export async function checkMemoryPair(
  stage: Stage,
  guest: PairGuest,
  savekit: (args: string[]) => { status: number; stderr: string; stdout: string },
  keep?: string,
  /** Resolves once the guest is where it should be paused (else settleMs is waited). */
  ready?: () => Promise<boolean>,
): Promise<PairResult[]> {
  const results: PairResult[] = [];
  const record = (check: string, ok: boolean, detail = '') => results.push({ check: `memory pair, ${guest.label}: ${check}`, ok, detail });
  const xml = stage.file('pair.xml');
  const dump = stage.file('pair-dump.elf');
  const save = stage.file('pair.save');
  const core = stage.file('pair-savekit.elf').host;
  const physical = stage.file('pair-physical.raw').host;
  try {
    writeFileSync(xml.host, guest.xml);
    stage.virsh('destroy', GUEST);
    const created = stage.virsh('create', xml.inner);
    if (created.status !== 0) {
      record('the guest starts', false, created.stderr.trim());
      return results;
    }
    if (ready) await ready();
    else await new Promise((resolve) => setTimeout(resolve, guest.settleMs));
    const made = [stage.virsh('suspend', GUEST)];
    const hmp = stage.virsh('qemu-monitor-command', '--hmp', GUEST, 'info registers -a');
    made.push(stage.virsh('dump', '--memory-only', '--format', 'elf', GUEST, dump.inner), stage.virsh('save', GUEST, save.inner));
    const failed = made.find((run) => run.status !== 0);
    record('virsh suspend, dump --memory-only, save', failed === undefined, failed?.stderr.trim() ?? '');
    if (failed) return results;
    if (keep) copyFileSync(save.host, keep);
    if (guest.aarch64) {
      const lines = (text: string) => text.replaceAll('\r', '').split('\n').filter((line) => line.trim() !== '').join('\n');
      const ours = savekit(['state', '--registers', save.host]);
      const same = ours.status === 0 && hmp.status === 0 && lines(ours.stdout) === lines(hmp.stdout);
      record("state --registers equals what 'info registers' printed before the save", same, same ? `${lines(hmp.stdout).split('\n').length} lines` : `${ours.stderr}${hmp.stderr}`.trim() || `HMP: ${lines(hmp.stdout).slice(0, 300)} / savekit: ${lines(ours.stdout).slice(0, 300)}`);
    }
    const elf = savekit(['extract-ram', '--elf', save.host, core]);
    const flat = savekit(['extract-ram', '--physical', save.host, physical]);
    record('savekit extract-ram --elf and --physical succeed', elf.status === 0 && flat.status === 0, `${elf.stderr}${flat.stderr}`.trim().slice(0, 300));
    if (elf.status !== 0 || flat.status !== 0) return results;
    const theirs = segmentsOf(dump.host);
    const ours = segmentsOf(core);
    const loads = (segments: Segment[]) => segments.filter((s) => s.type === 1).map((s) => `${s.paddr.toString(16)}+${s.filesz.toString(16)}`);
    record('the same e_machine and PT_LOAD ranges (p_paddr, sizes)', theirs.machine === ours.machine && loads(theirs.segments).join() === loads(ours.segments).join(), `dump ${theirs.machine} ${loads(theirs.segments).join(' ')}; savekit ${ours.machine} ${loads(ours.segments).join(' ')}`);
    const differences: string[] = [];
    for (const segment of theirs.segments) {
      const mine = ours.segments.find((s) => s.type === segment.type && s.paddr === segment.paddr && s.filesz === segment.filesz);
      if (!mine) continue;
      const at = firstDifference(dump.host, segment.offset, core, mine.offset, segment.filesz);
      if (at !== null) differences.push(`${segment.type === 4 ? 'notes' : `GPA 0x${segment.paddr.toString(16)}`} at +0x${at.toString(16)}`);
      if (segment.type === 1) {
        const flatAt = firstDifference(dump.host, segment.offset, physical, segment.paddr, segment.filesz);
        if (flatAt !== null) differences.push(`physical image at GPA 0x${(segment.paddr + flatAt).toString(16)}`);
      }
    }
    record('every PT_LOAD byte, the notes, and the physical image equal the dump', differences.length === 0, differences.join(', '));
    const gdbTheirs = gdbRegisters(dump.host, guest.aarch64 === true);
    const gdbOurs = gdbRegisters(core, guest.aarch64 === true);
    record('gdb prints the same registers for both cores', gdbTheirs.length > 0 && gdbTheirs === gdbOurs, gdbTheirs === gdbOurs ? `${gdbOurs.split('\n').length} registers` : `dump: ${gdbTheirs.slice(0, 200)} / savekit: ${gdbOurs.slice(0, 200)}`);
    const readelf = sh('readelf', ['-h', '-l', '-n', core], { allowFail: true });
    record('readelf reads savekit\'s core (headers, segments, notes)', readelf.status === 0 && readelf.stdout.includes('NT_PRSTATUS') && readelf.stderr.trim() === '', readelf.stderr.trim().slice(0, 200));
  } finally {
    stage.virsh('destroy', GUEST);
    for (const path of [dump.host, save.host, core, physical]) rmSync(path, { force: true });
  }
  return results;
}
