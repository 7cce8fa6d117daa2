/**
 * `xen-migration-stream/constants`: the formats' numbers (magic values,
 * record type ids, struct sizes, limits) and the small helpers over them,
 * for code that reads or writes the bytes itself. The decoders, encoders
 * and the verifier in the root entry point need none of these.
 *
 * Every value is the one of the Xen source or spec named in its
 * documentation (docs/specs/libxc-migration-stream.pandoc,
 * docs/specs/libxl-migration-stream.pandoc, tools/xl/xl_saverestore.c, and
 * tools/libs/guest/xg_sr_stream_format.h).
 *
 * @packageDocumentation
 */
export {
  RECORD_HEADER_SIZE,
  RECORD_ALIGN,
  RECORD_TYPE_OPTIONAL,
  REC_LENGTH_MAX,
  paddedLength,
  paddingLength,
  isOptionalType,
} from "./wire/frame.js";

export {
  IHDR_MARKER,
  IHDR_ID,
  IHDR_SIZE,
  IHDR_OPT_BIG_ENDIAN,
  IHDR_OPT_RESERVED_MASK,
  IHDR_VERSION_MIN,
  IHDR_VERSION_MAX,
  DHDR_SIZE,
  DomainType,
  PAGE_SHIFT_MIN,
  PAGE_SHIFT_MAX,
  LibxcRecordType,
  PAGE_DATA_PFN_MASK,
  PAGE_DATA_TYPE_MASK,
  PAGE_DATA_PFN_MAX,
  PageType,
  PAGE_TYPE_PINNED_FLAG,
  pageTypeHasData,
  isKnownPageType,
  X86_PV_INFO_SIZE,
  X86_TSC_INFO_SIZE,
  HVM_PARAMS_ENTRY_SIZE,
  CPUID_POLICY_ENTRY_SIZE,
  MSR_POLICY_ENTRY_SIZE,
  VCPU_HEADER_SIZE,
  COUNT_HEADER_SIZE,
  P2M_FRAMES_HEADER_SIZE,
  XEN_CPUID_NO_SUBLEAF,
  MAX_BATCH_SIZE,
} from "./libxc/constants.js";
export type { DomainTypeName, LibxcRecordTypeName, PageTypeName } from "./libxc/constants.js";

export {
  LIBXL_IDENT,
  LIBXL_IDENT_BYTES,
  LIBXL_HDR_SIZE,
  LIBXL_VERSION,
  LIBXL_OPT_BIG_ENDIAN,
  LIBXL_OPT_LEGACY,
  LIBXL_OPT_RESERVED_MASK,
  LibxlRecordType,
  EmulatorId,
  EMULATOR_HEADER_SIZE,
  CheckpointStateId,
  CHECKPOINT_STATE_SIZE,
} from "./libxl/constants.js";
export type { LibxlRecordTypeName, EmulatorIdName, CheckpointStateIdName } from "./libxl/constants.js";

export {
  XL_MAGIC,
  XL_MAGIC_SIZE,
  XL_HEADER_SIZE,
  XL_BYTEORDER_VALUE,
  XlMandatoryFlag,
  XL_MANDATORY_FLAGS_KNOWN,
  XL_CONFIG_LENGTH_SIZE,
} from "./xl/constants.js";
export type { XlMandatoryFlagName } from "./xl/constants.js";

export {
  LegacyChunkId,
  legacyChunkName,
  LEGACY_HVM_PARAM_CHUNKS,
  LEGACY_MAX_BATCH,
  LEGACY_MAX_VCPU_ID,
  LEGACY_P2M_SIZE_MAX,
  LEGACY_XTAB_ENTRY,
  ExtendedInfoBlock,
  QemuSignature,
  VCPU_CONTEXT_SIZE_32,
  VCPU_CONTEXT_SIZE_64,
} from "./legacy/constants.js";
export type { LegacyChunkName } from "./legacy/constants.js";
export { LEGACY_DETECT_WINDOW } from "./legacy/detect.js";

