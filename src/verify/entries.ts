/**
 * The verifier's access to the entries of array records without building
 * them (issue #19): the verifier decodes shallow (`shallowEntries`), so a
 * record's body is walked in place; a record decoded in full (one the
 * legacy converter made) is read through its arrays. Either way a rule
 * sees the same entries in the same order.
 *
 * Entry layouts: PAGE_DATA pfn u64 (type 63-60, reserved 59-52, pfn 51-0;
 * xg_sr_restore.c handle_page_data()), xen_cpuid_leaf_t (6 x u32) and
 * xen_msr_entry_t (idx u32, flags u32, val u64) (public/arch-x86/xen.h),
 * HVM_PARAMS {index u64, value u64} after an 8-byte count header, and
 * EMULATOR_XENSTORE_DATA `key NUL value NUL` after the 8-byte emulator
 * header (libxl_stream_read.c).
 *
 * @module
 * @internal
 */
import { shallowBody } from "../libxc/records/lazy.js";
import type {
  CpuidLeaf,
  HvmParamsRecord,
  MsrEntry,
  PageDataRecord,
  PfnEntry,
  X86CpuidPolicyRecord,
  X86MsrPolicyRecord,
  X86PvP2mFramesRecord,
} from "../libxc/types.js";
import type { EmulatorXenstoreDataRecord } from "../libxl/types.js";
import { wordOffsets } from "../wire/reader.js";

const COUNT_HEADER = 8;
const PFN_ENTRY = 8;
const CPUID_ENTRY = 24;
const MSR_ENTRY = 16;
const HVM_PARAM_ENTRY = 16;
const P2M_HEADER = 8;
const EMULATOR_HEADER = 8;

/** The pfn entries of a PAGE_DATA record, by index. */
export interface PfnEntries {
  readonly count: number;
  pfn(i: number): number;
  type(i: number): number;
  reserved(i: number): number;
}

class BodyPfnEntries implements PfnEntries {
  readonly count: number;
  private readonly low: number;
  private readonly high: number;

  constructor(
    private readonly view: DataView,
    private readonly littleEndian: boolean,
  ) {
    this.count = view.getUint32(0, littleEndian);
    const at = wordOffsets(littleEndian);
    this.low = COUNT_HEADER + at.low;
    this.high = COUNT_HEADER + at.high;
  }

  pfn(i: number): number {
    const high = this.view.getUint32(this.high + PFN_ENTRY * i, this.littleEndian);
    return (high & 0x000f_ffff) * 0x1_0000_0000 + this.view.getUint32(this.low + PFN_ENTRY * i, this.littleEndian);
  }

  type(i: number): number {
    return this.view.getUint32(this.high + PFN_ENTRY * i, this.littleEndian) >>> 28;
  }

  reserved(i: number): number {
    return (this.view.getUint32(this.high + PFN_ENTRY * i, this.littleEndian) >>> 20) & 0xff;
  }
}

class ArrayPfnEntries implements PfnEntries {
  readonly count: number;

  constructor(private readonly entries: readonly PfnEntry[]) {
    this.count = entries.length;
  }

  pfn(i: number): number {
    return (this.entries[i] as PfnEntry).pfn;
  }

  type(i: number): number {
    return (this.entries[i] as PfnEntry).type;
  }

  reserved(i: number): number {
    return (this.entries[i] as PfnEntry).reserved ?? 0;
  }
}

/** The pfn entries of `record`, read in place when it was decoded shallow. */
export function pfnEntries(record: PageDataRecord): PfnEntries {
  const body = shallowBody(record);
  return body === undefined ? new ArrayPfnEntries(record.entries) : new BodyPfnEntries(body.view, body.littleEndian);
}

/** Number of params of an HVM_PARAMS record. */
export function hvmParamCount(record: HvmParamsRecord): number {
  const body = shallowBody(record);
  return body === undefined ? record.params.length : (body.bytes.length - COUNT_HEADER) / HVM_PARAM_ENTRY;
}

/** Number of frames of an X86_PV_P2M_FRAMES record. */
export function p2mFrameCount(record: X86PvP2mFramesRecord): number {
  const body = shallowBody(record);
  return body === undefined ? record.frames.length : (body.bytes.length - P2M_HEADER) / 8;
}

