// An x86 vCPU's registers from its decoded `cpu` section (vmsd `cpu`, target/i386/machine.c;
// DEVICE-STATE.md section 6), and the text QEMU's HMP `info registers` prints for them
// (x86_cpu_dump_state in target/i386/cpu-dump.c). Pure.
import { SaveImageError } from '../../errors.js';
import type { DeviceState, StateEntry, StateValue } from './device-state.js';

export interface SegmentRegister {
  selector: bigint;
  base: bigint;
  limit: bigint;
  flags: bigint;
}

export interface X86Registers {
  arch: 'x86';
  /** The `cpu` section's instance: the vCPU index. */
  cpu: number;
  /** RAX RCX RDX RBX RSP RBP RSI RDI R8..R15, in QEMU's order (env.regs). */
  regs: bigint[];
  rip: bigint;
  rflags: bigint;
  cr: { cr0: bigint; cr2: bigint; cr3: bigint; cr4: bigint };
  efer: bigint;
  /** ES CS SS DS FS GS. */
  segs: SegmentRegister[];
  ldt: SegmentRegister;
  tr: SegmentRegister;
  gdt: SegmentRegister;
  idt: SegmentRegister;
  dr: bigint[];
  hflags: bigint;
  a20Mask: bigint;
  kernelGsBase: bigint;
  /** From the `cpu_common` section of the same vCPU, when there is one. */
  halted: boolean | null;
}

const HF_CPL_MASK = 3n;
const HF_INHIBIT_IRQ_SHIFT = 3n;
const HF_PE_MASK = 1n << 0n;
const HF_LMA_MASK = 1n << 14n;
const HF_CS64_MASK = 1n << 15n;
const HF_SMM_SHIFT = 19n;
/** QEMU's order of env.regs, and the order `info registers` prints them in. */
const REG_NAMES = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'];
const PRINT_ORDER = [0, 3, 1, 2, 6, 7, 5, 4];
const SEGMENT_NAMES = ['ES', 'CS', 'SS', 'DS', 'FS', 'GS'];

/** The registers of the vCPU whose `cpu` section is `cpu` (and `cpu_common`, if given). */
export function decodeX86Registers(cpu: DeviceState, common?: DeviceState): X86Registers {
  const field = (name: string): StateValue[] => {
    const values = cpu.entries.filter((entry) => entry.name === name).map((entry) => entry.value);
    if (values.length === 0) throw new SaveImageError('ERR_BAD_STREAM', `device ${cpu.name} (section ${cpu.sectionId}) has no field ${name}: not an x86 cpu section savekit knows`);
    return values;
  };
  const int = (name: string): bigint => integer(field(name)[0]!, name);
  const ints = (name: string): bigint[] => field(name).map((value) => integer(value, name));
  const segment = (value: StateValue, name: string): SegmentRegister => {
    if (value.kind !== 'struct') throw new SaveImageError('ERR_BAD_STREAM', `field ${name} of ${cpu.name} is not a segment struct`);
    const part = (key: string) => integer(value.entries.find((entry: StateEntry) => entry.name === key)?.value, `${name}.${key}`);
    return { selector: part('selector'), base: part('base'), limit: part('limit'), flags: part('flags') };
  };
  const halted = common?.entries.find((entry) => entry.name === 'halted')?.value;
  return {
    arch: 'x86',
    cpu: cpu.instance,
    regs: ints('env.regs'),
    rip: int('env.eip'),
    rflags: int('env.eflags'),
    cr: { cr0: int('env.cr[0]'), cr2: int('env.cr[2]'), cr3: int('env.cr[3]'), cr4: int('env.cr[4]') },
    efer: int('env.efer'),
    segs: field('env.segs').map((value, i) => segment(value, `env.segs[${i}]`)),
    ldt: segment(field('env.ldt')[0]!, 'env.ldt'),
    tr: segment(field('env.tr')[0]!, 'env.tr'),
    gdt: segment(field('env.gdt')[0]!, 'env.gdt'),
    idt: segment(field('env.idt')[0]!, 'env.idt'),
    dr: ints('env.dr'),
    hflags: int('env.hflags'),
    a20Mask: BigInt.asUintN(32, int('env.a20_mask')),
    kernelGsBase: cpu.entries.some((entry) => entry.name === 'env.kernelgsbase') ? int('env.kernelgsbase') : 0n,
    halted: halted?.kind === 'int' ? halted.value !== 0n : null,
  };
}

