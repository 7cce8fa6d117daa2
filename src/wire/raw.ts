/**
 * Encoding a record from raw parts, for deliberately malformed streams.
 *
 * @module
 */
import { RECORD_HEADER_SIZE, paddingLength } from "./frame.js";
import { viewOf } from "./reader.js";
import { describeValue, XenStreamError } from "../errors.js";
import { checkBoolean, checkObject } from "./args.js";

/** A record given as raw parts, for building deliberately malformed streams. */
export interface RawRecordInput {
  /** Record type id (any u32). */
  typeId: number;
  /** The body. */
  body: Uint8Array;
  /** Value written in the length field (default: body.length). */
  bodyLength?: number;
  /** Padding bytes written after the body (default: zeros to a multiple of 8). */
  padding?: Uint8Array;
}

/**
 * Encodes a record from raw parts with no validation: any type, any length
 * field, any padding. For tests and fuzzers that need malformed input.
 *
 * @param input - type, body, optional length field and padding
 * @param littleEndian - byte order of the type and length fields
 * @returns the record bytes
 */
export function encodeRawRecord(input: RawRecordInput, littleEndian = true): Uint8Array {
  checkObject(input, "encodeRawRecord: input");
  checkBoolean(littleEndian, "encodeRawRecord: littleEndian");
  const u32 = (value: unknown, field: string): void => {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new XenStreamError("BAD_VALUE", 0, `encodeRawRecord: ${field} must be an integer in 0..4294967295, got ${describeValue(value)}`);
    }
  };
  u32(input.typeId, "typeId");
  if (input.bodyLength !== undefined) u32(input.bodyLength, "bodyLength");
  if (!(input.body instanceof Uint8Array)) throw new XenStreamError("BAD_VALUE", 0, `encodeRawRecord: body must be a Uint8Array, got ${describeValue(input.body)}`);
  if (input.padding !== undefined && !(input.padding instanceof Uint8Array)) {
    throw new XenStreamError("BAD_VALUE", 0, `encodeRawRecord: padding must be a Uint8Array, got ${describeValue(input.padding)}`);
  }
  const padding = input.padding ?? new Uint8Array(paddingLength(input.body.length));
  const bytes = new Uint8Array(RECORD_HEADER_SIZE + input.body.length + padding.length);
  const view = viewOf(bytes);
  view.setUint32(0, input.typeId >>> 0, littleEndian);
  view.setUint32(4, (input.bodyLength ?? input.body.length) >>> 0, littleEndian);
  bytes.set(input.body, RECORD_HEADER_SIZE);
  bytes.set(padding, RECORD_HEADER_SIZE + input.body.length);
  return bytes;
}
