/**
 * Bounds-checked little/big-endian cursor over one `Uint8Array`.
 *
 * The reader knows nothing about any format. Every read checks bounds and
 * fails with a {@link XenStreamError} of code `BAD_LENGTH` naming what was
 * being read, so a record decoder that forgot a length check still fails
 * cleanly instead of throwing a `RangeError`.
 *
 * @module
 * @internal
 */
import { XenStreamError, type Layer } from "../errors.js";

/** 2^32, for splitting and joining 64-bit words without BigInt. */
export const TWO_POW_32 = 0x1_0000_0000;

/** Where a reader's bytes sit in the whole stream, for error messages. */
export interface ReaderContext {
  /** Absolute stream offset of `bytes[0]`. */
  base: number;
  /** Record index for errors, if reading a record. */
  recordIndex?: number;
  /** Layer for errors. */
  layer?: Layer;
  /** What is being read, e.g. `"libxc image header"`. */
  what: string;
  /**
   * Absolute offset of the body_length field, when reading a record body:
   * BAD_LENGTH failures point there, at the field that is wrong.
   */
  lengthField?: number;
}

/** @internal */
export class Reader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly littleEndian: boolean;
  /** Absolute stream offset of `bytes[0]`. */
  readonly base: number;
  /** Cursor, relative to `bytes`. */
  pos = 0;
  private readonly layer: Layer | undefined;
  private readonly recordIndex: number | undefined;
  private readonly lengthField: number | undefined;
  /** What is read, or (record bodies) the record's type name. */
  private readonly what: string;
  /** True for a record body: `what` is a type name, the message is built on failure. */
  private readonly record: boolean;

  /**
   * A reader over `bytes`. `context` is copied, not kept: a caller may pass
   * one object for many readers. With `recordBody`, `context.what` is the
   * record's type name and messages say "layer record N (TYPE)".
   */
  constructor(bytes: Uint8Array, littleEndian: boolean, context: ReaderContext, recordBody = false) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.littleEndian = littleEndian;
    this.base = context.base;
    this.layer = context.layer;
    this.recordIndex = context.recordIndex;
    this.lengthField = context.lengthField;
    this.what = context.what;
    this.record = recordBody;
  }

  /**
   * A reader over one record body whose header is at `headerOffset`.
   * Allocates nothing but the reader and its view: the "layer record N
   * (TYPE)" description is only built when a read fails.
   */
  static forRecord(body: Uint8Array, littleEndian: boolean, headerOffset: number, layer: Layer, recordIndex: number, typeName: string): Reader {
    RECORD_CONTEXT.base = headerOffset + 8;
    RECORD_CONTEXT.layer = layer;
    RECORD_CONTEXT.recordIndex = recordIndex;
    RECORD_CONTEXT.lengthField = headerOffset + 4;
    RECORD_CONTEXT.what = typeName;
    return new Reader(body, littleEndian, RECORD_CONTEXT, true);
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Absolute stream offset of relative position `pos` (default: cursor). */
  offsetOf(pos: number = this.pos): number {
    return this.base + pos;
  }

  /** Throws a XenStreamError located at relative position `pos`. */
  fail(code: XenStreamError["code"], pos: number, message: string): never {
    const what = this.record ? `${this.layer ?? ""} record ${this.recordIndex ?? 0} (${this.what})` : this.what;
    throw new XenStreamError(code, this.offsetOf(pos), `${what}: ${message}`, {
      ...(this.recordIndex === undefined ? {} : { recordIndex: this.recordIndex }),
      ...(this.layer === undefined ? {} : { layer: this.layer }),
    });
  }

  /**
   * Throws BAD_LENGTH at the record's body_length field (or, outside a
   * record, at the cursor).
   */
  failLength(message: string): never {
    const { lengthField } = this;
    this.fail("BAD_LENGTH", lengthField === undefined ? this.pos : lengthField - this.base, message);
  }

  private need(size: number, field: string): number {
    const at = this.pos;
    if (at + size > this.bytes.length) {
      this.failLength(`${field} needs ${size} bytes, only ${this.bytes.length - at} left`);
    }
    this.pos = at + size;
    return at;
  }

  u8(field: string): number {
    return this.view.getUint8(this.need(1, field));
  }

  u16(field: string): number {
    return this.view.getUint16(this.need(2, field), this.littleEndian);
  }

  u32(field: string): number {
    return this.view.getUint32(this.need(4, field), this.littleEndian);
  }

  u64(field: string): bigint {
    return this.view.getBigUint64(this.need(8, field), this.littleEndian);
  }

  /** A view (not a copy) of the next `size` bytes. */
  bytesView(size: number, field: string): Uint8Array {
    const at = this.need(size, field);
    return this.bytes.subarray(at, at + size);
  }

  /** A view of everything after the cursor. */
  rest(): Uint8Array {
    const at = this.pos;
    this.pos = this.bytes.length;
    return this.bytes.subarray(at);
  }
}

/** The one context object record readers are built from (copied by the constructor). */
const RECORD_CONTEXT: { base: number; layer: Layer; recordIndex: number; lengthField: number; what: string } = {
  base: 0,
  layer: "libxc",
  recordIndex: 0,
  lengthField: 0,
  what: "",
};

/** Byte positions of the low and the high 32-bit half of a u64. */
export interface WordOffsets {
  readonly low: number;
  readonly high: number;
}

const LITTLE_WORDS: WordOffsets = { low: 0, high: 4 };
const BIG_WORDS: WordOffsets = { low: 4, high: 0 };

/**
 * Where the low and the high 32-bit half of a u64 sit within its 8 bytes.
 * Word order flips with endianness, so this is the one place that knows it.
 * Returns one of two shared objects (no allocation per call).
 */
export function wordOffsets(littleEndian: boolean): WordOffsets {
  return littleEndian ? LITTLE_WORDS : BIG_WORDS;
}

/** True when every byte of `bytes` is zero. */
export function isAllZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** A `DataView` over exactly the bytes of `bytes` (respects byteOffset). */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
