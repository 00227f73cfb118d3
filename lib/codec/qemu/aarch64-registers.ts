// An aarch64 vCPU's registers from its decoded `cpu` section (vmsd `cpu`, target/arm/machine.c:
// env.xregs, env.pc, the PSTATE as the big-endian `cpsr` word, the banked SP/ELR/SPSR, the
// system registers as a list of KVM-style ids and values, and the `cpu/vfp` subsection), and the
// text QEMU's HMP `info registers` prints for them (aarch64_cpu_dump_state in target/arm/cpu.c).
// Pure.
import { SaveImageError } from '../../errors.js';
import type { DeviceState, StateEntry, StateValue } from './device-state.js';

/** The system registers a debugger needs, by name; null when the vCPU's list lacks one. */
export interface Aarch64SystemRegisters {
  SP_EL0: bigint;
  SP_EL1: bigint;
  ELR_EL1: bigint;
  SPSR_EL1: bigint;
  VBAR_EL1: bigint | null;
  TTBR0_EL1: bigint | null;
  TTBR1_EL1: bigint | null;
  TCR_EL1: bigint | null;
  SCTLR_EL1: bigint | null;
}

export interface Aarch64Registers {
  arch: 'aarch64';
  /** The `cpu` section's instance: the vCPU index. */
  cpu: number;
  /** X0..X30, then the current SP (env.xregs[31]). */
  x: bigint[];
  sp: bigint;
  pc: bigint;
  pstate: number;
  fpsr: number;
  fpcr: number;
  /** V0..V31 as [low, high] 64-bit halves (Q registers). */
  v: Array<[bigint, bigint]>;
  system: Aarch64SystemRegisters;
  /** Whether the vCPU has EL3 (SCR_EL3 in its list): `info registers` then prints NS or S. */
  scrEl3: bigint | null;
  /** CPACR_EL1, for whether FP is trapped at the current EL ("FPU disabled"). */
  cpacrEl1: bigint;
}

// FPSR and FPCR share the AArch32 FPSCR's bits (vfp_get_fpsr/vfp_get_fpcr).
const FPSR_MASK = 0xf800009f;
const FPCR_MASK = 0x07ff9f00;
const PSTATE_SP = 1;
const PSTATE_NRW = 1 << 4;

