/**
 * Decoded values of a libxc stream. Field names follow the spec's tables in
 * camelCase; reserved fields are kept (always set by the decoder, zero when
 * omitted on encode) so that a verifier can report them and an encoder can
 * reproduce them.
 *
 * @module
 */

import type { RecordCommon, RecordExtra, UnknownRecord } from "../wire/values.js";

export type { RecordCommon, RecordExtra, UnknownRecord };

/** The 24-byte image header (always big-endian on the wire). */
export interface ImageHeader {
  /** Stream version: 2 (Xen 4.6-4.13) or 3 (Xen >= 4.14). */
  version: number;
  /**
   * Options word, all 16 bits: bit 0 set = big-endian stream; bits 1-15 are
   * reserved and kept as found.
   */
  options: number;
  /** Reserved u16 at offset 18 (`_res1`). */
  reserved1?: number;
  /** Reserved u32 at offset 20 (`_res2`). */
  reserved2?: number;
}

/** The 16-byte domain header. */
export interface DomainHeader {
  /** 1 = x86 PV, 2 = x86 HVM (and PVH). See {@link constants!DomainType}. */
  type: number;
  /** log2 of the page size (12 on x86). */
  pageShift: number;
  /** Reserved u16 at offset 6. */
  reserved?: number;
  /** Xen major version of the saver (0: converted from a legacy stream). */
  xenMajor: number;
  /** Xen minor version of the saver (converter version when xenMajor is 0). */
  xenMinor: number;
}

/** END (0x00). */
export interface EndRecord extends RecordCommon, RecordExtra {
  type: "END";
}

/** One PAGE_DATA pfn entry. */
export interface PfnEntry {
  /** Guest frame number, bits 51-0. */
  pfn: number;
  /** Page type nibble, bits 63-60 (see {@link constants!PageType}). */
  type: number;
  /** Reserved bits 59-52 (8 bits), kept as found. */
  reserved?: number;
}

/** PAGE_DATA (0x01). */
export interface PageDataRecord extends RecordCommon {
  type: "PAGE_DATA";
  /** Reserved u32 after count. */
  reserved?: number;
  /** The pfn array; count is its length (must be >= 1). */
  entries: PfnEntry[];
  /**
   * Contents of every page whose entry type carries data, in entry order,
   * each page-size bytes (use {@link pageDataPages} to iterate). A view into
   * the decoder's input.
   */
  pages: Uint8Array;
}

/** X86_PV_INFO (0x02). */
export interface X86PvInfoRecord extends RecordCommon, RecordExtra {
  type: "X86_PV_INFO";
  /** Guest width in bytes: 4 or 8. */
  guestWidth: number;
  /** Page-table levels: 3 or 4. */
  ptLevels: number;
  /** The 6 reserved bytes at offset 2. */
  reserved?: Uint8Array;
}

/** X86_PV_P2M_FRAMES (0x03). */
export interface X86PvP2mFramesRecord extends RecordCommon {
  type: "X86_PV_P2M_FRAMES";
  /** p2m_start_pfn. */
  startPfn: number;
  /** p2m_end_pfn (inclusive). */
  endPfn: number;
  /** PFNs of the frames holding the guest's p2m (u64 each). */
  frames: bigint[];
}

/** The names of the four PV vCPU record kinds. */
export type VcpuRecordTypeName =
  | "X86_PV_VCPU_BASIC"
  | "X86_PV_VCPU_EXTENDED"
  | "X86_PV_VCPU_XSAVE"
  | "X86_PV_VCPU_MSRS";

/** X86_PV_VCPU_BASIC/EXTENDED/XSAVE/MSRS (0x04, 0x05, 0x06, 0x0C). */
export interface X86PvVcpuRecord extends RecordCommon {
  type: VcpuRecordTypeName;
  /** vCPU id. */
  vcpuId: number;
  /** Reserved u32 after vcpu_id. */
  reserved?: number;
  /** The context blob (may be empty: Xen skips such records). */
  context: Uint8Array;
}

/** SHARED_INFO (0x07): one page. */
export interface SharedInfoRecord extends RecordCommon {
  type: "SHARED_INFO";
  /** The shared info page, page-size bytes. */
  data: Uint8Array;
}

