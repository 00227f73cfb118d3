// Where a guest's RAM blocks sit in guest-physical space, chosen by the blocks the stream names.
// A PC (MEMORY.md section 2, read in QEMU's hw/i386/pc_piix.c, pc_q35.c and pc.c, measured
// against `virsh dump` of the same guests): pc.ram below the split from 0, the rest from 4 GiB on,
// pc.bios just below 4 GiB. An ARM `virt` machine (PLATFORMS.md, hw/arm/virt.c's memory map):
// mach-virt.ram from 1 GiB, the two flash devices at 0 and 64 MiB (ROM devices, which QEMU's dump
// leaves out). Any other machine: the blocks where the user places them. Pure.
import { SaveImageError } from '../../errors.js';

const GIB4 = 2 ** 32;

/** One stretch of guest-physical memory backed by a RAM block. */
export interface PhysicalRange {
  /** Guest-physical address of the first byte. */
  address: number;
  length: number;
  block: string;
  /** Offset of the first byte in the block. */
  blockOffset: number;
  /** False for ROM devices (flash): in the physical image, not in QEMU's ELF dump. */
  inCore?: boolean;
}

/** Where a block starts in guest-physical memory, as the user gives it (--map BLOCK=ADDRESS). */
export interface BlockPlacement {
  block: string;
  address: number;
}

export interface PhysicalLayout {
  machine: string | null;
  /** Whose rules placed the blocks: a PC's, the ARM virt machine's, or the user's placements. */
  board: 'pc' | 'virt' | 'given';
  /** Bytes of pc.ram below 4 GiB (the split); null for other boards. */
  below4g: number | null;
  /** Ranges in ascending guest-physical order; blocks outside physical RAM are not listed. */
  ranges: PhysicalRange[];
  /** Blocks that have no place in guest-physical RAM (option ROMs, video memory, ...). */
  unmapped: string[];
}

/**
 * The split point QEMU uses for `machine` with `ram` bytes of pc.ram, or null for a machine type
 * whose rule savekit does not know. gigabyte_align is on for every machine type >= 1.8.
 */
export function lowMemoryOf(machine: string, ram: number): number | null {
  const match = /^pc-(i440fx|q35)-(\d+)\.(\d+)$/.exec(machine) ?? (/^(pc|q35)$/.exec(machine) ? [machine, machine === 'pc' ? 'i440fx' : 'q35', '99', '0'] : null);
  if (!match) return null;
  const [, chipset, major, minor] = match;
  const aligned = Number(major) > 1 || (Number(major) === 1 && Number(minor) >= 8);
  if (chipset === 'i440fx') return aligned && ram >= 0xe0000000 ? 0xc0000000 : 0xe0000000;
  return aligned && ram >= 0xb0000000 ? 0x80000000 : 0xb0000000;
}

const VIRT_RAM_BASE = 0x4000_0000;
const VIRT_FLASH = [
  { block: 'virt.flash0', address: 0 },
  { block: 'virt.flash1', address: 0x0400_0000 },
];

type Block = { name: string; length: number };

/**
 * The guest-physical layout of a guest's RAM blocks: given placements when there are any, else
 * the rules of the board whose RAM block the stream names (pc.ram, mach-virt.ram). `below4g` (the
 * user's word for max-ram-below-4g, which is in neither the stream nor the libvirt XML) overrides
 * a PC's split. Throws ERR_NO_BLOCK when no board's RAM block is there (yet).
 */
export function physicalLayout(machine: string | null, blocks: Block[], options: { below4g?: number; map?: BlockPlacement[] } = {}): PhysicalLayout {
  if (options.map !== undefined && options.map.length > 0) return givenLayout(machine, blocks, options.map);
  if (blocks.some((block) => block.name === 'mach-virt.ram')) return virtLayout(machine, blocks);
  return pcLayout(machine, blocks, options);
}

function virtLayout(machine: string | null, blocks: Block[]): PhysicalLayout {
  const ram = blocks.find((block) => block.name === 'mach-virt.ram')!;
  const ranges: PhysicalRange[] = [];
  for (const flash of VIRT_FLASH) {
    const block = blocks.find((b) => b.name === flash.block);
    if (block) ranges.push({ address: flash.address, length: block.length, block: block.name, blockOffset: 0, inCore: false });
  }
  ranges.push({ address: VIRT_RAM_BASE, length: ram.length, block: ram.name, blockOffset: 0 });
  checkOverlaps(ranges);
  return { machine, board: 'virt', below4g: null, ranges: ranges.filter((range) => range.length > 0), unmapped: unplaced(blocks, ranges) };
}

