/**
 * libxc ("migration v2") stream constants, named as in the spec
 * (docs/specs/libxc-migration-stream.pandoc) and Xen's
 * xg_sr_stream_format.h.
 *
 * @module
 */

/** Image header marker: eight 0xFF bytes. */
export const IHDR_MARKER = 0xffff_ffff_ffff_ffffn;
/** Image header id: 0x58454e46, ASCII "XENF". */
export const IHDR_ID = 0x5845_4e46;
/** Image header size in bytes. */
export const IHDR_SIZE = 24;
/** Image header options bit 0: the rest of the stream is big-endian. */
export const IHDR_OPT_BIG_ENDIAN = 0x0001;
/** Image header options bits 1-15: reserved. */
export const IHDR_OPT_RESERVED_MASK = 0xfffe;
/** Oldest stream version read (Xen 4.6-4.13 write 2). */
export const IHDR_VERSION_MIN = 2;
/** Newest stream version read (Xen >= 4.14 write 3). */
export const IHDR_VERSION_MAX = 3;

/** Domain header size in bytes. */
export const DHDR_SIZE = 16;
/** Domain types. */
export const DomainType = {
  /** x86 PV guest. */
  X86_PV: 0x0000_0001,
  /** x86 HVM guest (also PVH). */
  X86_HVM: 0x0000_0002,
} as const;
/** Name of a domain type. */
export type DomainTypeName = keyof typeof DomainType;
/** Smallest page_shift accepted (Xen x86 uses 12). */
export const PAGE_SHIFT_MIN = 12;
/** Largest page_shift accepted (16 MiB pages). */
export const PAGE_SHIFT_MAX = 24;

/** libxc record types (spec "Record Types"). */
export const LibxcRecordType = {
  END: 0x0000_0000,
  PAGE_DATA: 0x0000_0001,
  X86_PV_INFO: 0x0000_0002,
  X86_PV_P2M_FRAMES: 0x0000_0003,
  X86_PV_VCPU_BASIC: 0x0000_0004,
  X86_PV_VCPU_EXTENDED: 0x0000_0005,
  X86_PV_VCPU_XSAVE: 0x0000_0006,
  SHARED_INFO: 0x0000_0007,
  X86_TSC_INFO: 0x0000_0008,
  HVM_CONTEXT: 0x0000_0009,
  HVM_PARAMS: 0x0000_000a,
  TOOLSTACK: 0x0000_000b,
  X86_PV_VCPU_MSRS: 0x0000_000c,
  VERIFY: 0x0000_000d,
  CHECKPOINT: 0x0000_000e,
  CHECKPOINT_DIRTY_PFN_LIST: 0x0000_000f,
  STATIC_DATA_END: 0x0000_0010,
  X86_CPUID_POLICY: 0x0000_0011,
  X86_MSR_POLICY: 0x0000_0012,
} as const;
/** Name of a libxc record type. */
export type LibxcRecordTypeName = keyof typeof LibxcRecordType;

/** PAGE_DATA pfn entry: bits 51-0 hold the pfn. */
export const PAGE_DATA_PFN_MASK = 0x000f_ffff_ffff_ffffn;
/** PAGE_DATA pfn entry: bits 63-60 hold the page type. */
export const PAGE_DATA_TYPE_MASK = 0xf000_0000_0000_0000n;
/** Largest pfn a PAGE_DATA entry can hold (52 bits). */
export const PAGE_DATA_PFN_MAX = 2 ** 52 - 1;

/**
 * Page types: XEN_DOMCTL_PFINFO_* >> 28 (domctl.h), as stored in bits
 * 63-60 of a PAGE_DATA entry.
 */
export const PageType = {
  NOTAB: 0x0,
  L1TAB: 0x1,
  L2TAB: 0x2,
  L3TAB: 0x3,
  L4TAB: 0x4,
  L1TAB_PINNED: 0x9,
  L2TAB_PINNED: 0xa,
  L3TAB_PINNED: 0xb,
  L4TAB_PINNED: 0xc,
  BROKEN: 0xd,
  XALLOC: 0xe,
  XTAB: 0xf,
} as const;
/** Name of a page type. */
export type PageTypeName = keyof typeof PageType;

/** LPINTAB flag within the page-type nibble (bit 31 of the 32-bit PFINFO). */
export const PAGE_TYPE_PINNED_FLAG = 0x8;

/**
 * True for page types 0-4 and 9-0xC, which carry one page of data
 * (`page_type_has_stream_data()`, tools/libs/guest/xg_sr_common.h).
 *
 * @param type - the page-type nibble of a PAGE_DATA entry
 * @returns whether the record holds a page of data for the entry
 */
export function pageTypeHasData(type: number): boolean {
  return type <= 0x4 || (type >= 0x9 && type <= 0xc);
}

/**
 * True for page types Xen knows (all but the reserved 5-8).
 *
 * @param type - the page-type nibble of a PAGE_DATA entry
 * @returns false for 5-8 and for anything that is not an integer 0-0xF
 */
export function isKnownPageType(type: number): boolean {
  return Number.isInteger(type) && type >= 0 && type <= 0xf && (type < 0x5 || type > 0x8);
}

/** X86_PV_INFO body size. */
export const X86_PV_INFO_SIZE = 8;
/** X86_TSC_INFO body size. */
export const X86_TSC_INFO_SIZE = 24;
/** Size of one HVM_PARAMS entry {index u64, value u64}. */
export const HVM_PARAMS_ENTRY_SIZE = 16;
/** Size of one `xen_cpuid_leaf_t`. */
export const CPUID_POLICY_ENTRY_SIZE = 24;
/** Size of one `xen_msr_entry_t`. */
export const MSR_POLICY_ENTRY_SIZE = 16;
/** Size of one PAGE_DATA pfn entry (u64). */
export const PAGE_DATA_ENTRY_SIZE = 8;
/** X86_PV_VCPU_BASIC context size of a 32-bit guest: sizeof(vcpu_guest_context_x86_32_t) (hvm-context-and-cpu.md §3). */
export const VCPU_CONTEXT_SIZE_32 = 2800;
/** X86_PV_VCPU_BASIC context size of a 64-bit guest: sizeof(vcpu_guest_context_x86_64_t) (hvm-context-and-cpu.md §3). */
export const VCPU_CONTEXT_SIZE_64 = 5168;
/** Size of the PV vCPU record header {vcpu_id u32, reserved u32}. */
export const VCPU_HEADER_SIZE = 8;
/** PAGE_DATA and HVM_PARAMS header {count u32, reserved u32}. */
export const COUNT_HEADER_SIZE = 8;
/** X86_PV_P2M_FRAMES header {start_pfn u32, end_pfn u32}. */
export const P2M_FRAMES_HEADER_SIZE = 8;
/** `XEN_CPUID_NO_SUBLEAF`: subleaf value for leaves without subleaves. */
export const XEN_CPUID_NO_SUBLEAF = 0xffff_ffff;
/** Batch size of Xen's saver (MAX_BATCH_SIZE). */
export const MAX_BATCH_SIZE = 1024;
