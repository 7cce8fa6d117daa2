/**
 * Byte builders for the legacy tests: legacy input spelled field by field
 * from legacy-stream.md §3-§9, and the v2 output convert-legacy-stream
 * writes (§12.2) spelled from the libxc/libxl spec tables. Only the 8-byte
 * record header and zero padding are computed (`rec`); every body is
 * written out by the tests. Nothing here uses the library's encoders.
 */
import { expect } from "vitest";
import { cat, hex, le16, le32, le64, zeros } from "../helpers/hex.js";

/** int32, little-endian (chunk ids). */
export const i32 = (value: number): Uint8Array => le32(value >>> 0);

/** A toolstack `unsigned long` of the given width. */
export const ulong = (value: number | bigint, width: 32 | 64): Uint8Array => (width === 64 ? le64(value) : le32(Number(value)));

/** ASCII bytes. */
export const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

/** A v2 record: type u32, body_length u32, body, zero padding to 8 (libxc and libxl framing). */
export function rec(type: number, ...body: Uint8Array[]): Uint8Array {
  const data = cat(...body);
  return cat(le32(type), le32(data.length), data, zeros((8 - (data.length % 8)) % 8));
}

/** libxc image header, version 3, little-endian (always written by the converter). */
export const IMAGE_HEADER = hex("ff ff ff ff ff ff ff ff | 58 45 4e 46 | 00 00 00 03 | 00 00 | 00 00 | 00 00 00 00");

/** libxc domain header of a converted stream: type, page_shift 12, xen 0.1. */
export const domainHeader = (type: 1 | 2): Uint8Array => cat(le32(type), le16(12), le16(0), le32(0), le32(1));

/** libxl header: "LibxlFmt", version 2, options LEGACY (big-endian). */
export const LIBXL_HEADER = hex("4c 69 62 78 6c 46 6d 74 | 00 00 00 02 | 00 00 00 02");

/** libxl LIBXC_CONTEXT record (type 1, empty). */
export const LIBXC_CONTEXT = hex("01 00 00 00 00 00 00 00");

/** END record (libxc type 0 / libxl type 0): eight zero bytes. */
export const END = zeros(8);

/** libxc STATIC_DATA_END (type 0x10, empty). */
export const STATIC_DATA_END = hex("10 00 00 00 00 00 00 00");

/** The xl magic. */
export const XL_MAGIC = ascii("Xen saved domain, xl format\n \0 \r");

/** An xl header: magic, byteorder, mandatory, optional flags, optional data (u32 config_len + config). */
export function xlHeader(mandatory: number, config: Uint8Array): Uint8Array {
  return cat(XL_MAGIC, le32(0x0102_0304), le32(mandatory), le32(0), le32(4 + config.length), le32(config.length), config);
}

/** First differing offset of two byte strings (-1 when equal). */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

/** Asserts equal bytes, reporting the first difference and the lengths (not megabytes of hex). */
export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect({ firstDifference: firstDifference(actual, expected), length: actual.length }).toEqual({ firstDifference: -1, length: expected.length });
}
