// Magics, sizes and limits of the libvirt QEMU save image (libvirt src/qemu/qemu_saveimage.h).

export const HEADER_BYTES = 92;
export const MAGIC_BYTES = 16;
export const UNUSED_WORDS = 14;

/** Written when the image is complete. */
export const MAGIC_SAVE = 'LibvirtQemudSave';
/** Written while the image is being produced, or left behind when the writer died. */
export const MAGIC_PART = 'LibvirtQemudPart';

/** libvirt >= 6.3 leaves this much NUL slack after the XML so it can grow in place. */
export const SAVE_SLACK_BYTES = 65536;

/** Default guard on `dataLen` before a reader buffers the data region. */
export const MAX_DATA_REGION_BYTES = 64 * 1024 * 1024;

/** Highest header version savekit reads; 3 is savekit's versioned variant (FORMAT.md section 4). */
export const MAX_VERSION = 3;

/** Payload format codes (FORMAT.md section 2). */
export const FORMATS = ['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'sparse'] as const;
export type FormatName = (typeof FORMATS)[number];

/** The bytes each payload format starts with; sparse is a QEMU stream like raw. */
export const FORMAT_SIGNATURES: Readonly<Record<FormatName, Buffer>> = {
  raw: Buffer.from('QEVM', 'latin1'),
  gzip: Buffer.from([0x1f, 0x8b]),
  bzip2: Buffer.from('BZh', 'latin1'),
  xz: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  lzop: Buffer.from([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]),
  zstd: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
  sparse: Buffer.from('QEVM', 'latin1'),
};

/** `unused[9]` marker of a payload seal: "SEAL" read as a little-endian u32 (FORMAT.md section 5). */
export const SEAL_MARKER = 0x4c414553;
export const SEAL_WORD = 9;
