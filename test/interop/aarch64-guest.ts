// An aarch64 guest on an x86 machine (PLATFORMS.md): a `virt` machine under TCG with two
// cortex-a57 vCPUs, booted directly from Debian's arm64 cloud kernel with a busybox initramfs
// whose /init counts on the PL011 console. Paused, it is dumped (`virsh dump --memory-only`) and
// saved: savekit's --registers must equal HMP's `info registers`, its --elf the dump (every
// PT_LOAD byte, the notes, gdb-multiarch's registers) and its --physical the dump's memory at
// its addresses. Then it is saved in every format the stage's libvirt writes (check, walk to the
// end, every device decoded), and converted and edited images restore in the state their
// header says, and go on counting.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkMemoryPair, type PairResult } from './memory-pairs.js';
import { GUEST, sh, type Stage, waitFor } from './stage.js';

const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /bin /proc /dev
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
i=0
while true; do
  i=$((i + 1))
  echo "tick $i" > /dev/ttyAMA0
  sleep 0.5
done
`;

/**
 * The arm64 kernel and busybox initramfs, fetched once into `cache` with the apt of the Debian
 * root given (its dpkg learns the arm64 architecture; the machine's own apt is left alone).
 */
export function arm64Guest(cache: string, root: string): { kernel: string; initramfs: string } {
  const dir = join(cache, 'arm64');
  const kernel = join(dir, 'vmlinuz');
  const initramfs = join(dir, 'initramfs.gz');
  if (existsSync(kernel) && existsSync(initramfs)) return { kernel, initramfs };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const inRoot = (script: string) => sh('chroot', [root, 'sh', '-c', script], { timeoutMs: 900_000 });
  if (!inRoot('dpkg --print-foreign-architectures').stdout.includes('arm64')) inRoot('dpkg --add-architecture arm64');
  let depends = sh('chroot', [root, 'apt-cache', 'depends', 'linux-image-cloud-arm64:arm64'], { allowFail: true }).stdout;
  if (!depends.includes('Depends:')) {
    inRoot('apt-get update -qq');
    depends = sh('chroot', [root, 'apt-cache', 'depends', 'linux-image-cloud-arm64:arm64']).stdout;
  }
  const image = /Depends:\s*(linux-image-\S+-cloud-arm64)/.exec(depends)?.[1];
  if (!image) throw new Error('no linux-image-*-cloud-arm64 package in the Debian root\'s apt lists');
  const download = '/savekit-arm64-download';
  const downloadHost = join(root, download);
  rmSync(downloadHost, { recursive: true, force: true });
  mkdirSync(downloadHost, { recursive: true });
  try {
    inRoot(`cd ${download} && apt-get download ${image}:arm64 busybox-static:arm64 >/dev/null 2>&1`);
    const debs = readdirSync(downloadHost);
    const kernelDeb = debs.find((name) => name.startsWith('linux-image-'));
    const busyboxDeb = debs.find((name) => name.startsWith('busybox-static'));
    if (!kernelDeb || !busyboxDeb) throw new Error(`apt-get download of ${image} and busybox-static for arm64 gave ${debs.join(', ') || 'nothing'}`);
    sh('dpkg-deb', ['-x', join(downloadHost, kernelDeb), join(downloadHost, 'kernel')]);
    sh('dpkg-deb', ['-x', join(downloadHost, busyboxDeb), join(downloadHost, 'busybox')]);
    const boot = join(downloadHost, 'kernel', 'boot');
    copyFileSync(join(boot, readdirSync(boot).find((name) => name.startsWith('vmlinuz-'))!), `${kernel}.tmp`);
    const initRoot = join(downloadHost, 'initramfs');
    mkdirSync(join(initRoot, 'bin'), { recursive: true });
    const busybox = ['usr/bin/busybox', 'bin/busybox'].map((path) => join(downloadHost, 'busybox', path)).find(existsSync);
    if (!busybox) throw new Error('busybox-static for arm64 holds no busybox');
    copyFileSync(busybox, join(initRoot, 'bin', 'busybox'));
    sh('chmod', ['755', join(initRoot, 'bin', 'busybox')]);
    writeFileSync(join(initRoot, 'init'), INIT, { mode: 0o755 });
    sh('sh', ['-c', `cd '${initRoot}' && find . | cpio -o -H newc --quiet | gzip -9 > '${initramfs}'`]);
    sh('mv', [`${kernel}.tmp`, kernel]);
  } finally {
    rmSync(downloadHost, { recursive: true, force: true });
  }
  return { kernel, initramfs };
}

function guestXml(stage: Stage, kernel: string, initrd: string, log: string): string {
  return `<domain type='qemu'>
  <name>${GUEST}</name>
  <uuid>5a1b2c3d-0000-4000-8000-0000000a6464</uuid>
  <title>aarch64 save fixture</title>
  <description>original description</description>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='aarch64' machine='virt'>hvm</type>
    <kernel>${kernel}</kernel>
    <initrd>${initrd}</initrd>
    <cmdline>console=ttyAMA0 quiet rdinit=/init panic=0</cmdline>
  </os>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>cortex-a57</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-aarch64</emulator>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='${log}' append='on'/>
      <target port='0'/>
    </serial>
    <console type='file'>
      <source path='${log}' append='on'/>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

const ticks = (text: string) => [...text.matchAll(/tick (\d+)/g)].map((match) => Number(match[1]));

type Savekit = (args: string[]) => { status: number; stderr: string; stdout: string };

