/**
 * xen-migration-stream: read, write, verify and convert Xen save images and
 * live-migration streams: the codecs of every layer (xl, libxl, libxc), the
 * verifier and the legacy converter. The formats' numbers (magic values,
 * record type ids, struct sizes) are in `xen-migration-stream/constants`;
 * async decoding and streaming encoding in `xen-migration-stream/io`.
 *
 * @packageDocumentation
 */
export { ErrorCode, XenStreamError, isXenStreamError } from "./errors.js";
export type { Layer, XenStreamErrorDetails } from "./errors.js";

export { encodeRawRecord } from "./wire/raw.js";
export type { RawRecordInput } from "./wire/raw.js";
export type { RecordCommon, RecordExtra, UnknownRecord } from "./wire/values.js";

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
export type { SavedConfig, SavedConfigKind, ConfigInput, ConfigRewriterOptions, RewriteSavedConfigOptions } from "./savefile-config.js";
export { convertContainer } from "./savefile-convert.js";
export type { ContainerTarget, ConvertContainerOptions, ContainerConversion } from "./savefile-convert.js";

export { decodeLibvirtHeader, encodeLibvirtHeader, isLegacyLibvirt, libvirtXmlText, libvirtHeaderFor } from "./libvirt/header.js";
export type { LibvirtHeader } from "./libvirt/header.js";
export type { XenopsdChunkName } from "./xenopsd/constants.js";
export { decodeXenopsdSignature, encodeXenopsdChunk } from "./xenopsd/chunk.js";
export type { XenopsdChunk, XenopsdLayout, XenopsdLegacyQemu } from "./xenopsd/chunk.js";
export { decodeXenopsRecord, encodeXenopsRecord } from "./xenopsd/record.js";
export type { XenopsRecord } from "./xenopsd/record.js";
export { parseSexp, formatSexp } from "./sexp.js";
export type { Sexp, SexpReadOptions } from "./sexp.js";

// The verifier: every public name of verify/index.ts (its list is the one).
export * from "./verify/index.js";
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
} from "./legacy/index.js";
export type {
  DetectLegacyOptions,
  LegacyChunkName,
  LegacyWidth,
  LegacyGuest,
  LegacyOutputFormat,
  LegacyLayout,
  LegacyOptions,
  LegacyStreamOptions,
  LegacyEvent,
  LegacyLayoutEvent,
  LegacyPassthroughEvent,
  LegacyEndEvent,
} from "./legacy/index.js";

