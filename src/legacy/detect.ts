/**
 * Telling a legacy stream's toolstack width and guest type from its first
 * bytes (legacy-stream.md §11).
 *
 * The spec's rule looks at octets 4-7: zero on a 64-bit toolstack (bits
 * 32-63 of p2m_size), non-zero on a 32-bit one (the PV extended-info
 * signature, or the first HVM chunk id). It assumes the PV extended-info
 * block and an HVM stream whose chunk list is not empty, so it is not used
 * alone: each of the four (width, guest) readings is tried against the
 * structure the writer produces — PV: p2m_size, a ~0 signature, an
 * extended-info total and a known first block; HVM: a walk over the first
 * chunks (valid ids, 64-bit pfn entries with bits 63-32 clear, page counts)
 * up to the tail, whose HVM context must open with the HVM save header. The
 * octet 4-7 rule is the special case "bits 32-63 of a 64-bit p2m_size are
 * zero". Exactly one reading must fit; none is BAD_MAGIC, several is
 * UNSUPPORTED (ambiguous: pass the width and guest explicitly).
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { LIBXL_IDENT_BYTES } from "../libxl/constants.js";
import { XL_MAGIC } from "../xl/constants.js";
import {
  LEGACY_FIRST_DATALESS_TYPE,
  LEGACY_HVM_PARAM_CHUNKS,
  LEGACY_HVM_PARAM_PAYLOAD,
  LEGACY_MAX_BATCH,
  LEGACY_MAX_VCPU_ID,
  LEGACY_PAGE_SIZE,
  LEGACY_TSC_INFO_PAYLOAD,
  LEGACY_XTAB_ENTRY,
  LegacyChunkId,
} from "./constants.js";
import type { LegacyGuest, LegacyLayout, LegacyWidth } from "./types.js";
import { checkBytes, checkOptions } from "../wire/args.js";

/** Bytes looked at, at most; structure beyond this is taken as plausible. */
export const LEGACY_DETECT_WINDOW = 64 * 1024;

/** Chunks walked, at most, by the HVM reading. */
const MAX_PROBED_CHUNKS = 64;

/** HVM save header descriptor: typecode 1 (HEADER), instance 0, length 24; then magic 0x54381286. */
const HVM_HEADER_TYPECODE = 1;
const HVM_HEADER_LENGTH = 24;
const HVM_FILE_MAGIC = 0x5438_1286;

type Probe = "yes" | "no" | "more";

/** Options of {@link detectLegacyLayout}. */
export interface DetectLegacyOptions {
  /** A known width (only readings with it are tried). @defaultValue "auto" */
  width?: LegacyWidth | "auto";
  /** A known guest type. @defaultValue "auto" */
  guest?: LegacyGuest | "auto";
  /**
   * True when `bytes` is the whole stream: a reading that runs out of bytes
   * then counts as truncated rather than undecided.
   * @defaultValue false
   */
  final?: boolean;
  /** Absolute offset of `bytes[0]`, for errors. @defaultValue 0 */
  offset?: number;
}

/** A bounded view of the prefix: says "more" past the data, "yes" past the window. */
class Prefix {
  readonly view: DataView;
  readonly limit: number;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.limit = Math.min(bytes.length, LEGACY_DETECT_WINDOW);
  }
  /** null when `size` bytes at `pos` are readable; else the probe's answer. */
  lacks(pos: number, size: number): Probe | null {
    if (pos + size <= this.limit) return null;
    return pos + size > LEGACY_DETECT_WINDOW ? "yes" : "more";
  }
  u32(pos: number): number {
    return this.view.getUint32(pos, true);
  }
  i32(pos: number): number {
    return this.view.getInt32(pos, true);
  }
}

/**
 * PV: p2m_size (bits 32-63 clear on 64-bit), the ~0 extended-info
 * signature, then — when the announced total has room for a block — a
 * known first block id. A total too small for a block still reads as PV:
 * the reader then reports the broken extended info precisely.
 */
