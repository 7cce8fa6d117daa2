/**
 * The libvirt libxl-driver save-image header: 16-byte magic, u32 version,
 * u32 xmlLen, ten unused u32s (64 bytes), then xmlLen bytes of domain XML
 * ending in a NUL, then the stream libxl_domain_suspend() wrote. Writer:
 * libvirt src/libxl/libxl_driver.c libxlDoDomainSave(); reader:
 * src/libxl/libxl_domain.c libxlDomainSaveImageOpen().
 *
 * The struct is written as it sits in memory, so its u32s are in the
 * writing host's byte order; there is no byte-order mark. The decoder takes
 * the order in which the version reads 0..2 (for version 0, which reads
 * the same both ways, the order in which xmlLen is the smaller).
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { Writer } from "../wire/writer.js";
import { decodeUtf8, encodeUtf8 } from "../sexp.js";
import {
  LIBVIRT_HEADER_SIZE,
  LIBVIRT_MAGIC,
  LIBVIRT_MAGIC_SIZE,
  LIBVIRT_SAVE_VERSION_MAX,
  LIBVIRT_UNUSED_WORDS,
  LibvirtSaveVersion,
} from "./constants.js";
import { checkBytes, checkObject, checkOffset } from "../wire/args.js";

/** A decoded libvirt save-image header with its XML. */
export interface LibvirtHeader {
  /** Byte order of the u32 fields (the writing host's). */
  byteOrder: "little" | "big";
  /**
   * `version`: 1 = a legacy stream follows, 2 = a libxl v2 stream. libvirt
   * accepts 0 too (it only refuses > 2) and libxl then reads a v2 stream
   * (libxl treats only stream_version 1 as legacy).
   */
  version: number;
  /**
   * The `xmlLen` bytes after the header, as a view: the domain XML as
   * virDomainDefFormat() made it, and its terminating NUL
   * (xmlLen = strlen(xml) + 1).
   */
  xml: Uint8Array;
  /** `unused[10]`, kept as found (libvirt writes zeros). */
  unused: number[];
}

/**
 * True when a legacy stream follows the header (version 1).
 *
 * @param header - a decoded libvirt header
 * @returns whether libxl would read the stream as a legacy (Xen <= 4.5) one
 */
export function isLegacyLibvirt(header: LibvirtHeader): boolean {
  return header.version === LibvirtSaveVersion.LEGACY;
}

/**
 * The XML text: the bytes before the first NUL (all of them when there is
 * none), decoded as UTF-8.
 *
 * @param header - the header
 * @returns the domain XML
 */
export function libvirtXmlText(header: LibvirtHeader): string {
  const end = header.xml.indexOf(0);
  return decodeUtf8(end < 0 ? header.xml : header.xml.subarray(0, end));
}

/**
 * Reads the fixed 64 bytes: checks the magic and the version, returns the
 * byte order and xmlLen. @internal
 */