/** X86_TSC_INFO (0x08). */
export interface X86TscInfoRecord extends RecordCommon {
  type: "X86_TSC_INFO";
  /** TSC mode. */
  mode: number;
  /** Guest TSC frequency in kHz. */
  khz: number;
  /** Elapsed time in nanoseconds. */
  nsec: bigint;
  /** Incarnation (migration count). */
  incarnation: number;
  /** Reserved u32 at offset 20. */
  reserved?: number;
}

/** HVM_CONTEXT (0x09). */
export interface HvmContextRecord extends RecordCommon {
  type: "HVM_CONTEXT";
  /** The HVM context blob (non-empty). */
  data: Uint8Array;
}

/** One HVM_PARAMS entry. */
export interface HvmParam {
  /** HVM_PARAM index. */
  index: bigint;
  /** Value. */
  value: bigint;
}

/** HVM_PARAMS (0x0A). */
export interface HvmParamsRecord extends RecordCommon {
  type: "HVM_PARAMS";
  /** Reserved u32 after count. */
  reserved?: number;
  /** The parameters, in stream order. */
  params: HvmParam[];
}

/** TOOLSTACK (0x0B), deprecated: an opaque blob. */
export interface ToolstackRecord extends RecordCommon {
  type: "TOOLSTACK";
  /** Opaque data. */
  data: Uint8Array;
}

/** VERIFY (0x0D). */
export interface VerifyRecord extends RecordCommon, RecordExtra {
  type: "VERIFY";
}

/** CHECKPOINT (0x0E). */
export interface CheckpointRecord extends RecordCommon, RecordExtra {
  type: "CHECKPOINT";
}

/** CHECKPOINT_DIRTY_PFN_LIST (0x0F). */
export interface CheckpointDirtyPfnListRecord extends RecordCommon {
  type: "CHECKPOINT_DIRTY_PFN_LIST";
  /** Dirty pfns (u64 each), unordered. */
  pfns: bigint[];
}

/** STATIC_DATA_END (0x10). */
export interface StaticDataEndRecord extends RecordCommon, RecordExtra {
  type: "STATIC_DATA_END";
}

/** One `xen_cpuid_leaf_t`. */
export interface CpuidLeaf {
  leaf: number;
  /** 0xFFFFFFFF (XEN_CPUID_NO_SUBLEAF) for leaves without subleaves. */
  subleaf: number;
  a: number;
  b: number;
  c: number;
  d: number;
}

/** X86_CPUID_POLICY (0x11). */
export interface X86CpuidPolicyRecord extends RecordCommon {
  type: "X86_CPUID_POLICY";
  /** The leaves (at least one). */
  entries: CpuidLeaf[];
}

/** One `xen_msr_entry_t`. */
export interface MsrEntry {
  /** MSR index. */
  index: number;
  /** Flags (reserved, zero). */
  flags: number;
  /** Value. */
  value: bigint;
}

/** X86_MSR_POLICY (0x12). */
export interface X86MsrPolicyRecord extends RecordCommon {
  type: "X86_MSR_POLICY";
  /** The MSRs (at least one). */
  entries: MsrEntry[];
}

/** Any libxc record, discriminated on `type`. */
export type LibxcRecord =
  | EndRecord
  | PageDataRecord
  | X86PvInfoRecord
  | X86PvP2mFramesRecord
  | X86PvVcpuRecord
  | SharedInfoRecord
  | X86TscInfoRecord
  | HvmContextRecord
  | HvmParamsRecord
  | ToolstackRecord
  | VerifyRecord
  | CheckpointRecord
  | CheckpointDirtyPfnListRecord
  | StaticDataEndRecord
  | X86CpuidPolicyRecord
  | X86MsrPolicyRecord
  | UnknownRecord;

/** A whole libxc stream: headers and records, END included. */
export interface LibxcStream {
  imageHeader: ImageHeader;
  domainHeader: DomainHeader;
  /**
   * Every record in stream order, END (or, for a checkpointed stream, the
   * last CHECKPOINT) included.
   */
  records: LibxcRecord[];
}
