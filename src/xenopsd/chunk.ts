/**
 * The framing of a structured xenopsd suspend image: the 15-byte
 * signature, then chunks of {type u64 LE, length u64 LE} (xen-api
 * ocaml/xenopsd/lib/suspend_image.ml `read_header` / `write_header`,
 * `read_int64 ~endianness:`little`).
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { Writer } from "../wire/writer.js";
import {
  XENOPSD_CHUNK_HEADER_SIZE,
  XENOPSD_LEGACY_QEMU_HEADER_SIZE,
  XENOPSD_LEGACY_QEMU_SIGNATURE,
  XENOPSD_LEGACY_SIGNATURE,
  XENOPSD_SIGNATURE,
  XENOPSD_SIGNATURE_SIZE,
  XENOPSD_STREAM_CHUNKS,
  XenopsdChunkType,
  xenopsdChunkName,
  type XenopsdChunkName,
} from "./constants.js";
import { checkBytes, checkObject, checkOffset } from "../wire/args.js";

/** Which of xenopsd's two layouts an image has (`format = Structured | Legacy`). */
export type XenopsdLayout = "structured" | "legacy";

/** One chunk of a structured image. */
export interface XenopsdChunk {
  /** The chunk type, by xenopsd's constructor name. */
  type: XenopsdChunkName;
  /**
   * The length field as written. For blob chunks it is the body's length;
   * xenopsd writes 0 for Libxc, Libxc_legacy, Demu and End_of_image and
   * ignores the field of every chunk it does not read as a blob.
   */
  length: bigint;
  /**
   * The body of a blob chunk (Xenops, Qemu_trad, Qemu_xen, Varstored,
   * Swtpm0, Swtpm; Demu with a non-zero length), as a view. Absent for the
   * stream chunks (the stream follows the header) and End_of_image.
   */
  body?: Uint8Array;
}

