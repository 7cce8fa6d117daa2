/**
 * Every vector of spec-vectors/, defined from the spec tables with the
 * independent byte layer of ./spec-bytes.ts (never with the library), and
 * the function that turns the definitions into the committed files.
 *
 * Three kinds of generated vectors:
 * - `valid/`: what a conforming writer may produce (the spec's rules);
 * - `tolerated/`: what a conforming writer must not produce but a reader
 *   following the spec's "ignore" rules, or Xen's C restore, accepts — and so
 *   does our decoder (it keeps the odd bytes in the value);
 * - `invalid/`: one fault each; the decoder must fail with the stated error
 *   code at the stated offset (offsets computed here by hand from the
 *   layout, never by running the decoder).
 *
 * Plus `captured/`: real Xen 4.17 save files, whose expected values come
 * from the independent walker in ./spec-bytes.ts.
 *
 * Deterministic: no clock, no randomness; bulk bytes use the documented
 * fills of spec-bytes.ts.
 *
 * @module
 */
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join, relative } from "node:path";
import type {
  DomainHeader,
  ImageHeader,
  LibxcRecord,
  LibxcStream,
  LibxlItem,
  LibxlRecord,
  LibxlStream,
  SaveFile,
  XlHeader,
} from "../../src/index.js";
import { jsonText, valueToJson, type Json } from "../helpers/vector-json.js";
import {
  LIBXC_TYPE,
  LIBXL_TYPE,
  asciiz,
  ascii,
  cat,
  domainHeaderBytes,
  fillBytes,
  frame,
  hex,
  imageHeaderBytes,
  libxcRecordBytes,
  libxcStreamBytes,
  libxlHeaderBytes,
  libxlRecordBytes,
  libxlStreamBytes,
  pageTypeHasData,
  patch,
  poke,
  saveFileBytes,
  u16,
  u32,
  u64,
  u8,
  walkSaveFile,
  xlHeaderBytes,
  XL_MAGIC,
  zeros,
} from "./spec-bytes.js";
import { generateLegacyVectors, type LegacyManifestEntry, type LegacyReference } from "./legacy-catalogue.js";
import { CONTAINER_DIRS, CONTAINER_MANIFEST, generateContainerVectors } from "./container-catalogue.js";

// ------------------------------------------------------------------ model

/** The decoding layer of a vector (the decoder's `format` option). */
export type VectorLayer = "xl" | "libxl" | "libxc";

/** Decoder options a vector needs besides `format`. */
export interface VectorOptions {
  maxRecordLength?: number;
  keepUnknownMandatory?: boolean;
}

/** The decoder's verdict: valid, or an error code at an absolute offset. */
export type VectorExpect = "valid" | { code: string; offset: number };

/** How verify-stream-v2 ends: exit 0, 1 with "Stream Error:", 2 with "Script Error:". */
export type ReferenceVerdict = "valid" | "invalid" | "script-error";

/** Ids of the known reference disagreements (see REFERENCE_CLASSES). */
export type ReferenceClassId = keyof typeof REFERENCE_CLASSES;

interface DefBase {
  name: string;
  layer: VectorLayer;
  description: string;
  /** Where the rule comes from (spec topic file and section, Xen function). */
  spec: string[];
  options?: VectorOptions;
  /** The reference tool's known disagreement on this vector, if any. */
  reference?: ReferenceClassId;
}

interface ValidDef extends DefBase {
  value: SaveFile;
}

interface InvalidDef extends DefBase {
  bytes: Uint8Array;
  expect: { code: string; offset: number };
}

type Def = ValidDef | InvalidDef;

/** One manifest entry (spec-vectors/README.md, "Manifest"). */
export interface ManifestEntry {
  name: string;
  file: string;
  value?: string;
  layer: VectorLayer;
  options: VectorOptions;
  expect: VectorExpect;
  source: "generated" | "captured";
  description: string;
  spec: string[];
  provenance?: Record<string, string>;
}

/** The manifest file: decoder vectors, then the legacy converter's (./legacy-catalogue.ts). */
export interface Manifest {
  suite: string;
  version: number;
  vectors: Array<ManifestEntry | LegacyManifestEntry>;
}

// --------------------------------------------- reference disagreement classes

/**
 * Where verify-stream-v2 (Debian xen-utils-4.17, Python 3) and our decoder
 * disagree, by class. Each vector that meets one names its class; the
 * interop test tolerates exactly these (spec: reference-tool-bugs.md,
 * XEN-TOOLS-NOTES.md, README disagreements). `verdict` is what the reference
 * says; `message`, where given, is a regular expression its report must
 * match, so that a listed vector fails for the stated reason and no other.
 */
export const REFERENCE_CLASSES = {
  "reserved-nonzero": {
    verdict: "invalid",
    message: "Reserved (bits set|field not zero)",
    reason: "verify-stream-v2 rejects any non-zero reserved field or bit (image options bits 1-15, _res1/_res2, domain header reserved, PAGE_DATA reserved u32 and pfn bits 59-52, X86_PV_INFO, vCPU header, X86_TSC_INFO, HVM_PARAMS reserved, libxl options bits 2-15).",
    spec: "Reserved fields are zero on save and ignored on restore (libxc-stream.md §2, §3, §6; spec README disagreement 3); Xen's C restore never reads them. Our decoder keeps them in the value.",
  },
  "padding-nonzero": {
    verdict: "invalid",
    message: "Padding containing non0 bytes",
    reason: "verify-stream-v2 rejects non-zero record padding.",
    spec: "Padding is zero on save and ignored on restore (libxc-stream.md §4, libxl-stream.md §2); Xen's C readers never look at it. Our decoder keeps it as `padding`.",
  },
  "signal-body": {
    verdict: "invalid",
    message: "record with non-zero length",
    reason: "verify-stream-v2 requires body_length 0 for END, VERIFY, CHECKPOINT, STATIC_DATA_END, libxl END, LIBXC_CONTEXT, CHECKPOINT_END.",
    spec: "Spec: length 0 on save; Xen's C readers accept any length and ignore the body (libxc-stream.md §11, libxl-stream.md §4; README disagreement 4). Our decoder keeps it as `extra`.",
  },
  "optional-record": {
    verdict: "invalid",
    message: "Unrecognised record type (0x)?80000000|Unrecognised record type (0x)?ffffffff",
    reason: "B5: both verifiers reject unknown optional records (type bit 31 set).",
    spec: "Records with bit 31 set are optional and may be ignored (libxc-stream.md §4, libxl-stream.md §2; README disagreement 2). Our decoder keeps them as UNKNOWN.",
  },
  "xenstore-data-py3": {
    verdict: "invalid",
    message: "Data not NUL terminated",
    reason: "B2: under Python 3 the libxl verifier rejects every non-empty EMULATOR_XENSTORE_DATA (\"Data not NUL terminated\", int compared with str).",
    spec: "key NUL value NUL pairs, each NUL-terminated (libxl-stream.md §4.3); the record is what libxl writes for every HVM guest with a physmap.",
  },
  "toolstack-script-error": {
    verdict: "script-error",
    message: "DeprecationWarning: Found Toolstack record in stream",
    reason: "B6: a TOOLSTACK record makes the verifier raise DeprecationWarning, reported as a script error (exit 2).",
    spec: "TOOLSTACK (0x0B) is deprecated and should not be written; Xen's C restore fails on it as an unhandled mandatory record (libxc-stream.md §6.10). Our decoder decodes its framing and keeps the blob; rejecting it is the verifier's job.",
  },
  "big-endian": {
    verdict: "invalid",
    message: "Unrecognised (domain|record) type|Stream truncated",
    reason: "B13: the verifier's endianness test is a no-op, so it reads a big-endian stream as little-endian and fails on the garbled lengths and types.",
    spec: "The image header / libxl header options bit 0 selects big-endian for everything after the header; the spec allows it (libxc-stream.md §2, libxl-stream.md §1; README disagreement 9). Xen's C restore refuses it; our decoder reads it.",
  },
  "big-endian-bit-ignored": {
    verdict: "valid",
    reason: "B13: the verifier ignores the big-endian option bit and parses the stream as little-endian, so little-endian content behind a set bit passes.",
    spec: "With the bit set, everything after the header is big-endian (libxc-stream.md §2); read that way these bytes are malformed, which is our decoder's verdict.",
  },
  checkpointed: {
    verdict: "invalid",
    reason: "The verifiers cannot follow checkpointed (Remus/COLO) streams: libxc is verified up to an END that never comes, libxl records after a CHECKPOINT are misparsed (libxc-stream.md §9.4).",
    spec: "A checkpointed stream repeats checkpoints and ends at a checkpoint boundary without END; libxl records follow each libxc CHECKPOINT (libxc-stream.md §9, libxl-stream.md §5, §6).",
  },
  "v3-records-in-v2": {
    verdict: "invalid",
    message: "record found in v2 stream",
    reason: "The verifier rejects STATIC_DATA_END, X86_CPUID_POLICY and X86_MSR_POLICY in a version 2 stream.",
    spec: "Xen's C restore accepts them in v2 (libxc-stream.md §6.15-6.17, §8; README disagreement 6); our decoder has no version rule for records.",
  },
  "page-shift": {
    verdict: "invalid",
    message: "Page shift expected to be 12",
    reason: "The verifier requires page_shift 12.",
    spec: "page_shift gives the page size as a power of two (libxc-stream.md §3); x86 uses 12 and Xen's C restore requires 4096, but the format carries any size. Our decoder reads page_shift 12-24 and sizes PAGE_DATA and SHARED_INFO by it.",
  },
  "pv-info-content": {
    verdict: "invalid",
    message: "x86_pv_info: expected length of 8|Expected (width of 4 or 8|levels of 3 or 4)",
    reason: "The verifier requires X86_PV_INFO to be exactly 8 bytes with width 4/8 and levels 3/4.",
    spec: "Xen's C restore accepts a longer body (extra ignored) and judges width/levels against the domain (libxc-stream.md §6.3; README disagreement 5). Our decoder reads the framing only and keeps the rest as `extra`; the values are a verifier check.",
  },
  "emulator-id": {
    verdict: "invalid",
    message: "Unrecognised emulator id",
    reason: "The verifier requires emulator_id 0, 1 or 2.",
    spec: "Xen's C reader ignores the emulator sub-header (libxl-stream.md §3.1; README disagreement 12); our decoder keeps the value.",
  },
  "dirty-pfn-list-forward": {
    verdict: "invalid",
    message: "Found checkpoint dirty pfn list record in stream",
    reason: "The verifier rejects CHECKPOINT_DIRTY_PFN_LIST anywhere in a stream.",
    spec: "CHECKPOINT_DIRTY_PFN_LIST belongs to the COLO back channel (libxc-stream.md §6.14, §9.3); our decoder decodes its framing wherever it meets it.",
  },
  "trailing-data": {
    verdict: "valid",
    reason: "The verifier stops reading at the outer END and never looks at what follows.",
    spec: "A stream ends with its END record (libxc-stream.md §6.1, libxl-stream.md §4.1); our decoder reports bytes after it as TRAILING_DATA (e.g. the 44-byte xl permission_to_go message that follows the stream on a migration channel, xl-header.md §3).",
  },
  "xl-header-unchecked": {
    verdict: "valid",
    reason: "With -f xl the verifier checks only the magic: it ignores the byte-order marker and unknown mandatory flags, and skips optional data without checking config_len.",
    spec: "xl restore requires byteorder 0x01020304, rejects unknown mandatory flags and a config_len beyond the optional data (xl-header.md §1.2, §1.3); so does our decoder.",
  },
  "record-order-unchecked": {
    verdict: "valid",
    reason: "The verifier checks no record order: a CHECKPOINT_END, CHECKPOINT_STATE or END out of place passes.",
    spec: "libxl accepts CHECKPOINT_END only inside a libxc-initiated checkpoint and CHECKPOINT_STATE only when awaited (libxl-stream.md §4.5, §4.6, §7); our decoder fails with UNEXPECTED_RECORD.",
  },
  "c-restore-check": {
    verdict: "valid",
    reason: "The verifier only prints X86_PV_P2M_FRAMES start and end.",
    spec: "Xen's C restore requires p2m_start_pfn <= p2m_end_pfn (libxc-stream.md §6.4); our decoder fails with BAD_FIELD.",
  },
  "decoder-option-limit": {
    verdict: "valid",
    reason: "The vector is well-formed; it fails only under the non-default decoder option maxRecordLength, which the reference does not have.",
    spec: "maxRecordLength is a resource limit of our decoder (default Xen's REC_LENGTH_MAX, 128 MiB; libxc-stream.md §4).",
  },
  "decoder-option-keep-unknown": {
    verdict: "invalid",
    message: "Unrecognised record type",
    reason: "The vector carries an unknown mandatory record, which the verifier rejects; our decoder keeps it only because the vector sets keepUnknownMandatory.",
    spec: "Unknown mandatory records must fail a restore (libxc-stream.md §4); keepUnknownMandatory is an opt-in of our decoder for inspection tools.",
  },
} as const satisfies Record<string, { verdict: ReferenceVerdict; message?: string; reason: string; spec: string }>;

