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
// The public constants of legacy/constants.ts are listed once, in src/constants.ts.
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
