/**
 * The verifier's rules on record insides (src/verify/rules/contents.ts):
 * every wired check triggered by a hand-built stream, with the exact code,
 * severity, profile and absolute offset; the captured real streams give no
 * finding from them in either profile.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { verifyRules, verifyStream } from "../../src/verify/index.js";
import type { Finding, Profile, VerifyOptions, VerifyReport } from "../../src/verify/index.js";
import {
  HVM_HEADER_ENTRY,
  LIBXC,
  LIBXL,
  ascii,
  baseModel,
  concat,
  cpuidPolicyBody,
  hvmCpuBody,
  hvmEntry,
  le32,
  le64,
  libxcOffset,
  msrPolicyBody,
  pvBasicBlob,
  pvExtendedBlob,
  pvMsrsBlob,
  render,
  vcpuBody,
  xc,
  type Rec,
  type StreamModel,
} from "./generator.js";

const verify = (model: StreamModel, options: VerifyOptions = {}): VerifyReport => verifyStream(render(model), { format: model.format, ...options });
const slim = (finding: Finding): [string, string, number, number | undefined, string | undefined] => [
  finding.severity,
  finding.code,
  finding.offset,
  finding.recordIndex,
  finding.layer,
];
/** The findings but the info ones (baseModel's HVM_CONTEXT before HVM_PARAMS is SAVER_ORDER info). */
const findings = (model: StreamModel, profile: Profile): Array<ReturnType<typeof slim>> =>
  verify(model, { profile }).findings.filter((finding) => finding.severity !== "info").map(slim);

const indexOf = (model: StreamModel, type: number): number => model.libxc.findIndex((rec) => rec.layer === "libxc" && rec.type === type);
const recordAt = (model: StreamModel, type: number): Rec => model.libxc[indexOf(model, type)] as Rec;
const bodyAt = (model: StreamModel, type: number): number => libxcOffset(model, indexOf(model, type)) + 8;
/** libxc record index of the first record of `type` (the model has no libxl records before it). */
const recordIndex = (model: StreamModel, type: number): number => indexOf(model, type);

/** The xl config of baseModel, with `type` and max_vcpus 2. */
const xlConfig = (type: string): Uint8Array => ascii(`{"c_info":{"type":"${type}"},"b_info":{"max_vcpus":2}}\0`);

const END_ENTRY = hvmEntry(0, 0, new Uint8Array(0));

/** An HVM stream (xl format, max_vcpus 2 unless `format` is libxc) whose HVM_CONTEXT is `blob`. */
function hvmWith(blob: Uint8Array, format: "xl" | "libxc" = "xl", type = "hvm"): StreamModel {
  const model = baseModel("hvm", 3, format);
  model.xl.config = xlConfig(type);
  recordAt(model, LIBXC.HVM_CONTEXT).body = blob;
  // A PVH domain has no device model, hence no EMULATOR_CONTEXT.
  if (type === "pvh") model.libxlTail = model.libxlTail.filter((rec) => rec.type !== LIBXL.EMULATOR_CONTEXT);
  return model;
}

