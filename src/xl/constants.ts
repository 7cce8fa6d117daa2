/**
 * xl save-file header constants (Xen tools/xl/xl.h).
 *
 * @module
 */

/** The 32-byte magic: "Xen saved domain, xl format\n \0 \r". */
export const XL_MAGIC: Uint8Array = /*@__PURE__*/ new Uint8Array([
  0x58, 0x65, 0x6e, 0x20, 0x73, 0x61, 0x76, 0x65, 0x64, 0x20, 0x64, 0x6f, 0x6d, 0x61, 0x69, 0x6e, 0x2c, 0x20, 0x78, 0x6c, 0x20, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x0a, 0x20, 0x00, 0x20, 0x0d,
]);
/** Size of the magic. */
export const XL_MAGIC_SIZE = 32;
/** Size of the fixed header: magic + byteorder + mandatory + optional + optional_data_len. */
export const XL_HEADER_SIZE = 48;
/** SAVEFILE_BYTEORDER_VALUE, written in the writer's native byte order. */
export const XL_BYTEORDER_VALUE = 0x0102_0304;
/** Mandatory flags. */
export const XlMandatoryFlag = {
  /** XL_MANDATORY_FLAG_JSON: the stored config is libxl JSON. */
  JSON: 0x1,
  /** XL_MANDATORY_FLAG_STREAMv2: a libxl v2 stream follows (else legacy). */
  STREAMV2: 0x2,
} as const;
/** Name of a mandatory flag. */
export type XlMandatoryFlagName = keyof typeof XlMandatoryFlag;
/** Every mandatory flag xl knows; any other bit makes xl refuse the file. */
export const XL_MANDATORY_FLAGS_KNOWN = 0x3;
/** Size of the config_len field at the start of the optional data. */
export const XL_CONFIG_LENGTH_SIZE = 4;
