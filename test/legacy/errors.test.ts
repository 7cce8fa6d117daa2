/**
 * Malformed legacy input: every fault the reader refuses, with its error
 * code and the absolute input offset of the offending field, including
 * every input Xen's convert-legacy-stream crashes on or converts into a
 * stream v2 forbids (reference-tool-bugs.md B3, B7-B12; legacy-stream.md
 * §12.6-§12.7). Inputs are hand-built field by field; offsets are computed
 * from the named fields, never taken from the implementation.
 */
import { describe, expect, test } from "vitest";
import { XenStreamError, isXenStreamError } from "../../src/index.js";
import { LegacyReader, convertLegacy, type LegacyOptions } from "../../src/legacy/index.js";
import { Prng } from "../../src/testing/prng.js";
import { cat, hex, le32, le64, pattern, zeros } from "../helpers/hex.js";
import { ascii, i32, ulong, xlHeader } from "./legacy-bytes.js";

type Parts = Array<[name: string, bytes: Uint8Array]>;

const build = (parts: Parts): Uint8Array => cat(...parts.map(([, bytes]) => bytes));

/** Absolute offset of the named field. */
function at(parts: Parts, name: string): number {
  let offset = 0;
  for (const [field, bytes] of parts) {
    if (field === name) return offset;
    offset += bytes.length;
  }
  throw new Error(`no field ${name}`);
}

function replace(parts: Parts, name: string, bytes: Uint8Array): Parts {
  if (!parts.some(([field]) => field === name)) throw new Error(`no field ${name}`);
  return parts.map(([field, old]) => [field, field === name ? bytes : old]);
}

function insertBefore(parts: Parts, name: string, added: Parts): Parts {
  const index = parts.findIndex(([field]) => field === name);
  if (index < 0) throw new Error(`no field ${name}`);
  return [...parts.slice(0, index), ...added, ...parts.slice(index)];
}

/** A minimal PV stream, 64-bit toolstack, 64-bit guest, one vCPU, extv + xcnt (xsave of 32 bytes). */
function pv(width: 32 | 64 = 64): Parts {
  const ctx = 0x1430;
  return [
    ["p2m", ulong(3, width)],
    ["signature", ulong(width === 64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffff, width)],
    ["total", le32(ctx + 8 + 8 + 12)],
    ["vcpuBlock", cat(ascii("vcpu"), le32(ctx))],
    ["vcpuData", pattern(ctx, 1)],
    ["extvBlock", cat(ascii("extv"), le32(0))],
    ["xcntBlock", cat(ascii("xcnt"), le32(4))],
    ["xcnt", le32(16 + 32)],
    ["frames", ulong(0x40, width)],
    ["batch", i32(2)],
    ["entry0", ulong(0x0000_0001, width)],
    ["entry1", ulong(0x1000_0002, width)],
    ["pages", pattern(8192, 2)],
    ["vcpuInfo", i32(-2)],
    ["maxVcpu", i32(0)],
    ["vcpuMap", le64(1)],
    ["toolstack", cat(i32(-18), le32(0))],
    ["end", i32(0)],
    ["unmapped", le32(0)],
    ["basic", pattern(ctx, 3)],
    ["extended", pattern(128, 4)],
    ["xsaveMask", le64(7)],
    ["xsaveSize", le64(32)],
    ["xsave", pattern(32, 5)],
    ["shared", pattern(4096, 6)],
  ];
}

