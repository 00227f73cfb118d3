// Does the QEMU installed on this machine offer an image's machine type? Asked of the program
// libvirt would run (`qemu-system-<arch> -machine help`, found on PATH), before anyone tries a
// restore that fails with "unsupported machine type": a newer QEMU keeps old machine types for
// years, then drops them (PLATFORMS.md).
import { spawnSync } from 'node:child_process';

export interface MachineSupport {
  /** The machine type the stream names (configuration section), or the domain XML's. */
  machine: string;
  arch: string;
  /** The program asked, and its version line; null when it is not installed. */
  program: string;
  qemu: string | null;
  /** Whether it lists the machine type; null when there is no such program. */
  offered: boolean | null;
}

/** QEMU's system emulator for a libvirt `<type arch=...>`. */
export function qemuProgramFor(arch: string): string {
  if (arch === 'i686') return 'qemu-system-i386';
  if (arch === 'armv7l') return 'qemu-system-arm';
  return `qemu-system-${arch}`;
}

/** The machine types (and aliases) a `-machine help` text lists. */
export function parseMachineHelp(text: string): Set<string> {
  const machines = new Set<string>();
  for (const line of text.split('\n')) {
    const name = /^(\S+)\s+\S/.exec(line)?.[1];
    if (name && !line.startsWith('Supported machines')) machines.add(name);
  }
  return machines;
}

/** Asks `program` (by default qemu-system-<arch> on PATH) whether it offers `machine`. */
export function machineSupport(machine: string, arch: string, program = qemuProgramFor(arch)): MachineSupport {
  const help = spawnSync(program, ['-machine', 'help'], { encoding: 'utf8', timeout: 20_000 });
  if (help.error || help.status !== 0) return { machine, arch, program, qemu: null, offered: null };
  const version = spawnSync(program, ['--version'], { encoding: 'utf8', timeout: 20_000 }).stdout?.split('\n')[0]?.trim() ?? '';
  return { machine, arch, program, qemu: version || program, offered: parseMachineHelp(help.stdout).has(machine) };
}