function probePv(prefix: Prefix, wordSize: 4 | 8): Probe {
  let lacking = prefix.lacks(0, 2 * wordSize + 4);
  if (lacking !== null) return lacking;
  if (wordSize === 8 && prefix.u32(4) !== 0) return "no";
  for (let i = wordSize; i < 2 * wordSize; i++) if (prefix.bytes[i] !== 0xff) return "no";
  if (prefix.u32(2 * wordSize) < 8) return "yes";
  lacking = prefix.lacks(2 * wordSize + 4, 4);
  if (lacking !== null) return lacking;
  const id = String.fromCharCode(...prefix.bytes.subarray(2 * wordSize + 4, 2 * wordSize + 8));
  return id === "vcpu" || id === "extv" || id === "xcnt" ? "yes" : "no";
}

function probeHvmTail(prefix: Prefix, pos: number): Probe {
  // u64 magic pfns x 3, u32 context length, then the HVM save header.
  let lacking = prefix.lacks(pos, 28);
  if (lacking !== null) return lacking;
  if (prefix.u32(pos + 24) < 8 + HVM_HEADER_LENGTH) return "no";
  lacking = prefix.lacks(pos + 28, 12);
  if (lacking !== null) return lacking;
  const typecode = prefix.view.getUint16(pos + 28, true);
  const instance = prefix.view.getUint16(pos + 30, true);
  const length = prefix.u32(pos + 32);
  const magic = prefix.u32(pos + 36);
  return typecode === HVM_HEADER_TYPECODE && instance === 0 && length === HVM_HEADER_LENGTH && magic === HVM_FILE_MAGIC
    ? "yes"
    : "no";
}

