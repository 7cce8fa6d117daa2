/**
 * Pre-sized writer with explicit endianness and range-checked fields.
 *
 * Encoders compute the exact size first, allocate once, then write. Every
 * integer is range-checked: a value that does not fit fails with
 * {@link XenStreamError} code `BAD_VALUE` instead of wrapping silently.
 *
 * @module
 * @internal
 */
import { XenStreamError } from "../errors.js";

/** @internal */
export class Writer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  littleEndian: boolean;
  /** Absolute stream offset of `bytes[0]`, for error messages. */
  readonly base: number;
  pos = 0;

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
      this.fail(`${field} must be an integer in 0..${max}, got ${String(value)}`);
    }
  }

  u8(value: number, field: string): void {
    this.check(value, 0xff, field);
    this.view.setUint8(this.pos, value);
    this.pos += 1;
  }

  u16(value: number, field: string): void {
    this.check(value, 0xffff, field);
    this.view.setUint16(this.pos, value, this.littleEndian);
    this.pos += 2;
  }

  u32(value: number, field: string): void {
    this.check(value, 0xffff_ffff, field);
    this.view.setUint32(this.pos, value, this.littleEndian);
    this.pos += 4;
  }

  u64(value: bigint, field: string): void {
    if (typeof value !== "bigint" || value < 0n || value > 0xffff_ffff_ffff_ffffn) {
      this.fail(`${field} must be a bigint in 0..2^64-1, got ${String(value)}`);
    }
    this.view.setBigUint64(this.pos, value, this.littleEndian);
    this.pos += 8;
  }

  /** Writes a u64 given as its two 32-bit halves (no BigInt on hot paths). */
  u64Words(low: number, high: number): void {
    this.view.setUint32(this.littleEndian ? this.pos : this.pos + 4, low, this.littleEndian);
    this.view.setUint32(this.littleEndian ? this.pos + 4 : this.pos, high, this.littleEndian);
    this.pos += 8;
  }

  /** Copies `bytes` at the cursor. */
  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** Writes `count` zero bytes (the buffer starts zeroed; only moves). */
  zeros(count: number): void {
    this.bytes.fill(0, this.pos, this.pos + count);
    this.pos += count;
  }
}
