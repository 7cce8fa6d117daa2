/**
 * CPU policy insides (src/libxc/contents/cpu-policy.ts, cpuid-leaves.ts):
 * Xen's own `xen-cpuid -p` output for the captured PVH domain, the real PV
 * and HVM policies, hand vectors, checks, properties and hostile inputs.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { SaveFileDecoder, type CpuidLeaf, type MsrEntry, type SaveFileEvent } from "../../../src/index.js";
import { CPU_FEATURES, FEATURESET_NR_ENTRIES } from "../../../src/libxc/contents/cpu-features.js";
import {
  CPUID_MAX_SERIALISED_LEAVES,
  MSR_ARCH_CAPABILITIES,
  MSR_INTEL_PLATFORM_INFO,
  MSR_MAX_SERIALISED_ENTRIES,
  applyFeatureset,
  checkCpuidPolicy,
  checkMsrPolicy,
  cpuFeature,
  cpuFms,
  cpuPolicyToJSON,
  cpuVendor,
  decodeCpuPolicy,
  encodeCpuPolicy,
  featuresetFromNames,
  featuresetNames,
  formatXenCpuidPolicy,
  policyFeatureset,
  cpuidPolicyContents,
  msrPolicyContents,
  policyMsrName,
  summarizeCpuPolicy,
  summarizeMsrPolicy,
} from "../../../src/libxc/contents/cpu-policy.js";
import { cpuidLeafName } from "../../../src/libxc/contents/cpuid-leaves.js";
import { thrown } from "../../helpers/errors.js";

const NO = 0xffffffff;

// ---------------------------------------------------------------- helpers

function load(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../../spec-vectors/captured/${path}`, import.meta.url)));
}

interface PolicyRecords {
  cpuid: CpuidLeaf[];
  msrs: MsrEntry[];
  /** The record bodies as they are in the file. */
  cpuidBody: Uint8Array;
  msrBody: Uint8Array;
}

/** The CPUID and MSR policy records of a save file, with their raw bodies. */
function policyOf(bytes: Uint8Array): PolicyRecords {
  const decoder = new SaveFileDecoder();
  const events: SaveFileEvent[] = [...decoder.push(bytes)];
  decoder.end();
  let found: Partial<PolicyRecords> = {};
  for (const event of events) {
    if (event.kind !== "record" || event.layer !== "libxc") continue;
    const body = bytes.subarray(event.offset + 8, event.offset + 8 + event.bodyLength);
    if (event.record.type === "X86_CPUID_POLICY") found = { ...found, cpuid: event.record.entries, cpuidBody: body };
    if (event.record.type === "X86_MSR_POLICY") found = { ...found, msrs: event.record.entries, msrBody: body };
  }
  if (found.cpuid === undefined || found.msrs === undefined || found.cpuidBody === undefined || found.msrBody === undefined) {
    throw new Error("no CPUID/MSR policy records");
  }
  return found as PolicyRecords;
}

/** An independent little-endian encoding of the entries (xen_cpuid_leaf_t, xen_msr_entry_t). */
function cpuidBytes(leaves: readonly CpuidLeaf[]): Uint8Array {
  const out = new Uint8Array(leaves.length * 24);
  const view = new DataView(out.buffer);
  leaves.forEach((l, i) => [l.leaf, l.subleaf, l.a, l.b, l.c, l.d].forEach((v, j) => view.setUint32(i * 24 + j * 4, v, true)));
  return out;
}

function msrBytes(msrs: readonly MsrEntry[]): Uint8Array {
  const out = new Uint8Array(msrs.length * 16);
  const view = new DataView(out.buffer);
  msrs.forEach((m, i) => {
    view.setUint32(i * 16, m.index, true);
    view.setUint32(i * 16 + 4, m.flags, true);
    view.setBigUint64(i * 16 + 8, m.value, true);
  });
  return out;
}

function leaf(leafIndex: number, subleaf: number, a = 0, b = 0, c = 0, d = 0): CpuidLeaf {
  return { leaf: leafIndex, subleaf, a, b, c, d };
}

function findingSummary(findings: readonly { code: string; pos: number; entry: number; severity: string; profile: string }[]): string[] {
  return findings.map((f) => `${f.code}@${f.pos}#${f.entry}:${f.severity}/${f.profile}`);
}

// ---------------------------------------------------------------- ground truth

