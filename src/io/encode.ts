/**
 * Streaming encoders: (async) iterables of records, items or decoder events
 * in, an async iterable of byte chunks out. The stream is never one buffer:
 * memory is one output chunk plus the record being written.
 *
 * There is no second writer: headers and records are written by the same
 * code as the whole-buffer encoders (LibxcEncoder, the libxl record table,
 * the libxl and xl header writers), into output chunks instead of one
 * pre-sized buffer. Small records are batched into chunks of about
 * `chunkSize` bytes; a record larger than that is one chunk of its own.
 *
 * Output chunks and aliasing: by default every chunk is a buffer of its
 * own, which the consumer may keep or queue. With `reuseBuffer: true` the
 * encoder writes every chunk into the same buffer, so a chunk is valid only
 * until the next one is requested: use it only with a consumer that is done
 * with each chunk before it asks for the next (writeToFile and
 * writeToNodeWritable in `io/node`, writeToWritableStream, a hash, a
 * socket write you await). It avoids one fresh allocation per chunk, which
 * on large streams costs more than the copy itself (fresh memory is
 * page-faulted in). It also stops the copy: a PAGE_DATA record's pages go
 * out as a chunk that is the record's own `pages` array (the writer
 * borrows it, see src/wire/writer.ts), so the record's byte fields must
 * stay unchanged until the consumer asks for the chunk after it.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { checkObject } from "../wire/args.js";
import { CodecTable } from "../wire/record.js";
import { recordBodyLength, writeRecord } from "../wire/record-writer.js";
import { Writer } from "../wire/writer.js";
import { LibxcEncoder } from "../libxc/stream.js";
import type { DomainHeader, ImageHeader, LibxcRecord } from "../libxc/types.js";
import type { LibxcEvent } from "../libxc/decoder.js";
import { LIBXL_HDR_SIZE } from "../libxl/constants.js";
import type { LibxlEvent } from "../libxl/decoder.js";
import { isBigEndianLibxl, writeLibxlHeader } from "../libxl/header.js";
import { NO_CONTEXT, libxlTable } from "../libxl/codec.js";
import type { LibxlHeader, LibxlRecord } from "../libxl/types.js";
import {
  checkContainer,
  containerParts,
  encodeContainerEvent,
  writeContainerAfter,
  writeContainerBefore,
  type LegacySaveFile,
  type SaveFileContainer,
  type SaveFileEvent,
} from "../savefile.js";
import { isStreamV2, writeXlHeader, xlHeaderSize, type XlHeader } from "../xl/header.js";
import { checkSourceOptions, throwIfAborted, type AbortSignalLike } from "./source.js";

/** Options of the streaming encoders. */
export interface ChunkEncodeOptions {
  /**
   * Target size of an output chunk; small records are batched up to it, a
   * larger record is a chunk of its own.
   * @defaultValue 1048576 (1 MiB)
   */
  chunkSize?: number;
  /**
   * Write every chunk into one reused buffer: a chunk is then valid only
   * until the next one is requested (see the module documentation).
   * @defaultValue false
   */
  reuseBuffer?: boolean;
  /** Stops encoding: the iterator rejects with `signal.reason`. */
  signal?: AbortSignalLike;
}

/** Something iterated with `for await`: an array, a generator, an async generator. */
export type RecordSource<T> = Iterable<T> | AsyncIterable<T>;

/** A libxc stream whose records arrive one at a time. A `LibxcStream` is one. */
export interface StreamingLibxcStream {
  imageHeader: ImageHeader;
  domainHeader: DomainHeader;
  /** The records, END (or the last CHECKPOINT) included. */
  records: RecordSource<LibxcRecord>;
}

/**
 * One item of a libxl stream for the streaming encoder: a libxl record, the
 * libxc stream after LIBXC_CONTEXT, or the libxc records of a later
 * checkpoint. A `LibxlItem` is one.
 */
export type StreamingLibxlItem =
  | LibxlRecord
  | { type: "LIBXC_STREAM"; stream: StreamingLibxcStream }
  | { type: "LIBXC_RESUME"; records: RecordSource<LibxcRecord> };

/** A libxl stream whose items arrive one at a time. A `LibxlStream` is one. */
export interface StreamingLibxlStream {
  header: LibxlHeader;
  items: RecordSource<StreamingLibxlItem>;
}

