/**
 * SHARED_INFO contents: `struct shared_info` (xen/include/public/xen.h)
 * with `struct arch_shared_info` (arch-x86/xen.h) and `struct
 * arch_vcpu_info` (arch-x86/xen-x86_64.h / xen-x86_32.h) as a 64-bit or a
 * 32-bit PV guest sees it (spec hvm-context-and-cpu.md §6). The structure
 * fills the first 3136 (64-bit) or 2344 (32-bit) bytes of the 4096-byte
 * page; the rest of the page is kept as `tail`.
 *
 * The saver copies the live page as it is (tools/libs/guest/
 * xg_sr_save_x86_pv.c write_shared_info()), so its frame numbers
 * (`arch.pfnToMfnFrameListList`, `arch.p2mCr3`) are the source host's
 * mfns, not pfns. Xen's restore (xg_sr_restore_x86_pv.c
 * handle_shared_info()) takes only `vcpu_info[]` and `arch` from it, then
 * zeroes `pfn_to_mfn_frame_list_list`, every `evtchn_pending_sel` and
 * `evtchn_pending[]`, and sets all of `evtchn_mask[]`.
 *
 * @module
 */
import { describeValue } from "../../errors.js";
import { Writer } from "../../wire/writer.js";
import {
  baseOffsetOf,
  checkBytes,
  checkObject,
  failLength,
  failUsage,
  failValue,
  readFields,
  setBits,
  viewOf,
  writeFields,
  type FieldSpec,
} from "./pv-layout.js";
import type { ContentsEncodeOptions, PvGuestWidth } from "./pv-vcpu.js";
import type { PvVcpuContentsDecodeOptions } from "./pv-vcpu-extended.js";

/** The SHARED_INFO record body: one x86 page (handle_shared_info() demands PAGE_SIZE). */
export const SHARED_INFO_SIZE = 4096;
/** XEN_LEGACY_MAX_VCPUS (arch-x86/xen.h): vcpu_info slots in the page. */
export const XEN_LEGACY_MAX_VCPUS = 32;
/** sizeof(struct vcpu_info) on x86, both widths. */
export const VCPU_INFO_SIZE = 64;
/** XEN_PVCLOCK_* bits of `vcpu_time_info.flags` (xen.h). */
export const PvclockFlag = {
  XEN_PVCLOCK_TSC_STABLE_BIT: 1 << 0,
  XEN_PVCLOCK_GUEST_STOPPED: 1 << 1,
} as const;

/** `struct vcpu_time_info` (xen.h), 32 bytes. */
export interface VcpuTimeInfo {
  /** Odd while Xen updates the record. */
  version: number;
  pad0: number;
  tscTimestamp: bigint;
  /** Nanoseconds since boot at `tscTimestamp`. */
  systemTime: bigint;
  tscToSystemMul: number;
  /** int8. */
  tscShift: number;
  /** XEN_PVCLOCK_* bits ({@link PvclockFlag}). */
  flags: number;
  /** `pad1[2]`. */
  pad1: number[];
}

/** `struct vcpu_info` (xen.h) of a 64-bit guest. */
export interface VcpuInfo64 {
  evtchnUpcallPending: number;
  evtchnUpcallMask: number;
  /** The 6 alignment bytes before `evtchn_pending_sel` (not a Xen member; kept). */
  pad: number[];
  evtchnPendingSel: bigint;
  /** `struct arch_vcpu_info` (xen-x86_64.h). */
  arch: { cr2: bigint; pad: bigint };
  time: VcpuTimeInfo;
}

/** `struct vcpu_info` (xen.h) of a 32-bit guest. */
export interface VcpuInfo32 {
  evtchnUpcallPending: number;
  evtchnUpcallMask: number;
  /** The 2 alignment bytes before `evtchn_pending_sel` (not a Xen member; kept). */
  pad: number[];
  evtchnPendingSel: number;
  /** `struct arch_vcpu_info` (xen-x86_32.h): cr2 and `pad[5]`. */
  arch: { cr2: number; pad: number[] };
  time: VcpuTimeInfo;
}

