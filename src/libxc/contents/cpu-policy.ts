/**
 * The insides of X86_CPUID_POLICY and X86_MSR_POLICY, decoded on demand:
 * every leaf named as Xen's `struct cpu_policy` holds it, vendor and
 * family/model/stepping derived as Xen does, the featureset words split into
 * Xen's feature names, the policy MSRs named with their bit-fields, the text
 * `xen-cpuid -p` prints for a domain, a JSON shape, and the checks Xen's
 * restore applies (xen/lib/x86/cpuid.c: x86_cpuid_copy_from_buffer(),
 * xen/lib/x86/msr.c: x86_msr_copy_from_buffer(), xen/lib/x86/policy.c:
 * x86_cpu_policies_are_compatible()).
 *
 * Nothing here runs while a stream is decoded: the record codec
 * (records/arrays.ts) gives the entries, these functions read them when
 * asked. Sources are Xen RELEASE-4.17.7 unless said otherwise; see
 * guides/cpu-policy.md.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../../errors.js";
import { objectArray } from "../../wire/codec.js";
import type { CpuidLeaf, MsrEntry, X86CpuidPolicyRecord, X86MsrPolicyRecord } from "../types.js";
import { CPU_FEATURES, FEATURESET_NR_ENTRIES, FEATURESET_WORDS, type CpuFeature, type CpuidRegister, type FeaturesetWord } from "./cpu-features.js";
import { CPUID_GUEST_NR, cpuidFieldValue, cpuidLeafName, type CpuidLeafGroup } from "./cpuid-leaves.js";

// ------------------------------------------------------------ constants

/** XEN_CPUID_NO_SUBLEAF (public/arch-x86/xen.h). */
const NO_SUBLEAF = 0xffff_ffff;
/** sizeof(xen_cpuid_leaf_t), sizeof(xen_msr_entry_t) (public/arch-x86/xen.h). */
const CPUID_ENTRY_SIZE = 24;
const MSR_ENTRY_SIZE = 16;

/** MSR_INTEL_PLATFORM_INFO (xen/arch/x86/include/asm/msr-index.h). */
export const MSR_INTEL_PLATFORM_INFO = 0x0000_00ce;
/** MSR_ARCH_CAPABILITIES (xen/arch/x86/include/asm/msr-index.h). */
export const MSR_ARCH_CAPABILITIES = 0x0000_010a;

/**
 * CPUID_MAX_SERIALISED_LEAVES of Xen 4.17 (cpu-policy.h): BASIC 14 + FEAT
 * 2 + CACHE 5 + TOPO 1 + XSTATE 62 + EXTD 34 + 2 hypervisor limits = 120.
 * x86_cpuid_copy_from_buffer() refuses more with -E2BIG.
 */
export const CPUID_MAX_SERIALISED_LEAVES =
  CPUID_GUEST_NR.BASIC +
  CPUID_GUEST_NR.FEAT - 1 +
  CPUID_GUEST_NR.CACHE - 1 +
  CPUID_GUEST_NR.TOPO - 1 +
  CPUID_GUEST_NR.XSTATE - 1 +
  CPUID_GUEST_NR.EXTD +
  2;

/** MSR_MAX_SERIALISED_ENTRIES (cpu-policy.h); more is -E2BIG. */
export const MSR_MAX_SERIALISED_ENTRIES = 2;

/**
 * Xen's vendor ids (xen/arch/x86/include/asm/x86-vendors.h X86_VENDOR_*),
 * with the leaf 0 ebx/ecx/edx that select them.
 */
export const X86_VENDORS = [
  { id: "X86_VENDOR_INTEL", value: 1 << 0, name: "Intel", ebx: 0x756e_6547, ecx: 0x6c65_746e, edx: 0x4965_6e69 },
  { id: "X86_VENDOR_AMD", value: 1 << 1, name: "AMD", ebx: 0x6874_7541, ecx: 0x444d_4163, edx: 0x6974_6e65 },
  { id: "X86_VENDOR_CENTAUR", value: 1 << 2, name: "Centaur", ebx: 0x746e_6543, ecx: 0x736c_7561, edx: 0x4872_7561 },
  { id: "X86_VENDOR_SHANGHAI", value: 1 << 3, name: "Shanghai", ebx: 0x6853_2020, ecx: 0x2020_6961, edx: 0x6867_6e61 },
  { id: "X86_VENDOR_HYGON", value: 1 << 4, name: "Hygon", ebx: 0x6f67_7948, ecx: 0x656e_6975, edx: 0x6e65_476e },
] as const;

/** A Xen vendor id name, or X86_VENDOR_UNKNOWN. */
export type X86VendorId = (typeof X86_VENDORS)[number]["id"] | "X86_VENDOR_UNKNOWN";

/**
 * The MSRs a policy carries (xen/lib/x86/msr.c: x86_msr_copy_to_buffer()),
 * with their `struct cpu_policy` member and its width.
 */
const POLICY_MSRS: Readonly<Record<number, { name: string; member: string; bits: 32 | 64 }>> = {
  [MSR_INTEL_PLATFORM_INFO]: { name: "MSR_INTEL_PLATFORM_INFO", member: "platform_info", bits: 32 },
  [MSR_ARCH_CAPABILITIES]: { name: "MSR_ARCH_CAPABILITIES", member: "arch_caps", bits: 64 },
};

/** platform_info.cpuid_faulting: bit 31 of MSR_INTEL_PLATFORM_INFO (cpu-policy.h). */
const PLATFORM_INFO_CPUID_FAULTING = 0x8000_0000;

// ------------------------------------------------------------ types

/** Vendor, from CPUID leaf 0 (xen/lib/x86/cpuid.c: x86_cpuid_lookup_vendor()). */
export interface CpuVendor {
  /** The 12-character vendor string (ebx, edx, ecx), e.g. `AuthenticAMD`. */
  string: string;
  /** Xen's X86_VENDOR_* name. */
  id: X86VendorId;
  /** Xen's X86_VENDOR_* value (0 when unknown). */
  value: number;
  /** x86_cpuid_vendor_to_str(): `Intel`, `AMD`, ..., `Unknown`. */
  name: string;
}

/** Family, model and stepping of a CPUID 0x1.eax value. */
export interface CpuFms {
  /** Family, extended family added when the base family is 0xf. */
  family: number;
  /** Model, extended model merged when the family is 6 or more. */
  model: number;
  /** Stepping. */
  stepping: number;
}

/** One featureset word found in a register, split into names. */
export interface FeatureWordValue {
  /** Featureset word index. */
  word: number;
  /** FEATURESET_ suffix (`1c`, `e1d`, `7b0`, `m10Al` ...). */
  abbr: string;
  /** The register (for an MSR: `eax` = low half, `edx` = high half). */
  register: CpuidRegister;
  /** The 32-bit word. */
  value: number;
  /** Names of the set bits Xen names, in bit order. */
  features: string[];
  /** Set bits Xen has no name for. */
  unknownBits: number[];
}

