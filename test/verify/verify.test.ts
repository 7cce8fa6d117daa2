import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { StreamVerifier, verifyRules, verifyStream } from "../../src/verify/index.js";
import type { Finding, VerifyOptions, VerifyReport } from "../../src/verify/index.js";
import {
  LIBXC,
  LIBXL,
  ascii,
  baseModel,
  be32,
  concat,
  generateCase,
  headerSize,
  hvmParamsBody,
  le16,
  le32,
  le64,
  libxcOffset,
  pageDataBody,
  pvBasicBlob,
  render,
  renderRecord,
  tscBody,
  vcpuBody,
  xc,
  xl,
  type Rec,
  type StreamModel,
} from "./generator.js";

const CAPTURED = new URL("../../spec-vectors/captured/", import.meta.url);
const captured = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`xen-4.17-${name}-save.skel.xl`, CAPTURED)));

const verify = (model: StreamModel | Uint8Array, options: VerifyOptions = {}): VerifyReport =>
  verifyStream(model instanceof Uint8Array ? model : render(model), { format: model instanceof Uint8Array ? "auto" : model.format, ...options });
const errors = (report: VerifyReport): Finding[] => report.findings.filter((finding) => finding.severity === "error");
const slim = (finding: Finding): [string, string, number] => [finding.severity, finding.code, finding.offset];
const slimAll = (report: VerifyReport): Array<[string, string, number]> => report.findings.map(slim);

/** Index of the first libxc record of `type` in the model. */
const indexOf = (model: StreamModel, type: number): number => model.libxc.findIndex((rec) => rec.layer === "libxc" && rec.type === type);
const recordAt = (model: StreamModel, type: number): Rec => model.libxc[indexOf(model, type)] as Rec;
const bodyAt = (model: StreamModel, type: number): number => libxcOffset(model, indexOf(model, type)) + 8;
const edit = (model: StreamModel, type: number, pos: number, bytes: Uint8Array): void => {
  const rec = recordAt(model, type);
  const body = new Uint8Array(Math.max(rec.body.length, pos + bytes.length));
  body.set(rec.body);
  body.set(bytes, pos);
  rec.body = body;
};
const move = (model: StreamModel, type: number, to: number): void => {
  const [rec] = model.libxc.splice(indexOf(model, type), 1);
  model.libxc.splice(to, 0, rec as Rec);
};

/** An xl header (little-endian) followed by `rest`. */
function xlFile(rest: Uint8Array, mandatory = 3, optional = 0, config = ascii('{"c_info":{"type":"pv"}}\0')): Uint8Array {
  const optionalData = config.length === 0 ? new Uint8Array(0) : concat([le32(config.length), config]);
  return concat([ascii("Xen saved domain, xl format\n \0 \r"), le32(0x01020304), le32(mandatory), le32(optional), le32(optionalData.length), optionalData, rest]);
}

describe("streams written by real Xen 4.17", () => {
  for (const name of ["pv", "hvm", "pvh"]) {
    test(`${name}: no errors or warnings in either profile`, () => {
      for (const profile of ["spec", "restore"] as const) {
        const report = verifyStream(captured(name), { profile });
        expect(report.ok).toBe(true);
        expect(report.findings.filter((finding) => finding.severity !== "info")).toEqual([]);
      }
    });
  }

  test("hvm: HVM_CONTEXT before HVM_PARAMS is the only finding, info", () => {
    expect(slimAll(verifyStream(captured("hvm")))).toEqual([["info", "SAVER_ORDER", 25684]]);
  });

  test("pv: summary and listing", () => {
    const report = verifyStream(captured("pv"), { listing: true });
    const { summary } = report;
    expect(summary.format).toBe("xl");
    expect(summary.xl).toEqual({ byteOrder: "little", mandatoryFlags: 3, optionalFlags: 0, configLength: 866, guestType: "pv" });
    expect(summary.libxc).toEqual({
      version: 3,
      bigEndian: false,
      domainType: "x86 PV",
      pageShift: 12,
      xenMajor: 4,
      xenMinor: 17,
      legacyConverted: false,
    });
    expect(summary.pvInfo).toEqual({ guestWidth: 8, ptLevels: 4 });
    expect(summary.records.libxc["X86_PV_VCPU_BASIC"]).toEqual({ count: 2, bytes: 2 * (8 + 5176) });
    expect(summary.records.libxl).toEqual({ LIBXC_CONTEXT: { count: 1, bytes: 8 }, END: { count: 1, bytes: 8 } });
    expect(summary.pages).toEqual({ entries: 4, withData: 4, byType: { NOTAB: 4 }, minPfn: 0, maxPfn: 3, distinctPfns: 4 });
    expect(summary.vcpus).toBe(2);
    expect(summary.iterations).toBe(1);
    expect(summary.complete).toBe(true);
    expect(summary.listing?.slice(0, 7)).toEqual([
      "Processed xl header",
      "Libxl Header: little endian",
      "Libxl Record: Libxc context, length 0",
      "Libxc Image Header: Version 3, little endian",
      "Domain Header: x86 PV from Xen 4.17",
      "Libxc Record: x86 PV info, length 8",
      "  64bit guest, 4 levels of pagetables",
    ]);
    expect(summary.listing).toContain("Squashed 1 Page Data records together");
  });

  test("hvm: vCPUs counted from the HVM context's CPU entries", () => {
    expect(verifyStream(captured("hvm")).summary.vcpus).toBe(2);
  });
});

