/**
 * The libxc image header (24 bytes, always big-endian) and domain header
 * (16 bytes, stream byte order). Spec "Image Header", "Domain Header"; Xen
 * xg_sr_restore.c: read_headers().
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { Reader } from "../wire/reader.js";
import { Writer } from "../wire/writer.js";
import {
  DHDR_SIZE,
  DomainType,
  IHDR_ID,
  IHDR_OPT_BIG_ENDIAN,
  IHDR_SIZE,
  IHDR_VERSION_MAX,
  IHDR_VERSION_MIN,
  PAGE_SHIFT_MAX,
  PAGE_SHIFT_MIN,
} from "./constants.js";
import type { DomainHeader, ImageHeader } from "./types.js";
import { checkBoolean, checkBytes, checkObject, checkOffset } from "../wire/args.js";

const MARKER_WORD = 0xffff_ffff;

/**
 * True when the image header says the stream is big-endian (IHDR_OPT_BIG_ENDIAN).
 *
 * @param header - a decoded image header
 * @returns whether the options word has the big-endian bit
 */
export function isBigEndianImage(header: ImageHeader): boolean {
  checkObject(header, "isBigEndianImage: header");
  return (header.options & IHDR_OPT_BIG_ENDIAN) !== 0;
}

/**
 * Page size in bytes of a stream with this domain header.
 *
 * @param header - a decoded domain header
 * @returns 2 ** `pageShift`
 */
export function pageSizeOf(header: DomainHeader): number {
  checkObject(header, "pageSizeOf: header");
  return 2 ** header.pageShift;
}

/**
 * Decodes the 24-byte image header. Fails like Xen's restore: wrong marker
 * or id (BAD_MAGIC), version outside 2..3 (BAD_VERSION). Reserved option
 * bits and reserved fields are kept, not checked; the big-endian bit is
 * honoured (Xen itself refuses such streams; the verifier reports it).
 *
 * @param bytes - at least 24 bytes
 * @param offset - absolute offset of `bytes[0]` in the stream
 * @returns the header's fields, reserved ones included
 * @throws {@link XenStreamError} TRUNCATED (fewer than 24 bytes: at their end), BAD_MAGIC,
 * BAD_VERSION (at the field's absolute offset)
 */
export function decodeImageHeader(bytes: Uint8Array, offset = 0): ImageHeader {
  checkBytes(bytes, "decodeImageHeader: bytes");
  checkOffset(offset, "decodeImageHeader: offset");
  const reader = new Reader(bytes.subarray(0, IHDR_SIZE), false, { base: offset, layer: "libxc", what: "libxc image header" });
  if (bytes.length < IHDR_SIZE) throw new XenStreamError("TRUNCATED", offset + bytes.length, "libxc image header: truncated");
  const markerHigh = reader.u32("marker");
  const markerLow = reader.u32("marker");
  if (markerHigh !== MARKER_WORD || markerLow !== MARKER_WORD) {
    reader.fail("BAD_MAGIC", 0, "marker must be 0xffffffffffffffff");
  }
  const id = reader.u32("id");
  if (id !== IHDR_ID) {
    reader.fail("BAD_MAGIC", 8, `bad image id: expected 0x58454e46 ("XENF"), got 0x${id.toString(16).padStart(8, "0")}`);
  }
  const version = reader.u32("version");
  if (version < IHDR_VERSION_MIN || version > IHDR_VERSION_MAX) {
    reader.fail("BAD_VERSION", 12, `unknown stream version ${version}; versions ${IHDR_VERSION_MIN}-${IHDR_VERSION_MAX} are read`);
  }
  const options = reader.u16("options");
  const reserved1 = reader.u16("_res1");
  const reserved2 = reader.u32("_res2");
  return { version, options, reserved1, reserved2 };
}

/**
 * Decodes the 16-byte domain header. Fails on a domain type other than 1
 * (x86 PV) or 2 (x86 HVM) and on a page_shift outside 12..24 (BAD_FIELD).
 *
 * @param bytes - at least 16 bytes
 * @param littleEndian - stream byte order (from the image header)
 * @param offset - absolute offset of `bytes[0]`
 * @returns the header's fields, the reserved one included
 * @throws {@link XenStreamError} TRUNCATED (fewer than 16 bytes: at their end), BAD_FIELD
 * (domain type, page_shift: at the field's absolute offset)
 */
