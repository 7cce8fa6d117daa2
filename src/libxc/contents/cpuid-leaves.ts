/**
 * Names of CPUID leaves and subleaves as Xen's `struct cpu_policy` holds
 * them (Xen 4.17 xen/include/xen/lib/x86/cpu-policy.h), and which
 * (leaf, subleaf) pairs Xen's restore path stores
 * (xen/lib/x86/cpuid.c: x86_cpuid_copy_from_buffer()).
 *
 * Each leaf is named by its place in the policy (`basic.raw[0x1]`,
 * `feat.raw[1]`, `xstate.comp[5]`, `extd.raw[0x8]`, `hv_limit`), the
 * title of Xen's comment for it, and the named bit-fields Xen declares in
 * it, with camelCase names of Xen's members (`max_leaf` -> `maxLeaf`).
 * Featureset words (`_1c`, `e1d`, `_7b0`, ...) are not fields here: they
 * are split into feature names by cpu-policy.ts.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../../errors.js";
import type { CpuidRegister } from "./cpu-features.js";

/** XEN_CPUID_NO_SUBLEAF (public/arch-x86/xen.h). */
const NO_SUBLEAF = 0xffff_ffff;

/** First extended leaf. */
const EXTD_BASE = 0x8000_0000;

/**
 * Sizes of the leaf arrays in Xen 4.17's `struct cpu_policy`
 * (cpu-policy.h CPUID_GUEST_NR_*): the (leaf, subleaf) pairs restore accepts.
 */
export const CPUID_GUEST_NR = {
  /** CPUID_GUEST_NR_BASIC: leaves 0x0..0xd. */
  BASIC: 0xd + 1,
  /** CPUID_GUEST_NR_CACHE: leaf 0x4 subleaves 0..5. */
  CACHE: 5 + 1,
  /** CPUID_GUEST_NR_FEAT: leaf 0x7 subleaves 0..2. */
  FEAT: 2 + 1,
  /** CPUID_GUEST_NR_TOPO: leaf 0xb subleaves 0..1. */
  TOPO: 1 + 1,
  /** CPUID_GUEST_NR_XSTATE: leaf 0xd subleaves 0..62. */
  XSTATE: 62 + 1,
  /** CPUID_GUEST_NR_EXTD: leaves 0x80000000..0x80000021 (the AMD count; Intel's is 0x8 + 1). */
  EXTD: 0x21 + 1,
} as const;

/** Which union of `struct cpu_policy` a leaf lives in; `unknown` when Xen has none. */
export type CpuidLeafGroup = "basic" | "cache" | "feat" | "topo" | "xstate" | "hv" | "extd" | "unknown";

/** One named bit-field of a CPUID leaf. */
export interface CpuidFieldSpec {
  /** camelCase of Xen's member name. */
  readonly name: string;
  /** The register it lives in. */
  readonly register: CpuidRegister;
  /** Lowest bit. */
  readonly shift: number;
  /** Width in bits (1..32). */
  readonly bits: number;
  /** True for Xen's `bool x:1` members. */
  readonly boolean: boolean;
}

/** What a CPUID leaf/subleaf is. */
export interface CpuidLeafName {
  /** The `struct cpu_policy` union (or `unknown`). */
  readonly group: CpuidLeafGroup;
  /** Place in `struct cpu_policy` as a C expression, or undefined when Xen has none. */
  readonly member: string | undefined;
  /** What the leaf holds: the title of Xen's comment, else the vendor manual's; undefined when unnamed. */
  readonly title: string | undefined;
  /** True when Xen 4.17's restore stores this (leaf, subleaf) (x86_cpuid_copy_from_buffer()); false ones make restore fail with -ERANGE. */
  readonly inPolicy: boolean;
  /** Named bit-fields (featureset words excluded). */
  readonly fields: readonly CpuidFieldSpec[];
}

function field(name: string, register: CpuidRegister, shift: number, bits: number, boolean = false): CpuidFieldSpec {
  return { name, register, shift, bits, boolean };
}

const NO_FIELDS: readonly CpuidFieldSpec[] = [];

