/**
 * Legacy (Xen <= 4.5) to migration v2 conversion: the {@link LegacyReader}
 * produces v2 values, the ordinary v2 encoders write them (libxc
 * `LibxcEncoder`, libxl `encodeLibxlHeader`/`encodeLibxlRecord`, xl
 * `encodeXlHeader`). For every input Xen's convert-legacy-stream converts,
 * the output is byte-identical to its output (legacy-stream.md §12.2);
 * where the reference breaks, see reader.ts.
 *
 * @module
 */
import { concatBytes } from "../wire/bytes.js";
import { checkSourceOptions, sourceChunks, throwIfAborted, type AbortSignalLike, type ByteSource } from "../io/source.js";
import type { XenStreamError } from "../errors.js";
import { LibxcEncoder } from "../libxc/stream.js";
import type { ImageHeader } from "../libxc/types.js";
import { encodeLibxlHeader } from "../libxl/header.js";
import { encodeLibxlRecord } from "../libxl/stream.js";
import { encodeXlHeader } from "../xl/header.js";
import { CodecTable } from "../wire/record.js";
import { Writer } from "../wire/writer.js";
import type { InternalLegacyOptions } from "./parser.js";
import { LegacyReader } from "./reader.js";
import type { LegacyEvent, LegacyLayout, LegacyOptions, LegacyOutputFormat } from "./types.js";
import { checkBytes, checkOptions } from "../wire/args.js";

/** Parts at least this long go out as they are; shorter ones are merged. */
const COALESCE_LIMIT = 64 * 1024;

/**
 * Incremental converter: push legacy bytes, get v2 output bytes. The output
 * chunks are new buffers or views of the pushed chunks (page data, QEMU
 * data), so pushed chunks must not be modified afterwards.
 *
 * @example
 * ```ts
 * import { LegacyConverter } from "xen-migration-stream";
 * const converter = new LegacyConverter({ width: 64, guest: "pv" });
 * for (const chunk of input) for (const out of converter.push(chunk)) write(out);
 * for (const out of converter.end()) write(out);
 * ```
 */
export class LegacyConverter {
  /** The reader doing the parsing (layout, trailing bytes, offsets). */
  readonly reader: LegacyReader;
  private imageHeader: ImageHeader | undefined = undefined;
  private encoder: LibxcEncoder | undefined = undefined;
  private out: Uint8Array[] = [];
  private small: Uint8Array[] = [];
  private smallSize = 0;
  private written = 0;
  private readonly visit: (event: LegacyEvent) => void;

  /**
   * @param options - width, guest, output format and limits
   * @throws {@link XenStreamError} USAGE for invalid options
   */
  constructor(options: LegacyOptions = {}) {
    // Each event is encoded as it is made (pushEach): the reader then
    // reuses its PAGE_DATA entry objects from batch to batch.
    const internal: InternalLegacyOptions = { ...checkOptions(options, "LegacyConverter: options"), reuseEntries: true };
    this.reader = new LegacyReader(internal);
    this.visit = (event) => this.encodeEvent(event);
  }

  /**
   * Input bytes the converter needs before it can make progress (the
   * reader's `bytesWanted`: a whole page batch, a context...); 0 once the
   * legacy stream has ended. Push exactly this many and every item is a
   * view of the pushed chunk, never assembled.
   */
  get bytesWanted(): number {
    return this.reader.bytesWanted;
  }

  /** Pushed bytes the converter still holds (the reader's `bytesHeld`). */
  get bytesHeld(): number {
    return this.reader.bytesHeld;
  }

  /** The layout, once given or detected. */
  get layout(): LegacyLayout | undefined {
    return this.reader.layout;
  }

  /** True once the whole legacy stream was converted. */
  get done(): boolean {
    return this.reader.done;
  }

  /** Bytes received after the end of the legacy stream (not converted). */
  get trailingBytes(): number {
    return this.reader.trailingBytes;
  }

  /** Output bytes produced so far. */
  get outputLength(): number {
    return this.written;
  }

  /**
   * Converts the bytes of one more input chunk.
   *
   * @param chunk - the next input bytes
   * @returns output chunks, in order (possibly none)
   * @throws {@link XenStreamError} on malformed input
   */
  push(chunk: Uint8Array): Uint8Array[] {
    this.reader.pushEach(chunk, this.visit);
    return this.output();
  }

