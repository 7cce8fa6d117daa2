/**
 * Whole-buffer libxc functions, built on the one incremental parser and the
 * record table.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { CodecTable } from "../wire/record.js";
import { encodeRecord, recordBodyLength, writeRecord } from "../wire/record-writer.js";
import { Writer } from "../wire/writer.js";
import { libxcTable } from "./codec.js";
import { DHDR_SIZE, IHDR_SIZE } from "./constants.js";
import { LibxcDecoder, type DecoderOptions, type InternalDecoderOptions, type LibxcEvent } from "./decoder.js";
import { isBigEndianImage, pageSizeOf, writeDomainHeader, writeImageHeader } from "./header.js";
import type { LibxcCodecContext } from "./records/context.js";
import type { DomainHeader, ImageHeader, LibxcRecord, LibxcStream } from "./types.js";
import { checkBytes, checkOptions } from "../wire/args.js";

/**
 * Decodes a whole libxc stream into its events.
 *
 * @param bytes - the complete stream
 * @param options - decoder options
 * @returns every event, in stream order
 * @throws {@link XenStreamError} on malformed or truncated input, as
 * {@link decodeLibxcStream} (RECORD_TOO_LARGE past `maxDecodedBytes`,
 * default 8x the input + 4 MiB)
 */
export function decodeLibxcEvents(bytes: Uint8Array, options: DecoderOptions = {}): LibxcEvent[] {
  checkBytes(bytes, "decodeLibxcEvents: bytes");
  checkOptions(options, "decodeLibxcEvents: options");
  // Every record is kept: the decoded-size default applies (maxDecodedBytes).
  const internal: InternalDecoderOptions = { ...options, keepsRecords: { inputLength: bytes.length } };
  const decoder = new LibxcDecoder(internal);
  const events = decoder.push(bytes);
  decoder.end();
  return events;
}

/** Folds libxc events into a {@link LibxcStream}. @internal */
export function libxcStreamFromEvents(events: Iterable<LibxcEvent>): LibxcStream {
  let imageHeader: ImageHeader | undefined;
  let domainHeader: DomainHeader | undefined;
  const records: LibxcRecord[] = [];
  for (const event of events) {
    if (event.kind === "imageHeader") imageHeader = event.header;
    else if (event.kind === "domainHeader") domainHeader = event.header;
    else records.push(event.record);
  }
  if (imageHeader === undefined || domainHeader === undefined) throw new Error("libxc events without headers");
  return { imageHeader, domainHeader, records };
}

/**
 * Decodes a whole libxc stream (image header, domain header, records up to
 * END). Page contents and other byte fields are views into `bytes`.
 *
 * @param bytes - the complete stream
 * @param options - decoder options
 * @returns the decoded stream
 * @throws {@link XenStreamError} TRUNCATED, BAD_MAGIC, BAD_VERSION,
 * BAD_FIELD, BAD_LENGTH, BAD_PAGE_TYPE, RECORD_TOO_LARGE (also for a record
 * whose objects would take the decoded stream past `maxDecodedBytes`,
 * default 8x the input + 4 MiB), UNKNOWN_RECORD, TRAILING_DATA; USAGE for
 * invalid options
 *
 * @example
 * ```ts
 * import { decodeLibxcStream } from "xen-migration-stream";
 * const stream = decodeLibxcStream(bytes);
 * stream.records.map((r) => r.type); //=> ["X86_PV_INFO", ..., "END"]
 * ```
 */
export function decodeLibxcStream(bytes: Uint8Array, options: DecoderOptions = {}): LibxcStream {
  checkBytes(bytes, "decodeLibxcStream: bytes");
  checkOptions(options, "decodeLibxcStream: options");
  return libxcStreamFromEvents(decodeLibxcEvents(bytes, options));
}

/**
 * Encodes libxc headers and records one at a time, for streaming: the
 * stream is never one buffer. Records are validated as they are encoded.
 */
export class LibxcEncoder {
  private readonly imageHeader: ImageHeader;
  private readonly domainHeader: DomainHeader;
  /** Byte order of everything after the image header. */
  readonly littleEndian: boolean;
  private readonly context: LibxcCodecContext;

  /**
   * Creates an encoder for one stream.
   *
   * @param imageHeader - the image header (its options choose the byte order)
   * @param domainHeader - the domain header (its page_shift the page size)
   */
  constructor(imageHeader: ImageHeader, domainHeader: DomainHeader) {
    // Validate both headers (BAD_VALUE) before reading the byte order and page size from them.
    const check = new Writer(LibxcEncoder.headersSize, true);
    writeImageHeader(check, imageHeader);
    writeDomainHeader(check, domainHeader);
    this.imageHeader = imageHeader;
    this.domainHeader = domainHeader;
    this.littleEndian = !isBigEndianImage(imageHeader);
    this.context = { pageSize: pageSizeOf(domainHeader) };
  }

  /**
   * Size of the two headers together (40 bytes).
   *
   * A getter, not a static field: a static field is initialised when the
   * class is defined, which keeps the class, the header writers and the
   * Writer in every bundle of this module, one that only decodes included.
   */
  static get headersSize(): number {
    return IHDR_SIZE + DHDR_SIZE;
  }

  /** The image and domain headers (40 bytes). */
  headers(): Uint8Array {
    const writer = new Writer(LibxcEncoder.headersSize, this.littleEndian);
    this.writeHeaders(writer);
    return writer.bytes;
  }

