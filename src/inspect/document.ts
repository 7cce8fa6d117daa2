/**
 * The lossless JSON document of a save file or stream, in the manner of
 * CRIU's `crit decode` / `crit encode`: every header and record as the
 * decoders' values, written as JSON, with the page contents in a side file
 * (or inline as base64), so that {@link documentToStream} of the document
 * is the original stream byte for byte: odd and non-zero padding, reserved
 * fields, UNKNOWN records, extra bytes, big-endian streams, checkpoints,
 * libvirt and xenopsd containers (their headers and chunks; a legacy stream
 * inside one as its bytes) and the bytes after the stream's end included.
 *
 * Both directions stream: {@link DocumentWriter} is a fold over the
 * save-file events that hands out JSON text and page bytes as it goes
 * (never holding the pages), and {@link documentToStream} encodes a parsed
 * document through the streaming encoders of `io/encode`, reading one
 * PAGE_DATA record's pages at a time. The format is described in
 * guides/json-document.md and schema/stream-document.schema.json.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import type { LibxcEvent } from "../libxc/decoder.js";
import type { DomainHeader, ImageHeader, LibxcRecord, PfnEntry } from "../libxc/types.js";
import type { LibxlEvent } from "../libxl/decoder.js";
import type { LibxlHeader, LibxlRecord } from "../libxl/types.js";
import {
  SaveFileDecoder,
  type LegacyPayloadEvent,
  type SaveFileDecoderOptions,
  type SaveFileEvent,
  type XenopsdChunkEvent,
  type XenopsdLegacyQemuEvent,
  type XenopsdSignatureEvent,
} from "../savefile.js";
import { XENOPSD_LEGACY_QEMU_HEADER_SIZE, XENOPSD_STREAM_CHUNKS, XenopsdChunkType, type XenopsdChunkName } from "../xenopsd/constants.js";
import { LEGACY_SIGNATURE_BYTES, SIGNATURE_BYTES, encodeXenopsdChunk, writeXenopsdLegacyQemu, type XenopsdChunk } from "../xenopsd/chunk.js";
import { encodeLibvirtHeader, type LibvirtHeader } from "../libvirt/header.js";
import { Writer } from "../wire/writer.js";
import type { XlHeader } from "../xl/header.js";
import { encodeSaveFileChunks, type ChunkEncodeOptions, type StreamingLibxcStream, type StreamingLibxlItem, type StreamingSaveFile } from "../io/encode.js";
import { base64ToBytes, bytesToBase64 } from "./document-base64.js";
import {
  DOMAIN_HEADER_FIELDS,
  IMAGE_HEADER_FIELDS,
  LIBXC_RECORD_FIELDS,
  LIBXL_HEADER_FIELDS,
  LIBVIRT_HEADER_FIELDS,
  LIBXL_RECORD_FIELDS,
  XENOPSD_CHUNK_FIELDS,
  XL_HEADER_FIELDS,
  type FieldKind,
  type FieldTable,
} from "./document-fields.js";

/** The value of the document's `document` key. */
export const STREAM_DOCUMENT_KIND = "xen-stream-document";
/** The document format version this library writes and reads. */
export const STREAM_DOCUMENT_VERSION = 1;

/** Options of {@link DocumentWriter}. */
export interface DocumentWriterOptions {
  /**
   * Where page contents (and the bytes after the stream) go: `"file"`, a
   * side file the writer hands out as `pages` pieces; `"inline"`, base64
   * strings in the JSON.
   * @defaultValue "file"
   */
  pages?: "file" | "inline";
  /**
   * The side file's name as the document records it (for `pages: "file"`),
   * relative to the document. Informative: the encoder is given the file.
   * @defaultValue "doc.pages"
   */
  pagesFile?: string;
}

/** A piece of output of {@link DocumentWriter}: JSON text, or bytes of the page file. */
export type DocumentPiece = { kind: "json"; text: string } | { kind: "pages"; bytes: Uint8Array };

const NO_PIECES: DocumentPiece[] = [];

function bug(message: string): never {
  // A decoder value the table does not describe: the library's mistake, not the input's.
  throw new Error(`stream document: ${message}`);
}

function intJson(value: unknown, where: string): string {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) bug(`${where} is not a non-negative integer`);
  return String(value);
}

function u64Json(value: unknown, where: string): string {
  if (typeof value !== "bigint") bug(`${where} is not a bigint`);
  return `"0x${value.toString(16)}"`;
}

function bytesJson(value: unknown, where: string): string {
  if (!(value instanceof Uint8Array)) bug(`${where} is not bytes`);
  return `"${bytesToBase64(value)}"`;
}

/** True when every byte is printable ASCII, tab, newline, carriage return or NUL. */
function isAsciiText(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    if (byte >= 0x7f || (byte < 0x20 && byte !== 0 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d)) return false;
  }
  return true;
}

/** A byte string that is usually text: `{"ascii": "..."}` when it is, else base64. */
function textBytesJson(value: unknown, where: string): string {
  if (!(value instanceof Uint8Array)) bug(`${where} is not bytes`);
  if (!isAsciiText(value)) return bytesJson(value, where);
  let text = "";
  for (let i = 0; i < value.length; i++) text += String.fromCharCode(value[i] as number);
  return `{"ascii":${JSON.stringify(text)}}`;
}

/** JSON of one field of a value (not `pages`, which the writer places). */
function fieldJson(kind: FieldKind, value: unknown, where: string): string {
  switch (kind) {
    case "int":
      return intJson(value, where);
    case "u64":
      return u64Json(value, where);
    case "bytes":
      return bytesJson(value, where);
    case "textBytes":
      return textBytesJson(value, where);
    case "text":
      if (typeof value !== "string") bug(`${where} is not a string`);
      return JSON.stringify(value);
    case "u64s": {
      if (!Array.isArray(value)) bug(`${where} is not an array`);
      return `[${(value as unknown[]).map((item, i) => u64Json(item, `${where}[${i}]`)).join(",")}]`;
    }
    case "ints": {
      if (!Array.isArray(value)) bug(`${where} is not an array`);
      return `[${(value as unknown[]).map((item, i) => intJson(item, `${where}[${i}]`)).join(",")}]`;
    }
    case "pairs": {
      if (!Array.isArray(value)) bug(`${where} is not an array`);
      return `[${(value as unknown[])
        .map((pair, i) => {
          const [key, text] = pair as [unknown, unknown];
          return `[${textBytesJson(key, `${where}[${i}][0]`)},${textBytesJson(text, `${where}[${i}][1]`)}]`;
        })
        .join(",")}]`;
    }
    case "pages":
      return bug(`${where}: pages are placed by the writer`);
    default: {
      if (!Array.isArray(value)) bug(`${where} is not an array`);
      return `[${(value as unknown[]).map((item, i) => objectJson(kind.list, item as Record<string, unknown>, undefined, `${where}[${i}]`)).join(",")}]`;
    }
  }
}