describe("canonical hand-built streams", () => {
  for (const guest of ["pv", "hvm"] as const) {
    for (const version of [2, 3] as const) {
      for (const format of ["libxc", "libxl", "xl"] as const) {
        test(`${guest} v${version} ${format}: valid in both profiles`, () => {
          const model = baseModel(guest, version, format);
          for (const profile of ["spec", "restore"] as const) {
            const report = verify(model, { profile });
            expect(errors(report)).toEqual([]);
            expect(report.findings.filter((finding) => finding.severity === "warning")).toEqual([]);
          }
        });
      }
    }
  }

  test("pv v3 libxc: exact summary", () => {
    const { summary } = verify(baseModel("pv", 3));
    expect(summary.format).toBe("libxc");
    expect(summary.records.libxc).toEqual({
      X86_PV_INFO: { count: 1, bytes: 16 },
      X86_CPUID_POLICY: { count: 1, bytes: 32 },
      X86_MSR_POLICY: { count: 1, bytes: 24 },
      STATIC_DATA_END: { count: 1, bytes: 8 },
      X86_PV_P2M_FRAMES: { count: 1, bytes: 24 },
      PAGE_DATA: { count: 1, bytes: 8 + 8 + 24 + 8192 },
      X86_TSC_INFO: { count: 1, bytes: 32 },
      SHARED_INFO: { count: 1, bytes: 4104 },
      X86_PV_VCPU_BASIC: { count: 1, bytes: 5184 },
      X86_PV_VCPU_EXTENDED: { count: 1, bytes: 80 },
      END: { count: 1, bytes: 8 },
    });
    expect(summary.pages).toEqual({ entries: 3, withData: 2, byType: { NOTAB: 1, L4TAB: 1, XTAB: 1 }, minPfn: 0, maxPfn: 2, distinctPfns: 3 });
    expect(summary.vcpus).toBe(1);
    expect(summary.bytes).toBe(render(baseModel("pv", 3)).length);
  });

  test("iterations count PAGE_DATA runs, passes restart at a lower pfn", () => {
    const model = baseModel("hvm", 3);
    const at = indexOf(model, LIBXC.PAGE_DATA);
    const page = (pfn: number): Rec => xc(LIBXC.PAGE_DATA, pageDataBody([{ pfn, type: 0xf }]));
    // run 1: pfns 0-2, then 5 (same pass), then 1 (second pass); VERIFY; run 2: pfn 0
    model.libxc.splice(at + 1, 0, page(5), page(1), xc(LIBXC.VERIFY), page(0));
    const { summary } = verify(model);
    expect(summary.iterations).toBe(2);
    expect(summary.passes).toBe(3);
    expect(summary.pages.entries).toBe(6);
    expect(summary.pages.distinctPfns).toBe(4);
  });

  test("distinct pfns are not tracked above maxTrackedPfn", () => {
    const model = baseModel("hvm", 3);
    model.libxc.splice(indexOf(model, LIBXC.PAGE_DATA) + 1, 0, xc(LIBXC.PAGE_DATA, pageDataBody([{ pfn: 5000, type: 0xf }])));
    expect(verify(model).summary.pages.distinctPfns).toBe(4);
    expect(verify(model, { maxTrackedPfn: 1000 }).summary.pages.distinctPfns).toBeUndefined();
    model.libxc.splice(indexOf(model, LIBXC.PAGE_DATA) + 1, 0, xc(LIBXC.PAGE_DATA, pageDataBody([{ pfn: 2 ** 40, type: 0xf }])));
    expect(verify(model).summary.pages.distinctPfns).toBeUndefined();
    expect(verify(model).summary.pages.maxPfn).toBe(2 ** 40);
  });
});

describe("the checks of verify-stream-v2 (spec profile)", () => {
  interface Row {
    name: string;
    model?: () => StreamModel;
    mutate: (model: StreamModel) => void;
    expected: (model: StreamModel) => [string, string, number];
  }
  const rows: Row[] = [
    { name: "image options reserved bit", mutate: (m) => (m.imageOptions = 0x0004), expected: () => ["error", "RESERVED_NONZERO", 16] },
    { name: "image _res1", mutate: (m) => (m.imageRes1 = 1), expected: () => ["error", "RESERVED_NONZERO", 18] },
    { name: "image _res2", mutate: (m) => (m.imageRes2 = 0x100), expected: () => ["error", "RESERVED_NONZERO", 20] },
    { name: "domain header reserved", mutate: (m) => (m.domainRes = 1), expected: () => ["error", "RESERVED_NONZERO", 30] },
    { name: "page_shift 13", mutate: (m) => (m.pageShift = 13), expected: () => ["error", "BAD_PAGE_SHIFT", 28] },
    {
      name: "END with a body",
      mutate: (m) => (recordAt(m, LIBXC.END).body = new Uint8Array(8)),
      expected: (m) => ["error", "BAD_SIZE", libxcOffset(m, indexOf(m, LIBXC.END)) + 4],
    },
    {
      name: "STATIC_DATA_END with a body",
      mutate: (m) => (recordAt(m, LIBXC.STATIC_DATA_END).body = new Uint8Array(1)),
      expected: (m) => ["error", "BAD_SIZE", libxcOffset(m, indexOf(m, LIBXC.STATIC_DATA_END)) + 4],
    },
    {
      name: "PAGE_DATA reserved u32",
      mutate: (m) => edit(m, LIBXC.PAGE_DATA, 4, le32(1)),
      expected: (m) => ["error", "RESERVED_NONZERO", bodyAt(m, LIBXC.PAGE_DATA) + 4],
    },
    {
      name: "PAGE_DATA pfn[1] reserved bits",
      mutate: (m) => edit(m, LIBXC.PAGE_DATA, 8 + 8 + 6, new Uint8Array([0x10])),
      expected: (m) => ["error", "RESERVED_NONZERO", bodyAt(m, LIBXC.PAGE_DATA) + 16],
    },
    {
      name: "X86_PV_INFO width 5",
      mutate: (m) => edit(m, LIBXC.X86_PV_INFO, 0, new Uint8Array([5])),
      expected: (m) => ["error", "BAD_FIELD", bodyAt(m, LIBXC.X86_PV_INFO)],
    },
    {
      name: "X86_PV_INFO levels 2",
      mutate: (m) => edit(m, LIBXC.X86_PV_INFO, 1, new Uint8Array([2])),
      expected: (m) => ["error", "BAD_FIELD", bodyAt(m, LIBXC.X86_PV_INFO) + 1],
    },
    {
      name: "X86_PV_INFO reserved",
      mutate: (m) => edit(m, LIBXC.X86_PV_INFO, 7, new Uint8Array([1])),
      expected: (m) => ["error", "RESERVED_NONZERO", bodyAt(m, LIBXC.X86_PV_INFO) + 2],
    },
    {
      name: "X86_PV_INFO of 16 bytes",
      mutate: (m) => edit(m, LIBXC.X86_PV_INFO, 8, new Uint8Array(8)),
      expected: (m) => ["error", "BAD_SIZE", bodyAt(m, LIBXC.X86_PV_INFO) - 4],
    },
    {
      name: "vCPU record reserved",
      mutate: (m) => edit(m, LIBXC.VCPU_EXTENDED, 4, le32(9)),
      expected: (m) => ["error", "RESERVED_NONZERO", bodyAt(m, LIBXC.VCPU_EXTENDED) + 4],
    },
    {
      name: "vCPU record with no blob (warning)",
      mutate: (m) => (recordAt(m, LIBXC.VCPU_EXTENDED).body = vcpuBody(0, new Uint8Array(0))),
      expected: (m) => ["warning", "ZERO_CONTENT", bodyAt(m, LIBXC.VCPU_EXTENDED) - 8],
    },
    {
      name: "X86_TSC_INFO reserved",
      mutate: (m) => edit(m, LIBXC.TSC_INFO, 20, le32(1)),
      expected: (m) => ["error", "RESERVED_NONZERO", bodyAt(m, LIBXC.TSC_INFO) + 20],
    },
    {
      name: "HVM_PARAMS reserved",
      model: () => baseModel("hvm"),
      mutate: (m) => edit(m, LIBXC.HVM_PARAMS, 4, le32(1)),
      expected: (m) => ["error", "RESERVED_NONZERO", bodyAt(m, LIBXC.HVM_PARAMS) + 4],
    },
    {
      name: "HVM_PARAMS count 0 (warning)",
      model: () => baseModel("hvm"),
      mutate: (m) => (recordAt(m, LIBXC.HVM_PARAMS).body = hvmParamsBody([])),
      expected: (m) => ["warning", "ZERO_CONTENT", bodyAt(m, LIBXC.HVM_PARAMS) - 8],
    },
    {
      name: "TOOLSTACK",
      mutate: (m) => m.libxc.splice(indexOf(m, LIBXC.END), 0, xc(LIBXC.TOOLSTACK, new Uint8Array(8))),
      expected: (m) => ["error", "DEPRECATED_RECORD", libxcOffset(m, indexOf(m, LIBXC.TOOLSTACK))],
    },
    {
      name: "CHECKPOINT_DIRTY_PFN_LIST",
      mutate: (m) => m.libxc.splice(indexOf(m, LIBXC.END), 0, xc(LIBXC.DIRTY_PFN_LIST, new Uint8Array(8))),
      expected: (m) => ["error", "UNEXPECTED_RECORD", libxcOffset(m, indexOf(m, LIBXC.DIRTY_PFN_LIST))],
    },
    {
      name: "X86_CPUID_POLICY in a v2 stream",
      model: () => baseModel("pv", 2),
      mutate: (m) => m.libxc.splice(1, 0, xc(LIBXC.CPUID_POLICY, new Uint8Array(24))),
      expected: (m) => ["error", "V3_RECORD_IN_V2", libxcOffset(m, 1)],
    },
    {
      name: "STATIC_DATA_END in a v2 stream",
      model: () => baseModel("pv", 2),
      mutate: (m) => m.libxc.splice(1, 0, xc(LIBXC.STATIC_DATA_END)),
      expected: (m) => ["error", "V3_RECORD_IN_V2", libxcOffset(m, 1)],
    },
    {
      name: "libxl header reserved bit 2",
      model: () => baseModel("pv", 3, "libxl"),
      mutate: (m) => (m.libxlOptions = 4),
      expected: () => ["error", "RESERVED_NONZERO", 12],
    },
    {
      name: "emulator id 3",
      model: () => baseModel("hvm", 3, "libxl"),
      mutate: (m) => ((m.libxlTail[0] as Rec).body = concat([le32(3), le32(0)])),
      expected: (m) => ["error", "BAD_FIELD", libxcOffset(m, m.libxc.length) + 8],
    },
    {
      name: "non-zero padding (libxl EMULATOR_CONTEXT)",
      model: () => baseModel("hvm", 3, "libxl"),
      mutate: (m) => ((m.libxlTail[0] as Rec).padding = new Uint8Array([0, 0, 0, 1])),
      expected: (m) => ["error", "PADDING_NONZERO", libxcOffset(m, m.libxc.length) + 8 + 12],
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const model = (row.model ?? (() => baseModel("pv")))();
      row.mutate(model);
      const report = verify(model);
      const notInfo = report.findings.filter((finding) => finding.severity !== "info").map(slim);
      expect(notInfo[0]).toEqual(row.expected(model));
      expect(report.ok).toBe(row.expected(model)[0] !== "error");
    });
  }

  test("decoder faults become one error finding with the decoder's code and offset", () => {
    const bytes = render(baseModel("pv"));
    expect(slimAll(verify(bytes.subarray(0, 100)))).toEqual([["error", "TRUNCATED", 100]]);
    const bad = bytes.slice();
    bad[8] = 0x59;
    const report = verify(bad, { format: "libxc" });
    expect(slimAll(report)).toEqual([["error", "BAD_MAGIC", 8]]);
    expect(report.findings[0]?.layer).toBe("libxc");
    expect(report.summary.complete).toBe(false);
  });

  test("every finding of the records before a fatal fault in the same chunk is kept", () => {
    const model = baseModel("pv");
    edit(model, LIBXC.TSC_INFO, 20, le32(1));
    recordAt(model, LIBXC.SHARED_INFO).body = new Uint8Array(100);
    expect(slimAll(verify(model)).map(([, code]) => code)).toEqual(["RESERVED_NONZERO", "BAD_LENGTH"]);
  });
});