// ------------------------------------------------------------ value helpers

const LE = true;
const BE = false;
const PAGE = 4096;

const ihdr = (version = 3, options = 0, reserved1 = 0, reserved2 = 0): ImageHeader => ({ version, options, reserved1, reserved2 });
const dhdr = (type: number, xenMajor = 4, xenMinor = 17, pageShift = 12, reserved = 0): DomainHeader => ({ type, pageShift, reserved, xenMajor, xenMinor });
const PV = 1;
const HVM = 2;

const mod251 = (seed: number, length: number): Uint8Array => fillBytes({ kind: "mod251", seed }, length);

const END = { type: "END" } as const;
const SDE = { type: "STATIC_DATA_END" } as const;
const VERIFY = { type: "VERIFY" } as const;
const CHECKPOINT = { type: "CHECKPOINT" } as const;

const pvInfo = (guestWidth = 8, ptLevels = 4): LibxcRecord => ({ type: "X86_PV_INFO", guestWidth, ptLevels, reserved: zeros(6) });

/** A few real leaves (shape of Xen 4.17's x86_cpuid_copy_to_buffer output). */
const CPUID_LEAVES = [
  { leaf: 0x0, subleaf: 0xffffffff, a: 0xd, b: 0x68747541, c: 0x444d4163, d: 0x69746e65 },
  { leaf: 0x1, subleaf: 0xffffffff, a: 0x00060fb1, b: 0x00040800, c: 0x80202001, d: 0x178bfbfd },
  { leaf: 0x7, subleaf: 0x0, a: 0x0, b: 0x000001a9, c: 0x0, d: 0x0 },
  { leaf: 0xd, subleaf: 0x1, a: 0x1, b: 0x0, c: 0x0, d: 0x0 },
];
const cpuidPolicy = (): LibxcRecord => ({ type: "X86_CPUID_POLICY", entries: CPUID_LEAVES.map((e) => ({ ...e })) });
/** MSR_INTEL_PLATFORM_INFO (0xCE) then MSR_ARCH_CAPABILITIES (0x10A), as Xen serialises them. */
const msrPolicy = (): LibxcRecord => ({
  type: "X86_MSR_POLICY",
  entries: [
    { index: 0xce, flags: 0, value: 0x80000000n },
    { index: 0x10a, flags: 0, value: 0n },
  ],
});

const p2mFrames = (startPfn: number, endPfn: number, frames: bigint[]): LibxcRecord => ({ type: "X86_PV_P2M_FRAMES", startPfn, endPfn, frames });

/** PAGE_DATA with pfn/type pairs; data pages filled mod251 from `seed`. */
function pageData(entries: Array<[pfn: number, type: number]>, seed: number, pageSize = PAGE): LibxcRecord {
  const dataPages = entries.filter(([, type]) => pageTypeHasData(type)).length;
  return {
    type: "PAGE_DATA",
    reserved: 0,
    entries: entries.map(([pfn, type]) => ({ pfn, type, reserved: 0 })),
    pages: mod251(seed, dataPages * pageSize),
  };
}

const tscInfo = (nsec: bigint, incarnation = 1, mode = 0, khz = 2599998): LibxcRecord => ({ type: "X86_TSC_INFO", mode, khz, nsec, incarnation, reserved: 0 });
const sharedInfo = (seed: number, size = PAGE): LibxcRecord => ({ type: "SHARED_INFO", data: mod251(seed, size) });

type VcpuKind = "X86_PV_VCPU_BASIC" | "X86_PV_VCPU_EXTENDED" | "X86_PV_VCPU_XSAVE" | "X86_PV_VCPU_MSRS";
const vcpu = (type: VcpuKind, vcpuId: number, context: Uint8Array): LibxcRecord => ({ type, vcpuId, reserved: 0, context });
/** 64-bit vcpu_guest_context: 5168 bytes (hvm-context-and-cpu.md §3). */
const BASIC64 = 5168;
/** xen_domctl_ext_vcpucontext as Xen >= 4.10 returns it: 64 bytes. */
const EXTENDED = 64;
/** xcr0, xcr0_accum, then an 832-byte uncompressed XSAVE area (x87+SSE+AVX). */
const xsaveBlob = (seed: number): Uint8Array => cat(u64(7n, LE), u64(7n, LE), mod251(seed, 832));
/** One xen_domctl_vcpu_msr_t: MSR_TSC_AUX. */
const msrsBlob = (value: bigint): Uint8Array => cat(u32(0xc0000103, LE), u32(0, LE), u64(value, LE));

/** HVM context: HEADER (typecode 1, 24 bytes) then END (hvm-context-and-cpu.md §1). */
const HVM_BLOB = cat(
  u16(1, LE), u16(0, LE), u32(24, LE),
  u32(0x54381286, LE), u32(1, LE), u64(0xffffffffffffffffn, LE), u32(0x00060fb1, LE), u32(2599998, LE),
  u16(0, LE), u16(0, LE), u32(0, LE),
);
const hvmContext = (): LibxcRecord => ({ type: "HVM_CONTEXT", data: HVM_BLOB });
const hvmParams = (params: Array<[index: number, value: bigint]>): LibxcRecord => ({
  type: "HVM_PARAMS",
  reserved: 0,
  params: params.map(([index, value]) => ({ index: BigInt(index), value })),
});
/** What Xen 4.17 saves for a small HVM guest (libxc-stream.md §6.9 order). */
const HVM_PARAMS_417: Array<[number, bigint]> = [
  [1, 0xfeffcn], [5, 0xfeffdn], [6, 0xfeffbn], [27, 0xfeff8n], [28, 0xfeff9n], [29, 0xfeffan],
  [37, 0x180fc100280n], [17, 0xfefffn], [19, 1n], [12, 0xfeffe000n], [32, 0xfeff0n], [33, 8n],
];

// libxl records
const LIBXL_END = { type: "END" } as const;
const LIBXC_CONTEXT = { type: "LIBXC_CONTEXT" } as const;
const CHECKPOINT_END = { type: "CHECKPOINT_END" } as const;
const checkpointState = (controlId: number): LibxlRecord => ({ type: "CHECKPOINT_STATE", controlId });
/** physmap keys as libxl saves them (libxl-stream.md §4.3). */
const PHYSMAP: Array<[string, string]> = [
  ["physmap/f0000000/start_addr", "f0000000"],
  ["physmap/f0000000/size", "800000"],
  ["physmap/f0000000/name", "vga.vram"],
];
const xenstoreData = (pairs: Array<[string, string]>, emulatorId = 2): LibxlRecord => ({
  type: "EMULATOR_XENSTORE_DATA",
  emulatorId,
  index: 0,
  entries: pairs.map(([key, value]) => [ascii(key), ascii(value)]),
});
/** A QEMU device-state blob stand-in: QEMU's savevm magic, version 3, then bulk. */
const emulatorContext = (seed: number, emulatorId = 2): LibxlRecord => ({
  type: "EMULATOR_CONTEXT",
  emulatorId,
  index: 0,
  data: cat(ascii("QEVM"), u32(3, BE), mod251(seed, 120)),
});

// streams
const libxc = (imageHeader: ImageHeader, domainHeader: DomainHeader, records: LibxcRecord[]): LibxcStream => ({ imageHeader, domainHeader, records });

/** Xen >= 4.14 PV save (libxc-stream.md §10.1): two vCPUs. */
function pvV3Records(seed = 1): LibxcRecord[] {
  return [
    pvInfo(),
    cpuidPolicy(),
    msrPolicy(),
    SDE,
    p2mFrames(0, 1023, [0x1f0n, 0x1f1n]),
    pageData([[0, 0x0], [1, 0x1], [2, 0x2], [3, 0x3], [4, 0xc], [5, 0xf], [6, 0xd]], seed),
    tscInfo(16485275810n),
    sharedInfo(seed + 1),
    vcpu("X86_PV_VCPU_BASIC", 0, mod251(seed + 2, BASIC64)),
    vcpu("X86_PV_VCPU_EXTENDED", 0, mod251(seed + 3, EXTENDED)),
    vcpu("X86_PV_VCPU_XSAVE", 0, xsaveBlob(seed + 4)),
    vcpu("X86_PV_VCPU_MSRS", 0, msrsBlob(0n)),
    vcpu("X86_PV_VCPU_BASIC", 1, mod251(seed + 5, BASIC64)),
    vcpu("X86_PV_VCPU_EXTENDED", 1, mod251(seed + 6, EXTENDED)),
    END,
  ];
}

/** Xen >= 4.14 HVM save (libxc-stream.md §10.1). */
function hvmV3Records(seed = 11): LibxcRecord[] {
  return [
    cpuidPolicy(),
    msrPolicy(),
    SDE,
    pageData([[0, 0x0], [1, 0x0], [0xfeff0, 0xf], [0xfeffc, 0x0]], seed),
    tscInfo(64147135614n, 2),
    hvmContext(),
    hvmParams(HVM_PARAMS_417),
    END,
  ];
}

const pvV3 = (seed?: number): LibxcStream => libxc(ihdr(3), dhdr(PV), pvV3Records(seed));
const hvmV3 = (seed?: number): LibxcStream => libxc(ihdr(3), dhdr(HVM), hvmV3Records(seed));

const libxl = (items: LibxlItem[], options = 0): LibxlStream => ({ header: { version: 2, options }, items });
const nested = (stream: LibxcStream): LibxlItem[] => [LIBXC_CONTEXT, { type: "LIBXC_STREAM", stream }];
const resume = (records: LibxcRecord[]): LibxlItem => ({ type: "LIBXC_RESUME", records });

const libxcFile = (stream: LibxcStream, xl?: XlHeader): SaveFile => (xl === undefined ? { format: "libxc", stream } : { format: "libxc", xl, stream });
const libxlFile = (stream: LibxlStream, xl?: XlHeader): SaveFile => (xl === undefined ? { format: "libxl", stream } : { format: "libxl", xl, stream });

const JSON_PV = asciiz('{"c_info":{"type":"pv","name":"vec-pv"},"b_info":{"max_vcpus":2,"max_memkb":131072,"type.pv":{}}}\n');
const JSON_HVM = asciiz('{"c_info":{"type":"hvm","name":"vec-hvm"},"b_info":{"max_vcpus":2,"max_memkb":131072,"type.hvm":{}}}\n');
const xlHeader = (config: Uint8Array | undefined, mandatoryFlags = config === undefined ? 2 : 3, byteOrder: "little" | "big" = "little", optionalFlags = 0): XlHeader =>
  config === undefined ? { byteOrder, mandatoryFlags, optionalFlags } : { byteOrder, mandatoryFlags, optionalFlags, config };

// ------------------------------------------------------- definition helpers

const defs: Def[] = [];

function valid(name: string, layer: VectorLayer, description: string, spec: string[], value: SaveFile, extra: Partial<Pick<DefBase, "options" | "reference">> = {}): void {
  defs.push({ name, layer, description, spec, value, ...extra });
}

function invalid(
  name: string,
  layer: VectorLayer,
  description: string,
  spec: string[],
  bytes: Uint8Array,
  code: string,
  offset: number,
  extra: Partial<Pick<DefBase, "options" | "reference">> = {},
): void {
  defs.push({ name, layer, description, spec, bytes, expect: { code, offset }, ...extra });
}

/** Total length of byte strings (for hand-computed offsets). */
const len = (...parts: Uint8Array[]): number => parts.reduce((sum, part) => sum + part.length, 0);

// ================================================================ libxc: valid

valid("libxc/valid/v3-pv-save", "libxc", "Xen >= 4.14 PV save: X86_PV_INFO, CPUID/MSR policy, STATIC_DATA_END, P2M frames, PAGE_DATA (NOTAB, L1-L3, pinned L4, XTAB, BROKEN), TSC, SHARED_INFO, vCPU BASIC/EXTENDED/XSAVE/MSRS for two vCPUs, END.",
  ["libxc-stream.md §2-§6, §10.1"], libxcFile(pvV3()));
