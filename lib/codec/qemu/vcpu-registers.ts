// A vCPU's registers whatever its architecture: the `cpu` section's fields say which (env.xregs
// for ARM, env.eip for x86). Pure.
import type { DeviceState } from './device-state.js';
import { aarch64RegistersJson, decodeAarch64Registers, formatAarch64Registers, isArmCpu, type Aarch64Registers } from './aarch64-registers.js';
import { decodeX86Registers, formatX86Registers, x86RegistersJson, type X86Registers } from './x86-registers.js';

export type VcpuRegisters = X86Registers | Aarch64Registers;

/** The registers of the vCPU whose `cpu` section is `cpu` (x86 also reads its `cpu_common`). */
export function decodeVcpuRegisters(cpu: DeviceState, common?: DeviceState): VcpuRegisters {
  return isArmCpu(cpu) ? decodeAarch64Registers(cpu) : decodeX86Registers(cpu, common);
}

/** As QEMU's HMP `info registers` prints them for the architecture. */
export function formatVcpuRegisters(r: VcpuRegisters): string {
  return r.arch === 'aarch64' ? formatAarch64Registers(r) : formatX86Registers(r);
}

export function vcpuRegistersJson(r: VcpuRegisters): Record<string, unknown> {
  return r.arch === 'aarch64' ? aarch64RegistersJson(r) : x86RegistersJson(r);
}
