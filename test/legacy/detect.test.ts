/**
 * Width and guest-type detection (legacy-stream.md §11): the octet 4-7
 * rule and the structure, on hand-built prefixes; ambiguity and
 * non-legacy input; and on generated streams of every layout.
 */
import { describe, expect, test } from "vitest";
import { isXenStreamError } from "../../src/index.js";
import { LegacyConverter, detectLegacyLayout } from "../../src/legacy/index.js";
import { generateLegacyStream } from "../../src/testing/legacy-generator.js";
import { cat, hex, le32, le64, zeros } from "../helpers/hex.js";
import { ascii, i32 } from "./legacy-bytes.js";
import { legacyVectors } from "./vectors.js";

const HVM_HEADER = cat(hex("01 00 00 00 18 00 00 00 86 12 38 54 01 00 00 00"), zeros(16));

function codeOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isXenStreamError(error)) return error.code;
    throw error;
  }
  return "none";
}

describe("detectLegacyLayout", () => {
  test("64-bit PV: octets 4-7 zero, then eight 0xFF and a vcpu block", () => {
    const bytes = cat(le64(0x8000), le64(0xffff_ffff_ffff_ffffn), le32(5184), ascii("vcpu"), le32(0x1430), zeros(64));
    expect(detectLegacyLayout(bytes)).toEqual({ width: 64, guest: "pv" });
  });

  test("32-bit PV: octets 4-7 are the 0xFFFFFFFF signature", () => {
    const bytes = cat(le32(0x8000), le32(0xffff_ffff), le32(2816), ascii("vcpu"), le32(0xaf0));
    expect(detectLegacyLayout(bytes)).toEqual({ width: 32, guest: "pv" });
  });

  test("32-bit HVM: octets 4-7 are the first chunk id (TSC_INFO), walked to the tail", () => {
    const bytes = cat(le32(0x100), i32(-7), zeros(20), i32(0), zeros(24), le32(HVM_HEADER.length + 8), HVM_HEADER);
    expect(detectLegacyLayout(bytes, { final: true })).toEqual({ width: 32, guest: "hvm" });
  });

  test("64-bit HVM: first chunk a page batch whose 64-bit entries have bits 63-32 clear", () => {
    const bytes = cat(le64(0x100), i32(1), le64(0x5), zeros(4096), i32(0), zeros(24), le32(HVM_HEADER.length + 8), HVM_HEADER);
    expect(detectLegacyLayout(bytes, { final: true })).toEqual({ width: 64, guest: "hvm" });
  });

  test("a 32-bit HVM stream with no chunk at all has octets 4-7 zero, yet the structure tells it from 64-bit", () => {
    const bytes = cat(le32(0x100), i32(0), le64(0xfeff0), le64(0xfeff1), le64(0xfeff2), le32(HVM_HEADER.length + 8), HVM_HEADER);
    expect(detectLegacyLayout(bytes, { final: true })).toEqual({ width: 32, guest: "hvm" });
  });

  test("undecided until enough bytes arrived (not final)", () => {
    expect(detectLegacyLayout(cat(le64(0x8000)))).toBeUndefined();
    const hvm = cat(le64(0x100), i32(-7), zeros(20));
    expect(detectLegacyLayout(hvm)).toBeUndefined();
  });

  test("a known width or guest narrows the readings", () => {
    const bytes = cat(le64(0x8000), le64(0xffff_ffff_ffff_ffffn), le32(5184), ascii("vcpu"), le32(0x1430), zeros(64));
    expect(detectLegacyLayout(bytes, { width: 64 })).toEqual({ width: 64, guest: "pv" });
    expect(codeOf(() => detectLegacyLayout(bytes, { width: 32, final: true }))).toBe("BAD_MAGIC");
  });

  test("ambiguous bytes: UNSUPPORTED, naming both readings", () => {
    // 64-bit HVM whose chunks read -1, -1, -7 with a TSC mode of "vcpu": also a 64-bit PV reading.
    const bytes = cat(le64(0x100), i32(-1), i32(-1), i32(-7), ascii("vcpu"), zeros(16), i32(0), zeros(24), le32(HVM_HEADER.length + 8), HVM_HEADER);
    try {
      detectLegacyLayout(bytes, { final: true });
      expect.fail("no error");
    } catch (error) {
      expect(isXenStreamError(error) && error.code).toBe("UNSUPPORTED");
      expect(String(error)).toMatch(/64-bit PV and 64-bit HVM/);
    }
    // Given the guest type, it converts.
    expect(detectLegacyLayout(bytes, { guest: "hvm", final: true })).toEqual({ width: 64, guest: "hvm" });
  });

  test("v2 streams and xl files are refused (BAD_MAGIC)", () => {
    expect(codeOf(() => detectLegacyLayout(cat(hex("ff ff ff ff ff ff ff ff"), zeros(32))))).toBe("BAD_MAGIC");
    expect(codeOf(() => detectLegacyLayout(cat(ascii("LibxlFmt"), zeros(32))))).toBe("BAD_MAGIC");
    expect(codeOf(() => detectLegacyLayout(cat(ascii("Xen saved domain"), zeros(32))))).toBe("BAD_MAGIC");
  });

  test("too short to tell, at the end of the input: TRUNCATED", () => {
    expect(codeOf(() => detectLegacyLayout(le32(0x100), { final: true }))).toBe("TRUNCATED");
  });

  test("every hand-built vector", () => {
    for (const vector of legacyVectors()) {
      const body = vector.options.xl ? vector.input.subarray(48 + new DataView(vector.input.buffer, vector.input.byteOffset).getUint32(44, true)) : vector.input;
      expect(detectLegacyLayout(body, { final: true }), vector.name).toEqual({ width: vector.options.width, guest: vector.options.guest });
    }
  });

  test("200 generated streams of every layout", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const { bytes, summary } = generateLegacyStream({ seed });
      const converter = new LegacyConverter({});
      converter.push(bytes);
      converter.end();
      expect(converter.layout, `seed ${seed}`).toEqual({ width: summary.width, guest: summary.guest });
    }
  });
});