/** One decoded xen_cpuid_leaf_t. */
export interface CpuidLeafInfo extends CpuidLeaf {
  /** Entry index in the record. */
  entry: number;
  /** Byte position of the entry in the record body. */
  pos: number;
  /** The `struct cpu_policy` union it belongs to. */
  group: CpuidLeafGroup;
  /** Place in `struct cpu_policy` (`basic.raw[0x1]`, `feat.raw[0]` ...), undefined when Xen has none. */
  member: string | undefined;
  /** What the leaf holds, undefined when unnamed. */
  title: string | undefined;
  /** Whether Xen's restore accepts this (leaf, subleaf). */
  inPolicy: boolean;
  /**
   * Why restore does not keep this entry's data as is (a later duplicate
   * replaces it; out of range of max_leaf and friends; hypervisor limit
   * truncated), undefined when it keeps it or the entry is not `inPolicy`.
   */
  discarded: string | undefined;
  /** Named bit-fields, camelCase of Xen's members. */
  fields: Record<string, number | boolean>;
  /** Featureset words held in this leaf, split into feature names. */
  featureWords: FeatureWordValue[];
}

/** One decoded xen_msr_entry_t. */
export interface MsrInfo extends MsrEntry {
  /** Entry index in the record. */
  entry: number;
  /** Byte position of the entry in the record body. */
  pos: number;
  /** Xen's MSR_* name, undefined for an MSR the policy does not carry. */
  name: string | undefined;
  /** The `struct cpu_policy` member (`platform_info`, `arch_caps`), if any. */
  member: string | undefined;
  /** Named bit-fields (`cpuidFaulting` for platform_info). */
  fields: Record<string, number | boolean>;
  /** Featureset words held in this MSR (arch_caps: m10Al, m10Ah). */
  featureWords: FeatureWordValue[];
}

/** A decoded CPU policy: the CPUID leaves and, optionally, the MSRs. */
export interface CpuPolicy {
  /** Vendor from leaf 0. */
  vendor: CpuVendor;
  /** CPUID 0x1.eax (`basic.raw_fms`). */
  rawFms: number;
  /** Family (get_cpu_family()). */
  family: number;
  /** Model. */
  model: number;
  /** Stepping. */
  stepping: number;
  /** `basic.max_leaf`. */
  maxLeaf: number;
  /** `extd.max_leaf` (0x80000000.eax). */
  extdMaxLeaf: number;
  /** The brand string of leaves 0x80000002..4, up to its first NUL. */
  brand: string;
  /** FEATURESET_NR_ENTRIES words (x86_cpu_policy_to_featureset()). */
  featureset: number[];
  /** Names of every set feature bit, in bit order, each name once. */
  features: string[];
  /** Set featureset bits (word * 32 + bit) that Xen has no name for. */
  unknownFeatureBits: number[];
  /** Every CPUID entry, in record order. */
  leaves: CpuidLeafInfo[];
  /** Every MSR entry, in record order (empty when no MSR policy was given). */
  msrs: MsrInfo[];
}

// ------------------------------------------------------------ helpers

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, "0");
}

function hex64(value: bigint): string {
  return `0x${value.toString(16).padStart(16, "0")}`;
}

function registerValue(leaf: CpuidLeaf, register: CpuidRegister): number {
  switch (register) {
    case "eax":
      return leaf.a;
    case "ebx":
      return leaf.b;
    case "ecx":
      return leaf.c;
    case "edx":
      return leaf.d;
  }
}

function leafKey(leaf: number, subleaf: number): string {
  return `${leaf}:${subleaf}`;
}

// The lookup tables below are built on first use, not at import (the
// CLI's start-up pays for no table a command does not read).

let featureByValueMap: Map<number, CpuFeature> | undefined;
/** Feature by bit number; the primary (non-alias) one first. */
function featureByValue(): Map<number, CpuFeature> {
  if (featureByValueMap === undefined) {
    featureByValueMap = new Map<number, CpuFeature>();
    for (const feature of CPU_FEATURES) featureByValueMap.set(feature.value, feature);
  }
  return featureByValueMap;
}

let featureByNameMap: Map<string, CpuFeature> | undefined;
/** Primary (non-alias) feature by name. */
function featureByName(): Map<string, CpuFeature> {
  if (featureByNameMap === undefined) {
    featureByNameMap = new Map<string, CpuFeature>();
    for (const feature of CPU_FEATURES) if (!feature.alias) featureByNameMap.set(feature.name, feature);
  }
  return featureByNameMap;
}

let wordsByLeafMap: Map<string, FeaturesetWord[]> | undefined;
/** Featureset words by the CPUID (leaf, subleaf) they live in. */
function wordsByLeaf(): Map<string, FeaturesetWord[]> {
  if (wordsByLeafMap === undefined) {
    wordsByLeafMap = new Map<string, FeaturesetWord[]>();
    for (const word of FEATURESET_WORDS) {
      if (word.source !== "cpuid") continue;
      const key = leafKey(word.leaf, word.subleaf);
      const list = wordsByLeafMap.get(key) ?? [];
      list.push(word);
      wordsByLeafMap.set(key, list);
    }
  }
  return wordsByLeafMap;
}

function splitWord(word: FeaturesetWord, value: number): FeatureWordValue {
  const features: string[] = [];
  const unknownBits: number[] = [];
  for (let bit = 0; bit < 32; bit++) {
    if (((value >>> bit) & 1) === 0) continue;
    const feature = featureByValue().get(word.word * 32 + bit);
    if (feature === undefined) unknownBits.push(bit);
    else features.push(feature.name);
  }
  return { word: word.word, abbr: word.abbr, register: word.register, value: value >>> 0, features, unknownBits };
}

function assertEntries<T>(value: unknown, what: string, argument: string): readonly T[] {
  if (Array.isArray(value)) return value as T[];
  if (typeof value === "object" && value !== null && Array.isArray((value as { entries?: unknown }).entries)) {
    return (value as { entries: T[] }).entries;
  }
  throw new XenStreamError("USAGE", 0, `${argument} must be an array of ${what} or a record with entries`);
}

function assertU32(value: unknown, name: string): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw new XenStreamError("USAGE", 0, `${name} must be an integer in 0..0xffffffff, got ${describeValue(value)}`);
  }
}

function checkLeaves(leaves: readonly CpuidLeaf[], argument: string): void {
  leaves.forEach((leaf, i) => {
    if (typeof leaf !== "object" || leaf === null) throw new XenStreamError("USAGE", 0, `${argument}[${i}] must be a CPUID leaf object`);
    for (const key of ["leaf", "subleaf", "a", "b", "c", "d"] as const) assertU32(leaf[key], `${argument}[${i}].${key}`);
  });
}

function checkMsrs(msrs: readonly MsrEntry[], argument: string): void {
  msrs.forEach((msr, i) => {
    if (typeof msr !== "object" || msr === null) throw new XenStreamError("USAGE", 0, `${argument}[${i}] must be an MSR entry object`);
    assertU32(msr.index, `${argument}[${i}].index`);
    assertU32(msr.flags, `${argument}[${i}].flags`);
    if (typeof msr.value !== "bigint" || msr.value < 0n || msr.value > 0xffff_ffff_ffff_ffffn) {
      throw new XenStreamError("USAGE", 0, `${argument}[${i}].value must be a bigint in 0..2^64-1`);
    }
  });
}

const ZERO_LEAF: CpuidLeaf = { leaf: 0, subleaf: 0, a: 0, b: 0, c: 0, d: 0 };

