/**
 * HVM context blob codec (hvm-context-and-cpu.md §1; Xen
 * xen/include/public/hvm/save.h struct hvm_save_descriptor,
 * xen/arch/x86/hvm/save.c hvm_save() / hvm_load()): a sequence of
 * 8-byte descriptors {typecode u16, instance u16, length u32}, each
 * followed by `length` bytes of body, no padding; HEADER first, END last.
 *
 * @module
 * @internal
 */
import { describeValue, XenStreamError } from "../../../errors.js";
import { badValue, checkUint } from "./layout.js";
import { HVM_SAVE_TYPES, hvmSaveType } from "./table.js";
import type { HvmContext, HvmSaveEntry } from "./types.js";

/** sizeof(struct hvm_save_descriptor). */
export const HVM_DESCRIPTOR_SIZE = 8;
/** HVM_FILE_MAGIC (public/arch-x86/hvm/save.h). */
export const HVM_FILE_MAGIC = 0x5438_1286;
/** HVM_FILE_VERSION. */
export const HVM_FILE_VERSION = 1;
/** sizeof(struct hvm_save_header). */
export const HVM_HEADER_LENGTH = 24;

/** Options of {@link decodeHvmContext} and {@link encodeHvmContext}. */
export interface HvmContextOptions {
  /**
   * Absolute stream offset of the blob's first byte, added to every error
   * offset (for example the HVM_CONTEXT record's body offset).
   *
   * @defaultValue 0
   */
  baseOffset?: number;
}

/** One descriptor found by {@link walkHvmContext}. */
export interface HvmDescriptor {
  /** Position of the descriptor in the blob. */
  pos: number;
  typecode: number;
  instance: number;
  length: number;
}

/** Result of a framing walk: the descriptors and where (and why) it stopped. */
export interface HvmWalk {
  descriptors: HvmDescriptor[];
  /** Index of the END descriptor in `descriptors`, or -1. */
  end: number;
  /** Position after END (or where the walk stopped). */
  stop: number;
  /** A framing failure, when the walk could not continue. */
  failure?: { code: "TRUNCATED" | "BAD_LENGTH"; pos: number; message: string };
}

/**
 * Walks the descriptors up to END, checking only the framing: a whole
 * descriptor, a body within the blob. Never throws.
 *
 * @param blob - the HVM context bytes
 * @returns the descriptors found, the END index, where the walk stopped and why
 */
export function walkHvmContext(blob: Uint8Array): HvmWalk {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const descriptors: HvmDescriptor[] = [];
  let pos = 0;
  while (pos < blob.length) {
    const left = blob.length - pos;
    if (left < HVM_DESCRIPTOR_SIZE) {
      return {
        descriptors,
        end: -1,
        stop: pos,
        failure: { code: "TRUNCATED", pos, message: `descriptor at ${pos} cut short: ${left} of ${HVM_DESCRIPTOR_SIZE} bytes left in the blob` },
      };
    }
    const typecode = view.getUint16(pos, true);
    const instance = view.getUint16(pos + 2, true);
    const length = view.getUint32(pos + 4, true);
    if (length > left - HVM_DESCRIPTOR_SIZE) {
      return {
        descriptors,
        end: -1,
        stop: pos,
        failure: {
          code: "BAD_LENGTH",
          pos: pos + 4,
          message: `entry typecode ${typecode} instance ${instance} at ${pos}: length ${length} (0x${length.toString(16)}) runs past the end of the blob (${left - HVM_DESCRIPTOR_SIZE} bytes left)`,
        },
      };
    }
    descriptors.push({ pos, typecode, instance, length });
    pos += HVM_DESCRIPTOR_SIZE + length;
    if (typecode === 0) return { descriptors, end: descriptors.length - 1, stop: pos };
  }
  return { descriptors, end: -1, stop: pos };
}

