/**
 * libvirt libxl-driver save-image constants (libvirt src/libxl/libxl_conf.h:
 * `LIBXL_SAVE_MAGIC`, `LIBXL_SAVE_VERSION`, `struct _libxlSavefileHeader`;
 * see guides/container-libvirt.md).
 *
 * @module
 */

/** `LIBXL_SAVE_MAGIC` without its C terminator: "libvirt-xml\n \0 \r" (16 bytes). */
export const LIBVIRT_MAGIC: Uint8Array = /*@__PURE__*/ new Uint8Array([
  0x6c, 0x69, 0x62, 0x76, 0x69, 0x72, 0x74, 0x2d, 0x78, 0x6d, 0x6c, 0x0a, 0x20, 0x00, 0x20, 0x0d,
]);
/** Size of the magic (`sizeof(LIBXL_SAVE_MAGIC)-1`). */
export const LIBVIRT_MAGIC_SIZE = 16;
/** Size of the whole header: magic, version, xmlLen, unused[10]. */
export const LIBVIRT_HEADER_SIZE = 64;
/** Number of `unused` u32 words ("24 bytes used, pad up to 64 bytes"). */
export const LIBVIRT_UNUSED_WORDS = 10;
/** Header versions: what follows the XML. */
export const LibvirtSaveVersion = {
  /** A legacy (Xen <= 4.5) libxl stream: libvirt built without LIBXL_HAVE_SRM_V2. */
  LEGACY: 1,
  /** A libxl migration v2 stream (LIBXL_HAVE_SRM_V2). */
  V2: 2,
} as const;
/** The highest version libvirt reads (`hdr.version > LIBXL_SAVE_VERSION` fails). */
export const LIBVIRT_SAVE_VERSION_MAX = 2;
