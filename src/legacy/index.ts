/**
 * Legacy (Xen <= 4.5) stream conversion: the public names of src/legacy,
 * for src/index.ts to re-export.
 *
 * @module
 */
export { LegacyReader } from "./reader.js";
export { LegacyConverter, convertLegacy, convertLegacyStream } from "./convert.js";
export type { LegacyStreamOptions } from "./convert.js";
export { detectLegacyLayout, LEGACY_DETECT_WINDOW } from "./detect.js";
export type { DetectLegacyOptions } from "./detect.js";
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
} from "./constants.js";
export type { LegacyChunkName } from "./constants.js";
export type {
  LegacyWidth,
  LegacyGuest,
  LegacyOutputFormat,
  LegacyLayout,
  LegacyOptions,
  LegacyEvent,
  LegacyLayoutEvent,
  LegacyPassthroughEvent,
  LegacyEndEvent,
} from "./types.js";