/** Looks a (leaf, subleaf) up in a policy. */
type LeafLookup = (leaf: number, subleaf?: number) => CpuidLeaf;

/**
 * The policy Xen holds after restore: x86_cpuid_copy_from_buffer() merges
 * the in-range entries (a later duplicate replacing an earlier one), then
 * x86_cpu_policy_clear_out_of_range_leaves() zeroes what is out of range,
 * and the hypervisor limits keep only their low 8 bits. Leaves absent from
 * the record are zero here: Xen's saver writes every in-range leaf
 * (x86_cpuid_copy_to_buffer()), and the guest reads zeros out of range
 * (guest_cpuid()); see guides/cpu-policy.md.
 */
class EffectiveLeaves {
  private readonly merged = new Map<string, CpuidLeaf>();
  private readonly reasons = new Map<string, string>();
  private readonly lookupMerged: LeafLookup = (leaf, subleaf = NO_SUBLEAF) => this.merged.get(leafKey(leaf, subleaf)) ?? ZERO_LEAF;

  constructor(leaves: readonly CpuidLeaf[]) {
    for (const leaf of leaves) if (cpuidLeafName(leaf.leaf, leaf.subleaf).inPolicy) this.merged.set(leafKey(leaf.leaf, leaf.subleaf), leaf);
    for (const [key, leaf] of this.merged) {
      const reason = discardReason(leaf, this.lookupMerged);
      if (reason !== undefined) this.reasons.set(key, reason);
    }
  }

  /** The leaf as Xen holds it after restore (zero when absent or cleared). */
  get(leaf: number, subleaf: number = NO_SUBLEAF): CpuidLeaf {
    const key = leafKey(leaf, subleaf);
    const found = this.merged.get(key);
    if (found === undefined) return ZERO_LEAF;
    if (!this.reasons.has(key)) return found;
    if (leaf === 0x4000_0000 || leaf === 0x4000_0100) return { leaf, subleaf, a: found.a & 0xff, b: 0, c: 0, d: 0 };
    return ZERO_LEAF;
  }

  /** True when this entry is the one Xen keeps for its (leaf, subleaf). */
  isKept(leaf: CpuidLeaf): boolean {
    return this.merged.get(leafKey(leaf.leaf, leaf.subleaf)) === leaf;
  }

  /** Why restore drops (part of) the kept entry's data, if it does. */
  discarded(leaf: number, subleaf: number): string | undefined {
    return this.reasons.get(leafKey(leaf, subleaf));
  }
}

/** The effective MSR value (last entry wins), 0 when absent. */
function effectiveMsr(msrs: readonly MsrEntry[], index: number): bigint {
  let value = 0n;
  for (const msr of msrs) if (msr.index === index) value = msr.value;
  return value;
}

// ------------------------------------------------------------ vendor, FMS

/**
 * Xen's vendor for CPUID leaf 0's ebx/ecx/edx
 * (xen/lib/x86/cpuid.c: x86_cpuid_lookup_vendor(), x86_cpuid_vendor_to_str()).
 *
 * @param ebx - leaf 0 ebx.
 * @param ecx - leaf 0 ecx.
 * @param edx - leaf 0 edx.
 * @returns the vendor string and Xen's id and name for it.
 * @throws XenStreamError `USAGE` when a register is not a u32.
 */
export function cpuVendor(ebx: number, ecx: number, edx: number): CpuVendor {
  assertU32(ebx, "ebx");
  assertU32(ecx, "ecx");
  assertU32(edx, "edx");
  let text = "";
  for (const word of [ebx, edx, ecx]) for (let i = 0; i < 4; i++) text += String.fromCharCode((word >>> (8 * i)) & 0xff);
  const known = X86_VENDORS.find((v) => v.ebx === ebx >>> 0 && v.ecx === ecx >>> 0 && v.edx === edx >>> 0);
  if (known === undefined) return { string: text, id: "X86_VENDOR_UNKNOWN", value: 0, name: "Unknown" };
  return { string: text, id: known.id, value: known.value, name: known.name };
}

/**
 * Family, model and stepping of a CPUID 0x1.eax value, exactly as Xen
 * computes them (xen/arch/x86/include/asm/processor.h: get_cpu_family()):
 * family = bits 8..11, plus bits 20..27 when that is 0xf; model = bits
 * 4..7, with bits 16..19 above them when the family is 6 or more (the
 * result kept to 8 bits, as Xen's uint8_t); stepping = bits 0..3.
 *
 * @param rawFms - CPUID 0x1.eax.
 * @returns family, model and stepping.
 * @throws XenStreamError `USAGE` when rawFms is not a u32.
 */
export function cpuFms(rawFms: number): CpuFms {
  assertU32(rawFms, "rawFms");
  let family = (rawFms >>> 8) & 0xf;
  if (family === 0xf) family = (family + ((rawFms >>> 20) & 0xff)) & 0xff;
  let model = (rawFms >>> 4) & 0xf;
  if (family >= 0x6) model |= (rawFms >>> 12) & 0xf0;
  return { family, model, stepping: rawFms & 0xf };
}

// ------------------------------------------------------------ features

/**
 * Looks a feature up by the name xen-cpuid prints (`sse4-2`, `avx512f`).
 *
 * @param name - lower-case feature name.
 * @returns the feature (for the names AMD repeats in 0x80000001.edx, the 0x1.edx one), or undefined.
 */
export function cpuFeature(name: string): CpuFeature | undefined {
  return featureByName().get(name);
}

/**
 * Names of the set bits of a featureset, in bit order (each name once: a
 * 0x1.edx bit and its 0x80000001.edx copy give one name).
 *
 * @param featureset - featureset words (any length; bits beyond Xen's words are unnamed).
 * @returns the names.
 * @throws XenStreamError `USAGE` when a word is not a u32.
 */
export function featuresetNames(featureset: readonly number[]): string[] {
  const names = new Set<string>();
  featureset.forEach((word, i) => {
    assertU32(word, `featureset[${i}]`);
    for (let bit = 0; bit < 32; bit++) {
      if (((word >>> bit) & 1) === 0) continue;
      const feature = featureByValue().get(i * 32 + bit);
      if (feature !== undefined) names.add(feature.name);
    }
  });
  return [...names];
}

/**
 * The featureset with exactly the named features set (the 0x1.edx bit for
 * names AMD repeats in 0x80000001.edx).
 *
 * @param names - feature names as xen-cpuid prints them.
 * @returns FEATURESET_NR_ENTRIES words.
 * @throws XenStreamError `USAGE` naming an unknown feature.
 */
export function featuresetFromNames(names: Iterable<string>): number[] {
  const featureset = new Array<number>(FEATURESET_NR_ENTRIES).fill(0);
  for (const name of names) {
    const feature = featureByName().get(name);
    if (feature === undefined) throw new XenStreamError("USAGE", 0, `names: unknown CPU feature ${JSON.stringify(name)}`);
    const word = Math.floor(feature.value / 32);
    featureset[word] = ((featureset[word] ?? 0) | (1 << feature.value % 32)) >>> 0;
  }
  return featureset;
}