/**
 * JSON of an object through its field table: the table's fields in order
 * (`padding` last), absent ones omitted; `type` first when given; a field
 * the table does not know is our bug. `pages` is replaced by `pagesText`.
 */
function objectJson(table: FieldTable, value: Record<string, unknown>, type: string | undefined, where: string, pagesText?: string): string {
  let out = type === undefined ? "{" : `{"type":${JSON.stringify(type)}`;
  let first = type === undefined;
  const add = (name: string, text: string): void => {
    out += `${first ? "" : ","}"${name}":${text}`;
    first = false;
  };
  for (const name in table) {
    if (name === "padding") continue;
    const field = value[name];
    const spec = table[name] as { kind: FieldKind; optional: boolean };
    if (field === undefined) {
      if (!spec.optional) bug(`${where}.${name} is missing`);
      continue;
    }
    add(name, spec.kind === "pages" ? (pagesText as string) : fieldJson(spec.kind, field, `${where}.${name}`));
  }
  if (value.padding !== undefined && "padding" in table) add("padding", bytesJson(value.padding, `${where}.padding`));
  for (const name in value) {
    if (name !== "type" && value[name] !== undefined && !(name in table)) bug(`${where}.${name} is not in the field table`);
  }
  return `${out}}`;
}

function recordJson(tables: Readonly<Record<string, FieldTable>>, record: { type: string }, where: string, pagesText?: string): string {
  const table = tables[record.type] ?? bug(`${where}: no field table for record type ${record.type}`);
  return objectJson(table, record as unknown as Record<string, unknown>, record.type, where, pagesText);
}

/** PAGE_DATA entries, written without the table walk (the one hot path). */
function entriesJson(entries: readonly PfnEntry[]): string {
  let out = "[";
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as PfnEntry;
    out += `${i === 0 ? "" : ","}{"pfn":${entry.pfn},"type":${entry.type}${entry.reserved === undefined ? "" : `,"reserved":${entry.reserved}`}}`;
  }
  return `${out}]`;
}

function pageDataJson(record: LibxcRecord & { type: "PAGE_DATA" }, pagesText: string): string {
  const reserved = record.reserved === undefined ? "" : `,"reserved":${record.reserved}`;
  const padding = record.padding === undefined ? "" : `,"padding":${bytesJson(record.padding, "PAGE_DATA.padding")}`;
  return `{"type":"PAGE_DATA"${reserved},"entries":${entriesJson(record.entries)},"pages":${pagesText}${padding}}`;
}

/** Where the writer is in the document's nesting. */
type Position =
  | "start"
  /** after the xl header */
  | "xl"
  /** in libxl `items`, no libxc part open */
  | "items"
  /** in a LIBXC_STREAM part, after its image header */
  | "libxcImage"
  /** in the records of a LIBXC_STREAM part */
  | "libxcPart"
  /** in the records of a LIBXC_RESUME part */
  | "resumePart"
  /** a bare libxc stream, after its image header */
  | "bareImage"
  /** in the records of a bare libxc stream */
  | "bareRecords"
  /** after a container's part before the stream (libvirt header, xenopsd chunks up to the stream chunk) */
  | "container"
  /** in a structured xenopsd container's chunks before the stream */
  | "chunksBefore"
  /** in a legacy stream's payload (a container's legacy stream) */
  | "legacyPayload"
  /** the stream closed (a container's part after it may follow) */
  | "streamClosed"
  /** in a structured xenopsd container's chunks after the stream */
  | "chunksAfter"
  | "finished";

const INDENT_ITEM = "\n      ";
const INDENT_PART_KEY = "\n        ";
const INDENT_PART_RECORD = "\n          ";
const INDENT_BARE_RECORD = "\n      ";

/**
 * Writes the JSON document of a save file as a fold over its decoder
 * events ({@link SaveFileEvent}s, in order, as `SaveFileDecoder` or
 * `decodeSaveFileAsync` emit them): `add` each event, `addTrailer` the
 * bytes after the stream (if any), then `finish`. Each call returns the
 * pieces to append, in order, to the JSON text and to the page file. A
 * `pages` piece may be a view of the decoder's input: write or copy it
 * before pushing more input. The writer holds nothing but its position in
 * the nesting, whatever the size of the stream.
 *
 * @example
 * ```ts
 * const writer = new DocumentWriter({ pagesFile: "vm.pages" });
 * const decoder = new SaveFileDecoder();
 * for (const chunk of chunks) for (const event of decoder.push(chunk)) for (const piece of writer.add(event)) sink(piece);
 * for (const event of decoder.end()) for (const piece of writer.add(event)) sink(piece);
 * for (const piece of writer.finish()) sink(piece);
 * ```
 */
export class DocumentWriter {
  private readonly inline: boolean;
  private readonly pagesFile: string;
  private position: Position = "start";
  /** Bytes written to the page file so far. */
  private pagesLength = 0;
  /** True until the first element of the array being filled. */
  private firstElement = true;
  /** Offset in the page file of the first trailer byte (file storage). */
  private trailerOffset: number | undefined;
  private trailerLength = 0;
  /** Inline storage: the trailer's bytes, joined at the end. */
  private trailerParts: Uint8Array[] = [];
  /** A legacy payload: where it starts in the page file (file storage), its length, its bytes (inline storage). */
  private payloadOffset = 0;
  private payloadLength = 0;
  private payloadParts: Uint8Array[] = [];

  /**
   * Creates a writer for one document.
   *
   * @param options - page storage and the page file's recorded name
   * @throws {@link XenStreamError} USAGE for a bad option
   */
  constructor(options: DocumentWriterOptions = {}) {
    const pages = options.pages ?? "file";
    if (pages !== "file" && pages !== "inline") throw new XenStreamError("USAGE", 0, `options.pages must be "file" or "inline", got ${JSON.stringify(pages)}`);
    this.inline = pages === "inline";
    this.pagesFile = options.pagesFile ?? "doc.pages";
    if (typeof this.pagesFile !== "string") throw new XenStreamError("USAGE", 0, "options.pagesFile must be a string");
  }

  private opening(): string {
    const pages = this.inline ? `{"storage":"inline"}` : `{"storage":"file","file":${JSON.stringify(this.pagesFile)}}`;
    return `{\n  "document": "${STREAM_DOCUMENT_KIND}",\n  "version": ${STREAM_DOCUMENT_VERSION},\n  "pages": ${pages}`;
  }

