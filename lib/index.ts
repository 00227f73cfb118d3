// savekit's public API: explicit named exports, layer by layer.
export { SaveImageError, ERROR_CODES, type ErrorCode } from './errors.js';
export { HEADER_BYTES, MAGIC_SAVE, MAGIC_PART, SAVE_SLACK_BYTES, MAX_DATA_REGION_BYTES, FORMATS, type FormatName } from './constants.js';
export {
  decodeHeader, encodeHeader, encodeHeaderInto, detectByteOrder, formatName, payloadOffsetOf, type SaveImageHeader, type ByteOrder, type DecodeHeaderOptions,
  decodeRegion, XmlBlock, type DataRegion,
  layoutRegion, dataLenForSave, trailingBlocks, encodePrologue, type RegionLayout,
  decodePrologue, type SaveImagePrologue,
  decodeSeal, withSeal, type PayloadSeal,
  describePayloadMismatch,
  QemuStreamWalker, type WalkSummary, type WalkOptions, type RamBlockSummary, type SectionSummary,
  decodeVmDescription, type VmDescription,
  describeStreamEnd, type StreamEnd,
  decodeDeviceState, type DeviceState, type DeviceDescription, type StateDescription, type FieldDescription, type StateEntry, type StateValue, STATE_LIMITS,
  formatAnalyzeMigration, stateTree, type StateSection,
  decodeX86Registers, formatX86Registers, x86RegistersJson, type X86Registers, type SegmentRegister,
  decodeAarch64Registers, formatAarch64Registers, aarch64RegistersJson, type Aarch64Registers,
  decodeVcpuRegisters, formatVcpuRegisters, vcpuRegistersJson, type VcpuRegisters,
} from './codec/index.js';
export { parseXml, type XmlElement } from './xml/parse.js';
export { redactSecrets } from './xml/redact.js';
export { compareCpu, type CpuComparison } from './xml/cpu.js';
export { inspectPrologue, type ImageInfo } from './inspect.js';
export { planDefine, planSet, planRewrite, type DefineOptions, type SetOptions, type RewriteOptions } from './edit/plan.js';
export { createXxh64, xxh64Hex, type Xxh64 } from './hash.js';
export { readImageStream, type StreamImage } from './stream/read-image.js';
export { createRewriteStream, type RewriteStreamOptions } from './stream/rewrite.js';
export { readImageFile, type FileImage } from './file/open.js';
export { patchImage, recoverImage, type PatchOptions, type PatchResult, type RecoveryAction } from './file/patch.js';
export { type FileStamp } from './file/file-port.js';
export { FdSource } from './io/fd-source.js';
export { rewriteImage, type RewriteParams, type RewriteResult } from './jobs/rewrite.js';
export { hashImage, hashPayload, type ImageDigest } from './jobs/hash-image.js';
export { walkImage, type ImageWalk } from './jobs/walk-image.js';
export { extractRam, type ExtractedBlock } from './jobs/extract-ram.js';
export { convertImage, type ConvertParams, type ConvertResult } from './jobs/convert/convert.js';
export { extractMemory, type MemoryExtraction, type MemoryOptions } from './jobs/extract-memory.js';
export { convertStream, type ConvertStreamOptions } from './stream/convert.js';
export { readImageState, type ImageState, type UndecodedSection, type ReadStateOptions } from './jobs/read-state.js';
export { makeDelta, type DeltaParams, type DeltaResult } from './jobs/delta.js';
export { applyDelta, type ApplyParams, type ApplyResult } from './jobs/apply/apply.js';
export { writeSignature, type SignatureResult } from './jobs/signature.js';
export { imagePages, signaturePages, type BasePages } from './jobs/base-pages.js';
export { diffImages, type ImageDiff, type DeviceChange, type HeaderChange } from './jobs/diff.js';
export { readPrologueAt, patchImageAt, openSourceAt, type LocationOptions, type EditBasis } from './io/image-at.js';
export { objectAddressOf, isObjectAddress, type ObjectAddress } from './io/s3/address.js';
export { openObjectInput, openObjectOutput, settleTransfers, type ObjectInput, type ObjectOutput } from './io/s3/object-pipe.js';
export { ObjectStore, type StoredObject } from './io/s3/s3-client.js';
