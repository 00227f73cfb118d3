// Where a PC guest's RAM blocks sit in guest-physical space (MEMORY.md section 2, read in QEMU's
// hw/i386/pc_piix.c, pc_q35.c and pc.c, measured against `virsh dump` of the same guests): pc.ram
// below the split from 0, the rest from 4 GiB on, pc.bios just below 4 GiB. Pure.
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
}

export interface PhysicalLayout {
  machine: string | null;
  /** Bytes of pc.ram below 4 GiB (the split). */
  below4g: number;
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

/**
 * The guest-physical layout of a PC guest's RAM blocks. `below4g` (the user's word for
 * max-ram-below-4g, which is in neither the stream nor the libvirt XML) overrides the split.
 */
export function physicalLayout(machine: string | null, blocks: Array<{ name: string; length: number }>, options: { below4g?: number } = {}): PhysicalLayout {
  const ram = blocks.find((block) => block.name === 'pc.ram');
  if (!ram) throw new SaveImageError('ERR_NO_BLOCK', `the stream has no pc.ram block (blocks: ${blocks.map((b) => b.name).join(', ') || 'none'}): not a PC guest savekit can lay out`);
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
  const unmapped = blocks.filter((block) => block.name !== 'pc.ram' && block.name !== 'pc.bios').map((block) => block.name);
  return { machine, below4g: below, ranges: ranges.filter((range) => range.length > 0), unmapped };
}

/** Where a page of a block lands: its guest-physical address, or null when it has none. */
export function physicalAddressOf(layout: PhysicalLayout, block: string, offset: number): number | null {
  for (const range of layout.ranges) {
    if (range.block === block && offset >= range.blockOffset && offset < range.blockOffset + range.length) return range.address + (offset - range.blockOffset);
  }
  return null;
}
