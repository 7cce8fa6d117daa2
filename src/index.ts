/**
 * xen-migration-stream: read, write, verify and convert Xen save images and
 * live-migration streams.
 *
 * @packageDocumentation
 */
export { ErrorCode, XenStreamError, isXenStreamError } from "./errors.js";
export type { Layer, XenStreamErrorDetails } from "./errors.js";

export {
  RECORD_HEADER_SIZE,
  RECORD_ALIGN,
  RECORD_TYPE_OPTIONAL,
  REC_LENGTH_MAX,
  paddedLength,
  paddingLength,
  isOptionalType,
} from "./wire/frame.js";
export { encodeRawRecord } from "./wire/raw.js";
export type { RawRecordInput } from "./wire/raw.js";
export type { RecordCommon, RecordExtra, UnknownRecord } from "./wire/values.js";

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
  decodeImageHeader,
  decodeDomainHeader,
  encodeImageHeader,
  encodeDomainHeader,
  isBigEndianImage,
  pageSizeOf,
} from "./libxc/header.js";
export { pageDataPages } from "./libxc/records/page-data.js";
export { LibxcDecoder } from "./libxc/decoder.js";
export type {
  DecoderOptions,
  LibxcEvent,
  LibxcImageHeaderEvent,
  LibxcDomainHeaderEvent,
  LibxcRecordEvent,
} from "./libxc/decoder.js";
export { decodeLibxcEvents, decodeLibxcStream, encodeLibxcStream, LibxcEncoder } from "./libxc/stream.js";
export type {
  ImageHeader,
  DomainHeader,
  EndRecord,
  PfnEntry,
  PageDataRecord,
  X86PvInfoRecord,
  X86PvP2mFramesRecord,
  VcpuRecordTypeName,
  X86PvVcpuRecord,
  SharedInfoRecord,
  X86TscInfoRecord,
  HvmContextRecord,
  HvmParam,
  HvmParamsRecord,
  ToolstackRecord,
  VerifyRecord,
  CheckpointRecord,
  CheckpointDirtyPfnListRecord,
  StaticDataEndRecord,
  CpuidLeaf,
  X86CpuidPolicyRecord,
  MsrEntry,
  X86MsrPolicyRecord,
  LibxcRecord,
  LibxcStream,
} from "./libxc/types.js";

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
export { decodeLibxlHeader, encodeLibxlHeader, isBigEndianLibxl } from "./libxl/header.js";
export { LibxlDecoder } from "./libxl/decoder.js";
export type { LibxlEvent, LibxlHeaderEvent, LibxlRecordEvent } from "./libxl/decoder.js";
export { decodeLibxlEvents, decodeLibxlStream, encodeLibxlStream, encodeLibxlRecord } from "./libxl/stream.js";
export type {
  LibxlHeader,
  LibxlEndRecord,
  LibxcContextRecord,
  EmulatorXenstoreDataRecord,
  EmulatorContextRecord,
  CheckpointEndRecord,
  CheckpointStateRecord,
  LibxlRecord,
  LibxcStreamPart,
  LibxcResumePart,
  LibxlItem,
  LibxlStream,
} from "./libxl/types.js";

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
export { decodeXlHeader, encodeXlHeader, isStreamV2 } from "./xl/header.js";
export type { XlHeader } from "./xl/header.js";

export { detectFormat, SaveFileDecoder, decodeSaveFile, decodeAnySaveFile, encodeSaveFile } from "./savefile.js";
export type {
  StreamFormat,
  FormatOption,
  XlHeaderEvent,
  SaveFileEvent,
  SaveFileDecoderOptions,
  LibxlSaveFile,
  LibxcSaveFile,
  SaveFile,
  AnySaveFile,
  LegacySaveFile,
  SaveFileContainer,
  LibvirtContainer,
  XenopsdStructuredContainer,
  XenopsdLegacyContainer,
  ContainerEvent,
  LibvirtHeaderEvent,
  XenopsdSignatureEvent,
  XenopsdChunkEvent,
  XenopsdLegacyQemuEvent,
  LegacyPayloadEvent,
} from "./savefile.js";

