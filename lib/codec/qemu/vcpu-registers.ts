// A vCPU's registers whatever its architecture: the `cpu` section's fields say which (env.xregs
// for ARM, env.eip for x86). Pure.
import { SaveImageError } from '../../errors.js';
import type { DeviceState } from './device-state.js';
import { aarch64RegistersJson, decodeAarch64Registers, formatAarch64Registers, isArmCpu, type Aarch64Registers } from './aarch64-registers.js';
import { decodeX86Registers, formatX86Registers, x86RegistersJson, type X86Registers } from './x86-registers.js';

export type VcpuRegisters = X86Registers | Aarch64Registers;

/** The registers of the vCPU whose `cpu` section is `cpu` (x86 also reads its `cpu_common`). */
export function decodeVcpuRegisters(cpu: DeviceState, common?: DeviceState): VcpuRegisters {
  if (isArmCpu(cpu)) return decodeAarch64Registers(cpu);
  if (cpu.entries.some((entry) => entry.name === 'env.eip')) return decodeX86Registers(cpu, common);
  throw new SaveImageError('ERR_BAD_STREAM', `device ${cpu.name} (section ${cpu.sectionId}) is neither an x86 nor an aarch64 vCPU (no env.eip, no env.xregs): savekit cannot lay out its registers`);
}

/** Every vCPU's registers from decoded device states: each `cpu` section (by instance) with its `cpu_common`. */
export function vcpuRegistersOf(states: DeviceState[], purpose: string): VcpuRegisters[] {
  const cpus = states.filter((state) => state.name === 'cpu').sort((a, b) => a.instance - b.instance);
  if (cpus.length === 0) throw new SaveImageError('ERR_BAD_STREAM', `the stream holds no cpu section: ${purpose}`);
  return cpus.map((cpu) => decodeVcpuRegisters(cpu, states.find((state) => state.name === 'cpu_common' && state.instance === cpu.instance)));
}

/** As QEMU's HMP `info registers` prints them for the architecture. */
export function formatVcpuRegisters(r: VcpuRegisters): string {
  return r.arch === 'aarch64' ? formatAarch64Registers(r) : formatX86Registers(r);
}

export function vcpuRegistersJson(r: VcpuRegisters): Record<string, unknown> {
  return r.arch === 'aarch64' ? aarch64RegistersJson(r) : x86RegistersJson(r);
}
