/**
 * Decoded values of a libxl stream.
 *
 * @module
 */
import type { LibxcRecord, LibxcStream } from "../libxc/types.js";
import type { RecordCommon, RecordExtra, UnknownRecord } from "../wire/values.js";

/** The 16-byte libxl header (always big-endian on the wire). */
export interface LibxlHeader {
  /** Stream version (2). */
  version: number;
  /**
   * Options, all 32 bits: bit 0 big-endian, bit 1 LEGACY (converted from a
   * legacy stream); bits 2-31 reserved, kept as found.
   */
  options: number;
}

/** END (0x00). */
export interface LibxlEndRecord extends RecordCommon, RecordExtra {
  type: "END";
}

/**
 * LIBXC_CONTEXT (0x01): an empty marker; a whole libxc stream follows it
 * inline, with no length field.
 */
export interface LibxcContextRecord extends RecordCommon, RecordExtra {
  type: "LIBXC_CONTEXT";
}

/** EMULATOR_XENSTORE_DATA (0x02). */
export interface EmulatorXenstoreDataRecord extends RecordCommon {
  type: "EMULATOR_XENSTORE_DATA";
  /** Emulator id (see {@link constants!EmulatorId}). */
  emulatorId: number;
  /** Index of the emulator for the domain. */
  index: number;
  /**
   * The `key NUL value NUL` pairs in stream order, as byte strings without
   * their NUL terminators (keys are relative to the device-model path).
   */
  entries: Array<[key: Uint8Array, value: Uint8Array]>;
}

/** EMULATOR_CONTEXT (0x03). */
export interface EmulatorContextRecord extends RecordCommon {
  type: "EMULATOR_CONTEXT";
  /** Emulator id (see {@link constants!EmulatorId}). */
  emulatorId: number;
  /** Index of the emulator for the domain. */
  index: number;
  /** The emulator's opaque saved state. */
  data: Uint8Array;
}

/** CHECKPOINT_END (0x04). */
export interface CheckpointEndRecord extends RecordCommon, RecordExtra {
  type: "CHECKPOINT_END";
}

/** CHECKPOINT_STATE (0x05). */
export interface CheckpointStateRecord extends RecordCommon, RecordExtra {
  type: "CHECKPOINT_STATE";
  /** Control id (see {@link constants!CheckpointStateId}). */
  controlId: number;
}

/** Any libxl record, discriminated on `type`. */
export type LibxlRecord =
  | LibxlEndRecord
  | LibxcContextRecord
  | EmulatorXenstoreDataRecord
  | EmulatorContextRecord
  | CheckpointEndRecord
  | CheckpointStateRecord
  | UnknownRecord;

/**
 * The libxc stream nested after a LIBXC_CONTEXT record: its headers and its
 * records up to its END (or, in a checkpointed stream, its first
 * CHECKPOINT). Not a libxl record: the bytes of a libxc stream.
 */
export interface LibxcStreamPart {
  type: "LIBXC_STREAM";
  stream: LibxcStream;
}

/**
 * In a checkpointed stream, the libxc records of a later checkpoint: they
 * follow the libxl CHECKPOINT_END (and CHECKPOINT_STATE) with no new
 * LIBXC_CONTEXT and no new headers, up to the next libxc CHECKPOINT (or
 * END). Not a libxl record.
 */
export interface LibxcResumePart {
  type: "LIBXC_RESUME";
  records: LibxcRecord[];
}

/** One item of a decoded libxl stream: a libxl record or a nested libxc part. */
export type LibxlItem = LibxlRecord | LibxcStreamPart | LibxcResumePart;

/**
 * A whole libxl stream, nesting shown: `items` holds the libxl records in
 * order, with the nested libxc bytes as {@link LibxcStreamPart} (right after
 * LIBXC_CONTEXT) and, for a checkpointed stream, {@link LibxcResumePart}s.
 */
export interface LibxlStream {
  header: LibxlHeader;
  items: LibxlItem[];
}