  private element(indent: string, json: string): string {
    const text = `${this.firstElement ? "" : ","}${indent}${json}`;
    this.firstElement = false;
    return text;
  }

  /** Closes an open libxc part of a libxl stream, returning its text. */
  private closePart(): string {
    if (this.position === "libxcPart") {
      this.position = "items";
      this.firstElement = false;
      return `\n        ]}}`;
    }
    if (this.position === "resumePart") {
      this.position = "items";
      this.firstElement = false;
      return `\n        ]}`;
    }
    return "";
  }

  private unexpected(event: SaveFileEvent): never {
    throw new XenStreamError("USAGE", event.offset, `DocumentWriter: ${event.layer} ${event.kind} event out of order (writer at ${this.position})`);
  }

  /**
   * Adds one decoder event.
   *
   * @param event - the next event of the save file
   * @returns the pieces to append (JSON text, and for PAGE_DATA with file
   * storage the page bytes)
   * @throws {@link XenStreamError} USAGE for an event out of order (not a
   * decoder's event sequence) or after `finish`
   */
  add(event: SaveFileEvent): DocumentPiece[] {
    if (event.layer === "xl") {
      if (this.position !== "start") this.unexpected(event);
      this.position = "xl";
      return [{ kind: "json", text: `${this.opening()},\n  "xl": ${objectJson(XL_HEADER_FIELDS, event.header as unknown as Record<string, unknown>, undefined, "xl")}` }];
    }
    if (event.layer === "libxl") return this.addLibxl(event as LibxlEvent & { layer: "libxl" }, event);
    if (event.layer === "libvirt") {
      if (this.position !== "start") this.unexpected(event);
      this.position = "container";
      const header = objectJson(LIBVIRT_HEADER_FIELDS, event.header as unknown as Record<string, unknown>, undefined, "libvirt header");
      return [{ kind: "json", text: `${this.opening()},\n  "container": {"kind":"libvirt","header":${header}}` }];
    }
    if (event.layer === "xenopsd") return this.addXenopsd(event);
    if (event.layer === "legacy") return this.addPayload(event);
    return this.addLibxc(event, event);
  }

  /** True where a stream is open (its records or payload being written). */
  private get inStream(): boolean {
    const position = this.position;
    return position === "items" || position === "libxcPart" || position === "resumePart" || position === "bareRecords" || position === "legacyPayload";
  }

  /** Closes the open stream, returning its text. */
  private closeStream(): string {
    let text = this.closePart();
    if (this.position === "legacyPayload") {
      let payload: string;
      if (this.inline) {
        payload = `"${bytesToBase64(joinBytes(this.payloadParts))}"`;
        this.payloadParts = [];
      } else payload = `{"offset":${this.payloadOffset},"length":${this.payloadLength}}`;
      text += `,\n    "payload": ${payload}\n  }`;
    } else text += "\n    ]\n  }";
    this.position = "streamClosed";
    return text;
  }

  /** Bulk bytes (a container blob) as the document holds them: base64 inline, or a page-file reference and the piece to write. */
  private bulk(bytes: Uint8Array): { json: string; pieces: DocumentPiece[] } {
    if (this.inline) return { json: `"${bytesToBase64(bytes)}"`, pieces: NO_PIECES };
    const json = `{"offset":${this.pagesLength},"length":${bytes.length}}`;
    this.pagesLength += bytes.length;
    return { json, pieces: bytes.length === 0 ? NO_PIECES : [{ kind: "pages", bytes }] };
  }

  private addXenopsd(event: XenopsdSignatureEvent | XenopsdChunkEvent | XenopsdLegacyQemuEvent): DocumentPiece[] {
    if (event.kind === "signature") {
      if (this.position !== "start") this.unexpected(event);
      const opening = `${this.opening()},\n  "container": {"kind":"xenopsd","layout":"${event.layout}"`;
      if (event.layout === "legacy") {
        this.position = "container";
        return [{ kind: "json", text: `${opening}}` }];
      }
      this.position = "chunksBefore";
      this.firstElement = true;
      return [{ kind: "json", text: `${opening},"chunks":[` }];
    }
    if (event.kind === "legacyQemu") {
      if (this.position !== "legacyPayload") this.unexpected(event);
      const close = this.closeStream();
      const { json, pieces } = this.bulk(event.qemu.body);
      return [{ kind: "json", text: `${close},\n  "legacyQemu": ${json}` }, ...pieces];
    }
    let open = "";
    if (this.inStream || this.position === "streamClosed") {
      open = `${this.inStream ? this.closeStream() : ""},\n  "containerTail": [`;
      this.position = "chunksAfter";
      this.firstElement = true;
    } else if (this.position !== "chunksBefore" && this.position !== "chunksAfter") this.unexpected(event);
    const { chunk } = event;
    let json = `{"type":${JSON.stringify(chunk.type)},"length":${u64Json(chunk.length, `xenopsd chunk ${event.index}.length`)}`;
    let pieces = NO_PIECES;
    if (chunk.body !== undefined) {
      if (chunk.type === "Xenops") json += `,"record":${textBytesJson(chunk.body, `xenopsd chunk ${event.index}.record`)}`;
      else {
        const body = this.bulk(chunk.body);
        json += `,"body":${body.json}`;
        pieces = body.pieces;
      }
    }
    let text = open + this.element("\n    ", `${json}}`);
    if (this.position === "chunksBefore" && XENOPSD_STREAM_CHUNKS.has(chunk.type)) {
      text += "\n  ]}";
      this.position = "container";
    }
    return [{ kind: "json", text }, ...pieces];
  }

  private addPayload(event: LegacyPayloadEvent): DocumentPiece[] {
    let open = "";
    if (this.position === "container") {
      open = `,\n  "format": "legacy",\n  "stream": {\n    "convertsTo": ${JSON.stringify(event.convertsTo)}`;
      this.position = "legacyPayload";
      this.payloadOffset = this.pagesLength;
      this.payloadLength = 0;
    } else if (this.position !== "legacyPayload") this.unexpected(event);
    const bytes = event.bytes;
    this.payloadLength += bytes.length;
    const pieces: DocumentPiece[] = open === "" ? [] : [{ kind: "json", text: open }];
    if (bytes.length === 0) return pieces;
    if (this.inline) this.payloadParts.push(bytes.slice());
    else {
      this.pagesLength += bytes.length;
      pieces.push({ kind: "pages", bytes });
    }
    return pieces;
  }