valid("libxc/valid/v3-hvm-save", "libxc", "Xen >= 4.14 HVM save: CPUID/MSR policy, STATIC_DATA_END, PAGE_DATA with a hole (XTAB), TSC, HVM_CONTEXT, HVM_PARAMS (4.17 list), END.",
  ["libxc-stream.md §6, §10.1"], libxcFile(hvmV3()));
valid("libxc/valid/v2-pv-save", "libxc", "Xen 4.6-4.13 PV save (version 2): no policy records, no STATIC_DATA_END; a 32-bit guest (width 4, 3 levels, 1024 pfns per p2m frame).",
  ["libxc-stream.md §8.1, §10.1, §6.3, §6.4"],
  libxcFile(libxc(ihdr(2), dhdr(PV, 4, 13), [
    pvInfo(4, 3),
    p2mFrames(0, 2047, [0x7e0n, 0x7e1n]),
    pageData([[0, 0x0], [1, 0x3], [2, 0x2], [3, 0xa], [4, 0x1]], 21),
    tscInfo(1234567890n),
    sharedInfo(22),
    vcpu("X86_PV_VCPU_BASIC", 0, mod251(23, 2800)),
    vcpu("X86_PV_VCPU_EXTENDED", 0, mod251(24, EXTENDED)),
    END,
  ])));
valid("libxc/valid/v2-hvm-save", "libxc", "Xen 4.10-4.13 HVM save (version 2).", ["libxc-stream.md §8.1, §10.1"],
  libxcFile(libxc(ihdr(2), dhdr(HVM, 4, 13), [
    pageData([[0, 0x0], [1, 0x0], [2, 0xf]], 31),
    tscInfo(987654321n, 1),
    hvmContext(),
    hvmParams([[1, 0xfeffcn], [5, 0xfeffdn], [6, 0xfeffbn], [17, 0xfefffn], [19, 1n], [4, 1n], [38, 1n]]),
    END,
  ])));
valid("libxc/valid/page-types-all", "libxc", "One PAGE_DATA with every known page type 0-4, 9-0xC (4096 data bytes each) and BROKEN, XALLOC, XTAB (none).",
  ["libxc-stream.md §6.2"],
  libxcFile(libxc(ihdr(3), dhdr(PV), [
    pvInfo(), SDE, p2mFrames(0, 511, [0x10n]),
    pageData([[0, 0x0], [1, 0x1], [2, 0x2], [3, 0x3], [4, 0x4], [5, 0x9], [6, 0xa], [7, 0xb], [8, 0xc], [9, 0xd], [10, 0xe], [11, 0xf]], 41),
    END,
  ])));
valid("libxc/valid/page-data-no-data-pages", "libxc", "PAGE_DATA whose only entry is XTAB: count 1, no page data (body 16 bytes).", ["libxc-stream.md §6.2"],
  libxcFile(libxc(ihdr(3), dhdr(HVM), [SDE, pageData([[0x100, 0xf]], 0), END])));
valid("libxc/valid/page-data-full-batch", "libxc", "PAGE_DATA with MAX_BATCH_SIZE (1024) entries: 1023 XTAB holes and one page.", ["libxc-stream.md §6.2, §10.2"],
  libxcFile(libxc(ihdr(3), dhdr(HVM), [SDE, pageData(Array.from({ length: 1024 }, (_, i): [number, number] => [0x20000 + i, i === 512 ? 0x0 : 0xf]), 43), END])));
valid("libxc/valid/extremes", "libxc", "Field extremes: pfn 2^52-1; u64 maxima in TSC nsec and an HVM param (index and value); a value 2^53+1 (not exact as a double); u32 maxima in TSC mode, khz, incarnation and the domain header's Xen version.",
  ["libxc-stream.md §3, §6.2, §6.7, §6.9"],
  libxcFile(libxc(ihdr(3), dhdr(HVM, 0xffffffff, 0xffffffff), [
    SDE,
    pageData([[2 ** 52 - 1, 0xf], [0, 0x0]], 250),
    { type: "X86_TSC_INFO", mode: 0xffffffff, khz: 0xffffffff, nsec: 0xffffffffffffffffn, incarnation: 0xffffffff, reserved: 0 },
    { type: "HVM_PARAMS", reserved: 0, params: [{ index: 0xffffffffffffffffn, value: 0xffffffffffffffffn }, { index: 0n, value: 0x20000000000001n }] },
    END,
  ])));
valid("libxc/valid/p2m-frames-extremes", "libxc", "X86_PV_P2M_FRAMES spanning pfns 0..2^32-1 of a 64-bit guest is too big for a vector; this one has start and end at the u32 maximum and a frame pfn of 2^64-1.",
  ["libxc-stream.md §6.4"],
  libxcFile(libxc(ihdr(3), dhdr(PV), [pvInfo(), SDE, p2mFrames(0xffffffff, 0xffffffff, [0xffffffffffffffffn]), END])));
valid("libxc/valid/debug-verify", "libxc", "Debug live stream: after the memory passes, VERIFY and a second PAGE_DATA pass over the same pfns.", ["libxc-stream.md §6.12, §10.6"],
  libxcFile(libxc(ihdr(3), dhdr(HVM), [cpuidPolicy(), SDE, pageData([[0, 0], [1, 0]], 51), VERIFY, pageData([[0, 0], [1, 0]], 51), tscInfo(5n), hvmContext(), END])));
valid("libxc/valid/legacy-converted", "libxc", "Shape of convert-legacy-stream output: xen_major 0 / minor 1, HVM_PARAMS before HVM_CONTEXT, no policy records.", ["libxc-stream.md §3, §6.8", "XEN-TOOLS-NOTES.md convert-legacy-stream"],
  libxcFile(libxc(ihdr(3), dhdr(HVM, 0, 1), [SDE, pageData([[0, 0], [1, 0xe]], 61), tscInfo(0n, 0), hvmParams([[12, 0xfeffe000n], [19, 1n]]), hvmParams([[5, 0xfeffdn], [6, 0xfeffbn], [1, 0xfeffcn]]), hvmContext(), END])));
valid("libxc/valid/big-endian-pv", "libxc", "Big-endian stream (image header options bit 0): domain header, record headers and bodies big-endian.", ["libxc-stream.md §2, §4"],
  libxcFile(libxc(ihdr(3, 1), dhdr(PV), pvV3Records(71))), { reference: "big-endian" });
valid("libxc/valid/big-endian-hvm-v2", "libxc", "Big-endian version 2 HVM stream.", ["libxc-stream.md §2, §4"],
  libxcFile(libxc(ihdr(2, 1), dhdr(HVM, 4, 13), [pageData([[0, 0], [7, 0xf]], 81), tscInfo(1n << 40n), hvmContext(), hvmParams([[1, 0x1234n]]), END])), { reference: "big-endian" });
valid("libxc/valid/page-shift-13", "libxc", "page_shift 13 (8 KiB pages): PAGE_DATA pages and SHARED_INFO are 8192 bytes each.", ["libxc-stream.md §3, §6.2, §6.6"],
  libxcFile(libxc(ihdr(3), dhdr(PV, 4, 17, 13), [pvInfo(), SDE, p2mFrames(0, 511, [0x10n]), pageData([[0, 0x0], [1, 0xf], [2, 0x4]], 91, 8192), tscInfo(7n), sharedInfo(92, 8192), vcpu("X86_PV_VCPU_BASIC", 0, mod251(93, BASIC64)), END])),
  { reference: "page-shift" });
valid("libxc/valid/checkpointed-remus", "libxc", "Checkpointed (Remus) PV stream: two checkpoints, each ending with CHECKPOINT; no END.", ["libxc-stream.md §9.1, §10.5"],
  libxcFile(libxc(ihdr(3), dhdr(PV), [
    pvInfo(), cpuidPolicy(), SDE, p2mFrames(0, 511, [0x10n]),
    pageData([[0, 0], [1, 4]], 101), tscInfo(100n), sharedInfo(102), vcpu("X86_PV_VCPU_BASIC", 0, mod251(103, BASIC64)), CHECKPOINT,
    pageData([[1, 4]], 104), tscInfo(200n), sharedInfo(105), vcpu("X86_PV_VCPU_BASIC", 0, mod251(106, BASIC64)), CHECKPOINT,
  ])), { reference: "checkpointed" });
valid("libxc/valid/optional-records", "libxc", "Unknown optional records (type bit 31): 0x80000000 with a body, 0xFFFFFFFF empty; kept as UNKNOWN.", ["libxc-stream.md §4"],
  libxcFile(libxc(ihdr(3), dhdr(HVM), [{ type: "UNKNOWN", typeId: 0x80000000, body: ascii("optional") }, SDE, { type: "UNKNOWN", typeId: 0xffffffff, body: zeros(0) }, pageData([[0, 0]], 111), END])),
  { reference: "optional-record" });

// ============================================================ libxc: tolerated

const hvmMini = (records: LibxcRecord[], image = ihdr(3), domain = dhdr(HVM)): SaveFile => libxcFile(libxc(image, domain, [SDE, ...records, END]));

valid("libxc/tolerated/all-records-le", "libxc", "Every libxc record type 0x00-0x12 but TOOLSTACK and CHECKPOINT_DIRTY_PFN_LIST (own vectors), PV and HVM records mixed in one stream (Xen's restore would refuse the mix; the framing is valid).",
  ["libxc-stream.md §5, §7.1"],
  libxcFile(libxc(ihdr(3), dhdr(PV), [
    pvInfo(), cpuidPolicy(), msrPolicy(), SDE, p2mFrames(0, 511, [0x10n]), pageData([[0, 1]], 121), VERIFY, pageData([[0, 1]], 121),
    tscInfo(42n), sharedInfo(122), vcpu("X86_PV_VCPU_BASIC", 0, mod251(123, BASIC64)), vcpu("X86_PV_VCPU_EXTENDED", 0, mod251(124, EXTENDED)),
    vcpu("X86_PV_VCPU_XSAVE", 0, xsaveBlob(125)), vcpu("X86_PV_VCPU_MSRS", 0, msrsBlob(0x1234n)), hvmContext(), hvmParams([[1, 2n]]), CHECKPOINT, pageData([[0, 1]], 126), END,
  ])));
valid("libxc/tolerated/all-records-be", "libxc", "The all-records stream, big-endian.", ["libxc-stream.md §2, §5"],
  libxcFile(libxc(ihdr(3, 1), dhdr(PV), [
    pvInfo(), cpuidPolicy(), msrPolicy(), SDE, p2mFrames(0, 511, [0x10n]), pageData([[0, 1]], 131), VERIFY, pageData([[0, 1]], 131),
    tscInfo(42n), sharedInfo(132), vcpu("X86_PV_VCPU_BASIC", 0, mod251(133, BASIC64)), vcpu("X86_PV_VCPU_EXTENDED", 0, mod251(134, EXTENDED)),
    vcpu("X86_PV_VCPU_XSAVE", 0, xsaveBlob(135)), vcpu("X86_PV_VCPU_MSRS", 0, msrsBlob(0x1234n)), hvmContext(), hvmParams([[1, 2n]]), CHECKPOINT, pageData([[0, 1]], 136), END,
  ])), { reference: "big-endian" });
valid("libxc/tolerated/toolstack", "libxc", "A deprecated TOOLSTACK (0x0B) record: framing decoded, blob kept.", ["libxc-stream.md §6.10"],
  hvmMini([{ type: "TOOLSTACK", data: ascii("toolstack blob") }]), { reference: "toolstack-script-error" });
valid("libxc/tolerated/dirty-pfn-list", "libxc", "CHECKPOINT_DIRTY_PFN_LIST (a COLO back-channel record) in a stream: three pfns, then an empty one.", ["libxc-stream.md §6.14, §9.3"],
  hvmMini([{ type: "CHECKPOINT_DIRTY_PFN_LIST", pfns: [5n, 0xfeff0n, 1n] }, { type: "CHECKPOINT_DIRTY_PFN_LIST", pfns: [] }]), { reference: "dirty-pfn-list-forward" });
valid("libxc/tolerated/v2-with-v3-records", "libxc", "Version 2 stream carrying CPUID/MSR policy and STATIC_DATA_END, which Xen's C restore accepts.", ["libxc-stream.md §6.15-6.17, §8"],
  libxcFile(libxc(ihdr(2), dhdr(HVM, 4, 13), [cpuidPolicy(), msrPolicy(), SDE, pageData([[0, 0]], 141), END])), { reference: "v3-records-in-v2" });