  /** @internal */
  writeHeaders(writer: Writer): void {
    writeImageHeader(writer, this.imageHeader);
    writeDomainHeader(writer, this.domainHeader);
  }

  /**
   * Size on the wire of a record (header, body, padding); validates it.
   * @internal
   */
  recordSize(record: LibxcRecord, offset: number): { bodyLength: number; size: number } {
    const bodyLength = recordBodyLength(libxcTable, record, this.context, offset);
    return { bodyLength, size: CodecTable.frameSize(bodyLength) };
  }

  /** @internal */
  writeRecord(writer: Writer, record: LibxcRecord, bodyLength: number): void {
    writeRecord(libxcTable, writer, record, this.context, bodyLength);
  }

  /**
   * One record's bytes.
   *
   * @throws {@link XenStreamError} BAD_VALUE for a value that cannot be
   * encoded, BAD_PADDING for padding of the wrong size
   */
  record(record: LibxcRecord): Uint8Array {
    return encodeRecord(libxcTable, record, this.context, this.littleEndian);
  }
}

/** Sizes of each record of a list, validated, plus the total. @internal */
export function sizeRecords(
  encoder: LibxcEncoder,
  records: readonly LibxcRecord[],
  startOffset: number,
  what = "libxc stream",
): { bodyLengths: number[]; total: number } {
  if (!Array.isArray(records)) {
    throw new XenStreamError("BAD_VALUE", startOffset, `libxc records must be an array, got ${describeValue(records)}`, { layer: "libxc" });
  }
  const bodyLengths = new Array<number>(records.length);
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    if (i > 0 && (records[i - 1] as LibxcRecord).type === "END") {
      throw new XenStreamError("BAD_VALUE", startOffset + total, `${what}: a record after END (records[${i}]); END must be the last record`, { layer: "libxc" });
    }
    const { bodyLength, size } = encoder.recordSize(records[i] as LibxcRecord, startOffset + total);
    bodyLengths[i] = bodyLength;
    total += size;
  }
  return { bodyLengths, total };
}

/**
 * Checks that `records` end where the libxc decoder lets a stream (or a
 * part of one nested in libxl) stop: at END, or at a CHECKPOINT (where the
 * decoder hands over to libxl, or may stop), with END nowhere else. Without
 * it the encoder would write streams its own decoder refuses (TRUNCATED,
 * TRAILING_DATA, or libxl records read as libxc ones). @internal
 */
export function checkRecordsEnd(records: readonly LibxcRecord[], startOffset: number, what: string): void {
  // (END before the last record is refused by sizeRecords, at the record after it.)
  const last = records.length - 1;
  const type = records[last]?.type;
  if (type !== "END" && type !== "CHECKPOINT") {
    throw new XenStreamError(
      "BAD_VALUE",
      startOffset,
      `${what}: the records must end with END (or CHECKPOINT in a checkpointed stream), got ${last < 0 ? "no records" : `${type} last`}`,
      { layer: "libxc" },
    );
  }
}

/** Writes records sized by {@link sizeRecords}. @internal */
export function writeRecords(
  encoder: LibxcEncoder,
  writer: Writer,
  records: readonly LibxcRecord[],
  bodyLengths: readonly number[],
): void {
  for (let i = 0; i < records.length; i++) {
    encoder.writeRecord(writer, records[i] as LibxcRecord, bodyLengths[i] as number);
  }
}

/** A libxc stream sized and validated, ready to write. @internal */
export interface LibxcPlan {
  encoder: LibxcEncoder;
  records: readonly LibxcRecord[];
  bodyLengths: number[];
  /** Bytes the whole stream occupies. */
  size: number;
}

/** Sizes and validates a whole libxc stream that will start at `startOffset`. @internal */
export function planLibxcStream(stream: LibxcStream, startOffset: number, what = "libxc stream"): LibxcPlan {
  if (typeof stream !== "object" || stream === null) {
    throw new XenStreamError("BAD_VALUE", startOffset, `libxc stream must be an object, got ${describeValue(stream)}`, { layer: "libxc" });
  }
  const encoder = new LibxcEncoder(stream.imageHeader, stream.domainHeader);
  const { bodyLengths, total } = sizeRecords(encoder, stream.records, startOffset + LibxcEncoder.headersSize, what);
  checkRecordsEnd(stream.records, startOffset + LibxcEncoder.headersSize, what);
  return { encoder, records: stream.records, bodyLengths, size: LibxcEncoder.headersSize + total };
}

/** Writes a planned libxc stream in the stream's byte order. @internal */
export function writeLibxcStream(writer: Writer, plan: LibxcPlan): void {
  const littleEndian = writer.littleEndian;
  writer.littleEndian = plan.encoder.littleEndian;
  plan.encoder.writeHeaders(writer);
  writeRecords(plan.encoder, writer, plan.records, plan.bodyLengths);
  writer.littleEndian = littleEndian;
}

/**
 * Encodes a whole libxc stream. Computes the exact size, allocates once.
 * `encodeLibxcStream(decodeLibxcStream(b))` returns `b` byte for byte.
 *
 * @param stream - headers and records (END included: it is not added)
 * @returns the stream bytes
 * @throws {@link XenStreamError} BAD_VALUE, BAD_PADDING
 */
export function encodeLibxcStream(stream: LibxcStream): Uint8Array {
  const plan = planLibxcStream(stream, 0);
  const writer = new Writer(plan.size, plan.encoder.littleEndian);
  writeLibxcStream(writer, plan);
  return writer.bytes;
}