function integer(value: StateValue | undefined, name: string): bigint {
  if (value?.kind !== 'int') throw new SaveImageError('ERR_BAD_STREAM', `cpu field ${name} is not an integer`);
  return value.value;
}

const hex = (value: bigint, digits: number) => BigInt.asUintN(digits * 4, value).toString(16).padStart(digits, '0');

/** The vCPU as `info registers` prints it (the general, segment, table, control and debug registers). */
export function formatX86Registers(r: X86Registers): string {
  const long = (r.hflags & HF_CS64_MASK) !== 0n;
  const lma = (r.hflags & HF_LMA_MASK) !== 0n;
  const lines: string[] = [];
  const width = long ? 16 : 8;
  const name = (i: number) => (long ? REG_NAMES[i]! : `E${REG_NAMES[i]!.slice(1)}`).padEnd(3);
  const order = long ? [...PRINT_ORDER, 8, 9, 10, 11, 12, 13, 14, 15] : PRINT_ORDER;
  for (let row = 0; row < order.length; row += 4) lines.push(order.slice(row, row + 4).map((i) => `${name(i)}=${hex(r.regs[i] ?? 0n, width)}`).join(' '));
  const flags = [[10n, 'D'], [11n, 'O'], [7n, 'S'], [6n, 'Z'], [4n, 'A'], [2n, 'P'], [0n, 'C']] as const;
  const flagText = flags.map(([bit, letter]) => ((r.rflags >> bit) & 1n ? letter : '-')).join('');
  const status = `CPL=${r.hflags & HF_CPL_MASK} II=${(r.hflags >> HF_INHIBIT_IRQ_SHIFT) & 1n} A20=${(r.a20Mask >> 20n) & 1n} SMM=${(r.hflags >> HF_SMM_SHIFT) & 1n} HLT=${r.halted === null ? '?' : r.halted ? 1 : 0}`;
  lines.push(`${long ? 'RIP' : 'EIP'}=${hex(r.rip, width)} ${long ? 'RFL' : 'EFL'}=${hex(r.rflags, 8)} [${flagText}] ${status}`);
  const segment = (label: string, s: SegmentRegister) =>
    `${label.padEnd(3)}=${hex(s.selector, 4)} ${hex(s.base, lma ? 16 : 8)} ${hex(s.limit, 8)} ${hex(s.flags & 0x00ffff00n, 8)}${describeSegment(s.flags, r.hflags)}`;
  r.segs.forEach((s, i) => lines.push(segment(SEGMENT_NAMES[i] ?? `S${i}`, s)));
  lines.push(segment('LDT', r.ldt), segment('TR', r.tr));
  lines.push(`GDT=     ${hex(r.gdt.base, lma ? 16 : 8)} ${hex(r.gdt.limit, 8)}`, `IDT=     ${hex(r.idt.base, lma ? 16 : 8)} ${hex(r.idt.limit, 8)}`);
  lines.push(`CR0=${hex(r.cr.cr0, 8)} CR2=${hex(r.cr.cr2, lma ? 16 : 8)} CR3=${hex(r.cr.cr3, lma ? 16 : 8)} CR4=${hex(r.cr.cr4, 8)}`);
  const drWidth = lma ? 16 : 8;
  lines.push(r.dr.slice(0, 4).map((v, i) => `DR${i}=${hex(v, drWidth)}`).join(' '));
  lines.push(`DR6=${hex(r.dr[6] ?? 0n, drWidth)} DR7=${hex(r.dr[7] ?? 0n, drWidth)}`);
  lines.push(`EFER=${hex(r.efer, 16)}`);
  return `${lines.join('\n')}\n`;
}

