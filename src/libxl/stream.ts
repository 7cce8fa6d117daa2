/**
 * Whole-buffer libxl functions, built on the one incremental parser.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { CodecTable } from "../wire/record.js";
import { encodeRecord, recordBodyLength, writeRecord } from "../wire/record-writer.js";
import { Writer } from "../wire/writer.js";
import type { DecoderOptions, InternalDecoderOptions } from "../libxc/decoder.js";
import { checkRecordsEnd, planLibxcStream, sizeRecords, writeRecords, type LibxcEncoder } from "../libxc/stream.js";
import type { LibxcRecord } from "../libxc/types.js";
import { LIBXL_HDR_SIZE } from "./constants.js";
import { LibxlDecoder, type LibxlEvent } from "./decoder.js";
import { isBigEndianLibxl, writeLibxlHeader } from "./header.js";
import { NO_CONTEXT, libxlTable } from "./codec.js";
import type { LibxlHeader, LibxlItem, LibxlRecord, LibxlStream } from "./types.js";
import { checkBoolean, checkBytes, checkOptions } from "../wire/args.js";

/**
 * Decodes a whole libxl stream into its events (both layers, in order).
 *
 * @param bytes - the complete stream
 * @param options - decoder options
 * @returns every event
 * @throws {@link XenStreamError} on malformed or truncated input, as
 * {@link decodeLibxlStream} (RECORD_TOO_LARGE past `maxDecodedBytes`,
 * default 8x the input + 4 MiB)
 */
export function decodeLibxlEvents(bytes: Uint8Array, options: DecoderOptions = {}): LibxlEvent[] {
  checkBytes(bytes, "decodeLibxlEvents: bytes");
  checkOptions(options, "decodeLibxlEvents: options");
  // Every record is kept: the decoded-size default applies (maxDecodedBytes).
  const internal: InternalDecoderOptions = { ...options, keepsRecords: { inputLength: bytes.length } };
  const decoder = new LibxlDecoder(internal);
  const events = decoder.push(bytes);
  decoder.end();
  return events;
}

/** Folds libxl events (with nested libxc events) into a {@link LibxlStream}. @internal */
export function libxlStreamFromEvents(events: Iterable<LibxlEvent>): LibxlStream {
  let header: LibxlHeader | undefined;
  const items: LibxlItem[] = [];
  // The libxc part being filled: records go to the last item while it is a part.
  let part: LibxcRecord[] | undefined;
  for (const event of events) {
    if (event.layer === "libxl") {
      part = undefined;
      if (event.kind === "header") header = event.header;
      else items.push(event.record);
      continue;
    }
    switch (event.kind) {
      case "imageHeader":
        part = [];
        items.push({
          type: "LIBXC_STREAM",
          stream: { imageHeader: event.header, domainHeader: undefined as never, records: part },
        });
        break;
      case "domainHeader": {
        const last = items[items.length - 1];
        if (last?.type === "LIBXC_STREAM") last.stream.domainHeader = event.header;
        break;
      }
      case "record":
        if (part === undefined) {
          part = [];
          items.push({ type: "LIBXC_RESUME", records: part });
        }
        part.push(event.record);
    }
  }
  if (header === undefined) throw new Error("libxl events without a header");
  return { header, items };
}

/**
 * Decodes a whole libxl stream, nested libxc stream(s) included. See
 * {@link LibxlStream} for how nesting and checkpoints are shown.
 *
 * @param bytes - the complete stream
 * @param options - decoder options (apply to both layers)
 * @returns the decoded stream
 * @throws {@link XenStreamError} as {@link decodeLibxcStream}, plus
 * UNEXPECTED_RECORD for checkpoint records out of place
 */
export function decodeLibxlStream(bytes: Uint8Array, options: DecoderOptions = {}): LibxlStream {
  checkBytes(bytes, "decodeLibxlStream: bytes");
  checkOptions(options, "decodeLibxlStream: options");
  return libxlStreamFromEvents(decodeLibxlEvents(bytes, options));
}

type Planned =
  | { kind: "libxl"; record: LibxlRecord; bodyLength: number }
  | { kind: "libxc"; encoder: LibxcEncoder; headers: boolean; records: readonly LibxcRecord[]; bodyLengths: number[] };

/**
 * Checks the item order an encoder can write (a LIBXC_STREAM part right
 * after LIBXC_CONTEXT; LIBXC_RESUME only after a LIBXC_STREAM), sizes
 * everything and returns the plan. @internal
 */