/** A minimal HVM stream, 64-bit toolstack, libxl physmap, DeviceModelRecord0002. */
function hvm(width: 32 | 64 = 64): Parts {
  const physmap = cat(le32(1), le32(1), le64(0xf000_0000), le64(0xf000_0000), le64(0x80_0000), le32(4), ascii("vga\0"), width === 64 ? zeros(4) : new Uint8Array(0));
  const context = cat(hex("01 00 00 00 18 00 00 00 86 12 38 54 01 00 00 00"), zeros(16), zeros(8));
  return [
    ["p2m", ulong(0x100, width)],
    ["batch", i32(1)],
    ["entry0", ulong(0x10, width)],
    ["pages", pattern(4096, 7)],
    ["vcpuInfo", cat(i32(-2), i32(0), le64(1))],
    ["param", cat(i32(-3), le32(0), le64(0xfeffd000))],
    ["toolstack", i32(-18)],
    ["toolstackSize", le32(physmap.length)],
    ["physmap", physmap],
    ["end", i32(0)],
    ["magic", cat(le64(0xfeff0), le64(0xfeff1), le64(0xfeff2))],
    ["contextLength", le32(context.length)],
    ["context", context],
    ["qemuSignature", ascii("DeviceModelRecord0002")],
    ["qemuLength", le32(6)],
    ["qemu", pattern(6, 8)],
  ];
}

const PV: LegacyOptions = { width: 64, guest: "pv" };
const HVM: LegacyOptions = { width: 64, guest: "hvm" };
const HVM_LIBXL: LegacyOptions = { ...HVM, format: "libxl" };

interface Case {
  name: string;
  input: Uint8Array;
  options: LegacyOptions;
  code: XenStreamError["code"];
  offset: number;
  message?: RegExp;
}

function errorOf(run: () => unknown): XenStreamError {
  try {
    run();
  } catch (error) {
    if (isXenStreamError(error)) return error;
    throw error;
  }
  throw new Error("no error");
}

