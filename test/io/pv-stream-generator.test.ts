// The generated PV stream (src/testing/pv-stream-generator.ts): exact size
// and layout, bytes checked by hand against the spec tables, the record
// sequence Xen's PV saver writes, determinism, immutable chunks, and
// acceptance by Xen's own verify-stream-v2.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { decodeSaveFile, type LibxcRecord } from "../../src/index.js";
import { generatePvStream, pvStreamLayout, type PvStreamOptions } from "../../src/testing/pv-stream-generator.js";
import { concat, expectSameBytes } from "./helpers.js";

function bytesOf(options: PvStreamOptions): Uint8Array {
  return concat(generatePvStream(options));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function records(bytes: Uint8Array): LibxcRecord[] {
  const file = decodeSaveFile(bytes);
  if (file.format === "libxc") return file.stream.records;
  const part = file.stream.items.find((item) => item.type === "LIBXC_STREAM");
  if (part?.type !== "LIBXC_STREAM") throw new Error("no libxc part");
  return part.stream.records;
}

describe("size and layout", () => {
  test("the stream is exactly totalBytes long, at most the requested size, and fills it", () => {
    for (const format of ["libxc", "libxl", "xl"] as const) {
      for (const size of [0, 10_000, 123_457, 5_000_000]) {
        const layout = pvStreamLayout({ size, format });
        const bytes = bytesOf({ size, format });
        expect(bytes.length).toBe(layout.totalBytes);
        expect(layout.pages).toBeGreaterThanOrEqual(1);
        if (size >= 100_000) {
          expect(layout.totalBytes).toBeLessThanOrEqual(size);
          // Less than one more page (with its pfn entry and a batch header) is left over.
          expect(size - layout.totalBytes).toBeLessThan(4096 + 8 + 16 + 8);
        }
      }
    }
  });

  test("8 GiB: the layout is computed without generating it", () => {
    const layout = pvStreamLayout({ size: 8 * 2 ** 30, format: "xl" });
    expect(layout.totalBytes).toBeLessThanOrEqual(8 * 2 ** 30);
    expect(layout.batches).toBe(Math.ceil(layout.pages / 1024));
    expect(layout.pages).toBe(2_093_044);
    expect(layout.libxcRecords).toBe(5 + layout.batches + 2 + 4 + 1);
  });

  test("options out of range are RangeErrors", () => {
    expect(() => pvStreamLayout({ size: -1 })).toThrow(RangeError);
    expect(() => pvStreamLayout({ size: 1.5 })).toThrow(RangeError);
    expect(() => pvStreamLayout({ size: 100, batchPages: 0 })).toThrow(RangeError);
    expect(() => pvStreamLayout({ size: 100, batchPages: 1025 })).toThrow(RangeError);
    expect(() => pvStreamLayout({ size: 100, vcpus: 0 })).toThrow(RangeError);
    expect(() => pvStreamLayout({ size: 100, format: "legacy" as never })).toThrow(RangeError);
  });
});

describe("bytes, by hand from the spec tables", () => {
  const options: PvStreamOptions = { size: 200_000, format: "libxc", batchPages: 8 };
  const bytes = bytesOf(options);
  const layout = pvStreamLayout(options);

  test("image header, domain header, X86_PV_INFO, the first CPUID leaf", () => {
    // Image header (big-endian): marker FF x8, "XENF", version 3, options 0, reserved 0.
    expect(hex(bytes.subarray(0, 24))).toBe("ffffffffffffffff" + "58454e46" + "00000003" + "0000" + "0000" + "00000000");
    // Domain header (little-endian): type 1 (x86 PV), page_shift 12, reserved 0, Xen 4.17.
    expect(hex(bytes.subarray(24, 40))).toBe("01000000" + "0c00" + "0000" + "04000000" + "11000000");
    // X86_PV_INFO: type 2, length 8; guest_width 8, pt_levels 4, 6 reserved zero bytes.
    expect(hex(bytes.subarray(40, 56))).toBe("02000000" + "08000000" + "0804" + "000000000000");
    // X86_CPUID_POLICY: type 0x11, length 51 * 24 = 1224 (0x4c8); leaf 0, subleaf 0xffffffff.
    expect(hex(bytes.subarray(56, 72))).toBe("11000000" + "c8040000" + "00000000" + "ffffffff");
  });

  test("the first PAGE_DATA record: header, count, reserved, typed pfn entries", () => {
    const at = layout.pageDataOffset;
    const bodyLength = 8 + 8 * (8 + 4096); // 32840 = 0x8048
    expect(hex(bytes.subarray(at, at + 16))).toBe("01000000" + "48800000" + "08000000" + "00000000");
    const entries = hex(bytes.subarray(at + 16, at + 16 + 8 * 5));
    expect(entries).toBe(
      "0000000000000000" + // pfn 0, NOTAB
        "01000000000000c0" + // pfn 1, L4TAB | pinned (0xc)
        "02000000000000b0" + // pfn 2, L3TAB | pinned (0xb)
        "0300000000000020" + // pfn 3, L2TAB (0x2)
        "0400000000000010", // pfn 4, L1TAB (0x1)
    );
    expect(at + 8 + bodyLength).toBe(at + 16 + 8 * 8 + 8 * 4096);
  });

  test("the stream ends with END (libxc), END + libxl END (libxl, xl)", () => {
    expect(hex(bytes.subarray(bytes.length - 8))).toBe("0000000000000000");
    const libxl = bytesOf({ ...options, format: "libxl" });
    expect(hex(libxl.subarray(0, 24))).toBe("4c6962786c466d74" + "00000002" + "00000000" + "01000000" + "00000000");
    expect(hex(libxl.subarray(libxl.length - 16))).toBe("0".repeat(32));
    const xl = bytesOf({ ...options, format: "xl" });
    expect(Buffer.from(xl.subarray(0, 32)).toString("latin1")).toBe("Xen saved domain, xl format\n \0 \r");
    // byteorder 0x01020304, mandatory JSON|STREAMv2 (3), optional 0, little-endian.
    expect(hex(xl.subarray(32, 44))).toBe("04030201" + "03000000" + "00000000");
  });
});

describe("structure and determinism", () => {
  test("the records of Xen's PV saver, in its order, with consecutive pfns", () => {
    const options: PvStreamOptions = { size: 300_000, format: "xl", batchPages: 16, vcpus: 3 };
    const list = records(bytesOf(options));
    const layout = pvStreamLayout(options);
    const types = list.map((record) => record.type);
    expect(types).toEqual([
      "X86_PV_INFO",
      "X86_CPUID_POLICY",
      "X86_MSR_POLICY",
      "STATIC_DATA_END",
      "X86_PV_P2M_FRAMES",
      ...Array.from({ length: layout.batches }, () => "PAGE_DATA"),
      "X86_TSC_INFO",
      "SHARED_INFO",
      ...Array.from({ length: 3 }, () => ["X86_PV_VCPU_BASIC", "X86_PV_VCPU_EXTENDED"]).flat(),
      "END",
    ]);
    expect(list.length).toBe(layout.libxcRecords);
    const pfns = list.flatMap((record) => (record.type === "PAGE_DATA" ? record.entries.map((entry) => entry.pfn) : []));
    expect(pfns).toEqual(Array.from({ length: layout.pages }, (_, i) => i));
  });

  test("the same options give the same bytes; another seed other page contents", () => {
    const options: PvStreamOptions = { size: 100_000, format: "libxl", batchPages: 4 };
    expectSameBytes(bytesOf(options), bytesOf(options));
    const other = bytesOf({ ...options, seed: 2 });
    expect(other.length).toBe(bytesOf(options).length);
    expect(Buffer.from(other).equals(Buffer.from(bytesOf(options)))).toBe(false);
  });

  test("no chunk is modified after it is yielded", () => {
    const options: PvStreamOptions = { size: 100_000, batchPages: 4 };
    const kept: Uint8Array[] = [];
    const copies: Uint8Array[] = [];
    for (const chunk of generatePvStream(options)) {
      kept.push(chunk);
      copies.push(chunk.slice());
    }
    expectSameBytes(concat(kept), concat(copies));
  });
});

interface XenTools {
  xenToolsDir(): string | null;
  runVerifyStreamV2(file: string, format: "xl" | "libxl" | "libxc"): { status: number | null; stdout: string; stderr: string };
}

const tools = (await import(pathToFileURL(fileURLToPath(new URL("../../scripts/xen-tools.mjs", import.meta.url))).href)) as XenTools;
const haveTools = tools.xenToolsDir() !== null;
const scratch = mkdtempSync(join(tmpdir(), "pv-generator-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!haveTools)("Xen's verify-stream-v2 accepts every format (needs scripts/fetch-xen-tools.sh)", () => {
  for (const format of ["libxc", "libxl", "xl"] as const) {
    test(format, () => {
      const file = join(scratch, `pv.${format}`);
      writeFileSync(file, bytesOf({ size: 3_000_000, format, vcpus: 4 }));
      const result = tools.runVerifyStreamV2(file, format);
      expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    });
  }
});