describe("HVM context (restore: hvm_load())", () => {
  // The blob's first byte in the stream, and its record index.
  const at = (model: StreamModel, pos: number): number => bodyAt(model, LIBXC.HVM_CONTEXT) + pos;
  const index = (model: StreamModel): number => recordIndex(model, LIBXC.HVM_CONTEXT);

  const rows: Array<{ name: string; blob: Uint8Array; format?: "libxc"; type?: string; severity: string; code: string; pos: number }> = [
    {
      name: "no HEADER entry first",
      blob: concat([hvmEntry(2, 0, hvmCpuBody()), END_ENTRY]),
      severity: "error",
      code: "BAD_HVM_CONTEXT",
      pos: 0,
    },
    {
      name: "HEADER magic 0x12345678",
      blob: concat([HVM_HEADER_ENTRY.subarray(0, 8), le32(0x1234_5678), HVM_HEADER_ENTRY.subarray(12), END_ENTRY]),
      severity: "error",
      code: "BAD_HVM_CONTEXT",
      pos: 8,
    },
    {
      name: "no END entry",
      blob: concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, hvmCpuBody())]),
      severity: "error",
      code: "BAD_HVM_CONTEXT",
      pos: 32 + 8 + 1032,
    },
    {
      name: "PIT (strict, 56 bytes) of 48 bytes: the descriptor's length field",
      blob: concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, hvmCpuBody()), hvmEntry(10, 0, new Uint8Array(48)), END_ENTRY]),
      severity: "error",
      code: "BAD_HVM_CONTEXT",
      pos: 32 + 1040 + 4,
    },
    {
      name: "CPU instance 2 of a 2-vCPU domain: the instance field",
      blob: concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, hvmCpuBody()), hvmEntry(2, 2, hvmCpuBody()), END_ENTRY]),
      severity: "error",
      code: "BAD_HVM_CONTEXT",
      pos: 32 + 1040 + 2,
    },
    {
      name: "typecode 21",
      blob: concat([HVM_HEADER_ENTRY, hvmEntry(21, 0, new Uint8Array(8)), END_ENTRY]),
      severity: "error",
      code: "BAD_HVM_CONTEXT",
      pos: 32,
    },
    {
      name: "PIT in a PVH domain (no such device)",
      blob: concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, hvmCpuBody()), hvmEntry(10, 0, new Uint8Array(56)), END_ENTRY]),
      type: "pvh",
      severity: "error",
      code: "BAD_HVM_CONTEXT",
      pos: 32 + 1040,
    },
    {
      name: "CPU cr0 without ET: the cr0 field",
      blob: concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, new Uint8Array(1032)), END_ENTRY]),
      severity: "error",
      code: "BAD_HVM_CONTEXT",
      pos: 32 + 8 + 656,
    },
    {
      name: "two CPU entries for vCPU 0 (hvm_load() loads both)",
      blob: concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, hvmCpuBody()), hvmEntry(2, 0, hvmCpuBody()), END_ENTRY]),
      severity: "warning",
      code: "DUPLICATE_ENTRY",
      pos: 32 + 1040,
    },
    {
      name: "bytes after END (ignored by hvm_load())",
      blob: concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, hvmCpuBody()), END_ENTRY, new Uint8Array([1, 2, 3])]),
      severity: "warning",
      code: "IGNORED_DATA",
      pos: 32 + 1040 + 8,
    },
  ];
  for (const row of rows) {
    test(`${row.name}: ${row.severity} ${row.code} under restore only, at the byte`, () => {
      const model = hvmWith(row.blob, row.format ?? "xl", row.type ?? "hvm");
      expect(findings(model, "spec")).toEqual([]);
      expect(findings(model, "restore")).toEqual([[row.severity, row.code, at(model, row.pos), index(model), "libxc"]]);
    });
  }

  test("instances are not checked without the config's max_vcpus (plain libxc stream)", () => {
    const model = hvmWith(concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, hvmCpuBody()), hvmEntry(2, 5, hvmCpuBody()), END_ENTRY]), "libxc");
    expect(findings(model, "restore")).toEqual([]);
  });

  test("devices are not checked without the config's guest type", () => {
    const model = hvmWith(concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, hvmCpuBody()), hvmEntry(10, 0, new Uint8Array(56)), END_ENTRY]), "libxc");
    expect(findings(model, "restore")).toEqual([]);
  });

  test("every fault of the blob is reported, in blob order", () => {
    const blob = concat([HVM_HEADER_ENTRY, hvmEntry(2, 0, new Uint8Array(1032)), hvmEntry(10, 0, new Uint8Array(48))]);
    const model = hvmWith(blob);
    const messages = verify(model, { profile: "restore" }).findings.filter((finding) => finding.severity !== "info");
    expect(messages.map(slim)).toEqual([
      ["error", "BAD_HVM_CONTEXT", at(model, 32 + 8 + 656), index(model), "libxc"],
      ["error", "BAD_HVM_CONTEXT", at(model, 32 + 1040 + 4), index(model), "libxc"],
      ["error", "BAD_HVM_CONTEXT", at(model, blob.length), index(model), "libxc"],
    ]);
    expect(messages[0]?.message).toMatch(/^HVM context: entry 1 \(typecode 2 CPU, instance 0\): cr0 0x0 lacks ET/);
  });
});

