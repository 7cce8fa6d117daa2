/**
 * The libxl legacy "toolstack" chunk payload (XC_SAVE_ID_TOOLSTACK, version
 * 1: QEMU physmap entries) and its conversion to the xenstore key/value
 * pairs of an EMULATOR_XENSTORE_DATA record (legacy-stream.md §9, §12.2;
 * libxl_dom.c 4.5: libxl__toolstack_save(); convert-legacy-stream:
 * read_libxl_toolstack()).
 *
 * @module
 * @internal
 */
import { XenStreamError } from "../errors.js";
import { LIBXL_TOOLSTACK_VERSION, PHYSMAP_64BIT_JUNK, PHYSMAP_ENTRY_HEADER } from "./constants.js";
import type { LegacyWidth } from "./types.js";

/** Bytes of an ASCII string. */
export function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function fail(code: XenStreamError["code"], offset: number, message: string): never {
  throw new XenStreamError(code, offset, `TOOLSTACK chunk (libxl physmap data): ${message}`, { layer: "legacy" });
}

/**
 * Converts libxl physmap data to xenstore pairs, keys relative to the
 * device-model path: `physmap/<phys_offset>/start_addr` = start_addr,
 * `.../size` = size, `.../name` = name without its NUL; numbers in
 * lower-case hex without a prefix, as libxl 4.5 wrote them.
 *
 * Checks as convert-legacy-stream: at least 8 bytes, version 1, every entry
 * header and name present, namelen non-zero, name NUL-terminated. On a
 * 64-bit toolstack each name is followed by 4 junk bytes (the struct's tail
 * padding; §9). Beyond the reference: a name with a NUL inside it is
 * refused — it would split into extra xenstore strings. Names need not be
 * UTF-8 (the reference crashes on such names; xenstore values are bytes).
 * Bytes after the last entry are ignored, as by both the reference and
 * libxl 4.5.
 *
 * @param data - the chunk payload (after its u32 length)
 * @param width - toolstack width
 * @param offset - absolute input offset of `data[0]`
 * @returns the pairs, in entry order
 * @throws {@link XenStreamError} BAD_LENGTH, BAD_VERSION, BAD_FIELD
 */
export function physmapToXenstore(data: Uint8Array, width: LegacyWidth, offset: number): Array<[Uint8Array, Uint8Array]> {
  if (data.length < 8) fail("BAD_LENGTH", offset, `${data.length} bytes is too short for the version and count (8 bytes)`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint32(0, true);
  if (version !== LIBXL_TOOLSTACK_VERSION) {
    fail("BAD_VERSION", offset, `cannot decode version ${version}; only version ${LIBXL_TOOLSTACK_VERSION} exists`);
  }
  const count = view.getUint32(4, true);
  const junk = width === 64 ? PHYSMAP_64BIT_JUNK : 0;
  const pairs: Array<[Uint8Array, Uint8Array]> = [];
  let pos = 8;
  for (let index = 0; index < count; index++) {
    if (data.length - pos < PHYSMAP_ENTRY_HEADER) {
      fail("BAD_LENGTH", offset + pos, `entry ${index} of ${count}: ${data.length - pos} bytes left, too short for the 28-byte physmap header`);
    }
    const physOffset = view.getBigUint64(pos, true);
    const startAddr = view.getBigUint64(pos + 8, true);
    const size = view.getBigUint64(pos + 16, true);
    const nameLength = view.getUint32(pos + 24, true);
    if (nameLength === 0) fail("BAD_FIELD", offset + pos + 24, `entry ${index}: namelen is 0 (no physmap name)`);
    pos += PHYSMAP_ENTRY_HEADER;
    if (data.length - pos < nameLength + junk) {
      fail(
        "BAD_LENGTH",
        offset + pos,
        `entry ${index}: name of ${nameLength} bytes${junk ? " + 4 padding bytes (64-bit toolstack)" : ""} but only ${data.length - pos} bytes left`,
      );
    }
    const name = data.subarray(pos, pos + nameLength - 1);
    if (data[pos + nameLength - 1] !== 0) fail("BAD_FIELD", offset + pos + nameLength - 1, `entry ${index}: physmap name not NUL terminated`);
    const inner = name.indexOf(0);
    if (inner >= 0) fail("BAD_FIELD", offset + pos + inner, `entry ${index}: physmap name contains a NUL byte before its end`);
    pos += nameLength + junk;
    const root = `physmap/${physOffset.toString(16)}`;
    pairs.push(
      [asciiBytes(`${root}/start_addr`), asciiBytes(startAddr.toString(16))],
      [asciiBytes(`${root}/size`), asciiBytes(size.toString(16))],
      [asciiBytes(`${root}/name`), name],
    );
  }
  return pairs;
}