export {
  simplePrecopyPolicy,
  resolvePolicyParameters,
  guestFromSaveFile,
  syntheticGuest,
  CaptureProfiler,
  captureProfile,
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
  SyntheticGuestType,
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

// Record insides, decoded on demand (HVM context, PV vCPU state, shared info, CPU policy).
export { decodeHvmContext, encodeHvmContext, walkHvmContext, checkHvmContext, xsaveAreaSize, hvmSaveType } from "./libxc/contents/hvm-context.js";
export type {
  HvmContextOptions,
  HvmDescriptor,
  HvmWalk,
  HvmContextCheckOptions,
  HvmContextFinding,
  HvmContextFindingCode,
  DecodedBody,
  HvmSaveType,
  HvmSaveSize,
  XenRelease,
} from "./libxc/contents/hvm-context.js";
// Every structure type of save.h (the list is hvm/types.ts itself).
export type * from "./libxc/contents/hvm/types.js";
export { decodePvVcpuBasic, encodePvVcpuBasic, pvVcpuFieldOffset, cr3ToPfn32, pfnToCr3For32, VgcfFlag, VmAssistType } from "./libxc/contents/pv-vcpu.js";
export type {
  PvGuestWidth,
  VgcfFlagName,
  VmAssistTypeName,
  CpuUserRegs64,
  CpuUserRegs32,
  TrapInfo64,
  TrapInfo32,
  PvVcpuDerived,
  PvVcpuContext64,
  PvVcpuContext32,
  PvVcpuContext,
  PvVcpuBasicDecodeOptions,
  ContentsEncodeOptions,
} from "./libxc/contents/pv-vcpu.js";
export { decodePvVcpuExtended, encodePvVcpuExtended, pvVcpuExtendedFieldOffset } from "./libxc/contents/pv-vcpu-extended.js";
export type { PvVcpuExtended, PvVcpuExtendedVmce, PvVcpuContentsDecodeOptions } from "./libxc/contents/pv-vcpu-extended.js";
export { decodePvVcpuXsave, encodePvVcpuXsave, decodeFxsave, encodeFxsave, xcr0Names, Xcr0Bit } from "./libxc/contents/xsave.js";
export type { PvVcpuXsave, FxsaveArea, XsaveHeader, Xcr0BitName } from "./libxc/contents/xsave.js";
export { decodePvVcpuMsrs, encodePvVcpuMsrs } from "./libxc/contents/msrs.js";
export type { PvVcpuMsr } from "./libxc/contents/msrs.js";
export { msrName, msrNames, msrIndex } from "./libxc/contents/msr-names.js";
export { decodePvVcpuContents, encodePvVcpuContents } from "./libxc/contents/pv-contents.js";
export type { PvVcpuContents, PvVcpuContentsOptions } from "./libxc/contents/pv-contents.js";
export { checkPvVcpuContents } from "./libxc/contents/pv-vcpu-checks.js";
export type { PvVcpuCheckFacts } from "./libxc/contents/pv-vcpu-checks.js";
export { decodeSharedInfo, encodeSharedInfo, sharedInfoFieldOffset, PvclockFlag } from "./libxc/contents/shared-info.js";
export type {
  VcpuTimeInfo,
  VcpuInfo64,
  VcpuInfo32,
  ArchSharedInfo64,
  ArchSharedInfo32,
  SharedInfo64,
  SharedInfo32,
  SharedInfo,
  SharedInfoDecodeOptions,
} from "./libxc/contents/shared-info.js";
export {
  decodeCpuPolicy,
  encodeCpuPolicy,
  cpuVendor,
  cpuFms,
  cpuFeature,
  featuresetNames,
  featuresetFromNames,
  policyFeatureset,
  applyFeatureset,
  cpuPolicyToJSON,
  cpuidPolicyContents,
  msrPolicyContents,
  summarizeCpuPolicy,
  summarizeMsrPolicy,
  formatXenCpuidPolicy,
  checkCpuidPolicy,
  checkMsrPolicy,
  policyMsrName,
  CpuPolicyFindingCode,
} from "./libxc/contents/cpu-policy.js";
export type {
  X86VendorId,
  CpuVendor,
  CpuFms,
  FeatureWordValue,
  CpuidLeafInfo,
  MsrInfo,
  CpuPolicy,
  FeatureWordJson,
  CpuidLeafJson,
  MsrJson,
  CpuPolicyJson,
  CpuidPolicyContentsJson,
  MsrPolicyContentsJson,
  CpuPolicyFindingCodeName,
  CpuPolicyFinding,
  CpuidPolicyCheckOptions,
} from "./libxc/contents/cpu-policy.js";
export { cpuidLeafName, cpuidFieldValue } from "./libxc/contents/cpuid-leaves.js";
export type { CpuidLeafGroup, CpuidFieldSpec, CpuidLeafName } from "./libxc/contents/cpuid-leaves.js";
export type { CpuFeature, FeaturesetWord, CpuidRegister } from "./libxc/contents/cpu-features.js";

// Guest memory: page index, reads, page-table walks, memory images.
export { MemoryIndexer } from "./memory/layout.js";
export type { GuestKind, MemoryIndexOptions, MemoryLayout, SavedVcpu } from "./memory/layout.js";
export { PageIndex } from "./memory/page-index.js";
export type { PfnRun } from "./memory/page-index.js";
export { walk, pagingStateOf } from "./memory/paging.js";
export type { EntryRequest, PagingMode, PagingState, Translation } from "./memory/paging.js";
export { savedRegisters } from "./memory/registers.js";
export type { VcpuRegisters } from "./memory/registers.js";
export { GuestMemory, AsyncGuestMemory } from "./memory/guest-memory.js";
export type { AddressSpaceOptions, GuestMemoryOptions, RandomAccessSource } from "./memory/guest-memory.js";
export { MemoryImageBuilder } from "./memory/image.js";
export type { MemoryImageFormat, MemoryImageOptions, MemoryMap, MemoryMapRun, PlaceBytes } from "./memory/image.js";
export { elfCoreParts } from "./memory/elf.js";
export { writeXenCore } from "./memory/xen-core.js";

// Inspection folds: statistics, digests and diffs, info.
export { StatsCollector } from "./inspect/stats.js";
export type { StreamStats, PassStats, RecordTypeStats } from "./inspect/stats.js";
export { DigestCollector, pageHash } from "./inspect/digest.js";
export type { StreamDigest } from "./inspect/digest.js";
export { diffDigests, lineDiff } from "./inspect/diff.js";
export type { StreamDiff, DiffOptions, FieldDifference, BytesDifference, MemoryDifference } from "./inspect/diff.js";
export { InfoCollector, domainConfigItems, xenopsRecordInfo } from "./inspect/info.js";
export type { InfoExtras, DomainConfigItems, XenopsRecordInfo } from "./inspect/info.js";
export { classifyTrailer, describeTrailer } from "./xl/migration.js";
export type { StreamTrailer } from "./xl/migration.js";

// The lossless JSON document of a stream (xen-stream decode / encode).
export { DocumentWriter, documentToStream, saveFileToDocument, documentToBytes } from "./inspect/document.js";
export type { DocumentWriterOptions, DocumentPiece, PageReader, DocumentToStreamOptions, StreamDocumentFiles, SaveFileToDocumentOptions } from "./inspect/document.js";