describe("PV vCPU contents (restore)", () => {
  /** baseModel PV in xl format (max_vcpus 2, max_pfn 511), with the vCPU records given. */
  function pvWith(records: Rec[]): StreamModel {
    const model = baseModel("pv", 3, "xl");
    model.libxc.splice(indexOf(model, LIBXC.VCPU_BASIC), 2, ...records);
    return model;
  }
  /** Absolute offset of byte `pos` of the blob of vCPU record `n` (0-based among the given records). */
  const blobAt = (model: StreamModel, n: number, pos: number): number => libxcOffset(model, indexOf(model, LIBXC.VCPU_BASIC) + n) + 8 + 8 + pos;

  const basic = (change: (blob: Uint8Array) => void = () => undefined): Uint8Array => {
    const blob = pvBasicBlob();
    change(blob);
    return blob;
  };
  const rows: Array<{ name: string; records: Rec[]; n: number; pos: number; severity: string; code: string }> = [
    {
      name: "BASIC: VGCF_in_kernel clear without a user page table (the flags field)",
      records: [xc(LIBXC.VCPU_BASIC, vcpuBody(0, new Uint8Array(5168)))],
      n: 0,
      pos: 512,
      severity: "error",
      code: "BAD_FIELD",
    },
    {
      name: "BASIC: cr3 pfn 512 above max_pfn 511 (ctrlreg[3])",
      records: [xc(LIBXC.VCPU_BASIC, vcpuBody(0, basic((b) => b.set(le64(512n << 12n), 5008))))],
      n: 0,
      pos: 5008,
      severity: "error",
      code: "BAD_FIELD",
    },
    {
      name: "EXTENDED: size 0 (the size field)",
      records: [xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())), xc(LIBXC.VCPU_EXTENDED, vcpuBody(0, new Uint8Array(64)))],
      n: 1,
      pos: 4,
      severity: "error",
      code: "BAD_FIELD",
    },
    {
      name: "EXTENDED: embedded vcpu 2 of a 2-vCPU domain (the vcpu field)",
      records: [xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())), xc(LIBXC.VCPU_EXTENDED, vcpuBody(0, pvExtendedBlob(2)))],
      n: 1,
      pos: 0,
      severity: "error",
      code: "BAD_FIELD",
    },
    {
      name: "XSAVE of 40 bytes (neither 16 nor a whole area)",
      records: [xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())), xc(LIBXC.VCPU_XSAVE, vcpuBody(0, new Uint8Array(40)))],
      n: 1,
      pos: 0,
      severity: "error",
      code: "BAD_SIZE",
    },
    {
      name: "MSRS: entry 1 with a reserved word",
      records: [xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())), xc(LIBXC.VCPU_MSRS, vcpuBody(0, concat([pvMsrsBlob(1), le32(0x48), le32(7), le64(0n)])))],
      n: 1,
      pos: 16 + 4,
      severity: "error",
      code: "RESERVED_NONZERO",
    },
    {
      name: "MSRS: an MSR Xen does not restore for PV (0x10)",
      records: [xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())), xc(LIBXC.VCPU_MSRS, vcpuBody(0, concat([le32(0x10), le32(0), le64(0n)])))],
      n: 1,
      pos: 0,
      severity: "error",
      code: "BAD_FIELD",
    },
  ];
  for (const row of rows) {
    test(`${row.name}: ${row.severity} ${row.code} under restore only`, () => {
      const model = pvWith(row.records);
      expect(findings(model, "spec")).toEqual([]);
      const index = indexOf(model, LIBXC.VCPU_BASIC) + row.n;
      expect(findings(model, "restore")).toEqual([[row.severity, row.code, blobAt(model, row.n, row.pos), index, "libxc"]]);
    });
  }

  test("max_pfn comes from X86_PV_P2M_FRAMES: cr3 pfn 512 is fine when the p2m ends at 1023", () => {
    const model = pvWith([xc(LIBXC.VCPU_BASIC, vcpuBody(0, basic((b) => b.set(le64(512n << 12n), 5008))))]);
    recordAt(model, LIBXC.X86_PV_P2M_FRAMES).body = concat([le32(0), le32(1023), le64(7n), le64(8n)]);
    expect(findings(model, "restore")).toEqual([]);
  });

  test("32-bit guests: the context is read at the 32-bit layout (ctrlreg[3] @2728, cr3 pfn in bits 12-31 and 0-11)", () => {
    const model = pvWith([xc(LIBXC.VCPU_BASIC, vcpuBody(0, (() => {
      const blob = pvBasicBlob(4);
      blob.set(le32(512 << 12), 2728);
      return blob;
    })()))]);
    recordAt(model, LIBXC.X86_PV_INFO).body = new Uint8Array([4, 3, 0, 0, 0, 0, 0, 0]);
    recordAt(model, LIBXC.X86_PV_P2M_FRAMES).body = concat([le32(0), le32(511), le64(7n)]);
    expect(findings(model, "restore")).toEqual([["error", "BAD_FIELD", blobAt(model, 0, 2728), indexOf(model, LIBXC.VCPU_BASIC), "libxc"]]);
  });

  test("XSAVE size: exact for xcr0_accum by the CPU policy's leaf 0xD (AVX 256 bytes at 576)", () => {
    const policy = concat([
      le32(0), le32(0xffff_ffff), le32(0xd), new Uint8Array(12),
      le32(0xd), le32(0), le32(7), new Uint8Array(12),
      le32(0xd), le32(1), new Uint8Array(16),
      le32(0xd), le32(2), le32(256), le32(576), new Uint8Array(8),
    ]);
    const xsave = (areaLength: number): Rec => xc(LIBXC.VCPU_XSAVE, vcpuBody(0, concat([le64(7n), le64(7n), new Uint8Array(areaLength)])));
    const short = pvWith([xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())), xsave(576)]);
    recordAt(short, LIBXC.CPUID_POLICY).body = policy;
    expect(findings(short, "spec")).toEqual([]);
    expect(findings(short, "restore")).toEqual([["error", "BAD_SIZE", blobAt(short, 1, 0), indexOf(short, LIBXC.VCPU_BASIC) + 1, "libxc"]]);
    const exact = pvWith([xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())), xsave(576 + 256)]);
    recordAt(exact, LIBXC.CPUID_POLICY).body = policy;
    expect(findings(exact, "restore")).toEqual([]);
    // Without a policy (v2) the size is not known, hence not checked.
    const v2 = baseModel("pv", 2, "xl");
    v2.libxc.splice(indexOf(v2, LIBXC.VCPU_EXTENDED) + 1, 0, xsave(576));
    expect(findings(v2, "restore")).toEqual([]);
  });

  test("a blob of a size the size rule refuses gets that one finding only", () => {
    const model = pvWith([xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())), xc(LIBXC.VCPU_XSAVE, vcpuBody(0, new Uint8Array(8)))]);
    expect(findings(model, "restore").map(([severity, code]) => [severity, code])).toEqual([["error", "BAD_SIZE"]]);
  });
});