/**
 * A save file for the streaming encoder. A `SaveFile` or an `AnySaveFile`
 * is one: an xl header or a libvirt/xenopsd container (never both) around
 * a libxl or libxc stream whose records may arrive one at a time, or a
 * container around a legacy stream's bytes.
 */
export type StreamingSaveFile =
  | { format: "libxl"; xl?: XlHeader; container?: SaveFileContainer; stream: StreamingLibxlStream }
  | { format: "libxc"; xl?: XlHeader; container?: SaveFileContainer; stream: StreamingLibxcStream }
  | LegacySaveFile;

const DEFAULT_CHUNK_SIZE = 1024 * 1024;
/** reuseBuffer: page data at least this long is borrowed (a chunk of its own), not copied. */
const BORROW_MIN = 4096;
/** Below this fill, a fresh-mode chunk is sliced out and its buffer kept. */
const SLICE_FRACTION = 8;

/**
 * Output chunks: a buffer being filled through one Writer, handed out when
 * it reaches `chunkSize` or when the next record does not fit.
 */
class ChunkWriter {
  private readonly chunkSize: number;
  private readonly reuse: boolean;
  private readonly signal: AbortSignalLike | undefined;
  private buffer: Uint8Array | undefined = undefined;
  /**
   * reuseBuffer: the other of two buffers used in turn. One write can hand
   * out two chunks (the batch it closes, then a large record), so the
   * buffer written next must not be the one just handed out.
   */
  private spare: Uint8Array | undefined = undefined;
  private writer: Writer | undefined = undefined;
  /** Absolute offset of buffer[0]. */
  private base = 0;
  /** Chunks ready to be yielded. */
  private ready: Uint8Array[] = [];