// Record insides: HVM save codes and sizes of the structures inside records.
export { HVM_FILE_MAGIC, HVM_FILE_VERSION, HVM_SAVE_CODE, HVM_SAVE_CODE_MAX } from "./libxc/contents/hvm-context.js";
export { VCPU_GUEST_CONTEXT_SIZE_32, VCPU_GUEST_CONTEXT_SIZE_64 } from "./libxc/contents/pv-vcpu.js";
export { VCPU_EXTENDED_MAX, VCPU_EXTENDED_SIZE, VCPU_EXTENDED_VMCE_OFFSET } from "./libxc/contents/pv-vcpu-extended.js";
export { FXSAVE_SIZE, XSAVE_HDR_SIZE, PV_XSAVE_HDR_SIZE, PV_XSAVE_MIN_AREA_SIZE, XSTATE_COMPACTION_ENABLED } from "./libxc/contents/xsave.js";
export { VCPU_MSR_SIZE, PV_VCPU_MSRS_ACCEPTED } from "./libxc/contents/msrs.js";
export { MSR_NAME_COUNT } from "./libxc/contents/msr-names.js";
export { FIRST_RESERVED_GDT_ENTRY, LDT_ENTRIES_MAX } from "./libxc/contents/pv-vcpu-checks.js";
export { SHARED_INFO_SIZE, XEN_LEGACY_MAX_VCPUS, VCPU_INFO_SIZE } from "./libxc/contents/shared-info.js";
export { MSR_INTEL_PLATFORM_INFO, MSR_ARCH_CAPABILITIES, CPUID_MAX_SERIALISED_LEAVES, MSR_MAX_SERIALISED_ENTRIES } from "./libxc/contents/cpu-policy.js";
export { CPUID_GUEST_NR } from "./libxc/contents/cpuid-leaves.js";
export { FEATURESET_NR_ENTRIES } from "./libxc/contents/cpu-features.js";

// Containers: libvirt's libxl save image header, xenopsd's suspend image.
export { LIBVIRT_MAGIC, LIBVIRT_MAGIC_SIZE, LIBVIRT_HEADER_SIZE, LIBVIRT_UNUSED_WORDS, LibvirtSaveVersion, LIBVIRT_SAVE_VERSION_MAX } from "./libvirt/constants.js";
export {
  XENOPSD_SIGNATURE,
  XENOPSD_LEGACY_SIGNATURE,
  XENOPSD_SIGNATURE_SIZE,
  XENOPSD_LEGACY_QEMU_SIGNATURE,
  XENOPSD_LEGACY_QEMU_HEADER_SIZE,
  XENOPSD_CHUNK_HEADER_SIZE,
  XenopsdChunkType,
  xenopsdChunkName,
  XENOPSD_STREAM_CHUNKS,
} from "./xenopsd/constants.js";

// Record-inside tables.
export { HVM_SAVE_TYPES } from "./libxc/contents/hvm-context.js";
export { X86_VENDORS } from "./libxc/contents/cpu-policy.js";
export { CPU_FEATURES, FEATURESET_WORDS } from "./libxc/contents/cpu-features.js";

// Memory images and the migration protocol.
export { ZERO_PAGE } from "./memory/layout.js";
export { ELF_DATA_OFFSET } from "./memory/elf.js";
export { MIGRATE_PERMISSION_TO_GO } from "./xl/migration.js";
export { CONTAINER_TARGETS } from "./savefile-convert.js";

// Xen 4.17's live-loop policy (tools/libs/guest/xg_sr_save.c, xenguest.h) and Xen <= 4.5's.
export * from "./simulate/constants.js";

// The JSON document's kind and version (schema/stream-document.schema.json).
export { STREAM_DOCUMENT_KIND, STREAM_DOCUMENT_VERSION } from "./inspect/document.js";