describe("the spec's own rules", () => {
  test("records valid for the other guest type", () => {
    const model = baseModel("pv");
    model.libxc.splice(indexOf(model, LIBXC.END), 0, xc(LIBXC.HVM_PARAMS, hvmParamsBody([[1, 1]])));
    expect(slimAll(verify(model))).toEqual([["error", "WRONG_GUEST_TYPE", libxcOffset(model, indexOf(model, LIBXC.HVM_PARAMS))]]);
    const hvm = baseModel("hvm");
    hvm.libxc.splice(indexOf(hvm, LIBXC.END), 0, xc(LIBXC.SHARED_INFO, new Uint8Array(4096)));
    expect(errors(verify(hvm)).map(slim)).toEqual([["error", "WRONG_GUEST_TYPE", libxcOffset(hvm, indexOf(hvm, LIBXC.SHARED_INFO))]]);
  });

  test("PV order: X86_PV_P2M_FRAMES before X86_PV_INFO", () => {
    const model = baseModel("pv", 2);
    move(model, LIBXC.X86_PV_INFO, 1);
    expect(errors(verify(model)).map(slim)).toEqual([["error", "RECORD_ORDER", libxcOffset(model, 0)]]);
  });

  test("PV order: PAGE_DATA before X86_PV_P2M_FRAMES", () => {
    const model = baseModel("pv", 2);
    move(model, LIBXC.PAGE_DATA, 1);
    expect(errors(verify(model)).map(slim)).toEqual([["error", "RECORD_ORDER", libxcOffset(model, 1)]]);
  });

  test("PV order: vCPU records before PAGE_DATA, and PAGE_DATA after vCPU records", () => {
    const model = baseModel("pv", 3);
    move(model, LIBXC.VCPU_BASIC, indexOf(model, LIBXC.PAGE_DATA));
    expect(errors(verify(model)).map(slim)).toEqual([
      ["error", "RECORD_ORDER", libxcOffset(model, indexOf(model, LIBXC.VCPU_BASIC))],
      ["error", "RECORD_ORDER", libxcOffset(model, indexOf(model, LIBXC.PAGE_DATA))],
    ]);
    const late = baseModel("pv", 3);
    late.libxc.splice(indexOf(late, LIBXC.END), 0, xc(LIBXC.PAGE_DATA, pageDataBody([{ pfn: 3, type: 0xf }])));
    expect(errors(verify(late)).map(slim)).toEqual([["error", "RECORD_ORDER", libxcOffset(late, indexOf(late, LIBXC.END) - 1)]]);
  });

  test("v3: memory before STATIC_DATA_END", () => {
    const model = baseModel("hvm", 3);
    move(model, LIBXC.STATIC_DATA_END, indexOf(model, LIBXC.PAGE_DATA));
    expect(errors(verify(model)).map(slim)).toEqual([["error", "MISSING_RECORD", libxcOffset(model, indexOf(model, LIBXC.PAGE_DATA))]]);
  });

  test("v3 without STATIC_DATA_END and without content", () => {
    const model = baseModel("hvm", 3);
    model.libxc = [xc(LIBXC.END)];
    const report = verify(model);
    expect(errors(report).map(slim)).toEqual([["error", "MISSING_RECORD", libxcOffset(model, 0)]]);
    expect(report.findings.filter((finding) => finding.severity === "warning").map((finding) => finding.code)).toEqual([
      "MISSING_RECORD",
      "MISSING_RECORD",
    ]);
  });

  test("static data after STATIC_DATA_END", () => {
    const model = baseModel("pv", 3);
    move(model, LIBXC.MSR_POLICY, indexOf(model, LIBXC.STATIC_DATA_END));
    expect(errors(verify(model)).map(slim)).toEqual([["error", "RECORD_ORDER", libxcOffset(model, indexOf(model, LIBXC.MSR_POLICY))]]);
  });

  test("v2: register content before the inferred STATIC_DATA_END is a warning", () => {
    const model = baseModel("hvm", 2);
    move(model, LIBXC.TSC_INFO, 0);
    const report = verify(model);
    expect(report.ok).toBe(true);
    expect(slimAll(report)).toContainEqual(["warning", "RECORD_ORDER", libxcOffset(model, 0)]);
  });

  test("presence: a PV stream without vCPU records", () => {
    const model = baseModel("pv", 3);
    model.libxc = model.libxc.filter((rec) => rec.type !== LIBXC.VCPU_BASIC && rec.type !== LIBXC.VCPU_EXTENDED);
    const end = libxcOffset(model, indexOf(model, LIBXC.END));
    expect(errors(verify(model)).map((finding) => [finding.code, finding.offset, finding.message])).toEqual([
      ["MISSING_RECORD", end, "PV stream without X86_PV_VCPU_BASIC"],
    ]);
  });

  test("presence: a libxl stream without LIBXC_CONTEXT", () => {
    const model = baseModel("pv", 3, "libxl");
    model.libxcContext = false;
    model.libxc = [];
    expect(errors(verify(model)).map((finding) => finding.code)).toEqual(["MISSING_RECORD"]);
  });

  test("nothing after END", () => {
    const model = baseModel("pv");
    model.trailing = new Uint8Array(8);
    const length = render(model).length;
    expect(slimAll(verify(model))).toEqual([["error", "TRAILING_DATA", length - 8]]);
  });

  test("SHARED_INFO must be one page", () => {
    const model = baseModel("pv");
    recordAt(model, LIBXC.SHARED_INFO).body = new Uint8Array(4097);
    expect(errors(verify(model)).map((finding) => finding.code)).toEqual(["BAD_LENGTH"]);
  });

  test("xenstore data: good pairs pass; key and value rules", () => {
    const store = (data: string): StreamModel => {
      const model = baseModel("hvm", 3, "libxl");
      model.libxlTail.unshift(xl(LIBXL.XENSTORE, concat([le32(2), le32(0), ascii(data)])));
      return model;
    };
    const dataOffset = (model: StreamModel): number => libxcOffset(model, model.libxc.length) + 16;
    const good = store("physmap/1/start_addr\0f0000000\0physmap/1/name\0vga@x_y-z\0");
    expect(errors(verify(good))).toEqual([]);
    expect(verify(good, { listing: true }).summary.listing).toContain("  'physmap/1/start_addr' = 'f0000000'");
    const slimAll = (report: VerifyReport): Array<[string, string, number]> =>
      report.findings.filter((finding) => finding.severity !== "info").map(slim);
    const absolute = store("/abs\0v\0");
    expect(slimAll(verify(absolute))).toEqual([["error", "XENSTORE_KEY", dataOffset(absolute)]]);
    const empty = store("\0v\0");
    expect(slimAll(verify(empty))).toEqual([["error", "XENSTORE_KEY", dataOffset(empty)]]);
    const space = store("k y\0v\0");
    expect(slimAll(verify(space))).toEqual([["error", "XENSTORE_KEY", dataOffset(space) + 1]]);
    const value = store("k\0a\x01b\0");
    expect(slimAll(verify(value))).toEqual([["warning", "XENSTORE_VALUE", dataOffset(value) + 3]]);
    const unterminated = store("key\0value");
    expect(errors(verify(unterminated)).map((finding) => finding.code)).toEqual(["BAD_FIELD"]);
  });

  test("emulator records in a PV stream: warning, error under restore", () => {
    const model = baseModel("pv", 3, "libxl");
    model.libxlTail.unshift(xl(LIBXL.EMULATOR_CONTEXT, concat([le32(2), le32(0)])));
    const at = libxcOffset(model, model.libxc.length);
    expect(slimAll(verify(model))).toEqual([["warning", "WRONG_GUEST_TYPE", at]]);
    expect(slimAll(verify(model, { profile: "restore" }))).toEqual([["error", "WRONG_GUEST_TYPE", at]]);
  });

  test("duplicate X86_PV_INFO and STATIC_DATA_END", () => {
    const model = baseModel("pv", 3);
    model.libxc.splice(1, 0, xc(LIBXC.X86_PV_INFO, new Uint8Array([8, 4, 0, 0, 0, 0, 0, 0])));
    expect(errors(verify(model)).map(slim)).toEqual([["error", "DUPLICATE_RECORD", libxcOffset(model, 1)]]);
    const sde = baseModel("hvm", 3);
    sde.libxc.splice(indexOf(sde, LIBXC.STATIC_DATA_END), 0, xc(LIBXC.STATIC_DATA_END));
    expect(errors(verify(sde)).map(slim)).toEqual([["error", "DUPLICATE_RECORD", libxcOffset(sde, indexOf(sde, LIBXC.STATIC_DATA_END) + 1)]]);
  });

  test("a second LIBXC_CONTEXT", () => {
    const inner = render(baseModel("hvm", 3)).subarray(0);
    const context = renderRecord(xl(LIBXL.LIBXC_CONTEXT));
    const bytes = concat([ascii("LibxlFmt"), be32(2), be32(0), context, inner, context, inner, renderRecord(xl(LIBXL.END))]);
    expect(errors(verify(bytes)).map(slim)[0]).toEqual(["error", "DUPLICATE_RECORD", 16 + 8 + inner.length]);
  });
});

