/**
 * Whole save files: detect the xl header, a libxl stream or a bare libxc
 * stream from the first bytes and decode every layer with one event
 * sequence.
 *
 * @module
 */
import { XenStreamError } from "./errors.js";
import { RECORD_HEADER_SIZE } from "./wire/frame.js";
import { PushDecoder, type Parser } from "./wire/push.js";
import type { ByteQueue } from "./wire/queue.js";
import { Writer } from "./wire/writer.js";
import { LibxcParser, recordLayerOptions, type DecoderOptions, type LibxcParserOptions } from "./libxc/decoder.js";
import { libxcStreamFromEvents, planLibxcStream, writeLibxcStream } from "./libxc/stream.js";
import type { LibxcStream } from "./libxc/types.js";
import { LIBXL_IDENT_BYTES } from "./libxl/constants.js";
import { LibxlParser, type LibxlEvent } from "./libxl/decoder.js";
import { libxlStreamFromEvents, planLibxlStream, writeLibxlStream } from "./libxl/stream.js";
import { isBigEndianLibxl } from "./libxl/header.js";
import type { LibxlStream } from "./libxl/types.js";
import { XL_HEADER_SIZE, XL_MAGIC } from "./xl/constants.js";
import { decodeXlHeader, isStreamV2, readXlFixedHeader, writeXlHeader, xlHeaderSize, type XlHeader } from "./xl/header.js";

/** What the first bytes of a file are. */
export type StreamFormat = "xl" | "libxl" | "libxc" | "legacy";

/** The format a decoder should expect: one of them, or detect it. */
export type FormatOption = "auto" | "xl" | "libxl" | "libxc";

const DETECT_SIZE = RECORD_HEADER_SIZE;