/** The legacy layout's QEMU record: signature, big-endian u32 length, data. */
export interface XenopsdLegacyQemu {
  /** The device-model state (a view). */
  body: Uint8Array;
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
/** The structured signature's bytes. @internal */
export const SIGNATURE_BYTES: Uint8Array = /*@__PURE__*/ ascii(XENOPSD_SIGNATURE);
/** The legacy signature's bytes. @internal */
export const LEGACY_SIGNATURE_BYTES: Uint8Array = /*@__PURE__*/ ascii(XENOPSD_LEGACY_SIGNATURE);
/** The legacy QEMU signature's bytes. @internal */
export const LEGACY_QEMU_SIGNATURE_BYTES: Uint8Array = /*@__PURE__*/ ascii(XENOPSD_LEGACY_QEMU_SIGNATURE);

function equalPrefix(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * Reads the 15-byte signature (`read_save_signature`).
 *
 * @param bytes - at least the 15 signature bytes
 * @param offset - absolute offset of `bytes[0]`
 * @returns the layout it announces
 * @throws {@link XenStreamError} BAD_MAGIC when it is neither signature
 */
export function decodeXenopsdSignature(bytes: Uint8Array, offset = 0): XenopsdLayout {
  checkBytes(bytes, "decodeXenopsdSignature: bytes");
  checkOffset(offset, "decodeXenopsdSignature: offset");
  if (equalPrefix(bytes, SIGNATURE_BYTES)) return "structured";
  if (equalPrefix(bytes, LEGACY_SIGNATURE_BYTES)) return "legacy";
  const text = Array.from(bytes.subarray(0, XENOPSD_SIGNATURE_SIZE), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
  throw new XenStreamError(
    "BAD_MAGIC",
    offset,
    `xenopsd signature: expected "XenSavedDomv2-\\n" or "XenSavedDomain\\n", got "${text}"`,
    { layer: "xenopsd" },
  );
}

/** What a chunk header says, before its body (if any) is read. @internal */
export interface XenopsdChunkHeader {
  type: XenopsdChunkName;
  length: bigint;
  /** Body bytes that follow the header in the file (0 for stream chunks and End_of_image). */
  bodyLength: number;
}

/** True for a chunk type whose body is a blob of `length` bytes. @internal */
export function isBlobChunk(type: XenopsdChunkName, length: bigint): boolean {
  if (type === "End_of_image" || XENOPSD_STREAM_CHUNKS.has(type)) return false;
  return type !== "Demu" || length !== 0n;
}

/**
 * Reads a 16-byte chunk header (`read_header`) and checks it as xenopsd's
 * restore would.
 *
 * @param bytes - the 16 header bytes
 * @param offset - absolute offset of `bytes[0]`
 * @param maxBodyLength - largest blob accepted (RECORD_TOO_LARGE past it)
 * @returns the header
 * @throws {@link XenStreamError} UNKNOWN_RECORD for a type xenopsd does not
 * define (its `Invalid_header_type`); RECORD_TOO_LARGE for a blob longer
 * than `maxBodyLength`; UNSUPPORTED for a Demu chunk of length 0, whose
 * vGPU state is not self-delimiting
 * @internal
 */
export function decodeXenopsdChunkHeader(bytes: Uint8Array, offset: number, maxBodyLength: number): XenopsdChunkHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, XENOPSD_CHUNK_HEADER_SIZE);
  // A u64 LE type: the low word names it; any high bit makes it unknown.
  const typeId = view.getUint32(4, true) === 0 ? view.getUint32(0, true) : -1;
  const type = typeId < 0 ? undefined : xenopsdChunkName(typeId);
  if (type === undefined) {
    const shown = view.getBigUint64(0, true).toString(16).padStart(4, "0");
    throw new XenStreamError("UNKNOWN_RECORD", offset, `xenopsd chunk: unknown type 0x${shown} (xenopsd fails with Invalid_header_type)`, {
      layer: "xenopsd",
    });
  }
  const length = view.getBigUint64(8, true);
  let bodyLength = 0;
  if (isBlobChunk(type, length)) {
    if (length > BigInt(maxBodyLength)) {
      throw new XenStreamError("RECORD_TOO_LARGE", offset + 8, `xenopsd chunk ${type}: length ${length} exceeds the maximum ${maxBodyLength}`, {
        layer: "xenopsd",
      });
    }
    bodyLength = Number(length);
  } else if (type === "Demu") {
    throw new XenStreamError(
      "UNSUPPORTED",
      offset,
      "xenopsd chunk Demu with length 0: the vGPU state after it belongs to emu-manager and has no length this library can read",
      { layer: "xenopsd" },
    );
  }
  return { type, length, bodyLength };
}

/** Bytes a chunk occupies (header and blob body; a stream chunk's stream not included). @internal */
export function xenopsdChunkSize(chunk: XenopsdChunk): number {
  checkChunkTypes(chunk);
  return XENOPSD_CHUNK_HEADER_SIZE + (chunk.body?.length ?? 0);
}

/** The field types of a chunk given to the encoder, checked before any is used (BAD_VALUE). */
function checkChunkTypes(chunk: XenopsdChunk): void {
  const fail = (message: string): never => {
    throw new XenStreamError("BAD_VALUE", 0, `xenopsd chunk: ${message}`, { layer: "xenopsd" });
  };
  if (typeof chunk !== "object" || chunk === null) fail(`must be an object, got ${describeValue(chunk)}`);
  if (typeof chunk.type !== "string" || !Object.prototype.hasOwnProperty.call(XenopsdChunkType, chunk.type)) {
    fail(`unknown type ${describeValue(chunk.type)}`);
  }
  if (typeof chunk.length !== "bigint") fail(`length must be a bigint, got ${describeValue(chunk.length)}`);
  if (chunk.body !== undefined && !(chunk.body instanceof Uint8Array)) fail(`body must be a Uint8Array, got ${describeValue(chunk.body)}`);
}

/** @internal */
export function writeXenopsdChunk(writer: Writer, chunk: XenopsdChunk): void {
  const typeId = XenopsdChunkType[chunk.type];
  if (typeId === undefined) writer.fail(`xenopsd chunk: unknown type ${describeValue(chunk.type)}`);
  const blob = isBlobChunk(chunk.type, chunk.length);
  if (blob !== (chunk.body !== undefined)) {
    writer.fail(`xenopsd chunk ${chunk.type}: ${blob ? "a body is required" : "this chunk type has no body"}`);
  }
  if (chunk.body !== undefined && BigInt(chunk.body.length) !== chunk.length) {
    writer.fail(`xenopsd chunk ${chunk.type}: length ${chunk.length} must equal the body's ${chunk.body.length} bytes`);
  }
  const littleEndian = writer.littleEndian;
  writer.littleEndian = true;
  writer.u64(BigInt(typeId), "type");
  writer.u64(chunk.length, "length");
  writer.littleEndian = littleEndian;
  if (chunk.body !== undefined) writer.raw(chunk.body);
}

/**
 * Encodes one chunk: its header and, for a blob chunk, its body.
 *
 * @param chunk - the chunk
 * @returns the bytes
 * @throws {@link XenStreamError} BAD_VALUE when the body and the length
 * disagree, or a body is missing or not allowed
 */
export function encodeXenopsdChunk(chunk: XenopsdChunk): Uint8Array {
  checkObject(chunk, "encodeXenopsdChunk: chunk");
  const writer = new Writer(xenopsdChunkSize(chunk), true);
  writeXenopsdChunk(writer, chunk);
  return writer.bytes;
}

/**
 * Reads the legacy layout's QEMU header (`read_legacy_qemu_header`):
 * "QemuDeviceModelRecord\n" then a big-endian u32 length.
 *
 * @internal
 */
export function decodeXenopsdLegacyQemuHeader(bytes: Uint8Array, offset: number, maxBodyLength: number): number {
  if (!equalPrefix(bytes, LEGACY_QEMU_SIGNATURE_BYTES)) {
    throw new XenStreamError("BAD_MAGIC", offset, 'xenopsd legacy image: expected "QemuDeviceModelRecord\\n" after the libxc stream', {
      layer: "xenopsd",
    });
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, XENOPSD_LEGACY_QEMU_HEADER_SIZE).getUint32(22, false);
  if (length > maxBodyLength) {
    throw new XenStreamError("RECORD_TOO_LARGE", offset + 22, `xenopsd legacy QEMU record: length ${length} exceeds the maximum ${maxBodyLength}`, {
      layer: "xenopsd",
    });
  }
  return length;
}

/** @internal */
export function writeXenopsdLegacyQemu(writer: Writer, qemu: XenopsdLegacyQemu): void {
  writer.raw(LEGACY_QEMU_SIGNATURE_BYTES);
  const littleEndian = writer.littleEndian;
  writer.littleEndian = false;
  writer.u32(qemu.body.length, "QEMU record length");
  writer.littleEndian = littleEndian;
  writer.raw(qemu.body);
}