export function decodeDomainHeader(bytes: Uint8Array, littleEndian: boolean, offset = 0): DomainHeader {
  checkBytes(bytes, "decodeDomainHeader: bytes");
  checkBoolean(littleEndian, "decodeDomainHeader: littleEndian");
  checkOffset(offset, "decodeDomainHeader: offset");
  if (bytes.length < DHDR_SIZE) throw new XenStreamError("TRUNCATED", offset + bytes.length, "libxc domain header: truncated");
  const reader = new Reader(bytes.subarray(0, DHDR_SIZE), littleEndian, { base: offset, layer: "libxc", what: "libxc domain header" });
  const type = reader.u32("type");
  if (type !== DomainType.X86_PV && type !== DomainType.X86_HVM) {
    reader.fail("BAD_FIELD", 0, `unrecognised domain type ${type}; expected 1 (x86 PV) or 2 (x86 HVM)`);
  }
  const pageShift = reader.u16("page_shift");
  if (pageShift < PAGE_SHIFT_MIN || pageShift > PAGE_SHIFT_MAX) {
    reader.fail("BAD_FIELD", 4, `page_shift ${pageShift} outside ${PAGE_SHIFT_MIN}..${PAGE_SHIFT_MAX}`);
  }
  const reserved = reader.u16("reserved");
  const xenMajor = reader.u32("xen_major");
  const xenMinor = reader.u32("xen_minor");
  return { type, pageShift, reserved, xenMajor, xenMinor };
}

function failValue(offset: number, message: string): never {
  throw new XenStreamError("BAD_VALUE", offset, message, { layer: "libxc" });
}

/** Writes the image header (validated like the decoder). @internal */
export function writeImageHeader(writer: Writer, header: ImageHeader): void {
  if (typeof header !== "object" || header === null) {
    failValue(writer.base + writer.pos, `image header must be an object, got ${describeValue(header)}`);
  }
  if (typeof header.version !== "number" || header.version < IHDR_VERSION_MIN || header.version > IHDR_VERSION_MAX) {
    failValue(writer.base + writer.pos, `image header version must be ${IHDR_VERSION_MIN}..${IHDR_VERSION_MAX}, got ${describeValue(header.version)}`);
  }
  const littleEndian = writer.littleEndian;
  writer.littleEndian = false;
  writer.u32(MARKER_WORD, "marker");
  writer.u32(MARKER_WORD, "marker");
  writer.u32(IHDR_ID, "id");
  writer.u32(header.version, "version");
  writer.u16(header.options, "options");
  writer.u16(header.reserved1 ?? 0, "reserved1");
  writer.u32(header.reserved2 ?? 0, "reserved2");
  writer.littleEndian = littleEndian;
}

/** Writes the domain header (validated like the decoder). @internal */
export function writeDomainHeader(writer: Writer, header: DomainHeader): void {
  if (typeof header !== "object" || header === null) {
    failValue(writer.base + writer.pos, `domain header must be an object, got ${describeValue(header)}`);
  }
  if (header.type !== DomainType.X86_PV && header.type !== DomainType.X86_HVM) {
    failValue(writer.base + writer.pos, `domain type must be 1 (x86 PV) or 2 (x86 HVM), got ${describeValue(header.type)}`);
  }
  if (typeof header.pageShift !== "number" || header.pageShift < PAGE_SHIFT_MIN || header.pageShift > PAGE_SHIFT_MAX) {
    failValue(writer.base + writer.pos, `pageShift must be ${PAGE_SHIFT_MIN}..${PAGE_SHIFT_MAX}, got ${describeValue(header.pageShift)}`);
  }
  writer.u32(header.type, "type");
  writer.u16(header.pageShift, "pageShift");
  writer.u16(header.reserved ?? 0, "reserved");
  writer.u32(header.xenMajor, "xenMajor");
  writer.u32(header.xenMinor, "xenMinor");
}

/**
 * Encodes an image header to its 24 bytes.
 *
 * @param header - the header
 * @returns 24 bytes
 */
export function encodeImageHeader(header: ImageHeader): Uint8Array {
  const writer = new Writer(IHDR_SIZE, false);
  writeImageHeader(writer, header);
  return writer.bytes;
}

/**
 * Encodes a domain header to its 16 bytes.
 *
 * @param header - the header
 * @param littleEndian - stream byte order (default little-endian)
 * @returns 16 bytes
 */
export function encodeDomainHeader(header: DomainHeader, littleEndian = true): Uint8Array {
  checkBoolean(littleEndian, "encodeDomainHeader: littleEndian");
  const writer = new Writer(DHDR_SIZE, littleEndian);
  writeDomainHeader(writer, header);
  return writer.bytes;
}