  constructor(options: ChunkEncodeOptions) {
    checkSourceOptions(options, "streaming encoder");
    const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
    if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
      throw new XenStreamError("USAGE", 0, `chunkSize must be a positive integer, got ${describeValue(chunkSize)}`);
    }
    this.chunkSize = chunkSize;
    this.reuse = options.reuseBuffer === true;
    this.signal = options.signal;
  }

  /** Absolute offset of the next byte written. */
  get offset(): number {
    return this.base + (this.writer?.pos ?? 0);
  }

  /** A writer with room for `size` more bytes, in byte order `littleEndian`. */
  private reserve(size: number, littleEndian: boolean): Writer {
    throwIfAborted(this.signal);
    if (this.reuse && this.ready.length > 0) {
      // Our bug, not the input's: the buffer written next may hold a chunk not handed out yet.
      throw new Error("ChunkWriter: chunks must be taken before the next write when buffers are reused");
    }
    let writer = this.writer;
    if (writer !== undefined && writer.pos + size > writer.bytes.length) {
      this.flush();
      writer = this.writer;
    }
    if (writer === undefined || size > writer.bytes.length) {
      let buffer = this.buffer;
      const capacity = Math.max(this.chunkSize, size);
      if (buffer === undefined || buffer.length < capacity) buffer = new Uint8Array(capacity);
      this.buffer = buffer;
      writer = new Writer(buffer, littleEndian, this.base);
      this.writer = writer;
    }
    writer.littleEndian = littleEndian;
    return writer;
  }

  /**
   * Queues the bytes written so far as chunks: the buffer's, and (with
   * reuseBuffer) borrowed page data as chunks of their own.
   */
  private flush(): void {
    const writer = this.writer;
    if (writer === undefined || writer.pos === 0) return;
    const { bytes, pos } = writer;
    const parts = writer.parts();
    if (this.reuse) {
      for (const part of parts) this.ready.push(part);
      this.buffer = this.spare;
      this.spare = bytes;
    } else if (pos * SLICE_FRACTION < bytes.length) {
      for (const part of parts) this.ready.push(part.slice()); // small: copy it out, keep the buffer
    } else {
      for (const part of parts) this.ready.push(part);
      this.buffer = undefined; // handed out: the next chunk gets a new buffer
    }
    this.base += pos;
    this.writer = undefined;
  }

  /** Hands out the chunk if it is full. */
  private settle(): void {
    if (this.writer !== undefined && this.writer.pos >= this.chunkSize) this.flush();
  }

  /** The chunks ready to be yielded (taken). */
  take(): Uint8Array[] {
    if (this.ready.length === 0) return NONE;
    const ready = this.ready;
    this.ready = [];
    return ready;
  }

  /** Hands out whatever is left. */
  finish(): Uint8Array[] {
    this.flush();
    return this.take();
  }

  xlHeader(header: XlHeader): void {
    const writer = this.reserve(xlHeaderSize(header), header.byteOrder !== "big");
    writeXlHeader(writer, header);
    this.settle();
  }

  libxlHeader(header: LibxlHeader): void {
    writeLibxlHeader(this.reserve(LIBXL_HDR_SIZE, false), header);
    this.settle();
  }

  libxlRecord(record: LibxlRecord, littleEndian: boolean): void {
    const bodyLength = recordBodyLength(libxlTable, record, NO_CONTEXT, this.offset);
    const writer = this.reserve(CodecTable.frameSize(bodyLength), littleEndian);
    writeRecord(libxlTable, writer, record, NO_CONTEXT, bodyLength);
    this.settle();
  }

  /** Writes what a libvirt or xenopsd container puts before the stream (header and XML; signature and chunks up to the stream's). */
  containerBefore(container: SaveFileContainer | undefined): void {
    const { before } = containerParts(container);
    if (before === 0) return;
    writeContainerBefore(this.reserve(before, true), container);
    this.settle();
  }

  /** Writes what a container puts after the stream (the chunks after the stream's, End_of_image; the legacy layout's QEMU record). */
  containerAfter(container: SaveFileContainer | undefined): void {
    const { after } = containerParts(container);
    if (after === 0) return;
    writeContainerAfter(this.reserve(after, true), container);
    this.settle();
  }

  /** Writes bytes as they are (container headers and chunks, legacy payloads). */
  raw(bytes: Uint8Array): void {
    this.reserve(bytes.length, true).raw(bytes);
    this.settle();
  }

  libxcHeaders(encoder: LibxcEncoder): void {
    encoder.writeHeaders(this.reserve(LibxcEncoder.headersSize, encoder.littleEndian));
    this.settle();
  }

  libxcRecord(encoder: LibxcEncoder, record: LibxcRecord): void {
    const { bodyLength, size } = encoder.recordSize(record, this.offset);
    if (this.reuse && record.type === "PAGE_DATA" && record.pages.length >= BORROW_MIN) {
      // The pages go out as the caller's own bytes, not copied: the
      // consumer is done with each chunk before it asks for the next, and
      // the record's bytes are valid until then.
      const writer = this.reserve(size - record.pages.length, encoder.littleEndian);
      writer.borrow(record.pages);
      encoder.writeRecord(writer, record, bodyLength);
      this.flush();
      return;
    }
    encoder.writeRecord(this.reserve(size, encoder.littleEndian), record, bodyLength);
    this.settle();
  }
}

const NONE: Uint8Array[] = [];

function badValue(offset: number, message: string, layer: "libxl" | "libxc" | "xl"): XenStreamError {
  return new XenStreamError("BAD_VALUE", offset, message, { layer });
}

/** Throws BAD_VALUE unless `value` is something `for await` can iterate. */
function checkIterable(value: unknown, offset: number, what: string, layer: "libxl" | "libxc" | "xl"): void {
  const iterable = value as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown } | null | undefined;
  const ok =
    typeof value === "object" && value !== null && !ArrayBuffer.isView(value) &&
    (typeof iterable?.[Symbol.iterator] === "function" || typeof iterable?.[Symbol.asyncIterator] === "function");
  if (!ok) throw badValue(offset, `${what} must be an array or an (async) iterable, got ${describeValue(value)}`, layer);
}

/**
 * Encodes a libxc stream from its headers and an (async) iterable of
 * records, as chunks. Concatenated, the chunks are exactly
 * `encodeLibxcStream({ ...headers, records: [...records] })`.
 *
 * @param headers - image and domain headers
 * @param records - the records, END included (it is not added)
 * @param options - `chunkSize`, `reuseBuffer`, `signal`
 * @returns an async iterator of byte chunks
 * @throws {@link index!XenStreamError} BAD_VALUE, BAD_PADDING (at the record's
 * offset in the output)
 *
 * @example
 * ```ts
 * import { encodeLibxcStreamChunks } from "xen-migration-stream/io";
 * for await (const chunk of encodeLibxcStreamChunks({ imageHeader, domainHeader }, records)) socket.write(chunk);
 * ```
 */
