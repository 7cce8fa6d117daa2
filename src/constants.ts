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