/** `struct arch_shared_info` (arch-x86/xen.h), 64-bit. */
export interface ArchSharedInfo64 {
  maxPfn: bigint;
  /** An mfn of the source host (0: unset, ~0: invalid, use p2mVaddr). */
  pfnToMfnFrameListList: bigint;
  nmiReason: bigint;
  /** cr3 format of an mfn (xen_pfn_to_cr3) of the p2m address space; 0 if unused. */
  p2mCr3: bigint;
  p2mVaddr: bigint;
  p2mGeneration: bigint;
}

/** `struct arch_shared_info` (arch-x86/xen.h), 32-bit, with its `wc_sec_hi`. */
export interface ArchSharedInfo32 {
  maxPfn: number;
  pfnToMfnFrameListList: number;
  nmiReason: number;
  p2mCr3: number;
  p2mVaddr: number;
  p2mGeneration: number;
  /** Upper 32 bits of the wallclock seconds ("no room" in the generic struct). */
  wcSecHi: number;
}

interface SharedInfoCommon {
  wcVersion: number;
  wcSec: number;
  wcNsec: number;
  /** Set bits of `evtchnPending`, as event-channel ports (derived). */
  evtchnPendingPorts: number[];
  /** Set bits of `evtchnMask`, as event-channel ports (derived). */
  evtchnMaskPorts: number[];
  /** The page after the structure; a view into the input. */
  tail: Uint8Array;
}

/** SHARED_INFO of a 64-bit guest. */
export interface SharedInfo64 extends SharedInfoCommon {
  guestWidth: 8;
  vcpuInfo: VcpuInfo64[];
  /** 64 words: 4096 ports. */
  evtchnPending: bigint[];
  evtchnMask: bigint[];
  wcSecHi: number;
  arch: ArchSharedInfo64;
}

/** SHARED_INFO of a 32-bit guest. */
export interface SharedInfo32 extends SharedInfoCommon {
  guestWidth: 4;
  vcpuInfo: VcpuInfo32[];
  /** 32 words: 1024 ports. */
  evtchnPending: number[];
  evtchnMask: number[];
  arch: ArchSharedInfo32;
}

/** A decoded SHARED_INFO page of either width. */
export type SharedInfo = SharedInfo64 | SharedInfo32;

/** Options of {@link decodeSharedInfo}. */
export interface SharedInfoDecodeOptions extends PvVcpuContentsDecodeOptions {
  /** Guest width from X86_PV_INFO (required: both widths fill one page). */
  guestWidth: PvGuestWidth;
}

const TIME_FIELDS: readonly FieldSpec[] = [
  { name: "time.version", offset: 32, kind: "u32" },
  { name: "time.pad0", offset: 36, kind: "u32" },
  { name: "time.tscTimestamp", offset: 40, kind: "u64" },
  { name: "time.systemTime", offset: 48, kind: "u64" },
  { name: "time.tscToSystemMul", offset: 56, kind: "u32" },
  { name: "time.tscShift", offset: 60, kind: "i8" },
  { name: "time.flags", offset: 61, kind: "u8" },
  { name: "time.pad1", offset: 62, kind: "u8", count: 2 },
];

interface SharedLayout {
  readonly vcpuInfo: readonly FieldSpec[];
  readonly fields: readonly FieldSpec[];
  readonly end: number;
  readonly word: 32 | 64;
}

