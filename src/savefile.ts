/**
 * Whole save files: detect the container (xl header, libvirt's libxl-driver
 * header, a XAPI/xenopsd suspend image) or a bare libxl or libxc stream
 * from the first bytes and decode every layer with one event sequence.
 *
 * Containers (see guides/container-libvirt.md and guides/container-xapi.md):
 *
 * ```
 * xl       "Xen saved domain, xl format\n \0 \r" header + libxl stream (| bare libxc)
 * libvirt  "libvirt-xml\n \0 \r" header + XML + libxl v2 stream (version 2)
 *                                             | legacy stream (version 1)
 * xenopsd  "XenSavedDomv2-\n" + chunks {type u64, length u64}: Xenops record,
 *          Libxc (+ libxc stream), Libxl (+ libxl stream), Libxc_legacy
 *          (+ legacy stream), blobs (Qemu_trad, Varstored, Swtpm...), End_of_image
 *          "XenSavedDomain\n" + legacy libxc stream [+ "QemuDeviceModelRecord\n" + u32 BE + data]
 * ```
 *
 * A legacy (Xen <= 4.5) stream inside a container is delimited with the
 * legacy reader and handed out as `legacy`/`payload` events holding its
 * bytes as found (convert them with {@link convertLegacy} for v2 events).
 *
 * @module
 */
import { XenStreamError } from "./errors.js";
import { concatBytes } from "./wire/bytes.js";
import { RECORD_HEADER_SIZE } from "./wire/frame.js";
import { PushDecoder, type Parser } from "./wire/push.js";
import type { ByteQueue } from "./wire/queue.js";
import { Writer } from "./wire/writer.js";
import { LibxcParser, recordLayerOptions, type DecoderOptions, type InternalDecoderOptions, type LibxcParserOptions } from "./libxc/decoder.js";
import { libxcStreamFromEvents, planLibxcStream, writeLibxcStream } from "./libxc/stream.js";
import type { LibxcStream } from "./libxc/types.js";
import { LIBXL_IDENT_BYTES } from "./libxl/constants.js";
import { LibxlParser, type LibxlEvent } from "./libxl/decoder.js";
import { libxlStreamFromEvents, planLibxlStream, writeLibxlStream } from "./libxl/stream.js";
import { isBigEndianLibxl } from "./libxl/header.js";
import type { LibxlStream } from "./libxl/types.js";
import { XL_HEADER_SIZE, XL_MAGIC } from "./xl/constants.js";
import { decodeXlHeader, isStreamV2, readXlFixedHeader, writeXlHeader, xlHeaderSize, type XlHeader } from "./xl/header.js";
import { LEGACY_DETECT_WINDOW, detectLegacyLayout } from "./legacy/detect.js";
import { containerLegacyConverter, type LegacyConverter } from "./legacy/convert.js";
import { LegacyReader } from "./legacy/reader.js";
import type { LegacyOutputFormat } from "./legacy/types.js";
import { LIBVIRT_HEADER_SIZE, LIBVIRT_MAGIC } from "./libvirt/constants.js";
import {
  decodeLibvirtHeader,
  isLegacyLibvirt,
  libvirtHeaderSize,
  readLibvirtFixedHeader,
  writeLibvirtHeader,
  type LibvirtHeader,
} from "./libvirt/header.js";
import { XENOPSD_CHUNK_HEADER_SIZE, XENOPSD_LEGACY_QEMU_HEADER_SIZE, XENOPSD_SIGNATURE_SIZE } from "./xenopsd/constants.js";
import {
  LEGACY_SIGNATURE_BYTES,
  SIGNATURE_BYTES,
  decodeXenopsdChunkHeader,
  decodeXenopsdLegacyQemuHeader,
  decodeXenopsdSignature,
  writeXenopsdChunk,
  writeXenopsdLegacyQemu,
  xenopsdChunkSize,
  type XenopsdChunk,
  type XenopsdLayout,
  type XenopsdLegacyQemu,
} from "./xenopsd/chunk.js";
import { decodeXenopsRecord, type XenopsRecord } from "./xenopsd/record.js";
import { checkBytes, checkObject, checkOptions } from "./wire/args.js";


/** Visitor for events the save-file parser only counts. */
function ignoreEvent(): void {}

/** What the first bytes of a file are. */
export type StreamFormat = "xl" | "libxl" | "libxc" | "legacy" | "libvirt" | "xenopsd";

/** The format a decoder should expect: one of them, or detect it. */
export type FormatOption = "auto" | "xl" | "libxl" | "libxc" | "libvirt" | "xenopsd";

const DETECT_SIZE = RECORD_HEADER_SIZE;

