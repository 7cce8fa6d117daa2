/**
 * Pre-sized writer with explicit endianness and range-checked fields.
 *
 * Encoders compute the exact size first, allocate once, then write. Every
 * integer is range-checked: a value that does not fit fails with
 * {@link XenStreamError} code `BAD_VALUE` instead of wrapping silently.
 *
 * Borrowing: a writer told to {@link Writer.borrow} a byte array (a
 * PAGE_DATA record's pages) does not copy it when the encoder writes it
 * with `raw()`: the array becomes an output part of its own, between the
 * writer's own segments ({@link Writer.parts}), and needs no room in the
 * writer's buffer. `pos` counts every byte of the output, borrowed ones
 * included, so encoders and their length checks see no difference.
 *
 * @module
 * @internal
 */
import { describeValue, XenStreamError } from "../errors.js";

/** @internal */
export class Writer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  littleEndian: boolean;
  /** Absolute stream offset of `bytes[0]`, for error messages. */
  readonly base: number;
  /** Output bytes written so far, borrowed ones included. */
  pos = 0;
  /** Output bytes that were borrowed, not written into `bytes`. */
  borrowed = 0;
  /** The array `raw()` hands out by reference instead of copying. */
  private lent: Uint8Array | undefined = undefined;
  /** Own segments and borrowed arrays handed out so far, alternating. */
  private done: Uint8Array[] = [];
  /** Index in `bytes` where the current own segment starts. */
  private segment = 0;

  constructor(bytesOrSize: Uint8Array | number, littleEndian: boolean, base = 0) {
    this.bytes = typeof bytesOrSize === "number" ? new Uint8Array(bytesOrSize) : bytesOrSize;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.littleEndian = littleEndian;
    this.base = base;
  }

  /** Throws BAD_VALUE located at the cursor. */
  fail(message: string): never {
    throw new XenStreamError("BAD_VALUE", this.base + this.pos, message);
  }

  private check(value: number, max: number, field: string): void {
    if (!Number.isInteger(value) || value < 0 || value > max) {
      this.fail(`${field} must be an integer in 0..${max}, got ${describeValue(value)}`);
    }
  }

  u8(value: number, field: string): void {
    this.check(value, 0xff, field);
    this.view.setUint8(this.pos - this.borrowed, value);
    this.pos += 1;
  }

  u16(value: number, field: string): void {
    this.check(value, 0xffff, field);
    this.view.setUint16(this.pos - this.borrowed, value, this.littleEndian);
    this.pos += 2;
  }

  u32(value: number, field: string): void {
    this.check(value, 0xffff_ffff, field);
    this.view.setUint32(this.pos - this.borrowed, value, this.littleEndian);
    this.pos += 4;
  }

  u64(value: bigint, field: string): void {
    if (typeof value !== "bigint" || value < 0n || value > 0xffff_ffff_ffff_ffffn) {
      this.fail(`${field} must be a bigint in 0..2^64-1, got ${describeValue(value)}`);
    }
    this.view.setBigUint64(this.pos - this.borrowed, value, this.littleEndian);
    this.pos += 8;
  }

  /** Writes a u64 given as its two 32-bit halves (no BigInt on hot paths). */
  u64Words(low: number, high: number): void {
    const at = this.pos - this.borrowed;
    this.view.setUint32(this.littleEndian ? at : at + 4, low, this.littleEndian);
    this.view.setUint32(this.littleEndian ? at + 4 : at, high, this.littleEndian);
    this.pos += 8;
  }

  /** Copies `bytes` at the cursor (or hands them out by reference: see {@link Writer.borrow}). */
  raw(bytes: Uint8Array): void {
    // A string, an array or another typed array would be coerced by set().
    if (!(bytes instanceof Uint8Array)) this.fail(`expected a Uint8Array, got ${describeValue(bytes)}`);
    if (bytes === this.lent && bytes.length > 0) {
      const at = this.pos - this.borrowed;
      this.done.push(this.bytes.subarray(this.segment, at), bytes);
      this.segment = at;
      this.borrowed += bytes.length;
      this.pos += bytes.length;
      this.lent = undefined;
      return;
    }
    this.bytes.set(bytes, this.pos - this.borrowed);
    this.pos += bytes.length;
  }

  /** Writes `count` zero bytes (the buffer starts zeroed; only moves). */
  zeros(count: number): void {
    const at = this.pos - this.borrowed;
    this.bytes.fill(0, at, at + count);
    this.pos += count;
  }

  /**
   * Makes the next `raw(bytes)` of exactly this array emit it by reference
   * instead of copying it: the array then takes no room in `bytes`, and
   * the output is {@link Writer.parts}, not `bytes`. For large byte fields
   * (page data) whose owner keeps them unchanged until the parts are
   * written out.
   *
   * @param bytes - the array to borrow
   */
  borrow(bytes: Uint8Array): void {
    this.lent = bytes;
  }

  /**
   * The output written since the last call, in order: the writer's own
   * segments (views of `bytes`) and the borrowed arrays themselves, empty
   * parts left out. Without borrowing, one view of `bytes`.
   *
   * @returns the parts
   */
  parts(): Uint8Array[] {
    const at = this.pos - this.borrowed;
    const parts = this.done;
    parts.push(this.bytes.subarray(this.segment, at));
    this.done = [];
    this.segment = at;
    this.lent = undefined;
    return parts.filter((part) => part.length > 0);
  }
}
