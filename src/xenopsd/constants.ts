/**
 * XAPI / xenopsd suspend-image constants (xen-api
 * ocaml/xenopsd/lib/suspend_image.ml; see guides/container-xapi.md).
 *
 * @module
 */

/** `save_signature`: the structured (framed) layout, "XenSavedDomv2-\n". */
export const XENOPSD_SIGNATURE = "XenSavedDomv2-\n";
/** `legacy_save_signature`: the unframed layout before 2014, "XenSavedDomain\n". */
export const XENOPSD_LEGACY_SIGNATURE = "XenSavedDomain\n";
/** Both signatures are 15 bytes; `read_save_signature` reads that many. */
export const XENOPSD_SIGNATURE_SIZE = 15;
/**
 * `legacy_qemu_save_signature`: in the legacy layout, the QEMU record of an
 * HVM guest follows the libxc stream with this signature and a big-endian
 * u32 length (`read_legacy_qemu_header`).
 */
export const XENOPSD_LEGACY_QEMU_SIGNATURE = "QemuDeviceModelRecord\n";
/** Size of the legacy QEMU signature (22) plus its u32 length. */
export const XENOPSD_LEGACY_QEMU_HEADER_SIZE = 26;
/** A chunk header: type u64, length u64, both little-endian (`read_header`). */
export const XENOPSD_CHUNK_HEADER_SIZE = 16;

/**
 * The chunk types, with xenopsd's own constructor names
 * (`header_type_of_int64` / `int64_of_header_type`).
 */
export const XenopsdChunkType = {
  /** Metadata: the Xenops_record s-expression (time, word_size, vm_str, xs_subtree). */
  Xenops: 0x000f,
  /** A libxc migration v2 stream follows; written with length 0, it ends at its END record. */
  Libxc: 0x00f0,
  /** A libxl v2 stream (defined but never written by xenopsd; it ends at its END record). */
  Libxl: 0x00f1,
  /** A pre-Xen-4.5 libxc stream follows (with its "DeviceModelRecord0002" QEMU tail for HVM). */
  Libxc_legacy: 0x00f2,
  /** The qemu-trad device-model state (an opaque blob of `length` bytes). */
  Qemu_trad: 0x0f00,
  /** The qemu-upstream state (defined, never written; an opaque blob). */
  Qemu_xen: 0x0f01,
  /** vGPU (DEMU) state: written with length 0 and left to emu-manager; not self-delimiting. */
  Demu: 0x0f10,
  /** UEFI variables from varstored (an opaque blob). */
  Varstored: 0x0f11,
  /** vTPM state, raw bytes of the first swtpm format (an opaque blob). */
  Swtpm0: 0x0f12,
  /** vTPM state (an opaque blob). */
  Swtpm: 0x0f13,
  /** The footer; nothing of the image follows it. */
  End_of_image: 0xffff,
} as const;

/** Name of a xenopsd chunk type. */
export type XenopsdChunkName = keyof typeof XenopsdChunkType;

const NAMES: ReadonlyMap<number, XenopsdChunkName> = /*@__PURE__*/ new Map(
  (Object.entries(XenopsdChunkType) as Array<[XenopsdChunkName, number]>).map(([name, id]) => [id, name]),
);

/**
 * The chunk name of a type id (`header_type_of_int64`,
 * ocaml/xenopsd/lib/suspend_image.ml).
 *
 * @param typeId - the chunk header's type field
 * @returns the name, or undefined for a type xenopsd does not define
 */
export function xenopsdChunkName(typeId: number): XenopsdChunkName | undefined {
  return NAMES.get(typeId);
}

/** Chunk types after whose header a migration stream follows inline. */
export const XENOPSD_STREAM_CHUNKS: ReadonlySet<XenopsdChunkName> = /*@__PURE__*/ new Set<XenopsdChunkName>([
  "Libxc",
  "Libxl",
  "Libxc_legacy",
]);
