/**
 * The generated feature table (src/libxc/contents/cpu-features.ts) and its
 * generator (scripts/gen-cpu-features.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { parseCpuFeatureset, renderCpuFeatures } from "../../../scripts/gen-cpu-features.js";
import { CPU_FEATURES, FEATURESET_NR_ENTRIES, FEATURESET_WORDS } from "../../../src/libxc/contents/cpu-features.js";

const XEN_REPO = "/work/.mirror/xen-project+xen/repo";

describe("FEATURESET_WORDS", () => {
  test("words and their sources are cpu-policy.h's FEATURESET_* list", () => {
    // Xen 4.17.7 xen/include/xen/lib/x86/cpu-policy.h, FEATURESET_1d .. FEATURESET_e21c, with their comments.
    const expected: [string, string][] = [
      ["1d", "0x00000001.edx"],
      ["1c", "0x00000001.ecx"],
      ["e1d", "0x80000001.edx"],
      ["e1c", "0x80000001.ecx"],
      ["Da1", "0x0000000d:1.eax"],
      ["7b0", "0x00000007:0.ebx"],
      ["7c0", "0x00000007:0.ecx"],
      ["e7d", "0x80000007.edx"],
      ["e8b", "0x80000008.ebx"],
      ["7d0", "0x00000007:0.edx"],
      ["7a1", "0x00000007:1.eax"],
      ["e21a", "0x80000021.eax"],
      ["7b1", "0x00000007:1.ebx"],
      ["7d2", "0x00000007:2.edx"],
      ["7c1", "0x00000007:1.ecx"],
      ["7d1", "0x00000007:1.edx"],
      ["m10Al", "0x0000010a.eax"],
      ["m10Ah", "0x0000010a.edx"],
      ["e21c", "0x80000021.ecx"],
    ];
    expect(FEATURESET_NR_ENTRIES).toBe(19);
    expect(
      FEATURESET_WORDS.map((w) => [
        w.abbr,
        `0x${w.leaf.toString(16).padStart(8, "0")}${w.subleaf === 0xffffffff ? "" : `:${w.subleaf}`}.${w.register}`,
      ]),
    ).toEqual(expected);
    expect(FEATURESET_WORDS.map((w) => w.word)).toEqual([...Array(19).keys()]);
    expect(FEATURESET_WORDS.filter((w) => w.source === "msr").map((w) => w.word)).toEqual([16, 17]);
  });
});

describe("CPU_FEATURES", () => {
  test("selected bits and names, spelt as xen-cpuid prints them", () => {
    const byName = new Map(CPU_FEATURES.filter((f) => !f.alias).map((f) => [f.name, f]));
    const rows: [string, number, string][] = [
      ["fpu", 0, "A"],
      ["sep", 11, "A"],
      ["sse4-1", 32 + 19, "A"],
      ["sse4-2", 32 + 20, "A"],
      ["x2apic", 32 + 21, "!S"],
      ["hypervisor", 32 + 31, "!A"],
      ["lahf-lm", 3 * 32 + 0, "A"],
      ["3dnowprefetch", 3 * 32 + 8, "A"],
      ["xsaves", 4 * 32 + 3, "S"],
      ["avx512f", 5 * 32 + 16, "A"],
      ["hle", 5 * 32 + 4, "!a"],
      ["avx512-vpopcntdq", 6 * 32 + 14, "A"],
      ["ibpb", 8 * 32 + 12, "A"],
      ["arch-caps", 9 * 32 + 29, "!A"],
      ["lfence-dispatch", 11 * 32 + 2, "A"],
      ["srso-us-no", 11 * 32 + 30, "A!"],
      ["cet-sss", 15 * 32 + 18, ""],
      ["rdcl-no", 16 * 32 + 0, "A"],
      ["its-no", 17 * 32 + 30, "!A"],
      ["tsa-l1-no", 18 * 32 + 2, "A"],
    ];
    for (const [name, value, attributes] of rows) {
      expect(byName.get(name), name).toEqual({ name, value, attributes, alias: false });
    }
  });

  test("bit order, one primary name per bit, every bit inside the featureset", () => {
    const values = CPU_FEATURES.map((f) => f.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(new Set(values).size).toBe(values.length);
    const primary = CPU_FEATURES.filter((f) => !f.alias);
    expect(new Set(primary.map((f) => f.name)).size).toBe(primary.length);
    // grep -c "^XEN_CPUFEATURE(" on the 4.17.7 header.
    expect(primary.length).toBe(232);
    expect(Math.max(...values)).toBeLessThan(FEATURESET_NR_ENTRIES * 32);
  });

  test("aliases: the 18 common_1d bits repeated in word 2 (0x80000001.edx)", () => {
    const aliases = CPU_FEATURES.filter((f) => f.alias);
    expect(aliases.map((f) => f.name)).toEqual(["fpu", "vme", "de", "pse", "tsc", "msr", "pae", "mce", "cx8", "apic", "mtrr", "pge", "mca", "cmov", "pat", "pse36", "mmx", "fxsr"]);
    for (const alias of aliases) {
      const base = CPU_FEATURES.find((f) => !f.alias && f.name === alias.name);
      expect(alias.value).toBe((base?.value ?? -1) + 64);
      expect(alias.attributes).toBe(base?.attributes);
    }
  });
});

describe("scripts/gen-cpu-features.ts", () => {
  const excerpt = [
    "/* Intel-defined CPU features, CPUID level 0x00000001.edx, word 0 */",
    "XEN_CPUFEATURE(FPU,           0*32+ 0) /*A  Onboard FPU */",
    "XEN_CPUFEATURE(SEP,           0*32+11) /*A  SYSENTER/SYSEXIT */",
    "/* Intel-defined CPU features, CPUID level 0x00000001.ecx, word 1 */",
    "XEN_CPUFEATURE(SSE4_1,        1*32+19) /*A  Streaming SIMD Extensions 4.1 */",
    "/* AMD-defined CPU features, CPUID level 0x80000001.edx, word 2 */",
    "/* Intel-defined CPU features, CPUID level 0x0000000D:1.eax, word 3 */",
    "XEN_CPUFEATURE(XSAVES,        3*32+ 3) /*S  XSAVES/XRSTORS instructions */",
    "/* Intel-defined CPU features, MSR_ARCH_CAPS 0x10a.edx, word 4 (express in terms of word 3) */",
    "XEN_CPUFEATURE(ITS_NO,        3*32+62) /*!A No Indirect Target Selection */",
  ];
  const common = ["VME", "DE", "PSE", "TSC", "MSR", "PAE", "MCE", "CX8", "APIC", "MTRR", "PGE", "MCA", "CMOV", "PAT", "PSE36", "MMX", "FXSR"].map(
    (name, i) => `XEN_CPUFEATURE(${name}, 0*32+${i + 12}) /*A x */`,
  );

  test("reads words (abbreviations derived) and features (aliases added)", () => {
    const { words, features } = parseCpuFeatureset([...excerpt.slice(0, 3), ...common, ...excerpt.slice(3)].join("\n"));
    expect(words.map((w) => [w.word, w.abbr, w.source, w.leaf, w.subleaf, w.register])).toEqual([
      [0, "1d", "cpuid", 1, undefined, "edx"],
      [1, "1c", "cpuid", 1, undefined, "ecx"],
      [2, "e1d", "cpuid", 0x80000001, undefined, "edx"],
      [3, "Da1", "cpuid", 0xd, 1, "eax"],
      [4, "m10Ah", "msr", 0x10a, undefined, "edx"],
    ]);
    const named = features.map((f) => `${f.name}@${f.value}${f.alias ? "*" : ""}`);
    expect(named.slice(0, 2)).toEqual(["fpu@0", "sep@11"]);
    expect(named).toContain("sse4-1@51");
    expect(named).toContain("its-no@158");
    expect(named).toContain("fpu@64*");
    expect(named).toContain("fxsr@92*");
    const text = renderCpuFeatures(words, features, "TEST-1");
    expect(text).toContain("from Xen TEST-1");
    expect(text).toContain('{ word: 3, abbr: "Da1", source: "cpuid", leaf: 0x0000000d, subleaf: 1, register: "eax" },');
    expect(text).toContain('{ name: "its-no", value: 4 * 32 + 30, attributes: "!A", alias: false },');
  });

  test("refuses words out of order, clashing bits, unreadable lines, a missing common_1d feature", () => {
    expect(() => parseCpuFeatureset(excerpt.slice(3, 5).join("\n"))).toThrow(/word 1 out of order/);
    expect(() => parseCpuFeatureset([...excerpt.slice(0, 2), "XEN_CPUFEATURE(FPU2,  0*32+ 0) /*A dup */"].join("\n"))).toThrow(/share bit 0/);
    expect(() => parseCpuFeatureset([excerpt[0], "XEN_CPUFEATURE(FPU, 0*32+0)"].join("\n"))).toThrow(/cannot read feature line/);
    expect(() => parseCpuFeatureset(excerpt.slice(0, 2).join("\n"))).toThrow(/common_1d feature VME missing/);
    expect(() => parseCpuFeatureset("int x;\n")).toThrow(/no featureset words/);
  });

  test.skipIf(!existsSync(XEN_REPO))("the committed table is the generator's output for Xen RELEASE-4.17.7", () => {
    const header = execFileSync("git", ["-C", XEN_REPO, "show", "RELEASE-4.17.7:xen/include/public/arch-x86/cpufeatureset.h"], { encoding: "utf8" });
    const { words, features } = parseCpuFeatureset(header);
    const committed = readFileSync(new URL("../../../src/libxc/contents/cpu-features.ts", import.meta.url), "utf8");
    expect(renderCpuFeatures(words, features, "RELEASE-4.17.7")).toBe(committed);
  });
});