function cases(): Case[] {
  const list: Case[] = [];
  const add = (name: string, parts: Parts, options: LegacyOptions, code: Case["code"], field: string | number, message?: RegExp): void => {
    list.push({ name, input: build(parts), options, code, offset: typeof field === "number" ? field : at(parts, field), ...(message ? { message } : {}) });
  };
  const p = pv();
  const h = hvm();

  // Header and extended info.
  add("B9: PV p2m_size 0 (reference: struct.error)", replace(p, "p2m", le64(0)), PV, "BAD_FIELD", "p2m", /p2m_size 0/);
  add("PV p2m_size beyond 2^28", replace(p, "p2m", le64(2 ** 28 + 1)), PV, "BAD_FIELD", "p2m");
  add("extended-info signature not ~0 (pre-3.0 stream)", replace(p, "signature", le64(5)), PV, "BAD_MAGIC", "signature", /signature/);
  add("vcpu block of a wrong size", replace(replace(p, "vcpuBlock", cat(ascii("vcpu"), le32(0x1000))), "vcpuData", pattern(0x1000, 1)), PV, "BAD_LENGTH", at(p, "vcpuBlock") + 4, /guest width/);
  {
    // B8: no vcpu block (the reference divides by zero)
    const parts = replace(replace(replace(p, "vcpuBlock", new Uint8Array(0)), "vcpuData", new Uint8Array(0)), "total", le32(8 + 12));
    add("B8: extended info without a vcpu block", parts, PV, "BAD_FIELD", "frames", /no vcpu block/);
  }
  add("block overshoots the extended-info total", replace(p, "total", le32(0x1430 + 8 + 8 + 10)), PV, "BAD_LENGTH", "xcntBlock", /overshoots/);
  add("B12: xcnt block shorter than 4 bytes (reference: struct.error)", replace(replace(p, "xcntBlock", cat(ascii("xcnt"), le32(2))), "xcnt", hex("30 00")), PV, "BAD_LENGTH", at(p, "xcntBlock") + 4);
  add("B7: xcnt below the 16-byte xsave header", replace(p, "xcnt", le32(8)), PV, "BAD_FIELD", "xcnt");
  add("xcnt beyond maxRecordLength", replace(p, "xcnt", le32(0xffff_0000)), PV, "RECORD_TOO_LARGE", "xcnt");
  add(
    "a second vcpu block",
    insertBefore(replace(p, "total", le32(2 * (0x1430 + 8) + 8 + 12)), "extvBlock", [["vcpu2", cat(ascii("vcpu"), le32(0x1430), pattern(0x1430, 9))]]),
    PV,
    "BAD_FIELD",
    at(p, "extvBlock"),
    /second vcpu/,
  );

  // Chunks.
  add("page batch beyond MAX_BATCH (1025)", replace(p, "batch", i32(1025)), PV, "BAD_FIELD", "batch", /MAX_BATCH/);
  add("duplicate pfn entries in a batch", replace(p, "entry1", le64(0x0000_0001)), PV, "BAD_FIELD", "entry1", /duplicate/);
  add("reserved page type 5 (reference passes it through)", replace(p, "entry1", le64(0x5000_0002)), PV, "BAD_PAGE_TYPE", "entry1");
  add("reserved page type 8", replace(p, "entry1", le64(0x8000_0002)), PV, "BAD_PAGE_TYPE", "entry1");
  add("64-bit pfn entry with bits 63-32 set (reference drops them)", replace(p, "entry1", le64(0x1_1000_0002n)), PV, "BAD_FIELD", "entry1", /63-32/);
  add("HVM parameter chunk in a PV stream", insertBefore(p, "vcpuInfo", [["param", cat(i32(-3), le32(0), le64(1))]]), PV, "UNEXPECTED_RECORD", "param", /HVM-only/);
  for (const [id, name] of [[-5, "TMEM"], [-6, "TMEM_EXTRA"], [-12, "COMPRESSED_DATA"], [-13, "ENABLE_COMPRESSION"]] as const) {
    // B11: the reference gives up with "todo" (exit 2).
    add(`B11: ${name} chunk (${id})`, insertBefore(p, "vcpuInfo", [["chunk", cat(i32(id), zeros(16))]]), PV, "UNSUPPORTED", "chunk", new RegExp(`${name} chunk \\(id ${id}\\)`));
  }
  add("unknown chunk id -21", insertBefore(p, "vcpuInfo", [["chunk", i32(-21)]]), PV, "UNKNOWN_RECORD", "chunk", /unrecognised chunk/);
  add("VCPU_INFO max id 4096", replace(p, "maxVcpu", i32(4096)), PV, "BAD_FIELD", "vcpuInfo", /4095/);
  add("VCPU_INFO max id negative (C and Python read different bitmaps)", replace(p, "maxVcpu", i32(-1)), PV, "BAD_FIELD", "vcpuInfo", /negative/);
  add("VCPU_INFO bit above max id", replace(p, "vcpuMap", le64(0b101)), PV, "BAD_FIELD", "vcpuInfo", /above max_vcpu_id/);
  add("a second VCPU_INFO", insertBefore(p, "toolstack", [["again", cat(i32(-2), i32(0), le64(1))]]), PV, "UNEXPECTED_RECORD", "again");

  // PV tail.
  add("unmapped pfn count beyond 2^28", replace(p, "unmapped", le32(2 ** 28 + 1)), PV, "BAD_FIELD", "unmapped");
  add("B7: xsave size differs from xcnt (reference: AssertionError)", replace(p, "xsaveSize", le64(24)), PV, "BAD_LENGTH", "xsaveSize", /xcnt/);

  // libxl physmap data (libxl output only).
  const physmapCase = (name: string, data: Uint8Array, field: (base: number) => number, code: Case["code"], message?: RegExp): void => {
    const parts = replace(replace(h, "physmap", data), "toolstackSize", le32(data.length));
    add(name, parts, HVM_LIBXL, code, field(at(parts, "physmap")), message);
  };
  physmapCase("toolstack data shorter than 8 bytes", le32(1), (b) => b, "BAD_LENGTH");
  physmapCase("toolstack version 2", cat(le32(2), le32(0)), (b) => b, "BAD_VERSION");
  physmapCase("physmap entry header cut short", cat(le32(1), le32(1), zeros(20)), (b) => b + 8, "BAD_LENGTH", /28-byte/);
  physmapCase("physmap namelen 0", cat(le32(1), le32(1), zeros(24), le32(0), zeros(4)), (b) => b + 8 + 24, "BAD_FIELD", /namelen is 0/);
  physmapCase("physmap name cut short", cat(le32(1), le32(1), zeros(24), le32(9), ascii("vga\0")), (b) => b + 8 + 28, "BAD_LENGTH");
  physmapCase("physmap name not NUL terminated", cat(le32(1), le32(1), zeros(24), le32(4), ascii("vgax"), zeros(4)), (b) => b + 8 + 28 + 3, "BAD_FIELD", /NUL terminated/);
  physmapCase("physmap name with a NUL inside", cat(le32(1), le32(1), zeros(24), le32(4), ascii("v\0a\0"), zeros(4)), (b) => b + 8 + 28 + 1, "BAD_FIELD", /contains a NUL/);
  add("toolstack data beyond maxRecordLength", replace(h, "toolstackSize", le32(0xffff_fff0)), HVM_LIBXL, "RECORD_TOO_LARGE", "toolstackSize");

  // HVM tail and QEMU record.
  add("B10: HVM context length 0 (reference writes an empty HVM_CONTEXT)", replace(replace(h, "contextLength", le32(0)), "context", new Uint8Array(0)), HVM, "BAD_LENGTH", "contextLength");
  add("HVM context beyond maxRecordLength", replace(h, "contextLength", le32(0xffff_fff0)), HVM, "RECORD_TOO_LARGE", "contextLength");
  add("unknown QEMU signature", replace(h, "qemuSignature", ascii("DeviceModelRecord0003")), HVM, "BAD_MAGIC", "qemuSignature", /DeviceModelRecord0003/);
  add("QEMU record beyond maxRecordLength (libxl)", replace(h, "qemuLength", le32(0xffff_fff0)), HVM_LIBXL, "RECORD_TOO_LARGE", "qemuLength");
  add(
    "QemuDeviceModelRecord state not starting with QEVM",
    replace(replace(h, "qemuSignature", ascii("QemuDeviceModelRecord")), "qemuLength", ascii("QEVX")),
    HVM,
    "BAD_MAGIC",
    "qemuLength",
    /QEVM/,
  );
  add(
    "QemuDeviceModelRecord state shorter than QEVM",
    replace(replace(replace(h, "qemuSignature", ascii("QemuDeviceModelRecord")), "qemuLength", ascii("QE")), "qemu", new Uint8Array(0)),
    HVM_LIBXL,
    "BAD_MAGIC",
    "qemuLength",
  );

  // Not legacy at all, and xl headers.
  list.push({ name: "a libxc v2 stream", input: cat(hex("ff ff ff ff ff ff ff ff 58 45 4e 46"), zeros(28)), options: {}, code: "BAD_MAGIC", offset: 0, message: /libxc v2/ });
  list.push({ name: "a libxl stream", input: cat(ascii("LibxlFmt"), zeros(32)), options: PV, code: "BAD_MAGIC", offset: 0, message: /LibxlFmt/ });
  list.push({ name: "an xl file without the xl option", input: cat(xlHeader(1, ascii("{}\0")), build(p)), options: {}, code: "BAD_MAGIC", offset: 0, message: /xl option/ });
  list.push({ name: "xl option without an xl header", input: build(p), options: { ...PV, xl: true }, code: "BAD_MAGIC", offset: 0 });
  {
    const header = xlHeader(3, ascii("{}\0"));
    list.push({ name: "xl header with STREAMv2 (already v2)", input: cat(header, build(p)), options: { ...PV, xl: true }, code: "BAD_FIELD", offset: 36, message: /STREAMv2/ });
  }
  {
    const header = xlHeader(1, ascii("{}\0"));
    const parts = replace(p, "p2m", le64(0));
    list.push({ name: "offsets count the xl header", input: cat(header, build(parts)), options: { ...PV, xl: true }, code: "BAD_FIELD", offset: header.length });
  }
  list.push({ name: "bytes that fit no layout", input: cat(le64(5), i32(-99), zeros(64)), options: {}, code: "BAD_MAGIC", offset: 0, message: /no 64\/32-bit/ });

  // Trailing data, when asked to refuse it.
  list.push({ name: "trailing data with trailingData: error", input: cat(build(p), hex("01 02 03")), options: { ...PV, trailingData: "error" }, code: "TRAILING_DATA", offset: build(p).length });
  return list;
}

