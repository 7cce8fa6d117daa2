/**
 * The one error class of the library, and its stable codes.
 *
 * @module
 */

/**
 * Stable error codes. Codes are API: a code is never renamed or reused.
 *
 * Framing (the byte structure of a layer):
 * - `TRUNCATED` — the input ended inside a header or record, or before the
 *   stream's END. `offset` is the number of bytes received.
 * - `BAD_MAGIC` — a magic number, marker or ident does not match. `offset` is
 *   the field's; for the 32-byte xl magic, its first wrong byte.
 * - `BAD_VERSION` — a header version this library does not read.
 * - `BAD_PADDING` — record padding that is not the right size (encoder), or
 *   not zero where zero padding is demanded.
 * - `RECORD_TOO_LARGE` — a record body longer than the configured maximum
 *   (default: Xen's REC_LENGTH_MAX, 128 MiB). Checked when the record header
 *   arrives, before anything is buffered.
 * - `BAD_LENGTH` — a record body length that its type (or its own count
 *   field) does not allow. `offset` is the record's body_length field.
 * - `TRAILING_DATA` — bytes after the end of a complete stream.
 *
 * Content (what a record or header says):
 * - `BAD_FIELD` — a field with a value the format does not allow.
 * - `BAD_PAGE_TYPE` — a PAGE_DATA entry with a reserved page type (5–8).
 * - `UNKNOWN_RECORD` — a mandatory record type (bit 31 clear) that the layer
 *   does not define.
 * - `UNEXPECTED_RECORD` — a known record where the layer's state machine does
 *   not allow it (for example CHECKPOINT_END outside a checkpoint).
 * - `UNSUPPORTED` — a well-formed input this version of the library does not
 *   handle (for example a legacy stream before the converter is asked for).
 * - `BAD_VALUE` — a value passed to an encoder is not representable.
 * - `USAGE` — an API misuse that depends on input (push after end, ...).
 *
 * Guest memory (reading the pages a stream carries):
 * - `NOT_PRESENT` — a guest page or mapping a read needs is not there: a
 *   pfn the stream never sent, or a non-present page-table entry.
 */
export const ErrorCode = {
  TRUNCATED: "TRUNCATED",
  BAD_MAGIC: "BAD_MAGIC",
  BAD_VERSION: "BAD_VERSION",
  BAD_PADDING: "BAD_PADDING",
  RECORD_TOO_LARGE: "RECORD_TOO_LARGE",
  BAD_LENGTH: "BAD_LENGTH",
  TRAILING_DATA: "TRAILING_DATA",
  BAD_FIELD: "BAD_FIELD",
  BAD_PAGE_TYPE: "BAD_PAGE_TYPE",
  UNKNOWN_RECORD: "UNKNOWN_RECORD",
  UNEXPECTED_RECORD: "UNEXPECTED_RECORD",
  UNSUPPORTED: "UNSUPPORTED",
  BAD_VALUE: "BAD_VALUE",
  USAGE: "USAGE",
  NOT_PRESENT: "NOT_PRESENT",
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Which format layer a stream position belongs to. */
export type Layer = "xl" | "libxl" | "libxc" | "legacy" | "libvirt" | "xenopsd";

/** Extra facts attached to a {@link XenStreamError}. */
export interface XenStreamErrorDetails {
  /** Index of the record (within its layer) the error belongs to. */
  recordIndex?: number;
  /** Layer the offending bytes belong to. */
  layer?: Layer;
}

/**
 * The error thrown for every malformed input.
 *
 * `offset` is the absolute byte offset, from the first byte given to the
 * decoder, of the offending field (for `TRUNCATED`: the number of bytes
 * received).
 */
export class XenStreamError extends Error {
  /** Always `"XenStreamError"`. */
  override readonly name = "XenStreamError";
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Absolute byte offset of the offending field. */
  readonly offset: number;
  /** Index of the record within its layer, where there is one. */
  readonly recordIndex: number | undefined;
  /** Layer the offending bytes belong to, where known. */
  readonly layer: Layer | undefined;
  /**
   * What is wrong, without the location: `message` is this followed by
   * ` (at offset N)` or ` (at offset N, record R)`. For output that shows
   * `offset` and `recordIndex` itself (a verifier finding, a CLI line), so
   * that the offset is printed once.
   */
  readonly reason: string;

  /**
   * Creates an error located at `offset`.
   *
   * @param code - stable error code
   * @param offset - absolute byte offset of the offending field
   * @param message - what is wrong, what was expected and what was found
   * @param details - record index and layer, where known
   */
  constructor(code: ErrorCode, offset: number, message: string, details: XenStreamErrorDetails = {}) {
    super(`${message} (at offset ${offset}${details.recordIndex === undefined ? "" : `, record ${details.recordIndex}`})`);
    this.code = code;
    this.offset = offset;
    this.recordIndex = details.recordIndex;
    this.layer = details.layer;
    this.reason = message;
    const capture = (Error as { captureStackTrace?: (target: object, ctor: unknown) => void }).captureStackTrace;
    if (capture) capture(this, XenStreamError);
  }
}

/**
 * True when `value` is a {@link XenStreamError}, also one thrown by another
 * copy of this package (checks the shape, not `instanceof`).
 *
 * @param value - anything caught
 * @returns whether it is a XenStreamError
 */
export function isXenStreamError(value: unknown): value is XenStreamError {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as { name?: unknown; code?: unknown; offset?: unknown };
  return (
    candidate.name === "XenStreamError" &&
    typeof candidate.code === "string" &&
    typeof candidate.offset === "number"
  );
}

/**
 * A short, safe description of a value a caller passed, for error messages.
 * It never calls the value's own methods (a hostile `toString` cannot turn
 * a BAD_VALUE or USAGE error into a TypeError).
 *
 * @param value - anything
 * @returns e.g. `12`, `"abc"`, `5n`, `Uint8Array(16)`, `an array of 3`, `an object`
 * @internal
 */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "number":
    case "boolean":
    case "undefined":
      return String(value);
    case "bigint":
      return `${value.toString()}n`;
    case "string":
      return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
    case "symbol":
      return "a symbol";
    case "function":
      return "a function";
    default:
      if (value === null) return "null";
      if (value instanceof Uint8Array) return `Uint8Array(${value.length})`;
      if (value instanceof ArrayBuffer) return `ArrayBuffer(${value.byteLength})`;
      if (ArrayBuffer.isView(value)) return viewName(value);
      if (Array.isArray(value)) return `an array of ${value.length}`;
      return "an object";
  }
}

/** `Uint16Array(3)`, `DataView(8)`: a typed array's own tag and size, without trusting overrides. */
function viewName(view: ArrayBufferView): string {
  try {
    const tag = Object.prototype.toString.call(view).slice(8, -1);
    const size = "length" in view && typeof view.length === "number" ? view.length : view.byteLength;
    return `${tag}(${size})`;
  } catch {
    return "a typed array";
  }
}
