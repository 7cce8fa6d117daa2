/**
 * The libxl stream header: ident "LibxlFmt", version u32, options u32,
 * always big-endian (spec "Stream Header"; Xen libxl_stream_read.c:
 * stream_header_done()).
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { Reader } from "../wire/reader.js";
import { Writer } from "../wire/writer.js";
import { LIBXL_HDR_SIZE, LIBXL_IDENT_BYTES, LIBXL_OPT_BIG_ENDIAN, LIBXL_VERSION } from "./constants.js";
import type { LibxlHeader } from "./types.js";
import { checkBytes, checkObject, checkOffset } from "../wire/args.js";

/**
 * True when the libxl header says the stream is big-endian.
 *
 * @param header - a decoded libxl header
 * @returns whether the options word has LIBXL_OPT_BIG_ENDIAN
 */
export function isBigEndianLibxl(header: LibxlHeader): boolean {
  checkObject(header, "isBigEndianLibxl: header");
  return (header.options & LIBXL_OPT_BIG_ENDIAN) !== 0;
}

/**
 * Decodes the 16-byte libxl header. Fails like Xen on a bad ident
 * (BAD_MAGIC) or a version other than 2 (BAD_VERSION); reserved option bits
 * are kept.
 *
 * @param bytes - at least 16 bytes
 * @param offset - absolute offset of `bytes[0]`
 * @returns the version and options
 * @throws {@link XenStreamError} TRUNCATED (fewer than 16 bytes: at their end), BAD_MAGIC,
 * BAD_VERSION (at the field's absolute offset)
 */
export function decodeLibxlHeader(bytes: Uint8Array, offset = 0): LibxlHeader {
  checkBytes(bytes, "decodeLibxlHeader: bytes");
  checkOffset(offset, "decodeLibxlHeader: offset");
  if (bytes.length < LIBXL_HDR_SIZE) throw new XenStreamError("TRUNCATED", offset + bytes.length, "libxl header: truncated", { layer: "libxl" });
  const reader = new Reader(bytes.subarray(0, LIBXL_HDR_SIZE), false, { base: offset, layer: "libxl", what: "libxl header" });
  const ident = reader.bytesView(8, "ident");
  if (!ident.every((byte, i) => byte === LIBXL_IDENT_BYTES[i])) {
    reader.fail("BAD_MAGIC", 0, 'bad ident: expected "LibxlFmt" (0x4c6962786c466d74)');
  }
  const version = reader.u32("version");
  if (version !== LIBXL_VERSION) reader.fail("BAD_VERSION", 8, `unexpected version ${version}; expected ${LIBXL_VERSION}`);
  return { version, options: reader.u32("options") };
}

/** @internal */
export function writeLibxlHeader(writer: Writer, header: LibxlHeader): void {
  if (typeof header !== "object" || header === null || header.version !== LIBXL_VERSION) {
    const got = typeof header === "object" && header !== null ? describeValue(header.version) : `a header ${describeValue(header)}`;
    throw new XenStreamError("BAD_VALUE", writer.base + writer.pos, `libxl header version must be ${LIBXL_VERSION}, got ${got}`, {
      layer: "libxl",
    });
  }
  const littleEndian = writer.littleEndian;
  writer.littleEndian = false;
  writer.raw(LIBXL_IDENT_BYTES);
  writer.u32(header.version, "version");
  writer.u32(header.options, "options");
  writer.littleEndian = littleEndian;
}

/**
 * Encodes a libxl header to its 16 bytes.
 *
 * @param header - the header
 * @returns 16 bytes
 */
export function encodeLibxlHeader(header: LibxlHeader): Uint8Array {
  const writer = new Writer(LIBXL_HDR_SIZE, false);
  writeLibxlHeader(writer, header);
  return writer.bytes;
}