  /**
   * Declares the input complete.
   *
   * @returns the last output chunks
   * @throws {@link XenStreamError} TRUNCATED when the legacy stream is incomplete
   */
  end(): Uint8Array[] {
    this.reader.endEach(this.visit);
    return this.output();
  }

  /** The output of the events encoded since the last call. */
  private output(): Uint8Array[] {
    this.flushSmall();
    const out = this.out;
    this.out = [];
    return out;
  }

  private emit(part: Uint8Array): void {
    if (part.length === 0) return;
    this.written += part.length;
    if (part.length >= COALESCE_LIMIT) {
      this.flushSmall();
      this.out.push(part);
      return;
    }
    this.small.push(part);
    this.smallSize += part.length;
    if (this.smallSize >= COALESCE_LIMIT) this.flushSmall();
  }

  private flushSmall(): void {
    if (this.small.length === 0) return;
    if (this.small.length === 1) {
      this.out.push(this.small[0] as Uint8Array);
    } else {
      const merged = new Uint8Array(this.smallSize);
      let pos = 0;
      for (const part of this.small) {
        merged.set(part, pos);
        pos += part.length;
      }
      this.out.push(merged);
    }
    this.small = [];
    this.smallSize = 0;
  }

  private encodeEvent(event: LegacyEvent): void {
    switch (event.layer) {
      case "xl":
        this.emit(encodeXlHeader(event.header));
        return;
      case "libxl":
        this.emit(event.kind === "header" ? encodeLibxlHeader(event.header) : encodeLibxlRecord(event.record));
        return;
      case "libxc":
        if (event.kind === "imageHeader") {
          this.imageHeader = event.header;
        } else if (event.kind === "domainHeader") {
          if (this.imageHeader === undefined) throw new Error("legacy converter: domain header before image header");
          this.encoder = new LibxcEncoder(this.imageHeader, event.header);
          this.emit(this.encoder.headers());
        } else {
          const encoder = this.encoder;
          if (encoder === undefined) throw new Error("legacy converter: record before the libxc headers");
          // The reader sized the record (bodyLength): written once, here.
          const { record, bodyLength } = event;
          const size = CodecTable.frameSize(bodyLength);
          if (record.type === "PAGE_DATA") {
            // The pages go out as the reader's view of the input: the
            // writer borrows them instead of copying 4 MiB per batch.
            const writer = new Writer(size - record.pages.length, encoder.littleEndian, this.written);
            writer.borrow(record.pages);
            encoder.writeRecord(writer, record, bodyLength);
            for (const part of writer.parts()) this.emit(part);
          } else {
            const writer = new Writer(size, encoder.littleEndian, this.written);
            encoder.writeRecord(writer, record, bodyLength);
            this.emit(writer.bytes);
          }
        }
        return;
      case "legacy":
        if (event.kind === "passthrough") this.emit(event.bytes);
        return;
    }
  }
}


/**
 * Converts a whole legacy stream to a v2 stream, as Xen's
 * convert-legacy-stream does (same options; width and guest may be
 * "auto").
 *
 * @param bytes - the legacy stream (with its xl header when `xl` is set)
 * @param options - width, guest, output format, xl header, skip QEMU
 * @returns the v2 stream: a libxc v3 stream, or a libxl v2 stream; with the
 * xl header in front when `xl` is set
 * @throws {@link XenStreamError} (layer "legacy", absolute input offset)
 * TRUNCATED, BAD_MAGIC, BAD_FIELD, BAD_LENGTH, BAD_PAGE_TYPE, BAD_VERSION,
 * RECORD_TOO_LARGE, UNKNOWN_RECORD, UNEXPECTED_RECORD, UNSUPPORTED,
 * TRAILING_DATA (with `trailingData: "error"`), USAGE
 *
 * @example
 * ```ts
 * import { convertLegacy, decodeLibxcStream } from "xen-migration-stream";
 * const v2 = convertLegacy(legacyBytes, { width: 64, guest: "pv" });
 * decodeLibxcStream(v2).domainHeader; //=> { type: 1, pageShift: 12, reserved: 0, xenMajor: 0, xenMinor: 1 }
 * ```
 */