/** Offsets: xen.h struct shared_info compiled for x86_64 (spec §6). */
const LAYOUT_64: SharedLayout = {
  vcpuInfo: [
    { name: "evtchnUpcallPending", offset: 0, kind: "u8" },
    { name: "evtchnUpcallMask", offset: 1, kind: "u8" },
    { name: "pad", offset: 2, kind: "u8", count: 6 },
    { name: "evtchnPendingSel", offset: 8, kind: "u64" },
    { name: "arch.cr2", offset: 16, kind: "u64" },
    { name: "arch.pad", offset: 24, kind: "u64" },
    ...TIME_FIELDS,
  ],
  fields: [
    { name: "evtchnPending", offset: 2048, kind: "u64", count: 64 },
    { name: "evtchnMask", offset: 2560, kind: "u64", count: 64 },
    { name: "wcVersion", offset: 3072, kind: "u32" },
    { name: "wcSec", offset: 3076, kind: "u32" },
    { name: "wcNsec", offset: 3080, kind: "u32" },
    { name: "wcSecHi", offset: 3084, kind: "u32" },
    { name: "arch.maxPfn", offset: 3088, kind: "u64" },
    { name: "arch.pfnToMfnFrameListList", offset: 3096, kind: "u64" },
    { name: "arch.nmiReason", offset: 3104, kind: "u64" },
    { name: "arch.p2mCr3", offset: 3112, kind: "u64" },
    { name: "arch.p2mVaddr", offset: 3120, kind: "u64" },
    { name: "arch.p2mGeneration", offset: 3128, kind: "u64" },
  ],
  end: 3136,
  word: 64,
};

/** Offsets: the same struct compiled for x86_32 (spec §6). */
const LAYOUT_32: SharedLayout = {
  vcpuInfo: [
    { name: "evtchnUpcallPending", offset: 0, kind: "u8" },
    { name: "evtchnUpcallMask", offset: 1, kind: "u8" },
    { name: "pad", offset: 2, kind: "u8", count: 2 },
    { name: "evtchnPendingSel", offset: 4, kind: "u32" },
    { name: "arch.cr2", offset: 8, kind: "u32" },
    { name: "arch.pad", offset: 12, kind: "u32", count: 5 },
    ...TIME_FIELDS,
  ],
  fields: [
    { name: "evtchnPending", offset: 2048, kind: "u32", count: 32 },
    { name: "evtchnMask", offset: 2176, kind: "u32", count: 32 },
    { name: "wcVersion", offset: 2304, kind: "u32" },
    { name: "wcSec", offset: 2308, kind: "u32" },
    { name: "wcNsec", offset: 2312, kind: "u32" },
    { name: "arch.maxPfn", offset: 2316, kind: "u32" },
    { name: "arch.pfnToMfnFrameListList", offset: 2320, kind: "u32" },
    { name: "arch.nmiReason", offset: 2324, kind: "u32" },
    { name: "arch.p2mCr3", offset: 2328, kind: "u32" },
    { name: "arch.p2mVaddr", offset: 2332, kind: "u32" },
    { name: "arch.p2mGeneration", offset: 2336, kind: "u32" },
    { name: "arch.wcSecHi", offset: 2340, kind: "u32" },
  ],
  end: 2344,
  word: 32,
};

function layoutOf(width: unknown, fn: string): SharedLayout {
  if (width === 8) return LAYOUT_64;
  if (width === 4) return LAYOUT_32;
  return failUsage(`${fn}: guestWidth must be 4 or 8, got ${describeValue(width)}`);
}

/**
 * Byte offset of a field of the shared info page: `"arch.maxPfn"`,
 * `"evtchnMask"`, `"vcpuInfo[3].time.version"`.
 *
 * @param width - guest width
 * @param path - the field
 * @returns its offset, or undefined for an unknown field
 */
export function sharedInfoFieldOffset(width: PvGuestWidth, path: string): number | undefined {
  const layout = layoutOf(width, "sharedInfoFieldOffset");
  const match = /^vcpuInfo\[(\d+)\](?:\.(.+))?$/.exec(path);
  if (match !== null) {
    const index = Number(match[1]);
    if (index >= XEN_LEGACY_MAX_VCPUS) return undefined;
    if (match[2] === undefined) return index * VCPU_INFO_SIZE;
    const spec = layout.vcpuInfo.find((field) => field.name === match[2]);
    return spec === undefined ? undefined : index * VCPU_INFO_SIZE + spec.offset;
  }
  return layout.fields.find((field) => field.name === path)?.offset;
}