  private addLibxl(event: Extract<LibxlEvent, { layer: "libxl" }>, original: SaveFileEvent): DocumentPiece[] {
    if (event.kind === "header") {
      if (this.position !== "start" && this.position !== "xl" && this.position !== "container") this.unexpected(original);
      const head = this.position === "start" ? this.opening() : "";
      this.position = "items";
      this.firstElement = true;
      const header = objectJson(LIBXL_HEADER_FIELDS, event.header as unknown as Record<string, unknown>, undefined, "header");
      return [{ kind: "json", text: `${head},\n  "format": "libxl",\n  "stream": {\n    "header": ${header},\n    "items": [` }];
    }
    if (this.position !== "items" && this.position !== "libxcPart" && this.position !== "resumePart") this.unexpected(original);
    const close = this.closePart();
    const record = recordJson(LIBXL_RECORD_FIELDS, event.record, `libxl record ${event.index}`);
    return [{ kind: "json", text: close + this.element(INDENT_ITEM, record) }];
  }

  private addLibxc(event: LibxcEvent, original: SaveFileEvent): DocumentPiece[] {
    switch (event.kind) {
      case "imageHeader": {
        const header = objectJson(IMAGE_HEADER_FIELDS, event.header as unknown as Record<string, unknown>, undefined, "imageHeader");
        if (this.position === "items") {
          this.position = "libxcImage";
          return [{ kind: "json", text: this.element(INDENT_ITEM, `{"type":"LIBXC_STREAM","stream":{${INDENT_PART_KEY}"imageHeader": ${header},`) }];
        }
        if (this.position !== "start" && this.position !== "xl" && this.position !== "container") this.unexpected(original);
        const head = this.position === "start" ? this.opening() : "";
        this.position = "bareImage";
        return [{ kind: "json", text: `${head},\n  "format": "libxc",\n  "stream": {\n    "imageHeader": ${header},` }];
      }
      case "domainHeader": {
        const header = objectJson(DOMAIN_HEADER_FIELDS, event.header as unknown as Record<string, unknown>, undefined, "domainHeader");
        if (this.position === "libxcImage") {
          this.position = "libxcPart";
          this.firstElement = true;
          return [{ kind: "json", text: `${INDENT_PART_KEY}"domainHeader": ${header},${INDENT_PART_KEY}"records": [` }];
        }
        if (this.position !== "bareImage") this.unexpected(original);
        this.position = "bareRecords";
        this.firstElement = true;
        return [{ kind: "json", text: `\n    "domainHeader": ${header},\n    "records": [` }];
      }
      case "record": {
        let open = "";
        if (this.position === "items") {
          open = this.element(INDENT_ITEM, `{"type":"LIBXC_RESUME","records":[`);
          this.position = "resumePart";
          this.firstElement = true;
        } else if (this.position !== "libxcPart" && this.position !== "resumePart" && this.position !== "bareRecords") {
          this.unexpected(original);
        }
        const indent = this.position === "bareRecords" ? INDENT_BARE_RECORD : INDENT_PART_RECORD;
        const record = event.record;
        if (record.type !== "PAGE_DATA") {
          return [{ kind: "json", text: open + this.element(indent, recordJson(LIBXC_RECORD_FIELDS, record, `libxc record ${event.index}`)) }];
        }
        const pages = record.pages;
        if (this.inline) return [{ kind: "json", text: open + this.element(indent, pageDataJson(record, `"${bytesToBase64(pages)}"`)) }];
        const text = open + this.element(indent, pageDataJson(record, `{"offset":${this.pagesLength},"length":${pages.length}}`));
        this.pagesLength += pages.length;
        return pages.length === 0 ? [{ kind: "json", text }] : [{ kind: "json", text }, { kind: "pages", bytes: pages }];
      }
    }
  }

  /**
   * Adds bytes that follow the end of the stream (xl's migration message,
   * or anything else), in order; they are kept in the document so that the
   * encoder reproduces them.
   *
   * @param bytes - the next trailing bytes (may be a view of the input)
   * @returns the pieces to append (page bytes, for file storage)
   * @throws {@link XenStreamError} USAGE after `finish`
   */
  addTrailer(bytes: Uint8Array): DocumentPiece[] {
    if (this.position === "finished") throw new XenStreamError("USAGE", 0, "DocumentWriter: addTrailer after finish");
    if (bytes.length === 0) return NO_PIECES;
    this.trailerLength += bytes.length;
    if (this.inline) {
      this.trailerParts.push(bytes.slice());
      return NO_PIECES;
    }
    this.trailerOffset ??= this.pagesLength;
    this.pagesLength += bytes.length;
    return [{ kind: "pages", bytes }];
  }

  /**
   * Closes the document.
   *
   * @returns the last JSON text
   * @throws {@link XenStreamError} USAGE when no stream was added (no
   * libxl or libxc header) or after `finish`
   */
  finish(): DocumentPiece[] {
    let text = "";
    if (this.inStream) text = this.closeStream();
    else if (this.position === "chunksAfter") text = "\n  ]";
    else if (this.position !== "streamClosed") {
      throw new XenStreamError("USAGE", 0, `DocumentWriter: finish with the writer at ${this.position} (no whole stream was added)`);
    }
    this.position = "finished";
    if (this.trailerLength > 0) {
      if (this.inline) {
        const all = new Uint8Array(this.trailerLength);
        let pos = 0;
        for (const part of this.trailerParts) {
          all.set(part, pos);
          pos += part.length;
        }
        this.trailerParts = [];
        text += `,\n  "trailer": "${bytesToBase64(all)}"`;
      } else {
        text += `,\n  "trailer": {"offset":${this.trailerOffset as number},"length":${this.trailerLength}}`;
      }
    }
    if (!this.inline) text += `,\n  "pagesLength": ${this.pagesLength}`;
    return [{ kind: "json", text: `${text}\n}\n` }];
  }
}

// ------------------------------------------------------------------ reading

/**
 * Reads page contents (and trailing bytes) from a document's page file.
 * Reads come in file order, one PAGE_DATA record at a time; the returned
 * bytes need only stay valid until the next call.
 */