/**
 * Decodes an HVM context blob (an HVM_CONTEXT record's body) into its save
 * entries, each body decoded field by field as Xen's struct for its
 * typecode, by the descriptor's length (see {@link HvmSaveEntryOf}).
 * Unknown typecodes are kept raw. Decoding is on demand: nothing in the
 * stream decoder calls this.
 *
 * Struct members that are byte arrays are copies; `tail`, an unknown
 * entry's `body` and `trailing` are views into `blob`.
 *
 * @param blob - the HVM context bytes
 * @param options - {@link HvmContextOptions}
 * @returns the entries, HEADER first and END last, and any bytes after END
 * @throws {@link XenStreamError} TRUNCATED (empty blob, a descriptor cut
 *   short: offset of the descriptor; no END entry: offset of the blob's
 *   end), BAD_LENGTH (a body running past the blob, or a HEADER whose
 *   length is not 24: offset of the length field), BAD_FIELD (first entry
 *   not a HEADER: offset 0), BAD_MAGIC (offset 8), BAD_VERSION (offset 12)
 */
export function decodeHvmContext(blob: Uint8Array, options: HvmContextOptions = {}): HvmContext {
  if (!(blob instanceof Uint8Array)) {
    throw new XenStreamError("USAGE", 0, "decodeHvmContext: blob must be a Uint8Array");
  }
  const base = baseOf(options, "decodeHvmContext");
  const walk = walkHvmContext(blob);
  const first = walk.descriptors[0];
  if (first === undefined) {
    if (walk.failure !== undefined) throw new XenStreamError(walk.failure.code, base + walk.failure.pos, `HVM context: ${walk.failure.message}`);
    throw new XenStreamError("TRUNCATED", base, "HVM context: empty blob, expected a HEADER entry (hvm_load())");
  }
  checkHeader(blob, first, base);
  if (walk.failure !== undefined) throw new XenStreamError(walk.failure.code, base + walk.failure.pos, `HVM context: ${walk.failure.message}`);
  if (walk.end < 0) {
    throw new XenStreamError("TRUNCATED", base + blob.length, "HVM context: no END entry (typecode 0) before the end of the blob; hvm_load() fails with ENODATA");
  }
  const entries: HvmSaveEntry[] = walk.descriptors.map((descriptor) => {
    const body = blob.subarray(descriptor.pos + HVM_DESCRIPTOR_SIZE, descriptor.pos + HVM_DESCRIPTOR_SIZE + descriptor.length);
    const row = hvmSaveType(descriptor.typecode);
    const { typecode, instance, length } = descriptor;
    if (row === undefined) return { name: "UNKNOWN", typecode, instance, length, body };
    const decoded = row.decode(body);
    const entry = { name: row.name, typecode, instance, length, fields: decoded.fields } as HvmSaveEntry & { tail?: Uint8Array };
    if (decoded.tail !== undefined && decoded.tail.length > 0) entry.tail = decoded.tail;
    return entry;
  });
  return { entries, trailing: blob.subarray(walk.stop) };
}

function checkHeader(blob: Uint8Array, first: HvmDescriptor, base: number): void {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  if (first.typecode !== 1) {
    throw new XenStreamError("BAD_FIELD", base, `HVM context: the first entry must be HEADER (typecode 1), got typecode ${first.typecode}`);
  }
  if (first.length !== HVM_HEADER_LENGTH) {
    throw new XenStreamError("BAD_LENGTH", base + 4, `HVM context: HEADER length must be ${HVM_HEADER_LENGTH}, got ${first.length}`);
  }
  const magic = view.getUint32(HVM_DESCRIPTOR_SIZE, true);
  if (magic !== HVM_FILE_MAGIC) {
    throw new XenStreamError("BAD_MAGIC", base + 8, `HVM context: HEADER magic must be 0x54381286, got 0x${magic.toString(16).padStart(8, "0")}`);
  }
  const version = view.getUint32(HVM_DESCRIPTOR_SIZE + 4, true);
  if (version !== HVM_FILE_VERSION) {
    throw new XenStreamError("BAD_VERSION", base + 12, `HVM context: HEADER version must be 1, got ${version}`);
  }
}