/** A system register's id in the migrated list: KVM_REG_ARM64 | SIZE_U64 | SYSREG | op0..op2. */
export function sysregId(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  return 0x6030000000130000n | BigInt((op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2);
}

const SYSREGS = {
  VBAR_EL1: sysregId(3, 0, 12, 0, 0),
  TTBR0_EL1: sysregId(3, 0, 2, 0, 0),
  TTBR1_EL1: sysregId(3, 0, 2, 0, 1),
  TCR_EL1: sysregId(3, 0, 2, 0, 2),
  SCTLR_EL1: sysregId(3, 0, 1, 0, 0),
  CPACR_EL1: sysregId(3, 0, 1, 0, 2),
  SCR_EL3: sysregId(3, 6, 1, 1, 0),
} as const;

/** Whether a decoded `cpu` section is an ARM vCPU's (it has env.xregs). */
export function isArmCpu(cpu: DeviceState): boolean {
  return cpu.entries.some((entry) => entry.name === 'env.xregs');
}

export function decodeAarch64Registers(cpu: DeviceState): Aarch64Registers {
  const missing = (name: string) => new SaveImageError('ERR_BAD_STREAM', `device ${cpu.name} (section ${cpu.sectionId}) has no field ${name}: not an aarch64 cpu section savekit knows`);
  const field = (entries: StateEntry[], name: string): StateValue[] => entries.filter((entry) => entry.name === name).map((entry) => entry.value);
  const ints = (entries: StateEntry[], name: string): bigint[] => {
    const values = field(entries, name);
    if (values.length === 0) throw missing(name);
    return values.map((value) => integer(value, name));
  };
  const word = (entries: StateEntry[], name: string): number => {
    const value = field(entries, name)[0];
    if (value === undefined) throw missing(name);
    // cpsr and fpscr go through QEMU's own put functions: a big-endian 32-bit word.
    if (value.kind === 'bytes' && value.bytes.length === 4) return value.bytes.readUInt32BE(0);
    return Number(BigInt.asUintN(32, integer(value, name)));
  };
  const entries = cpu.entries;
  const xregs = ints(entries, 'env.xregs');
  const pstate = word(entries, 'cpsr');
  const spEl = ints(entries, 'env.sp_el');
  const elrEl = ints(entries, 'env.elr_el');
  const bankedSpsr = ints(entries, 'env.banked_spsr');
  const indexes = ints(entries, 'cpreg_vmstate_indexes');
  const values = ints(entries, 'cpreg_vmstate_values');
  const sysreg = (id: bigint): bigint | null => {
    const at = indexes.indexOf(id);
    return at < 0 ? null : BigInt.asUintN(64, values[at]!);
  };
  const vfp = subsection(entries, 'cpu/vfp');
  let fpsr = 0;
  let fpcr = 0;
  const v: Array<[bigint, bigint]> = [];
  if (vfp !== null) {
    const fpscr = word(vfp, 'fpscr');
    fpsr = fpscr & FPSR_MASK;
    fpcr = fpscr & FPCR_MASK;
    // One field per register: VMSTATE_UINT64_SUB_ARRAY(env.vfp.zregs[i].d, ..., 0, 2).
    for (let i = 0; i < 32; i++) {
      const d = ints(vfp, `env.vfp.zregs[${i}].d`);
      v.push([BigInt.asUintN(64, d[0] ?? 0n), BigInt.asUintN(64, d[1] ?? 0n)]);
    }
  }
  // Newer QEMUs carry FPCR/FPSR bits the FPSCR cannot hold in a subsection of their own.
  const wide = vfp === null ? null : subsection(vfp, 'cpu/vfp/fpcr_fpsr');
  if (wide !== null) {
    if (field(wide, 'fpcr').length > 0) fpcr = word(wide, 'fpcr');
    if (field(wide, 'fpsr').length > 0) fpsr = word(wide, 'fpsr');
  }
  const el = (pstate >> 2) & 3;
  const sp = BigInt.asUintN(64, xregs[31] ?? 0n);
  // env.sp_el[n] is stale for the SP in use: the live one is X31 (QEMU's aarch64_save_sp).
  const spOf = (n: number) => ((pstate & PSTATE_SP) !== 0 ? el === n : n === 0) ? sp : BigInt.asUintN(64, spEl[n] ?? 0n);
  return {
    arch: 'aarch64',
    cpu: cpu.instance,
    x: xregs.slice(0, 31).map((value) => BigInt.asUintN(64, value)),
    sp,
    pc: BigInt.asUintN(64, ints(entries, 'env.pc')[0]!),
    pstate,
    fpsr,
    fpcr,
    v,
    system: {
      SP_EL0: spOf(0),
      SP_EL1: spOf(1),
      ELR_EL1: BigInt.asUintN(64, elrEl[1] ?? 0n),
      SPSR_EL1: BigInt.asUintN(64, bankedSpsr[1] ?? 0n), // BANK_SVC holds SPSR_EL1
      VBAR_EL1: sysreg(SYSREGS.VBAR_EL1),
      TTBR0_EL1: sysreg(SYSREGS.TTBR0_EL1),
      TTBR1_EL1: sysreg(SYSREGS.TTBR1_EL1),
      TCR_EL1: sysreg(SYSREGS.TCR_EL1),
      SCTLR_EL1: sysreg(SYSREGS.SCTLR_EL1),
    },
    scrEl3: sysreg(SYSREGS.SCR_EL3),
    cpacrEl1: sysreg(SYSREGS.CPACR_EL1) ?? 0n,
  };
}

function subsection(entries: StateEntry[], name: string): StateEntry[] | null {
  const found = entries.find((entry) => entry.name === name && entry.value.kind === 'subsection');
  return found?.value.kind === 'subsection' ? found.value.entries : null;
}

function integer(value: StateValue | undefined, name: string): bigint {
  if (value?.kind !== 'int') throw new SaveImageError('ERR_BAD_STREAM', `cpu field ${name} is not an integer`);
  return value.value;
}

const hex = (value: bigint | number, digits: number) => BigInt.asUintN(digits * 4, BigInt(value)).toString(16).padStart(digits, '0');

/** The exception level and whether FP is trapped there (fp_exception_el, CPACR_EL1.FPEN only). */
function fpuDisabled(r: Aarch64Registers): boolean {
  const el = (r.pstate >> 2) & 3;
  const fpen = Number((r.cpacrEl1 >> 20n) & 3n);
  if (el === 0) return fpen !== 3;
  if (el === 1) return fpen === 0 || fpen === 2;
  return false;
}

/** The vCPU as `info registers` prints it: PC, X0..X30, SP, PSTATE, FPCR/FPSR and the Q registers. */
export function formatAarch64Registers(r: Aarch64Registers): string {
  if ((r.pstate & PSTATE_NRW) !== 0) return `PSTATE=${hex(r.pstate, 8)}: the vCPU is in AArch32 state, which savekit does not lay out\n`;
  let text = ` PC=${hex(r.pc, 16)} `;
  for (let i = 0; i < 31; i++) text += `X${String(i).padStart(2, '0')}=${hex(r.x[i] ?? 0n, 16)}${(i + 2) % 3 ? ' ' : '\n'}`;
  text += ` SP=${hex(r.sp, 16)}\n`;
  const p = r.pstate;
  const flags = `${p & (1 << 31) ? 'N' : '-'}${p & (1 << 30) ? 'Z' : '-'}${p & (1 << 29) ? 'C' : '-'}${p & (1 << 28) ? 'V' : '-'}`;
  const ns = r.scrEl3 === null ? '' : r.scrEl3 & 1n ? 'NS ' : ' S ';
  text += `PSTATE=${hex(p, 8)} ${flags} ${ns}EL${(p >> 2) & 3}${p & PSTATE_SP ? 'h' : 't'}`;
  if (fpuDisabled(r)) return `${text}    FPU disabled\n`;
  text += `     FPCR=${hex(r.fpcr, 8)} FPSR=${hex(r.fpsr, 8)}\n`;
  r.v.forEach(([low, high], i) => (text += `Q${String(i).padStart(2, '0')}=${hex(high, 16)}:${hex(low, 16)}${i & 1 ? '\n' : ' '}`));
  return text;
}

/** For --json: every value as a 0x-prefixed hex string. */
export function aarch64RegistersJson(r: Aarch64Registers): Record<string, unknown> {
  const h = (value: bigint | number) => `0x${hex(value, typeof value === 'number' ? 8 : 16)}`;
  return {
    cpu: r.cpu,
    arch: 'aarch64',
    pc: h(r.pc),
    x: r.x.map(h),
    sp: h(r.sp),
    pstate: h(r.pstate),
    el: (r.pstate >> 2) & 3,
    spsel: (r.pstate & PSTATE_SP) !== 0 ? 'h' : 't',
    fpcr: h(r.fpcr),
    fpsr: h(r.fpsr),
    q: r.v.map(([low, high]) => `0x${hex(high, 16)}${hex(low, 16)}`),
    system: Object.fromEntries(Object.entries(r.system).map(([name, value]) => [name, value === null ? null : h(value)])),
  };
}