function startsWith(bytes: Uint8Array, prefix: Uint8Array, length: number): boolean {
  for (let i = 0; i < length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/**
 * Tells the format of a stream from its first 8 bytes: "Xen save" (xl
 * header), "libvirt-" (libvirt's libxl-driver header), "XenSaved" (a
 * xenopsd suspend image, either signature), "LibxlFmt" (libxl), eight 0xFF
 * bytes (libxc image marker), or anything else, which is a legacy (Xen <=
 * 4.5) stream: it starts with p2m_size and can never start with eight 0xFF
 * bytes.
 *
 * @param bytes - the first bytes of the stream (at least 8)
 * @returns the format, or undefined when fewer than 8 bytes were given
 */
export function detectFormat(bytes: Uint8Array): StreamFormat | undefined {
  checkBytes(bytes, "detectFormat: bytes");
  if (bytes.length < DETECT_SIZE) return undefined;
  if (startsWith(bytes, XL_MAGIC, DETECT_SIZE)) return "xl";
  if (startsWith(bytes, LIBVIRT_MAGIC, DETECT_SIZE)) return "libvirt";
  if (startsWith(bytes, SIGNATURE_BYTES, DETECT_SIZE)) return "xenopsd";
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

/** The libvirt save-image header and XML, as an event. */
export interface LibvirtHeaderEvent {
  layer: "libvirt";
  kind: "header";
  /** Absolute offset of the header. */
  offset: number;
  header: LibvirtHeader;
  /** Bytes the header and its XML occupy (64 + xmlLen). */
  size: number;
  /**
   * What follows, as read: "libxl" (a v2 stream), or "legacy". Version 1
   * announces a legacy stream; a libxl v2 stream found after a version 1
   * header is decoded as v2 all the same (the verifier reports the
   * disagreement).
   */
  stream: "libxl" | "legacy";
}

/** The 15-byte signature of a xenopsd suspend image, as an event. */
export interface XenopsdSignatureEvent {
  layer: "xenopsd";
  kind: "signature";
  /** Absolute offset of the signature. */
  offset: number;
  /** "structured" ("XenSavedDomv2-\n") or "legacy" ("XenSavedDomain\n"). */
  layout: XenopsdLayout;
}

/** One chunk of a structured xenopsd image, as an event. */
export interface XenopsdChunkEvent {
  layer: "xenopsd";
  kind: "chunk";
  /** Absolute offset of the chunk header. */
  offset: number;
  /** Index of the chunk in the image (0 = the first after the signature). */
  index: number;
  chunk: XenopsdChunk;
  /** For a Xenops chunk: its record, when it parses. */
  record?: XenopsRecord;
  /** For a Xenops chunk whose body does not parse: why (xenopsd's restore would fail). */
  recordError?: XenStreamError;
}

/** The legacy layout's QEMU record (after the libxc stream of an HVM guest), as an event. */
export interface XenopsdLegacyQemuEvent {
  layer: "xenopsd";
  kind: "legacyQemu";
  /** Absolute offset of the "QemuDeviceModelRecord\n" signature. */
  offset: number;
  qemu: XenopsdLegacyQemu;
}

/**
 * Bytes of a legacy (Xen <= 4.5) stream inside a container, as found
 * (a view of input bytes); a long stream arrives as several events.
 */
export interface LegacyPayloadEvent {
  layer: "legacy";
  kind: "payload";
  /** Absolute offset of `bytes[0]`. */
  offset: number;
  bytes: Uint8Array;
  /**
   * What the legacy stream converts to: "libxl" for libvirt's (libxl wrote
   * it, toolstack and QEMU records included), "libxc" for xenopsd's.
   */
  convertsTo: LegacyOutputFormat;
}

/** Events of the containers around the streams. */
export type ContainerEvent = LibvirtHeaderEvent | XenopsdSignatureEvent | XenopsdChunkEvent | XenopsdLegacyQemuEvent | LegacyPayloadEvent;

/** Every event a save-file decoder emits. */
export type SaveFileEvent = XlHeaderEvent | ContainerEvent | LibxlEvent;

/** Options of the save-file decoder. */
export interface SaveFileDecoderOptions extends DecoderOptions {
  /**
   * The format to expect, or "auto" to detect it from the first bytes.
   * @defaultValue "auto"
   */
  format?: FormatOption;
  /**
   * Convert a legacy (Xen <= 4.5) stream found inside a container (libvirt
   * version 1, xenopsd Libxc_legacy or the legacy layout) on the fly, as
   * libxl and xenopsd do when they restore it: instead of its `legacy` /
   * `payload` events, the decoder emits the events of the v2 stream it
   * converts to (`convertsTo`). Their offsets are positions in that
   * converted stream; an error inside it is reported at the legacy
   * stream's first byte in the file, naming the converted-stream offset.
   * @defaultValue false (payload events: the bytes as they are in the file)
   */
  convertLegacy?: boolean;
}

type Inner = LibxlParser | LibxcParser;

/**
 * Whether the first 8 bytes of a stream can begin a legacy (Xen <= 4.5)
 * stream (legacy-stream.md §11): p2m_size first; octets 4-7 are 0 for a
 * 64-bit toolstack (the high half of p2m_size), and for a 32-bit one the
 * extended-info signature 0xffffffff (PV) or the first chunk id (HVM: a
 * negative chunk id -1..-20, or a page batch of 1..1024 pfns).
 *
 * @param bytes - at least the first 8 bytes of the input
 * @returns false when the bytes are no legacy stream either (no Xen stream at all)
 * @internal
 */
export function mayBeLegacy(bytes: Uint8Array): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, 8);
  const low = view.getUint32(0, true);
  const word = view.getInt32(4, true);
  if (low === 0 && word === 0) return false;
  if (word === 0) return true;
  return low !== 0 && ((word >= -20 && word <= -1) || (word >= 1 && word <= 1024));
}

function notXenError(bytes: Uint8Array, offset: number): XenStreamError {
  const shown = Array.from(bytes.subarray(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join(" ");
  return new XenStreamError(
    "BAD_MAGIC",
    offset,
    `not a Xen save image or migration stream: its first bytes (${shown}) begin none of the formats read here ` +
      '(an xl save file "Xen saved domain, xl format", libvirt "libvirt-xml", xenopsd "XenSavedDom", libxl "LibxlFmt", ' +
      "libxc (8 x 0xff, \"XENF\"), or a legacy Xen <= 4.5 stream)",
  );
}

function legacyError(offset: number): XenStreamError {
  return new XenStreamError(
    "UNSUPPORTED",
    offset,
    "this is a legacy (Xen <= 4.5) stream, not migration v2; convert it to v2 first",
    { layer: "legacy" },
  );
}

type State =
  | "detect"
  | "xl"
  | "body"
  | "inner"
  | "libvirt"
  | "signature"
  | "chunks"
  | "chunkBody"
  | "legacy"
  | "legacyQemu"
  | "done";

/** @internal */
class SaveFileParser implements Parser<SaveFileEvent> {
  private state: State = "detect";
  private inner: Inner | undefined;
  private readonly options: LibxcParserOptions;
  private readonly format: FormatOption;
  /** The container around the stream, once known. */
  private container: "xl" | "libvirt" | "xenopsd" | undefined;
  private layout: XenopsdLayout = "structured";
  private chunkIndex = 0;
  private pendingChunk: { offset: number; index: number; type: XenopsdChunk["type"]; length: bigint; bodyLength: number } | undefined;
  private legacy: LegacyReader | undefined;
  private legacyFormat: LegacyOutputFormat = "libxc";
  /**
   * Bytes at the front of the queue already pushed to the legacy reader
   * and still held by it (a step that peeks: the 8 bytes checked for a v2
   * stream, the QEMU state's magic). They stay queued here until the
   * reader consumes them: any it finds after the end of the legacy stream
   * belong to what follows the stream in the container.
   */
  private legacyFed = 0;
  private legacySkipQemu = false;
  /** Queued bytes at which the legacy layout detection looks again (it doubles: no quadratic re-scans). */
  private legacyDetectAt = 8;

  constructor(options: SaveFileDecoderOptions) {
    this.options = recordLayerOptions(options);
    this.format = options.format ?? "auto";
  }

  get ended(): boolean {
    if (this.state === "done") return true;
    if (this.container === "xenopsd") return false;
    return this.state === "inner" && (this.inner as Inner).ended;
  }

  get complete(): boolean {
    switch (this.state) {
      case "done":
        return true;
      case "inner":
        return this.container !== "xenopsd" && (this.inner as Inner).complete;
      case "legacy":
        // next(queue, true) ends the legacy reader; it only stays here by failing.
        return false;
      case "legacyQemu":
        // The legacy layout may end after its libxc stream (a PV guest).
        return true;
      default:
        return false;
    }
  }

  private start(format: "libxl" | "libxc"): void {
    this.inner = format === "libxl" ? new LibxlParser(this.options) : new LibxcParser(this.options);
    this.state = "inner";
  }

  private startLegacy(format: LegacyOutputFormat, skipQemu: boolean): void {
    this.legacyFormat = format;
    this.legacySkipQemu = skipQemu;
    this.legacy = undefined;
    this.legacyDetectAt = 8;
    this.legacyFed = 0;
    this.state = "legacy";
  }

  /** The state after a stream inside a container ended. */
  private afterStream(): void {
    if (this.container !== "xenopsd") this.state = "done";
    else this.state = this.layout === "legacy" ? "legacyQemu" : "chunks";
  }

  next(queue: ByteQueue, final = false): SaveFileEvent | null {
    switch (this.state) {
      case "detect": {
        if (this.format !== "auto") {
          if (this.format === "libxl" || this.format === "libxc") this.start(this.format);
          else this.beginContainer(this.format);
          return this.next(queue, final);
        }
        if (!queue.has(DETECT_SIZE)) return null;
        const head = queue.peek(DETECT_SIZE);
        const format = detectFormat(head);
        if (format === "legacy") throw mayBeLegacy(head) ? legacyError(queue.offset) : notXenError(head, queue.offset);
        if (format === "libxl" || format === "libxc") this.start(format);
        else this.beginContainer(format as "xl" | "libvirt" | "xenopsd");
        return this.next(queue, final);
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
        return this.next(queue, final);
      }
      case "libvirt":
        return this.libvirtHeader(queue);
      case "signature": {
        if (!queue.has(XENOPSD_SIGNATURE_SIZE)) return null;
        const offset = queue.offset;
        const layout = decodeXenopsdSignature(queue.peek(XENOPSD_SIGNATURE_SIZE), offset);
        queue.skip(XENOPSD_SIGNATURE_SIZE);
        this.layout = layout;
        if (layout === "legacy") {
          // xenopsd pipes this layout through convert-legacy-stream with
          // --skip-qemu: its own QEMU record follows the libxc stream.
          this.startLegacy("libxc", true);
        } else this.state = "chunks";
        return { layer: "xenopsd", kind: "signature", offset, layout };
      }
      case "chunks":
        return this.chunkHeader(queue);
      case "chunkBody":
        return this.chunkBody(queue);
      case "legacy":
        return this.legacyPayload(queue, final);
      case "legacyQemu": {
        if (queue.available === 0 || !queue.has(XENOPSD_LEGACY_QEMU_HEADER_SIZE)) return null;
        const offset = queue.offset;
        const length = decodeXenopsdLegacyQemuHeader(queue.peek(XENOPSD_LEGACY_QEMU_HEADER_SIZE), offset, this.options.maxRecordLength);
        if (!queue.has(XENOPSD_LEGACY_QEMU_HEADER_SIZE + length)) return null;
        queue.skip(XENOPSD_LEGACY_QEMU_HEADER_SIZE);
        const body = queue.take(length);
        this.state = "done";
        return { layer: "xenopsd", kind: "legacyQemu", offset, qemu: { body } };
      }
      case "inner": {
        const inner = this.inner as Inner;
        if (inner.ended && this.container === "xenopsd") {
          this.afterStream();
          return this.next(queue, final);
        }
        return inner.next(queue);
      }
      case "done":
        return null;
    }
  }

  private beginContainer(format: "xl" | "libvirt" | "xenopsd"): void {
    this.container = format;
    this.state = format === "xl" ? "xl" : format === "libvirt" ? "libvirt" : "signature";
  }

  private libvirtHeader(queue: ByteQueue): SaveFileEvent | null {
    if (!queue.has(LIBVIRT_HEADER_SIZE)) return null;
    const offset = queue.offset;
    const { xmlLength } = readLibvirtFixedHeader(queue.peek(LIBVIRT_HEADER_SIZE), offset);
    if (xmlLength > this.options.maxRecordLength) {
      throw new XenStreamError("RECORD_TOO_LARGE", offset + 20, `libvirt header: xmlLen ${xmlLength} exceeds the maximum ${this.options.maxRecordLength}`, {
        layer: "libvirt",
      });
    }
    const size = LIBVIRT_HEADER_SIZE + xmlLength;
    // Wait for the stream's first 8 bytes too: they tell v2 from legacy.
    if (!queue.has(size + DETECT_SIZE)) return null;
    const { header } = decodeLibvirtHeader(queue.take(size), offset);
    const v2 = detectFormat(queue.peek(DETECT_SIZE)) === "libxl";
    if (v2 || !isLegacyLibvirt(header)) this.start("libxl");
    else this.startLegacy("libxl", false);
    return { layer: "libvirt", kind: "header", offset, header, size, stream: v2 || !isLegacyLibvirt(header) ? "libxl" : "legacy" };
  }

  private chunkHeader(queue: ByteQueue): SaveFileEvent | null {
    if (!queue.has(XENOPSD_CHUNK_HEADER_SIZE)) return null;
    const offset = queue.offset;
    const { type, length, bodyLength } = decodeXenopsdChunkHeader(queue.peek(XENOPSD_CHUNK_HEADER_SIZE), offset, this.options.maxRecordLength);
    const index = this.chunkIndex;
    this.chunkIndex += 1;
    if (bodyLength > 0 || (type !== "End_of_image" && type !== "Libxc" && type !== "Libxl" && type !== "Libxc_legacy")) {
      queue.skip(XENOPSD_CHUNK_HEADER_SIZE);
      this.pendingChunk = { offset, index, type, length, bodyLength };
      this.state = "chunkBody";
      return this.chunkBody(queue);
    }
    queue.skip(XENOPSD_CHUNK_HEADER_SIZE);
    if (type === "End_of_image") this.state = "done";
    else if (type === "Libxc") this.start("libxc");
    else if (type === "Libxl") this.start("libxl");
    // Libxc_legacy: a legacy libxc stream, with the "DeviceModelRecord0002"
    // QEMU record xenopsd appends for HVM (read by the legacy restorer).
    else this.startLegacy("libxc", false);
    return { layer: "xenopsd", kind: "chunk", offset, index, chunk: { type, length } };
  }

  private chunkBody(queue: ByteQueue): SaveFileEvent | null {
    const pending = this.pendingChunk as NonNullable<SaveFileParser["pendingChunk"]>;
    if (!queue.has(pending.bodyLength)) return null;
    const body = queue.take(pending.bodyLength);
    this.pendingChunk = undefined;
    this.state = "chunks";
    const event: XenopsdChunkEvent = {
      layer: "xenopsd",
      kind: "chunk",
      offset: pending.offset,
      index: pending.index,
      chunk: { type: pending.type, length: pending.length, body },
    };
    if (pending.type === "Xenops") {
      try {
        event.record = decodeXenopsRecord(body, pending.offset + XENOPSD_CHUNK_HEADER_SIZE);
      } catch (error) {
        if (!(error instanceof XenStreamError)) throw error;
        event.recordError = error;
      }
    }
    return event;
  }

  /**
   * The legacy stream's bytes, as the legacy reader delimits them: one
   * payload event per piece the reader consumed. The reader gets exactly
   * what it wants (`bytesWanted`), so it does not read into what follows
   * the stream in the container; bytes it holds stay queued here until it
   * consumes them, and any it counts as trailing (after the stream's end)
   * go on to the next container state. At the end of the input the reader
   * gets the rest and is ended (a QEMU state read to the end completes
   * there, as does a stream whose layout was only settled there).
   */
  private legacyPayload(queue: ByteQueue, final: boolean): SaveFileEvent | null {
    const reader = this.legacy ?? this.legacyReader(queue, final);
    if (reader === undefined) return null;
    for (;;) {
      if (reader.done) {
        if (this.container !== "xenopsd" && queue.available > 0) {
          // Nothing follows a libvirt legacy stream.
          throw new XenStreamError("TRAILING_DATA", queue.offset, `${queue.available} bytes after the end of the legacy stream`, { layer: "legacy" });
        }
        this.afterStream();
        return this.next(queue, final);
      }
      const fed = this.legacyFed;
      const fresh = queue.available - fed;
      const wanted = reader.bytesWanted;
      const trailingBefore = reader.trailingBytes;
      let pushed = 0;
      if (fresh >= wanted || (final && fresh > 0)) {
        pushed = Math.min(wanted, fresh);
        // A copy: the reader keeps views of what it holds, and the queue
        // may hand out a reused assembly buffer (the verifier's loop).
        // Only the extent of the legacy stream is wanted here, not its events.
        reader.pushEach(queue.peek(fed + pushed).slice(fed), ignoreEvent);
      } else if (final) {
        reader.endEach(ignoreEvent);
      } else {
        return null;
      }
      // What the reader holds, or found after the stream's end, is the
      // last of what it was given.
      const consumed = fed + pushed - reader.bytesHeld - (reader.trailingBytes - trailingBefore);
      this.legacyFed = fed + pushed - consumed;
      if (consumed > 0) {
        const offset = queue.offset;
        return { layer: "legacy", kind: "payload", offset, bytes: queue.take(consumed), convertsTo: this.legacyFormat };
      }
    }
  }

  /**
   * The legacy reader, once the stream's layout is known. The layout is
   * told here from every byte queued (legacy-stream.md §11, up to the
   * detector's window; looked at again once twice as many are queued) and
   * the reader is given it. The reader's own detection looks at exactly
   * its next prefix of doubling size; for a stream shorter than that
   * prefix it would decide only at the end of the input, after it had
   * been handed what follows the stream in the container.
   */
  private legacyReader(queue: ByteQueue, final: boolean): LegacyReader | undefined {
    const available = queue.available;
    const whole = final || available >= LEGACY_DETECT_WINDOW;
    if (!whole && available < this.legacyDetectAt) return undefined;
    const layout = detectLegacyLayout(queue.peek(Math.min(available, LEGACY_DETECT_WINDOW)), { final: whole, offset: queue.offset });
    if (layout === undefined) {
      this.legacyDetectAt = 2 * available;
      return undefined;
    }
    const reader = new LegacyReader(
      { format: this.legacyFormat, skipQemu: this.legacySkipQemu, maxRecordLength: this.options.maxRecordLength, ...layout },
      queue.offset,
    );
    this.legacy = reader;
    return reader;
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
      case "libvirt": {
        if (!queue.has(LIBVIRT_HEADER_SIZE)) return LIBVIRT_HEADER_SIZE - queue.available;
        const { xmlLength } = readLibvirtFixedHeader(queue.peek(LIBVIRT_HEADER_SIZE), queue.offset);
        return Math.max(0, LIBVIRT_HEADER_SIZE + xmlLength + DETECT_SIZE - queue.available);
      }
      case "signature":
        return Math.max(0, XENOPSD_SIGNATURE_SIZE - queue.available);
      case "chunks":
        return Math.max(0, XENOPSD_CHUNK_HEADER_SIZE - queue.available);
      case "chunkBody":
        return Math.max(0, (this.pendingChunk?.bodyLength ?? 0) - queue.available);
      case "legacy":
        if (this.legacy === undefined) return Math.max(1, Math.min(this.legacyDetectAt, LEGACY_DETECT_WINDOW) - queue.available);
        return Math.max(1, this.legacy.bytesWanted - (queue.available - this.legacyFed));
      case "legacyQemu": {
        if (!queue.has(XENOPSD_LEGACY_QEMU_HEADER_SIZE)) return XENOPSD_LEGACY_QEMU_HEADER_SIZE - queue.available;
        const length = decodeXenopsdLegacyQemuHeader(queue.peek(XENOPSD_LEGACY_QEMU_HEADER_SIZE), queue.offset, this.options.maxRecordLength);
        return Math.max(0, XENOPSD_LEGACY_QEMU_HEADER_SIZE + length - queue.available);
      }
      case "inner": {
        const inner = this.inner as Inner;
        if (inner.ended && this.container === "xenopsd") return Math.max(1, XENOPSD_CHUNK_HEADER_SIZE - queue.available);
        return inner.needed(queue);
      }
      case "done":
        return 0;
    }
  }

  truncated(received: number): XenStreamError {
    if (this.state === "inner" && !(this.container === "xenopsd" && (this.inner as Inner).ended)) {
      return (this.inner as Inner).truncated(received);
    }
    switch (this.state) {
      case "xl":
        return new XenStreamError("TRUNCATED", received, "save file truncated in the xl header", { layer: "xl" });
      case "libvirt":
        return new XenStreamError("TRUNCATED", received, "libvirt save image truncated in its header, XML or the stream's first 8 bytes", {
          layer: "libvirt",
        });
      case "signature":
        return new XenStreamError("TRUNCATED", received, "xenopsd suspend image truncated in its signature", { layer: "xenopsd" });
      case "chunks":
      case "inner":
        return new XenStreamError("TRUNCATED", received, `xenopsd suspend image truncated before chunk ${this.chunkIndex} (no End_of_image footer)`, {
          layer: "xenopsd",
        });
      case "chunkBody":
        return new XenStreamError("TRUNCATED", received, `xenopsd suspend image truncated in the body of chunk ${this.pendingChunk?.index ?? 0}`, {
          layer: "xenopsd",
        });
      case "legacyQemu":
        return new XenStreamError("TRUNCATED", received, "xenopsd legacy image truncated in its QEMU record", { layer: "xenopsd" });
      case "legacy":
        return new XenStreamError("TRUNCATED", received, "xenopsd suspend image truncated after its legacy stream (no End_of_image footer)", {
          layer: "xenopsd",
        });
      default:
        return new XenStreamError("TRUNCATED", received, "save file truncated before the stream's first header", {});
    }
  }
}

/**
 * Incremental decoder for any save file or stream: an xl save file (header
 * + libxl stream, or header + bare libxc stream when the STREAMv2 flag is
 * absent), a libvirt libxl-driver save image, a XAPI/xenopsd suspend image
 * (either layout), a libxl stream, or a libxc stream. One event sequence
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
    if (options.convertLegacy === true) this.expansion = new LegacyExpansion(options);
  }

  private readonly expansion: LegacyExpansion | undefined;

  override pushEach(chunk: Uint8Array, visit: (event: SaveFileEvent) => void): void {
    super.pushEach(chunk, this.expansion === undefined || typeof visit !== "function" ? visit : this.expansion.wrap(visit));
  }

  override endEach(visit: (event: SaveFileEvent) => void): void {
    const expansion = this.expansion;
    if (expansion === undefined || typeof visit !== "function") return super.endEach(visit);
    super.endEach(expansion.wrap(visit));
    expansion.finish(visit);
  }
}

/**
 * The `convertLegacy` option: a legacy stream's payload bytes go through a
 * LegacyConverter (as the verifier converts them, rules/container.ts) into
 * a decoder of the v2 stream, whose events replace the payload events.
 */
class LegacyExpansion {
  private converter: LegacyConverter | undefined;
  private nested: SaveFileDecoder | undefined;
  private start = 0;
  private ended = false;

  constructor(private readonly options: SaveFileDecoderOptions) {}

  wrap(visit: (event: SaveFileEvent) => void): (event: SaveFileEvent) => void {
    return (event) => {
      if (event.layer === "legacy" && event.kind === "payload") return this.feed(event, visit);
      // The legacy stream ended where the container's next item begins.
      this.finish(visit);
      visit(event);
    };
  }

  private feed(event: LegacyPayloadEvent, visit: (event: SaveFileEvent) => void): void {
    if (this.converter === undefined) {
      this.start = event.offset;
      const { convertLegacy: _convert, format: _format, ...rest } = this.options;
      this.converter = containerLegacyConverter(event.convertsTo, rest.maxRecordLength);
      this.nested = new SaveFileDecoder({ ...rest, format: event.convertsTo });
    }
    const converter = this.converter;
    // A copy: the caller may reuse the buffer behind the payload once the
    // visit returns, and the converter (so the nested decoder) keeps views.
    const bytes = event.bytes.slice();
    this.deliver(this.converted(() => converter.push(bytes)), visit);
  }

  finish(visit: (event: SaveFileEvent) => void): void {
    const converter = this.converter;
    if (converter === undefined || this.ended) return;
    this.ended = true;
    this.deliver(this.converted(() => converter.end()), visit);
    const nested = this.nested as SaveFileDecoder;
    for (const event of this.decoded(() => nested.end())) visit(event);
  }

  private deliver(parts: Uint8Array[], visit: (event: SaveFileEvent) => void): void {
    const nested = this.nested as SaveFileDecoder;
    // Events are collected per part and visited outside the error mapping:
    // what the visitor throws reaches the caller unchanged.
    for (const part of parts) for (const event of this.decoded(() => nested.push(part))) visit(event);
  }

  private converted(run: () => Uint8Array[]): Uint8Array[] {
    try {
      return run();
    } catch (error) {
      if (!(error instanceof XenStreamError)) throw error;
      // The converter counts from the legacy stream's first byte.
      throw new XenStreamError(error.code, this.start + error.offset, `in the legacy stream: ${error.reason}`, { layer: "legacy" });
    }
  }

  private decoded(run: () => SaveFileEvent[]): SaveFileEvent[] {
    try {
      return run();
    } catch (error) {
      if (!(error instanceof XenStreamError)) throw error;
      throw new XenStreamError(
        error.code,
        this.start,
        `in the v2 stream converted from the legacy stream here, at its offset ${error.offset}: ${error.reason}`,
        error.layer === undefined ? {} : { layer: error.layer },
      );
    }
  }
}

/** A libvirt libxl-driver save image around the stream. */
export interface LibvirtContainer {
  kind: "libvirt";
  header: LibvirtHeader;
}

/** A structured xenopsd suspend image around the stream. */
export interface XenopsdStructuredContainer {
  kind: "xenopsd";
  layout: "structured";
  /**
   * Every chunk, in file order; the stream follows `chunks[streamChunk]`
   * (a Libxc, Libxl or Libxc_legacy chunk).
   */
  chunks: XenopsdChunk[];
  /** Index in `chunks` of the chunk the stream follows. */
  streamChunk: number;
}

/** A legacy-layout xenopsd suspend image around a legacy stream. */
export interface XenopsdLegacyContainer {
  kind: "xenopsd";
  layout: "legacy";
  /** The QEMU record after the stream (HVM guests). */
  qemu?: XenopsdLegacyQemu;
}

/** The container a stream travels in (the xl header is the `xl` field). */
export type SaveFileContainer = LibvirtContainer | XenopsdStructuredContainer | XenopsdLegacyContainer;

/** A decoded save file whose main stream is libxl. */
export interface LibxlSaveFile {
  format: "libxl";
  /** The xl header, when the file has one. */
  xl?: XlHeader;
  /** The libvirt or xenopsd container, when the file has one. */
  container?: SaveFileContainer;
  stream: LibxlStream;
}

/** A decoded save file whose main stream is a bare libxc stream. */
export interface LibxcSaveFile {
  format: "libxc";
  /** The xl header, when the file has one (without the STREAMv2 flag). */
  xl?: XlHeader;
  /** The xenopsd container, when the file has one. */
  container?: SaveFileContainer;
  stream: LibxcStream;
}

/**
 * A container holding a legacy (Xen <= 4.5) stream: libvirt version 1,
 * xenopsd's Libxc_legacy chunk or its legacy layout. The stream is kept as
 * found; {@link convertLegacy} turns it into v2 (`convertsTo` says which).
 */
export interface LegacySaveFile {
  format: "legacy";
  container: SaveFileContainer;
  /** The legacy stream's bytes. */
  bytes: Uint8Array;
  /** The v2 format the legacy stream converts to ("libxl" for libvirt, "libxc" for xenopsd). */
  convertsTo: LegacyOutputFormat;
}

/** A decoded save file or stream with a v2 stream. */
export type SaveFile = LibxlSaveFile | LibxcSaveFile;

/** A decoded save file: a v2 one, or a container holding a legacy stream. */
export type AnySaveFile = SaveFile | LegacySaveFile;

/**
 * Decodes a whole save file or stream, detecting its format and container
 * (see {@link detectFormat}); a container holding a legacy stream comes
 * back as a {@link LegacySaveFile} with the legacy bytes as found.
 *
 * @param bytes - the complete file
 * @param options - format, limits and tolerance
 * @returns the decoded file
 * @throws {@link XenStreamError} as the layer decoders (RECORD_TOO_LARGE
 * also for a record whose objects would take the decoded file past
 * `maxDecodedBytes`, default 8x the input + 4 MiB), plus UNSUPPORTED for
 * a bare legacy stream and for a xenopsd image with no stream chunk or more
 * than one
 *
 * @example
 * ```ts
 * import { decodeAnySaveFile } from "xen-migration-stream";
 * const file = decodeAnySaveFile(libvirtV1Bytes);
 * file.format; //=> "legacy"
 * file.container?.kind; //=> "libvirt"
 * ```
 */
export function decodeAnySaveFile(bytes: Uint8Array, options: SaveFileDecoderOptions = {}): AnySaveFile {
  checkBytes(bytes, "decodeAnySaveFile: bytes");
  checkOptions(options, "decodeAnySaveFile: options");
  // Every record is kept: the decoded-size default applies (maxDecodedBytes).
  const internal: SaveFileDecoderOptions & InternalDecoderOptions = { ...options, keepsRecords: { inputLength: bytes.length } };
  const decoder = new SaveFileDecoder(internal);
  // A legacy stream that only completes with the input gives its last events at end().
  const events = [...decoder.push(bytes), ...decoder.end()];
  let xl: XlHeader | undefined;
  let container: SaveFileContainer | undefined;
  let streamAt = -1;
  const chunks: XenopsdChunk[] = [];
  const legacy: Uint8Array[] = [];
  let convertsTo: LegacyOutputFormat = "libxc";
  const rest: LibxlEvent[] = [];
  for (const event of events) {
    switch (event.layer) {
      case "xl":
        xl = event.header;
        break;
      case "libvirt":
        container = { kind: "libvirt", header: event.header };
        break;
      case "xenopsd":
        if (event.kind === "signature") {
          container = event.layout === "structured" ? { kind: "xenopsd", layout: "structured", chunks, streamChunk: -1 } : { kind: "xenopsd", layout: "legacy" };
        } else if (event.kind === "chunk") {
          chunks.push(event.chunk);
          if (event.chunk.type === "Libxc" || event.chunk.type === "Libxl" || event.chunk.type === "Libxc_legacy") {
            if (streamAt >= 0) {
              throw new XenStreamError("UNSUPPORTED", event.offset, "xenopsd image: a second stream chunk; decode it with SaveFileDecoder", {
                layer: "xenopsd",
              });
            }
            streamAt = chunks.length - 1;
          }
        } else if (container !== undefined && container.kind === "xenopsd" && container.layout === "legacy") {
          container.qemu = event.qemu;
        }
        break;
      case "legacy":
        legacy.push(event.bytes);
        convertsTo = event.convertsTo;
        break;
      default:
        rest.push(event);
    }
  }
  if (container !== undefined && container.kind === "xenopsd" && container.layout === "structured") {
    if (streamAt < 0) {
      throw new XenStreamError("UNSUPPORTED", 0, "xenopsd image: no Libxc, Libxl or Libxc_legacy chunk, so no stream to decode", { layer: "xenopsd" });
    }
    container.streamChunk = streamAt;
  }
  const head = xl === undefined ? {} : { xl };
  const around = container === undefined ? {} : { container };
  if (container !== undefined && rest.length === 0) {
    return { format: "legacy", container, bytes: concatBytes(legacy.length === 0 ? [new Uint8Array(0)] : legacy), convertsTo };
  }
  if (rest[0]?.layer === "libxl") return { format: "libxl", ...head, ...around, stream: libxlStreamFromEvents(rest) };
  return { format: "libxc", ...head, ...around, stream: libxcStreamFromEvents(rest as Parameters<typeof libxcStreamFromEvents>[0]) };
}

/**
 * Decodes a whole save file or stream, detecting its format and container
 * (see {@link detectFormat}).
 *
 * @param bytes - the complete file
 * @param options - format, limits and tolerance
 * @returns the decoded file
 * @throws {@link XenStreamError} as the layer decoders (RECORD_TOO_LARGE
 * also for a record whose objects would take the decoded file past
 * `maxDecodedBytes`, default 8x the input + 4 MiB), plus UNSUPPORTED for
 * a bare legacy stream and for a xenopsd image with no stream chunk or more
 * than one, and for a container holding a legacy stream (use
 * {@link decodeAnySaveFile})
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
  checkBytes(bytes, "decodeSaveFile: bytes");
  checkOptions(options, "decodeSaveFile: options");
  const file = decodeAnySaveFile(bytes, options);
  if (file.format === "legacy") {
    throw new XenStreamError(
      "UNSUPPORTED",
      containerParts(file.container).before,
      `the ${file.container.kind} container holds a legacy (Xen <= 4.5) stream; use decodeAnySaveFile, or convert it to v2 first`,
      { layer: "legacy" },
    );
  }
  return file;
}

/**
 * The bytes of one container event, as found (for the streaming event
 * encoder). @internal
 */
export function encodeContainerEvent(event: ContainerEvent): Uint8Array {
  switch (event.layer) {
    case "libvirt": {
      const writer = new Writer(libvirtHeaderSize(event.header), true);
      writeLibvirtHeader(writer, event.header);
      return writer.bytes;
    }
    case "legacy":
      return event.bytes;
    case "xenopsd": {
      if (event.kind === "signature") return event.layout === "structured" ? SIGNATURE_BYTES : LEGACY_SIGNATURE_BYTES;
      if (event.kind === "chunk") {
        const writer = new Writer(xenopsdChunkSize(event.chunk), true);
        writeXenopsdChunk(writer, event.chunk);
        return writer.bytes;
      }
      const writer = new Writer(XENOPSD_LEGACY_QEMU_HEADER_SIZE + event.qemu.body.length, true);
      writeXenopsdLegacyQemu(writer, event.qemu);
      return writer.bytes;
    }
  }
}

/** Bytes before and after the stream that a container adds. @internal */
export function containerParts(container: SaveFileContainer | undefined): { before: number; after: number } {
  if (container === undefined) return { before: 0, after: 0 };
  if (container.kind === "libvirt") return { before: libvirtHeaderSize(container.header), after: 0 };
  if (container.layout === "legacy") {
    return { before: XENOPSD_SIGNATURE_SIZE, after: container.qemu === undefined ? 0 : XENOPSD_LEGACY_QEMU_HEADER_SIZE + container.qemu.body.length };
  }
  let before = XENOPSD_SIGNATURE_SIZE;
  let after = 0;
  container.chunks.forEach((chunk, index) => {
    if (index <= container.streamChunk) before += xenopsdChunkSize(chunk);
    else after += xenopsdChunkSize(chunk);
  });
  return { before, after };
}

/** What {@link checkContainer} looks at: a whole or a streaming save file. @internal */
export interface ContainerFit {
  format: AnySaveFile["format"];
  xl?: XlHeader | undefined;
  container?: SaveFileContainer | undefined;
}

/**
 * Checks that a file's container fits its stream (the rules both the
 * whole-buffer and the streaming encoder apply before writing).
 *
 * @throws {@link XenStreamError} BAD_VALUE
 * @internal
 */
export function checkContainer(file: ContainerFit): void {
  const container = file.container;
  if (container === undefined) return;
  if (file.format !== "legacy" && file.xl !== undefined) {
    throw new XenStreamError("BAD_VALUE", 0, "save file: an xl header and a libvirt/xenopsd container exclude each other", {});
  }
  const fail = (message: string): never => {
    throw new XenStreamError("BAD_VALUE", 0, message, { layer: container.kind });
  };
  if (container.kind === "libvirt") {
    if (file.format === "libxc") fail("libvirt container: a libxl stream (version 2) or a legacy stream (version 1) must follow, not a bare libxc stream");
    if ((file.format === "legacy") !== isLegacyLibvirt(container.header) && !(file.format === "libxl" && container.header.version === 0)) {
      fail(`libvirt container: version ${container.header.version} does not announce a ${file.format} stream (1 = legacy, 2 = libxl v2)`);
    }
    return;
  }
  if (container.layout === "legacy") {
    if (file.format !== "legacy") fail('xenopsd legacy layout ("XenSavedDomain\\n"): only a legacy stream can follow');
    return;
  }
  const chunk = container.chunks[container.streamChunk];
  const expected = file.format === "libxl" ? "Libxl" : file.format === "libxc" ? "Libxc" : "Libxc_legacy";
  if (chunk === undefined || chunk.type !== expected) fail(`xenopsd container: chunks[streamChunk] must be a ${expected} chunk for a ${file.format} stream`);
  container.chunks.forEach((other, index) => {
    if (index !== container.streamChunk && (other.type === "Libxc" || other.type === "Libxl" || other.type === "Libxc_legacy")) {
      fail(`xenopsd container: chunk ${index} (${other.type}) would need a second stream`);
    }
    if (other.type === "End_of_image" && index !== container.chunks.length - 1) fail(`xenopsd container: End_of_image must be the last chunk, found at ${index}`);
  });
  if (container.chunks[container.chunks.length - 1]?.type !== "End_of_image") fail("xenopsd container: the last chunk must be End_of_image");
}

/** Writes what a container puts before the stream. @internal */
export function writeContainerBefore(writer: Writer, container: SaveFileContainer | undefined): void {
  if (container === undefined) return;
  if (container.kind === "libvirt") {
    writeLibvirtHeader(writer, container.header);
    return;
  }
  writer.raw(container.layout === "legacy" ? LEGACY_SIGNATURE_BYTES : SIGNATURE_BYTES);
  if (container.layout === "structured") for (let i = 0; i <= container.streamChunk; i++) writeXenopsdChunk(writer, container.chunks[i] as XenopsdChunk);
}

/** Writes what a container puts after the stream. @internal */
export function writeContainerAfter(writer: Writer, container: SaveFileContainer | undefined): void {
  if (container === undefined || container.kind === "libvirt") return;
  if (container.layout === "legacy") {
    if (container.qemu !== undefined) writeXenopsdLegacyQemu(writer, container.qemu);
    return;
  }
  for (let i = container.streamChunk + 1; i < container.chunks.length; i++) writeXenopsdChunk(writer, container.chunks[i] as XenopsdChunk);
}

/**
 * Encodes a save file (xl header or container, then the stream, then what
 * the container adds after it) in one allocation.
 * `encodeSaveFile(decodeSaveFile(b))` returns `b`.
 *
 * @param file - the file
 * @returns the bytes
 * @throws {@link XenStreamError} BAD_VALUE (including a container that
 * does not fit the stream), BAD_PADDING
 */
export function encodeSaveFile(file: AnySaveFile): Uint8Array {
  checkObject(file, "encodeSaveFile: file");
  checkContainer(file);
  const { before, after } = containerParts(file.container);
  if (file.format === "legacy") {
    const writer = new Writer(before + file.bytes.length + after, true);
    writeContainerBefore(writer, file.container);
    writer.raw(file.bytes);
    writeContainerAfter(writer, file.container);
    return writer.bytes;
  }
  const head = file.xl === undefined ? before : xlHeaderSize(file.xl);
  if (file.xl !== undefined && isStreamV2(file.xl) !== (file.format === "libxl")) {
    throw new XenStreamError("BAD_VALUE", 36, "xl header: the STREAMv2 flag must be set exactly when a libxl stream follows", {
      layer: "xl",
    });
  }
  let writer: Writer;
  if (file.format === "libxl") {
    const { plan, size } = planLibxlStream(file.stream, head);
    writer = new Writer(head + size + after, !isBigEndianLibxl(file.stream.header));
    if (file.xl !== undefined) writeXlHeader(writer, file.xl);
    writeContainerBefore(writer, file.container);
    writeLibxlStream(writer, file.stream.header, plan);
  } else {
    const plan = planLibxcStream(file.stream, head);
    writer = new Writer(head + plan.size + after, plan.encoder.littleEndian);
    if (file.xl !== undefined) writeXlHeader(writer, file.xl);
    writeContainerBefore(writer, file.container);
    writeLibxcStream(writer, plan);
  }
  writeContainerAfter(writer, file.container);
  return writer.bytes;
}
