// The xenopsd suspend-image framing (suspend_image.ml): signatures, the
// 16-byte little-endian chunk header, every chunk type id, encoder checks.
import { describe, expect, test } from "vitest";
import { decodeXenopsdSignature, encodeXenopsdChunk } from "../../src/index.js";
import { XENOPSD_CHUNK_HEADER_SIZE, XENOPSD_SIGNATURE_SIZE, XenopsdChunkType, xenopsdChunkName } from "../../src/constants.js";
import { hex, toHex } from "../helpers/hex.js";
import { thrown } from "../helpers/errors.js";

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

describe("xenopsd framing", () => {
  test("sizes and type ids are header_type_of_int64's", () => {
    expect([XENOPSD_SIGNATURE_SIZE, XENOPSD_CHUNK_HEADER_SIZE]).toEqual([15, 16]);
    expect(XenopsdChunkType).toEqual({
      Xenops: 0x000f,
      Libxc: 0x00f0,
      Libxl: 0x00f1,
      Libxc_legacy: 0x00f2,
      Qemu_trad: 0x0f00,
      Qemu_xen: 0x0f01,
      Demu: 0x0f10,
      Varstored: 0x0f11,
      Swtpm0: 0x0f12,
      Swtpm: 0x0f13,
      End_of_image: 0xffff,
    });
    expect([xenopsdChunkName(0x0f13), xenopsdChunkName(0x0f14), xenopsdChunkName(0)]).toEqual(["Swtpm", undefined, undefined]);
  });

  test("signatures", () => {
    expect(decodeXenopsdSignature(ascii("XenSavedDomv2-\n"))).toBe("structured");
    expect(decodeXenopsdSignature(ascii("XenSavedDomain\n"))).toBe("legacy");
    const error = thrown(() => decodeXenopsdSignature(ascii("XenSavedDomv2-\r"), 5));
    expect([error.code, error.offset, error.layer]).toEqual(["BAD_MAGIC", 5, "xenopsd"]);
  });

  test("chunk headers are two little-endian u64s, blobs follow", () => {
    expect(toHex(encodeXenopsdChunk({ type: "Varstored", length: 3n, body: ascii("efi") }))).toBe(
      toHex(hex("11 0f 00 00 00 00 00 00 | 03 00 00 00 00 00 00 00 | 65 66 69")),
    );
    expect(toHex(encodeXenopsdChunk({ type: "Libxc", length: 0n }))).toBe(toHex(hex("f0 00 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00")));
    expect(toHex(encodeXenopsdChunk({ type: "End_of_image", length: 0n }))).toBe(toHex(hex("ff ff 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00")));
    // A stream chunk's length is kept as written, even when not 0.
    expect(toHex(encodeXenopsdChunk({ type: "Libxl", length: 0x1_0000_0001n }))).toBe(toHex(hex("f1 00 00 00 00 00 00 00 | 01 00 00 00 01 00 00 00")));
  });

  test.each([
    ["a blob without its body", { type: "Swtpm", length: 2n }],
    ["a body that disagrees with the length", { type: "Swtpm", length: 2n, body: ascii("abc") }],
    ["a body on a stream chunk", { type: "Libxc", length: 0n, body: ascii("x") }],
    ["a body on the footer", { type: "End_of_image", length: 1n, body: ascii("x") }],
    ["an unknown type", { type: "Nope", length: 0n }],
  ] as const)("%s: BAD_VALUE", (_name, chunk) => {
    expect(thrown(() => encodeXenopsdChunk(chunk as never)).code).toBe("BAD_VALUE");
  });
});
