/**
 * The libxc record registry: everything the code knows about each libxc
 * record type, in one entry per type — its body codec, its display name
 * (verify-stream-v2's listing), its length rule, where it may appear and
 * its reserved fields. The decoder and encoder ({@link libxcTable}), the
 * verifier's ordering rules and listing, and the test generators and
 * mutators all read it. Keyed by {@link LibxcRecordTypeName}: a type
 * without an entry is a compile error (see CONTRIBUTING.md, "How to add a
 * record type").
 *
 * Sources: docs/specs/libxc-migration-stream.pandoc ("Record Types",
 * "Layout", "STATIC_DATA_END"); Xen xg_sr_common.c rec_types[] for the
 * display names; xg_sr_restore*.c for the length rules.
 *
 * @module
 * @internal
 */
import {
  ANY_LENGTH,
  EXACT_LENGTH,
  atLeast,
  signalCodec,
  type GuestKind,
  type Placement,
  type RecordNamed,
  type RecordTypeEntry,
  type Registry,
  type SameUnion,
} from "../wire/codec.js";
import { CodecTable } from "../wire/record.js";
import {
  LibxcRecordType,
  VCPU_HEADER_SIZE,
  X86_PV_INFO_SIZE,
  type LibxcRecordTypeName,
} from "./constants.js";
import { pageDataCodec } from "./records/page-data.js";
import { vcpuCodec, x86PvInfoCodec, x86PvP2mFramesCodec } from "./records/x86-pv.js";
import { hvmContextCodec, sharedInfoCodec, toolstackCodec } from "./records/blob.js";
import { tscInfoCodec } from "./records/tsc-info.js";
import { cpuidPolicyCodec, dirtyPfnListCodec, hvmParamsCodec, msrPolicyCodec } from "./records/arrays.js";
import type { LibxcCodecContext } from "./records/context.js";
import type { LibxcRecord } from "./types.js";

/**
 * Where in a libxc stream a record belongs, relative to STATIC_DATA_END
 * (spec "Layout", "STATIC_DATA_END"):
 * - `static`: static data, before STATIC_DATA_END;
 * - `memory`: memory content, after it (in v2, the first one infers it);
 * - `registers`: register content, after it;
 * - `afterStatic`: other records that follow it (VERIFY, CHECKPOINT);
 * - `any`: no position rule (END, STATIC_DATA_END itself, TOOLSTACK, ...).
 * @internal
 */
export type LibxcPhase = "static" | "memory" | "registers" | "afterStatic" | "any";

/** Where a libxc record may appear. @internal */
export interface LibxcPlacement extends Placement {
  readonly phase: LibxcPhase;
  /** Stream versions that define it. */
  readonly versions: readonly number[];
  /** One per vCPU (the PV vCPU records). */
  readonly perVcpu?: true;
}

/** The registry entry of one libxc record type. @internal */
export type LibxcTypeEntry<R extends LibxcRecord = LibxcRecord> = RecordTypeEntry<R, LibxcCodecContext, LibxcPlacement>;

/** The shape of the registry: one entry per record name. @internal */
export type LibxcRegistry = Registry<LibxcRecordTypeName, LibxcRecord, LibxcCodecContext, LibxcPlacement>;

// Every name of the constants has a record interface, and the other way round.
const namesMatch: SameUnion<LibxcRecordTypeName, Exclude<LibxcRecord["type"], "UNKNOWN">> = true;
void namesMatch;

const BOTH: readonly GuestKind[] = ["pv", "hvm"];
const PV: readonly GuestKind[] = ["pv"];
const HVM: readonly GuestKind[] = ["hvm"];
const V2_V3: readonly number[] = [2, 3];
const V3: readonly number[] = [3];
const VCPU_RESERVED = [{ name: "reserved", at: 4, size: 4 }] as const;

function vcpuEntry(name: Parameters<typeof vcpuCodec>[0], display: string): LibxcTypeEntry<RecordNamed<LibxcRecord, typeof name>> {
  return {
    display,
    codec: vcpuCodec(name),
    length: atLeast(VCPU_HEADER_SIZE),
    appears: { phase: "registers", guests: PV, versions: V2_V3, perVcpu: true },
    reserved: VCPU_RESERVED,
  };
}