export interface PageReader {
  /**
   * The `length` bytes at `offset` of the page file.
   *
   * @param offset - byte offset in the page file
   * @param length - bytes wanted
   * @returns exactly `length` bytes (fewer: the page file is too short,
   * which the reader should report as an error)
   */
  read(offset: number, length: number): Uint8Array | Promise<Uint8Array>;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

function badDocument(where: string, message: string): never {
  throw new XenStreamError("BAD_VALUE", 0, `document ${where}: ${message}`);
}

function describe(json: Json | undefined): string {
  if (json === undefined) return "nothing";
  if (json === null) return "null";
  if (Array.isArray(json)) return "an array";
  if (typeof json === "object") return "an object";
  const text = JSON.stringify(json);
  return `${typeof json} ${text.length > 40 ? `${text.slice(0, 40)}...` : text}`;
}

function asObject(json: Json | undefined, where: string): JsonObject {
  if (typeof json !== "object" || json === null || Array.isArray(json)) badDocument(where, `expected an object, got ${describe(json)}`);
  return json as JsonObject;
}

function asArray(json: Json | undefined, where: string): Json[] {
  if (!Array.isArray(json)) badDocument(where, `expected an array, got ${describe(json)}`);
  return json as Json[];
}

function asInt(json: Json | undefined, where: string): number {
  if (typeof json !== "number" || !Number.isSafeInteger(json) || json < 0) badDocument(where, `expected a non-negative integer, got ${describe(json)}`);
  return json as number;
}

function asString(json: Json | undefined, where: string): string {
  if (typeof json !== "string") badDocument(where, `expected a string, got ${describe(json)}`);
  return json as string;
}

const U64_TEXT = /^0x(?:0|[1-9a-f][0-9a-f]{0,15})$/;

function asU64(json: Json | undefined, where: string): bigint {
  const text = asString(json, where);
  if (!U64_TEXT.test(text)) badDocument(where, `expected a 64-bit value as "0x" and lower-case hex without leading zeros, got ${describe(json)}`);
  return BigInt(text);
}

/** A byte string: base64 text, or `{"ascii": "..."}` (characters U+0000..U+007F, one byte each). */
function asBytes(json: Json | undefined, where: string): Uint8Array {
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    checkKeys(json, ["ascii"], where);
    const text = asString(json.ascii, `${where}.ascii`);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 0x7f) badDocument(`${where}.ascii`, `character U+${code.toString(16).padStart(4, "0")} at ${i} is not ASCII (use base64 for other bytes)`);
      out[i] = code;
    }
    return out;
  }
  if (typeof json !== "string") badDocument(where, `expected base64 text or {"ascii": text}, got ${describe(json)}`);
  return base64ToBytes(json as string, where);
}

/** Page contents of one PAGE_DATA record, or the trailer: where they are. */
type ByteRef = { offset: number; length: number } | Uint8Array;

function asByteRef(json: Json | undefined, where: string, inline: boolean): ByteRef {
  if (inline) return asBytes(json, where);
  const object = asObject(json, where);
  checkKeys(object, ["offset", "length"], where);
  return { offset: asInt(object.offset, `${where}.offset`), length: asInt(object.length, `${where}.length`) };
}

const own = (object: object, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

function checkKeys(object: JsonObject, known: readonly string[], where: string): void {
  for (const key in object) if (!known.includes(key)) badDocument(where, `unknown key "${key}"`);
}

/** Reads a value through its field table; `pages` fields are left as {@link ByteRef}s. */
function fromTable(object: JsonObject, table: FieldTable, where: string, inline: boolean, typed: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in object) {
    if (typed && key === "type") continue;
    if (!own(table, key)) badDocument(where, `unknown key "${key}"`);
  }
  for (const name in table) {
    const spec = table[name] as { kind: FieldKind; optional: boolean };
    const json = object[name];
    const at = `${where}.${name}`;
    if (json === undefined) {
      if (!spec.optional) badDocument(where, `missing key "${name}"`);
      continue;
    }
    out[name] = fieldFromJson(spec.kind, json, at, inline);
  }
  return out;
}

function fieldFromJson(kind: FieldKind, json: Json, where: string, inline: boolean): unknown {
  switch (kind) {
    case "int":
      return asInt(json, where);
    case "u64":
      return asU64(json, where);
    case "u64s":
      return asArray(json, where).map((item, i) => asU64(item, `${where}[${i}]`));
    case "ints":
      return asArray(json, where).map((item, i) => asInt(item, `${where}[${i}]`));
    case "bytes":
    case "textBytes":
      return asBytes(json, where);
    case "text":
      return asString(json, where);
    case "pairs":
      return asArray(json, where).map((pair, i) => {
        const items = asArray(pair, `${where}[${i}]`);
        if (items.length !== 2) badDocument(`${where}[${i}]`, `expected a [key, value] pair, got ${items.length} items`);
        return [asBytes(items[0], `${where}[${i}][0]`), asBytes(items[1], `${where}[${i}][1]`)];
      });
    case "pages":
      return asByteRef(json, where, inline);
    default: {
      const list = asArray(json, where);
      if (allInts(kind.list)) {
        // PAGE_DATA entries, CPUID leaves: numbers only, so the parsed
        // objects are the values; checked in place, not copied.
        for (let i = 0; i < list.length; i++) checkInts(asObject(list[i], `${where}[${i}]`), kind.list, `${where}[${i}]`);
        return list;
      }
      return list.map((item, i) => fromTable(asObject(item, `${where}[${i}]`), kind.list, `${where}[${i}]`, inline, false));
    }
  }
}

const intTables = new WeakMap<FieldTable, boolean>();

function allInts(table: FieldTable): boolean {
  let known = intTables.get(table);
  if (known === undefined) {
    known = Object.values(table).every((spec) => spec.kind === "int");
    intTables.set(table, known);
  }
  return known;
}

/** Checks an object of a numbers-only table where it is (the fast path of {@link fromTable}). */
function checkInts(object: JsonObject, table: FieldTable, where: string): void {
  for (const key in object) {
    if (!own(table, key)) badDocument(where, `unknown key "${key}"`);
    const value = object[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) asInt(value, `${where}.${key}`);
  }
  for (const name in table) {
    if (object[name] === undefined && !(table[name] as { optional: boolean }).optional) badDocument(where, `missing key "${name}"`);
  }
}

function recordFromJson<R>(json: Json | undefined, tables: Readonly<Record<string, FieldTable>>, layer: string, where: string, inline: boolean): R {
  const object = asObject(json, where);
  const type = asString(object.type, `${where}.type`);
  const table = own(tables, type) ? tables[type] : undefined;
  if (table === undefined) badDocument(`${where}.type`, `not a ${layer} record type: ${JSON.stringify(type)} (records of unknown type are "UNKNOWN" with typeId and body)`);
  const record = fromTable(object, table as FieldTable, where, inline, true);
  return { type, ...record } as R;
}

/** Resolves a PAGE_DATA record's pages through the page reader. */
async function resolvePages(record: LibxcRecord, pages: PageReader, state: { next: number }, where: string): Promise<LibxcRecord> {
  if (record.type !== "PAGE_DATA") return record;
  const ref = record.pages as unknown as ByteRef;
  if (ref instanceof Uint8Array) return record;
  record.pages = await readRef(ref, pages, state, `${where}.pages`);
  return record;
}