/**
 * The featureset words of a serialised policy
 * (xen/lib/x86/cpuid.c: x86_cpu_policy_to_featureset()), read from the
 * policy Xen would hold: in-range entries, the last of duplicates, absent
 * leaves zero; words 16/17 from MSR_ARCH_CAPABILITIES.
 *
 * @param cpuid - the CPUID entries (or the X86_CPUID_POLICY record).
 * @param msrs - the MSR entries (or the X86_MSR_POLICY record); omitted: words 16/17 are zero.
 * @returns FEATURESET_NR_ENTRIES words.
 * @throws XenStreamError `USAGE` when an argument is not entries.
 */
export function policyFeatureset(
  cpuid: readonly CpuidLeaf[] | X86CpuidPolicyRecord,
  msrs: readonly MsrEntry[] | X86MsrPolicyRecord = [],
): number[] {
  const leaves = assertEntries<CpuidLeaf>(cpuid, "CPUID leaves", "cpuid");
  const msrList = assertEntries<MsrEntry>(msrs, "MSR entries", "msrs");
  checkLeaves(leaves, "cpuid");
  checkMsrs(msrList, "msrs");
  return featuresetOf(new EffectiveLeaves(leaves), msrList);
}

function featuresetOf(effective: EffectiveLeaves, msrs: readonly MsrEntry[]): number[] {
  const archCaps = effectiveMsr(msrs, MSR_ARCH_CAPABILITIES);
  return FEATURESET_WORDS.map((word) => {
    if (word.source === "msr") return Number(word.register === "eax" ? archCaps & 0xffff_ffffn : archCaps >> 32n);
    return registerValue(effective.get(word.leaf, word.subleaf), word.register) >>> 0;
  });
}

/**
 * Writes featureset words back into a serialised policy
 * (x86_cpu_featureset_to_policy()): every entry holding a word gets the new
 * word, the rest is kept; the inputs are not modified.
 *
 * @param cpuid - the CPUID entries.
 * @param msrs - the MSR entries.
 * @param featureset - FEATURESET_NR_ENTRIES words.
 * @returns new entry arrays.
 * @throws XenStreamError `USAGE` when the featureset has the wrong length, or
 *   a non-zero word's leaf (or MSR_ARCH_CAPABILITIES) is not in the policy.
 */
export function applyFeatureset(
  cpuid: readonly CpuidLeaf[],
  msrs: readonly MsrEntry[],
  featureset: readonly number[],
): { cpuid: CpuidLeaf[]; msrs: MsrEntry[] } {
  checkLeaves(cpuid, "cpuid");
  checkMsrs(msrs, "msrs");
  if (!Array.isArray(featureset) || featureset.length !== FEATURESET_NR_ENTRIES) {
    throw new XenStreamError("USAGE", 0, `featureset must have ${FEATURESET_NR_ENTRIES} words`);
  }
  featureset.forEach((word, i) => assertU32(word, `featureset[${i}]`));
  const newCpuid = cpuid.map((leaf) => ({ ...leaf }));
  const newMsrs = msrs.map((msr) => ({ ...msr }));
  for (const word of FEATURESET_WORDS) {
    const value = featureset[word.word] ?? 0;
    if (word.source === "msr") {
      const targets = newMsrs.filter((msr) => msr.index === word.leaf);
      if (targets.length === 0 && value !== 0) throw new XenStreamError("USAGE", 0, `featureset word ${word.word} (${word.abbr}) needs MSR 0x${hex(word.leaf, 8)} in msrs`);
      for (const msr of targets) {
        const low = word.register === "eax" ? BigInt(value) : msr.value & 0xffff_ffffn;
        const high = word.register === "edx" ? BigInt(value) : msr.value >> 32n;
        msr.value = (high << 32n) | low;
      }
      continue;
    }
    const targets = newCpuid.filter((leaf) => leaf.leaf === word.leaf && leaf.subleaf === word.subleaf);
    if (targets.length === 0 && value !== 0) {
      throw new XenStreamError("USAGE", 0, `featureset word ${word.word} (${word.abbr}) needs CPUID leaf 0x${hex(word.leaf, 8)}:${hex(word.subleaf, 8)} in cpuid`);
    }
    for (const leaf of targets) {
      if (word.register === "eax") leaf.a = value;
      else if (word.register === "ebx") leaf.b = value;
      else if (word.register === "ecx") leaf.c = value;
      else leaf.d = value;
    }
  }
  return { cpuid: newCpuid, msrs: newMsrs };
}

// ------------------------------------------------------------ decode

function describeLeaf(leaf: CpuidLeaf, entry: number, effective: EffectiveLeaves): CpuidLeafInfo {
  const name = cpuidLeafName(leaf.leaf, leaf.subleaf);
  let discarded: string | undefined;
  if (name.inPolicy) discarded = effective.isKept(leaf) ? effective.discarded(leaf.leaf, leaf.subleaf) : "replaced by a later entry for the same leaf and subleaf";
  const fields: Record<string, number | boolean> = {};
  for (const spec of name.fields) fields[spec.name] = cpuidFieldValue(spec, leaf);
  const words = name.inPolicy ? (wordsByLeaf().get(leafKey(leaf.leaf, leaf.subleaf)) ?? []) : [];
  return {
    leaf: leaf.leaf,
    subleaf: leaf.subleaf,
    a: leaf.a,
    b: leaf.b,
    c: leaf.c,
    d: leaf.d,
    entry,
    pos: entry * CPUID_ENTRY_SIZE,
    group: name.group,
    member: name.member,
    title: name.title,
    inPolicy: name.inPolicy,
    discarded,
    fields,
    featureWords: words.map((word) => splitWord(word, registerValue(leaf, word.register))),
  };
}

function describeMsr(msr: MsrEntry, entry: number): MsrInfo {
  const known = POLICY_MSRS[msr.index];
  const fields: Record<string, number | boolean> = {};
  const featureWords: FeatureWordValue[] = [];
  if (msr.index === MSR_INTEL_PLATFORM_INFO) {
    fields["cpuidFaulting"] = (msr.value & BigInt(PLATFORM_INFO_CPUID_FAULTING)) !== 0n;
  } else if (msr.index === MSR_ARCH_CAPABILITIES) {
    fields["lo"] = Number(msr.value & 0xffff_ffffn);
    fields["hi"] = Number(msr.value >> 32n);
    for (const word of FEATURESET_WORDS) {
      if (word.source !== "msr" || word.leaf !== msr.index) continue;
      featureWords.push(splitWord(word, word.register === "eax" ? Number(msr.value & 0xffff_ffffn) : Number(msr.value >> 32n)));
    }
  }
  return {
    index: msr.index,
    flags: msr.flags,
    value: msr.value,
    entry,
    pos: entry * MSR_ENTRY_SIZE,
    name: known?.name,
    member: known?.member,
    fields,
    featureWords,
  };
}

function brandString(effective: EffectiveLeaves): string {
  let text = "";
  for (let leaf = 0x8000_0002; leaf <= 0x8000_0004; leaf++) {
    const l = effective.get(leaf);
    for (const word of [l.a, l.b, l.c, l.d]) {
      for (let i = 0; i < 4; i++) {
        const byte = (word >>> (8 * i)) & 0xff;
        if (byte === 0) return text;
        text += String.fromCharCode(byte);
      }
    }
  }
  return text;
}