export function planLibxlStream(stream: LibxlStream, startOffset: number): { plan: Planned[]; size: number } {
  const plan: Planned[] = [];
  let size = LIBXL_HDR_SIZE;
  let encoder: LibxcEncoder | undefined;
  let earlyEnd: { index: number; offset: number } | undefined;
  const misuse = (offset: number, message: string): never => {
    throw new XenStreamError("BAD_VALUE", offset, message, { layer: "libxl" });
  };
  if (typeof stream !== "object" || stream === null) misuse(startOffset, `libxl stream must be an object, got ${describeValue(stream)}`);
  // Validates the header (BAD_VALUE) before its byte order is read.
  writeLibxlHeader(new Writer(LIBXL_HDR_SIZE, false, startOffset), stream.header);
  const items: unknown = stream.items;
  if (!Array.isArray(items)) return misuse(startOffset + size, `libxl items must be an array, got ${describeValue(items)}`);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as LibxlItem;
    const offset = startOffset + size;
    if (typeof item !== "object" || item === null || typeof item.type !== "string") {
      misuse(offset, `libxl items[${i}] must be a record or part object with a string type, got ${describeValue(item)}`);
    }
    const fail = (message: string): never => misuse(offset, `libxl items[${i}] (${item.type}): ${message}`);
    const previous = items[i - 1] as LibxlItem | undefined;
    if (item.type === "END" && i < items.length - 1 && earlyEnd === undefined) earlyEnd = { index: i, offset };
    if (item.type === "LIBXC_STREAM") {
      if (previous?.type !== "LIBXC_CONTEXT") fail("a LIBXC_STREAM part must directly follow LIBXC_CONTEXT");
      const part = planLibxcStream(item.stream, offset, `libxl items[${i}] (LIBXC_STREAM)`);
      encoder = part.encoder;
      plan.push({ kind: "libxc", encoder, headers: true, records: part.records, bodyLengths: part.bodyLengths });
      size += part.size;
    } else if (item.type === "LIBXC_RESUME") {
      if (encoder === undefined) return fail("a LIBXC_RESUME part needs an earlier LIBXC_STREAM");
      const sized = sizeRecords(encoder, item.records, offset, `libxl items[${i}] (LIBXC_RESUME)`);
      // A checkpointed stream may stop where libxc has resumed and read nothing.
      if (i < items.length - 1 || item.records.length > 0) checkRecordsEnd(item.records, offset, `libxl items[${i}] (LIBXC_RESUME)`);
      plan.push({ kind: "libxc", encoder, headers: false, records: item.records, bodyLengths: sized.bodyLengths });
      size += sized.total;
    } else {
      if (item.type === "LIBXC_CONTEXT" && (items[i + 1] as LibxlItem | undefined)?.type !== "LIBXC_STREAM") {
        fail("LIBXC_CONTEXT must be followed by a LIBXC_STREAM part");
      }
      const bodyLength = recordBodyLength(libxlTable, item, NO_CONTEXT, offset);
      plan.push({ kind: "libxl", record: item, bodyLength });
      size += CodecTable.frameSize(bodyLength);
    }
  }
  if (earlyEnd !== undefined) {
    misuse(earlyEnd.offset, `libxl items[${earlyEnd.index}] (END): END must be the last item, not items[${earlyEnd.index}] of ${items.length}`);
  }
  const lastType = (items[items.length - 1] as LibxlItem | undefined)?.type;
  // Where the libxl decoder may stop: after END, or in a checkpointed stream
  // after CHECKPOINT_END, CHECKPOINT_STATE or a LIBXC_RESUME (libxc resumed, nothing read).
  if (lastType !== "END" && lastType !== "CHECKPOINT_END" && lastType !== "CHECKPOINT_STATE" && lastType !== "LIBXC_RESUME") {
    misuse(startOffset + size, `libxl items must end with END (or CHECKPOINT_END in a checkpointed stream), got ${lastType === undefined ? "no items" : `${lastType} last`}`);
  }
  return { plan, size };
}

/** Writes a planned libxl stream. @internal */
export function writeLibxlStream(writer: Writer, header: LibxlHeader, plan: readonly Planned[]): void {
  writeLibxlHeader(writer, header);
  for (const step of plan) {
    if (step.kind === "libxl") {
      writeRecord(libxlTable, writer, step.record, NO_CONTEXT, step.bodyLength);
      continue;
    }
    const littleEndian = writer.littleEndian;
    writer.littleEndian = step.encoder.littleEndian;
    if (step.headers) step.encoder.writeHeaders(writer);
    writeRecords(step.encoder, writer, step.records, step.bodyLengths);
    writer.littleEndian = littleEndian;
  }
}

/**
 * Encodes a whole libxl stream, nested libxc parts included, in one
 * allocation. `encodeLibxlStream(decodeLibxlStream(b))` returns `b`.
 *
 * @param stream - header and items
 * @returns the stream bytes
 * @throws {@link XenStreamError} BAD_VALUE, BAD_PADDING
 */
export function encodeLibxlStream(stream: LibxlStream): Uint8Array {
  const { plan, size } = planLibxlStream(stream, 0);
  const writer = new Writer(size, !isBigEndianLibxl(stream.header));
  writeLibxlStream(writer, stream.header, plan);
  return writer.bytes;
}

/**
 * Encodes one libxl record (header, body, padding).
 *
 * @param record - the record
 * @param littleEndian - byte order (default little-endian)
 * @returns the record bytes
 */
export function encodeLibxlRecord(record: LibxlRecord, littleEndian = true): Uint8Array {
  checkBoolean(littleEndian, "encodeLibxlRecord: littleEndian");
  return encodeRecord(libxlTable, record, NO_CONTEXT, littleEndian);
}