/**
 * Decodes a SHARED_INFO page.
 *
 * @param bytes - the record body, 4096 bytes
 * @param options - guest width (from X86_PV_INFO) and base offset
 * @returns every field, the derived port lists and the page's tail
 * @throws {@link XenStreamError} BAD_LENGTH (at `baseOffset`) for another
 * size; USAGE for a missing or bad `guestWidth`
 *
 * @example
 * ```ts
 * import { decodeSharedInfo } from "xen-migration-stream";
 * const info = decodeSharedInfo(record.data, { guestWidth: 8 });
 * info.arch.maxPfn; //=> 32768n
 * ```
 */
export function decodeSharedInfo(bytes: Uint8Array, options: SharedInfoDecodeOptions): SharedInfo {
  checkBytes(bytes, "decodeSharedInfo: bytes");
  if (typeof options !== "object" || options === null) failUsage("decodeSharedInfo: options with guestWidth are required");
  const layout = layoutOf(options.guestWidth, "decodeSharedInfo");
  const base = baseOffsetOf(options);
  if (bytes.length !== SHARED_INFO_SIZE) {
    failLength(base, `SHARED_INFO must be ${SHARED_INFO_SIZE} bytes (one page, handle_shared_info), got ${bytes.length}`);
  }
  const view = viewOf(bytes);
  const out: Record<string, unknown> = { guestWidth: options.guestWidth };
  const vcpuInfo = new Array<Record<string, unknown>>(XEN_LEGACY_MAX_VCPUS);
  for (let i = 0; i < XEN_LEGACY_MAX_VCPUS; i++) vcpuInfo[i] = readFields(bytes, view, i * VCPU_INFO_SIZE, layout.vcpuInfo);
  out["vcpuInfo"] = vcpuInfo;
  readFields(bytes, view, 0, layout.fields, out);
  out["evtchnPendingPorts"] = setBits(out["evtchnPending"] as (number | bigint)[], layout.word);
  out["evtchnMaskPorts"] = setBits(out["evtchnMask"] as (number | bigint)[], layout.word);
  out["tail"] = bytes.subarray(layout.end);
  return out as unknown as SharedInfo;
}

/**
 * Encodes a SHARED_INFO page (4096 bytes). The derived port lists are
 * ignored.
 *
 * @param info - as {@link decodeSharedInfo} returns
 * @param options - base offset for errors
 * @returns new bytes
 * @throws {@link XenStreamError} BAD_VALUE (at the field's offset) for a
 * value out of range, arrays of the wrong length or a tail that does not
 * fill the page; USAGE for a bad `guestWidth`
 */
export function encodeSharedInfo(info: SharedInfo, options: ContentsEncodeOptions = {}): Uint8Array {
  checkObject(info, "encodeSharedInfo: info");
  const layout = layoutOf(info.guestWidth, "encodeSharedInfo");
  const base = baseOffsetOf(options);
  const writer = new Writer(SHARED_INFO_SIZE, true, base);
  const slots: unknown = info.vcpuInfo;
  if (!Array.isArray(slots) || slots.length !== XEN_LEGACY_MAX_VCPUS) {
    failValue(base, `vcpuInfo must be an array of ${XEN_LEGACY_MAX_VCPUS} vcpu_info, got ${describeValue(slots)}`);
  }
  for (let i = 0; i < XEN_LEGACY_MAX_VCPUS; i++) {
    const slot: unknown = slots[i];
    if (typeof slot !== "object" || slot === null) failValue(base + i * VCPU_INFO_SIZE, `vcpuInfo[${i}] must be an object`);
    writeFields(writer, i * VCPU_INFO_SIZE, layout.vcpuInfo, slot, `vcpuInfo[${i}].`);
  }
  writeFields(writer, 0, layout.fields, info, "");
  const tail: unknown = info.tail;
  if (!(tail instanceof Uint8Array) || tail.length !== SHARED_INFO_SIZE - layout.end) {
    failValue(base + layout.end, `tail must be ${SHARED_INFO_SIZE - layout.end} bytes, got ${describeValue(tail)}`);
  }
  writer.pos = layout.end;
  writer.raw(tail);
  return writer.bytes;
}