/**
 * Decodes a CPU policy: names every CPUID leaf and MSR, derives vendor,
 * family/model/stepping, the brand string, and the featureset split into
 * Xen's feature names. Derived values come from the policy Xen holds after
 * restore (x86_cpuid_copy_from_buffer(): in-range entries, the last of
 * duplicates; x86_cpu_policy_clear_out_of_range_leaves(): data beyond
 * max_leaf and friends zeroed; absent leaves zero, as in the saving
 * domain). Never throws for any u32 values.
 *
 * @param cpuid - the CPUID entries, or the X86_CPUID_POLICY record.
 * @param msrs - the MSR entries, or the X86_MSR_POLICY record (default none).
 * @returns the decoded policy; {@link encodeCpuPolicy} gives the entries back.
 * @throws XenStreamError `USAGE` when an argument is not entries of u32s (and bigint MSR values).
 */
export function decodeCpuPolicy(
  cpuid: readonly CpuidLeaf[] | X86CpuidPolicyRecord,
  msrs: readonly MsrEntry[] | X86MsrPolicyRecord = [],
): CpuPolicy {
  const leaves = assertEntries<CpuidLeaf>(cpuid, "CPUID leaves", "cpuid");
  const msrList = assertEntries<MsrEntry>(msrs, "MSR entries", "msrs");
  checkLeaves(leaves, "cpuid");
  checkMsrs(msrList, "msrs");
  const effective = new EffectiveLeaves(leaves);
  const leaf0 = effective.get(0);
  const rawFms = effective.get(1).a >>> 0;
  const featureset = featuresetOf(effective, msrList);
  const unknownFeatureBits: number[] = [];
  featureset.forEach((word, i) => {
    for (let bit = 0; bit < 32; bit++) if (((word >>> bit) & 1) !== 0 && !featureByValue().has(i * 32 + bit)) unknownFeatureBits.push(i * 32 + bit);
  });
  return {
    vendor: cpuVendor(leaf0.b, leaf0.c, leaf0.d),
    rawFms,
    ...cpuFms(rawFms),
    maxLeaf: leaf0.a >>> 0,
    extdMaxLeaf: effective.get(0x8000_0000).a >>> 0,
    brand: brandString(effective),
    featureset,
    features: featuresetNames(featureset),
    unknownFeatureBits,
    leaves: leaves.map((leaf, entry) => describeLeaf(leaf, entry, effective)),
    msrs: msrList.map(describeMsr),
  };
}

/**
 * The entries of a decoded policy, for the record codec: the raw values of
 * every leaf and MSR in their order, so encoding them reproduces the
 * records byte for byte.
 *
 * @param policy - a policy from {@link decodeCpuPolicy}.
 * @returns the CPUID and MSR entries.
 * @throws {@link XenStreamError} BAD_VALUE when `leaves` or `msrs` is not an array of objects (the values are checked by the record encoder)
 */
export function encodeCpuPolicy(policy: CpuPolicy): { cpuid: CpuidLeaf[]; msrs: MsrEntry[] } {
  const fail = (message: string): never => {
    throw new XenStreamError("BAD_VALUE", 0, `encodeCpuPolicy: ${message}`, { layer: "libxc" });
  };
  if (typeof policy !== "object" || policy === null) fail(`policy must be an object, got ${describeValue(policy)}`);
  objectArray(policy.leaves, "leaves", fail);
  objectArray(policy.msrs, "msrs", fail);
  return {
    cpuid: policy.leaves.map((l) => ({ leaf: l.leaf, subleaf: l.subleaf, a: l.a, b: l.b, c: l.c, d: l.d })),
    msrs: policy.msrs.map((m) => ({ index: m.index, flags: m.flags, value: m.value })),
  };
}

// ------------------------------------------------------------ JSON

/** A featureset word in JSON. */
export interface FeatureWordJson {
  word: number;
  abbr: string;
  register: CpuidRegister;
  value: number;
  features: string[];
  unknownBits: number[];
}

/** A CPUID leaf in JSON. */
export interface CpuidLeafJson extends CpuidLeaf {
  entry: number;
  pos: number;
  group: CpuidLeafGroup;
  member?: string;
  title?: string;
  inPolicy: boolean;
  discarded?: string;
  fields: Record<string, number | boolean>;
  featureWords: FeatureWordJson[];
}

/** An MSR entry in JSON (the value as a `"0x..."` string). */
export interface MsrJson {
  entry: number;
  pos: number;
  index: number;
  flags: number;
  value: string;
  name?: string;
  member?: string;
  fields: Record<string, number | boolean>;
  featureWords: FeatureWordJson[];
}

/** {@link CpuPolicy} as plain JSON data: the same fields, with the leaves and MSRs in their JSON forms. */
export interface CpuPolicyJson extends Omit<CpuPolicy, "leaves" | "msrs"> {
  /** Every CPUID entry, in record order. */
  leaves: CpuidLeafJson[];
  /** Every MSR entry, in record order (empty when no MSR policy was given). */
  msrs: MsrJson[];
}

function wordJson(word: FeatureWordValue): FeatureWordJson {
  return { word: word.word, abbr: word.abbr, register: word.register, value: word.value, features: [...word.features], unknownBits: [...word.unknownBits] };
}

/**
 * A decoded policy as plain JSON data for `dump --json` `contents`: u32s
 * as numbers, MSR values (64-bit) as `"0x..."` strings, no undefined members.
 *
 * @param policy - a policy from {@link decodeCpuPolicy}.
 * @returns data that `JSON.stringify` writes as is.
 */
export function cpuPolicyToJSON(policy: CpuPolicy): CpuPolicyJson {
  return {
    vendor: { ...policy.vendor },
    rawFms: policy.rawFms,
    family: policy.family,
    model: policy.model,
    stepping: policy.stepping,
    maxLeaf: policy.maxLeaf,
    extdMaxLeaf: policy.extdMaxLeaf,
    brand: policy.brand,
    featureset: [...policy.featureset],
    features: [...policy.features],
    unknownFeatureBits: [...policy.unknownFeatureBits],
    leaves: policy.leaves.map((l) => ({
      entry: l.entry,
      pos: l.pos,
      leaf: l.leaf,
      subleaf: l.subleaf,
      a: l.a,
      b: l.b,
      c: l.c,
      d: l.d,
      group: l.group,
      ...(l.member === undefined ? {} : { member: l.member }),
      ...(l.title === undefined ? {} : { title: l.title }),
      inPolicy: l.inPolicy,
      ...(l.discarded === undefined ? {} : { discarded: l.discarded }),
      fields: { ...l.fields },
      featureWords: l.featureWords.map(wordJson),
    })),
    msrs: policy.msrs.map((m) => ({
      entry: m.entry,
      pos: m.pos,
      index: m.index,
      flags: m.flags,
      value: hex64(m.value),
      ...(m.name === undefined ? {} : { name: m.name }),
      ...(m.member === undefined ? {} : { member: m.member }),
      fields: { ...m.fields },
      featureWords: m.featureWords.map(wordJson),
    })),
  };
}

/** The `contents` of an X86_CPUID_POLICY record in `dump --json`: the policy without MSRs. */
export type CpuidPolicyContentsJson = Omit<CpuPolicyJson, "msrs">;

