/**
 * Zero-copy output of PAGE_DATA records: the libxc encoder writes the
 * record header, count and pfn entries into a small buffer, and the page
 * data goes out as the caller's own view instead of being copied.
 *
 * The bet: the encoder's PAGE_DATA codec writes the pages last, with one
 * `raw()` call, and a PAGE_DATA body (8 + 8n + 4096p bytes) never needs
 * padding — so nothing is written after the pages. The writer checks that
 * bet: any write after the gathered bytes throws (an internal error, not an
 * input error). Only PAGE_DATA goes through here; every other record is
 * encoded whole with `LibxcEncoder.record()`.
 *
 * This keeps one writer of the v2 layout (the codec table) while moving
 * 4 MiB batches at memory speed. A `LibxcEncoder.recordParts()` in
 * src/libxc/stream.ts would make it unnecessary.
 *
 * @module
 * @internal
 */
import type { LibxcEncoder } from "../libxc/stream.js";
import type { PageDataRecord } from "../libxc/types.js";
import { Writer } from "../wire/writer.js";

/** A Writer that hands one given byte array out by reference instead of copying it. @internal */
class GatherWriter extends Writer {
  private readonly target: Uint8Array;
  private gathered = false;
  readonly parts: Uint8Array[] = [];

  constructor(size: number, target: Uint8Array) {
    super(size, true);
    this.target = target;
  }

  private guardAfter(size: number): void {
    if (this.gathered && size > 0) throw new Error("legacy gather writer: the encoder wrote after the page data");
  }

  override u8(value: number, field: string): void {
    this.guardAfter(1);
    super.u8(value, field);
  }

  override u16(value: number, field: string): void {
    this.guardAfter(2);
    super.u16(value, field);
  }

  override u32(value: number, field: string): void {
    this.guardAfter(4);
    super.u32(value, field);
  }

  override u64(value: bigint, field: string): void {
    this.guardAfter(8);
    super.u64(value, field);
  }

  override u64Words(low: number, high: number): void {
    this.guardAfter(8);
    super.u64Words(low, high);
  }

  override zeros(count: number): void {
    this.guardAfter(count);
    super.zeros(count);
  }

  override raw(bytes: Uint8Array): void {
    this.guardAfter(bytes.length);
    if (bytes !== this.target || bytes.length === 0) {
      super.raw(bytes);
      return;
    }
    this.parts.push(this.bytes.subarray(0, this.pos), bytes);
    this.pos += bytes.length;
    this.gathered = true;
  }

  /** The record as parts: the fixed fields, then the page data view. */
  finish(): Uint8Array[] {
    return this.gathered ? this.parts : [this.bytes.subarray(0, this.pos)];
  }
}

/**
 * A PAGE_DATA record's bytes as `[header and pfn entries, pages]`, the
 * pages part being `record.pages` itself (not a copy).
 *
 * @param encoder - the stream's libxc encoder (validates the record)
 * @param record - the record
 * @returns the parts, in order
 * @throws {@link XenStreamError} BAD_VALUE as the encoder
 */
export function pageDataParts(encoder: LibxcEncoder, record: PageDataRecord): Uint8Array[] {
  const { bodyLength, size } = encoder.recordSize(record, 0);
  const writer = new GatherWriter(size - record.pages.length, record.pages);
  encoder.writeRecord(writer, record, bodyLength);
  return writer.finish();
}
