// Guest memory for debuggers and forensic tools, from any save image (any payload format, a file
// or a pipe): a flat physical image, where byte N is guest-physical address N (what lqs2mem makes,
// what volatility's raw layers read), or an ELF core as `virsh dump --memory-only` writes it (what
// crash and gdb open), with each vCPU's registers in its notes. Pages go to their offsets as they
// arrive, zero pages stay holes; the ELF's headers and notes are written once the device state
// has been read. The output must be a file.
import { ftruncateSync } from 'node:fs';
import { elfMachineOf, encodeCpuNotes, encodeElfHeaders, type ElfCoreLayout, type ElfMachine, layoutElfCore, reservedNoteBytes, shstrtab } from '../codec/memory/elf-core.js';
import { type BlockPlacement, type PhysicalLayout, physicalLayout } from '../codec/memory/physical-layout.js';
import { decodeDeviceState, type DeviceState } from '../codec/qemu/device-state.js';
import type { RamBlockSummary, SectionSummary, WalkSummary } from '../codec/qemu/walker.js';
import { type VcpuRegisters, vcpuRegistersOf } from '../codec/qemu/vcpu-registers.js';
import { SaveImageError } from '../errors.js';
import { parseXml } from '../xml/parse.js';
import { domainAbi } from '../xml/domain.js';
import { writeAll } from '../io/fd-io.js';
import { PageWriter } from './page-writer.js';
import type { FdSource } from '../io/fd-source.js';
import { walkImage, type WalkImageOptions } from './walk-image.js';

/** Guests savekit lays out: at most this much RAM (the page bitmaps are kept in memory). */
const MAX_RAM_BYTES = 2 ** 40;

export interface MemoryExtraction {
  kind: 'physical' | 'elf';
  layout: PhysicalLayout;
  /** For the ELF: where each range lies in the file, and the vCPUs in its notes. */
  elf: { loads: ElfCoreLayout['loads']; cpus: number; machine: ElfMachine } | null;
  dataPages: number;
  fileBytes: number;
}

export interface MemoryOptions extends Pick<WalkImageOptions, 'readOptions' | 'onStart' | 'onProgress'> {
  kind: 'physical' | 'elf';
  /** Bytes of RAM below 4 GiB, when the machine type does not say (max-ram-below-4g). */
  below4g?: number;
  /** Where blocks start, for a machine savekit has no layout for (or to override it). */
  map?: BlockPlacement[];
}

const ZERO_PAGE = Buffer.alloc(65536);
const isZero = (page: Buffer) => page.equals(ZERO_PAGE.subarray(0, page.length));