/** Number of entries of a CPU policy record. */
export function policyEntryCount(record: X86CpuidPolicyRecord | X86MsrPolicyRecord): number {
  const body = shallowBody(record);
  if (body === undefined) return record.entries.length;
  return body.bytes.length / (record.type === "X86_CPUID_POLICY" ? CPUID_ENTRY : MSR_ENTRY);
}

/** The first `limit` CPUID leaves of `record` (all of them when fewer), as objects. */
export function cpuidLeavesPrefix(record: X86CpuidPolicyRecord, limit: number): CpuidLeaf[] {
  const body = shallowBody(record);
  if (body === undefined) return record.entries.slice(0, limit);
  const { view, littleEndian: le } = body;
  const count = Math.min(limit, body.bytes.length / CPUID_ENTRY);
  const leaves = new Array<CpuidLeaf>(count);
  for (let i = 0, at = 0; i < count; i++, at += CPUID_ENTRY) {
    leaves[i] = {
      leaf: view.getUint32(at, le),
      subleaf: view.getUint32(at + 4, le),
      a: view.getUint32(at + 8, le),
      b: view.getUint32(at + 12, le),
      c: view.getUint32(at + 16, le),
      d: view.getUint32(at + 20, le),
    };
  }
  return leaves;
}

/** The first `limit` MSR entries of `record` (all of them when fewer), as objects. */
export function msrEntriesPrefix(record: X86MsrPolicyRecord, limit: number): MsrEntry[] {
  const body = shallowBody(record);
  if (body === undefined) return record.entries.slice(0, limit);
  const { view, littleEndian: le } = body;
  const count = Math.min(limit, body.bytes.length / MSR_ENTRY);
  const entries = new Array<MsrEntry>(count);
  for (let i = 0, at = 0; i < count; i++, at += MSR_ENTRY) {
    entries[i] = { index: view.getUint32(at, le), flags: view.getUint32(at + 4, le), value: view.getBigUint64(at + 8, le) };
  }
  return entries;
}

/**
 * Calls `visit(leaf, subleaf, a, b)` for every CPUID leaf of `record`
 * (the registers the verifier's state needs), without objects.
 */
export function forEachCpuidLeaf(
  record: X86CpuidPolicyRecord,
  visit: (leaf: number, subleaf: number, a: number, b: number) => void,
): void {
  const body = shallowBody(record);
  if (body === undefined) {
    for (const leaf of record.entries) visit(leaf.leaf, leaf.subleaf, leaf.a, leaf.b);
    return;
  }
  const { view, littleEndian: le } = body;
  for (let at = 0; at + CPUID_ENTRY <= body.bytes.length; at += CPUID_ENTRY) {
    visit(view.getUint32(at, le), view.getUint32(at + 4, le), view.getUint32(at + 8, le), view.getUint32(at + 12, le));
  }
}

/** Calls `visit(i, index, flags)` for every MSR entry of `record`, without objects. */
export function forEachMsrFlags(record: X86MsrPolicyRecord, visit: (i: number, index: number, flags: number) => void): void {
  const body = shallowBody(record);
  if (body === undefined) {
    record.entries.forEach((entry, i) => visit(i, entry.index, entry.flags));
    return;
  }
  const { view, littleEndian: le } = body;
  for (let i = 0, at = 0; at + MSR_ENTRY <= body.bytes.length; i++, at += MSR_ENTRY) visit(i, view.getUint32(at, le), view.getUint32(at + 4, le));
}

/**
 * Calls `visit` for every xenstore pair of `record` in stream order, with
 * the key as `keyBytes[keyStart, keyEnd)` and the value as
 * `valueBytes[valueStart, valueEnd)` (views are made only by the caller).
 */
export function forEachXenstorePair(
  record: EmulatorXenstoreDataRecord,
  visit: (keyBytes: Uint8Array, keyStart: number, keyEnd: number, valueBytes: Uint8Array, valueStart: number, valueEnd: number) => void,
): void {
  const body = shallowBody(record);
  if (body === undefined) {
    for (const [key, value] of record.entries) visit(key, 0, key.length, value, 0, value.length);
    return;
  }
  const data = body.bytes;
  // The decoder has checked that every key and value is NUL terminated.
  for (let pos = EMULATOR_HEADER; pos < data.length; ) {
    const keyEnd = data.indexOf(0, pos);
    const valueEnd = data.indexOf(0, keyEnd + 1);
    visit(data, pos, keyEnd, data, keyEnd + 1, valueEnd);
    pos = valueEnd + 1;
  }
}