const SYSTEM_TYPES_32 = ['Reserved', 'TSS16-avl', 'LDT', 'TSS16-busy', 'CallGate16', 'TaskGate', 'IntGate16', 'TrapGate16', 'Reserved', 'TSS32-avl', 'Reserved', 'TSS32-busy', 'CallGate32', 'Reserved', 'IntGate32', 'TrapGate32'];
const SYSTEM_TYPES_64 = ['<hiword>', 'Reserved', 'LDT', 'Reserved', 'Reserved', 'Reserved', 'Reserved', 'Reserved', 'Reserved', 'TSS64-avl', 'Reserved', 'TSS64-busy', 'CallGate64', 'Reserved', 'IntGate64', 'TrapGate64'];

/** What QEMU adds after a present descriptor in protected mode: DPL, kind and access bits. */
function describeSegment(flags: bigint, hflags: bigint): string {
  const present = (flags >> 15n) & 1n;
  if ((hflags & HF_PE_MASK) === 0n || !present) return '';
  const dpl = (flags >> 13n) & 3n;
  const bit = (n: bigint) => ((flags >> n) & 1n) === 1n;
  if (!bit(12n)) {
    const table = (hflags & HF_LMA_MASK) !== 0n ? SYSTEM_TYPES_64 : SYSTEM_TYPES_32;
    return ` DPL=${dpl} ${table[Number((flags >> 8n) & 15n)]}`;
  }
  if (bit(11n)) {
    const kind = bit(21n) ? 'CS64' : bit(22n) ? 'CS32' : 'CS16';
    return ` DPL=${dpl} ${kind} [${bit(10n) ? 'C' : '-'}${bit(9n) ? 'R' : '-'}${bit(8n) ? 'A' : '-'}]`;
  }
  const kind = bit(22n) || (hflags & HF_LMA_MASK) !== 0n ? 'DS  ' : 'DS16';
  return ` DPL=${dpl} ${kind} [${bit(10n) ? 'E' : '-'}${bit(9n) ? 'W' : '-'}${bit(8n) ? 'A' : '-'}]`;
}

/** The registers as JSON: every value a "0x" hex string (64-bit values exact). */
export function x86RegistersJson(r: X86Registers): Record<string, unknown> {
  const h = (value: bigint, digits = 16) => `0x${hex(value, digits)}`;
  const seg = (s: SegmentRegister) => ({ selector: h(s.selector, 4), base: h(s.base), limit: h(s.limit, 8), flags: h(s.flags, 8) });
  const json: Record<string, unknown> = { cpu: r.cpu, arch: 'x86', mode: (r.hflags & HF_LMA_MASK) !== 0n ? 'long' : (r.hflags & HF_PE_MASK) !== 0n ? 'protected' : 'real' };
  REG_NAMES.forEach((name, i) => (json[name.toLowerCase()] = h(r.regs[i] ?? 0n)));
  Object.assign(json, {
    rip: h(r.rip),
    rflags: h(r.rflags),
    cr0: h(r.cr.cr0),
    cr2: h(r.cr.cr2),
    cr3: h(r.cr.cr3),
    cr4: h(r.cr.cr4),
    efer: h(r.efer),
    cpl: Number(r.hflags & HF_CPL_MASK),
    halted: r.halted,
    segments: Object.fromEntries(r.segs.map((s, i) => [(SEGMENT_NAMES[i] ?? `s${i}`).toLowerCase(), seg(s)])),
    ldt: seg(r.ldt),
    tr: seg(r.tr),
    gdt: { base: h(r.gdt.base), limit: h(r.gdt.limit, 8) },
    idt: { base: h(r.idt.base), limit: h(r.idt.limit, 8) },
    dr: r.dr.map((v) => h(v)),
  });
  return json;
}