/** Leaf 0x0 and 0x80000000: max leaf and vendor (cpu-policy.h). */
const MAX_AND_VENDOR = [field("maxLeaf", "eax", 0, 32), field("vendorEbx", "ebx", 0, 32), field("vendorEcx", "ecx", 0, 32), field("vendorEdx", "edx", 0, 32)];

/** Basic leaves 0x0..0xd without subleaves: title and fields (cpu-policy.h `basic`). */
const BASIC: Readonly<Record<number, { title: string; fields: readonly CpuidFieldSpec[] }>> = {
  0x0: { title: "Max and vendor", fields: MAX_AND_VENDOR },
  0x1: {
    title: "Family/model/stepping and features",
    fields: [field("rawFms", "eax", 0, 32), field("clflushSize", "ebx", 8, 8), field("lppp", "ebx", 16, 8), field("apicId", "ebx", 24, 8)],
  },
  0x2: { title: "TLB/Cache/Prefetch", fields: [field("l2NrQueries", "eax", 0, 8)] },
  0x3: { title: "PSN", fields: NO_FIELDS },
  0x5: { title: "MONITOR", fields: NO_FIELDS },
  0x6: { title: "Therm/Perf", fields: NO_FIELDS },
  0x8: { title: "rsvd", fields: NO_FIELDS },
  0x9: { title: "DCA", fields: NO_FIELDS },
  0xa: { title: "Intel PMU", fields: [field("pmuVersion", "eax", 0, 8)] },
  0xc: { title: "rsvd", fields: NO_FIELDS },
};

/**
 * Basic leaves beyond Xen's policy (0xe and up): titles from Intel's SDM
 * vol. 2A, CPUID. Restore refuses them.
 */
const BASIC_BEYOND_XEN: Readonly<Record<number, string>> = {
  0xf: "Intel RDT monitoring",
  0x10: "Intel RDT allocation",
  0x12: "Intel SGX",
  0x14: "Intel Processor Trace",
  0x15: "TSC and core crystal clock",
  0x16: "Processor frequency",
  0x17: "SoC vendor attributes",
  0x18: "Deterministic address translation",
  0x19: "Key Locker",
  0x1a: "Native model ID",
  0x1b: "PCONFIG",
  0x1c: "Last branch records",
  0x1d: "Tile information",
  0x1e: "TMUL information",
  0x1f: "V2 extended topology",
  0x20: "Processor history reset",
  0x23: "Architectural performance monitoring extended",
  0x24: "AVX10 converged vector ISA",
};

/** Extended leaves (cpu-policy.h `extd`), by leaf - 0x80000000. */
const EXTD: Readonly<Record<number, { title: string; fields: readonly CpuidFieldSpec[] }>> = {
  0x0: { title: "Max and vendor", fields: MAX_AND_VENDOR },
  0x1: { title: "Family/model/stepping and features", fields: [field("rawFms", "eax", 0, 32)] },
  0x2: { title: "Brand string", fields: NO_FIELDS },
  0x3: { title: "Brand string", fields: NO_FIELDS },
  0x4: { title: "Brand string", fields: NO_FIELDS },
  0x5: { title: "L1 cache/TLB", fields: NO_FIELDS },
  0x6: { title: "L2/3 cache/TLB", fields: NO_FIELDS },
  0x7: { title: "Advanced Power Management", fields: NO_FIELDS },
  0x8: {
    title: "Misc addr/feature info",
    fields: [field("maxphysaddr", "eax", 0, 8), field("maxlinaddr", "eax", 8, 8), field("nc", "ecx", 0, 8), field("apicIdSize", "ecx", 12, 4)],
  },
  0xa: { title: "SVM rev and features", fields: NO_FIELDS },
  0x19: { title: "TLB 1GB Identifiers", fields: NO_FIELDS },
  0x1a: { title: "Performance related info", fields: NO_FIELDS },
  0x1b: { title: "IBS feature information", fields: NO_FIELDS },
  0x1d: { title: "Cache properties", fields: NO_FIELDS },
  0x1e: { title: "Extd APIC/Core/Node IDs", fields: NO_FIELDS },
  0x1f: { title: "AMD Secure Encryption", fields: NO_FIELDS },
  0x20: { title: "Platform QoS", fields: NO_FIELDS },
  0x21: { title: "Extended Feature 2", fields: [field("ucodeSize", "ebx", 0, 16), field("rapSize", "ebx", 16, 8)] },
};