function startsWith(bytes: Uint8Array, prefix: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * Tells the format of a stream from its first 8 bytes: "Xen save" (xl
 * header), "LibxlFmt" (libxl), eight 0xFF bytes (libxc image marker), or
 * anything else, which is a legacy (Xen <= 4.5) stream: it starts with
 * p2m_size and can never start with eight 0xFF bytes.
 *
 * @param bytes - the first bytes of the stream (at least 8)
 * @returns the format, or undefined when fewer than 8 bytes were given
 */
export function detectFormat(bytes: Uint8Array): StreamFormat | undefined {
  if (bytes.length < DETECT_SIZE) return undefined;
  if (startsWith(bytes, XL_MAGIC, DETECT_SIZE)) return "xl";
  if (startsWith(bytes, LIBXL_IDENT_BYTES, DETECT_SIZE)) return "libxl";
  if (bytes.subarray(0, DETECT_SIZE).every((byte) => byte === 0xff)) return "libxc";
  return "legacy";
}

/** The xl header, as an event. */
export interface XlHeaderEvent {
  layer: "xl";
  kind: "header";
  /** Absolute offset of the header (0 unless the decoder was given a start offset). */
  offset: number;
  header: XlHeader;
  /** Bytes the header and its optional data occupy. */
  size: number;
}

/** Every event a save-file decoder emits. */
export type SaveFileEvent = XlHeaderEvent | LibxlEvent;

/** Options of the save-file decoder. */
export interface SaveFileDecoderOptions extends DecoderOptions {
  /**
   * The format to expect, or "auto" to detect it from the first bytes.
   * @defaultValue "auto"
   */
  format?: FormatOption;
}

type Inner = LibxlParser | LibxcParser;

function legacyError(offset: number): XenStreamError {
  return new XenStreamError(
    "UNSUPPORTED",
    offset,
    "this is a legacy (Xen <= 4.5) stream, not migration v2; convert it to v2 first",
    { layer: "legacy" },
  );
}

/** @internal */
class SaveFileParser implements Parser<SaveFileEvent> {
  private state: "detect" | "xl" | "body" | "inner" = "detect";
  private inner: Inner | undefined;
  private readonly options: LibxcParserOptions;
  private readonly format: FormatOption;

  constructor(options: SaveFileDecoderOptions) {
    this.options = recordLayerOptions(options);
    this.format = options.format ?? "auto";
  }

  get ended(): boolean {
    return this.inner?.ended ?? false;
  }

  get complete(): boolean {
    return this.inner?.complete ?? false;
  }

  private start(format: "libxl" | "libxc"): void {
    this.inner = format === "libxl" ? new LibxlParser(this.options) : new LibxcParser(this.options);
    this.state = "inner";
  }

  next(queue: ByteQueue): SaveFileEvent | null {
    switch (this.state) {
      case "detect": {
        if (this.format !== "auto") {
          if (this.format === "xl") this.state = "xl";
          else this.start(this.format);
          return this.next(queue);
        }
        if (!queue.has(DETECT_SIZE)) return null;
        const format = detectFormat(queue.peek(DETECT_SIZE));
        if (format === "legacy") throw legacyError(queue.offset);
        if (format === "xl") this.state = "xl";
        else this.start(format as "libxl" | "libxc");
        return this.next(queue);
      }
      case "xl": {
        if (!queue.has(XL_HEADER_SIZE)) return null;
        const offset = queue.offset;
        const { optionalDataLength } = readXlFixedHeader(queue.peek(XL_HEADER_SIZE), offset);
        if (optionalDataLength > this.options.maxRecordLength) {
          throw new XenStreamError(
            "RECORD_TOO_LARGE",
            offset + 44,
            `xl header: optional_data_len ${optionalDataLength} exceeds the maximum ${this.options.maxRecordLength}`,
            { layer: "xl" },
          );
        }
        if (!queue.has(XL_HEADER_SIZE + optionalDataLength)) return null;
        const { header, size } = decodeXlHeader(queue.peek(XL_HEADER_SIZE + optionalDataLength), offset);
        queue.skip(size);
        if (isStreamV2(header)) this.start("libxl");
        else this.state = "body";
        return { layer: "xl", kind: "header", offset, header, size };
      }
      case "body": {
        // No STREAMv2 flag: xl would run the legacy converter. A bare libxc
        // stream here is what verify-stream-v2 -f xl accepts; read that.
        if (!queue.has(DETECT_SIZE)) return null;
        if (detectFormat(queue.peek(DETECT_SIZE)) !== "libxc") throw legacyError(queue.offset);
        this.start("libxc");
        return this.next(queue);
      }
      case "inner":
        return (this.inner as Inner).next(queue);
    }
  }

  needed(queue: ByteQueue): number {
    switch (this.state) {
      case "detect":
      case "body":
        return Math.max(0, DETECT_SIZE - queue.available);
      case "xl": {
        if (!queue.has(XL_HEADER_SIZE)) return XL_HEADER_SIZE - queue.available;
        const { optionalDataLength } = readXlFixedHeader(queue.peek(XL_HEADER_SIZE), queue.offset);
        return Math.max(0, XL_HEADER_SIZE + optionalDataLength - queue.available);
      }
      case "inner":
        return (this.inner as Inner).needed(queue);
    }
  }

  truncated(received: number): XenStreamError {
    if (this.inner !== undefined) return this.inner.truncated(received);
    const where = this.state === "xl" ? "in the xl header" : "before the stream's first header";
    return new XenStreamError("TRUNCATED", received, `save file truncated ${where}`, this.state === "xl" ? { layer: "xl" } : {});
  }
}

/**
 * Incremental decoder for any v2 save file or stream: an xl save file
 * (header + libxl stream, or header + bare libxc stream when the STREAMv2
 * flag is absent), a libxl stream, or a libxc stream. One event sequence
 * for every layer; each event names its layer and absolute offset.
 */
export class SaveFileDecoder extends PushDecoder<SaveFileEvent, SaveFileParser> {
  /**
   * Creates a decoder that expects the stream's first byte next.
   *
   * @param options - format, limits and tolerance
   * @param startOffset - absolute offset of the first byte pushed (default 0)
   */
  constructor(options: SaveFileDecoderOptions = {}, startOffset = 0) {
    super(new SaveFileParser(options), startOffset);
  }
}

/** A decoded save file whose main stream is libxl. */
export interface LibxlSaveFile {
  format: "libxl";
  /** The xl header, when the file has one. */
  xl?: XlHeader;
  stream: LibxlStream;
}

/** A decoded save file whose main stream is a bare libxc stream. */
export interface LibxcSaveFile {
  format: "libxc";
  /** The xl header, when the file has one (without the STREAMv2 flag). */
  xl?: XlHeader;
  stream: LibxcStream;
}

/** A decoded save file or stream. */
export type SaveFile = LibxlSaveFile | LibxcSaveFile;

/**
 * Decodes a whole save file or stream, detecting its format (see
 * {@link detectFormat}).
 *
 * @param bytes - the complete file
 * @param options - format, limits and tolerance
 * @returns the decoded file
 * @throws {@link XenStreamError} as the layer decoders, plus UNSUPPORTED for
 * a legacy stream
 *
 * @example
 * ```ts
 * import { decodeSaveFile } from "xen-migration-stream";
 * const file = decodeSaveFile(bytes);
 * file.format; //=> "libxl"
 * file.xl?.mandatoryFlags; //=> 3
 * ```
 */
export function decodeSaveFile(bytes: Uint8Array, options: SaveFileDecoderOptions = {}): SaveFile {
  const decoder = new SaveFileDecoder(options);
  const events = decoder.push(bytes);
  decoder.end();
  let xl: XlHeader | undefined;
  const rest: LibxlEvent[] = [];
  for (const event of events) {
    if (event.layer === "xl") xl = event.header;
    else rest.push(event);
  }
  const head = xl === undefined ? {} : { xl };
  if (rest[0]?.layer === "libxl") return { format: "libxl", ...head, stream: libxlStreamFromEvents(rest) };
  return { format: "libxc", ...head, stream: libxcStreamFromEvents(rest as Parameters<typeof libxcStreamFromEvents>[0]) };
}

/**
 * Encodes a save file (xl header if present, then the stream) in one
 * allocation. `encodeSaveFile(decodeSaveFile(b))` returns `b`.
 *
 * @param file - the file
 * @returns the bytes
 * @throws {@link XenStreamError} BAD_VALUE, BAD_PADDING
 */
export function encodeSaveFile(file: SaveFile): Uint8Array {
  const head = file.xl === undefined ? 0 : xlHeaderSize(file.xl);
  if (file.xl !== undefined && isStreamV2(file.xl) !== (file.format === "libxl")) {
    throw new XenStreamError("BAD_VALUE", 36, "xl header: the STREAMv2 flag must be set exactly when a libxl stream follows", {
      layer: "xl",
    });
  }
  let writer: Writer;
  if (file.format === "libxl") {
    const { plan, size } = planLibxlStream(file.stream, head);
    writer = new Writer(head + size, !isBigEndianLibxl(file.stream.header));
    if (file.xl !== undefined) writeXlHeader(writer, file.xl);
    writeLibxlStream(writer, file.stream.header, plan);
  } else {
    const plan = planLibxcStream(file.stream, head);
    writer = new Writer(head + plan.size, plan.encoder.littleEndian);
    if (file.xl !== undefined) writeXlHeader(writer, file.xl);
    writeLibxcStream(writer, plan);
  }
  return writer.bytes;
}