valid("libxc/tolerated/zero-content", "libxc", "Spec erratum 1 (Xen 4.6-4.8): HVM_PARAMS with count 0 and PV vCPU records with no blob (length 8).", ["libxc-stream.md §11"],
  libxcFile(libxc(ihdr(2), dhdr(PV, 4, 6), [pvInfo(), p2mFrames(0, 511, [0x10n]), pageData([[0, 0]], 151), hvmParams([]), vcpu("X86_PV_VCPU_BASIC", 0, mod251(152, BASIC64)), vcpu("X86_PV_VCPU_EXTENDED", 0, zeros(0)), vcpu("X86_PV_VCPU_XSAVE", 0, zeros(0)), vcpu("X86_PV_VCPU_MSRS", 0, zeros(0)), END])));
valid("libxc/tolerated/padding-nonzero", "libxc", "Non-zero padding (de ad be ef) after a 4-byte HVM_CONTEXT body.", ["libxc-stream.md §4"],
  hvmMini([{ type: "HVM_CONTEXT", data: hex("01020304"), padding: hex("de ad be ef") }]), { reference: "padding-nonzero" });
valid("libxc/tolerated/reserved-image-options", "libxc", "Image header options bits 1-15 set (0xfffe).", ["libxc-stream.md §2"], hvmMini([], ihdr(3, 0xfffe)), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-image-res1", "libxc", "Image header _res1 = 0xffff.", ["libxc-stream.md §2"], hvmMini([], ihdr(3, 0, 0xffff)), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-image-res2", "libxc", "Image header _res2 = 0xffffffff.", ["libxc-stream.md §2"], hvmMini([], ihdr(3, 0, 0, 0xffffffff)), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-domain-header", "libxc", "Domain header reserved u16 = 0x1234.", ["libxc-stream.md §3"], hvmMini([], ihdr(3), dhdr(HVM, 4, 17, 12, 0x1234)), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-page-data", "libxc", "PAGE_DATA reserved u32 = 0xffffffff.", ["libxc-stream.md §6.2"],
  hvmMini([{ ...(pageData([[0, 0]], 161) as object), reserved: 0xffffffff } as LibxcRecord]), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-pfn-bits", "libxc", "PAGE_DATA entries with reserved bits 59-52 set (0xff and 0x01).", ["libxc-stream.md §6.2"],
  hvmMini([{ type: "PAGE_DATA", reserved: 0, entries: [{ pfn: 0, type: 0, reserved: 0xff }, { pfn: 9, type: 0xf, reserved: 1 }], pages: mod251(162, PAGE) }]), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-pv-info", "libxc", "X86_PV_INFO reserved bytes non-zero.", ["libxc-stream.md §6.3"],
  libxcFile(libxc(ihdr(3), dhdr(PV), [{ type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: hex("01 02 03 04 05 06") }, SDE, END])), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-vcpu", "libxc", "X86_PV_VCPU_EXTENDED reserved u32 = 1.", ["libxc-stream.md §6.5"],
  libxcFile(libxc(ihdr(3), dhdr(PV), [pvInfo(), SDE, { type: "X86_PV_VCPU_EXTENDED", vcpuId: 0, reserved: 1, context: mod251(163, EXTENDED) }, END])), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-tsc", "libxc", "X86_TSC_INFO reserved u32 = 0x80000000.", ["libxc-stream.md §6.7"],
  hvmMini([{ type: "X86_TSC_INFO", mode: 1, khz: 1000000, nsec: 3n, incarnation: 4, reserved: 0x80000000 }]), { reference: "reserved-nonzero" });
valid("libxc/tolerated/reserved-hvm-params", "libxc", "HVM_PARAMS reserved u32 = 7.", ["libxc-stream.md §6.9"],
  hvmMini([{ type: "HVM_PARAMS", reserved: 7, params: [{ index: 1n, value: 2n }] }]), { reference: "reserved-nonzero" });
for (const [name, type] of [["end", "END"], ["verify", "VERIFY"], ["checkpoint", "CHECKPOINT"], ["static-data-end", "STATIC_DATA_END"]] as const) {
  const body = { type, extra: hex("01 00 00 00 00 00 00 00 ff") } as LibxcRecord;
  valid(`libxc/tolerated/signal-body-${name}`, "libxc", `${type} with a 9-byte body (kept as extra).`, ["libxc-stream.md §6.1, §6.12, §6.13, §6.15, §11"],
    libxcFile(libxc(ihdr(3), dhdr(HVM), type === "STATIC_DATA_END" ? [body, END] : type === "END" ? [SDE, body] : [SDE, body, END])), { reference: "signal-body" });
}
valid("libxc/tolerated/pv-info-longer", "libxc", "X86_PV_INFO with 8 extra bytes (Xen's C restore ignores them).", ["libxc-stream.md §6.3"],
  libxcFile(libxc(ihdr(3), dhdr(PV), [{ type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: zeros(6), extra: hex("00 11 22 33 44 55 66 77") }, SDE, END])), { reference: "pv-info-content" });
valid("libxc/tolerated/pv-info-values", "libxc", "X86_PV_INFO width 2, levels 5: framing valid, values a verifier matter.", ["libxc-stream.md §6.3"],
  libxcFile(libxc(ihdr(3), dhdr(PV), [pvInfo(2, 5), SDE, END])), { reference: "pv-info-content" });
valid("libxc/tolerated/keep-unknown-mandatory", "libxc", "Unknown mandatory type 0x13 kept as UNKNOWN under keepUnknownMandatory.", ["libxc-stream.md §4"],
  hvmMini([{ type: "UNKNOWN", typeId: 0x13, body: hex("0102") }]), { options: { keepUnknownMandatory: true }, reference: "decoder-option-keep-unknown" });
valid("libxc/tolerated/checkpointed-then-end", "libxc", "A checkpointed stream that finishes with END after a CHECKPOINT (Xen processes END at once).", ["libxc-stream.md §6.1, §9.2"],
  libxcFile(libxc(ihdr(3), dhdr(HVM), [SDE, pageData([[0, 0]], 171), tscInfo(1n), hvmContext(), CHECKPOINT, pageData([[0, 0]], 172), tscInfo(2n), hvmContext(), END])));

// ============================================================== libxc: invalid

const H3 = cat(imageHeaderBytes(ihdr(3)), domainHeaderBytes(dhdr(HVM), LE)); // 40 bytes
const H3PV = cat(imageHeaderBytes(ihdr(3)), domainHeaderBytes(dhdr(PV), LE));
const END_LE = libxcRecordBytes(END, LE);
const SDE_LE = libxcRecordBytes(SDE, LE);
const rec = (typeId: number, body: Uint8Array, options: { padding?: Uint8Array; lengthField?: number } = {}): Uint8Array => frame(typeId, body, LE, options);
/**
 * A stream `H3 SDE <bad> END` with the offsets of the bad record, of its
 * body_length field (where BAD_LENGTH points) and of its body.
 */
function withBadRecord(bad: Uint8Array, head = H3): { bytes: Uint8Array; record: number; lengthField: number; body: number } {
  const record = len(head, SDE_LE);
  return { bytes: cat(head, SDE_LE, bad, END_LE), record, lengthField: record + 4, body: record + 8 };
}
const LIBXC_SPEC = "libxc-stream.md";

// TRUNCATED: offset = bytes received
{
  const full = libxcStreamBytes(libxc(ihdr(3), dhdr(HVM), [SDE, tscInfo(9n), END]));
  invalid("libxc/invalid/truncated-empty", "libxc", "No bytes at all.", [`${LIBXC_SPEC} §2`], zeros(0), "TRUNCATED", 0);
  invalid("libxc/invalid/truncated-image-header", "libxc", "Stops after 20 of the 24 image header bytes.", [`${LIBXC_SPEC} §2`], full.subarray(0, 20), "TRUNCATED", 20);
  invalid("libxc/invalid/truncated-domain-header", "libxc", "Stops 10 bytes into the domain header.", [`${LIBXC_SPEC} §3`], full.subarray(0, 34), "TRUNCATED", 34);
  invalid("libxc/invalid/truncated-record-header", "libxc", "Stops 4 bytes into a record header.", [`${LIBXC_SPEC} §4`], full.subarray(0, 52), "TRUNCATED", 52);
  invalid("libxc/invalid/truncated-record-body", "libxc", "Stops 10 bytes into X86_TSC_INFO's 24-byte body.", [`${LIBXC_SPEC} §4, §6.7`], full.subarray(0, 66), "TRUNCATED", 66);
  invalid("libxc/invalid/truncated-before-end", "libxc", "Every record complete, but no END.", [`${LIBXC_SPEC} §6.1`], full.subarray(0, full.length - 8), "TRUNCATED", full.length - 8);
  const padded = cat(H3, SDE_LE, rec(LIBXC_TYPE.HVM_CONTEXT, hex("01020304")).subarray(0, 12));
  invalid("libxc/invalid/truncated-in-padding", "libxc", "A 4-byte HVM_CONTEXT body whose 4 padding bytes never arrive.", [`${LIBXC_SPEC} §4`], padded, "TRUNCATED", padded.length);
  const cp = libxcStreamBytes(libxc(ihdr(3), dhdr(HVM), [SDE, pageData([[0, 0]], 181), CHECKPOINT, tscInfo(3n)]));
  invalid("libxc/invalid/truncated-mid-checkpoint", "libxc", "A checkpointed stream that stops after a record inside a checkpoint (not at a CHECKPOINT).", [`${LIBXC_SPEC} §9`], cp, "TRUNCATED", cp.length);
  const big = cat(H3, SDE_LE, u32(LIBXC_TYPE.HVM_CONTEXT, LE), u32(0x08000000, LE), zeros(16));
  invalid("libxc/invalid/truncated-max-length-record", "libxc", "A record of exactly REC_LENGTH_MAX (128 MiB, allowed) whose body is cut short.", [`${LIBXC_SPEC} §4`], big, "TRUNCATED", big.length);
}

// BAD_MAGIC: offset of the marker / id field
{
  const good = libxcStreamBytes(libxc(ihdr(3), dhdr(HVM), [SDE, END]));
  invalid("libxc/invalid/bad-marker-first-byte", "libxc", "Image marker starts 0xFE.", [`${LIBXC_SPEC} §2`], poke(good, 0, 0xfe), "BAD_MAGIC", 0);
  invalid("libxc/invalid/bad-marker-last-byte", "libxc", "Image marker's last byte is 0x7F (offset is the field's start).", [`${LIBXC_SPEC} §2`], poke(good, 7, 0x7f), "BAD_MAGIC", 0);
  invalid("libxc/invalid/bad-image-id", "libxc", "Image id \"XENG\".", [`${LIBXC_SPEC} §2`], poke(good, 11, 0x47), "BAD_MAGIC", 8);
  const legacy = cat(u64(0x8000n, LE), u64(0xffffffffffffffffn, LE), u32(5184 + 8, LE), ascii("vcpu"), u32(0x1430, LE));
  invalid("libxc/invalid/legacy-stream", "libxc", "The start of a legacy (Xen <= 4.5) PV stream given as libxc: it starts with p2m_size, not the marker.", [`${LIBXC_SPEC} §1`, "legacy-stream.md §4"], legacy, "BAD_MAGIC", 0);
}

// BAD_VERSION
{
  const good = libxcStreamBytes(libxc(ihdr(3), dhdr(HVM), [SDE, END]));
  invalid("libxc/invalid/version-1", "libxc", "Image header version 1.", [`${LIBXC_SPEC} §2, §8`], poke(good, 15, 1), "BAD_VERSION", 12);
  invalid("libxc/invalid/version-4", "libxc", "Image header version 4.", [`${LIBXC_SPEC} §2, §8`], poke(good, 15, 4), "BAD_VERSION", 12);
}

// BAD_FIELD in the domain header
{
  const good = libxcStreamBytes(libxc(ihdr(3), dhdr(HVM), [SDE, END]));
  invalid("libxc/invalid/domain-type-0", "libxc", "Domain type 0.", [`${LIBXC_SPEC} §3`], poke(good, 24, 0), "BAD_FIELD", 24);
  invalid("libxc/invalid/domain-type-3", "libxc", "Domain type 3.", [`${LIBXC_SPEC} §3`], poke(good, 24, 3), "BAD_FIELD", 24);
  invalid("libxc/invalid/page-shift-11", "libxc", "page_shift 11 (below 12).", [`${LIBXC_SPEC} §3`], poke(good, 28, 11), "BAD_FIELD", 28);
  invalid("libxc/invalid/page-shift-25", "libxc", "page_shift 25 (above the decoder's 24).", [`${LIBXC_SPEC} §3`], poke(good, 28, 25), "BAD_FIELD", 28);
  invalid("libxc/invalid/big-endian-bit-le-content", "libxc", "Options bit 0 (big-endian) set over little-endian content: the domain type reads 0x02000000.", [`${LIBXC_SPEC} §2`],
    poke(good, 17, 1), "BAD_FIELD", 24, { reference: "big-endian-bit-ignored" });
}

