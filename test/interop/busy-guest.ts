// Two saves of a guest whose memory changes as it runs (DELTA.md): Debian's cloud kernel under
// TCG with a busybox initramfs whose /init writes 2 MiB of random data every quarter second and
// prints a counter on the serial console. Saved, restored, run 6 s, saved again: savekit delta
// and apply must give the second image back byte for byte, its delta no larger than 1.05x
// zstd --patch-from's, diff must name the devices that changed, and the applied image must
// restore and go on counting from where the second save left it.
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kernelFor, type PairResult } from './memory-pairs.js';
import { GUEST, sh, type Stage, waitFor } from './stage.js';

const INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /bin /proc /dev /tmp
/bin/busybox --install -s /bin
mount -t devtmpfs devtmpfs /dev
mount -t proc proc /proc
mount -t tmpfs -o size=160m tmpfs /tmp
i=0
while true; do
  i=$((i + 1))
  echo "tick $i" > /dev/ttyS0
  dd if=/dev/urandom of=/tmp/f$((i % 48)) bs=1M count=2 2>/dev/null
  sleep 0.25
done
`;

/** The initramfs (busybox-static of this machine's Debian, and /init), built once into `cache`. */
export function busyInitramfs(cache: string): string {
  const path = join(cache, 'busy-initramfs.gz');
  if (existsSync(path)) return path;
  const build = join(cache, 'busy-build');
  rmSync(build, { recursive: true, force: true });
  mkdirSync(join(build, 'root', 'bin'), { recursive: true });
  sh('sh', ['-c', `cd ${build} && apt-get download busybox-static >/dev/null && dpkg-deb -x busybox-static_*.deb unpacked`], { timeoutMs: 600_000 });
  copyFileSync(join(build, 'unpacked', 'bin', 'busybox'), join(build, 'root', 'bin', 'busybox'));
  sh('chmod', ['755', join(build, 'root', 'bin', 'busybox')]);
  writeFileSync(join(build, 'root', 'init'), INIT, { mode: 0o755 });
  sh('sh', ['-c', `cd ${join(build, 'root')} && find . | cpio -o -H newc --quiet | gzip -9 > ${path}.tmp && mv ${path}.tmp ${path}`]);
  rmSync(build, { recursive: true, force: true });
  return path;
}

function ticks(log: string): number[] {
  return [...log.matchAll(/tick (\d+)/g)].map((match) => Number(match[1]));
}

type Savekit = (args: string[]) => { status: number; stderr: string; stdout: string };

export async function checkBusyGuest(stage: Stage, template: string, kernelCache: string, initramfs: string, savekit: Savekit): Promise<PairResult[]> {
  const results: PairResult[] = [];
  const record = (check: string, ok: boolean, detail = '') => results.push({ check: `busy guest: ${check}`, ok, detail });
  const kernel = stage.file('busy-vmlinuz');
  const initrd = stage.file('busy-initramfs.gz');
  const log = stage.file('busy-serial.log');
  const xml = stage.file('busy.xml');
  const [first, second, applied, delta] = ['busy-1.save', 'busy-2.save', 'busy-2-applied.save', 'busy.delta'].map((name) => stage.file(name));
  const logText = () => (existsSync(log.host) ? readFileSync(log.host, 'latin1') : '');
  try {
    // Raw saves: apply gives those back byte for byte (a compressor may not redo its own bytes).
    stage.configure('raw');
    await stage.restartLibvirtd();
    copyFileSync(kernelFor(stage, kernelCache), kernel.host);
    copyFileSync(initramfs, initrd.host);
    writeFileSync(
      xml.host,
      template
        .replace(/<domain type='kvm'>/, "<domain type='qemu'>")
        .replace(/<memory unit='MiB'>16<\/memory>/, "<memory unit='MiB'>512</memory>")
        .replace(/<currentMemory unit='MiB'>16<\/currentMemory>/, "<currentMemory unit='MiB'>512</currentMemory>")
        .replace(/<boot dev='network'\/>/, `<kernel>${kernel.inner}</kernel><initrd>${initrd.inner}</initrd><cmdline>console=ttyS0 quiet rdinit=/init panic=0</cmdline>`)
        .replaceAll(/<source path='[^']*serial.log'\/>/g, `<source path='${log.inner}' append='on'/>`),
    );
    stage.virsh('destroy', GUEST);
    const created = stage.virsh('create', xml.inner);
    const counting = created.status === 0 && (await waitFor(() => ticks(logText()).length >= 4, 120_000));
    record('boots under TCG and counts on its serial console', counting, created.stderr.trim() || logText().slice(-300));
    if (!counting) return results;
    const runs = [stage.virsh('save', GUEST, first.inner), stage.virsh('restore', first.inner)];
    await new Promise((resolve) => setTimeout(resolve, 6000));
    runs.push(stage.virsh('save', GUEST, second.inner));
    const failed = runs.find((run) => run.status !== 0);
    const lastTick = Math.max(...ticks(logText()));
    record('saved, restored, run 6 s, saved again', failed === undefined, failed?.stderr.trim() ?? `counter at ${lastTick} at the second save`);
    if (failed) return results;

    const made = savekit(['delta', '--json', first.host, second.host, delta.host]);
    const apply = savekit(['apply', '--quiet', first.host, delta.host, applied.host]);
    const same = made.status === 0 && apply.status === 0 && readFileSync(applied.host).equals(readFileSync(second.host));
    const report = made.status === 0 ? (JSON.parse(made.stdout) as { samePages: number; pages: number; deltaBytes: number }) : null;
    record('delta and apply give the second image back byte for byte', same, `${made.stderr}${apply.stderr}`.trim() || `${report?.samePages} of ${report?.pages} pages from the first, a delta of ${report?.deltaBytes} bytes for ${statSync(second.host).size}`);

    const zstdPatch = `${delta.host}.zst`;
    sh('zstd', ['-q', '-f', `--patch-from=${first.host}`, second.host, '-o', zstdPatch], { timeoutMs: 600_000 });
    const zstdBytes = statSync(zstdPatch).size;
    const ours = statSync(delta.host).size;
    record('the delta is at most 1.05x zstd --patch-from\'s', ours <= 1.05 * zstdBytes, `${ours} bytes against ${zstdBytes} (${(ours / zstdBytes).toFixed(3)})`);

    const diff = savekit(['diff', '--json', first.host, second.host]);
    const changed = diff.status === 0 ? (JSON.parse(diff.stdout) as { devices: { changed: Array<{ name: string }> } }).devices.changed.map((device) => device.name) : [];
    record('diff names the devices whose state changed (timer and cpu at least)', changed.includes('timer') && changed.includes('cpu'), diff.stderr.trim() || changed.join(', '));

    stage.virsh('destroy', GUEST);
    const before = logText().length;
    const restored = stage.virsh('restore', applied.inner);
    const going = restored.status === 0 && (await waitFor(() => ticks(logText().slice(before)).length >= 2, 60_000));
    const next = ticks(logText().slice(before))[0];
    record('the applied image restores and counts on from where the second save left it', going && next === lastTick + 1, restored.stderr.trim() || `counter at ${lastTick} when saved, ${next} after the restore`);
  } finally {
    stage.virsh('destroy', GUEST);
    for (const file of [first, second, applied, delta, kernel, initrd]) rmSync(file.host, { force: true });
    rmSync(`${delta.host}.zst`, { force: true });
  }
  return results;
}