async function readRef(ref: { offset: number; length: number }, pages: PageReader, state: { next: number }, where: string): Promise<Uint8Array> {
  if (ref.offset !== state.next) badDocument(where, `offset ${ref.offset} is not where the page file continues (${state.next})`);
  state.next = ref.offset + ref.length;
  if (ref.length === 0) return new Uint8Array(0);
  const bytes = await pages.read(ref.offset, ref.length);
  if (bytes.length !== ref.length) badDocument(where, `the page file has ${bytes.length} of the ${ref.length} bytes at ${ref.offset} (wrong or truncated page file)`);
  return bytes;
}

async function* libxcRecords(json: Json | undefined, where: string, inline: boolean, pages: PageReader, state: { next: number }): AsyncGenerator<LibxcRecord, void, undefined> {
  const list = asArray(json, where);
  for (let i = 0; i < list.length; i++) {
    const at = `${where}[${i}]`;
    yield await resolvePages(recordFromJson<LibxcRecord>(list[i], LIBXC_RECORD_FIELDS, "libxc", at, inline), pages, state, at);
  }
}

function libxcStream(json: Json | undefined, where: string, inline: boolean, pages: PageReader, state: { next: number }): StreamingLibxcStream {
  const object = asObject(json, where);
  checkKeys(object, ["imageHeader", "domainHeader", "records"], where);
  return {
    imageHeader: fromTable(asObject(object.imageHeader, `${where}.imageHeader`), IMAGE_HEADER_FIELDS, `${where}.imageHeader`, inline, false) as unknown as ImageHeader,
    domainHeader: fromTable(asObject(object.domainHeader, `${where}.domainHeader`), DOMAIN_HEADER_FIELDS, `${where}.domainHeader`, inline, false) as unknown as DomainHeader,
    records: libxcRecords(object.records, `${where}.records`, inline, pages, state),
  };
}

function* libxlItems(json: Json | undefined, where: string, inline: boolean, pages: PageReader, state: { next: number }): Generator<StreamingLibxlItem, void, undefined> {
  const list = asArray(json, where);
  for (let i = 0; i < list.length; i++) {
    const at = `${where}[${i}]`;
    const item = asObject(list[i], at);
    if (item.type === "LIBXC_STREAM") {
      checkKeys(item, ["type", "stream"], at);
      yield { type: "LIBXC_STREAM", stream: libxcStream(item.stream, `${at}.stream`, inline, pages, state) };
    } else if (item.type === "LIBXC_RESUME") {
      checkKeys(item, ["type", "records"], at);
      yield { type: "LIBXC_RESUME", records: libxcRecords(item.records, `${at}.records`, inline, pages, state) };
    } else {
      yield recordFromJson<LibxlRecord>(item, LIBXL_RECORD_FIELDS, "libxl", at, inline);
    }
  }
}

/** Options of {@link documentToStream}. */
export interface DocumentToStreamOptions extends ChunkEncodeOptions {
  /**
   * The page file's size, when known: checked against the document's
   * `pagesLength` before anything is written.
   */
  pagesFileLength?: number;
}

const TOP_KEYS = ["document", "version", "pages", "container", "format", "xl", "stream", "containerTail", "legacyQemu", "trailer", "pagesLength"] as const;

/**
 * Encodes a stream document back into the stream's bytes, as chunks
 * (through `encodeSaveFileChunks`): concatenated, exactly the bytes the
 * document was written from. Records are converted one at a time and each
 * PAGE_DATA record's pages are read from `pages` when the encoder reaches
 * it, so memory is the parsed JSON plus one record.
 *
 * @param document - the parsed JSON document (`JSON.parse` of its text)
 * @param pages - the page file (not read for an inline document)
 * @param options - `chunkSize`, `reuseBuffer`, `signal`, `pagesFileLength`
 * @returns an async iterator of byte chunks
 * @throws {@link XenStreamError} BAD_VALUE (offset 0, naming the JSON path)
 * for a document that does not fit the format (wrong kind or version,
 * unknown or missing keys, a value of the wrong kind, non-canonical text,
 * page references out of order, a page file too short), and the encoders'
 * BAD_VALUE / BAD_PADDING (at the output offset) for values they cannot
 * write
 *
 * @example
 * ```ts
 * const document = JSON.parse(text);
 * for await (const chunk of documentToStream(document, { read: (offset, length) => readAt(offset, length) })) out.write(chunk);
 * ```
 */