export async function* encodeLibxcStreamChunks(
  headers: { imageHeader: ImageHeader; domainHeader: DomainHeader },
  records: RecordSource<LibxcRecord>,
  options: ChunkEncodeOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const out = new ChunkWriter(options);
  yield* writeLibxc(out, { ...headers, records });
  yield* out.finish();
}

async function* writeLibxc(out: ChunkWriter, stream: StreamingLibxcStream, what = "libxc stream"): AsyncGenerator<Uint8Array, LibxcEncoder, undefined> {
  if (typeof stream !== "object" || stream === null) throw badValue(out.offset, `${what} must be an object, got ${describeValue(stream)}`, "libxc");
  const encoder = new LibxcEncoder(stream.imageHeader, stream.domainHeader);
  out.libxcHeaders(encoder);
  yield* out.take();
  const start = out.offset;
  const count = yield* writeLibxcRecords(out, encoder, stream.records, what);
  checkLastRecord(count, start, what);
  return encoder;
}

/** Writes records; returns how many and the type of the last one. END must be the last (as encodeLibxcStream demands). */
async function* writeLibxcRecords(
  out: ChunkWriter,
  encoder: LibxcEncoder,
  records: RecordSource<LibxcRecord>,
  what: string,
): AsyncGenerator<Uint8Array, { count: number; last: string | undefined }, undefined> {
  checkIterable(records, out.offset, `${what}: records`, "libxc");
  let count = 0;
  let last: string | undefined;
  for await (const record of records) {
    if (last === "END") throw badValue(out.offset, `${what}: a record after END (records[${count}]); END must be the last record`, "libxc");
    out.libxcRecord(encoder, record);
    last = record.type;
    count += 1;
    yield* out.take();
  }
  return { count, last };
}

/** The end rule of encodeLibxcStream: the records end with END, or CHECKPOINT in a checkpointed stream. */
function checkLastRecord({ count, last }: { count: number; last: string | undefined }, offset: number, what: string): void {
  if (last !== "END" && last !== "CHECKPOINT") {
    throw badValue(offset, `${what}: the records must end with END (or CHECKPOINT in a checkpointed stream), got ${count === 0 ? "no records" : `${last} last`}`, "libxc");
  }
}

/**
 * Encodes a libxl stream from its header and an (async) iterable of items,
 * as chunks; a `LIBXC_STREAM` or `LIBXC_RESUME` item's records may
 * themselves be an async iterable, so a nested multi-GiB libxc stream
 * streams too. Concatenated, the chunks are exactly `encodeLibxlStream` of
 * the same items, with the same item-order rules.
 *
 * @param header - the libxl header
 * @param items - libxl records and libxc parts, in order
 * @param options - `chunkSize`, `reuseBuffer`, `signal`
 * @returns an async iterator of byte chunks
 * @throws {@link index!XenStreamError} BAD_VALUE (also for items out of order),
 * BAD_PADDING
 */
export async function* encodeLibxlStreamChunks(
  header: LibxlHeader,
  items: RecordSource<StreamingLibxlItem>,
  options: ChunkEncodeOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const out = new ChunkWriter(options);
  yield* writeLibxl(out, { header, items });
  yield* out.finish();
}