export function readLibvirtFixedHeader(bytes: Uint8Array, offset: number): { littleEndian: boolean; version: number; xmlLength: number } {
  for (let i = 0; i < LIBVIRT_MAGIC_SIZE; i++) {
    if (bytes[i] !== LIBVIRT_MAGIC[i]) {
      throw new XenStreamError("BAD_MAGIC", offset + i, 'libvirt header: wrong magic: expected "libvirt-xml\\n \\0 \\r"', { layer: "libvirt" });
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, LIBVIRT_HEADER_SIZE);
  let littleEndian = true;
  let version = view.getUint32(LIBVIRT_MAGIC_SIZE, true);
  if (version > LIBVIRT_SAVE_VERSION_MAX) {
    const big = view.getUint32(LIBVIRT_MAGIC_SIZE, false);
    if (big > LIBVIRT_SAVE_VERSION_MAX) {
      throw new XenStreamError(
        "BAD_VERSION",
        offset + LIBVIRT_MAGIC_SIZE,
        `libvirt header: image version is not supported (0x${version.toString(16)} read little-endian, 0x${big.toString(16)} big-endian; libvirt reads 0..2)`,
        { layer: "libvirt" },
      );
    }
    littleEndian = false;
    version = big;
  }
  // Version 0 reads the same in both orders: the order in which xmlLen is
  // the smaller is taken (a big-endian xmlLen read little-endian is huge).
  if (version === 0 && view.getUint32(LIBVIRT_MAGIC_SIZE + 4, true) > view.getUint32(LIBVIRT_MAGIC_SIZE + 4, false)) littleEndian = false;
  const xmlLength = view.getUint32(LIBVIRT_MAGIC_SIZE + 4, littleEndian);
  if (xmlLength === 0) {
    throw new XenStreamError("BAD_LENGTH", offset + LIBVIRT_MAGIC_SIZE + 4, "libvirt header: invalid XML length 0", { layer: "libvirt" });
  }
  return { littleEndian, version, xmlLength };
}

/**
 * Decodes a libvirt save-image header and its XML. Fails as
 * libxlDomainSaveImageOpen() does on structure: wrong magic (BAD_MAGIC),
 * a version above 2 (BAD_VERSION), xmlLen 0 (BAD_LENGTH), fewer bytes than
 * the header and xmlLen need (TRUNCATED). The XML itself is not parsed.
 *
 * @param bytes - the header and at least xmlLen more bytes
 * @param offset - absolute offset of `bytes[0]`
 * @returns the header and the bytes it and its XML occupy
 * @throws {@link XenStreamError} BAD_MAGIC, BAD_VERSION, BAD_LENGTH, TRUNCATED
 *
 * @example
 * ```ts
 * import { decodeLibvirtHeader, libvirtXmlText } from "xen-migration-stream";
 * const { header, size } = decodeLibvirtHeader(fileBytes);
 * header.version; //=> 2
 * libvirtXmlText(header).startsWith("<domain"); //=> true
 * ```
 */
export function decodeLibvirtHeader(bytes: Uint8Array, offset = 0): { header: LibvirtHeader; size: number } {
  checkBytes(bytes, "decodeLibvirtHeader: bytes");
  checkOffset(offset, "decodeLibvirtHeader: offset");
  if (bytes.length < LIBVIRT_HEADER_SIZE) {
    throw new XenStreamError("TRUNCATED", offset + bytes.length, "libvirt header: truncated", { layer: "libvirt" });
  }
  const { littleEndian, version, xmlLength } = readLibvirtFixedHeader(bytes, offset);
  const size = LIBVIRT_HEADER_SIZE + xmlLength;
  if (bytes.length < size) {
    throw new XenStreamError("TRUNCATED", offset + bytes.length, `libvirt header: the ${xmlLength}-byte XML is truncated`, { layer: "libvirt" });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, LIBVIRT_HEADER_SIZE);
  const unused: number[] = [];
  for (let i = 0; i < LIBVIRT_UNUSED_WORDS; i++) unused.push(view.getUint32(24 + 4 * i, littleEndian));
  return {
    header: { byteOrder: littleEndian ? "little" : "big", version, xml: bytes.subarray(LIBVIRT_HEADER_SIZE, size), unused },
    size,
  };
}

/** Size of an encoded header with its XML. @internal */
export function libvirtHeaderSize(header: LibvirtHeader): number {
  checkLibvirtHeaderTypes(header);
  return LIBVIRT_HEADER_SIZE + header.xml.length;
}

/** The field types of a header given to the encoder, checked before any is used (BAD_VALUE). */
function checkLibvirtHeaderTypes(header: LibvirtHeader): void {
  const fail = (message: string): never => {
    throw new XenStreamError("BAD_VALUE", 0, `libvirt header: ${message}`, { layer: "libvirt" });
  };
  if (typeof header !== "object" || header === null) fail(`must be an object, got ${describeValue(header)}`);
  if (header.byteOrder !== "little" && header.byteOrder !== "big") fail(`byteOrder must be "little" or "big", got ${describeValue(header.byteOrder)}`);
  if (!(header.xml instanceof Uint8Array)) fail(`xml must be a Uint8Array, got ${describeValue(header.xml)}`);
  if (!Array.isArray(header.unused)) fail(`unused must be an array of ${LIBVIRT_UNUSED_WORDS} u32 words, got ${describeValue(header.unused)}`);
}

/** @internal */
export function writeLibvirtHeader(writer: Writer, header: LibvirtHeader): void {
  if (header.xml.length === 0) writer.fail("libvirt header: xml must not be empty (libvirt refuses xmlLen 0)");
  if (!Number.isInteger(header.version) || header.version < 0 || header.version > LIBVIRT_SAVE_VERSION_MAX) {
    writer.fail(`libvirt header: version must be 0, 1 or 2, got ${describeValue(header.version)}`);
  }
  if (header.unused.length !== LIBVIRT_UNUSED_WORDS) writer.fail(`libvirt header: unused must have 10 words, got ${header.unused.length}`);
  const littleEndian = writer.littleEndian;
  writer.littleEndian = header.byteOrder !== "big";
  writer.raw(LIBVIRT_MAGIC);
  writer.u32(header.version, "version");
  writer.u32(header.xml.length, "xmlLen");
  for (const word of header.unused) writer.u32(word, "unused");
  writer.raw(header.xml);
  writer.littleEndian = littleEndian;
}

/**
 * Encodes a libvirt save-image header and its XML.
 *
 * @param header - the header
 * @returns the bytes (64 + xml.length)
 * @throws {@link XenStreamError} BAD_VALUE for an empty XML, a version
 * outside 0..2 or an unused array that is not 10 words of u32
 */
export function encodeLibvirtHeader(header: LibvirtHeader): Uint8Array {
  checkObject(header, "encodeLibvirtHeader: header");
  const writer = new Writer(libvirtHeaderSize(header), true);
  writeLibvirtHeader(writer, header);
  return writer.bytes;
}

/**
 * A header for `xml` as libvirt writes one: the host's little-endian byte
 * order, unused words zero, the XML followed by one NUL.
 *
 * @param xml - the domain XML text (without a terminator)
 * @param version - 2 (libxl v2 stream, the default) or 1 (legacy stream)
 * @returns the header value
 */
export function libvirtHeaderFor(xml: string, version: number = LibvirtSaveVersion.V2): LibvirtHeader {
  const text = encodeUtf8(xml);
  const bytes = new Uint8Array(text.length + 1);
  bytes.set(text);
  return { byteOrder: "little", version, xml: bytes, unused: new Array<number>(LIBVIRT_UNUSED_WORDS).fill(0) };
}