function baseOf(options: HvmContextOptions, fn: string): number {
  if (typeof options !== "object" || options === null) throw new XenStreamError("USAGE", 0, `${fn}: options must be an object`);
  const base = options.baseOffset ?? 0;
  if (!Number.isSafeInteger(base) || base < 0) {
    throw new XenStreamError("USAGE", 0, `${fn}: options.baseOffset must be a non-negative integer, got ${describeValue(base)}`);
  }
  return base;
}

/**
 * Encodes an HVM context: each entry's descriptor and body (`length` bytes,
 * laid out as the type's struct for that length), then `trailing`.
 * `encodeHvmContext(decodeHvmContext(b))` returns `b`.
 *
 * The encoder writes what it is given, in order: it does not require
 * HEADER first or END last (so tests can build blobs Xen refuses); use
 * {@link checkHvmContext} for that.
 *
 * @param context - the entries and trailing bytes
 * @param options - {@link HvmContextOptions} (`baseOffset` locates errors)
 * @returns the blob
 * @throws {@link XenStreamError} BAD_VALUE: a field out of range, a typecode
 *   that does not match the name, a field beyond a short length that is not
 *   zero, a tail whose size does not match `length`
 */
export function encodeHvmContext(context: HvmContext, options: HvmContextOptions = {}): Uint8Array {
  const base = baseOf(options, "encodeHvmContext");
  if (typeof context !== "object" || context === null || !Array.isArray(context.entries)) {
    throw new XenStreamError("USAGE", 0, "encodeHvmContext: context must be an object with an entries array");
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  for (let index = 0; index < context.entries.length; index++) {
    const entry = context.entries[index]!;
    const at = base + size;
    const where = `entries[${index}]`;
    if (typeof entry !== "object" || entry === null) throw badValue(at, where, "an entry object", entry);
    if ("tail" in entry && entry.tail !== undefined && !(entry.tail instanceof Uint8Array)) {
      throw badValue(at + HVM_DESCRIPTOR_SIZE, `${where}.tail`, "a Uint8Array", entry.tail);
    }
    const typecode = checkUint(entry.typecode, 0xffff, `${where}.typecode`, at);
    const instance = checkUint(entry.instance, 0xffff, `${where}.instance`, at + 2);
    const length = checkUint(entry.length, 0xffff_ffff, `${where}.length`, at + 4);
    let body: Uint8Array;
    if (entry.name === "UNKNOWN") {
      if (hvmSaveType(typecode) !== undefined) {
        throw badValue(at, `${where}.typecode`, `an unknown typecode (21 and up) for an UNKNOWN entry`, typecode);
      }
      if (!(entry.body instanceof Uint8Array) || entry.body.length !== length) {
        throw badValue(at + 8, `${where}.body`, `a Uint8Array of length ${length}`, entry.body);
      }
      body = entry.body;
    } else {
      const row = HVM_SAVE_TYPES.find((candidate) => candidate.name === entry.name);
      if (row === undefined) throw badValue(at, `${where}.name`, "a save type name or UNKNOWN", entry.name);
      if (row.typecode !== typecode) throw badValue(at, `${where}.typecode`, `${row.typecode} for ${row.name}`, typecode);
      body = row.encode(entry.fields, length, entry.tail, at + HVM_DESCRIPTOR_SIZE);
    }
    const descriptor = new Uint8Array(HVM_DESCRIPTOR_SIZE);
    const view = new DataView(descriptor.buffer);
    view.setUint16(0, typecode, true);
    view.setUint16(2, instance, true);
    view.setUint32(4, length, true);
    parts.push(descriptor, body);
    size += HVM_DESCRIPTOR_SIZE + body.length;
  }
  const trailing = context.trailing ?? new Uint8Array(0);
  if (!(trailing instanceof Uint8Array)) throw badValue(base + size, "trailing", "a Uint8Array", trailing);
  parts.push(trailing);
  size += trailing.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