/**
 * Extended leaves beyond Xen's policy: titles from AMD's APM vol. 3,
 * appendix E (CPUID). Restore refuses them.
 */
const EXTD_BEYOND_XEN: Readonly<Record<number, string>> = {
  0x22: "Extended performance monitoring and debug",
  0x23: "Secure Multi-key Encryption",
  0x26: "Extended CPU topology",
};

/** struct cpuid_cache_leaf (leaf 0x4 subleaves). */
const CACHE_FIELDS = [
  field("type", "eax", 0, 5),
  field("level", "eax", 5, 3),
  field("selfInit", "eax", 8, 1, true),
  field("fullyAssoc", "eax", 9, 1, true),
  field("threadsPerCache", "eax", 14, 12),
  field("coresPerPackage", "eax", 26, 6),
  field("lineSize", "ebx", 0, 12),
  field("partitions", "ebx", 12, 10),
  field("ways", "ebx", 22, 10),
  field("sets", "ecx", 0, 32),
  field("wbinvd", "edx", 0, 1, true),
  field("inclusive", "edx", 1, 1, true),
  field("complex", "edx", 2, 1, true),
];

/** struct cpuid_topo_leaf (leaf 0xb subleaves). */
const TOPO_FIELDS = [
  field("idShift", "eax", 0, 5),
  field("nrLogical", "ebx", 0, 16),
  field("level", "ecx", 0, 8),
  field("type", "ecx", 8, 8),
  field("x2apicId", "edx", 0, 32),
];

/** Leaf 0xd subleaf 0, subleaf 1 and the per-component subleaves 2.. (cpu-policy.h `xstate`). */
const XSTATE0_FIELDS = [field("xcr0Low", "eax", 0, 32), field("maxSize", "ecx", 0, 32), field("xcr0High", "edx", 0, 32)];
const XSTATE1_FIELDS = [field("xssLow", "ecx", 0, 32), field("xssHigh", "edx", 0, 32)];
const XSTATE_COMP_FIELDS = [field("size", "eax", 0, 32), field("offset", "ebx", 0, 32), field("xss", "ecx", 0, 1, true), field("align", "ecx", 1, 1, true)];

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

function unknownLeaf(group: CpuidLeafGroup, title: string | undefined): CpuidLeafName {
  return { group, member: undefined, title, inPolicy: false, fields: NO_FIELDS };
}

/** A leaf with subleaves held in a `group.subleaf[]`/`group.raw[]` array of `count` entries. */
function subleafLeaf(
  group: CpuidLeafGroup,
  array: string,
  title: string,
  subleaf: number,
  count: number,
  fields: readonly CpuidFieldSpec[],
): CpuidLeafName {
  if (subleaf >= count) return { group, member: undefined, title, inPolicy: false, fields };
  return { group, member: `${group}.${array}[${subleaf}]`, title, inPolicy: true, fields };
}

/**
 * Names a CPUID leaf/subleaf the way Xen's `struct cpu_policy` holds it.
 * Any pair of u32s gets an answer, with `inPolicy: false`
 * where Xen 4.17's restore would refuse it (x86_cpuid_copy_from_buffer()
 * returns -ERANGE: a subleaf on a leaf without subleaves, a subleaf beyond
 * the array, a leaf outside 0x0..0xd, 0x40000000, 0x40000100 and
 * 0x80000000..0x80000021).
 *
 * @param leaf - the entry's `leaf`.
 * @param subleaf - the entry's `subleaf` (0xffffffff for none).
 * @returns its group, C member, title, restore acceptance and bit-fields.
 * @throws XenStreamError `USAGE` when leaf or subleaf is not a u32.
 */