/** The `contents` of an X86_MSR_POLICY record in `dump --json`. */
export interface MsrPolicyContentsJson {
  /** Every entry, named. */
  msrs: MsrJson[];
  /** Names of the set MSR_ARCH_CAPABILITIES feature bits (featureset words 16, 17). */
  features: string[];
}

/**
 * `dump --json` contents of one X86_CPUID_POLICY record. Featureset words
 * 16 and 17 (MSR_ARCH_CAPABILITIES) are zero here: they are in the
 * X86_MSR_POLICY record, see {@link msrPolicyContents}.
 *
 * @param record - the record (or its entries).
 * @returns plain JSON data.
 * @throws XenStreamError `USAGE` when the argument is not entries.
 */
export function cpuidPolicyContents(record: X86CpuidPolicyRecord | readonly CpuidLeaf[]): CpuidPolicyContentsJson {
  const { msrs: _msrs, ...rest } = cpuPolicyToJSON(decodeCpuPolicy(record));
  return rest;
}

/**
 * `dump --json` contents of one X86_MSR_POLICY record.
 *
 * @param record - the record (or its entries).
 * @returns plain JSON data, MSR values as `"0x..."` strings.
 * @throws XenStreamError `USAGE` when the argument is not entries.
 */
export function msrPolicyContents(record: X86MsrPolicyRecord | readonly MsrEntry[]): MsrPolicyContentsJson {
  const json = cpuPolicyToJSON(decodeCpuPolicy([], record));
  return { msrs: json.msrs, features: json.features };
}

/**
 * A one-line summary of an MSR policy, for `verify --verbose`: each MSR by
 * name with its value, and the named bits set.
 *
 * @param record - the X86_MSR_POLICY record (or its entries).
 * @returns e.g. `MSR_INTEL_PLATFORM_INFO=0x0000000080000000 (cpuid_faulting), MSR_ARCH_CAPABILITIES=0x0000000000000000`.
 * @throws XenStreamError `USAGE` when the argument is not entries.
 */
export function summarizeMsrPolicy(record: X86MsrPolicyRecord | readonly MsrEntry[]): string {
  const { msrs } = decodeCpuPolicy([], record);
  return msrs
    .map((m) => {
      const bits = m.fields["cpuidFaulting"] === true ? ["cpuid_faulting"] : m.featureWords.flatMap((w) => w.features);
      return `${m.name ?? `MSR 0x${hex(m.index, 8)}`}=${hex64(m.value)}${bits.length > 0 ? ` (${bits.join(" ")})` : ""}`;
    })
    .join(", ");
}

// ------------------------------------------------------------ xen-cpuid -p

/**
 * The text `xen-cpuid -p <domid>` prints for a domain whose policy these
 * entries are (tools/misc/xen-cpuid.c: print_policy(), Xen 4.17): a title
 * line with the counts, the CPUID entries as `leaf:subleaf -> eax:ebx:ecx:edx`
 * skipping all-zero ones, then every MSR as `index -> value`. Since the
 * saver serialises the same policy the same way (xg_sr_common_x86.c:
 * write_x86_cpu_policy_records() and xen-cpuid both call
 * xc_cpu_policy_serialise()), the records of a save file reproduce what
 * xen-cpuid printed for the domain.
 *
 * @param name - the title, as xen-cpuid makes it: `Domain <domid>`.
 * @param cpuid - the CPUID entries, or the X86_CPUID_POLICY record.
 * @param msrs - the MSR entries, or the X86_MSR_POLICY record.
 * @returns the text, each line ending in `\n`.
 * @throws XenStreamError `USAGE` when an argument is not entries.
 */
export function formatXenCpuidPolicy(
  name: string,
  cpuid: readonly CpuidLeaf[] | X86CpuidPolicyRecord,
  msrs: readonly MsrEntry[] | X86MsrPolicyRecord,
): string {
  if (typeof name !== "string") throw new XenStreamError("USAGE", 0, "name must be a string");
  const leaves = assertEntries<CpuidLeaf>(cpuid, "CPUID leaves", "cpuid");
  const msrList = assertEntries<MsrEntry>(msrs, "MSR entries", "msrs");
  checkLeaves(leaves, "cpuid");
  checkMsrs(msrList, "msrs");
  const column = (text: string, width: number): string => text.padEnd(width, " ");
  const lines: string[] = [];
  lines.push(`${name} policy: ${leaves.length} leaves, ${msrList.length} MSRs`);
  lines.push(" CPUID:");
  lines.push(`  ${column("leaf", 8)} ${column("subleaf", 8)} -> ${column("eax", 8)} ${column("ebx", 8)} ${column("ecx", 8)} ${column("edx", 8)}`);
  for (const l of leaves) {
    if (l.a === 0 && l.b === 0 && l.c === 0 && l.d === 0) continue;
    lines.push(`  ${hex(l.leaf, 8)}:${hex(l.subleaf, 8)} -> ${hex(l.a, 8)}:${hex(l.b, 8)}:${hex(l.c, 8)}:${hex(l.d, 8)}`);
  }
  lines.push(" MSRs:");
  lines.push(`  ${column("index", 8)} -> ${column("value", 16)}`);
  for (const m of msrList) lines.push(`  ${hex(m.index, 8)} -> ${m.value.toString(16).padStart(16, "0")}`);
  return `${lines.join("\n")}\n`;
}

// ------------------------------------------------------------ checks

/** Codes of {@link CpuPolicyFinding}s. Codes are API: never renamed or reused. */
export const CpuPolicyFindingCode = {
  /** More CPUID entries than CPUID_MAX_SERIALISED_LEAVES: restore fails (-E2BIG). */
  CPUID_TOO_MANY_LEAVES: "CPUID_TOO_MANY_LEAVES",
  /** A (leaf, subleaf) Xen's policy has no room for: restore fails (-ERANGE). */
  CPUID_LEAF_OUT_OF_RANGE: "CPUID_LEAF_OUT_OF_RANGE",
  /** The same (leaf, subleaf) twice: Xen keeps the last. */
  CPUID_DUPLICATE_LEAF: "CPUID_DUPLICATE_LEAF",
  /** Entries not in the ascending (leaf, subleaf) order Xen writes. */
  CPUID_ORDER: "CPUID_ORDER",
  /** Non-zero data restore discards: beyond max_leaf/max_subleaf/xstates, after a null cache/topology subleaf, hypervisor leaf bits Xen does not store. */
  CPUID_IGNORED_DATA: "CPUID_IGNORED_DATA",
  /** More MSR entries than MSR_MAX_SERIALISED_ENTRIES: restore fails (-E2BIG). */
  MSR_TOO_MANY_ENTRIES: "MSR_TOO_MANY_ENTRIES",
  /** An MSR entry's reserved flags are not zero: restore fails (-EINVAL). */
  MSR_FLAGS_NONZERO: "MSR_FLAGS_NONZERO",
  /** An MSR the policy does not carry: restore fails (-ERANGE). */
  MSR_UNKNOWN_INDEX: "MSR_UNKNOWN_INDEX",
  /** A value wider than Xen's member (platform_info is 32 bits): restore fails (-EOVERFLOW). */
  MSR_VALUE_TRUNCATED: "MSR_VALUE_TRUNCATED",
  /** MSR_INTEL_PLATFORM_INFO bits other than cpuid_faulting: no Xen max policy has them, restore fails (-EINVAL). */
  MSR_PLATFORM_INFO_BITS: "MSR_PLATFORM_INFO_BITS",
  /** The same MSR twice: Xen keeps the last. */
  MSR_DUPLICATE: "MSR_DUPLICATE",
  /** MSR entries not in the ascending order Xen writes. */
  MSR_ORDER: "MSR_ORDER",
} as const;

