/**
 * HVM context (the HVM_CONTEXT record's body), decoded on demand: the
 * `hvm_save_descriptor` sequence and every save type of
 * xen/include/public/arch-x86/hvm/save.h field by field, encoded back
 * byte-exact, and checked against what Xen's hvm_load() refuses.
 * See guides/hvm-context.md.
 *
 * @module
 */
export { decodeHvmContext, encodeHvmContext, walkHvmContext, HVM_FILE_MAGIC, HVM_FILE_VERSION } from "./hvm/context.js";
export type { HvmContextOptions, HvmDescriptor, HvmWalk } from "./hvm/context.js";

export { checkHvmContext, xsaveAreaSize } from "./hvm/check.js";
export type { HvmContextCheckOptions, HvmContextFinding, HvmContextFindingCode } from "./hvm/check.js";

export { HVM_SAVE_TYPES, HVM_SAVE_CODE, HVM_SAVE_CODE_MAX, hvmSaveType } from "./hvm/table.js";
export type { DecodedBody, HvmSaveType, HvmSaveSize, XenRelease } from "./hvm/table.js";

// Every structure type of save.h, as hvm/types.ts declares them.
export type * from "./hvm/types.js";
