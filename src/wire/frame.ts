/**
 * The record frame shared by libxc and libxl streams:
 * `{type u32, body_length u32}`, the body, then zero padding so that the
 * whole record is a multiple of 8 bytes (spec: "Record Format"; Xen
 * xg_sr_stream_format.h `struct xc_sr_rhdr`, `REC_ALIGN`).
 *
 * @module
 */

/** Size of a record header: type u32 + body_length u32. */
export const RECORD_HEADER_SIZE = 8;

/** Records (and therefore every header) are aligned to this many bytes. */
export const RECORD_ALIGN = 8;

/** Bit 31 of a record type marks an optional record that a reader may ignore. */
export const RECORD_TYPE_OPTIONAL = 0x8000_0000;

/**
 * Xen's REC_LENGTH_MAX (128 MiB since Xen 4.10): the largest record body the
 * libxc restore code accepts. The decoders' default `maxRecordLength`.
 */
export const REC_LENGTH_MAX = 128 << 20;

/**
 * Padding after a body of `bodyLength` bytes. Arithmetic, not `& ~7`, so it
 * stays right above 2^31.
 *
 * @param bodyLength - the record body's length in bytes
 * @returns 0-7: the bytes that bring the record to a multiple of 8
 */
export function paddingLength(bodyLength: number): number {
  return (RECORD_ALIGN - (bodyLength % RECORD_ALIGN)) % RECORD_ALIGN;
}

/**
 * `bodyLength` rounded up to the record alignment (8 bytes).
 *
 * @param bodyLength - the record body's length in bytes
 * @returns the body's length with its padding
 */
export function paddedLength(bodyLength: number): number {
  return bodyLength + paddingLength(bodyLength);
}

/**
 * True for types with bit 31 set (optional records, which a restorer that
 * does not know them may skip).
 *
 * @param typeId - the record type as a u32
 * @returns whether the type is optional
 */
export function isOptionalType(typeId: number): boolean {
  return typeId >= RECORD_TYPE_OPTIONAL;
}

/** Record type as 8-digit hex, the way Xen prints it. */
export function hex32(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