describe("CPU policy", () => {
  const policyAt = (model: StreamModel, type: number, pos: number): number => bodyAt(model, type) + pos;
  const cpuidEntry = (leaf: number, subleaf: number, a = 0, b = 0, c = 0, d = 0): Uint8Array => concat([le32(leaf), le32(subleaf), le32(a), le32(b), le32(c), le32(d)]);
  const msrEntry = (index: number, flags: number, value: bigint): Uint8Array => concat([le32(index), le32(flags), le64(value)]);
  const withPolicy = (type: number, body: Uint8Array): StreamModel => {
    const model = baseModel("hvm", 3);
    recordAt(model, type).body = body;
    return model;
  };

  test("a repeated CPUID leaf: DUPLICATE_ENTRY warning in both profiles", () => {
    const model = withPolicy(LIBXC.CPUID_POLICY, concat([cpuidPolicyBody(2), cpuidEntry(1, 0xffff_ffff)]));
    const expected = [["warning", "DUPLICATE_ENTRY", policyAt(model, LIBXC.CPUID_POLICY, 48), indexOf(model, LIBXC.CPUID_POLICY), "libxc"]];
    expect(findings(model, "spec")).toEqual(expected);
    expect(findings(model, "restore")).toEqual(expected);
  });

  test("CPUID leaves out of order: ENTRY_ORDER warning in both profiles", () => {
    const model = withPolicy(LIBXC.CPUID_POLICY, concat([cpuidEntry(0, 0xffff_ffff, 2), cpuidEntry(2, 0xffff_ffff), cpuidEntry(1, 0xffff_ffff)]));
    const expected = [["warning", "ENTRY_ORDER", policyAt(model, LIBXC.CPUID_POLICY, 48), indexOf(model, LIBXC.CPUID_POLICY), "libxc"]];
    expect(findings(model, "spec")).toEqual(expected);
    expect(findings(model, "restore")).toEqual(expected);
  });

  test("leaf 0 with subleaf 0 (Xen wants no subleaf): BAD_FIELD error at the subleaf, restore only", () => {
    const model = withPolicy(LIBXC.CPUID_POLICY, cpuidEntry(0, 0));
    expect(findings(model, "spec")).toEqual([]);
    expect(findings(model, "restore")).toEqual([["error", "BAD_FIELD", policyAt(model, LIBXC.CPUID_POLICY, 4), indexOf(model, LIBXC.CPUID_POLICY), "libxc"]]);
  });

  test("data beyond basic.max_leaf: IGNORED_DATA warning at the registers, restore only", () => {
    const model = withPolicy(LIBXC.CPUID_POLICY, concat([cpuidEntry(0, 0xffff_ffff, 1), cpuidEntry(1, 0xffff_ffff), cpuidEntry(2, 0xffff_ffff, 5)]));
    expect(findings(model, "spec")).toEqual([]);
    expect(findings(model, "restore")).toEqual([["warning", "IGNORED_DATA", policyAt(model, LIBXC.CPUID_POLICY, 48 + 8), indexOf(model, LIBXC.CPUID_POLICY), "libxc"]]);
  });

  test("an MSR outside Xen's policy: BAD_FIELD error at the index, restore only", () => {
    const model = withPolicy(LIBXC.MSR_POLICY, concat([msrPolicyBody(1), msrEntry(0x200, 0, 0n)]));
    expect(findings(model, "spec")).toEqual([]);
    expect(findings(model, "restore")).toEqual([["error", "BAD_FIELD", policyAt(model, LIBXC.MSR_POLICY, 16), indexOf(model, LIBXC.MSR_POLICY), "libxc"]]);
  });

  test("platform_info with bits other than cpuid_faulting: BAD_FIELD error at the value", () => {
    const model = withPolicy(LIBXC.MSR_POLICY, msrEntry(0xce, 0, 1n));
    expect(findings(model, "restore")).toEqual([["error", "BAD_FIELD", policyAt(model, LIBXC.MSR_POLICY, 8), indexOf(model, LIBXC.MSR_POLICY), "libxc"]]);
  });

  test("three MSRs: BAD_SIZE error at the first one past MSR_MAX_SERIALISED_ENTRIES (plus the repeat warning)", () => {
    const model = withPolicy(LIBXC.MSR_POLICY, concat([msrPolicyBody(2), msrEntry(0x10a, 0, 0n)]));
    const index = indexOf(model, LIBXC.MSR_POLICY);
    expect(findings(model, "spec")).toEqual([["warning", "DUPLICATE_ENTRY", policyAt(model, LIBXC.MSR_POLICY, 32), index, "libxc"]]);
    expect(findings(model, "restore")).toEqual([
      ["warning", "DUPLICATE_ENTRY", policyAt(model, LIBXC.MSR_POLICY, 32), index, "libxc"],
      ["error", "BAD_SIZE", policyAt(model, LIBXC.MSR_POLICY, 32), index, "libxc"],
    ]);
  });

  test("MSR flags: one finding per fault, a warning under spec (as verify-stream-v2 accepts it) and an error under restore", () => {
    const model = withPolicy(LIBXC.MSR_POLICY, msrEntry(0xce, 2, 0n));
    const at = policyAt(model, LIBXC.MSR_POLICY, 4);
    const index = indexOf(model, LIBXC.MSR_POLICY);
    expect(findings(model, "spec")).toEqual([["warning", "RESERVED_NONZERO", at, index, "libxc"]]);
    expect(findings(model, "restore")).toEqual([["error", "RESERVED_NONZERO", at, index, "libxc"]]);
    expect(verify(model, { profile: "restore" }).findings[0]?.message).toBe("X86_MSR_POLICY entry 0 (MSR 0x000000ce): reserved flags set: 0x00000002");
  });
});