describe("oracle PVH domain: what xen-cpuid -p printed", () => {
  const policy = policyOf(load("oracle-pvh/pvh-save.skel.xl"));
  const expectedText = readFileSync(new URL("../../../spec-vectors/captured/oracle-pvh/xen-cpuid.txt", import.meta.url), "utf8");

  test("formatXenCpuidPolicy reproduces the file line by line", () => {
    const ours = formatXenCpuidPolicy("Domain 2", policy.cpuid, policy.msrs).split("\n");
    const theirs = expectedText.split("\n");
    expect(ours.length).toBe(theirs.length);
    ours.forEach((line, i) => expect(line, `line ${i + 1}`).toBe(theirs[i]));
  });

  test("every number in the file is the stream's", () => {
    const lines = expectedText.split("\n");
    const title = /^Domain 2 policy: (\d+) leaves, (\d+) MSRs$/.exec(lines[0] ?? "");
    expect(Number(title?.[1])).toBe(policy.cpuid.length);
    expect(Number(title?.[2])).toBe(policy.msrs.length);
    expect(policy.cpuid.length).toBe(51);
    const printed: string[] = [];
    for (const line of lines) {
      const row = /^ {2}([0-9a-f]{8}):([0-9a-f]{8}) -> ([0-9a-f]{8}):([0-9a-f]{8}):([0-9a-f]{8}):([0-9a-f]{8})$/.exec(line);
      if (row !== null) {
        const [l, s, a, b, c, d] = row.slice(1).map((h) => Number.parseInt(h, 16));
        const entry = policy.cpuid.find((e) => e.leaf === l && e.subleaf === s);
        expect(entry, line).toEqual({ leaf: l, subleaf: s, a, b, c, d });
        printed.push(`${l}:${s}`);
      }
      const msr = /^ {2}([0-9a-f]{8}) -> ([0-9a-f]{16})$/.exec(line);
      if (msr !== null) {
        const entry = policy.msrs.find((m) => m.index === Number.parseInt(msr[1] ?? "", 16));
        expect(entry?.value, line).toBe(BigInt(`0x${msr[2]}`));
      }
    }
    // The entries xen-cpuid skipped are exactly the all-zero ones.
    const nonZero = policy.cpuid.filter((e) => (e.a | e.b | e.c | e.d) !== 0).map((e) => `${e.leaf}:${e.subleaf}`);
    expect(printed).toEqual(nonZero);
    expect(printed.length).toBe(10);
  });

  test("decoded: vendor, family/model/stepping, brand, features, MSRs", () => {
    const p = decodeCpuPolicy(policy.cpuid, policy.msrs);
    expect(p.vendor).toEqual({ string: "AuthenticAMD", id: "X86_VENDOR_AMD", value: 2, name: "AMD" });
    // 0x00060fb1: base family 0xf + extended 0x00; model 0xb | 0x6 << 4; stepping 1.
    expect([p.rawFms, p.family, p.model, p.stepping]).toEqual([0x00060fb1, 15, 0x6b, 1]);
    expect(p.maxLeaf).toBe(0xd);
    expect(p.extdMaxLeaf).toBe(0x80000021);
    expect(p.brand).toBe("QEMU Virtual CPU version 2.5+");
    expect(p.featureset).toEqual([0x178bfbfd, 0x80202001, 0x2193fbfd, 0x00000001, 0, 0, 0, 0, 0x00100000, 0, 0, 0x00000004, 0, 0, 0, 0, 0, 0, 0]);
    const leaf1 = p.leaves[1];
    expect(leaf1?.member).toBe("basic.raw[0x1]");
    expect(leaf1?.fields).toEqual({ rawFms: 0x00060fb1, clflushSize: 8, lppp: 4, apicId: 0 });
    expect(leaf1?.featureWords.map((w) => [w.abbr, w.features])).toEqual([
      ["1d", ["fpu", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr", "sse", "sse2", "htt"]],
      ["1c", ["sse3", "cx16", "x2apic", "hypervisor"]],
    ]);
    const e8 = p.leaves.find((l) => l.leaf === 0x80000008);
    expect(e8?.fields).toEqual({ maxphysaddr: 0x28, maxlinaddr: 0x30, nc: 3, apicIdSize: 2 });
    expect(e8?.featureWords[0]?.features).toEqual(["no-lmsl"]);
    expect(p.features).toContain("lfence-dispatch");
    expect(p.unknownFeatureBits).toEqual([]);
    expect(p.msrs.map((m) => [m.name, m.member, m.fields])).toEqual([
      ["MSR_INTEL_PLATFORM_INFO", "platform_info", { cpuidFaulting: true }],
      ["MSR_ARCH_CAPABILITIES", "arch_caps", { lo: 0, hi: 0 }],
    ]);
    expect(checkCpuidPolicy(policy.cpuid)).toEqual([]);
    expect(checkMsrPolicy(policy.msrs)).toEqual([]);
    expect(summarizeCpuPolicy(p)).toBe("AMD (AuthenticAMD) family 0xf model 0x6b stepping 1, 51 leaves, 32 features, 2 MSRs, cpuid faulting");
  });

  test("dump --json contents of each record, verify --verbose summaries", () => {
    const cpuid = cpuidPolicyContents({ type: "X86_CPUID_POLICY", entries: policy.cpuid });
    expect("msrs" in cpuid).toBe(false);
    expect(cpuid.leaves.length).toBe(51);
    expect(cpuid.leaves[16]).toMatchObject({ leaf: 0x40000100, member: "hv2_limit", fields: { hv2Limit: 0 } });
    expect(JSON.parse(JSON.stringify(cpuid))).toEqual(cpuid);
    const msr = msrPolicyContents(policy.msrs);
    expect(msr).toEqual({
      msrs: [
        { entry: 0, pos: 0, index: 0xce, flags: 0, value: "0x0000000080000000", name: "MSR_INTEL_PLATFORM_INFO", member: "platform_info", fields: { cpuidFaulting: true }, featureWords: [] },
        {
          entry: 1,
          pos: 16,
          index: 0x10a,
          flags: 0,
          value: "0x0000000000000000",
          name: "MSR_ARCH_CAPABILITIES",
          member: "arch_caps",
          fields: { lo: 0, hi: 0 },
          featureWords: [
            { word: 16, abbr: "m10Al", register: "eax", value: 0, features: [], unknownBits: [] },
            { word: 17, abbr: "m10Ah", register: "edx", value: 0, features: [], unknownBits: [] },
          ],
        },
      ],
      features: [],
    });
    expect(summarizeMsrPolicy(policy.msrs)).toBe("MSR_INTEL_PLATFORM_INFO=0x0000000080000000 (cpuid_faulting), MSR_ARCH_CAPABILITIES=0x0000000000000000");
    expect(summarizeMsrPolicy([{ index: 0x10a, flags: 0, value: 0x21n }, { index: 0x1b, flags: 0, value: 1n }])).toBe(
      "MSR_ARCH_CAPABILITIES=0x0000000000000021 (rdcl-no mds-no), MSR 0x0000001b=0x0000000000000001",
    );
  });

  test("re-encoded byte for byte", () => {
    const back = encodeCpuPolicy(decodeCpuPolicy(policy.cpuid, policy.msrs));
    expect(cpuidBytes(back.cpuid)).toEqual(policy.cpuidBody);
    expect(msrBytes(back.msrs)).toEqual(policy.msrBody);
  });
});

describe("captured PV and HVM policies (Xen 4.17, same AMD host)", () => {
  test("64-bit PV: features PV hides, no cpuid faulting", () => {
    const policy = policyOf(load("xen-4.17-pv-save.skel.xl"));
    const p = decodeCpuPolicy(policy.cpuid, policy.msrs);
    expect(p.leaves.length).toBe(51);
    expect([p.vendor.id, p.family, p.model, p.stepping]).toEqual(["X86_VENDOR_AMD", 15, 0x6b, 1]);
    // 1d = 0x1789c3f5 (no vme, pse, sep, mtrr, pge, pse36 for PV), 1c = 0x80002001.
    expect(p.leaves[1]?.featureWords.map((w) => w.features)).toEqual([
      ["fpu", "de", "tsc", "msr", "pae", "mce", "cx8", "apic", "mca", "cmov", "pat", "clflush", "mmx", "fxsr", "sse", "sse2", "htt"],
      ["sse3", "cx16", "hypervisor"],
    ]);
    // e1c = 0x00000003, e1d = 0x2191cbf5.
    const e1 = p.leaves.find((l) => l.leaf === 0x80000001);
    expect(e1?.featureWords.map((w) => [w.abbr, w.value, w.features])).toEqual([
      ["e1d", 0x2191cbf5, ["fpu", "de", "tsc", "msr", "pae", "mce", "cx8", "apic", "syscall", "mca", "cmov", "pat", "nx", "mmx", "fxsr", "lm"]],
      ["e1c", 3, ["lahf-lm", "cmp-legacy"]],
    ]);
    expect(p.features).not.toContain("x2apic");
    expect(p.msrs[0]?.fields).toEqual({ cpuidFaulting: false });
    expect(summarizeCpuPolicy(p)).toBe("AMD (AuthenticAMD) family 0xf model 0x6b stepping 1, 51 leaves, 26 features, 2 MSRs");
    // A vendor string with control bytes is shown escaped.
    expect(summarizeCpuPolicy(decodeCpuPolicy([leaf(0, NO, 0, 0x00000a41)]))).toBe(
      `Unknown (A\\n${"\\u0000".repeat(10)}) family 0x0 model 0x0 stepping 0, 1 leaves, 0 features`,
    );
    expect(checkCpuidPolicy(policy.cpuid)).toEqual([]);
    expect(checkMsrPolicy(policy.msrs)).toEqual([]);
    expect(cpuidBytes(encodeCpuPolicy(p).cpuid)).toEqual(policy.cpuidBody);
  });

  test("HVM: same CPUID as the PVH domain, cpuid faulting offered", () => {
    const policy = policyOf(load("xen-4.17-hvm-save.skel.xl"));
    const p = decodeCpuPolicy(policy.cpuid, policy.msrs);
    expect([p.vendor.string, p.family, p.model, p.stepping, p.brand]).toEqual(["AuthenticAMD", 15, 0x6b, 1, "QEMU Virtual CPU version 2.5+"]);
    expect(p.features).toEqual([
      "fpu", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "sep", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "clflush", "mmx", "fxsr",
      "sse", "sse2", "htt", "sse3", "cx16", "x2apic", "hypervisor", "syscall", "nx", "lm", "lahf-lm", "no-lmsl", "lfence-dispatch",
    ]);
    expect(p.msrs[0]?.fields).toEqual({ cpuidFaulting: true });
    expect(formatXenCpuidPolicy("Domain 7", policy.cpuid, policy.msrs).split("\n")[0]).toBe("Domain 7 policy: 51 leaves, 2 MSRs");
    expect(msrBytes(encodeCpuPolicy(p).msrs)).toEqual(policy.msrBody);
  });
});

// ---------------------------------------------------------------- hand vectors

describe("vendor and family/model/stepping (get_cpu_family, x86_cpuid_lookup_vendor)", () => {
  test.each([
    // raw eax, family, model, stepping
    [0x000906ea, 6, 0x9e, 10], // Intel Coffee Lake: extended model merged for family 6
    [0x00a20f10, 0x19, 0x21, 0], // AMD Zen 3: 0xf + 0x0a
    [0x00000f41, 15, 4, 1], // family 0xf, no extended bits
    [0x00010676, 6, 0x17, 6],
    [0x00010576, 5, 7, 6], // family 5: extended model ignored
    [0x0ff00f00, 0x0e, 0, 0], // 0xf + 0xff kept to 8 bits, as Xen's uint8_t
    [0xffffffff, 0x0e, 0xff, 15],
    [0, 0, 0, 0],
  ])("0x%s", (raw, family, model, stepping) => {
    expect(cpuFms(raw)).toEqual({ family, model, stepping });
  });

  test.each([
    ["GenuineIntel", "X86_VENDOR_INTEL", 1, "Intel"],
    ["AuthenticAMD", "X86_VENDOR_AMD", 2, "AMD"],
    ["CentaurHauls", "X86_VENDOR_CENTAUR", 4, "Centaur"],
    ["  Shanghai  ", "X86_VENDOR_SHANGHAI", 8, "Shanghai"],
    ["HygonGenuine", "X86_VENDOR_HYGON", 16, "Hygon"],
    ["GenuineIotel", "X86_VENDOR_UNKNOWN", 0, "Unknown"],
  ])("%s", (text, id, value, name) => {
    const bytes = new TextEncoder().encode(text);
    const view = new DataView(bytes.buffer);
    const [ebx, edx, ecx] = [0, 4, 8].map((o) => view.getUint32(o, true));
    expect(cpuVendor(ebx ?? 0, ecx ?? 0, edx ?? 0)).toEqual({ string: text, id, value, name });
  });
});

describe("leaf names (struct cpu_policy)", () => {
  test.each([
    [0x0, NO, "basic", "basic.raw[0x0]", "Max and vendor", true],
    [0x2, NO, "basic", "basic.raw[0x2]", "TLB/Cache/Prefetch", true],
    [0x4, 5, "cache", "cache.subleaf[5]", "Structured Cache", true],
    [0x4, 6, "cache", undefined, "Structured Cache", false],
    [0x4, NO, "cache", undefined, "Structured Cache", false],
    [0x7, 2, "feat", "feat.raw[2]", "Structured Features", true],
    [0x7, 3, "feat", undefined, "Structured Features", false],
    [0xb, 1, "topo", "topo.subleaf[1]", "Topology", true],
    [0xd, 0, "xstate", "xstate.raw[0]", "XSTATE", true],
    [0xd, 62, "xstate", "xstate.comp[62]", "XSTATE", true],
    [0xd, 63, "xstate", undefined, "XSTATE", false],
    [0x1, 0, "basic", undefined, "Family/model/stepping and features", false],
    [0xe, NO, "basic", undefined, undefined, false],
    [0x14, 0, "basic", undefined, "Intel Processor Trace", false],
    [0x40000000, NO, "hv", "hv_limit", "Toolstack selected hypervisor max_leaf", true],
    [0x40000100, NO, "hv", "hv2_limit", "Toolstack selected hypervisor max_leaf (second set)", true],
    [0x40000001, NO, "hv", undefined, undefined, false],
    [0x80000008, NO, "extd", "extd.raw[0x8]", "Misc addr/feature info", true],
    [0x80000009, NO, "extd", "extd.raw[0x9]", undefined, true],
    [0x80000021, NO, "extd", "extd.raw[0x21]", "Extended Feature 2", true],
    [0x80000022, NO, "unknown", undefined, "Extended performance monitoring and debug", false],
    [0x80000024, NO, "unknown", undefined, undefined, false],
    [0x50000000, NO, "unknown", undefined, undefined, false],
    [0xc0000000, NO, "unknown", undefined, undefined, false],
  ])("%s:%s", (l, s, group, member, title, inPolicy) => {
    const name = cpuidLeafName(l, s);
    expect({ group: name.group, member: name.member, title: name.title, inPolicy: name.inPolicy }).toEqual({ group, member, title, inPolicy });
  });

  test("fields of leaves with bit-fields", () => {
    const p = decodeCpuPolicy([
      leaf(0, NO, 0xd),
      // Cache subleaf: type 1 (data), level 1, self_init, threads 1, cores 7, line 63, partitions 0, ways 7, sets 63, inclusive.
      leaf(4, 0, 0x1c004121, 0x01c0003f, 0x3f, 0x2),
      leaf(7, 0, 1, (1 << 5) | (1 << 16) | (1 << 22), 0, 0x80000000),
      leaf(0xb, 0, 1, 2, 0x100, 3),
      leaf(0xd, 0, 0x7, 0x340, 0x340, 0),
      leaf(0xd, 1, 0xf, 0, 0x100, 0),
      leaf(0xd, 2, 0x100, 0x240, 0x3, 0),
      leaf(0x40000000, NO, 0x105),
      leaf(0x80000021, NO, 0x4, 0x00ff1234, 0x2, 0),
    ]);
    expect(p.leaves.map((l) => l.fields)).toEqual([
      { maxLeaf: 0xd, vendorEbx: 0, vendorEcx: 0, vendorEdx: 0 },
      { type: 1, level: 1, selfInit: true, fullyAssoc: false, threadsPerCache: 1, coresPerPackage: 7, lineSize: 63, partitions: 0, ways: 7, sets: 63, wbinvd: false, inclusive: true, complex: false },
      { maxSubleaf: 1 },
      { idShift: 1, nrLogical: 2, level: 0, type: 1, x2apicId: 3 },
      { xcr0Low: 7, maxSize: 0x340, xcr0High: 0 },
      { xssLow: 0x100, xssHigh: 0 },
      { size: 0x100, offset: 0x240, xss: true, align: true },
      { hvLimit: 5 },
      { ucodeSize: 0x1234, rapSize: 0xff },
    ]);
    const feat = p.leaves[2]?.featureWords;
    expect(feat?.map((w) => [w.abbr, w.features, w.unknownBits])).toEqual([
      ["7b0", ["avx2", "avx512f"], [22]],
      ["7c0", [], []],
      ["7d0", ["ssbd"], []],
    ]);
    expect(p.leaves[5]?.featureWords.map((w) => [w.abbr, w.features])).toEqual([["Da1", ["xsaveopt", "xsavec", "xgetbv1", "xsaves"]]]);
    expect(p.leaves[8]?.featureWords.map((w) => [w.abbr, w.features])).toEqual([
      ["e21a", ["lfence-dispatch"]],
      ["e21c", ["tsa-sq-no"]],
    ]);
    expect(p.unknownFeatureBits).toEqual([5 * 32 + 22]);
    expect(p.vendor.id).toBe("X86_VENDOR_UNKNOWN");
  });

  test("derived values use the policy Xen would hold: last duplicate wins, out-of-range entries ignored", () => {
    const p = decodeCpuPolicy([leaf(0, NO, 1), leaf(1, NO, 0x000906ea), leaf(1, 0, 0x00a20f10), leaf(1, NO, 0x00000f41, 0, 0, 1)]);
    expect([p.rawFms, p.family, p.featureset[0]]).toEqual([0x00000f41, 15, 1]);
    expect(p.leaves.map((l) => l.inPolicy)).toEqual([true, true, false, true]);
    expect(p.leaves.map((l) => l.discarded)).toEqual([undefined, "replaced by a later entry for the same leaf and subleaf", undefined, undefined]);
    expect(p.leaves[2]?.featureWords).toEqual([]);
  });

  test("derived values follow x86_cpu_policy_clear_out_of_range_leaves: data beyond max_leaf is zero", () => {
    const leaves = [leaf(0, NO, 1), leaf(1, NO, 0x00000f41), leaf(7, 0, 0, 1 << 5), leaf(0x40000000, NO, 0x1ff, 1), leaf(0x80000000, NO, 0x80000001), leaf(0x80000008, NO, 0, 1)];
    const p = decodeCpuPolicy(leaves);
    expect(p.leaves.map((l) => l.discarded)).toEqual([
      undefined,
      undefined,
      "beyond basic.max_leaf 0x00000001",
      "Xen keeps only the low 8 bits of eax (hv_limit/hv2_limit is a uint8_t)",
      undefined,
      "beyond extd.max_leaf 0x80000001",
    ]);
    // The leaf itself still shows its own words; the policy's featureset does not.
    expect(p.leaves[2]?.featureWords[0]?.features).toEqual(["avx2"]);
    expect(p.featureset[5]).toBe(0);
    expect(p.featureset[8]).toBe(0);
    expect(p.features).toEqual([]);
    expect(cpuPolicyToJSON(p).leaves[2]?.discarded).toBe("beyond basic.max_leaf 0x00000001");
    // Raising max_leaf keeps it.
    expect(decodeCpuPolicy([leaf(0, NO, 7), ...leaves.slice(1)]).features).toEqual(["avx2"]);
  });

  test("arch_caps words 16/17 come from MSR 0x10a; brand string stops at NUL", () => {
    const p = decodeCpuPolicy(
      [leaf(0x80000000, NO, 0x80000004), leaf(0x80000002, NO, 0x20656e4f, 0x00000041, 0x41414141, 0x41414141)],
      [
        { index: MSR_INTEL_PLATFORM_INFO, flags: 0, value: 0n },
        { index: MSR_ARCH_CAPABILITIES, flags: 0, value: (1n << 62n) | (1n << 33n) | 0x21n },
      ],
    );
    expect(p.brand).toBe("One A");
    expect(p.featureset[16]).toBe(0x21);
    expect(p.featureset[17]).toBe(0x40000002);
    expect(p.msrs[1]?.featureWords.map((w) => [w.abbr, w.features, w.unknownBits])).toEqual([
      ["m10Al", ["rdcl-no", "mds-no"], []],
      ["m10Ah", ["its-no"], [1]],
    ]);
    expect(p.msrs[1]?.fields).toEqual({ lo: 0x21, hi: 0x40000002 });
    expect(p.unknownFeatureBits).toEqual([17 * 32 + 1]);
    expect(policyMsrName(0x10a)).toBe("MSR_ARCH_CAPABILITIES");
    expect(policyMsrName(0xc0000080)).toBeUndefined();
  });
});

describe("formatXenCpuidPolicy", () => {
  test("hand vector: zero entries skipped but counted, 64-bit MSR values", () => {
    const text = formatXenCpuidPolicy(
      "Domain 0",
      [leaf(0, NO, 1, 2, 3, 4), leaf(1, NO), leaf(7, 0, 0, 0xdeadbeef)],
      [{ index: 0xce, flags: 0, value: 0xfedcba9876543210n }],
    );
    expect(text).toBe(
      [
        "Domain 0 policy: 3 leaves, 1 MSRs",
        " CPUID:",
        "  leaf     subleaf  -> eax      ebx      ecx      edx     ",
        "  00000000:ffffffff -> 00000001:00000002:00000003:00000004",
        "  00000007:00000000 -> 00000000:deadbeef:00000000:00000000",
        " MSRs:",
        "  index    -> value           ",
        "  000000ce -> fedcba9876543210",
        "",
      ].join("\n"),
    );
  });
});

describe("cpuPolicyToJSON", () => {
  test("plain data: MSR values as 0x strings, no undefined members, JSON round trip", () => {
    const p = decodeCpuPolicy([leaf(0, NO, 7), leaf(0x80000009, NO), leaf(0x99, NO)], [{ index: 0x10a, flags: 0, value: 0x8000000000000001n }]);
    const json = cpuPolicyToJSON(p);
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
    expect(json.msrs[0]?.value).toBe("0x8000000000000001");
    expect(json.leaves[0]).toEqual({
      entry: 0,
      pos: 0,
      leaf: 0,
      subleaf: NO,
      a: 7,
      b: 0,
      c: 0,
      d: 0,
      group: "basic",
      member: "basic.raw[0x0]",
      title: "Max and vendor",
      inPolicy: true,
      fields: { maxLeaf: 7, vendorEbx: 0, vendorEcx: 0, vendorEdx: 0 },
      featureWords: [],
    });
    expect("title" in (json.leaves[1] ?? {})).toBe(false);
    expect("member" in (json.leaves[2] ?? {})).toBe(false);
    expect(json.leaves[2]?.pos).toBe(48);
  });
});

// ---------------------------------------------------------------- checks

describe("checkCpuidPolicy (x86_cpuid_copy_from_buffer, clear_out_of_range_leaves)", () => {
  test.each<[string, CpuidLeaf[], string[]]>([
    ["clean", [leaf(0, NO, 7), leaf(7, 0, 0, 1), leaf(0x40000000, NO), leaf(0x80000000, NO, 0x80000001), leaf(0x80000001, NO, 0, 0, 1)], []],
    ["subleaf on a plain leaf", [leaf(0, NO, 1), leaf(1, 0)], ["CPUID_LEAF_OUT_OF_RANGE@28#1:error/restore"]],
    ["cache subleaf beyond 5", [leaf(0, NO, 4), leaf(4, 6)], ["CPUID_LEAF_OUT_OF_RANGE@28#1:error/restore"]],
    ["leaf beyond basic array", [leaf(0x10, NO)], ["CPUID_LEAF_OUT_OF_RANGE@0#0:error/restore"]],
    ["extended beyond 0x80000021", [leaf(0x80000022, NO)], ["CPUID_LEAF_OUT_OF_RANGE@0#0:error/restore"]],
    ["hypervisor leaf with a subleaf", [leaf(0x40000100, 0)], ["CPUID_LEAF_OUT_OF_RANGE@4#0:error/restore"]],
    ["duplicate", [leaf(0, NO, 1), leaf(1, NO), leaf(1, NO)], ["CPUID_DUPLICATE_LEAF@48#2:warning/spec"]],
    ["order", [leaf(0, NO, 1), leaf(0x80000000, NO), leaf(1, NO)], ["CPUID_ORDER@48#2:warning/spec"]],
    ["data beyond max_leaf", [leaf(0, NO, 1), leaf(2, NO, 1)], ["CPUID_IGNORED_DATA@32#1:warning/restore"]],
    ["feat subleaf beyond max_subleaf", [leaf(0, NO, 7), leaf(7, 0, 0), leaf(7, 1, 1)], ["CPUID_IGNORED_DATA@56#2:warning/restore"]],
    ["cache after a null subleaf", [leaf(0, NO, 4), leaf(4, 0, 0x21), leaf(4, 1, 0), leaf(4, 2, 0x43)], ["CPUID_IGNORED_DATA@80#3:warning/restore"]],
    ["xstate without components", [leaf(0, NO, 0xd), leaf(0xd, 0, 0, 0x240)], ["CPUID_IGNORED_DATA@32#1:warning/restore"]],
    ["xstate component beyond xcr0", [leaf(0, NO, 0xd), leaf(0xd, 0, 0x7), leaf(0xd, 1), leaf(0xd, 2, 0x100), leaf(0xd, 3, 0x40)], ["CPUID_IGNORED_DATA@104#4:warning/restore"]],
    ["hv_limit wider than u8", [leaf(0x40000000, NO, 0x100)], ["CPUID_IGNORED_DATA@8#0:warning/restore"]],
    ["extended beyond extd max", [leaf(0x80000000, NO, 0x80000001), leaf(0x80000008, NO, 0x3030)], ["CPUID_IGNORED_DATA@32#1:warning/restore"]],
    ["a zero leaf beyond max is fine", [leaf(0, NO, 1), leaf(2, NO)], []],
  ])("%s", (_name, leaves, expected) => {
    expect(findingSummary(checkCpuidPolicy(leaves))).toEqual(expected);
  });

  test("more than CPUID_MAX_SERIALISED_LEAVES (120) entries", () => {
    expect(CPUID_MAX_SERIALISED_LEAVES).toBe(120);
    const leaves = Array.from({ length: 121 }, (_, i) => leaf(0xd, i % 63));
    const findings = checkCpuidPolicy(leaves).filter((f) => f.code === "CPUID_TOO_MANY_LEAVES");
    expect(findingSummary(findings)).toEqual(["CPUID_TOO_MANY_LEAVES@2880#120:error/restore"]);
    expect(checkCpuidPolicy(leaves.slice(0, 120)).filter((f) => f.code === "CPUID_TOO_MANY_LEAVES")).toEqual([]);
    expect(findingSummary(checkCpuidPolicy([leaf(0, NO), leaf(0, NO, 0), leaf(0, NO)], { maxLeaves: 2 })).slice(0, 1)).toEqual(["CPUID_TOO_MANY_LEAVES@48#2:error/restore"]);
  });

  test("messages name the leaf and Xen's reason", () => {
    const [finding] = checkCpuidPolicy([leaf(0x14, 0)]);
    expect(finding?.message).toBe("leaf 0x00000014:0x00000000 (Intel Processor Trace): Xen's policy has no room for this leaf (x86_cpuid_copy_from_buffer -ERANGE)");
  });
});

describe("checkMsrPolicy (x86_msr_copy_from_buffer, x86_cpu_policies_are_compatible)", () => {
  const m = (index: number, value: bigint, flags = 0): MsrEntry => ({ index, flags, value });
  test.each<[string, MsrEntry[], string[]]>([
    ["clean", [m(0xce, 0x80000000n), m(0x10a, 0xffffffffffffffffn)], []],
    ["flags", [m(0xce, 0n, 1)], ["MSR_FLAGS_NONZERO@4#0:error/restore"]],
    ["unknown MSR", [m(0xce, 0n), m(0xc0000080, 0n)], ["MSR_UNKNOWN_INDEX@16#1:error/restore"]],
    ["platform_info wider than 32 bits", [m(0xce, 0x100000000n)], ["MSR_VALUE_TRUNCATED@8#0:error/restore"]],
    ["platform_info bits beyond cpuid_faulting", [m(0xce, 0x80000001n)], ["MSR_PLATFORM_INFO_BITS@8#0:error/restore"]],
    ["duplicate", [m(0x10a, 0n), m(0x10a, 0n)], ["MSR_DUPLICATE@16#1:warning/spec"]],
    ["order", [m(0x10a, 0n), m(0xce, 0n)], ["MSR_ORDER@16#1:warning/spec"]],
    [
      "too many",
      [m(0xce, 0n), m(0x10a, 0n), m(0x10a, 0n)],
      ["MSR_TOO_MANY_ENTRIES@32#2:error/restore", "MSR_DUPLICATE@32#2:warning/spec"],
    ],
  ])("%s", (_name, msrs, expected) => {
    expect(MSR_MAX_SERIALISED_ENTRIES).toBe(2);
    expect(findingSummary(checkMsrPolicy(msrs))).toEqual(expected);
  });
});

// ---------------------------------------------------------------- features, properties

/** Every leaf a featureset word lives in, plus leaf 0 and MSR 0x10a. */
const FEATURE_LEAVES: CpuidLeaf[] = [
  leaf(0, NO, 0xd),
  leaf(1, NO),
  leaf(7, 0, 2),
  leaf(7, 1),
  leaf(7, 2),
  // xcr0 = x87 | SSE: with no xstate component, Xen would clear all of leaf 0xd.
  leaf(0xd, 0, 3),
  leaf(0xd, 1),
  leaf(0x80000000, NO, 0x80000021),
  leaf(0x80000001, NO),
  leaf(0x80000007, NO),
  leaf(0x80000008, NO),
  leaf(0x80000021, NO),
];
const FEATURE_MSRS: MsrEntry[] = [
  { index: 0xce, flags: 0, value: 0n },
  { index: 0x10a, flags: 0, value: 0n },
];

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const knownFeatureset = fc.subarray(CPU_FEATURES.filter((f) => !f.alias).map((f) => f.value)).map((values) => {
  const fs = new Array<number>(FEATURESET_NR_ENTRIES).fill(0);
  for (const v of values) fs[Math.floor(v / 32)] = ((fs[Math.floor(v / 32)] ?? 0) | (1 << v % 32)) >>> 0;
  return fs;
});

describe("features <-> leaves", () => {
  test("names: lookup, unknown name is USAGE", () => {
    expect(cpuFeature("avx512f")?.value).toBe(5 * 32 + 16);
    expect(cpuFeature("fpu")?.value).toBe(0);
    expect(cpuFeature("sse41")).toBeUndefined();
    const error = thrown(() => featuresetFromNames(["sse3", "sse41"]));
    expect([error.code, error.offset]).toEqual(["USAGE", 0]);
    expect(error.message).toContain('"sse41"');
  });

  test("property: featureset -> leaves -> featureset (any 32-bit words)", () => {
    fc.assert(
      fc.property(fc.array(u32, { minLength: FEATURESET_NR_ENTRIES, maxLength: FEATURESET_NR_ENTRIES }), (fs) => {
        const applied = applyFeatureset(FEATURE_LEAVES, FEATURE_MSRS, fs);
        expect(policyFeatureset(applied.cpuid, applied.msrs)).toEqual(fs);
        // Only the featureset registers changed: leaf 0 and 7:0.eax are kept.
        expect(applied.cpuid[0]).toEqual(FEATURE_LEAVES[0]);
        expect(applied.cpuid[2]?.a).toBe(2);
      }),
    );
  });

  test("property: features -> names -> features (named bits)", () => {
    fc.assert(
      fc.property(knownFeatureset, (fs) => {
        const names = featuresetNames(fs);
        expect(featuresetFromNames(names)).toEqual(fs);
        const applied = applyFeatureset(FEATURE_LEAVES, FEATURE_MSRS, fs);
        expect(decodeCpuPolicy(applied.cpuid, applied.msrs).features).toEqual(names);
      }),
    );
  });

  test("applyFeatureset refuses a word whose leaf is absent, or a wrong-length featureset", () => {
    const fs = new Array<number>(FEATURESET_NR_ENTRIES).fill(0);
    fs[5] = 1;
    expect(thrown(() => applyFeatureset([leaf(0, NO)], [], fs)).message).toContain("word 5 (7b0) needs CPUID leaf 0x00000007:00000000");
    fs[5] = 0;
    fs[16] = 1;
    expect(thrown(() => applyFeatureset([leaf(0, NO)], [], fs)).message).toContain("needs MSR 0x0000010a");
    expect(thrown(() => applyFeatureset([], [], [1, 2])).code).toBe("USAGE");
    // All-zero words need no leaves.
    expect(applyFeatureset([], [], new Array<number>(FEATURESET_NR_ENTRIES).fill(0))).toEqual({ cpuid: [], msrs: [] });
  });
});

const anyLeaf = fc.record({
  leaf: fc.oneof(u32, fc.integer({ min: 0, max: 0x30 }), fc.integer({ min: 0x80000000, max: 0x80000030 }), fc.constantFrom(0x40000000, 0x40000100)),
  subleaf: fc.oneof(u32, fc.integer({ min: 0, max: 70 }), fc.constant(NO)),
  a: u32,
  b: u32,
  c: u32,
  d: u32,
});
const anyMsr = fc.record({
  index: fc.oneof(u32, fc.constantFrom(0xce, 0x10a)),
  flags: fc.oneof(fc.constant(0), u32),
  value: fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
});

describe("hostile and arbitrary policies", () => {
  test("property: any entries decode, check and re-encode exactly; findings point inside the body", () => {
    fc.assert(
      fc.property(fc.array(anyLeaf, { maxLength: 140 }), fc.array(anyMsr, { maxLength: 5 }), (cpuid, msrs) => {
        const p = decodeCpuPolicy(cpuid, msrs);
        const back = encodeCpuPolicy(p);
        expect(cpuidBytes(back.cpuid)).toEqual(cpuidBytes(cpuid));
        expect(msrBytes(back.msrs)).toEqual(msrBytes(msrs));
        expect(p.featureset.length).toBe(FEATURESET_NR_ENTRIES);
        for (const f of checkCpuidPolicy(cpuid)) {
          expect(f.pos).toBeGreaterThanOrEqual(0);
          expect(f.pos).toBeLessThan(cpuid.length * 24);
          expect(Math.floor(f.pos / 24)).toBe(f.entry);
        }
        for (const f of checkMsrPolicy(msrs)) {
          expect(f.pos).toBeLessThan(msrs.length * 16);
          expect(Math.floor(f.pos / 16)).toBe(f.entry);
        }
        // Out-of-range entries are exactly the restore errors.
        const outOfRange = checkCpuidPolicy(cpuid).filter((f) => f.code === "CPUID_LEAF_OUT_OF_RANGE").map((f) => f.entry);
        expect(outOfRange).toEqual(p.leaves.filter((l) => !l.inPolicy).map((l) => l.entry));
        JSON.stringify(cpuPolicyToJSON(p));
        formatXenCpuidPolicy("Domain 1", cpuid, msrs);
      }),
      { numRuns: 200 },
    );
  });

  test.each<[string, () => unknown, string]>([
    ["not entries", () => decodeCpuPolicy(42 as unknown as CpuidLeaf[]), "cpuid must be an array"],
    ["null leaf", () => decodeCpuPolicy([null as unknown as CpuidLeaf]), "cpuid[0] must be a CPUID leaf object"],
    ["negative register", () => decodeCpuPolicy([leaf(0, NO, -1)]), "cpuid[0].a must be an integer in 0..0xffffffff, got -1"],
    ["fractional leaf", () => checkCpuidPolicy([leaf(1.5, NO)]), "cpuid[0].leaf must be an integer"],
    ["big leaf", () => formatXenCpuidPolicy("x", [leaf(2 ** 32, NO)], []), "cpuid[0].leaf must be an integer"],
    ["number MSR value", () => checkMsrPolicy([{ index: 0xce, flags: 0, value: 1 as unknown as bigint }]), "msrs[0].value must be a bigint"],
    ["MSR value over 64 bits", () => decodeCpuPolicy([], [{ index: 0xce, flags: 0, value: 1n << 64n }]), "msrs[0].value must be a bigint"],
    ["name", () => formatXenCpuidPolicy(1 as unknown as string, [], []), "name must be a string"],
    ["maxLeaves", () => checkCpuidPolicy([], { maxLeaves: -1 }), "options.maxLeaves must be an integer"],
    ["featureset word", () => featuresetNames([0.5]), "featureset[0] must be an integer"],
    ["rawFms", () => cpuFms(-1), "rawFms must be an integer"],
    ["vendor register", () => cpuVendor(0, Number.NaN, 0), "ecx must be an integer"],
    ["leaf name", () => cpuidLeafName(0, 2 ** 32), "subleaf must be an integer in 0..0xffffffff, got 4294967296"],
  ])("USAGE: %s", (_name, call, message) => {
    const error = thrown(call);
    expect(error.code).toBe("USAGE");
    expect(error.message).toContain(message);
  });

  test("records are accepted in place of entry arrays", () => {
    const record = { type: "X86_CPUID_POLICY" as const, entries: [leaf(0, NO, 1, 0x756e6547, 0x6c65746e, 0x49656e69)] };
    const msrRecord = { type: "X86_MSR_POLICY" as const, entries: FEATURE_MSRS };
    expect(decodeCpuPolicy(record, msrRecord).vendor.name).toBe("Intel");
    expect(policyFeatureset(record, msrRecord)).toEqual(new Array<number>(FEATURESET_NR_ENTRIES).fill(0));
    expect(checkCpuidPolicy(record)).toEqual([]);
    expect(checkMsrPolicy(msrRecord)).toEqual([]);
  });
});