function givenLayout(machine: string | null, blocks: Block[], map: BlockPlacement[]): PhysicalLayout {
  const ranges: PhysicalRange[] = [];
  for (const { block: name, address } of map) {
    const block = blocks.find((b) => b.name === name);
    if (!block) throw new SaveImageError('ERR_NO_BLOCK', `--map names block ${JSON.stringify(name)}, which the stream does not have (blocks: ${blocks.map((b) => b.name).join(', ') || 'none'})`);
    ranges.push({ address, length: block.length, block: name, blockOffset: 0 });
  }
  checkOverlaps(ranges);
  return { machine, board: 'given', below4g: null, ranges: ranges.sort((a, b) => a.address - b.address), unmapped: unplaced(blocks, ranges) };
}

/** The blocks no range places. */
function unplaced(blocks: Block[], ranges: PhysicalRange[]): string[] {
  const placed = new Set(ranges.map((range) => range.block));
  return blocks.filter((block) => !placed.has(block.name)).map((block) => block.name);
}

function checkOverlaps(ranges: PhysicalRange[]): void {
  const sorted = [...ranges].sort((a, b) => a.address - b.address);
  for (let i = 1; i < sorted.length; i++) {
    const before = sorted[i - 1]!;
    const range = sorted[i]!;
    if (before.address + before.length > range.address) {
      throw new SaveImageError('ERR_BAD_STREAM', `block ${range.block} at 0x${range.address.toString(16)} overlaps block ${before.block} (0x${before.address.toString(16)}, ${before.length} bytes)`);
    }
  }
}

function pcLayout(machine: string | null, blocks: Block[], options: { below4g?: number }): PhysicalLayout {
  const ram = blocks.find((block) => block.name === 'pc.ram');
  if (!ram) {
    throw new SaveImageError(
      'ERR_NO_BLOCK',
      `machine ${JSON.stringify(machine)}: the stream has neither pc.ram nor mach-virt.ram (blocks: ${blocks.map((b) => b.name).join(', ') || 'none'}): savekit does not know where this machine puts its RAM; give each block's address with --map BLOCK=ADDRESS`,
    );
  }
  let lowmem: number | null;
  if (options.below4g !== undefined) {
    lowmem = options.below4g;
  } else {
    lowmem = machine === null ? null : lowMemoryOf(machine, ram.length);
    if (lowmem === null) {
      throw new SaveImageError('ERR_BAD_STREAM', `machine type ${JSON.stringify(machine)}: savekit does not know where it puts RAM below and above 4 GiB (it knows pc-i440fx-* and pc-q35-*); give --below-4g BYTES`);
    }
  }
  if (lowmem > GIB4) throw new SaveImageError('ERR_BAD_STREAM', `${lowmem} bytes of RAM below 4 GiB do not fit below 4 GiB (${GIB4} bytes)`);
  const below = Math.min(ram.length, lowmem);
  const ranges: PhysicalRange[] = [{ address: 0, length: below, block: 'pc.ram', blockOffset: 0 }];
  const bios = blocks.find((block) => block.name === 'pc.bios');
  if (bios) {
    if (bios.length > GIB4 - below) throw new SaveImageError('ERR_BAD_STREAM', `pc.bios (${bios.length} bytes) does not fit between the RAM below 4 GiB (${below} bytes) and 4 GiB`);
    ranges.push({ address: GIB4 - bios.length, length: bios.length, block: 'pc.bios', blockOffset: 0 });
  }
  if (ram.length > below) ranges.push({ address: GIB4, length: ram.length - below, block: 'pc.ram', blockOffset: below });
  return { machine, board: 'pc', below4g: below, ranges: ranges.filter((range) => range.length > 0), unmapped: unplaced(blocks, ranges) };
}

/** Where a page of a block lands: its guest-physical address, or null when it has none. */
export function physicalAddressOf(layout: PhysicalLayout, block: string, offset: number): number | null {
  for (const range of layout.ranges) {
    if (range.block === block && offset >= range.blockOffset && offset < range.blockOffset + range.length) return range.address + (offset - range.blockOffset);
  }
  return null;
}