describe("the restore profile", () => {
  const rows: Array<{ name: string; build: () => StreamModel; code: string; offset: (m: StreamModel) => number }> = [
    {
      name: "X86_PV_INFO (4, 4)",
      build: () => {
        const m = baseModel("pv", 3);
        edit(m, LIBXC.X86_PV_INFO, 0, new Uint8Array([4, 4]));
        recordAt(m, LIBXC.VCPU_BASIC).body = vcpuBody(0, new Uint8Array(2800));
        recordAt(m, LIBXC.X86_PV_P2M_FRAMES).body = concat([le32(0), le32(511), le64(7n)]);
        return m;
      },
      code: "BAD_FIELD",
      offset: (m) => bodyAt(m, LIBXC.X86_PV_INFO),
    },
    {
      name: "SHARED_INFO before X86_PV_INFO (v2)",
      build: () => {
        const m = baseModel("pv", 2);
        move(m, LIBXC.SHARED_INFO, 0);
        return m;
      },
      code: "RECORD_ORDER",
      offset: (m) => libxcOffset(m, 0),
    },
    {
      name: "P2M frame count",
      build: () => {
        const m = baseModel("pv", 3);
        recordAt(m, LIBXC.X86_PV_P2M_FRAMES).body = concat([le32(0), le32(1023), le64(7n)]);
        return m;
      },
      code: "BAD_SIZE",
      offset: (m) => bodyAt(m, LIBXC.X86_PV_P2M_FRAMES) - 4,
    },
    {
      name: "pfn above max_pfn",
      build: () => {
        const m = baseModel("pv", 3);
        recordAt(m, LIBXC.PAGE_DATA).body = pageDataBody([{ pfn: 0, type: 0 }, { pfn: 512, type: 0xf }]);
        return m;
      },
      code: "BAD_FIELD",
      offset: (m) => bodyAt(m, LIBXC.PAGE_DATA) + 16,
    },
    {
      name: "BASIC of a 32-bit size in a 64-bit guest",
      build: () => {
        const m = baseModel("pv", 3);
        recordAt(m, LIBXC.VCPU_BASIC).body = vcpuBody(0, new Uint8Array(2800));
        return m;
      },
      code: "BAD_SIZE",
      offset: (m) => bodyAt(m, LIBXC.VCPU_BASIC) - 4,
    },
    {
      name: "EXTENDED over 128 bytes",
      build: () => {
        const m = baseModel("pv", 3);
        recordAt(m, LIBXC.VCPU_EXTENDED).body = vcpuBody(0, new Uint8Array(136));
        return m;
      },
      code: "BAD_SIZE",
      offset: (m) => bodyAt(m, LIBXC.VCPU_EXTENDED) - 4,
    },
    {
      name: "XSAVE under 16 bytes",
      build: () => {
        const m = baseModel("pv", 3);
        m.libxc.splice(indexOf(m, LIBXC.END), 0, xc(LIBXC.VCPU_XSAVE, vcpuBody(0, new Uint8Array(8))));
        return m;
      },
      code: "BAD_SIZE",
      offset: (m) => bodyAt(m, LIBXC.VCPU_XSAVE) - 4,
    },
    {
      name: "MSRS not a multiple of 16",
      build: () => {
        const m = baseModel("pv", 3);
        m.libxc.splice(indexOf(m, LIBXC.END), 0, xc(LIBXC.VCPU_MSRS, vcpuBody(0, new Uint8Array(24))));
        return m;
      },
      code: "BAD_SIZE",
      offset: (m) => bodyAt(m, LIBXC.VCPU_MSRS) - 4,
    },
    {
      name: "vcpu_id beyond the stored config's max_vcpus",
      build: () => {
        const m = baseModel("pv", 3, "xl");
        m.libxc.splice(indexOf(m, LIBXC.END), 0, xc(LIBXC.VCPU_BASIC, vcpuBody(2, pvBasicBlob())));
        return m;
      },
      code: "BAD_FIELD",
      offset: (m) => libxcOffset(m, indexOf(m, LIBXC.END) - 1) + 8,
    },
    {
      name: "no BASIC for vcpu 0",
      build: () => {
        const m = baseModel("pv", 3);
        recordAt(m, LIBXC.VCPU_BASIC).body = vcpuBody(1, pvBasicBlob());
        return m;
      },
      code: "MISSING_RECORD",
      offset: (m) => libxcOffset(m, indexOf(m, LIBXC.END)),
    },
    {
      name: "TSC mode 3",
      build: () => {
        const m = baseModel("hvm", 3);
        recordAt(m, LIBXC.TSC_INFO).body = tscBody(3);
        return m;
      },
      code: "BAD_FIELD",
      offset: (m) => bodyAt(m, LIBXC.TSC_INFO),
    },
    {
      name: "HVM context with a bad HEADER magic",
      build: () => {
        const m = baseModel("hvm", 3);
        edit(m, LIBXC.HVM_CONTEXT, 8, le32(0x12345678));
        return m;
      },
      code: "BAD_HVM_CONTEXT",
      offset: (m) => bodyAt(m, LIBXC.HVM_CONTEXT) + 8,
    },
    {
      name: "HVM stream without HVM_CONTEXT",
      build: () => {
        const m = baseModel("hvm", 3);
        m.libxc.splice(indexOf(m, LIBXC.HVM_CONTEXT), 1);
        return m;
      },
      code: "MISSING_RECORD",
      offset: (m) => libxcOffset(m, indexOf(m, LIBXC.END)),
    },
  ];
  for (const row of rows) {
    test(`${row.name}: error under restore only`, () => {
      const model = row.build();
      const spec = verify(model);
      expect(errors(spec)).toEqual([]);
      const restore = verify(model, { profile: "restore" });
      expect(errors(restore).map(slim)).toEqual([["error", row.code, row.offset(model)]]);
    });
  }

  test("a stream clean under restore is clean under spec (generated cases)", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { bytes, format } = generateCase(seed);
      const restore = verifyStream(bytes, { format, profile: "restore" });
      if (restore.ok) expect(verifyStream(bytes, { format }).ok).toBe(true);
    }
  });
});