describe("malformed legacy input", () => {
  for (const c of cases()) {
    test(`${c.name}: ${c.code} at ${c.offset}`, () => {
      const error = errorOf(() => convertLegacy(c.input, c.options));
      expect({ code: error.code, offset: error.offset }).toEqual({ code: c.code, offset: c.offset });
      expect(error.layer === "legacy" || error.layer === "xl").toBe(true);
      if (c.message) expect(error.message).toMatch(c.message);
    });
  }

  test("the base inputs convert (the faults above are the only change)", () => {
    expect(() => convertLegacy(build(pv()), PV)).not.toThrow();
    expect(() => convertLegacy(build(pv(32)), { width: 32, guest: "pv" })).not.toThrow();
    expect(() => convertLegacy(build(hvm()), HVM_LIBXL)).not.toThrow();
    expect(() => convertLegacy(build(hvm(32)), { width: 32, guest: "hvm", format: "libxl" })).not.toThrow();
  });

  test("a reader keeps failing with the same error, and refuses use after end", () => {
    const reader = new LegacyReader(PV);
    const bad = build(replace(pv(), "batch", i32(2000)));
    const first = errorOf(() => reader.push(bad));
    expect(errorOf(() => reader.push(new Uint8Array(4)))).toBe(first);
    expect(errorOf(() => reader.end())).toBe(first);
    const done = new LegacyReader(PV);
    done.push(build(pv()));
    done.end();
    expect(errorOf(() => done.push(new Uint8Array(1))).code).toBe("USAGE");
  });

  test("invalid options: USAGE", () => {
    expect(errorOf(() => new LegacyReader({ width: 48 as 32 })).code).toBe("USAGE");
    expect(errorOf(() => new LegacyReader({ guest: "pvh" as "pv" })).code).toBe("USAGE");
    expect(errorOf(() => new LegacyReader({ format: "xl" as "libxl" })).code).toBe("USAGE");
    expect(errorOf(() => new LegacyReader({ maxRecordLength: -1 })).code).toBe("USAGE");
  });
});

