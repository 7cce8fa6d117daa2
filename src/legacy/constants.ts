/**
 * Legacy (Xen <= 4.5) save/migration stream constants, named as in Xen's
 * xg_save_restore.h (`XC_SAVE_ID_*`, MAX_BATCH_SIZE, XC_SR_MAX_VCPUS) and
 * tools/python/xen/migration/legacy.py (`CHUNK_*`), and the facts
 * convert-legacy-stream writes into the v2 stream it produces.
 * Spec: shared/spec/legacy-stream.md.
 *
 * @module
 */

/**
 * Negative chunk ids (`XC_SAVE_ID_*`, legacy-stream.md §5.2). A positive
 * chunk id is a page batch of that many entries; 0 ends the chunk stream.
 */
export const LegacyChunkId = {
  END: 0,
  ENABLE_VERIFY_MODE: -1,
  VCPU_INFO: -2,
  HVM_IDENT_PT: -3,
  HVM_VM86_TSS: -4,
  TMEM: -5,
  TMEM_EXTRA: -6,
  TSC_INFO: -7,
  HVM_CONSOLE_PFN: -8,
  LAST_CHECKPOINT: -9,
  HVM_ACPI_IOPORTS_LOCATION: -10,
  HVM_VIRIDIAN: -11,
  COMPRESSED_DATA: -12,
  ENABLE_COMPRESSION: -13,
  HVM_GENERATION_ID_ADDR: -14,
  HVM_PAGING_RING_PFN: -15,
  /** HVM_ACCESS_RING_PFN in 4.5; legacy.py calls it hvm_monitor_ring_pfn. */
  HVM_MONITOR_RING_PFN: -16,
  HVM_SHARING_RING_PFN: -17,
  TOOLSTACK: -18,
  HVM_IOREQ_SERVER_PFN: -19,
  HVM_NR_IOREQ_SERVER_PAGES: -20,
} as const;
/** Name of a legacy chunk id. */
export type LegacyChunkName = keyof typeof LegacyChunkId;

/** Chunk names by id, built on the first {@link legacyChunkName} (not at import: the CLI's start-up). */
let chunkNames: ReadonlyMap<number, LegacyChunkName> | undefined;

/**
 * The name of a chunk id, for messages: the `XC_SAVE_ID_*` name of a
 * negative id, "page batch" for a positive one, "unknown" otherwise.
 *
 * @param id - the chunk id as read (int32)
 * @returns a name
 */
export function legacyChunkName(id: number): string {
  if (id > 0) return "page batch";
  chunkNames ??= new Map((Object.entries(LegacyChunkId) as [LegacyChunkName, number][]).map(([name, id]) => [id, name]));
  return chunkNames.get(id) ?? "unknown";
}

/**
 * Chunks that carry one HVM parameter (payload `u32 pad, u64 value`), and
 * the HVM_PARAM index each becomes (public.py; legacy-stream.md §12.2).
 */
export const LEGACY_HVM_PARAM_CHUNKS: ReadonlyMap<number, number> = /*@__PURE__*/ new Map([
  [LegacyChunkId.HVM_IDENT_PT, 12],
  [LegacyChunkId.HVM_VM86_TSS, 15],
  [LegacyChunkId.HVM_CONSOLE_PFN, 17],
  [LegacyChunkId.HVM_ACPI_IOPORTS_LOCATION, 19],
  [LegacyChunkId.HVM_VIRIDIAN, 9],
  [LegacyChunkId.HVM_GENERATION_ID_ADDR, 34],
  [LegacyChunkId.HVM_PAGING_RING_PFN, 27],
  [LegacyChunkId.HVM_MONITOR_RING_PFN, 28],
  [LegacyChunkId.HVM_SHARING_RING_PFN, 29],
  [LegacyChunkId.HVM_IOREQ_SERVER_PFN, 32],
  [LegacyChunkId.HVM_NR_IOREQ_SERVER_PAGES, 33],
]);

/** Payload of an HVM-parameter chunk: u32 pad + u64 value. */
export const LEGACY_HVM_PARAM_PAYLOAD = 12;
/** Payload of TSC_INFO: u32 mode, u64 nsec, u32 khz, u32 incarnation. */
export const LEGACY_TSC_INFO_PAYLOAD = 20;

/** HVM_PARAM_STORE_PFN. */
export const HVM_PARAM_STORE_PFN = 1;
/** HVM_PARAM_IOREQ_PFN. */
export const HVM_PARAM_IOREQ_PFN = 5;
/** HVM_PARAM_BUFIOREQ_PFN. */
export const HVM_PARAM_BUFIOREQ_PFN = 6;