/** A big-endian libxc HVM v3 stream, byte by byte. */
function bigEndianHvm(): Uint8Array {
  const be64 = (value: bigint): Uint8Array => {
    const out = new Uint8Array(8);
    new DataView(out.buffer).setBigUint64(0, value, false);
    return out;
  };
  const be16 = (value: number): Uint8Array => new Uint8Array([value >> 8, value & 0xff]);
  const record = (type: number, body: Uint8Array): Uint8Array =>
    concat([be32(type), be32(body.length), body, new Uint8Array((8 - (body.length % 8)) % 8)]);
  const hvmContext = concat([
    le16(1), le16(0), le32(24), le32(0x54381286), le32(1), new Uint8Array(16),
    le16(0), le16(0), le32(0),
  ]);
  return concat([
    new Uint8Array(8).fill(0xff), be32(0x58454e46), be32(3), be16(1), be16(0), be32(0),
    be32(2), be16(12), be16(0), be32(4), be32(17),
    record(LIBXC.STATIC_DATA_END, new Uint8Array(0)),
    record(LIBXC.PAGE_DATA, concat([be32(1), be32(0), be64(0xf000_0000_0000_0005n)])),
    record(LIBXC.TSC_INFO, concat([be32(0), be32(1000), be64(5n), be32(1), be32(0)])),
    record(LIBXC.HVM_PARAMS, concat([be32(1), be32(0), be64(1n), be64(0xfeffcn)])),
    record(LIBXC.HVM_CONTEXT, hvmContext),
    record(LIBXC.END, new Uint8Array(0)),
  ]);
}

