/**
 * The xl save-file header: 32-byte magic, then byteorder, mandatory_flags,
 * optional_flags and optional_data_len as u32s in the writer's byte order,
 * then the optional data (u32 config_len + config + anything else).
 * Xen tools/xl/xl.h; reader rules of xl_vmcontrol.c: create_domain().
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { Reader } from "../wire/reader.js";
import { Writer } from "../wire/writer.js";
import {
  XL_BYTEORDER_VALUE,
  XL_CONFIG_LENGTH_SIZE,
  XL_HEADER_SIZE,
  XL_MAGIC,
  XL_MAGIC_SIZE,
  XL_MANDATORY_FLAGS_KNOWN,
  XlMandatoryFlag,
} from "./constants.js";
import { checkBytes, checkObject, checkOffset } from "../wire/args.js";

/** A decoded xl save-file header with its optional data. */
export interface XlHeader {
  /** Byte order of the four u32 fields (the writer's native order). */
  byteOrder: "little" | "big";
  /** mandatory_flags (see {@link XlMandatoryFlag}). */
  mandatoryFlags: number;
  /** optional_flags (none are defined; kept as found). */
  optionalFlags: number;
  /**
   * The stored domain configuration (JSON text with its terminating NUL when
   * the JSON flag is set). Absent when optional_data_len is 0.
   */
  config?: Uint8Array;
  /** Optional data after the config, which xl ignores. Present only when non-empty. */
  optionalExtra?: Uint8Array;
}

/**
 * True when the header says a libxl v2 stream follows (the STREAMv2
 * mandatory flag, tools/xl/xl.h).
 *
 * @param header - a decoded xl header
 * @returns whether the STREAMv2 flag is set
 */
export function isStreamV2(header: XlHeader): boolean {
  checkObject(header, "isStreamV2: header");
  return (header.mandatoryFlags & XlMandatoryFlag.STREAMV2) !== 0;
}

/**
 * Reads optional_data_len from the fixed 48-byte header (after checking the
 * magic and byte order), so a caller knows how many bytes to wait for.
 * @internal
 */
export function readXlFixedHeader(bytes: Uint8Array, offset: number): { littleEndian: boolean; optionalDataLength: number } {
  const reader = new Reader(bytes.subarray(0, XL_HEADER_SIZE), true, { base: offset, layer: "xl", what: "xl header" });
  const magic = reader.bytesView(XL_MAGIC_SIZE, "magic");
  const bad = magic.findIndex((byte, i) => byte !== XL_MAGIC[i]);
  if (bad >= 0) reader.fail("BAD_MAGIC", bad, 'wrong magic number: expected "Xen saved domain, xl format\\n \\0 \\r"');
  const order = reader.view.getUint32(XL_MAGIC_SIZE, true);
  let littleEndian = true;
  if (order !== XL_BYTEORDER_VALUE) {
    if (reader.view.getUint32(XL_MAGIC_SIZE, false) !== XL_BYTEORDER_VALUE) {
      reader.fail("BAD_FIELD", XL_MAGIC_SIZE, `byteorder must be 0x01020304 in either byte order, got 0x${order.toString(16).padStart(8, "0")} (little-endian read)`);
    }
    littleEndian = false;
  }
  return { littleEndian, optionalDataLength: reader.view.getUint32(44, littleEndian) };
}

/**
 * Decodes an xl header and its optional data. Fails like xl: wrong magic
 * (BAD_MAGIC), byteorder not 0x01020304 in either order or unknown
 * mandatory flags (BAD_FIELD), optional data shorter than config_len needs
 * (BAD_LENGTH). Optional flags are kept, not checked (xl never reads them).
 *
 * @param bytes - the header and all its optional data
 * @param offset - absolute offset of `bytes[0]`
 * @returns the header and the number of bytes it occupies
 */
