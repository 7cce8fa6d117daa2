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

export { encodeRawRecord } from "./wire/record.js";
export type { RawRecordInput, RecordCommon, RecordExtra, UnknownRecord } from "./wire/record.js";

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

export { detectFormat, SaveFileDecoder, decodeSaveFile, encodeSaveFile } from "./savefile.js";
export type {
  StreamFormat,
  FormatOption,
  XlHeaderEvent,
  SaveFileEvent,
  SaveFileDecoderOptions,
  LibxlSaveFile,
  LibxcSaveFile,
  SaveFile,
} from "./savefile.js";

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
  LegacyEvent,
  LegacyLayoutEvent,
  LegacyXlHeaderEvent,
  LegacyLibxlHeaderEvent,
  LegacyLibxlRecordEvent,
  LegacyImageHeaderEvent,
  LegacyDomainHeaderEvent,
  LegacyLibxcRecordEvent,
  LegacyPassthroughEvent,
  LegacyEndEvent,
} from "./legacy/index.js";