async function* writeLibxl(out: ChunkWriter, stream: StreamingLibxlStream): AsyncGenerator<Uint8Array, void, undefined> {
  if (typeof stream !== "object" || stream === null) throw badValue(0, `libxl stream must be an object, got ${describeValue(stream)}`, "libxl");
  // Validates the header (BAD_VALUE) before its byte order is read.
  writeLibxlHeader(new Writer(LIBXL_HDR_SIZE, false, out.offset), stream.header);
  const littleEndian = !isBigEndianLibxl(stream.header);
  out.libxlHeader(stream.header);
  yield* out.take();
  let encoder: LibxcEncoder | undefined;
  let index = 0;
  // The LIBXC_CONTEXT item waiting for its LIBXC_STREAM part (the rule of encodeLibxlStream).
  let context: { index: number; offset: number } | undefined;
  const contextFailure = (): XenStreamError => {
    const at = context as { index: number; offset: number };
    return badValue(at.offset, `libxl items[${at.index}] (LIBXC_CONTEXT): LIBXC_CONTEXT must be followed by a LIBXC_STREAM part`, "libxl");
  };
  checkIterable(stream.items, out.offset, "libxl items", "libxl");
  // An item after END, or after an empty LIBXC_RESUME (which only a stream's last item may be).
  let lastType: string | undefined;
  let previousOffset = 0;
  let emptyResume: { index: number; offset: number } | undefined;
  let earlyEnd: { index: number; offset: number } | undefined;
  for await (const item of stream.items) {
    const offset = out.offset;
    if (typeof item !== "object" || item === null || typeof item.type !== "string") {
      throw badValue(offset, `libxl items[${index}] must be a record or part object with a string type, got ${describeValue(item)}`, "libxl");
    }
    const fail = (message: string): never => {
      throw badValue(offset, `libxl items[${index}] (${item.type}): ${message}`, "libxl");
    };
    // Reported after the item-order rules, as encodeLibxlStream does.
    if (lastType === "END" && earlyEnd === undefined) earlyEnd = { index: index - 1, offset: previousOffset };
    if (emptyResume !== undefined) {
      throw badValue(emptyResume.offset, `libxl items[${emptyResume.index}] (LIBXC_RESUME): the records must end with END (or CHECKPOINT in a checkpointed stream), got no records`, "libxl");
    }
    lastType = item.type;
    previousOffset = offset;
    if (item.type === "LIBXC_STREAM") {
      if (context === undefined) fail("a LIBXC_STREAM part must directly follow LIBXC_CONTEXT");
      context = undefined;
      encoder = yield* writeLibxc(out, item.stream, `libxl items[${index}] (LIBXC_STREAM)`);
    } else if (item.type === "LIBXC_RESUME") {
      if (context !== undefined) throw contextFailure();
      if (encoder === undefined) return fail("a LIBXC_RESUME part needs an earlier LIBXC_STREAM");
      const what = `libxl items[${index}] (LIBXC_RESUME)`;
      const sized = yield* writeLibxcRecords(out, encoder, item.records, what);
      // A checkpointed stream may stop where libxc has resumed and read nothing.
      if (sized.count === 0) emptyResume = { index, offset };
      else checkLastRecord(sized, offset, what);
    } else {
      if (context !== undefined) throw contextFailure();
      out.libxlRecord(item, littleEndian);
      if (item.type === "LIBXC_CONTEXT") context = { index, offset };
      yield* out.take();
    }
    index += 1;
  }
  if (context !== undefined) throw contextFailure();
  if (earlyEnd !== undefined) {
    throw badValue(earlyEnd.offset, `libxl items[${earlyEnd.index}] (END): END must be the last item, not items[${earlyEnd.index}] of ${index}`, "libxl");
  }
  if (lastType !== "END" && lastType !== "CHECKPOINT_END" && lastType !== "CHECKPOINT_STATE" && lastType !== "LIBXC_RESUME") {
    throw badValue(out.offset, `libxl items must end with END (or CHECKPOINT_END in a checkpointed stream), got ${lastType === undefined ? "no items" : `${lastType} last`}`, "libxl");
  }
}

/**
 * Encodes a save file as chunks: the xl header or the container's part
 * before the stream (libvirt's header and XML; xenopsd's signature and its
 * chunks up to the stream's, the Xenops record among them), the libxl or
 * libxc stream (or a legacy stream's bytes), then the container's part
 * after it (xenopsd's later chunks and End_of_image, with their length
 * fields as the value has them). Concatenated, the chunks are exactly
 * `encodeSaveFile` of the same file.
 *
 * @param file - the file; its records and items may be async iterables
 * @param options - `chunkSize`, `reuseBuffer`, `signal`
 * @returns an async iterator of byte chunks
 * @throws {@link index!XenStreamError} BAD_VALUE (also a container that
 * does not fit the stream, an xl header beside a container), BAD_PADDING
 *
 * @example
 * ```ts
 * import { encodeSaveFileChunks } from "xen-migration-stream/io";
 * import { writeToFile } from "xen-migration-stream/io/node";
 * await writeToFile(encodeSaveFileChunks(file, { reuseBuffer: true }), "copy.save");
 * ```
 */