export function decodeXlHeader(bytes: Uint8Array, offset = 0): { header: XlHeader; size: number } {
  checkBytes(bytes, "decodeXlHeader: bytes");
  checkOffset(offset, "decodeXlHeader: offset");
  if (bytes.length < XL_HEADER_SIZE) throw new XenStreamError("TRUNCATED", offset + bytes.length, "xl header: truncated", { layer: "xl" });
  const { littleEndian, optionalDataLength } = readXlFixedHeader(bytes, offset);
  const size = XL_HEADER_SIZE + optionalDataLength;
  if (bytes.length < size) throw new XenStreamError("TRUNCATED", offset + bytes.length, "xl header: optional data truncated", { layer: "xl" });
  const reader = new Reader(bytes.subarray(0, size), littleEndian, { base: offset, layer: "xl", what: "xl header" });
  reader.pos = XL_MAGIC_SIZE + 4;
  const mandatoryFlags = reader.u32("mandatory_flags");
  const unknown = mandatoryFlags & ~XL_MANDATORY_FLAGS_KNOWN;
  if (unknown !== 0) {
    reader.fail("BAD_FIELD", 36, `mandatory flag(s) 0x${(unknown >>> 0).toString(16)} are not supported (known: 0x1 JSON, 0x2 STREAMv2)`);
  }
  const optionalFlags = reader.u32("optional_flags");
  reader.pos = XL_HEADER_SIZE;
  const header: XlHeader = { byteOrder: littleEndian ? "little" : "big", mandatoryFlags, optionalFlags };
  if (optionalDataLength === 0) return { header, size };
  if (optionalDataLength < XL_CONFIG_LENGTH_SIZE) {
    reader.fail("BAD_LENGTH", 44, `optional_data_len ${optionalDataLength} is too short for the 4-byte config length`);
  }
  const configLength = reader.u32("config_len");
  if (configLength > reader.remaining) {
    reader.fail("BAD_LENGTH", XL_HEADER_SIZE, `config_len ${configLength} exceeds the ${reader.remaining} bytes of optional data left (savefile truncated)`);
  }
  header.config = reader.bytesView(configLength, "config");
  if (reader.remaining > 0) header.optionalExtra = reader.rest();
  return { header, size };
}

/** Checks the types of an xl header given to the encoder (before any field is combined). */
function checkXlHeader(header: XlHeader): void {
  const fail = (message: string): never => {
    throw new XenStreamError("BAD_VALUE", 0, `xl header: ${message}`, { layer: "xl" });
  };
  if (typeof header !== "object" || header === null) fail(`must be an object, got ${describeValue(header)}`);
  if (header.byteOrder !== "little" && header.byteOrder !== "big" && header.byteOrder !== undefined) fail(`byteOrder must be "little" or "big", got ${describeValue(header.byteOrder)}`);
  for (const field of ["mandatoryFlags", "optionalFlags"] as const) {
    const value: unknown = header[field];
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      fail(`${field} must be an integer in 0..4294967295, got ${describeValue(value)}`);
    }
  }
  for (const field of ["config", "optionalExtra"] as const) {
    const value: unknown = header[field];
    if (value !== undefined && !(value instanceof Uint8Array)) fail(`${field} must be a Uint8Array, got ${describeValue(value)}`);
  }
}

/** Size of an encoded xl header. @internal */
export function xlHeaderSize(header: XlHeader): number {
  checkXlHeader(header);
  if (header.config === undefined) {
    if (header.optionalExtra !== undefined) {
      throw new XenStreamError("BAD_VALUE", 0, "xl header: optionalExtra needs a config (use an empty one)", { layer: "xl" });
    }
    return XL_HEADER_SIZE;
  }
  return XL_HEADER_SIZE + XL_CONFIG_LENGTH_SIZE + header.config.length + (header.optionalExtra?.length ?? 0);
}

/** @internal */
export function writeXlHeader(writer: Writer, header: XlHeader): void {
  const size = xlHeaderSize(header);
  if ((header.mandatoryFlags & ~XL_MANDATORY_FLAGS_KNOWN) !== 0) {
    writer.fail("xl header: mandatoryFlags may only use 0x1 (JSON) and 0x2 (STREAMv2)");
  }
  const littleEndian = writer.littleEndian;
  writer.littleEndian = header.byteOrder !== "big";
  writer.raw(XL_MAGIC);
  writer.u32(XL_BYTEORDER_VALUE, "byteorder");
  writer.u32(header.mandatoryFlags, "mandatoryFlags");
  writer.u32(header.optionalFlags, "optionalFlags");
  writer.u32(size - XL_HEADER_SIZE, "optional_data_len");
  if (header.config !== undefined) {
    writer.u32(header.config.length, "config_len");
    writer.raw(header.config);
    if (header.optionalExtra !== undefined) writer.raw(header.optionalExtra);
  }
  writer.littleEndian = littleEndian;
}

/**
 * Encodes an xl header and its optional data.
 *
 * @param header - the header
 * @returns the bytes
 */
export function encodeXlHeader(header: XlHeader): Uint8Array {
  const writer = new Writer(xlHeaderSize(header), true);
  writeXlHeader(writer, header);
  return writer.bytes;
}