export async function* documentToStream(document: unknown, pages: PageReader, options: DocumentToStreamOptions = {}): AsyncGenerator<Uint8Array, void, undefined> {
  const top = asObject(document as Json, "$");
  checkKeys(top, TOP_KEYS, "$");
  if (top.document !== STREAM_DOCUMENT_KIND) badDocument("$.document", `expected "${STREAM_DOCUMENT_KIND}", got ${describe(top.document)}`);
  if (top.version !== STREAM_DOCUMENT_VERSION) badDocument("$.version", `this library reads version ${STREAM_DOCUMENT_VERSION}, got ${describe(top.version)}`);
  const storage = asObject(top.pages, "$.pages");
  const inline = storage.storage === "inline";
  if (inline) checkKeys(storage, ["storage"], "$.pages");
  else if (storage.storage === "file") {
    checkKeys(storage, ["storage", "file"], "$.pages");
    asString(storage.file, "$.pages.file");
  } else badDocument("$.pages.storage", `expected "file" or "inline", got ${describe(storage.storage)}`);
  if (inline && top.pagesLength !== undefined) badDocument("$.pagesLength", "an inline document has no page file");
  const pagesLength = inline ? 0 : asInt(top.pagesLength, "$.pagesLength");
  if (!inline && options.pagesFileLength !== undefined && options.pagesFileLength !== pagesLength) {
    badDocument("$.pagesLength", `the document's page file has ${pagesLength} bytes, the one given has ${options.pagesFileLength}`);
  }
  const trailer = top.trailer === undefined ? undefined : asByteRef(top.trailer, "$.trailer", inline);
  const state = { next: 0 };
  const xl = top.xl === undefined ? undefined : (fromTable(asObject(top.xl, "$.xl"), XL_HEADER_FIELDS, "$.xl", inline, false) as unknown as XlHeader);
  if (xl !== undefined && xl.byteOrder !== "little" && xl.byteOrder !== "big") badDocument("$.xl.byteOrder", `expected "little" or "big", got ${describe(xl.byteOrder)}`);
  const head = xl === undefined ? {} : { xl };
  const container = top.container === undefined ? undefined : containerFromJson(top.container, inline);
  const tail = top.containerTail === undefined ? undefined : asArray(top.containerTail, "$.containerTail").map((chunk, i) => chunkFromJson(chunk, `$.containerTail[${i}]`, inline));
  const legacyQemu = top.legacyQemu === undefined ? undefined : asByteRef(top.legacyQemu, "$.legacyQemu", inline);
  let file: StreamingSaveFile | undefined;
  let payload: ByteRef | undefined;
  if (top.format === "libxl") {
    const stream = asObject(top.stream, "$.stream");
    checkKeys(stream, ["header", "items"], "$.stream");
    const header = fromTable(asObject(stream.header, "$.stream.header"), LIBXL_HEADER_FIELDS, "$.stream.header", inline, false) as unknown as LibxlHeader;
    asArray(stream.items, "$.stream.items");
    file = { format: "libxl", ...head, stream: { header, items: libxlItems(stream.items, "$.stream.items", inline, pages, state) } };
  } else if (top.format === "libxc") {
    file = { format: "libxc", ...head, stream: libxcStream(top.stream, "$.stream", inline, pages, state) };
  } else if (top.format === "legacy") {
    const stream = asObject(top.stream, "$.stream");
    checkKeys(stream, ["convertsTo", "payload"], "$.stream");
    if (stream.convertsTo !== "libxl" && stream.convertsTo !== "libxc") badDocument("$.stream.convertsTo", `expected "libxl" or "libxc", got ${describe(stream.convertsTo)}`);
    payload = asByteRef(stream.payload, "$.stream.payload", inline);
  } else {
    badDocument("$.format", `expected "libxl", "libxc" or "legacy", got ${describe(top.format)}`);
  }
  checkContainerDocument(top.format as "libxl" | "libxc" | "legacy", xl !== undefined, container, tail, legacyQemu !== undefined);
  // The container's part before the stream.
  if (container?.kind === "libvirt") yield encodeLibvirtHeader(container.header);
  else if (container?.kind === "xenopsd") {
    yield (container.layout === "structured" ? SIGNATURE_BYTES : LEGACY_SIGNATURE_BYTES).slice();
    for (const chunk of container.chunks) yield await chunkBytes(chunk, pages, state);
  }
  if (file !== undefined) yield* encodeSaveFileChunks(file, options);
  else if (payload instanceof Uint8Array) {
    if (payload.length > 0) yield payload;
  } else if (payload !== undefined) yield* refChunks(payload, pages, state, "$.stream.payload");
  // The container's part after the stream.
  for (const chunk of tail ?? []) yield await chunkBytes(chunk, pages, state);
  if (legacyQemu !== undefined) {
    const body = legacyQemu instanceof Uint8Array ? legacyQemu : await readRef(legacyQemu, pages, state, "$.legacyQemu");
    const writer = new Writer(XENOPSD_LEGACY_QEMU_HEADER_SIZE + body.length, true);
    writeXenopsdLegacyQemu(writer, { body });
    yield writer.bytes;
  }
  if (trailer !== undefined) {
    if (trailer instanceof Uint8Array) {
      if (trailer.length > 0) yield trailer;
    } else {
      yield* refChunks(trailer, pages, state, "$.trailer");
    }
  }
  if (!inline && state.next !== pagesLength) badDocument("$.pagesLength", `${pagesLength} bytes of page file, but the document refers to ${state.next}`);
}

/** Bytes from the page file (the trailer, a legacy payload), in pieces of at most 1 MiB. */
async function* refChunks(ref: { offset: number; length: number }, pages: PageReader, state: { next: number }, where: string): AsyncGenerator<Uint8Array, void, undefined> {
  const piece = 1 << 20;
  if (ref.offset !== state.next) badDocument(`${where}.offset`, `offset ${ref.offset} is not where the page file continues (${state.next})`);
  for (let done = 0; done < ref.length; done += piece) {
    const length = Math.min(piece, ref.length - done);
    yield (await readRef({ offset: ref.offset + done, length }, pages, state, where)).slice();
  }
}

/** A xenopsd chunk of the document, its body not read yet. */
interface ChunkJson {
  type: XenopsdChunkName;
  length: bigint;
  body: ByteRef | undefined;
  where: string;
}

/** A container of the document (its chunk bodies not read yet). */
type ContainerJson =
  | { kind: "libvirt"; header: LibvirtHeader }
  | { kind: "xenopsd"; layout: "structured"; chunks: ChunkJson[] }
  | { kind: "xenopsd"; layout: "legacy"; chunks: [] };

function chunkFromJson(json: Json | undefined, where: string, inline: boolean): ChunkJson {
  const object = asObject(json, where);
  const fields = fromTable(object, XENOPSD_CHUNK_FIELDS, where, inline, false) as { type: string; length: bigint; record?: Uint8Array; body?: ByteRef };
  if (!own(XenopsdChunkType, fields.type)) badDocument(`${where}.type`, `not a xenopsd chunk type: ${JSON.stringify(fields.type)} (one of ${Object.keys(XenopsdChunkType).join(", ")})`);
  if (fields.record !== undefined && fields.body !== undefined) badDocument(where, `a chunk has "record" (a Xenops chunk's text) or "body", not both`);
  if (fields.record !== undefined && fields.type !== "Xenops") badDocument(`${where}.record`, `only a Xenops chunk has a record; a ${fields.type} chunk's bytes are its "body"`);
  if (fields.body !== undefined && fields.type === "Xenops") badDocument(`${where}.body`, `a Xenops chunk's bytes are its "record"`);
  return { type: fields.type as XenopsdChunkName, length: fields.length, body: fields.record ?? fields.body, where };
}

function containerFromJson(json: Json | undefined, inline: boolean): ContainerJson {
  const object = asObject(json, "$.container");
  if (object.kind === "libvirt") {
    checkKeys(object, ["kind", "header"], "$.container");
    const header = fromTable(asObject(object.header, "$.container.header"), LIBVIRT_HEADER_FIELDS, "$.container.header", inline, false) as unknown as LibvirtHeader;
    if (header.byteOrder !== "little" && header.byteOrder !== "big") badDocument("$.container.header.byteOrder", `expected "little" or "big", got ${describe(header.byteOrder)}`);
    return { kind: "libvirt", header };
  }
  if (object.kind !== "xenopsd") badDocument("$.container.kind", `expected "libvirt" or "xenopsd", got ${describe(object.kind)}`);
  if (object.layout === "legacy") {
    checkKeys(object, ["kind", "layout"], "$.container");
    return { kind: "xenopsd", layout: "legacy", chunks: [] };
  }
  if (object.layout !== "structured") badDocument("$.container.layout", `expected "structured" or "legacy", got ${describe(object.layout)}`);
  checkKeys(object, ["kind", "layout", "chunks"], "$.container");
  const chunks = asArray(object.chunks, "$.container.chunks").map((chunk, i) => chunkFromJson(chunk, `$.container.chunks[${i}]`, inline));
  return { kind: "xenopsd", layout: "structured", chunks };
}