function probeHvm(prefix: Prefix, wordSize: 4 | 8): Probe {
  let lacking = prefix.lacks(0, wordSize);
  if (lacking !== null) return lacking;
  if (wordSize === 8 && prefix.u32(4) !== 0) return "no";
  let pos = wordSize;
  for (let chunk = 0; chunk < MAX_PROBED_CHUNKS; chunk++) {
    lacking = prefix.lacks(pos, 4);
    if (lacking !== null) return lacking;
    const id = prefix.i32(pos);
    pos += 4;
    if (id > 0) {
      if (id > LEGACY_MAX_BATCH) return "no";
      lacking = prefix.lacks(pos, id * wordSize);
      if (lacking !== null) return lacking;
      let pages = 0;
      for (let i = 0; i < id; i++, pos += wordSize) {
        const low = prefix.u32(pos);
        if (wordSize === 8 && prefix.u32(pos + 4) !== 0) return "no";
        const type = low >>> 28;
        if (type >= 5 && type <= 8) return "no";
        if (low !== LEGACY_XTAB_ENTRY && type < LEGACY_FIRST_DATALESS_TYPE) pages++;
      }
      pos += pages * LEGACY_PAGE_SIZE;
    } else if (id === LegacyChunkId.END) {
      return probeHvmTail(prefix, pos);
    } else if (LEGACY_HVM_PARAM_CHUNKS.has(id)) {
      pos += LEGACY_HVM_PARAM_PAYLOAD;
    } else if (id === LegacyChunkId.TSC_INFO) {
      pos += LEGACY_TSC_INFO_PAYLOAD;
    } else if (id === LegacyChunkId.ENABLE_VERIFY_MODE || id === LegacyChunkId.LAST_CHECKPOINT) {
      // no payload
    } else if (id === LegacyChunkId.VCPU_INFO) {
      lacking = prefix.lacks(pos, 4);
      if (lacking !== null) return lacking;
      const maxId = prefix.i32(pos);
      if (maxId < 0 || maxId > LEGACY_MAX_VCPU_ID) return "no";
      pos += 4 + 8 * (Math.floor(maxId / 64) + 1);
    } else if (id === LegacyChunkId.TOOLSTACK) {
      lacking = prefix.lacks(pos, 4);
      if (lacking !== null) return lacking;
      pos += 4 + prefix.u32(pos);
    } else if (
      id === LegacyChunkId.TMEM ||
      id === LegacyChunkId.TMEM_EXTRA ||
      id === LegacyChunkId.COMPRESSED_DATA ||
      id === LegacyChunkId.ENABLE_COMPRESSION
    ) {
      return "yes"; // a real chunk id whose payload this probe does not walk
    } else {
      return "no";
    }
  }
  return "yes";
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array, length: number): boolean {
  if (bytes.length < length) return false;
  for (let i = 0; i < length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function describe(layout: LegacyLayout): string {
  return `${layout.width}-bit ${layout.guest.toUpperCase()}`;
}

/**
 * Refuses input that is not a legacy stream at all: a libxc v2 stream
 * (eight 0xFF bytes), a libxl stream ("LibxlFmt") or an xl save file
 * ("Xen saved domain..."). Needs the first 8 bytes.
 *
 * @internal
 */
export function checkNotV2(bytes: Uint8Array, offset: number): void {
  const fail = (what: string): never => {
    throw new XenStreamError("BAD_MAGIC", offset, `not a legacy stream: the input starts like ${what}`, { layer: "legacy" });
  };
  if (startsWith(bytes, XL_MAGIC, 8)) fail('an xl save file ("Xen saved domain, xl format"); pass the xl option');
  if (startsWith(bytes, LIBXL_IDENT_BYTES, 8)) fail('a libxl v2 stream ("LibxlFmt"), which needs no conversion');
  if (bytes.length >= 8 && bytes.subarray(0, 8).every((byte) => byte === 0xff)) {
    fail("a libxc v2 stream (eight 0xFF bytes), which needs no conversion");
  }
}

/**
 * Tells the toolstack width and guest type of a legacy stream from its
 * first bytes (at most the first 64 KiB are looked at).
 *
 * @param bytes - the start of the legacy stream (after any xl header)
 * @param options - known width/guest, whether `bytes` is the whole stream
 * @returns the layout, or undefined when more bytes are needed to decide
 * @throws {@link XenStreamError} BAD_MAGIC when no reading fits (or the
 * input is a v2 stream), UNSUPPORTED when several do, TRUNCATED when a
 * final input is too short to tell
 *
 * @example
 * ```ts
 * import { detectLegacyLayout } from "xen-migration-stream";
 * detectLegacyLayout(bytes, { final: true }); //=> { width: 64, guest: "pv" }
 * ```
 */
export function detectLegacyLayout(bytes: Uint8Array, options: DetectLegacyOptions = {}): LegacyLayout | undefined {
  checkBytes(bytes, "detectLegacyLayout: bytes");
  checkOptions(options, "detectLegacyLayout: options");
  const offset = options.offset ?? 0;
  const final = options.final ?? false;
  if (bytes.length < 8 && !final) return undefined;
  checkNotV2(bytes, offset);
  const prefix = new Prefix(bytes);
  const widths: LegacyWidth[] = options.width === undefined || options.width === "auto" ? [64, 32] : [options.width];
  const guests: LegacyGuest[] = options.guest === undefined || options.guest === "auto" ? ["pv", "hvm"] : [options.guest];
  const fits: LegacyLayout[] = [];
  const short: LegacyLayout[] = [];
  for (const width of widths) {
    for (const guest of guests) {
      const wordSize = width === 64 ? 8 : 4;
      const result = guest === "pv" ? probePv(prefix, wordSize) : probeHvm(prefix, wordSize);
      if (result === "yes") fits.push({ width, guest });
      else if (result === "more") {
        if (!final) return undefined;
        short.push({ width, guest });
      }
    }
  }
  if (fits.length === 1) return fits[0];
  if (fits.length > 1) {
    throw new XenStreamError(
      "UNSUPPORTED",
      offset,
      `cannot tell the legacy stream's layout: its first bytes fit ${fits.map(describe).join(" and ")}; give the width and guest type`,
      { layer: "legacy" },
    );
  }
  if (short.length === 1) return short[0];
  if (short.length > 1) {
    throw new XenStreamError(
      "TRUNCATED",
      offset + bytes.length,
      `legacy stream too short (${bytes.length} bytes) to tell its width and guest type`,
      { layer: "legacy" },
    );
  }
  throw new XenStreamError(
    "BAD_MAGIC",
    offset,
    `not a legacy stream (nor any Xen stream read here): its first bytes fit no ${widths.join("/")}-bit ${guests.join("/").toUpperCase()} legacy layout` +
      " (a legacy stream starts with p2m_size, then the extended-info signature 0xffffffff (PV) or a chunk id / page count (HVM))",
    { layer: "legacy" },
  );
}