// RECORD_TOO_LARGE: offset of body_length
{
  const tooBig = cat(H3, SDE_LE, u32(LIBXC_TYPE.HVM_CONTEXT, LE), u32(0x08000001, LE));
  invalid("libxc/invalid/record-too-large", "libxc", "A record claiming REC_LENGTH_MAX + 1 bytes; refused at its header, nothing else needs to arrive.", [`${LIBXC_SPEC} §4`], tooBig, "RECORD_TOO_LARGE", len(H3, SDE_LE) + 4);
  const huge = cat(H3, u32(LIBXC_TYPE.PAGE_DATA, LE), u32(0xffffffff, LE), zeros(8));
  invalid("libxc/invalid/record-length-max-u32", "libxc", "PAGE_DATA claiming 0xFFFFFFFF bytes.", [`${LIBXC_SPEC} §4`], huge, "RECORD_TOO_LARGE", 44);
  const page = withBadRecord(libxcRecordBytes(pageData([[0, 0]], 191), LE));
  invalid("libxc/invalid/record-over-option-limit", "libxc", "A 4112-byte PAGE_DATA under maxRecordLength 4096.", [`${LIBXC_SPEC} §4`], page.bytes, "RECORD_TOO_LARGE", page.record + 4,
    { options: { maxRecordLength: 4096 }, reference: "decoder-option-limit" });
}

// BAD_LENGTH: offset of the record's body_length field
function badLength(name: string, description: string, section: string, bad: Uint8Array, head = H3, extra: Partial<Pick<DefBase, "options" | "reference">> = {}): void {
  const v = withBadRecord(bad, head);
  invalid(`libxc/invalid/${name}`, "libxc", description, [`${LIBXC_SPEC} ${section}`], v.bytes, "BAD_LENGTH", v.lengthField, extra);
}
badLength("page-data-short-header", "PAGE_DATA body of 4 bytes (needs the 8-byte count header).", "§6.2", rec(LIBXC_TYPE.PAGE_DATA, u32(1, LE)));
badLength("page-data-short-pfns", "PAGE_DATA count 2 with room for one pfn.", "§6.2", rec(LIBXC_TYPE.PAGE_DATA, cat(u32(2, LE), u32(0, LE), u64(0n, LE))));
badLength("page-data-missing-page", "PAGE_DATA with one NOTAB entry and no page data.", "§6.2", rec(LIBXC_TYPE.PAGE_DATA, cat(u32(1, LE), u32(0, LE), u64(5n, LE))));
badLength("page-data-surplus-page", "PAGE_DATA whose only entry is XTAB, followed by a page of data.", "§6.2",
  rec(LIBXC_TYPE.PAGE_DATA, cat(u32(1, LE), u32(0, LE), u64(0xf000000000000005n, LE), zeros(PAGE))));
badLength("pv-info-short", "X86_PV_INFO of 4 bytes.", "§6.3", rec(LIBXC_TYPE.X86_PV_INFO, hex("08 04 00 00")), H3PV);
badLength("p2m-frames-short", "X86_PV_P2M_FRAMES of 4 bytes.", "§6.4", rec(LIBXC_TYPE.X86_PV_P2M_FRAMES, u32(0, LE)), H3PV);
badLength("p2m-frames-ragged", "X86_PV_P2M_FRAMES of 12 bytes (frames are u64).", "§6.4", rec(LIBXC_TYPE.X86_PV_P2M_FRAMES, cat(u32(0, LE), u32(0, LE), u32(0x10, LE))), H3PV);
badLength("vcpu-basic-short", "X86_PV_VCPU_BASIC of 4 bytes (needs the 8-byte vCPU header).", "§6.5", rec(LIBXC_TYPE.X86_PV_VCPU_BASIC, u32(0, LE)), H3PV);
badLength("vcpu-msrs-short", "X86_PV_VCPU_MSRS of 0 bytes.", "§6.5", rec(LIBXC_TYPE.X86_PV_VCPU_MSRS, zeros(0)), H3PV);
badLength("shared-info-short", "SHARED_INFO of 4095 bytes.", "§6.6", rec(LIBXC_TYPE.SHARED_INFO, zeros(4095)), H3PV);
badLength("shared-info-wrong-page-size", "SHARED_INFO of 4096 bytes in a stream of 8 KiB pages.", "§3, §6.6", rec(LIBXC_TYPE.SHARED_INFO, zeros(4096)),
  cat(imageHeaderBytes(ihdr(3)), domainHeaderBytes(dhdr(PV, 4, 17, 13), LE)));
badLength("tsc-info-short", "X86_TSC_INFO of 16 bytes.", "§6.7", rec(LIBXC_TYPE.X86_TSC_INFO, zeros(16)));
badLength("tsc-info-long", "X86_TSC_INFO of 32 bytes.", "§6.7", rec(LIBXC_TYPE.X86_TSC_INFO, zeros(32)));
badLength("hvm-context-empty", "HVM_CONTEXT of 0 bytes.", "§6.8", rec(LIBXC_TYPE.HVM_CONTEXT, zeros(0)));
badLength("hvm-params-short", "HVM_PARAMS of 4 bytes.", "§6.9", rec(LIBXC_TYPE.HVM_PARAMS, u32(0, LE)));
badLength("hvm-params-count-mismatch", "HVM_PARAMS count 2 with one entry.", "§6.9", rec(LIBXC_TYPE.HVM_PARAMS, cat(u32(2, LE), u32(0, LE), u64(1n, LE), u64(2n, LE))));
badLength("cpuid-policy-empty", "X86_CPUID_POLICY of 0 bytes.", "§6.16", rec(LIBXC_TYPE.X86_CPUID_POLICY, zeros(0)));
badLength("cpuid-policy-ragged", "X86_CPUID_POLICY of 25 bytes.", "§6.16", rec(LIBXC_TYPE.X86_CPUID_POLICY, zeros(25)));
badLength("msr-policy-empty", "X86_MSR_POLICY of 0 bytes.", "§6.17", rec(LIBXC_TYPE.X86_MSR_POLICY, zeros(0)));
badLength("msr-policy-ragged", "X86_MSR_POLICY of 24 bytes.", "§6.17", rec(LIBXC_TYPE.X86_MSR_POLICY, zeros(24)));
badLength("dirty-pfn-list-ragged", "CHECKPOINT_DIRTY_PFN_LIST of 12 bytes.", "§6.14", rec(LIBXC_TYPE.CHECKPOINT_DIRTY_PFN_LIST, zeros(12)));

// BAD_FIELD and BAD_PAGE_TYPE in records
{
  const v = withBadRecord(rec(LIBXC_TYPE.PAGE_DATA, cat(u32(0, LE), u32(0, LE))));
  invalid("libxc/invalid/page-data-count-0", "libxc", "PAGE_DATA with count 0.", [`${LIBXC_SPEC} §6.2`], v.bytes, "BAD_FIELD", v.body);
  const p = withBadRecord(rec(LIBXC_TYPE.X86_PV_P2M_FRAMES, cat(u32(10, LE), u32(9, LE), u64(0x10n, LE))), H3PV);
  invalid("libxc/invalid/p2m-start-above-end", "libxc", "X86_PV_P2M_FRAMES with p2m_start_pfn 10 > p2m_end_pfn 9.", [`${LIBXC_SPEC} §6.4`], p.bytes, "BAD_FIELD", p.body, { reference: "c-restore-check" });
  for (const type of [5, 6, 7, 8]) {
    const slot = type === 8 ? 2 : 0;
    const entries = [0, 1, 2].map((i) => (i === slot ? (BigInt(type) << 60n) | BigInt(i) : 0xf000000000000000n | BigInt(i)));
    const b = withBadRecord(rec(LIBXC_TYPE.PAGE_DATA, cat(u32(3, LE), u32(0, LE), ...entries.map((e) => u64(e, LE)))));
    invalid(`libxc/invalid/page-type-${type}`, "libxc", `PAGE_DATA entry ${slot} with reserved page type ${type}.`, [`${LIBXC_SPEC} §6.2`], b.bytes, "BAD_PAGE_TYPE", b.body + 8 + 8 * slot);
  }
}

// Hostile counts and the order of checks
{
  const a = withBadRecord(rec(LIBXC_TYPE.PAGE_DATA, cat(u32(0xffffffff, LE), u32(0, LE), u64(0n, LE))));
  invalid("libxc/invalid/page-data-count-huge", "libxc", "PAGE_DATA claiming 0xFFFFFFFF pfns in a 16-byte body: a length fault, found before anything is sized by the count.", [`${LIBXC_SPEC} §6.2`], a.bytes, "BAD_LENGTH", a.lengthField);
  const b = withBadRecord(rec(LIBXC_TYPE.HVM_PARAMS, cat(u32(0xffffffff, LE), u32(0, LE), u64(1n, LE), u64(2n, LE))));
  invalid("libxc/invalid/hvm-params-count-huge", "libxc", "HVM_PARAMS claiming 0xFFFFFFFF entries in a 24-byte body.", [`${LIBXC_SPEC} §6.9`], b.bytes, "BAD_LENGTH", b.lengthField);
  const c = cat(H3, SDE_LE, u32(0x13, LE), u32(0x10000000, LE));
  invalid("libxc/invalid/too-large-before-unknown", "libxc", "An unknown mandatory type with a 256 MiB length: the length is judged first, at the header.", [`${LIBXC_SPEC} §4`], c, "RECORD_TOO_LARGE", len(H3, SDE_LE) + 4);
  const d = cat(H3, SDE_LE, rec(0x13, zeros(16)).subarray(0, 20));
  invalid("libxc/invalid/unknown-type-truncated", "libxc", "An unknown mandatory type cut short: a record is judged only once it has all arrived, so this is TRUNCATED.", [`${LIBXC_SPEC} §4`], d, "TRUNCATED", d.length);
}

// UNKNOWN_RECORD: offset of the record
{
  const a = withBadRecord(rec(0x13, hex("0102")));
  invalid("libxc/invalid/unknown-mandatory-0x13", "libxc", "Record type 0x13, the first reserved mandatory type.", [`${LIBXC_SPEC} §4`], a.bytes, "UNKNOWN_RECORD", a.record);
  const b = withBadRecord(rec(0x7fffffff, zeros(0)));
  invalid("libxc/invalid/unknown-mandatory-0x7fffffff", "libxc", "Record type 0x7FFFFFFF, the last mandatory type.", [`${LIBXC_SPEC} §4`], b.bytes, "UNKNOWN_RECORD", b.record);
}

// TRAILING_DATA: offset of the first byte after END
{
  const good = libxcStreamBytes(libxc(ihdr(3), dhdr(HVM), [SDE, END]));
  invalid("libxc/invalid/trailing-record", "libxc", "A second END after the END.", [`${LIBXC_SPEC} §6.1`], cat(good, END_LE), "TRAILING_DATA", good.length, { reference: "trailing-data" });
  invalid("libxc/invalid/trailing-byte", "libxc", "One zero byte after END.", [`${LIBXC_SPEC} §6.1`], cat(good, zeros(1)), "TRAILING_DATA", good.length, { reference: "trailing-data" });
}

// ================================================================ libxl: valid

const LIBXL_SPEC = "libxl-stream.md";

valid("libxl/valid/pv-save", "libxl", "xl save of a PV guest (libxl level): header, LIBXC_CONTEXT, nested libxc v3 PV stream, END. No emulator records.", [`${LIBXL_SPEC} §5, §6.1`],
  libxlFile(libxl([...nested(pvV3(201)), LIBXL_END])));
valid("libxl/valid/hvm-save", "libxl", "HVM save: nested libxc, EMULATOR_XENSTORE_DATA (physmap keys), EMULATOR_CONTEXT (qemu-xen), END.", [`${LIBXL_SPEC} §4.3, §4.4, §6.1`],
  libxlFile(libxl([...nested(hvmV3(211)), xenstoreData(PHYSMAP), emulatorContext(212), LIBXL_END])), { reference: "xenstore-data-py3" });
valid("libxl/valid/hvm-save-no-physmap", "libxl", "HVM save without physmap entries (as Xen 4.17 writes for a guest with none): no EMULATOR_XENSTORE_DATA.", [`${LIBXL_SPEC} §6.1`],
  libxlFile(libxl([...nested(hvmV3(221)), emulatorContext(222), LIBXL_END])));
