// Record and flag values of the QEMU migration stream (migration/savevm.c, migration/ram.c;
// QEMU-STREAM.md sections 2 and 3). Pure constants.

export const QEVM_MAGIC = 0x5145564d;
export const QEVM_VERSION = 3;

export const RECORD = {
  EOF: 0x00,
  SECTION_START: 0x01,
  SECTION_PART: 0x02,
  SECTION_END: 0x03,
  SECTION_FULL: 0x04,
  SUBSECTION: 0x05,
  VMDESCRIPTION: 0x06,
  CONFIGURATION: 0x07,
  COMMAND: 0x08,
  SECTION_FOOTER: 0x7e,
} as const;

export const RAM_FLAG = {
  FULL: 0x001,
  ZERO: 0x002,
  MEM_SIZE: 0x004,
  PAGE: 0x008,
  EOS: 0x010,
  CONTINUE: 0x020,
  XBZRLE: 0x040,
  HOOK: 0x080,
  COMPRESS_PAGE: 0x100,
  MULTIFD_FLUSH: 0x200,
} as const;

/** Every flag is below 0x400; QEMU pages are at least 1 KiB, so this mask is always safe. */
export const RAM_FLAG_MASK = 0x3ff;

export const COMMAND_NAMES: Record<number, string> = {
  1: 'OPEN_RETURN_PATH',
  2: 'PING',
  3: 'POSTCOPY_ADVISE',
  4: 'POSTCOPY_LISTEN',
  5: 'POSTCOPY_RUN',
  6: 'POSTCOPY_RAM_DISCARD',
  7: 'PACKAGED',
  8: 'ENABLE_COLO',
  9: 'POSTCOPY_RESUME',
  10: 'RECV_BITMAP',
  11: 'SWITCHOVER_START',
};
export const COMMAND_PACKAGED = 7;

/** The ram section's version this walker reads (QEMU has used 4 since 2.x). */
export const RAM_SECTION_VERSION = 4;
/** MappedRamHeader: be32 version, be64 page_size, be64 bitmap_offset, be64 pages_offset. */
export const MAPPED_RAM_HEADER_BYTES = 28;