export async function* encodeSaveFileChunks(
  file: StreamingSaveFile,
  options: ChunkEncodeOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  checkObject(file, "encodeSaveFileChunks: file");
  const out = new ChunkWriter(options);
  // The same rules, in the same order, as encodeSaveFile.
  checkContainer(file);
  if (file.format === "legacy") {
    out.containerBefore(file.container);
    yield* out.take();
    out.raw(file.bytes);
    yield* out.take();
    out.containerAfter(file.container);
    yield* out.finish();
    return;
  }
  if (file.xl !== undefined) xlHeaderSize(file.xl); // checks the header's types first (BAD_VALUE)
  if (file.xl !== undefined && isStreamV2(file.xl) !== (file.format === "libxl")) {
    throw badValue(36, "xl header: the STREAMv2 flag must be set exactly when a libxl stream follows", "xl");
  }
  if (file.xl !== undefined) {
    out.xlHeader(file.xl);
    yield* out.take();
  }
  out.containerBefore(file.container);
  yield* out.take();
  if (file.format === "libxl") yield* writeLibxl(out, file.stream);
  else yield* writeLibxc(out, file.stream);
  out.containerAfter(file.container);
  yield* out.finish();
}

/**
 * Encodes decoder events back into bytes, as chunks: the inverse of the
 * async decoders, so `encodeEventChunks(decodeSaveFileAsync(source))` is a
 * streaming pipe that reproduces the input byte for byte (the decoders are
 * lossless). Accepts the events of any of the three decoders, from any
 * source (a decoder, a filter over one, events built by hand). The event
 * offsets are not used.
 *
 * @param events - events in stream order
 * @param options - `chunkSize`, `reuseBuffer`, `signal`
 * @returns an async iterator of byte chunks
 * @throws {@link index!XenStreamError} BAD_VALUE for a value that cannot be
 * encoded or a libxc record before both libxc headers, BAD_PADDING
 *
 * @example
 * ```ts
 * import { decodeSaveFileAsync, encodeEventChunks } from "xen-migration-stream/io";
 * import { fileSource, writeToFile } from "xen-migration-stream/io/node";
 * await writeToFile(encodeEventChunks(decodeSaveFileAsync(fileSource("in.save"))), "out.save");
 * ```
 */
export async function* encodeEventChunks(
  events: RecordSource<SaveFileEvent | LibxlEvent | LibxcEvent>,
  options: ChunkEncodeOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  const out = new ChunkWriter(options);
  let libxlLittleEndian = true;
  let imageHeader: ImageHeader | undefined;
  let encoder: LibxcEncoder | undefined;
  checkIterable(events, 0, "encodeEventChunks: events", "libxc");
  for await (const event of events) {
    if (typeof event !== "object" || event === null) throw badValue(out.offset, `encodeEventChunks: an event must be an object, got ${describeValue(event)}`, "libxc");
    switch (event.layer) {
      case "xl":
        out.xlHeader(event.header);
        break;
      case "libvirt":
      case "xenopsd":
      case "legacy":
        out.raw(encodeContainerEvent(event));
        break;
      case "libxl":
        if (event.kind === "header") {
          libxlLittleEndian = !isBigEndianLibxl(event.header);
          out.libxlHeader(event.header);
        } else {
          out.libxlRecord(event.record, libxlLittleEndian);
        }
        break;
      case "libxc":
        if (event.kind === "imageHeader") {
          imageHeader = event.header; // written with the domain header, which fixes the page size
          encoder = undefined;
        } else if (event.kind === "domainHeader") {
          if (imageHeader === undefined) {
            throw badValue(out.offset, "libxc domain header event without an image header event before it", "libxc");
          }
          encoder = new LibxcEncoder(imageHeader, event.header);
          imageHeader = undefined;
          out.libxcHeaders(encoder);
        } else {
          if (encoder === undefined) {
            throw badValue(out.offset, `libxc record event (${event.record.type}) before the libxc image and domain headers`, "libxc");
          }
          out.libxcRecord(encoder, event.record);
        }
        break;
    }
    yield* out.take();
  }
  if (imageHeader !== undefined) {
    throw badValue(out.offset, "libxc image header event without a domain header event after it", "libxc");
  }
  yield* out.finish();
}