valid("libxl/valid/xenstore-empty", "libxl", "EMULATOR_XENSTORE_DATA with no pairs (length 8).", [`${LIBXL_SPEC} §4.3`],
  libxlFile(libxl([...nested(hvmV3(231)), xenstoreData([]), emulatorContext(232), LIBXL_END])));
valid("libxl/valid/legacy-converted", "libxl", "Shape of convert-legacy-stream --format libxl output: options LEGACY, emulator id 0, libxc xen_major 0.", [`${LIBXL_SPEC} §1, §3.1, §8`],
  libxlFile(libxl([...nested(libxc(ihdr(3), dhdr(HVM, 0, 1), [SDE, pageData([[0, 0]], 241), hvmParams([[1, 0xfeffcn]]), hvmContext(), END])), emulatorContext(242, 0), LIBXL_END], 2)));
valid("libxl/valid/big-endian", "libxl", "Big-endian libxl stream (options bit 0) around a big-endian libxc stream.", [`${LIBXL_SPEC} §1, §2`],
  libxlFile(libxl([...nested(libxc(ihdr(3, 1), dhdr(HVM), hvmV3Records(251))), xenstoreData(PHYSMAP), emulatorContext(252), LIBXL_END], 1)), { reference: "big-endian" });
valid("libxl/valid/big-endian-libxl-le-libxc", "libxl", "Big-endian libxl records around a little-endian libxc stream: each header's bit governs its own layer.", [`${LIBXL_SPEC} §1, §5`, `${LIBXC_SPEC} §2`],
  libxlFile(libxl([...nested(hvmV3(261)), emulatorContext(262), LIBXL_END], 1)), { reference: "big-endian" });
valid("libxl/valid/remus-pv", "libxl", "Remus PV: libxc checkpoint 1, CHECKPOINT_END, libxc resumes (no new headers) with checkpoint 2, CHECKPOINT_END; no END.", [`${LIBXL_SPEC} §5, §6.2`, `${LIBXC_SPEC} §9`],
  libxlFile(libxl([
    ...nested(libxc(ihdr(3), dhdr(PV), [pvInfo(), cpuidPolicy(), SDE, p2mFrames(0, 511, [0x10n]), pageData([[0, 0], [1, 4]], 271), tscInfo(1n), sharedInfo(272), vcpu("X86_PV_VCPU_BASIC", 0, mod251(273, BASIC64)), CHECKPOINT])),
    CHECKPOINT_END,
    resume([pageData([[1, 4]], 274), tscInfo(2n), sharedInfo(275), vcpu("X86_PV_VCPU_BASIC", 0, mod251(276, BASIC64)), CHECKPOINT]),
    CHECKPOINT_END,
  ])), { reference: "checkpointed" });
valid("libxl/valid/remus-hvm", "libxl", "Remus HVM: emulator records inside each checkpoint, before CHECKPOINT_END.", [`${LIBXL_SPEC} §6.2`],
  libxlFile(libxl([
    ...nested(libxc(ihdr(3), dhdr(HVM), [cpuidPolicy(), SDE, pageData([[0, 0]], 281), tscInfo(1n), hvmContext(), hvmParams([[1, 2n]]), CHECKPOINT])),
    xenstoreData(PHYSMAP), emulatorContext(282), CHECKPOINT_END,
    resume([pageData([[0, 0]], 283), tscInfo(2n), hvmContext(), hvmParams([[1, 2n]]), CHECKPOINT]),
    emulatorContext(284), CHECKPOINT_END,
  ])), { reference: "checkpointed" });
valid("libxl/valid/colo-hvm", "libxl", "COLO forward channel: after each CHECKPOINT_END a CHECKPOINT_STATE (0, CHECKPOINT_NEW, body_length 4 as libxl writes it).", [`${LIBXL_SPEC} §4.6, §6.3`],
  libxlFile(libxl([
    ...nested(libxc(ihdr(3), dhdr(HVM), [cpuidPolicy(), SDE, pageData([[0, 0]], 291), tscInfo(1n), hvmContext(), hvmParams([[1, 2n]]), CHECKPOINT])),
    emulatorContext(292), CHECKPOINT_END, checkpointState(0),
    resume([pageData([[0, 0]], 293), tscInfo(2n), hvmContext(), hvmParams([[1, 2n]]), CHECKPOINT]),
    emulatorContext(294), CHECKPOINT_END, checkpointState(0),
  ])), { reference: "checkpointed" });
valid("libxl/valid/colo-hvm-big-endian", "libxl", "The COLO stream, big-endian at both layers: CHECKPOINT_STATE is recognised with the libxl byte order.", [`${LIBXL_SPEC} §1, §4.6, §6.3`],
  libxlFile(libxl([
    ...nested(libxc(ihdr(3, 1), dhdr(HVM), [cpuidPolicy(), SDE, pageData([[0, 0]], 295), tscInfo(1n), hvmContext(), hvmParams([[1, 2n]]), CHECKPOINT])),
    emulatorContext(296), CHECKPOINT_END, checkpointState(0),
    resume([pageData([[0, 0]], 297), tscInfo(2n), hvmContext(), hvmParams([[1, 2n]]), CHECKPOINT]),
    emulatorContext(298), CHECKPOINT_END, checkpointState(0),
  ], 1)), { reference: "big-endian" });
valid("libxl/valid/optional-record", "libxl", "An unknown optional libxl record (0x80000000) between LIBXC_CONTEXT's stream and END.", [`${LIBXL_SPEC} §2`],
  libxlFile(libxl([...nested(hvmV3(301)), { type: "UNKNOWN", typeId: 0x80000000, body: ascii("opt") }, emulatorContext(302), LIBXL_END])), { reference: "optional-record" });

// ============================================================ libxl: tolerated

const libxlMini = (items: LibxlItem[], options = 0): SaveFile => libxlFile(libxl([...nested(libxc(ihdr(3), dhdr(HVM), [SDE, END])), ...items, LIBXL_END], options));

valid("libxl/tolerated/reserved-options-low", "libxl", "libxl header options bits 2-15 set (0xfffc).", [`${LIBXL_SPEC} §1`], libxlMini([], 0xfffc), { reference: "reserved-nonzero" });
valid("libxl/tolerated/reserved-options-high", "libxl", "libxl header options bits 16-31 set (B14: the verifier does not check them).", [`${LIBXL_SPEC} §1`], libxlMini([], 0xffff0000));
valid("libxl/tolerated/padding-nonzero", "libxl", "Non-zero padding after a 9-byte EMULATOR_CONTEXT body.", [`${LIBXL_SPEC} §2`],
  libxlMini([{ type: "EMULATOR_CONTEXT", emulatorId: 2, index: 0, data: hex("51"), padding: hex("01 02 03 04 05 06 07") }]), { reference: "padding-nonzero" });
valid("libxl/tolerated/end-with-body", "libxl", "libxl END with a 4-byte body.", [`${LIBXL_SPEC} §4.1`],
  libxlFile(libxl([...nested(libxc(ihdr(3), dhdr(HVM), [SDE, END])), { type: "END", extra: hex("01020304") }])), { reference: "signal-body" });
valid("libxl/tolerated/libxc-context-with-body", "libxl", "LIBXC_CONTEXT with an 8-byte body: Xen reads and drops it before the libxc stream starts.", [`${LIBXL_SPEC} §4.2`],
  libxlFile(libxl([{ type: "LIBXC_CONTEXT", extra: hex("0011223344556677") }, { type: "LIBXC_STREAM", stream: libxc(ihdr(3), dhdr(HVM), [SDE, END]) }, LIBXL_END])), { reference: "signal-body" });
valid("libxl/tolerated/checkpoint-end-with-body", "libxl", "CHECKPOINT_END with a 1-byte body in a Remus stream.", [`${LIBXL_SPEC} §4.5`],
  libxlFile(libxl([...nested(libxc(ihdr(3), dhdr(HVM), [SDE, pageData([[0, 0]], 311), CHECKPOINT])), { type: "CHECKPOINT_END", extra: hex("ff") }])), { reference: "checkpointed" });
valid("libxl/tolerated/checkpoint-state-8-bytes", "libxl", "CHECKPOINT_STATE with the spec diagram's 8-byte body (libxl writes 4): the last 4 bytes are kept as extra.", [`${LIBXL_SPEC} §4.6`, "README disagreement 11"],
  libxlFile(libxl([...nested(libxc(ihdr(3), dhdr(HVM), [SDE, pageData([[0, 0]], 321), CHECKPOINT])), CHECKPOINT_END, { type: "CHECKPOINT_STATE", controlId: 0, extra: zeros(4) }])), { reference: "checkpointed" });
valid("libxl/tolerated/emulator-id-3", "libxl", "EMULATOR_CONTEXT with emulator_id 3 and index 7 (Xen's reader ignores both).", [`${LIBXL_SPEC} §3.1`],
  libxlMini([{ type: "EMULATOR_CONTEXT", emulatorId: 3, index: 7, data: ascii("QEVM") }]), { reference: "emulator-id" });
valid("libxl/tolerated/end-only", "libxl", "A libxl stream with only END: no LIBXC_CONTEXT (Xen's reader does not enforce order).", [`${LIBXL_SPEC} §7`], libxlFile(libxl([LIBXL_END])));
valid("libxl/tolerated/xenstore-odd-keys", "libxl", "EMULATOR_XENSTORE_DATA with an empty key, an absolute key and an empty value: pair syntax holds; Xen's reader would refuse the first two.", [`${LIBXL_SPEC} §4.3`],
  libxlMini([xenstoreData([["", "v"], ["/abs", "x"], ["k", ""]])]), { reference: "xenstore-data-py3" });
valid("libxl/tolerated/keep-unknown-mandatory", "libxl", "Unknown mandatory libxl type 6 kept as UNKNOWN under keepUnknownMandatory.", [`${LIBXL_SPEC} §2, §3`],
  libxlMini([{ type: "UNKNOWN", typeId: 6, body: zeros(0) }]), { options: { keepUnknownMandatory: true }, reference: "decoder-option-keep-unknown" });
valid("libxl/tolerated/pv-resume-type-5", "libxl", "Remus PV where the libxc part resumes with X86_PV_VCPU_EXTENDED (type 5, the id of libxl CHECKPOINT_STATE): a PV stream with a body of 8+ bytes resumes libxc (the suite's rule, README \"Checkpoint state or libxc record\").", [`${LIBXL_SPEC} §5, §6.3`],
  libxlFile(libxl([
    ...nested(libxc(ihdr(3), dhdr(PV), [pvInfo(), SDE, p2mFrames(0, 511, [0x10n]), pageData([[0, 0]], 331), CHECKPOINT])),
    CHECKPOINT_END,
    resume([vcpu("X86_PV_VCPU_EXTENDED", 0, mod251(332, EXTENDED)), CHECKPOINT]),
    CHECKPOINT_END,
  ])), { reference: "checkpointed" });
valid("libxl/tolerated/checkpointed-then-end", "libxl", "A Remus stream whose last checkpoint resumes libxc up to libxc END, then libxl END.", [`${LIBXL_SPEC} §5`],
  libxlFile(libxl([...nested(libxc(ihdr(3), dhdr(HVM), [SDE, pageData([[0, 0]], 341), CHECKPOINT])), emulatorContext(342), CHECKPOINT_END, resume([tscInfo(1n), hvmContext(), END]), LIBXL_END])),
  { reference: "checkpointed" });

// ============================================================== libxl: invalid

const LH = libxlHeaderBytes({ version: 2, options: 0 }); // 16
const LXC = libxlRecordBytes(LIBXC_CONTEXT, LE); // 8
const INNER = libxcStreamBytes(libxc(ihdr(3), dhdr(HVM), [SDE, END])); // 56
const LEND = libxlRecordBytes(LIBXL_END, LE);
const lrec = (typeId: number, body: Uint8Array): Uint8Array => frame(typeId, body, LE);
const PRE = cat(LH, LXC, INNER); // 80: where libxl records resume
/** A libxl stream `LH LXC libxc <bad> END` and the offsets of the bad record, its body_length field and its body. */
function libxlBad(bad: Uint8Array): { bytes: Uint8Array; record: number; lengthField: number; body: number } {
  return { bytes: cat(PRE, bad, LEND), record: PRE.length, lengthField: PRE.length + 4, body: PRE.length + 8 };
}
const INNER_CP = libxcStreamBytes(libxc(ihdr(3), dhdr(HVM), [SDE, pageData([[0, 0]], 351), CHECKPOINT]));
const PRE_CP = cat(LH, LXC, INNER_CP); // libxl records of a checkpoint start here

