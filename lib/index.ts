// savekit's public API: explicit named exports, layer by layer.
export { SaveImageError, ERROR_CODES, type ErrorCode } from './errors.js';
export { HEADER_BYTES, MAGIC_SAVE, MAGIC_PART, SAVE_SLACK_BYTES, MAX_DATA_REGION_BYTES, FORMATS, type FormatName } from './constants.js';
export { decodeHeader, encodeHeader, encodeHeaderInto, detectByteOrder, formatName, payloadOffsetOf, type SaveImageHeader, type ByteOrder, type DecodeHeaderOptions } from './codec/header.js';
export { decodeRegion, XmlBlock, type DataRegion } from './codec/blocks.js';
export { layoutRegion, dataLenForSave, trailingBlocks, encodePrologue, type RegionLayout } from './codec/layout.js';
export { decodePrologue, type SaveImagePrologue } from './codec/prologue.js';
export { decodeSeal, withSeal, type PayloadSeal } from './codec/seal.js';
export { describePayloadMismatch } from './codec/payload-signature.js';
export { parseXml, type XmlElement } from './xml/parse.js';
export { redactSecrets } from './xml/redact.js';
export { compareCpu, type CpuComparison } from './xml/cpu.js';
export { inspectPrologue, type ImageInfo } from './inspect.js';
export { readImageStream, type StreamImage } from './stream/read-image.js';
export { readImageFile, type FileImage } from './file/open.js';