describe("real streams and the rule table", () => {
  const CAPTURED = new URL("../../spec-vectors/captured/", import.meta.url);
  const files = ["xen-4.17-pv-save.skel.xl", "xen-4.17-hvm-save.skel.xl", "xen-4.17-pvh-save.skel.xl", "oracle-pvh/pvh-save.skel.xl"];
  const NEW_CODES = ["BAD_HVM_CONTEXT", "DUPLICATE_ENTRY", "ENTRY_ORDER", "IGNORED_DATA", "BAD_FIELD", "BAD_SIZE", "RESERVED_NONZERO"];
  for (const file of files) {
    test(`${file}: no finding from the insides rules in either profile`, () => {
      const bytes = new Uint8Array(readFileSync(new URL(file, CAPTURED)));
      for (const profile of ["spec", "restore"] as const) {
        const report = verifyStream(bytes, { profile });
        expect(report.ok).toBe(true);
        expect(report.findings.filter((finding) => NEW_CODES.includes(finding.code))).toEqual([]);
      }
    });
  }

  test("the rules are listed with their profiles", () => {
    const rules = Object.fromEntries(verifyRules().map((rule) => [rule.name, [rule.code, rule.severity]]));
    expect(rules["restore-hvm-context"]).toEqual(["BAD_HVM_CONTEXT", { restore: "error" }]);
    expect(rules["restore-pv-vcpu-contents"]).toEqual(["BAD_FIELD", { restore: "error" }]);
    expect(rules["restore-cpu-policy"]).toEqual(["BAD_FIELD", { restore: "error" }]);
    expect(rules["x86-cpu-policy-order"]).toEqual(["ENTRY_ORDER", { spec: "warning", restore: "warning" }]);
    expect(rules["x86-msr-policy-flags"]).toEqual(["RESERVED_NONZERO", { spec: "warning", restore: "error" }]);
  });
});