export { savedConfig, setSavedConfig, ConfigRewriter, rewriteSavedConfig } from "./savefile-config.js";
export type { SavedConfig, SavedConfigKind, ConfigInput, ConfigRewriterOptions } from "./savefile-config.js";
export { convertContainer, CONTAINER_TARGETS } from "./savefile-convert.js";
export type { ContainerTarget, ConvertContainerOptions, ContainerConversion } from "./savefile-convert.js";

export { LIBVIRT_MAGIC, LIBVIRT_MAGIC_SIZE, LIBVIRT_HEADER_SIZE, LIBVIRT_UNUSED_WORDS, LibvirtSaveVersion, LIBVIRT_SAVE_VERSION_MAX } from "./libvirt/constants.js";
export { decodeLibvirtHeader, encodeLibvirtHeader, isLegacyLibvirt, libvirtXmlText, libvirtHeaderFor } from "./libvirt/header.js";
export type { LibvirtHeader } from "./libvirt/header.js";
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
export type { XenopsdChunkName } from "./xenopsd/constants.js";
export { decodeXenopsdSignature, encodeXenopsdChunk } from "./xenopsd/chunk.js";
export type { XenopsdChunk, XenopsdLayout, XenopsdLegacyQemu } from "./xenopsd/chunk.js";
export { decodeXenopsRecord, encodeXenopsRecord } from "./xenopsd/record.js";
export type { XenopsRecord } from "./xenopsd/record.js";
export { parseSexp, formatSexp } from "./sexp.js";
export type { Sexp, SexpReadOptions } from "./sexp.js";

export { verifyStream, StreamVerifier, FindingCode, verifyRules } from "./verify/index.js";
export type {
  VerifyInput,
  ByteReadableStream,
  ByteStreamReader,
  Severity,
  Profile,
  FindingCodeName,
  AnyFindingCode,
  Finding,
  RecordTotals,
  PageTotals,
  VerifySummary,
  VerifyReport,
  VerifyOptions,
  VerifyRuleInfo,
  ContainerSummary,
  ContainerChunkSummary,
} from "./verify/index.js";

export {
  LegacyReader,
  LegacyConverter,
  convertLegacy,
  convertLegacyStream,
  detectLegacyLayout,
  LEGACY_DETECT_WINDOW,
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
} from "./legacy/index.js";
export type {
  DetectLegacyOptions,
  LegacyChunkName,
  LegacyWidth,
  LegacyGuest,
  LegacyOutputFormat,
  LegacyLayout,
  LegacyOptions,
  LegacyEvent,
  LegacyLayoutEvent,
  LegacyPassthroughEvent,
  LegacyEndEvent,
} from "./legacy/index.js";

export {
  XGS_POLICY_ABORT,
  XGS_POLICY_CONTINUE_PRECOPY,
  XGS_POLICY_STOP_AND_COPY,
  SPP_MAX_ITERATIONS,
  SPP_TARGET_DIRTY_COUNT,
  LEGACY_DEF_MAX_ITERS,
  LEGACY_DEF_MAX_FACTOR,
  MAX_SIMULATED_ITERATIONS,
  simplePrecopyPolicy,
  resolvePolicyParameters,
  guestFromSaveFile,
  syntheticGuest,
  CaptureProfiler,
  captureProfile,
  XL_MIGRATE_PERMISSION_TO_GO,
  withoutMigrateTrailer,
  runLiveLoop,
  simulateMigration,
  whatIf,
  whatIfGrid,
} from "./simulate/index.js";
export type {
  PolicyDecision,
  PrecopyStats,
  PrecopyPolicy,
  PolicyParameters,
  ResolvedPolicyParameters,
  GuestImage,
  StreamTemplate,
  SaveFileGuestOptions,
  SyntheticGuestOptions,
  DirtyModel,
  UniformDirtyModel,
  HotDirtyModel,
  ReplayDirtyModel,
  IdleDirtyModel,
  CaptureProfile,
  CapturePass,
  LoopOptions,
  LoopPlan,
  PassReport,
  SimulationReport,
  StopReason,
  SimulationOptions,
  SimulatedMigration,
  SimulationChunkOptions,
  WhatIfVariant,
  WhatIfRow,
} from "./simulate/index.js";
// The streaming encoder's input and options types (from `./io`), which the simulator's results use.
export type {
  RecordSource,
  StreamingLibxcStream,
  StreamingLibxlItem,
  StreamingLibxlStream,
  StreamingSaveFile,
} from "./io/encode.js";