/** The libxc record registry. @internal */
export const LIBXC_REGISTRY: LibxcRegistry = {
  END: {
    display: "End",
    codec: signalCodec("END"),
    length: ANY_LENGTH,
    appears: { phase: "any", guests: BOTH, versions: V2_V3, steersDecoder: true },
    reserved: [],
  },
  PAGE_DATA: {
    display: "Page data",
    codec: pageDataCodec,
    length: EXACT_LENGTH,
    appears: { phase: "memory", guests: BOTH, versions: V2_V3 },
    reserved: [
      { name: "reserved", at: 4, size: 4 },
      { name: "pfn[{i}] bits 52-59", at: 8, size: 8, shift: 52, bits: 8, each: { stride: 8, count: "countField" } },
    ],
  },
  X86_PV_INFO: {
    display: "x86 PV info",
    codec: x86PvInfoCodec,
    length: atLeast(X86_PV_INFO_SIZE),
    appears: { phase: "static", guests: PV, versions: V2_V3, once: true },
    reserved: [{ name: "reserved byte {i}", at: 2, size: 1, each: { stride: 1, count: 6 } }],
  },
  X86_PV_P2M_FRAMES: {
    display: "x86 PV P2M frames",
    codec: x86PvP2mFramesCodec,
    length: EXACT_LENGTH,
    appears: { phase: "memory", guests: PV, versions: V2_V3 },
    reserved: [],
  },
  X86_PV_VCPU_BASIC: vcpuEntry("X86_PV_VCPU_BASIC", "x86 PV vcpu basic"),
  X86_PV_VCPU_EXTENDED: vcpuEntry("X86_PV_VCPU_EXTENDED", "x86 PV vcpu extended"),
  X86_PV_VCPU_XSAVE: vcpuEntry("X86_PV_VCPU_XSAVE", "x86 PV vcpu xsave"),
  SHARED_INFO: {
    display: "Shared info",
    codec: sharedInfoCodec,
    length: EXACT_LENGTH,
    appears: { phase: "registers", guests: PV, versions: V2_V3 },
    reserved: [],
  },
  X86_TSC_INFO: {
    display: "TSC info",
    codec: tscInfoCodec,
    length: EXACT_LENGTH,
    appears: { phase: "registers", guests: BOTH, versions: V2_V3 },
    reserved: [{ name: "reserved", at: 20, size: 4 }],
  },
  HVM_CONTEXT: {
    display: "HVM context",
    codec: hvmContextCodec,
    length: atLeast(1),
    appears: { phase: "registers", guests: HVM, versions: V2_V3 },
    reserved: [],
  },
  HVM_PARAMS: {
    display: "HVM params",
    codec: hvmParamsCodec,
    length: EXACT_LENGTH,
    appears: { phase: "registers", guests: HVM, versions: V2_V3 },
    reserved: [{ name: "reserved", at: 4, size: 4 }],
  },
  TOOLSTACK: {
    display: "Toolstack",
    codec: toolstackCodec,
    length: ANY_LENGTH,
    appears: { phase: "any", guests: BOTH, versions: V2_V3 },
    reserved: [],
  },
  X86_PV_VCPU_MSRS: vcpuEntry("X86_PV_VCPU_MSRS", "x86 PV vcpu msrs"),
  VERIFY: {
    display: "Verify",
    codec: signalCodec("VERIFY"),
    length: ANY_LENGTH,
    appears: { phase: "afterStatic", guests: BOTH, versions: V2_V3 },
    reserved: [],
  },
  CHECKPOINT: {
    display: "Checkpoint",
    codec: signalCodec("CHECKPOINT"),
    length: ANY_LENGTH,
    appears: { phase: "afterStatic", guests: BOTH, versions: V2_V3, steersDecoder: true },
    reserved: [],
  },
  CHECKPOINT_DIRTY_PFN_LIST: {
    display: "Checkpoint dirty pfn list",
    codec: dirtyPfnListCodec,
    length: EXACT_LENGTH,
    appears: { phase: "any", guests: BOTH, versions: V2_V3 },
    reserved: [],
  },
  STATIC_DATA_END: {
    display: "Static data end",
    codec: signalCodec("STATIC_DATA_END"),
    length: ANY_LENGTH,
    appears: { phase: "any", guests: BOTH, versions: V3, once: true },
    reserved: [],
  },
  X86_CPUID_POLICY: {
    display: "x86 CPUID policy",
    codec: cpuidPolicyCodec,
    length: EXACT_LENGTH,
    appears: { phase: "static", guests: BOTH, versions: V3 },
    reserved: [],
  },
  X86_MSR_POLICY: {
    display: "x86 MSR policy",
    codec: msrPolicyCodec,
    length: EXACT_LENGTH,
    appears: { phase: "static", guests: BOTH, versions: V3 },
    reserved: [{ name: "msr[{i}].flags", at: 4, size: 4, each: { stride: 16, count: "bodyLength" } }],
  },
};

/** Every libxc record name, in type-id order. @internal */
export const LIBXC_RECORD_NAMES: readonly LibxcRecordTypeName[] = /*@__PURE__*/ (
  Object.keys(LibxcRecordType) as LibxcRecordTypeName[]
).sort((a, b) => LibxcRecordType[a] - LibxcRecordType[b]);

/** The names of the libxc records whose placement passes `test`, as a set. @internal */
export function libxcNamesWhere(test: (placement: LibxcPlacement, name: LibxcRecordTypeName) => boolean): ReadonlySet<string> {
  return new Set(LIBXC_RECORD_NAMES.filter((name) => test(LIBXC_REGISTRY[name].appears, name)));
}

/** The libxc decode/encode table, built from the registry. @internal */
export const libxcTable = /*@__PURE__*/ new CodecTable<LibxcRecord, LibxcCodecContext, LibxcPlacement>(
  "libxc",
  LibxcRecordType,
  LIBXC_REGISTRY,
);
