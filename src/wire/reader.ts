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

/** Largest value of the 52-bit PFN field. */
export const PFN_MAX = 2 ** 52 - 1;

/** Where a reader's bytes sit in the whole stream, for error messages. */
export interface ReaderContext {
  /** Absolute stream offset of `bytes[0]`. */
  base: number;
  /** Record index for errors, if reading a record. */
  recordIndex?: number;
  /** Layer for errors. */
  layer?: Layer;
  /** What is being read, e.g. `"PAGE_DATA record"`. */
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
  readonly context: ReaderContext;
  /** Cursor, relative to `bytes`. */
  pos = 0;

  constructor(bytes: Uint8Array, littleEndian: boolean, context: ReaderContext) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.littleEndian = littleEndian;
    this.context = context;
  }

  /** Bytes left after the cursor. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Absolute stream offset of relative position `pos` (default: cursor). */
  offsetOf(pos: number = this.pos): number {
    return this.context.base + pos;
  }

  /** Throws a XenStreamError located at relative position `pos`. */
  fail(code: XenStreamError["code"], pos: number, message: string): never {
    throw new XenStreamError(code, this.offsetOf(pos), `${this.context.what}: ${message}`, {
      ...(this.context.recordIndex === undefined ? {} : { recordIndex: this.context.recordIndex }),
      ...(this.context.layer === undefined ? {} : { layer: this.context.layer }),
    });
  }

  /**
   * Throws BAD_LENGTH at the record's body_length field (or, outside a
   * record, at the cursor).
   */
  failLength(message: string): never {
    const { lengthField } = this.context;
    this.fail("BAD_LENGTH", lengthField === undefined ? this.pos : lengthField - this.context.base, message);
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

  /**
   * A u64 that the spec bounds to `bits` bits (at most 53), as a number.
   * Fails with BAD_FIELD when a higher bit is set.
   */
  u64Bounded(field: string, bits: number): number {
    const at = this.need(8, field);
    const { low, high } = readWords(this.view, at, this.littleEndian);
    const highBits = bits - 32;
    if (high >= 2 ** highBits) {
      this.fail("BAD_FIELD", at, `${field} exceeds ${bits} bits`);
    }
    return high * TWO_POW_32 + low;
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

/**
 * Where the low and the high 32-bit half of a u64 sit within its 8 bytes.
 * Word order flips with endianness, so this is the one place that knows it.
 */
export function wordOffsets(littleEndian: boolean): { low: number; high: number } {
  return littleEndian ? { low: 0, high: 4 } : { low: 4, high: 0 };
}

/** The two 32-bit halves of the u64 at `pos`. */
export function readWords(view: DataView, pos: number, littleEndian: boolean): { low: number; high: number } {
  const at = wordOffsets(littleEndian);
  return { low: view.getUint32(pos + at.low, littleEndian), high: view.getUint32(pos + at.high, littleEndian) };
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