export async function checkAarch64Guest(stage: Stage, modern: boolean, formats: string[], assets: { kernel: string; initramfs: string }, savekit: Savekit): Promise<PairResult[]> {
  const results: PairResult[] = [];
  const record = (check: string, ok: boolean, detail = '') => results.push({ check: `aarch64 guest: ${check}`, ok, detail });
  const [kernel, initrd, log, pair] = ['a64-vmlinuz', 'a64-initramfs.gz', 'a64-serial.log', 'a64-pair.save'].map((name) => stage.file(name));
  const logText = () => (existsSync(log.host) ? readFileSync(log.host, 'latin1') : '');
  const written: string[] = [];
  try {
    stage.configure('raw');
    await stage.restartLibvirtd();
    copyFileSync(assets.kernel, kernel.host);
    copyFileSync(assets.initramfs, initrd.host);
    const xml = guestXml(stage, kernel.inner, initrd.inner, log.inner);
    // Booted and counting, then paused, dumped and saved: the pair (memory-pairs.ts checks it).
    const guest = { label: 'aarch64 virt, 2 vCPUs (TCG)', xml, settleMs: 0, aarch64: true };
    const started = Date.now();
    const pairResults = await checkMemoryPair(stage, guest, savekit, pair.host, () => waitFor(() => ticks(logText()).length >= 2, 120_000));
    for (const result of pairResults) results.push({ ...result, check: `aarch64 guest: ${result.check.replace(/^memory pair, [^:]*: /, '')}` });
    record('boots under TCG and counts on its PL011 console', ticks(logText()).length >= 2, `${((Date.now() - started) / 1000).toFixed(1)} s to the pair`);
    if (!existsSync(pair.host)) return results;
    written.push(pair.host);

    // Every format this libvirt writes: the pair restored running, then saved again.
    for (const format of formats) {
      if (!modern) {
        stage.configure(format);
        await stage.restartLibvirtd();
      }
      const file = stage.file(`a64-${format}.save`);
      written.push(file.host);
      const restored = stage.virsh('restore', '--running', pair.inner);
      const saved = restored.status === 0 ? stage.virsh('save', ...(modern ? ['--image-format', format] : []), GUEST, file.inner) : restored;
      stage.virsh('destroy', GUEST);
      if (saved.status !== 0) {
        record(`${format}: restored and saved by virsh`, false, saved.stderr.trim());
        continue;
      }
      // check walks the whole stream and reports that walk (eof, machine) in its JSON.
      const check = savekit(['check', '--json', file.host]);
      const walked = check.status === 0 ? (JSON.parse(check.stdout) as { walk: { eof: boolean; machine: string } }).walk : null;
      const state = savekit(['state', '--json', file.host]);
      const decoded = state.status === 0 ? (JSON.parse(state.stdout) as { devices: Array<{ name: string }>; undecoded: unknown[] }) : null;
      const registers = savekit(['state', '--registers', file.host]);
      const ok = walked?.eof === true && decoded !== null && decoded.undecoded.length === 0 && registers.status === 0 && registers.stdout.includes('PSTATE=');
      record(`${format}: check passes, walk reaches the end, state decodes every device and the registers`, ok, `${check.stderr}${state.stderr}${registers.stderr}`.trim().slice(0, 300) || `${walked?.machine}, ${decoded?.devices.length} devices`);
    }
    stage.configure('raw');
    if (!modern) await stage.restartLibvirtd();

    // Converted and edited images restore, in the state their header says, and count on.
    const conversions = modern ? ['zstd', 'sparse'] : ['xz', 'lzop'];
    const restores: Array<[string, string, string]> = [];
    for (const format of conversions) {
      const out = stage.file(`a64-c-${format}.save`).host;
      written.push(out);
      const run = savekit(['convert', '--quiet', '--format', format, pair.host, out]);
      if (run.status !== 0) record(`convert raw -> ${format}`, false, run.stderr.trim().slice(0, 300));
      restores.push([`convert raw -> ${format}`, out, 'paused']);
    }
    const running = stage.file('a64-running.save').host;
    written.push(running);
    copyFileSync(pair.host, running);
    savekit(['set', running, '--running']);
    restores.push(['set --running', running, 'running']);
    const defined = stage.file('a64-defined.save').host;
    const edited = stage.file('a64-edited.xml').host;
    written.push(defined, edited);
    copyFileSync(pair.host, defined);
    writeFileSync(edited, savekit(['dumpxml', '--security-info', pair.host]).stdout.replace('original description', 'edited by savekit define'));
    savekit(['define', defined, edited]);
    restores.push(['define with an edited description', defined, 'paused']);
    for (const [name, file, expected] of restores) {
      const got = stage.restoreState(file);
      record(`virsh restore of savekit ${name} comes back ${expected}`, got === expected, got);
    }
    // A restored image runs on: its console goes on counting.
    stage.virsh('destroy', GUEST);
    const before = logText().length;
    const restored = stage.virsh('restore', stage.file('a64-running.save').inner);
    const counting = restored.status === 0 && (await waitFor(() => ticks(logText().slice(before)).length >= 2, 60_000));
    record('the set --running image restores and goes on counting', counting, restored.stderr.trim() || `next ticks: ${ticks(logText().slice(before)).slice(0, 2).join(', ')}`);
  } finally {
    stage.virsh('destroy', GUEST);
    for (const path of [...written, kernel.host, initrd.host]) rmSync(path, { force: true });
  }
  return results;
}
