/**
 * Options, layout and events of the legacy reader and converter.
 *
 * @module
 */
import type { LibxcDomainHeaderEvent, LibxcImageHeaderEvent, LibxcRecordEvent } from "../libxc/decoder.js";
import type { LibxlHeaderEvent, LibxlRecordEvent } from "../libxl/decoder.js";
import type { XlHeaderEvent } from "../savefile.js";

/** Word size of the toolstack that wrote a legacy stream: the size of its `unsigned long`. */
export type LegacyWidth = 32 | 64;
/** Guest type of a legacy stream. */
export type LegacyGuest = "pv" | "hvm";
/** Output format of the conversion. */
export type LegacyOutputFormat = "libxc" | "libxl";

/** How a legacy stream is laid out: what the converter needs to know up front. */
export interface LegacyLayout {
  /** Toolstack width (selects the `unsigned long` size). */
  width: LegacyWidth;
  /** Guest type. */
  guest: LegacyGuest;
}

/**
 * Options of the legacy reader and converter, as convert-legacy-stream's
 * (legacy-stream.md §12.1), plus "auto" detection.
 */
export interface LegacyOptions {
  /**
   * Toolstack width of the writer (`-w`), or "auto" to tell it from the
   * bytes (legacy-stream.md §11).
   * @defaultValue "auto"
   */
  width?: LegacyWidth | "auto";
  /**
   * Guest type (`-g`), or "auto" to tell it from the bytes.
   * @defaultValue "auto"
   */
  guest?: LegacyGuest | "auto";
  /**
   * Output format (`-f`): a bare libxc v3 stream, or a libxl v2 stream
   * (LEGACY option bit set) wrapping one.
   * @defaultValue "libxc"
   */
  format?: LegacyOutputFormat;
  /**
   * An xl save-file header precedes the legacy stream (`-x`). It is copied
   * to the output, with the STREAMv2 mandatory flag added for libxl output.
   * @defaultValue false
   */
  xl?: boolean;
  /**
   * libxc output only (`--skip-qemu`): stop after the HVM tail, leaving the
   * QEMU record unread. libxl output always converts the QEMU record.
   * @defaultValue false
   */
  skipQemu?: boolean;
  /**
   * Largest variable-size item buffered whole: HVM context, xsave blob,
   * libxl toolstack data, xl optional data, and the QEMU state that becomes
   * an EMULATOR_CONTEXT record. A longer length fails with
   * RECORD_TOO_LARGE before anything is buffered.
   * @defaultValue 134217728 (128 MiB, Xen's REC_LENGTH_MAX)
   */
  maxRecordLength?: number;
  /**
   * What to do with bytes after the end of the legacy stream (the end of
   * the PV tail, of the HVM tail with `skipQemu`, or of the QEMU record).
   * convert-legacy-stream stops reading there; so does "ignore" (the count
   * is kept, see `LegacyReader.trailingBytes`). "error" fails with
   * TRAILING_DATA.
   * @defaultValue "ignore"
   */
  trailingData?: "ignore" | "error";
}

/** The layout was settled (given or detected); emitted before any record. */
export interface LegacyLayoutEvent {
  layer: "legacy";
  kind: "layout";
  /** Absolute input offset of the legacy stream's first byte (after any xl header). */
  offset: number;
  layout: LegacyLayout;
  /** True when width or guest came from the bytes rather than the options. */
  detected: boolean;
}

/**
 * Legacy bytes copied to the output unchanged: the QEMU record after the
 * libxc END in libxc output (signature, then length and data as found).
 * Large records arrive as several events, in order.
 */
export interface LegacyPassthroughEvent {
  layer: "legacy";
  kind: "passthrough";
  /** Input offset of `bytes[0]`. */
  offset: number;
  /** A view of input bytes. */
  bytes: Uint8Array;
}

/** The legacy stream ended; nothing more will be converted. */
export interface LegacyEndEvent {
  layer: "legacy";
  kind: "end";
  /** Input offset just past the last byte converted. */
  offset: number;
}

/**
 * Everything the legacy reader emits, in output order: the v2 events of
 * the stream to write (the same types the v2 decoders emit, so the v2
 * encoders and `encodeEventChunks` take them as they are), plus the
 * reader's own layout, pass-through and end events.
 *
 * In the v2 events, `offset` is the input offset of the legacy bytes the
 * item was converted from (a chunk id, a tail field...), `index` the
 * record's index in the output stream's layer and `bodyLength` its body
 * length there; an xl header's `size` is its size in the output.
 */
export type LegacyEvent =
  | LegacyLayoutEvent
  | XlHeaderEvent
  | LibxlHeaderEvent
  | LibxlRecordEvent
  | LibxcImageHeaderEvent
  | LibxcDomainHeaderEvent
  | LibxcRecordEvent
  | LegacyPassthroughEvent
  | LegacyEndEvent;