describe("hostile insides", () => {
  /** Model, record type and a body built from arbitrary bytes. */
  const targets: Array<{ name: string; guest: "pv" | "hvm"; type: number; body: (bytes: Uint8Array, n: number) => Uint8Array }> = [
    { name: "HVM_CONTEXT", guest: "hvm", type: LIBXC.HVM_CONTEXT, body: (bytes) => (bytes.length === 0 ? new Uint8Array(1) : bytes) },
    {
      name: "HVM_CONTEXT after a good HEADER",
      guest: "hvm",
      type: LIBXC.HVM_CONTEXT,
      body: (bytes) => concat([HVM_HEADER_ENTRY, bytes]),
    },
    { name: "X86_PV_VCPU_BASIC", guest: "pv", type: LIBXC.VCPU_BASIC, body: (bytes, n) => vcpuBody(n % 3, bytes.length % 2 === 0 ? pvBasicBlob().map((b, i) => b ^ (bytes[i % (bytes.length || 1)] ?? 0)) : bytes) },
    { name: "X86_PV_VCPU_EXTENDED", guest: "pv", type: LIBXC.VCPU_EXTENDED, body: (bytes, n) => vcpuBody(n % 3, bytes.subarray(0, 128)) },
    { name: "X86_CPUID_POLICY", guest: "hvm", type: LIBXC.CPUID_POLICY, body: (bytes) => concat([bytes.subarray(0, bytes.length - (bytes.length % 24)), cpuidPolicyBody(1)]) },
    { name: "X86_MSR_POLICY", guest: "hvm", type: LIBXC.MSR_POLICY, body: (bytes) => concat([bytes.subarray(0, bytes.length - (bytes.length % 16)), msrPolicyBody(1)]) },
  ];
  test("arbitrary bytes inside the records: a report in both profiles, every finding inside its record (property)", () => {
    fc.assert(
      fc.property(fc.constantFrom(...targets), fc.uint8Array({ maxLength: 1200 }), fc.nat(), (target, bytes, n) => {
        const model = baseModel(target.guest, 3, "xl");
        const record = recordAt(model, target.type);
        record.body = target.body(bytes, n);
        const start = libxcOffset(model, indexOf(model, target.type));
        const end = start + 8 + record.body.length;
        for (const profile of ["spec", "restore"] as const) {
          const report = verify(model, { profile });
          for (const finding of report.findings) {
            if (finding.recordIndex === indexOf(model, target.type) && finding.layer === "libxc") {
              expect(finding.offset).toBeGreaterThanOrEqual(start);
              expect(finding.offset).toBeLessThanOrEqual(end);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});