export async function extractMemory(source: FdSource, outFd: number, options: MemoryOptions): Promise<MemoryExtraction> {
  const sink = new PageWriter(outFd, 'the output');
  let layout: PhysicalLayout | null = null;
  let elf: ElfCoreLayout | null = null;
  const devices: Array<{ section: SectionSummary; bytes: Buffer; offset: number }> = [];
  let reservedCpus = 1;
  /** A stable PageWriter area per range, whatever ranges are learned later. */
  const areas = new Map<string, number>();
  /** The area of each range of the layout in force, by index (looked up once per layout, not per page). */
  let areaOf: number[] = [];
  /** Writes a page of `block` where it lands in the output, if it has a guest-physical place. */
  const place = (block: string, address: number, data: Buffer | null): void => {
    if (layout === null) throw new SaveImageError('ERR_BAD_STREAM', `pages of block ${block} come before the blocks that place it in guest-physical memory: they cannot be laid out in one pass`);
    const ranges = elf ? elf.loads : layout.ranges;
    for (let i = 0; i < ranges.length; i++) {
      const range = ranges[i]!;
      if (range.block !== block || address < range.blockOffset || address >= range.blockOffset + range.length) continue;
      const inRange = address - range.blockOffset;
      const offset = elf ? (range as ElfCoreLayout['loads'][number]).fileOffset + inRange : range.address + inRange;
      sink.page(areaOf[i]!, Math.floor(inRange / 4096), offset, data);
      return;
    }
  };
  /**
   * The layout of the blocks known so far. A sparse image declares its blocks one by one, each
   * with its pages behind it: a block's place never depends on the blocks after it (the ELF's
   * loads follow the blocks' order), so the layout only grows. `final`: the whole list.
   */
  const learn = (summary: WalkSummary, final: boolean): void => {
    const total = summary.ramBlocks.reduce((sum, block) => sum + block.length, 0);
    if (total > MAX_RAM_BYTES) throw new SaveImageError('ERR_BAD_STREAM', `the RAM blocks add up to ${total} bytes: more than the ${MAX_RAM_BYTES} savekit lays out`);
    try {
      layout = physicalLayout(summary.machine, summary.ramBlocks, { ...(options.below4g === undefined ? {} : { below4g: options.below4g }), ...(options.map ? { map: options.map } : {}) });
    } catch (error) {
      if (!final && SaveImageError.is(error) && error.code === 'ERR_NO_BLOCK') return; // not yet
      throw error;
    }
    const order = summary.ramBlocks.map((block) => block.name);
    // ROM devices (a virt machine's flash) are in the physical image, not in QEMU's core.
    if (options.kind === 'elf') elf = layoutElfCore(layout.ranges.filter((range) => range.inCore !== false), reservedNoteBytes(reservedCpus), order);
    const ranges: Array<{ block: string; blockOffset: number }> = elf === null ? layout.ranges : (elf as ElfCoreLayout).loads;
    areaOf = ranges.map(({ block, blockOffset }) => {
      const key = `${block}\0${blockOffset}`;
      if (!areas.has(key)) areas.set(key, areas.size);
      return areas.get(key)!;
    });
  };
  try {
    const walk = await walkImage(source, {
      ...(options.readOptions ? { readOptions: options.readOptions } : {}),
      ...(options.onStart ? { onStart: options.onStart } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      onPrologue(image) {
        // Room for the notes of every vCPU the domain may have (the device state says how many
        // there are only at the end, and the pages must go to their offsets before that).
        const vcpus = (() => {
          try {
            return domainAbi(parseXml(image.region.xml.text, { what: 'the domain XML', offset: image.region.xml.offset })).vcpus;
          } catch {
            return null;
          }
        })();
        reservedCpus = Math.min(Math.max(vcpus ?? 1, 1), 4096);
        return null;
      },
      onRamBlock: (summary) => learn(summary, false),
      onMemSize: (summary) => learn(summary, true),
      onDeviceSection(section, bytes, offset) {
        if (options.kind === 'elf' && (section.name === 'cpu' || section.name === 'cpu_common')) devices.push({ section, bytes, offset });
      },
      onPage(block: RamBlockSummary, address, data, fill) {
        place(block.name, address, data === null ? (fill === 0 ? null : Buffer.alloc(block.pageSize, fill)) : isZero(data) ? null : data);
      },
    });
    if (layout === null) throw new SaveImageError('ERR_BAD_STREAM', 'the QEMU stream has no RAM block list');
    const finalLayout: PhysicalLayout = layout;
    await sink.finish();
    let fileBytes: number;
    let cpus: VcpuRegisters[] = [];
    if (elf !== null) {
      const core: ElfCoreLayout = elf;
      cpus = registersOf(devices, walk.summary.vmdescription?.deviceDescriptions ?? null);
      const notes = encodeCpuNotes(cpus);
      if (notes.length > core.notesBytes) {
        throw new SaveImageError('ERR_BAD_STREAM', `the stream holds ${cpus.length} vCPUs, more than the ${reservedCpus} the domain XML declares: their notes do not fit the room kept for them`);
      }
      writeAll(outFd, Buffer.concat([encodeElfHeaders(core, elfMachineOf(cpus), notes.length), notes]), 0);
      writeAll(outFd, shstrtab(), core.shstrtabOffset);
      fileBytes = core.fileBytes;
    } else {
      fileBytes = Math.max(...finalLayout.ranges.map((range) => range.address + range.length));
    }
    ftruncateSync(outFd, fileBytes);
    const core = elf as ElfCoreLayout | null;
    return {
      kind: options.kind,
      layout: finalLayout,
      elf: core === null ? null : { loads: core.loads, cpus: cpus.length, machine: elfMachineOf(cpus) },
      dataPages: sink.dataPages,
      fileBytes,
    };
  } catch (error) {
    await sink.settle(); // no write may land on the descriptor once the caller closes it
    throw error;
  }
}

/** Every vCPU's registers from its decoded `cpu` (and `cpu_common`) sections. */
function registersOf(devices: Array<{ section: SectionSummary; bytes: Buffer; offset: number }>, descriptions: Array<{ name: string; instance_id: number }> | null): VcpuRegisters[] {
  if (descriptions === null) throw new SaveImageError('ERR_BAD_STREAM', "the stream carries no device description: the vCPUs' registers cannot be decoded for the ELF notes");
  const decode = (entry: (typeof devices)[number]): DeviceState => {
    const description = descriptions.find((d) => d.name === entry.section.name && d.instance_id === entry.section.instance);
    if (!description) throw new SaveImageError('ERR_BAD_STREAM', `the device description has no entry for ${entry.section.name} instance ${entry.section.instance}`);
    const { id, name, instance, version } = entry.section;
    return decodeDeviceState(entry.bytes, description as never, { id, name, instance, version, baseOffset: entry.offset });
  };
  return vcpuRegistersOf(devices.map(decode), 'no registers for the ELF notes');
}