describe("hostile lengths fail when the length arrives, without waiting for (or allocating) its bytes", () => {
  const hostile: Array<[string, Parts, LegacyOptions, string]> = [
    ["HVM context length", replace(hvm(), "contextLength", le32(0xffff_ffff)), HVM, "contextLength"],
    ["libxl toolstack size", replace(hvm(), "toolstackSize", le32(0xffff_ffff)), HVM_LIBXL, "toolstackSize"],
    ["QEMU record length (libxl)", replace(hvm(), "qemuLength", le32(0xffff_ffff)), HVM_LIBXL, "qemuLength"],
    ["xcnt", replace(pv(), "xcnt", le32(0xffff_ffff)), PV, "xcnt"],
  ];
  for (const [name, parts, options, field] of hostile) {
    test(name, () => {
      const input = build(parts);
      const reader = new LegacyReader(options);
      const error = errorOf(() => reader.push(input.subarray(0, at(parts, field) + 4)));
      expect({ code: error.code, offset: error.offset }).toEqual({ code: "RECORD_TOO_LARGE", offset: at(parts, field) });
    });
  }

  test("xl optional data length", () => {
    const header = cat(xlHeader(1, ascii("{}\0")).subarray(0, 44), le32(0xffff_fff0));
    const error = errorOf(() => new LegacyReader({ ...PV, xl: true }).push(header));
    expect({ code: error.code, offset: error.offset }).toEqual({ code: "RECORD_TOO_LARGE", offset: 44 });
  });

  test("skipped and copied lengths never buffer: a 4 GiB libxc toolstack chunk or QEMU record just waits", () => {
    const toolstack = build(replace(hvm(), "toolstackSize", le32(0xffff_ffff)));
    const reader = new LegacyReader(HVM);
    reader.push(toolstack.subarray(0, at(hvm(), "physmap") + 10));
    expect(reader.bytesHeld).toBe(0);
    expect(reader.bytesWanted).toBeLessThanOrEqual(1 << 20);
    expect(errorOf(() => reader.end()).code).toBe("TRUNCATED");
    const qemu = build(replace(hvm(), "qemuLength", le32(0xffff_ffff)));
    const copier = new LegacyReader(HVM);
    const events = copier.push(qemu);
    expect(events.filter((e) => e.layer === "legacy" && e.kind === "passthrough").reduce((n, e) => n + (e.kind === "passthrough" ? e.bytes.length : 0), 0)).toBe(21 + 4 + 6);
    expect(copier.bytesHeld).toBe(0);
    expect(errorOf(() => copier.end())).toMatchObject({ code: "TRUNCATED", offset: qemu.length });
  });
});