/** The stream chunk a structured xenopsd container needs for each format (xenopsd's suspend_image.ml). */
const STREAM_CHUNK_OF: Readonly<Record<"libxl" | "libxc" | "legacy", XenopsdChunkName>> = { libxl: "Libxl", libxc: "Libxc", legacy: "Libxc_legacy" };

/** The container rules of encodeSaveFile (savefile.ts checkContainer), for a document: what a decoder can have read. */
function checkContainerDocument(format: "libxl" | "libxc" | "legacy", hasXl: boolean, container: ContainerJson | undefined, tail: ChunkJson[] | undefined, hasQemu: boolean): void {
  if (container === undefined) {
    if (format === "legacy") badDocument("$.format", "a legacy stream is only found in a container: $.container is missing");
    if (tail !== undefined) badDocument("$.containerTail", "chunks after the stream belong to a structured xenopsd container: $.container is missing");
    if (hasQemu) badDocument("$.legacyQemu", "the QEMU record belongs to a legacy-layout xenopsd container: $.container is missing");
    return;
  }
  if (hasXl) badDocument("$.xl", "an xl header and a libvirt/xenopsd container exclude each other");
  if (container.kind === "libvirt") {
    if (format === "libxc") badDocument("$.format", "libvirt container: a libxl stream (version 2) or a legacy stream (version 1) follows, not a bare libxc stream");
    const version = container.header.version;
    if ((format === "legacy") !== (version === 1) && !(format === "libxl" && version === 0)) {
      badDocument("$.container.header.version", `libvirt container: version ${version} does not announce a ${format} stream (1 = legacy, 2 = libxl v2)`);
    }
    if (tail !== undefined || hasQemu) badDocument(tail !== undefined ? "$.containerTail" : "$.legacyQemu", "a libvirt container has nothing after the stream");
    return;
  }
  if (container.layout === "legacy") {
    if (format !== "legacy") badDocument("$.format", 'xenopsd legacy layout ("XenSavedDomain\\n"): only a legacy stream follows');
    if (tail !== undefined) badDocument("$.containerTail", "a legacy-layout xenopsd container has no chunks (at most $.legacyQemu)");
    return;
  }
  if (hasQemu) badDocument("$.legacyQemu", "a structured xenopsd container has no legacy QEMU record (its device state is a chunk)");
  const expected = STREAM_CHUNK_OF[format];
  const last = container.chunks[container.chunks.length - 1];
  if (last === undefined || last.type !== expected) badDocument("$.container.chunks", `the last chunk before the stream must be ${expected} for a ${format} stream`);
  const after = tail ?? [];
  for (const chunk of [...container.chunks.slice(0, -1), ...after]) {
    if (XENOPSD_STREAM_CHUNKS.has(chunk.type)) badDocument(chunk.where, `a ${chunk.type} chunk would need a second stream`);
  }
  const end = after.findIndex((chunk) => chunk.type === "End_of_image");
  if (after.length === 0 || end !== after.length - 1) badDocument("$.containerTail", "a structured xenopsd container ends with one End_of_image chunk, after every other");
  if (container.chunks.some((chunk) => chunk.type === "End_of_image")) badDocument("$.container.chunks", "End_of_image comes after the stream");
}

/** The bytes of a chunk, its body read from the page file (in order). */
async function chunkBytes(chunk: ChunkJson, pages: PageReader, state: { next: number }): Promise<Uint8Array> {
  const body = chunk.body === undefined || chunk.body instanceof Uint8Array ? chunk.body : await readRef(chunk.body, pages, state, `${chunk.where}.body`);
  const value: XenopsdChunk = body === undefined ? { type: chunk.type, length: chunk.length } : { type: chunk.type, length: chunk.length, body };
  return encodeXenopsdChunk(value);
}

// ----------------------------------------------------------- whole buffers

/** The JSON text and page file of a document, from {@link saveFileToDocument}. */
export interface StreamDocumentFiles {
  /** The JSON document. */
  json: string;
  /** The page file (empty for an inline document). */
  pages: Uint8Array;
}

/** Options of {@link saveFileToDocument}. */
export interface SaveFileToDocumentOptions extends DocumentWriterOptions, SaveFileDecoderOptions {}

function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/**
 * The document of a whole save file or stream in memory: decodes it
 * (detecting its format, unless `format` says) and writes its document.
 * Bytes after the end of the stream are kept as the document's trailer.
 *
 * @param bytes - the complete file
 * @param options - page storage, the page file's name, decoder options
 * @returns the JSON text and the page file
 * @throws {@link XenStreamError} as `SaveFileDecoder` for a stream it
 * does not accept (TRUNCATED, BAD_MAGIC, UNSUPPORTED for a legacy stream, ...)
 *
 * @example
 * ```ts
 * const { json, pages } = saveFileToDocument(bytes);
 * (await documentToBytes(JSON.parse(json), pages)); // equals bytes
 * ```
 */
export function saveFileToDocument(bytes: Uint8Array, options: SaveFileToDocumentOptions = {}): StreamDocumentFiles {
  const writer = new DocumentWriter(options);
  const decoder = new SaveFileDecoder(options);
  const text: string[] = [];
  const pages: Uint8Array[] = [];
  const take = (pieces: DocumentPiece[]): void => {
    for (const piece of pieces) {
      if (piece.kind === "json") text.push(piece.text);
      else pages.push(piece.bytes);
    }
  };
  let rest = bytes;
  while (rest.length > 0) {
    const wanted = decoder.bytesWanted;
    if (wanted === 0) {
      take(writer.addTrailer(rest));
      break;
    }
    const piece = rest.subarray(0, Math.min(wanted, rest.length));
    decoder.pushEach(piece, (event) => take(writer.add(event)));
    rest = rest.subarray(piece.length);
  }
  // A legacy stream in a container completes with the input.
  decoder.endEach((event) => take(writer.add(event)));
  take(writer.finish());
  return { json: text.join(""), pages: joinBytes(pages) };
}

/**
 * The bytes of a document whose page file is in memory: the whole-buffer
 * form of {@link documentToStream}.
 *
 * @param document - the parsed JSON document
 * @param pages - the page file (ignored for an inline document)
 * @returns the stream's bytes
 * @throws {@link XenStreamError} as {@link documentToStream}
 */
export async function documentToBytes(document: unknown, pages: Uint8Array = new Uint8Array(0)): Promise<Uint8Array> {
  const reader: PageReader = { read: (offset, length) => pages.subarray(offset, offset + length) };
  const chunks: Uint8Array[] = [];
  for await (const chunk of documentToStream(document, reader, { pagesFileLength: pages.length })) chunks.push(chunk);
  return joinBytes(chunks);
}