describe("the 22 disagreements of the spec README, one decision each", () => {
  test("1: HVM_CONTEXT before HVM_PARAMS is info; the spec's order draws nothing", () => {
    const saverOrder = baseModel("hvm");
    expect(slimAll(verify(saverOrder))).toEqual([["info", "SAVER_ORDER", libxcOffset(saverOrder, indexOf(saverOrder, LIBXC.HVM_PARAMS))]]);
    const specOrder = baseModel("hvm");
    move(specOrder, LIBXC.HVM_PARAMS, indexOf(specOrder, LIBXC.HVM_CONTEXT));
    expect(verify(specOrder).findings).toEqual([]);
  });

  test("2: optional records: spec warning; restore info (libxc) or error (libxl)", () => {
    const model = baseModel("hvm", 3, "libxl");
    model.libxc.splice(indexOf(model, LIBXC.END), 0, xc(0x80000001, new Uint8Array(3)));
    model.libxlTail.unshift(xl(0x80000002, new Uint8Array(0)));
    const libxcAt = libxcOffset(model, indexOf(model, LIBXC.END) - 1);
    const libxlAt = libxcOffset(model, model.libxc.length);
    const spec = verify(model);
    expect(spec.ok).toBe(true);
    expect(slimAll(spec).filter(([, code]) => code === "OPTIONAL_RECORD")).toEqual([
      ["warning", "OPTIONAL_RECORD", libxcAt],
      ["warning", "OPTIONAL_RECORD", libxlAt],
    ]);
    const restore = verify(model, { profile: "restore" });
    expect(slimAll(restore).filter(([, code]) => code === "OPTIONAL_RECORD")).toEqual([
      ["info", "OPTIONAL_RECORD", libxcAt],
      ["error", "OPTIONAL_RECORD", libxlAt],
    ]);
  });

  test("3: reserved fields, reserved bits and padding are errors, libxl bits 16-31 included", () => {
    const model = baseModel("pv", 3, "libxl");
    model.libxlOptions = 0x0001_0000;
    expect(slimAll(verify(model))).toEqual([["error", "RESERVED_NONZERO", 12]]);
    const pfn = baseModel("pv");
    edit(pfn, LIBXC.PAGE_DATA, 8 + 6, new Uint8Array([0xf0]));
    expect(errors(verify(pfn)).map((finding) => finding.code)).toEqual(["RESERVED_NONZERO"]);
  });

  test("4: signalling records with a body are errors (libxc and libxl)", () => {
    const model = baseModel("pv", 3, "libxl");
    recordAt(model, LIBXC.END).body = new Uint8Array(4);
    (model.libxlTail[0] as Rec).body = new Uint8Array(8);
    expect(errors(verify(model)).map((finding) => [finding.code, finding.layer])).toEqual([
      ["BAD_SIZE", "libxc"],
      ["BAD_SIZE", "libxl"],
    ]);
  });

  test("5: X86_PV_INFO: width/levels independently under spec, pairs under restore", () => {
    const model = baseModel("pv", 3);
    edit(model, LIBXC.X86_PV_INFO, 0, new Uint8Array([8, 3]));
    expect(errors(verify(model))).toEqual([]);
    expect(errors(verify(model, { profile: "restore" })).map((finding) => finding.code)).toEqual(["BAD_FIELD"]);
  });

  test("6: v2/v3 mixing", () => {
    const model = baseModel("hvm", 2);
    model.libxc.splice(0, 0, xc(LIBXC.MSR_POLICY, new Uint8Array(16)), xc(LIBXC.STATIC_DATA_END));
    expect(errors(verify(model)).map((finding) => finding.code)).toEqual(["V3_RECORD_IN_V2", "V3_RECORD_IN_V2"]);
    const inferred = baseModel("hvm", 2);
    inferred.libxc.splice(indexOf(inferred, LIBXC.PAGE_DATA) + 1, 0, xc(LIBXC.STATIC_DATA_END));
    expect(errors(verify(inferred, { profile: "restore" })).map((finding) => finding.code)).toEqual(["V3_RECORD_IN_V2", "DUPLICATE_RECORD"]);
  });

  test("7: guest-type validity and PV order are spec errors; C-only semantics under restore", () => {
    const model = baseModel("hvm");
    model.libxc.splice(indexOf(model, LIBXC.END), 0, xc(LIBXC.VCPU_BASIC, vcpuBody(0, new Uint8Array(5168))));
    expect(errors(verify(model)).map((finding) => finding.code)).toEqual(["WRONG_GUEST_TYPE"]);
    const blob = baseModel("pv");
    recordAt(blob, LIBXC.VCPU_BASIC).body = vcpuBody(0, new Uint8Array(5000));
    expect(errors(verify(blob))).toEqual([]);
    expect(errors(verify(blob, { profile: "restore" })).map((finding) => finding.code)).toEqual(["BAD_SIZE"]);
  });

  test("8: zero-content vCPU/HVM_PARAMS records warn; empty HVM_CONTEXT, policy and PAGE_DATA fail", () => {
    const model = baseModel("pv");
    recordAt(model, LIBXC.VCPU_EXTENDED).body = vcpuBody(0, new Uint8Array(0));
    expect(verify(model).ok).toBe(true);
    const context = baseModel("hvm");
    recordAt(context, LIBXC.HVM_CONTEXT).body = new Uint8Array(0);
    expect(errors(verify(context)).map((finding) => finding.code)).toEqual(["BAD_LENGTH"]);
    const policy = baseModel("hvm");
    recordAt(policy, LIBXC.CPUID_POLICY).body = new Uint8Array(0);
    expect(errors(verify(policy)).map((finding) => finding.code)).toEqual(["BAD_LENGTH"]);
    const page = baseModel("hvm");
    recordAt(page, LIBXC.PAGE_DATA).body = new Uint8Array(8);
    expect(errors(verify(page)).map((finding) => finding.code)).toEqual(["BAD_FIELD"]);
  });

  test("9: a big-endian stream verifies under spec with a warning and fails under restore", () => {
    const bytes = bigEndianHvm();
    const spec = verifyStream(bytes, { listing: true });
    expect(slimAll(spec)).toEqual([["warning", "BIG_ENDIAN", 16]]);
    expect(spec.summary.listing?.[0]).toBe("Libxc Image Header: Version 3, big endian");
    expect(spec.summary.pages.byType).toEqual({ XTAB: 1 });
    expect(spec.summary.pages.maxPfn).toBe(5);
    expect(errors(verifyStream(bytes, { profile: "restore" })).map(slim)).toEqual([["error", "BIG_ENDIAN", 16]]);
  });

  test("10: records over maxRecordLength stop verification (RECORD_TOO_LARGE)", () => {
    const model = baseModel("pv");
    const report = verify(model, { maxRecordLength: 4095 });
    expect(slimAll(report)).toEqual([["error", "RECORD_TOO_LARGE", bodyAt(model, LIBXC.PAGE_DATA) - 4]]);
  });

  test("11: CHECKPOINT_STATE bodies of 4 and 8 bytes pass; others do not", () => {
    const colo = (body: Uint8Array): StreamModel => {
      const model = baseModel("hvm", 3, "libxl");
      model.libxc.splice(indexOf(model, LIBXC.END), 1, xc(LIBXC.CHECKPOINT), xl(LIBXL.CHECKPOINT_END), xl(LIBXL.CHECKPOINT_STATE, body));
      model.libxlTail = [];
      return model;
    };
    expect(errors(verify(colo(le32(0))))).toEqual([]);
    expect(errors(verify(colo(new Uint8Array(8))))).toEqual([]);
    expect(errors(verify(colo(concat([le32(0), le32(1)])))).map((finding) => finding.code)).toEqual(["RESERVED_NONZERO"]);
    expect(errors(verify(colo(new Uint8Array(12)))).map((finding) => finding.code)).toEqual(["BAD_SIZE"]);
    expect(errors(verify(colo(le32(9)))).map((finding) => finding.code)).toEqual(["BAD_FIELD"]);
    const back = colo(le32(2));
    expect(verify(back).findings.filter((finding) => finding.code === "BAD_FIELD").map((finding) => finding.severity)).toEqual(["warning"]);
    expect(errors(verify(back, { profile: "restore" })).map((finding) => finding.code)).toEqual(["BAD_FIELD"]);
  });

  test("12: emulator id 3 is an error", () => {
    const model = baseModel("hvm", 3, "libxl");
    (model.libxlTail[0] as Rec).body = concat([le32(3), le32(0)]);
    expect(errors(verify(model)).map((finding) => finding.code)).toEqual(["BAD_FIELD"]);
  });

  test("13: CHECKPOINT_DIRTY_PFN_LIST in the forward stream is an error", () => {
    const model = baseModel("hvm");
    model.libxc.splice(indexOf(model, LIBXC.END), 0, xc(LIBXC.DIRTY_PFN_LIST, le64(5n)));
    expect(errors(verify(model)).map((finding) => finding.code)).toEqual(["UNEXPECTED_RECORD"]);
  });

  test("14: VERIFY is accepted, with an info finding", () => {
    const model = baseModel("pv");
    model.libxc.splice(indexOf(model, LIBXC.TSC_INFO), 0, xc(LIBXC.VERIFY), xc(LIBXC.PAGE_DATA, pageDataBody([{ pfn: 0, type: 0 }])));
    const report = verify(model);
    expect(report.ok).toBe(true);
    expect(report.findings.map((finding) => [finding.severity, finding.code])).toEqual([["info", "VERIFY_RECORD"]]);
  });

  test("15: TOOLSTACK is an invalid stream (not a script error)", () => {
    const model = baseModel("hvm");
    model.libxc.splice(indexOf(model, LIBXC.END), 0, xc(LIBXC.TOOLSTACK, new Uint8Array(4)));
    const report = verify(model);
    expect(report.ok).toBe(false);
    expect(errors(report).map((finding) => finding.code)).toEqual(["DEPRECATED_RECORD"]);
  });

  test("16: non-empty xenstore data verifies; the listing prints the real endianness", () => {
    const model = baseModel("hvm", 3, "libxl");
    model.libxlTail.unshift(xl(LIBXL.XENSTORE, concat([le32(2), le32(0), ascii("physmap/1/size\0" + "1000\0")])));
    expect(verify(model).ok).toBe(true);
    expect(verifyStream(bigEndianHvm(), { listing: true }).summary.listing?.[0]).toContain("big endian");
  });

  test("17: checkpointed streams are followed, and may end at a checkpoint", () => {
    const model = baseModel("hvm", 3, "libxl");
    const epoch = model.libxc.slice(indexOf(model, LIBXC.PAGE_DATA), indexOf(model, LIBXC.END));
    const interlude = [xl(LIBXL.EMULATOR_CONTEXT, concat([le32(2), le32(0)])), xl(LIBXL.CHECKPOINT_END)];
    model.libxc = [...model.libxc.slice(0, indexOf(model, LIBXC.PAGE_DATA)), ...epoch, xc(LIBXC.CHECKPOINT), ...interlude, ...epoch, xc(LIBXC.CHECKPOINT), ...interlude];
    model.libxlTail = [];
    const spec = verify(model);
    expect(spec.ok).toBe(true);
    expect(spec.summary.checkpoints).toBe(2);
    expect(spec.summary.iterations).toBe(2);
    expect(spec.findings.map((finding) => [finding.severity, finding.code])).toEqual([
      ["info", "SAVER_ORDER"],
      ["info", "CHECKPOINTED_STREAM"],
    ]);
    const restore = verify(model, { profile: "restore" });
    expect(restore.ok).toBe(true);
    expect(restore.findings.map((finding) => [finding.severity, finding.code])).toContainEqual(["warning", "CHECKPOINTED_STREAM"]);
    // stopping inside a checkpoint's libxl records is truncation
    const bytes = render(model);
    expect(errors(verifyStream(bytes.subarray(0, bytes.length - 8))).map((finding) => finding.code)).toEqual(["TRUNCATED"]);
  });

  test("18/22: a legacy stream is UNSUPPORTED (detected by its first 8 bytes only)", () => {
    const legacy = concat([le32(0x8000), le32(0), new Uint8Array(64)]);
    expect(slimAll(verifyStream(legacy))).toEqual([["error", "UNSUPPORTED", 0]]);
    expect(verifyStream(legacy).summary.format).toBe("legacy");
  });

  test("19: X86_PV_INFO duplicates fail; repeated end-of-checkpoint records are info; pfn resends pass", () => {
    const model = baseModel("pv");
    model.libxc.splice(indexOf(model, LIBXC.SHARED_INFO), 0, xc(LIBXC.TSC_INFO, tscBody()));
    model.libxc.splice(indexOf(model, LIBXC.END), 0, xc(LIBXC.VCPU_EXTENDED, vcpuBody(0, new Uint8Array(64))));
    model.libxc.splice(indexOf(model, LIBXC.PAGE_DATA), 0, xc(LIBXC.PAGE_DATA, pageDataBody([{ pfn: 0, type: 0 }])));
    const report = verify(model);
    expect(report.ok).toBe(true);
    expect(report.findings.map((finding) => [finding.severity, finding.code])).toEqual([
      ["info", "DUPLICATE_RECORD"],
      ["info", "DUPLICATE_RECORD"],
    ]);
    expect(report.summary.pages.distinctPfns).toBe(3);
  });

  test("20: xl optional_flags draw a warning", () => {
    const bytes = xlFile(render(baseModel("pv", 3, "libxl")), 3, 1);
    expect(slimAll(verifyStream(bytes))).toEqual([["warning", "XL_HEADER", 40]]);
  });

  test("21: an xl header without STREAMv2: warning under spec, error under restore", () => {
    const bytes = xlFile(render(baseModel("pv", 3, "libxc")), 1);
    expect(slimAll(verifyStream(bytes))).toEqual([["warning", "XL_HEADER", 36]]);
    expect(slimAll(verifyStream(bytes, { profile: "restore" }))).toEqual([["error", "XL_HEADER", 36]]);
  });
});