describe("truncation", () => {
  const inputs: Array<[string, Uint8Array, LegacyOptions]> = [
    ["HVM 64-bit libxl", build(hvm()), HVM_LIBXL],
    ["HVM 32-bit libxc", build(hvm(32)), { width: 32, guest: "hvm" }],
  ];
  for (const [name, input, options] of inputs) {
    test(`${name}: every proper prefix is TRUNCATED at its length`, () => {
      for (let length = 0; length < input.length; length++) {
        const error = errorOf(() => convertLegacy(input.subarray(0, length), options));
        if (error.code !== "TRUNCATED" || error.offset !== length) {
          expect({ length, code: error.code, offset: error.offset, message: error.message }).toEqual({ length, code: "TRUNCATED", offset: length });
        }
      }
    });
  }

  test("PV 64-bit: prefixes (every 61st byte and every field boundary) are TRUNCATED", () => {
    const parts = pv();
    const input = build(parts);
    const lengths = new Set<number>();
    for (let length = 0; length < input.length; length += 61) lengths.add(length);
    for (const [name] of parts) for (const delta of [-1, 0, 1]) lengths.add(Math.max(0, at(parts, name) + delta));
    for (const length of lengths) {
      const error = errorOf(() => convertLegacy(input.subarray(0, length), PV));
      expect({ length, code: error.code, offset: error.offset }).toEqual({ length, code: "TRUNCATED", offset: length });
    }
  });

  test("the message names what was being read", () => {
    const parts = pv();
    const input = build(parts);
    expect(errorOf(() => convertLegacy(input.subarray(0, at(parts, "pages") + 100), PV)).message).toMatch(/page batch's page data/);
    expect(errorOf(() => convertLegacy(input.subarray(0, at(parts, "shared") + 1), PV)).message).toMatch(/shared info/);
  });
});

describe("random mutations give a value or a XenStreamError, never anything else", () => {
  test("3000 mutated PV/HVM inputs", () => {
    const random = new Prng(12345);
    const next = (): number => random.u32();
    const bases: Array<[Uint8Array, LegacyOptions]> = [
      [build(pv()), {}],
      [build(pv(32)), { format: "libxl" }],
      [build(hvm()), { format: "libxl" }],
      [build(hvm(32)), {}],
    ];
    for (let i = 0; i < 3000; i++) {
      const [base, options] = bases[i % bases.length] as [Uint8Array, LegacyOptions];
      const input = base.slice();
      const flips = 1 + (next() % 4);
      for (let f = 0; f < flips; f++) {
        // Bias towards the structured head and tail, where the fields are.
        const region = next() % 3;
        const pos = region === 0 ? next() % Math.min(64, input.length) : region === 1 ? input.length - 1 - (next() % Math.min(8300, input.length)) : next() % input.length;
        input[pos] = next() & 0xff;
      }
      try {
        convertLegacy(input, options);
      } catch (error) {
        if (!isXenStreamError(error)) throw new Error(`mutation ${i}: ${String(error)}`);
      }
    }
  });
});