/** Most entries in one page batch (MAX_BATCH_SIZE). */
export const LEGACY_MAX_BATCH = 1024;
/** Highest vCPU id a VCPU_INFO chunk may name (XC_SR_MAX_VCPUS - 1). */
export const LEGACY_MAX_VCPU_ID = 4095;
/** Page size of every legacy (x86) stream. */
export const LEGACY_PAGE_SIZE = 4096;

/** Bits 31-28 of a pfn entry: the XEN_DOMCTL_PFINFO_* type nibble. */
export const LEGACY_PFN_TYPE_SHIFT = 28;
/** Bits 27-0 of a pfn entry: the pfn. */
export const LEGACY_PFN_MASK = 0x0fff_ffff;
/**
 * The bare XTAB entry the 4.5 saver writes for a page it could not map (the
 * pfn is lost); convert-legacy-stream drops exactly this value.
 */
export const LEGACY_XTAB_ENTRY = 0xf000_0000;
/** Page types at or above this (BROKEN, XALLOC, XTAB) carry no data. */
export const LEGACY_FIRST_DATALESS_TYPE = 0xd;

/**
 * Largest p2m_size converted: the pfn field of a batch entry has 28 bits,
 * so no legacy stream can send a page at or above 2^28 (1 TiB). The bound
 * also caps the X86_PV_P2M_FRAMES record at 4 MiB.
 */
export const LEGACY_P2M_SIZE_MAX = 2 ** 28;
/** Most "unmapped" pfns in a PV tail (xc_domain_restore.c: buffer_tail_pv()). */
export const LEGACY_UNMAPPED_MAX = 2 ** 28;

/** PV extended-info block ids (xc_domain_save.c: map_and_save_p2m_table()). */
export const ExtendedInfoBlock = {
  /** vCPU 0's context; its size gives the guest width. */
  VCPU: "vcpu",
  /** The PV tail carries 128 bytes of extended context per vCPU. */
  EXTV: "extv",
  /** u32: size of each vCPU's xsave chunk in the PV tail (16-byte header + data). */
  XCNT: "xcnt",
} as const;

/** `vcpu_guest_context` of a 32-bit PV guest (0xAF0): guest width 4, 3 levels. */
export const VCPU_CONTEXT_SIZE_32 = 0xaf0;
/** `vcpu_guest_context` of a 64-bit PV guest (0x1430): guest width 8, 4 levels. */
export const VCPU_CONTEXT_SIZE_64 = 0x1430;
/** Extended vCPU context per vCPU in the PV tail when `extv` is announced. */
export const LEGACY_EXTENDED_CONTEXT_SIZE = 128;
/** Header of each PV-tail xsave chunk: u64 xfeature_mask, u64 size. */
export const LEGACY_XSAVE_HEADER_SIZE = 16;
/** Size of the shared info page at the end of the PV tail. */
export const LEGACY_SHARED_INFO_SIZE = 4096;
/** HVM tail magic pfns: ioreq, bufioreq, store (u64 each). */
export const LEGACY_HVM_MAGIC_PFNS_SIZE = 24;

/** Length of a QEMU record signature (21 ASCII bytes, no NUL). */
export const QEMU_SIGNATURE_SIZE = 21;
/** The QEMU record signatures (legacy-stream.md §8). */
export const QemuSignature = {
  /** libxl <= 4.5: u32 length + data. */
  DEVICE_MODEL_RECORD_0002: "DeviceModelRecord0002",
  /** xend live migration: QEMU state to the end of the stream, starting "QEVM". */
  QEMU_DEVICE_MODEL_RECORD: "QemuDeviceModelRecord",
  /** xend Remus: u32 length + data, like DeviceModelRecord0002. */
  REMUS_DEVICE_MODEL_STATE: "RemusDeviceModelState",
} as const;
/** The magic a qemu-traditional save image starts with ("QEVM"). */
export const QEMU_SAVE_MAGIC = "QEVM";

/** Version of the libxl legacy "toolstack" chunk payload (physmap). */
export const LIBXL_TOOLSTACK_VERSION = 1;
/** Fields of one `libxl__physmap_info` entry: 3 x u64 + u32 namelen. */
export const PHYSMAP_ENTRY_HEADER = 28;
/** Bytes a 64-bit toolstack leaves after each physmap name (struct tail padding). */
export const PHYSMAP_64BIT_JUNK = 4;

/**
 * xen_major written into the domain header of a converted stream: 0 marks
 * a stream converted from the legacy format.
 */
export const CONVERTED_XEN_MAJOR = 0;
/** xen_minor of a converted stream: the converter's version (convert-legacy-stream `__version__`). */
export const CONVERTED_XEN_MINOR = 1;
/** libxc stream version convert-legacy-stream writes (3 since Xen 4.14). */
export const CONVERTED_LIBXC_VERSION = 3;
