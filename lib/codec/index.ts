// savekit/codec: the pure codec alone (Buffer in, Buffer out), usable without Node's fs or streams.
export { decodeHeader, encodeHeader, encodeHeaderInto, detectByteOrder, formatName, payloadOffsetOf, type SaveImageHeader, type ByteOrder, type DecodeHeaderOptions } from './header.js';
export { decodeRegion, XmlBlock, type DataRegion } from './blocks.js';
export { layoutRegion, dataLenForSave, trailingBlocks, encodePrologue, type RegionLayout } from './layout.js';
export { decodePrologue, type SaveImagePrologue } from './prologue.js';
export { decodeSeal, withSeal, type PayloadSeal } from './seal.js';
export { describePayloadMismatch } from './payload-signature.js';
export { QemuStreamWalker, type WalkSummary, type WalkOptions, type RamBlockSummary, type SectionSummary } from './qemu/walker.js';
export { decodeVmDescription, type VmDescription } from './qemu/vmdescription.js';
export { describeStreamEnd, type StreamEnd } from './qemu/stream-end.js';
export { decodeDeviceState, type DeviceState, type DeviceDescription, type StateDescription, type FieldDescription, type StateEntry, type StateValue, STATE_LIMITS } from './qemu/device-state.js';
export { formatAnalyzeMigration, stateTree, type StateSection } from './qemu/state-format.js';
export { decodeX86Registers, formatX86Registers, x86RegistersJson, type X86Registers, type SegmentRegister } from './qemu/x86-registers.js';
export { type StreamModel, encodeStreamHead, encodeSequentialRamStart, encodeRamPartHeader, encodePageRecordInto, encodeSequentialRamEnd, encodeStreamTail, layoutMappedRam, encodeMappedRamEnd, convertDescription, qemuJson, type MappedRamLayout } from './qemu/stream-writer.js';
export { physicalLayout, lowMemoryOf, type PhysicalLayout, type PhysicalRange } from './memory/physical-layout.js';
export { layoutElfCore, encodeElfHeaders, encodeCpuNotes, reservedNoteBytes, type ElfCoreLayout } from './memory/elf-core.js';