/** One of the {@link CpuPolicyFindingCode}s. */
export type CpuPolicyFindingCodeName = (typeof CpuPolicyFindingCode)[keyof typeof CpuPolicyFindingCode];

/** One problem in a policy record, located inside its body. */
export interface CpuPolicyFinding {
  /** `error`: Xen's restore refuses the policy; `warning`: accepted, but not what Xen writes, or data is lost. */
  severity: "error" | "warning";
  /** `restore` for what Xen's restore enforces or discards; `spec` for the format's own rules. */
  profile: "spec" | "restore";
  /** Stable code. */
  code: CpuPolicyFindingCodeName;
  /** What is wrong, expected and found. */
  message: string;
  /** Byte position of the offending field in the record body. */
  pos: number;
  /** Entry index. */
  entry: number;
}

function leafLabel(leaf: CpuidLeaf): string {
  return `leaf 0x${hex(leaf.leaf, 8)}:0x${hex(leaf.subleaf, 8)}`;
}

function compareLeaf(x: CpuidLeaf, y: CpuidLeaf): number {
  return x.leaf !== y.leaf ? x.leaf - y.leaf : x.subleaf - y.subleaf;
}

/** Why restore discards an in-range leaf's data, or undefined when it keeps it (x86_cpu_policy_clear_out_of_range_leaves()). */
function discardReason(leaf: CpuidLeaf, get: LeafLookup): string | undefined {
  const maxLeaf = get(0).a >>> 0;
  if (leaf.leaf === 0x4000_0000 || leaf.leaf === 0x4000_0100) {
    if (leaf.a > 0xff || leaf.b !== 0 || leaf.c !== 0 || leaf.d !== 0) return "Xen keeps only the low 8 bits of eax (hv_limit/hv2_limit is a uint8_t)";
    return undefined;
  }
  if (leaf.leaf >= 0x8000_0000) {
    const extdMax = get(0x8000_0000).a & 0xffff;
    return leaf.leaf - 0x8000_0000 > extdMax ? `beyond extd.max_leaf 0x${hex(0x8000_0000 + extdMax, 8)}` : undefined;
  }
  if (leaf.leaf > maxLeaf) return `beyond basic.max_leaf 0x${hex(maxLeaf, 8)}`;
  if (leaf.leaf === 0x4 || leaf.leaf === 0xb) {
    // Xen keeps subleaves up to, not including, the first of type 0.
    for (let i = 0; i <= leaf.subleaf; i++) {
      const type = leaf.leaf === 0x4 ? get(0x4, i).a & 0x1f : (get(0xb, i).c >>> 8) & 0xff;
      if (type === 0) return `${leaf.leaf === 0x4 ? "cache" : "topology"} subleaf ${i} has type 0, which ends the list`;
    }
    return undefined;
  }
  if (leaf.leaf === 0x7) {
    const maxSubleaf = get(0x7, 0).a >>> 0;
    return leaf.subleaf > maxSubleaf ? `beyond feat.max_subleaf ${maxSubleaf}` : undefined;
  }
  if (leaf.leaf === 0xd) {
    const s0 = get(0xd, 0);
    const s1 = get(0xd, 1);
    const high = BigInt((s0.d | s1.d) >>> 0);
    const low = BigInt((s0.a | s1.c) >>> 0);
    const xstates = (high << 32n) | low;
    if (xstates === 0n) return "no xstate components (xcr0 and xss zero)";
    if (leaf.subleaf < 2) return undefined;
    const limit = Math.max(2, xstates.toString(2).length);
    return leaf.subleaf >= limit ? `component ${leaf.subleaf} beyond the highest xstate component ${limit - 1}` : undefined;
  }
  return undefined;
}

/** Options of {@link checkCpuidPolicy}. */
export interface CpuidPolicyCheckOptions {
  /** Largest entry count restore accepts. Default {@link CPUID_MAX_SERIALISED_LEAVES} (Xen 4.17). */
  maxLeaves?: number;
}

/**
 * Checks X86_CPUID_POLICY entries the way Xen's restore treats them
 * (xg_sr_common_x86.c: x86_static_data_complete() -> XEN_DOMCTL_set_cpu_policy
 * -> xen/arch/x86/domctl.c: update_domain_cpu_policy() ->
 * x86_cpuid_copy_from_buffer(), x86_cpu_policy_clear_out_of_range_leaves()),
 * plus the order and uniqueness x86_cpuid_copy_to_buffer() writes. The
 * host-dependent audit (x86_cpu_policies_are_compatible() against Xen's max
 * policy) is not made.
 *
 * @param cpuid - the entries, or the X86_CPUID_POLICY record.
 * @param options - limits.
 * @returns findings, each with the byte position inside the record body.
 * @throws XenStreamError `USAGE` when an argument is not entries or maxLeaves is not a u32.
 */
export function checkCpuidPolicy(cpuid: readonly CpuidLeaf[] | X86CpuidPolicyRecord, options: CpuidPolicyCheckOptions = {}): CpuPolicyFinding[] {
  const leaves = assertEntries<CpuidLeaf>(cpuid, "CPUID leaves", "cpuid");
  checkLeaves(leaves, "cpuid");
  const maxLeaves = options.maxLeaves ?? CPUID_MAX_SERIALISED_LEAVES;
  assertU32(maxLeaves, "options.maxLeaves");
  const findings: CpuPolicyFinding[] = [];
  if (leaves.length > maxLeaves) {
    findings.push({
      severity: "error",
      profile: "restore",
      code: "CPUID_TOO_MANY_LEAVES",
      message: `${leaves.length} CPUID entries, Xen's restore accepts at most ${maxLeaves} (CPUID_MAX_SERIALISED_LEAVES; -E2BIG)`,
      pos: maxLeaves * CPUID_ENTRY_SIZE,
      entry: maxLeaves,
    });
  }
  const effective = new EffectiveLeaves(leaves);
  const seen = new Map<string, number>();
  leaves.forEach((leaf, entry) => {
    const pos = entry * CPUID_ENTRY_SIZE;
    const name = cpuidLeafName(leaf.leaf, leaf.subleaf);
    if (!name.inPolicy) {
      // A known leaf with a bad subleaf points at the subleaf field.
      const subleafWrong = cpuidLeafName(leaf.leaf, [0x4, 0x7, 0xb, 0xd].includes(leaf.leaf) ? 0 : NO_SUBLEAF).inPolicy;
      findings.push({
        severity: "error",
        profile: "restore",
        code: "CPUID_LEAF_OUT_OF_RANGE",
        message: `${leafLabel(leaf)}${name.title === undefined ? "" : ` (${name.title})`}: Xen's policy has no room for this ${subleafWrong ? "subleaf" : "leaf"} (x86_cpuid_copy_from_buffer -ERANGE)`,
        pos: subleafWrong ? pos + 4 : pos,
        entry,
      });
    }
    const key = leafKey(leaf.leaf, leaf.subleaf);
    const first = seen.get(key);
    if (first !== undefined) {
      findings.push({
        severity: "warning",
        profile: "spec",
        code: "CPUID_DUPLICATE_LEAF",
        message: `${leafLabel(leaf)} repeats entry ${first}; Xen keeps the last`,
        pos,
        entry,
      });
    } else {
      seen.set(key, entry);
    }
    const previous = leaves[entry - 1];
    if (previous !== undefined && compareLeaf(previous, leaf) > 0) {
      findings.push({
        severity: "warning",
        profile: "spec",
        code: "CPUID_ORDER",
        message: `${leafLabel(leaf)} after ${leafLabel(previous)}: Xen writes leaves in ascending (leaf, subleaf) order`,
        pos,
        entry,
      });
    }
    if (name.inPolicy && (leaf.a | leaf.b | leaf.c | leaf.d) !== 0 && effective.isKept(leaf)) {
      const reason = effective.discarded(leaf.leaf, leaf.subleaf);
      if (reason !== undefined) {
        findings.push({
          severity: "warning",
          profile: "restore",
          code: "CPUID_IGNORED_DATA",
          message: `${leafLabel(leaf)} holds data restore discards: ${reason}`,
          pos: pos + 8,
          entry,
        });
      }
    }
  });
  return findings;
}