export function convertLegacy(bytes: Uint8Array, options: LegacyOptions = {}): Uint8Array {
  checkBytes(bytes, "convertLegacy: bytes");
  checkOptions(options, "convertLegacy: options");
  const converter = new LegacyConverter(options);
  const parts = converter.push(bytes);
  parts.push(...converter.end());
  return concatBytes(parts.length === 0 ? [new Uint8Array(0)] : parts);
}

/**
 * The converter of a legacy stream found in a container, for what it
 * converts to (`convertsTo` of its payload events): libvirt's version 1
 * image holds a libxl stream, converted whole with its QEMU record, as
 * libxl does; xenopsd's Libxc_legacy chunk and legacy layout hold a libxc
 * stream that ends with the HVM tail (skipQemu): the QEMU record xenopsd
 * keeps after it is not part of the stream (`trailingBytes` counts it).
 *
 * @param convertsTo - "libxl" or "libxc"
 * @param maxRecordLength - the decoder's limit, when one was given
 * @returns a converter for the payload's bytes
 * @internal
 */
export function containerLegacyConverter(convertsTo: LegacyOutputFormat, maxRecordLength?: number): LegacyConverter {
  return new LegacyConverter({ format: convertsTo, skipQemu: convertsTo === "libxc", ...(maxRecordLength === undefined ? {} : { maxRecordLength }) });
}

/** Options of {@link convertLegacyStream}: the conversion's, and the source's. */
export interface LegacyStreamOptions extends LegacyOptions {
  /**
   * Abandons the conversion when it aborts: the pending read is not waited
   * for, the source is cancelled, and the generator rejects with
   * `signal.reason` (the contract of every async entry point: see
   * `ByteSource` in `xen-migration-stream/io`).
   */
  signal?: AbortSignalLike;
  /**
   * ReadIntoSource only (`fileSource()`, `readIntoSource()`): the size of
   * each buffer read into, in 1..2^30. Buffers are filled once and never
   * reused, since the output chunks are views of them.
   * @defaultValue 1048576 (1 MiB)
   */
  bufferSize?: number;
}

/**
 * Converts a legacy stream read from any byte source (the source contract
 * of every async entry point: see `ByteSource` in
 * `xen-migration-stream/io`), yielding output chunks as they are ready.
 * Memory is bounded by one page batch plus the `maxRecordLength` items
 * (see {@link LegacyReader}).
 *
 * When the legacy stream ends before the input (and `trailingData` is
 * "ignore"), the source is not read further and its iterator is closed, as
 * convert-legacy-stream stops reading there (on a migration socket the
 * bytes after the stream belong to someone else).
 *
 * @param source - the input: a Uint8Array, (async) iterable of Uint8Array
 * chunks, ReadableStream or ReadIntoSource; chunks must not be modified
 * once yielded
 * @param options - as {@link convertLegacy}, plus `signal` and `bufferSize`
 * @returns an async generator of output chunks (views of input chunks or new buffers)
 * @throws {@link XenStreamError} USAGE for invalid options (at the call);
 * from the generator: as {@link convertLegacy}, after the chunks before
 * the fault have been yielded — a consumer must treat the output as
 * invalid when the generator throws; USAGE for a source that is none or a
 * chunk that is not a Uint8Array; `signal.reason` when aborted
 *
 * @example
 * ```ts
 * import { convertLegacyStream } from "xen-migration-stream";
 * for await (const chunk of convertLegacyStream(fileChunks, { format: "libxl" })) out.write(chunk);
 * ```
 */
export function convertLegacyStream(source: ByteSource, options?: LegacyStreamOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const checked = checkSourceOptions(options, "convertLegacyStream");
  return convertChunks(source, new LegacyConverter(checked), checked);
}

async function* convertChunks(source: ByteSource, converter: LegacyConverter, options: LegacyStreamOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const drain = options.trailingData === "error";
  for await (const chunk of sourceChunks(source, options, "convertLegacyStream source")) {
    for (const part of converter.push(chunk)) yield part;
    // Leaving the loop closes the source.
    if (converter.done && !drain) break;
  }
  throwIfAborted(options.signal);
  for (const part of converter.end()) yield part;
}