describe("xl header", () => {
  test("a big-endian xl header is read (warning), and refused under restore", () => {
    const body = render(baseModel("pv", 3, "libxl"));
    const config = ascii('{"c_info":{"type":"pv"}}\0');
    const bytes = concat([ascii("Xen saved domain, xl format\n \0 \r"), be32(0x01020304), be32(3), be32(0), be32(4 + config.length), be32(config.length), config, body]);
    expect(slimAll(verifyStream(bytes))).toEqual([["warning", "BIG_ENDIAN", 32]]);
    expect(slimAll(verifyStream(bytes, { profile: "restore" }))).toEqual([["error", "BIG_ENDIAN", 32]]);
  });

  test("a JSON flag with a config that does not parse", () => {
    const bytes = xlFile(render(baseModel("pv", 3, "libxl")), 3, 0, ascii("not json\0"));
    expect(slimAll(verifyStream(bytes))).toEqual([["warning", "XL_HEADER", 52]]);
  });
});

describe("inputs, options and limits", () => {
  const bytes = render(baseModel("pv", 3, "xl"));
  const expected = verifyStream(bytes);

  test("AsyncIterable, sync iterable and ReadableStream give the report of the whole buffer", async () => {
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
    }
    expect(await verifyStream(chunks())).toEqual(expected);
    expect(await verifyStream([bytes.subarray(0, 5), bytes.subarray(5)])).toEqual(expected);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 7));
        controller.enqueue(bytes.subarray(7));
        controller.close();
      },
    });
    expect(await verifyStream(stream)).toEqual(expected);
  });

  test("reading stops at the first fatal fault", async () => {
    const bad = bytes.slice();
    bad[bytes.findIndex((byte, i) => byte === 0x4c && bytes[i + 1] === 0x69 && bytes[i + 2] === 0x62)] = 0; // "LibxlFmt"
    let pulled = 0;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bad.length; i += 64) {
        pulled++;
        yield bad.subarray(i, i + 64);
      }
    }
    const report = await verifyStream(chunks());
    expect(errors(report).map((finding) => finding.code)).toEqual(["BAD_MAGIC"]);
    expect(pulled).toBeLessThan(Math.ceil(bad.length / 64));
  });

  test("any split gives the same findings (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2000 }), fc.array(fc.nat(bytes.length), { maxLength: 6 }), (seed, cuts) => {
        const generated = generateCase(seed).bytes;
        const whole = verifyStream(generated);
        const verifier = new StreamVerifier();
        const points = [...new Set(cuts.map((cut) => cut % (generated.length + 1)))].sort((a, b) => a - b);
        let last = 0;
        for (const point of [...points, generated.length]) {
          verifier.push(generated.subarray(last, point));
          last = point;
        }
        const split = verifier.end();
        const norm = (report: VerifyReport): unknown => report.findings.map((f) => [f.code, f.offset, f.code === "TRAILING_DATA" ? "" : f.message]);
        expect(norm(split)).toEqual(norm(whole));
        expect(split.ok).toBe(whole.ok);
      }),
      { numRuns: 150 },
    );
  });

  test("never throws on arbitrary or mutated input (property)", () => {
    const base = render(baseModel("hvm", 3, "xl"));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, value]) => {
            const copy = base.slice();
            copy[at] = value;
            return copy;
          }),
        ),
        fc.constantFrom("spec", "restore" as const),
        (input, profile) => {
          const report = verifyStream(input, { profile: profile as "spec" | "restore" });
          expect(typeof report.ok).toBe("boolean");
        },
      ),
      { numRuns: 300 },
    );
  });

  test("invalid options throw USAGE", () => {
    expect(() => verifyStream(bytes, { profile: "strict" as "spec" })).toThrow(expect.objectContaining({ code: "USAGE" }));
    expect(() => verifyStream(bytes, { maxFindings: 0 })).toThrow(expect.objectContaining({ code: "USAGE" }));
    expect(() => verifyStream(bytes, { format: "legacy" as "xl" })).toThrow(expect.objectContaining({ code: "USAGE" }));
  });

  test("push after end throws USAGE; push returns false once stopped", () => {
    const verifier = new StreamVerifier();
    expect(verifier.push(new Uint8Array(8).fill(1))).toBe(false);
    expect(verifier.done).toBe(true);
    verifier.end();
    expect(() => verifier.push(new Uint8Array(1))).toThrow(expect.objectContaining({ code: "USAGE" }));
    expect(() => verifier.end()).toThrow(expect.objectContaining({ code: "USAGE" }));
  });

  test("maxFindings keeps the first findings and counts the rest", () => {
    const model = baseModel("hvm");
    for (let i = 0; i < 5; i++) model.libxc.splice(1, 0, xc(0x80000000 + i, new Uint8Array(0)));
    const seen: Finding[] = [];
    const report = verify(model, { maxFindings: 2, onFinding: (finding) => seen.push(finding) });
    expect(report.findings.map((finding) => finding.code)).toEqual(["OPTIONAL_RECORD", "OPTIONAL_RECORD", "TOO_MANY_FINDINGS"]);
    expect(seen.length).toBe(6);
    expect(report.ok).toBe(true);
  });

  test("record totals keep at most 64 distinct unknown types", () => {
    const model = baseModel("hvm");
    for (let i = 0; i < 70; i++) model.libxc.splice(1, 0, xc(0x80000000 + i, new Uint8Array(0)));
    const { libxc } = verify(model).summary.records;
    expect(Object.keys(libxc).filter((key) => key.startsWith("0x")).length).toBe(64);
    expect(libxc["UNKNOWN"]).toEqual({ count: 6, bytes: 48 });
  });

  test("onListing streams the listing lines", () => {
    const lines: string[] = [];
    const report = verifyStream(captured("pvh"), { onListing: (line) => lines.push(line) });
    expect(report.summary.listing).toBeUndefined();
    expect(lines).toEqual(verifyStream(captured("pvh"), { listing: true }).summary.listing);
  });

  test("the rule catalogue lists every rule with a description", () => {
    const rules = verifyRules();
    expect(new Set(rules.map((rule) => rule.name)).size).toBe(rules.length);
    for (const rule of rules) {
      expect(rule.description.length).toBeGreaterThan(20);
      expect(rule.severity.restore ?? rule.severity.spec).toBeDefined();
    }
    expect(rules.filter((rule) => rule.severity.spec === undefined).every((rule) => rule.severity.restore !== undefined)).toBe(true);
  });

  test("headerSize helper agrees with the libxl nesting", () => {
    const model = baseModel("pv", 3, "libxl");
    expect(headerSize(model)).toBe(16 + 8 + 24 + 16);
  });
});
