// The libvirt libxl-driver save header (libxl_conf.h struct
// _libxlSavefileHeader): 64 bytes, host byte order, XML with its NUL.
import { describe, expect, test } from "vitest";
import { decodeLibvirtHeader, encodeLibvirtHeader, libvirtHeaderFor, libvirtXmlText } from "../../src/index.js";
import { LIBVIRT_HEADER_SIZE, LIBVIRT_MAGIC } from "../../src/constants.js";
import { cat, hex, le32, be32, toHex } from "../helpers/hex.js";
import { thrown } from "../helpers/errors.js";

const MAGIC = hex("6c 69 62 76 69 72 74 2d 78 6d 6c 0a 20 00 20 0d"); // "libvirt-xml\n \0 \r"
const XML = hex("3c 61 2f 3e 00"); // "<a/>\0"

describe("libvirt header", () => {
  test("layout: magic, version, xmlLen, ten unused words, XML", () => {
    expect(LIBVIRT_HEADER_SIZE).toBe(64);
    expect(toHex(LIBVIRT_MAGIC)).toBe(toHex(MAGIC));
    const bytes = cat(MAGIC, le32(2), le32(5), new Uint8Array(40), XML);
    const { header, size } = decodeLibvirtHeader(bytes, 0);
    expect(size).toBe(69);
    expect(header).toEqual({ byteOrder: "little", version: 2, xml: XML, unused: new Array(10).fill(0) });
    expect(libvirtXmlText(header)).toBe("<a/>");
    expect(toHex(encodeLibvirtHeader(header))).toBe(toHex(bytes));
    expect(toHex(encodeLibvirtHeader(libvirtHeaderFor("<a/>")))).toBe(toHex(bytes));
  });

  test("unused words and a big-endian header are kept", () => {
    const unused = cat(...Array.from({ length: 10 }, (_, i) => be32(i * 0x01010101)));
    const bytes = cat(MAGIC, be32(1), be32(5), unused, XML);
    const { header } = decodeLibvirtHeader(bytes, 0);
    expect(header.byteOrder).toBe("big");
    expect(header.version).toBe(1);
    expect(header.unused).toEqual(Array.from({ length: 10 }, (_, i) => i * 0x01010101));
    expect(toHex(encodeLibvirtHeader(header))).toBe(toHex(bytes));
  });

  test.each([
    ["truncated header", new Uint8Array(63), "TRUNCATED", 63],
    ["bad magic at byte 13", cat(MAGIC.slice(0, 13), hex("01 20 0d"), le32(2), le32(5), new Uint8Array(40), XML), "BAD_MAGIC", 13],
    ["version 3", cat(MAGIC, le32(3), le32(5), new Uint8Array(40), XML), "BAD_VERSION", 16],
    ["version 0x03000000 (neither order reads 0..2)", cat(MAGIC, le32(0x0300_0000), le32(5), new Uint8Array(40), XML), "BAD_VERSION", 16],
    ["xmlLen 0", cat(MAGIC, le32(2), le32(0), new Uint8Array(40)), "BAD_LENGTH", 20],
    ["XML truncated", cat(MAGIC, le32(2), le32(6), new Uint8Array(40), XML), "TRUNCATED", 69],
  ])("%s: %s at %d", (_name, bytes, code, offset) => {
    const error = thrown(() => decodeLibvirtHeader(bytes, 0));
    expect([error.code, error.offset, error.layer]).toEqual([code, offset, "libvirt"]);
  });

  test.each([
    ["empty XML", { ...libvirtHeaderFor("x"), xml: new Uint8Array(0) }],
    ["version 3", { ...libvirtHeaderFor("x"), version: 3 }],
    ["nine unused words", { ...libvirtHeaderFor("x"), unused: new Array(9).fill(0) }],
    ["unused word too large", { ...libvirtHeaderFor("x"), unused: [2 ** 32, 0, 0, 0, 0, 0, 0, 0, 0, 0] }],
  ])("encode refuses %s: BAD_VALUE", (_name, header) => {
    expect(thrown(() => encodeLibvirtHeader(header)).code).toBe("BAD_VALUE");
  });
});