export function cpuidLeafName(leaf: number, subleaf: number): CpuidLeafName {
  for (const [name, value] of [["leaf", leaf], ["subleaf", subleaf]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
      throw new XenStreamError("USAGE", 0, `${name} must be an integer in 0..0xffffffff, got ${describeValue(value)}`);
    }
  }
  if (leaf < CPUID_GUEST_NR.BASIC) {
    switch (leaf) {
      case 0x4:
        return subleafLeaf("cache", "subleaf", "Structured Cache", subleaf, CPUID_GUEST_NR.CACHE, CACHE_FIELDS);
      case 0x7: {
        const name = subleafLeaf("feat", "raw", "Structured Features", subleaf, CPUID_GUEST_NR.FEAT, NO_FIELDS);
        return subleaf === 0 ? { ...name, fields: [field("maxSubleaf", "eax", 0, 32)] } : name;
      }
      case 0xb:
        return subleafLeaf("topo", "subleaf", "Topology", subleaf, CPUID_GUEST_NR.TOPO, TOPO_FIELDS);
      case 0xd: {
        if (subleaf === 0) return subleafLeaf("xstate", "raw", "XSTATE", 0, CPUID_GUEST_NR.XSTATE, XSTATE0_FIELDS);
        if (subleaf === 1) return subleafLeaf("xstate", "raw", "XSTATE", 1, CPUID_GUEST_NR.XSTATE, XSTATE1_FIELDS);
        return subleafLeaf("xstate", "comp", "XSTATE", subleaf, CPUID_GUEST_NR.XSTATE, XSTATE_COMP_FIELDS);
      }
      default: {
        const known = BASIC[leaf];
        const title = known?.title;
        const fields = known?.fields ?? NO_FIELDS;
        if (subleaf !== NO_SUBLEAF) return { group: "basic", member: undefined, title, inPolicy: false, fields };
        return { group: "basic", member: `basic.raw[${hex(leaf)}]`, title, inPolicy: true, fields };
      }
    }
  }
  if (leaf < 0x4000_0000) return unknownLeaf("basic", BASIC_BEYOND_XEN[leaf]);
  if (leaf === 0x4000_0000 || leaf === 0x4000_0100) {
    const second = leaf === 0x4000_0100;
    const member = second ? "hv2_limit" : "hv_limit";
    const title = `Toolstack selected hypervisor max_leaf${second ? " (second set)" : ""}`;
    // Xen stores eax into a uint8_t and ignores ebx..edx (x86_cpuid_copy_from_buffer()).
    const fields = [field(second ? "hv2Limit" : "hvLimit", "eax", 0, 8)];
    return { group: "hv", member: subleaf === NO_SUBLEAF ? member : undefined, title, inPolicy: subleaf === NO_SUBLEAF, fields };
  }
  if (leaf < EXTD_BASE) return unknownLeaf(leaf <= 0x4000_ffff ? "hv" : "unknown", undefined);
  const index = leaf - EXTD_BASE;
  const known = EXTD[index];
  const title = known?.title ?? EXTD_BEYOND_XEN[index];
  const fields = known?.fields ?? NO_FIELDS;
  if (index >= CPUID_GUEST_NR.EXTD || subleaf !== NO_SUBLEAF) return { group: index >= CPUID_GUEST_NR.EXTD ? "unknown" : "extd", member: undefined, title, inPolicy: false, fields };
  return { group: "extd", member: `extd.raw[${hex(index)}]`, title, inPolicy: true, fields };
}

/**
 * The value of one bit-field in a leaf's registers.
 *
 * @param spec - the field.
 * @param registers - eax..edx as `a`..`d`.
 * @returns the field's value (a boolean for Xen's `bool` members).
 */
export function cpuidFieldValue(spec: CpuidFieldSpec, registers: { a: number; b: number; c: number; d: number }): number | boolean {
  const word = spec.register === "eax" ? registers.a : spec.register === "ebx" ? registers.b : spec.register === "ecx" ? registers.c : registers.d;
  const value = (word >>> spec.shift) % 2 ** spec.bits;
  return spec.boolean ? value !== 0 : value;
}