{
  const full = cat(PRE, LEND);
  invalid("libxl/invalid/header-only", "libxl", "The 16-byte header and nothing else.", [`${LIBXL_SPEC} §1`], LH, "TRUNCATED", 16);
  invalid("libxl/invalid/truncated-header", "libxl", "Stops after 10 of the 16 header bytes.", [`${LIBXL_SPEC} §1`], full.subarray(0, 10), "TRUNCATED", 10);
  invalid("libxl/invalid/truncated-in-libxc", "libxl", "Stops inside the nested libxc stream (after STATIC_DATA_END, before libxc END).", [`${LIBXL_SPEC} §5`], full.subarray(0, 72), "TRUNCATED", 72);
  invalid("libxl/invalid/truncated-before-end", "libxl", "libxc END arrived, libxl END did not.", [`${LIBXL_SPEC} §4.1`], PRE, "TRUNCATED", PRE.length);
  const cp = cat(PRE_CP, libxlRecordBytes(emulatorContext(352), LE));
  invalid("libxl/invalid/truncated-in-checkpoint", "libxl", "After a libxc CHECKPOINT, an EMULATOR_CONTEXT but no CHECKPOINT_END.", [`${LIBXL_SPEC} §5, §7`], cp, "TRUNCATED", cp.length);

  invalid("libxl/invalid/bad-ident", "libxl", "Ident \"LibxlFmT\".", [`${LIBXL_SPEC} §1`], poke(full, 7, 0x54), "BAD_MAGIC", 0);
  invalid("libxl/invalid/bad-nested-marker", "libxl", "The libxc stream after LIBXC_CONTEXT has a bad image marker.", [`${LIBXL_SPEC} §5`, `${LIBXC_SPEC} §2`], poke(full, 24, 0), "BAD_MAGIC", 24);
  invalid("libxl/invalid/version-1", "libxl", "libxl header version 1.", [`${LIBXL_SPEC} §1`], poke(full, 11, 1), "BAD_VERSION", 8);
  invalid("libxl/invalid/version-3", "libxl", "libxl header version 3.", [`${LIBXL_SPEC} §1`], poke(full, 11, 3), "BAD_VERSION", 8);
  invalid("libxl/invalid/nested-version-4", "libxl", "Nested libxc image header version 4.", [`${LIBXC_SPEC} §2`], poke(full, 24 + 15, 4), "BAD_VERSION", 24 + 12);

  const tooBig = cat(PRE, u32(LIBXL_TYPE.EMULATOR_CONTEXT, LE), u32(0xffffffff, LE));
  invalid("libxl/invalid/record-too-large", "libxl", "EMULATOR_CONTEXT claiming 0xFFFFFFFF bytes (the default limit, 128 MiB, applies to libxl records too).", [`${LIBXL_SPEC} §2`], tooBig, "RECORD_TOO_LARGE", PRE.length + 4);

  const a = libxlBad(lrec(LIBXL_TYPE.EMULATOR_XENSTORE_DATA, u32(2, LE)));
  invalid("libxl/invalid/xenstore-short", "libxl", "EMULATOR_XENSTORE_DATA of 4 bytes (needs the 8-byte emulator header).", [`${LIBXL_SPEC} §4.3`], a.bytes, "BAD_LENGTH", a.lengthField);
  const b = libxlBad(lrec(LIBXL_TYPE.EMULATOR_CONTEXT, zeros(7)));
  invalid("libxl/invalid/emulator-context-short", "libxl", "EMULATOR_CONTEXT of 7 bytes.", [`${LIBXL_SPEC} §4.4`], b.bytes, "BAD_LENGTH", b.lengthField);
  const c = cat(PRE_CP, libxlRecordBytes(CHECKPOINT_END, LE), lrec(LIBXL_TYPE.CHECKPOINT_STATE, zeros(0)));
  invalid("libxl/invalid/checkpoint-state-empty", "libxl", "CHECKPOINT_STATE of 0 bytes after CHECKPOINT_END (Xen would read past the body).", [`${LIBXL_SPEC} §4.6`], c, "BAD_LENGTH", c.length - 4);

  const keyOnly = libxlBad(lrec(LIBXL_TYPE.EMULATOR_XENSTORE_DATA, cat(u32(2, LE), u32(0, LE), asciiz("key"), ascii("value"))));
  invalid("libxl/invalid/xenstore-value-unterminated", "libxl", "EMULATOR_XENSTORE_DATA whose value has no NUL.", [`${LIBXL_SPEC} §4.3`], keyOnly.bytes, "BAD_FIELD", keyOnly.body + 8 + 4);
  const odd = libxlBad(lrec(LIBXL_TYPE.EMULATOR_XENSTORE_DATA, cat(u32(2, LE), u32(0, LE), asciiz("k"), asciiz("v"), asciiz("lonely"))));
  invalid("libxl/invalid/xenstore-key-without-value", "libxl", "EMULATOR_XENSTORE_DATA ending in a key with no value (odd number of strings).", [`${LIBXL_SPEC} §4.3`], odd.bytes, "BAD_FIELD", odd.body + 8 + 4 + 7);
  const unterminated = libxlBad(lrec(LIBXL_TYPE.EMULATOR_XENSTORE_DATA, cat(u32(2, LE), u32(0, LE), asciiz("k"), asciiz("v"), ascii("key"))));
  invalid("libxl/invalid/xenstore-key-unterminated", "libxl", "EMULATOR_XENSTORE_DATA ending in a key with no NUL.", [`${LIBXL_SPEC} §4.3`], unterminated.bytes, "BAD_FIELD", unterminated.body + 8 + 4);

  const ut = cat(PRE, lrec(6, zeros(12)).subarray(0, 14));
  invalid("libxl/invalid/unknown-type-truncated", "libxl", "Unknown mandatory type 6 cut short: TRUNCATED, not UNKNOWN_RECORD.", [`${LIBXL_SPEC} §2`], ut, "TRUNCATED", ut.length);
  const u = libxlBad(lrec(6, zeros(0)));
  invalid("libxl/invalid/unknown-mandatory", "libxl", "libxl record type 6, the first reserved mandatory type.", [`${LIBXL_SPEC} §2, §3`], u.bytes, "UNKNOWN_RECORD", u.record);

  const ce = libxlBad(libxlRecordBytes(CHECKPOINT_END, LE));
  invalid("libxl/invalid/checkpoint-end-outside", "libxl", "CHECKPOINT_END after libxc END, outside any checkpoint.", [`${LIBXL_SPEC} §4.5, §7`], ce.bytes, "UNEXPECTED_RECORD", ce.record, { reference: "record-order-unchecked" });
  const cs = libxlBad(libxlRecordBytes(checkpointState(0), LE));
  invalid("libxl/invalid/checkpoint-state-outside", "libxl", "CHECKPOINT_STATE after libxc END, not after CHECKPOINT_END.", [`${LIBXL_SPEC} §4.6, §7`], cs.bytes, "UNEXPECTED_RECORD", cs.record, { reference: "record-order-unchecked" });
  const endIn = cat(PRE_CP, LEND);
  invalid("libxl/invalid/end-inside-checkpoint", "libxl", "libxl END after a libxc CHECKPOINT, before CHECKPOINT_END.", [`${LIBXL_SPEC} §5, §7`], endIn, "UNEXPECTED_RECORD", PRE_CP.length);
  const ctxIn = cat(PRE_CP, LXC, INNER, LEND);
  invalid("libxl/invalid/libxc-context-inside-checkpoint", "libxl", "A second LIBXC_CONTEXT inside a checkpoint.", [`${LIBXL_SPEC} §5`], ctxIn, "UNEXPECTED_RECORD", PRE_CP.length);

  invalid("libxl/invalid/trailing-data", "libxl", "8 bytes after libxl END.", [`${LIBXL_SPEC} §4.1`], cat(full, zeros(8)), "TRAILING_DATA", full.length, { reference: "trailing-data" });
}

// =================================================================== xl: valid

const XL_SPEC = "xl-header.md";
const pvLibxl = (seed: number): LibxlStream => libxl([...nested(pvV3(seed)), LIBXL_END]);
/** A small but complete HVM libxl stream, for vectors about the xl header. */
const smallLibxl = (seed: number): LibxlStream =>
  libxl([...nested(libxc(ihdr(3), dhdr(HVM), [SDE, pageData([[0, 0]], seed), tscInfo(1n), hvmContext(), END])), emulatorContext(seed + 1), LIBXL_END]);

valid("xl/valid/pv-save", "xl", "xl save of a PV guest: 48-byte header (byteorder 0x01020304 little-endian, mandatory JSON|STREAMv2), JSON config with its NUL, libxl stream.", [`${XL_SPEC} §1`],
  libxlFile(pvLibxl(401), xlHeader(JSON_PV)));
valid("xl/valid/hvm-save", "xl", "xl save of an HVM guest with physmap and emulator context.", [`${XL_SPEC} §1`, `${LIBXL_SPEC} §6.1`],
  libxlFile(libxl([...nested(hvmV3(411)), xenstoreData(PHYSMAP), emulatorContext(412), LIBXL_END]), xlHeader(JSON_HVM)), { reference: "xenstore-data-py3" });
valid("xl/valid/no-config", "xl", "No optional data (optional_data_len 0), STREAMv2 only.", [`${XL_SPEC} §1.3`], libxlFile(smallLibxl(421), xlHeader(undefined)));
valid("xl/valid/config-length-0", "xl", "optional_data_len 4 holding config_len 0 (what xl writes with no config), STREAMv2 only.", [`${XL_SPEC} §1.3`],
  libxlFile(smallLibxl(431), xlHeader(zeros(0), 2)));
valid("xl/valid/text-config", "xl", "Config in xl config-file syntax (JSON flag clear).", [`${XL_SPEC} §1.2, §1.3`],
  libxlFile(smallLibxl(441), xlHeader(asciiz('name = "vec-hvm"\ntype = "hvm"\nmemory = 128\n'), 2)));
valid("xl/valid/big-endian-header", "xl", "xl header written by a big-endian host: byteorder reads 01 02 03 04, the u32 fields are big-endian; the libxl stream stays little-endian.", [`${XL_SPEC} §1.1`],
  libxlFile(smallLibxl(451), xlHeader(JSON_HVM, 3, "big")), { reference: "big-endian" });
valid("xl/valid/remus", "xl", "xl remus preamble (header + config) then a checkpointed libxl stream with no END.", [`${XL_SPEC} §4`, `${LIBXL_SPEC} §6.2`],
  libxlFile(libxl([
    ...nested(libxc(ihdr(3), dhdr(HVM), [cpuidPolicy(), SDE, pageData([[0, 0]], 461), tscInfo(1n), hvmContext(), CHECKPOINT])),
    emulatorContext(462), CHECKPOINT_END,
    resume([pageData([[0, 0]], 463), tscInfo(2n), hvmContext(), CHECKPOINT]),
    emulatorContext(464), CHECKPOINT_END,
  ]), xlHeader(JSON_HVM)), { reference: "checkpointed" });

// =============================================================== xl: tolerated

valid("xl/tolerated/optional-extra", "xl", "Optional data with 8 bytes after the config (xl skips them).", [`${XL_SPEC} §1.3`],
  libxlFile(smallLibxl(471), { ...xlHeader(JSON_HVM), optionalExtra: hex("0102030405060708") }));
valid("xl/tolerated/optional-flags", "xl", "optional_flags = 1 (none are defined; xl never reads them).", [`${XL_SPEC} §1.2`, "README disagreement 20"],
  libxlFile(smallLibxl(481), xlHeader(JSON_HVM, 3, "little", 1)));
valid("xl/tolerated/no-streamv2-libxc", "xl", "STREAMv2 clear and a bare libxc stream after the header: what verify-stream-v2 -f xl reads (xl itself would run the legacy converter).", [`${XL_SPEC} §1.2, §5`],
  libxcFile(hvmV3(491), xlHeader(JSON_HVM, 1)));

// ================================================================= xl: invalid