/**
 * Checks X86_MSR_POLICY entries the way Xen's restore treats them
 * (xen/lib/x86/msr.c: x86_msr_copy_from_buffer(): count, flags, known index,
 * value width; xen/lib/x86/policy.c: x86_cpu_policies_are_compatible() for
 * platform_info bits no max policy has), plus the order and uniqueness
 * x86_msr_copy_to_buffer() writes.
 *
 * @param msrs - the entries, or the X86_MSR_POLICY record.
 * @returns findings, each with the byte position inside the record body.
 * @throws XenStreamError `USAGE` when the argument is not entries.
 */
export function checkMsrPolicy(msrs: readonly MsrEntry[] | X86MsrPolicyRecord): CpuPolicyFinding[] {
  const list = assertEntries<MsrEntry>(msrs, "MSR entries", "msrs");
  checkMsrs(list, "msrs");
  const findings: CpuPolicyFinding[] = [];
  if (list.length > MSR_MAX_SERIALISED_ENTRIES) {
    findings.push({
      severity: "error",
      profile: "restore",
      code: "MSR_TOO_MANY_ENTRIES",
      message: `${list.length} MSR entries, Xen's restore accepts at most ${MSR_MAX_SERIALISED_ENTRIES} (MSR_MAX_SERIALISED_ENTRIES; -E2BIG)`,
      pos: MSR_MAX_SERIALISED_ENTRIES * MSR_ENTRY_SIZE,
      entry: MSR_MAX_SERIALISED_ENTRIES,
    });
  }
  const seen = new Map<number, number>();
  list.forEach((msr, entry) => {
    const pos = entry * MSR_ENTRY_SIZE;
    const label = `MSR 0x${hex(msr.index, 8)}`;
    if (msr.flags !== 0) {
      findings.push({
        severity: "error",
        profile: "restore",
        code: "MSR_FLAGS_NONZERO",
        message: `${label}: reserved flags 0x${hex(msr.flags, 8)}, must be zero (x86_msr_copy_from_buffer -EINVAL)`,
        pos: pos + 4,
        entry,
      });
    }
    const known = POLICY_MSRS[msr.index];
    if (known === undefined) {
      findings.push({
        severity: "error",
        profile: "restore",
        code: "MSR_UNKNOWN_INDEX",
        message: `${label}: not an MSR of Xen's policy (0x000000ce MSR_INTEL_PLATFORM_INFO, 0x0000010a MSR_ARCH_CAPABILITIES; -ERANGE)`,
        pos,
        entry,
      });
    } else if (known.bits === 32 && msr.value > 0xffff_ffffn) {
      findings.push({
        severity: "error",
        profile: "restore",
        code: "MSR_VALUE_TRUNCATED",
        message: `${label} (${known.name}): value ${hex64(msr.value)} does not fit the 32-bit ${known.member} (-EOVERFLOW)`,
        pos: pos + 8,
        entry,
      });
    } else if (msr.index === MSR_INTEL_PLATFORM_INFO && (msr.value & ~BigInt(PLATFORM_INFO_CPUID_FAULTING)) !== 0n) {
      findings.push({
        severity: "error",
        profile: "restore",
        code: "MSR_PLATFORM_INFO_BITS",
        message: `${label} (${known.name}): value ${hex64(msr.value)} sets bits other than cpuid_faulting (bit 31), which no Xen max policy offers (x86_cpu_policies_are_compatible -EINVAL)`,
        pos: pos + 8,
        entry,
      });
    }
    const first = seen.get(msr.index);
    if (first !== undefined) {
      findings.push({ severity: "warning", profile: "spec", code: "MSR_DUPLICATE", message: `${label} repeats entry ${first}; Xen keeps the last`, pos, entry });
    } else {
      seen.set(msr.index, entry);
    }
    const previous = list[entry - 1];
    if (previous !== undefined && previous.index > msr.index) {
      findings.push({
        severity: "warning",
        profile: "spec",
        code: "MSR_ORDER",
        message: `${label} after MSR 0x${hex(previous.index, 8)}: Xen writes MSRs in ascending order`,
        pos,
        entry,
      });
    }
  });
  return findings;
}

/**
 * Xen's name of a policy MSR. (Kept here until the MSR name table of the
 * PV vCPU MSR work is merged.)
 *
 * @param index - MSR index.
 * @returns `MSR_INTEL_PLATFORM_INFO`, `MSR_ARCH_CAPABILITIES`, or undefined.
 */
export function policyMsrName(index: number): string | undefined {
  return POLICY_MSRS[index]?.name;
}

/**
 * A one-line summary of a decoded policy, for `verify --verbose` and
 * listings: vendor, family/model/stepping in hex as Linux and Xen print
 * them, entry and feature counts, cpuid faulting when the MSR policy offers it.
 *
 * @param policy - a policy from {@link decodeCpuPolicy}.
 * @returns e.g. `AMD (AuthenticAMD) family 0xf model 0x6b stepping 1, 51 leaves, 32 features, 2 MSRs, cpuid faulting`.
 */
export function summarizeCpuPolicy(policy: CpuPolicy): string {
  const parts = [
    `${policy.vendor.name} (${JSON.stringify(policy.vendor.string).slice(1, -1)}) family 0x${policy.family.toString(16)} model 0x${policy.model.toString(16)} stepping ${policy.stepping}`,
    `${policy.leaves.length} leaves`,
    `${policy.features.length} features`,
  ];
  if (policy.msrs.length > 0) parts.push(`${policy.msrs.length} MSRs`);
  if (policy.msrs.some((m) => m.fields["cpuidFaulting"] === true)) parts.push("cpuid faulting");
  return parts.join(", ");
}
