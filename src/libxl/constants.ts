/**
 * libxl ("LibxlFmt", libxenlight domain image format v2) constants, named
 * as in docs/specs/libxl-migration-stream.pandoc and Xen's
 * libxl_sr_stream_format.h.
 *
 * @module
 */

/** Header ident: 0x4c6962786c466d74, ASCII "LibxlFmt". */
export const LIBXL_IDENT = 0x4c69_6278_6c46_6d74n;
/** The ident as bytes. */
export const LIBXL_IDENT_BYTES: Uint8Array = /*@__PURE__*/ new Uint8Array([0x4c, 0x69, 0x62, 0x78, 0x6c, 0x46, 0x6d, 0x74]);
/** Header size in bytes. */
export const LIBXL_HDR_SIZE = 16;
/** The only libxl stream version. */
export const LIBXL_VERSION = 2;
/** Options bit 0: big-endian stream. */
export const LIBXL_OPT_BIG_ENDIAN = 0x0000_0001;
/** Options bit 1: stream produced by convert-legacy-stream. */
export const LIBXL_OPT_LEGACY = 0x0000_0002;
/** Options bits 2-31: reserved. */
export const LIBXL_OPT_RESERVED_MASK = 0xffff_fffc;

/** libxl record types. */
export const LibxlRecordType = {
  END: 0x0000_0000,
  LIBXC_CONTEXT: 0x0000_0001,
  EMULATOR_XENSTORE_DATA: 0x0000_0002,
  EMULATOR_CONTEXT: 0x0000_0003,
  CHECKPOINT_END: 0x0000_0004,
  CHECKPOINT_STATE: 0x0000_0005,
} as const;
/** Name of a libxl record type. */
export type LibxlRecordTypeName = keyof typeof LibxlRecordType;

/** Emulator ids of the emulator sub-header. */
export const EmulatorId = {
  /** Unknown (written by convert-legacy-stream). */
  UNKNOWN: 0,
  /** QEMU traditional. */
  QEMU_TRADITIONAL: 1,
  /** QEMU upstream (qemu-xen). */
  QEMU_UPSTREAM: 2,
} as const;
/** Name of an emulator id. */
export type EmulatorIdName = keyof typeof EmulatorId;
/** Size of the emulator sub-header {emulator_id u32, index u32}. */
export const EMULATOR_HEADER_SIZE = 8;

/** CHECKPOINT_STATE control ids. */
export const CheckpointStateId = {
  /** Primary -> secondary: a new checkpoint follows. */
  CHECKPOINT_NEW: 0,
  /** Secondary -> primary: secondary VM suspended. */
  CHECKPOINT_SVM_SUSPENDED: 1,
  /** Secondary -> primary: secondary ready. */
  CHECKPOINT_SVM_READY: 2,
  /** Secondary -> primary: secondary resumed. */
  CHECKPOINT_SVM_RESUMED: 3,
} as const;
/** Name of a CHECKPOINT_STATE control id. */
export type CheckpointStateIdName = keyof typeof CheckpointStateId;
/** Size of the CHECKPOINT_STATE body as libxl writes it. */
export const CHECKPOINT_STATE_SIZE = 4;