{
  const good = saveFileBytes(libxlFile(smallLibxl(501), xlHeader(JSON_HVM)));
  const head = xlHeaderBytes(xlHeader(JSON_HVM));
  const headerOnly = xlHeaderBytes(xlHeader(undefined));
  invalid("xl/invalid/header-only", "xl", "A 48-byte xl header (STREAMv2, no optional data) and nothing else.", [`${XL_SPEC} §1`], headerOnly, "TRUNCATED", 48);
  invalid("xl/invalid/truncated-header", "xl", "Stops after 40 of the 48 header bytes.", [`${XL_SPEC} §1.1`], good.subarray(0, 40), "TRUNCATED", 40);
  invalid("xl/invalid/truncated-optional-data", "xl", "Stops 20 bytes into the optional data.", [`${XL_SPEC} §1.3`], good.subarray(0, 68), "TRUNCATED", 68);
  invalid("xl/invalid/truncated-stream", "xl", "Stops inside the libxl stream.", [`${XL_SPEC} §1`], good.subarray(0, head.length + 20), "TRUNCATED", head.length + 20);
  invalid("xl/invalid/bad-magic-nul", "xl", "Magic with its NUL (byte 29) turned into a space.", [`${XL_SPEC} §1.1`], poke(good, 29, 0x20), "BAD_MAGIC", 29);
  invalid("xl/invalid/bad-magic-cr", "xl", "Magic ending in LF instead of CR (a text-mode copy).", [`${XL_SPEC} §1.1`], poke(good, 31, 0x0a), "BAD_MAGIC", 31);
  invalid("xl/invalid/byteorder", "xl", "byteorder 0x05020304: neither byte order gives 0x01020304.", [`${XL_SPEC} §1.1`], poke(good, 35, 5), "BAD_FIELD", 32, { reference: "xl-header-unchecked" });
  invalid("xl/invalid/mandatory-flag-unknown", "xl", "mandatory_flags 0x7: bit 2 unknown (xl: \"need newer xl\").", [`${XL_SPEC} §1.2`], poke(good, 36, 7), "BAD_FIELD", 36, { reference: "xl-header-unchecked" });
  const shortOpt = cat(XL_MAGIC, u32(0x01020304, LE), u32(2, LE), u32(0, LE), u32(2, LE), zeros(2), smallLibxlBytes(511));
  invalid("xl/invalid/optional-data-too-short", "xl", "optional_data_len 2: too short for config_len.", [`${XL_SPEC} §1.3`], shortOpt, "BAD_LENGTH", 44, { reference: "xl-header-unchecked" });
  const longConfig = cat(XL_MAGIC, u32(0x01020304, LE), u32(3, LE), u32(0, LE), u32(20, LE), u32(100, LE), zeros(16), smallLibxlBytes(521));
  invalid("xl/invalid/config-beyond-optional-data", "xl", "config_len 100 in 20 bytes of optional data (xl: \"Savefile truncated\").", [`${XL_SPEC} §1.3`], longConfig, "BAD_LENGTH", 48, { reference: "xl-header-unchecked" });
  const hugeOpt = cat(XL_MAGIC, u32(0x01020304, LE), u32(3, LE), u32(0, LE), u32(0x08000001, LE));
  invalid("xl/invalid/optional-data-too-large", "xl", "optional_data_len above the 128 MiB record limit: refused before it is read.", [`${XL_SPEC} §1.3`], hugeOpt, "RECORD_TOO_LARGE", 44);
  invalid("xl/invalid/optional-data-over-option-limit", "xl", "optional_data_len above maxRecordLength 64 (a well-formed file otherwise).", [`${XL_SPEC} §1.3`], good, "RECORD_TOO_LARGE", 44,
    { options: { maxRecordLength: 64 }, reference: "decoder-option-limit" });
  const permission = cat(good, asciiz("domain is yours, you are cleared to unpause"));
  invalid("xl/invalid/migrate-permission-to-go", "xl", "A captured xl migrate forward channel: the 44-byte permission_to_go message follows the libxl END.", [`${XL_SPEC} §3`], permission, "TRAILING_DATA", good.length, { reference: "trailing-data" });
  const libxcBody = saveFileBytes(libxcFile(hvmV3(531), xlHeader(JSON_HVM, 3)));
  invalid("xl/invalid/streamv2-with-libxc-body", "xl", "STREAMv2 set but a bare libxc stream follows: the libxl ident check fails.", [`${XL_SPEC} §1.2`, `${LIBXL_SPEC} §1`], libxcBody, "BAD_MAGIC", len(xlHeaderBytes(xlHeader(JSON_HVM, 3))));
  const legacyHead = xlHeaderBytes(xlHeader(JSON_PV, 1));
  // The first bytes of a 64-bit Xen 4.5 PV stream (legacy-stream.md §4): p2m_size, the
  // extended-info signature ~0, total 5184 + 8, then the "vcpu" block header (size 0x1430).
  const legacy = cat(legacyHead, u64(0x8000n, LE), u64(0xffffffffffffffffn, LE), u32(5184 + 8, LE), ascii("vcpu"), u32(0x1430, LE));
  invalid("xl/invalid/legacy-stream", "xl", "The start of a Xen 4.5 xl save file: JSON flag only (no STREAMv2), a legacy stream after the header; to be converted first.", [`${XL_SPEC} §5`, "legacy-stream.md §1.1, §4"], legacy, "UNSUPPORTED", legacyHead.length);
  const noFlagHead = xlHeaderBytes(xlHeader(JSON_HVM, 1));
  const libxlNoFlag = cat(noFlagHead, smallLibxlBytes(541));
  invalid("xl/invalid/libxl-without-streamv2", "xl", "STREAMv2 clear but a libxl stream follows: xl would hand it to the legacy converter.", [`${XL_SPEC} §1.2`], libxlNoFlag, "UNSUPPORTED", noFlagHead.length);
}

function smallLibxlBytes(seed: number): Uint8Array {
  return libxlStreamBytes(smallLibxl(seed));
}

// ==================================================================== captured

interface CapturedDef {
  name: string;
  file: string;
  description: string;
  guest: string;
}

const CAPTURED: CapturedDef[] = [
  { name: "captured/xen-4.17-pv-save.skel", file: "captured/xen-4.17-pv-save.skel.xl", description: "Real xl save of a 64-bit PV guest (128 MiB, 2 vCPUs), PAGE_DATA cut to one record of 4 zeroed pages.", guest: "64-bit PV, 128 MiB, 2 vCPUs" },
  { name: "captured/xen-4.17-hvm-save.skel", file: "captured/xen-4.17-hvm-save.skel.xl", description: "Real xl save of an HVM guest with qemu-xen (EMULATOR_CONTEXT), PAGE_DATA cut to one record of 4 zeroed pages.", guest: "HVM, 128 MiB, 2 vCPUs, qemu-xen" },
  { name: "captured/xen-4.17-pvh-save.skel", file: "captured/xen-4.17-pvh-save.skel.xl", description: "Real xl save of a PVH guest (libxc domain type HVM, no emulator records), PAGE_DATA cut to one record of 4 zeroed pages.", guest: "PVH, 128 MiB, 2 vCPUs" },
];

// ================================================================== generation

/** Directories (relative to spec-vectors/) whose every file the generator writes. */
export const GENERATED_DIRS = ["libxc", "libxl", "xl", "legacy"] as const;

/** Every file under `dir`, as a path relative to `vectorsDir` with "/" separators. */
function listFiles(vectorsDir: string, dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(vectorsDir, join(entry.parentPath, entry.name)).split("\\").join("/"));
}

/**
 * The files on disk the generator owns (writes, and deletes when it no
 * longer produces them): everything under the generated folders, the
 * captured vectors' value files, manifest.json and reference-faults.json.
 */
export function ownedFilesOnDisk(vectorsDir: string): string[] {
  const owned = [...GENERATED_DIRS, ...CONTAINER_DIRS].flatMap((dir) => listFiles(vectorsDir, join(vectorsDir, dir)));
  owned.push(...listFiles(vectorsDir, join(vectorsDir, "captured")).filter((path) => path.endsWith(".json")));
  for (const top of ["manifest.json", "reference-faults.json", CONTAINER_MANIFEST]) if (existsSync(join(vectorsDir, top))) owned.push(top);
  return owned.sort();
}

/** The outcome of generation: every generated file by path relative to spec-vectors/. */
export interface Generated {
  files: Map<string, Uint8Array>;
  manifest: Manifest;
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Builds every generated file in memory. Reads the captured .xl files from
 * `vectorsDir` (they are inputs, never written). With `legacyReference`
 * (Xen's convert-legacy-stream), the legacy outputs it can produce are taken
 * from it and checked against the hand-built bytes (./legacy-catalogue.ts).
 */
export function generateVectors(vectorsDir: string, legacyReference?: LegacyReference): Generated {
  const files = new Map<string, Uint8Array>();
  const entries: Array<ManifestEntry | LegacyManifestEntry> = [];
  const seen = new Set<string>();
  for (const def of defs) {
    if (seen.has(def.name)) throw new Error(`duplicate vector name ${def.name}`);
    seen.add(def.name);
    const file = `${def.name}.bin`;
    const entry: ManifestEntry = { name: def.name, file, layer: def.layer, options: def.options ?? {}, expect: "valid", source: "generated", description: def.description, spec: def.spec };
    if ("value" in def) {
      const bytes = saveFileBytes(def.value);
      // Self-check of the generator: the walker reads back what the builder laid out.
      const back = jsonText(valueToJson(walkSaveFile(bytes, def.layer, def.options?.keepUnknownMandatory ?? false)));
      const json = jsonText(valueToJson(def.value));
      if (back !== json) throw new Error(`${def.name}: the walker does not read back the built value`);
      files.set(file, bytes);
      entry.value = `${def.name}.json`;
      files.set(entry.value, text(json));
    } else {
      files.set(file, def.bytes);
      entry.expect = def.expect;
    }
    entries.push(reorder(entry));
  }
  for (const captured of CAPTURED) {
    const bytes = new Uint8Array(readFileSync(join(vectorsDir, captured.file)));
    const value = walkSaveFile(bytes, "xl");
    if (!sameBytes(saveFileBytes(value), bytes)) throw new Error(`${captured.name}: the builder does not reproduce the captured bytes`);
    const valueFile = `${captured.name}.json`;
    files.set(valueFile, text(jsonText(valueToJson(value))));
    entries.push(
      reorder({
        name: captured.name,
        file: captured.file,
        value: valueFile,
        layer: "xl",
        options: {},
        expect: "valid",
        source: "captured",
        description: captured.description,
        spec: [`${XL_SPEC} §1`, `${LIBXL_SPEC} §6.1`, `${LIBXC_SPEC} §10.1`],
        provenance: {
          writer: "xl save on Xen 4.17 (Debian 4.17.7+13-g2445b30a44-0+deb12u1, dom0 kernel 6.1)",
          guest: captured.guest,
          edits: "PAGE_DATA: only the first record kept, cut to its first 4 pfn entries, page contents zeroed; every other byte as written by Xen",
          checked: "verify-stream-v2 -f xl (Debian xen-utils-4.17) exits 0",
          readme: "captured/README.md",
        },
      }),
    );
  }
  // The libvirt and xenopsd containers: their own manifest (./container-catalogue.ts).
  for (const [path, bytes] of generateContainerVectors().files) files.set(path, bytes);
  const legacy = generateLegacyVectors(legacyReference);
  for (const [path, bytes] of legacy.files) files.set(path, bytes);
  entries.push(...legacy.entries);
  const manifest: Manifest = { suite: "xen-migration-stream spec-vectors", version: 1, vectors: entries };
  files.set("manifest.json", text(jsonText(manifest as unknown as Json)));
  files.set("reference-faults.json", text(jsonText(referenceFaults() as unknown as Json)));
  return { files, manifest };
}

/** Manifest entries with their keys in the documented order. */
function reorder(entry: ManifestEntry): ManifestEntry {
  const { name, file, value, layer, options, expect, source, description, spec, provenance } = entry;
  return { name, file, ...(value === undefined ? {} : { value }), layer, options, expect, source, description, spec, ...(provenance === undefined ? {} : { provenance }) };
}

/** The reference-faults.json content: each class with its vectors. */
function referenceFaults(): unknown {
  return {
    reference: "verify-stream-v2 from Debian xen-utils-4.17 (4.17.5+72-g01140da4e8-1), run with Python 3",
    command: "verify-stream-v2 -i <file> -f <layer>",
    verdicts: { valid: "exit 0", invalid: "exit 1 with a \"Stream Error:\" report", "script-error": "exit 2 with a \"Script Error:\" report" },
    message: "where present, a regular expression (ECMAScript/PCRE subset) the reference's stderr must match",
    classes: Object.entries(REFERENCE_CLASSES).map(([id, cls]) => ({
      id,
      verdict: cls.verdict,
      ...("message" in cls ? { message: cls.message } : {}),
      reason: cls.reason,
      spec: cls.spec,
      vectors: defs.filter((def) => def.reference === id).map((def) => def.name),
    })),
  };
}
