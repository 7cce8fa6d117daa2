/**
 * `dump` as a fold over the save-file events: every header and record as a
 * plain, JSON-ready object (layer, offset, index, type, body length, the
 * record's fields) with the record's insides decoded under `contents`
 * (HVM context save records, PV vCPU context, shared info, CPU and MSR
 * policy, the xl config, emulator xenstore keys). 64-bit values are
 * `"0x..."` strings, byte fields are summarised (length and first bytes)
 * unless asked in full, PAGE_DATA is summarised (count, pfn runs, page
 * types) unless a hexdump of every page is asked for.
 *
 * Insides are decoded here only, when a dump is made: the stream decoder
 * and the verifier never call these decoders (issue #13: decoding stays as
 * fast as before). A failure to decode insides is reported in the object
 * (`contentsError`) and the dump goes on.
 *
 * @module
 */
import { isXenStreamError } from "../errors.js";
import { DHDR_SIZE, IHDR_SIZE, LibxcRecordType, PageType, pageTypeHasData } from "../libxc/constants.js";
import type { LibxcRecordTypeName } from "../libxc/constants.js";
import { cpuidPolicyContents, msrPolicyContents } from "../libxc/contents/cpu-policy.js";
import { decodeHvmContext } from "../libxc/contents/hvm-context.js";
import { decodePvVcpuContents } from "../libxc/contents/pv-contents.js";
import type { PvGuestWidth } from "../libxc/contents/pv-vcpu.js";
import { decodeSharedInfo } from "../libxc/contents/shared-info.js";
import type { LibxcRecord, PageDataRecord } from "../libxc/types.js";
import { LIBXL_HDR_SIZE, LibxlRecordType } from "../libxl/constants.js";
import type { LibxlRecordTypeName } from "../libxl/constants.js";
import type { LibxlRecord } from "../libxl/types.js";
import type { SaveFileEvent } from "../savefile.js";
import { RECORD_HEADER_SIZE, paddedLength } from "../wire/frame.js";
import { XL_CONFIG_LENGTH_SIZE, XL_HEADER_SIZE, XlMandatoryFlag } from "../xl/constants.js";
import { describeTrailer } from "../xl/migration.js";
import type { StreamTrailer } from "../xl/migration.js";

/** A JSON value as `JSON.stringify` writes it. */
export type DumpJson = null | boolean | number | string | DumpJson[] | { [key: string]: DumpJson };

/** A JSON object. */
export type DumpJsonObject = { [key: string]: DumpJson };

/** Why a record's insides could not be decoded. */
export interface DumpContentsError {
  /** The {@link XenStreamError} code (`INTERNAL` for a bug of this library). */
  code: string;
  /** Absolute offset of the fault in the stream. */
  offset: number;
  message: string;
}

/** The `type` of a header entry. */
export type DumpHeaderType = "XL_HEADER" | "LIBXL_HEADER" | "IMAGE_HEADER" | "DOMAIN_HEADER";

/** One header or record of a dump. */
export interface DumpEntry {
  /** The layer the header or record belongs to (or the container: libvirt, xenopsd, a legacy payload). */
  layer: "xl" | "libxl" | "libxc" | "libvirt" | "xenopsd" | "legacy";
  kind: "header" | "record" | "container";
  /** Absolute offset of the header or of the record's header. */
  offset: number;
  /** A record's index within its layer's records (0 = first); absent for headers. */
  index?: number;
  /**
   * A record's type name (the spec's: `PAGE_DATA`, `HVM_CONTEXT`, ...;
   * `UNKNOWN` for a type the library does not define), or the header's
   * {@link DumpHeaderType}.
   */
  type: string;
  /** A record's type id (its u32 `type` field); absent for headers. */
  typeId?: number;
  /** A record's body_length; a header's size in bytes. */
  length: number;
  /** Bytes on the wire: record header, body and padding; a header's size. */
  size: number;
  /** The decoded fields (JSON-ready: 64-bit values as `"0x..."`, byte fields summarised). */
  fields: DumpJsonObject;
  /** The decoded insides, for records that have them. */
  contents?: DumpJson;
  /** Why the insides could not be decoded (instead of `contents`). */
  contentsError?: DumpContentsError;
}

/**
 * One page of a PAGE_DATA record, hexdumped: what {@link
 * StreamDumper.pageEntries} yields, one page at a time.
 */
export interface DumpPageEntry {
  layer: "libxc";
  kind: "page";
  /** Absolute offset of the page's first byte. */
  offset: number;
  /** Index of the PAGE_DATA record within the libxc records. */
  index: number;
  pfn: number;
  /** The page type's name (NOTAB, L1TAB, ...). */
  type: string;
  /** `hexdump -C` lines of the page ({@link hexdumpLines}). */
  hexdump: string[];
}

/** The entry naming the bytes after a complete stream. */
export interface DumpTrailerEntry {
  layer: "xl";
  kind: "trailer";
  /** Offset of the first byte after the stream. */
  offset: number;
  /** `MIGRATION_MESSAGE` (xl's 44-byte "domain is yours" message) or `TRAILING_DATA`. */
  type: "MIGRATION_MESSAGE" | "TRAILING_DATA";
  /** Bytes after the stream. */
  length: number;
  /** In words, as `verify` says it. */
  description: string;
}

/** Options of {@link StreamDumper}. */
export interface DumpOptions {
  /**
   * Decode the insides of records (`contents`).
   * @defaultValue true
   */
  contents?: boolean;
  /**
   * PAGE_DATA: a hexdump (`hexdump -C` style, repeated lines as `*`) of
   * every page with contents, instead of the summary only.
   * @defaultValue false
   */
  pages?: boolean;
  /**
   * Byte fields in full hex (`{ length, hex }`) instead of a summary
   * (`{ length, head }`: the first 16 bytes).
   * @defaultValue false
   */
  rawBytes?: boolean;
  /**
   * Dump only records (and headers) of these types: record type names
   * (`PAGE_DATA`, `EMULATOR_CONTEXT`, `UNKNOWN`, ...) or
   * {@link DumpHeaderType}s. All when absent.
   */
  types?: readonly string[];
  /** Dump only this layer's headers and records. All when absent. */
  layer?: "xl" | "libxl" | "libxc";
  /**
   * Dump only the headers and records that overlap these bytes:
   * `[start, start + length)`. Everything when absent.
   */
  range?: { start: number; length: number };
}

/** Bytes of a byte field shown in its summary. */
export const DUMP_BYTES_HEAD = 16;

const HEX = /*@__PURE__*/ Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** The bytes as lower-case hex, no separators. @internal */
export function bytesToHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i] as number] as string;
  return out;
}

/** A 64-bit value as `"0x"` and 16 hex digits. @internal */
export function hex64(value: bigint): string {
  return value < 0n ? `-0x${(-value).toString(16).padStart(16, "0")}` : `0x${value.toString(16).padStart(16, "0")}`;
}

/**
 * A value as JSON data: bigint as {@link hex64}, `Uint8Array` as
 * `{ length, head }` (first {@link DUMP_BYTES_HEAD} bytes in hex) or, with
 * `rawBytes`, `{ length, hex }`; undefined members dropped.
 *
 * @param value - a decoded value (numbers, bigints, strings, booleans, byte arrays, arrays and plain objects)
 * @param rawBytes - byte arrays in full
 * @returns JSON data
 */
export function toDumpJson(value: unknown, rawBytes = false): DumpJson {
  switch (typeof value) {
    case "bigint":
      return hex64(value);
    case "number":
    case "string":
    case "boolean":
      return value;
    case "undefined":
      return null;
    case "object": {
      if (value === null) return null;
      if (value instanceof Uint8Array) {
        return rawBytes
          ? { length: value.length, hex: bytesToHex(value) }
          : { length: value.length, head: bytesToHex(value.subarray(0, DUMP_BYTES_HEAD)) };
      }
      if (Array.isArray(value)) {
        const list: DumpJson[] = new Array<DumpJson>(value.length);
        for (let i = 0; i < value.length; i++) list[i] = toDumpJson(value[i], rawBytes);
        return list;
      }
      // for..in over the decoders' plain objects: no entry pairs allocated.
      const out: DumpJsonObject = {};
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
        const item = record[key];
        if (item !== undefined) out[key] = toDumpJson(item, rawBytes);
      }
      return out;
    }
    default:
      return String(value);
  }
}

const PAGE_TYPE_NAMES: readonly string[] = /*@__PURE__*/ (() => {
  const names: string[] = [];
  for (const [name, id] of Object.entries(PageType)) names[id] = name;
  return names;
})();

/** A page type's name (`NOTAB`, `L1TAB`, ..., `XTAB`), or its hex value. @internal */
export function pageTypeName(type: number): string {
  return PAGE_TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}

/**
 * A `hexdump -C` style dump of `bytes`: 16 bytes a line with their offset
 * and ASCII, a run of lines equal to the one before as one `*`, and the
 * length as the last line.
 *
 * @param bytes - the bytes (one page)
 * @returns the lines
 */
export function hexdumpLines(bytes: Uint8Array): string[] {
  const lines: string[] = [];
  let previous = -1;
  let squeezed = false;
  for (let pos = 0; pos < bytes.length; pos += 16) {
    const end = Math.min(bytes.length, pos + 16);
    if (previous >= 0 && end - pos === 16 && sameLine(bytes, previous, pos)) {
      if (!squeezed) lines.push("*");
      squeezed = true;
      continue;
    }
    squeezed = false;
    previous = pos;
    lines.push(hexdumpLine(bytes, pos, end));
  }
  lines.push(bytes.length.toString(16).padStart(8, "0"));
  return lines;
}

/** Character codes of one hexdump line, refilled per line. */
const LINE = /*@__PURE__*/ new Uint16Array(79).fill(0x20);
const HEX_DIGITS = /*@__PURE__*/ Array.from("0123456789abcdef", (digit) => digit.charCodeAt(0));

/**
 * One `hexdump -C` line (offset, 16 bytes in two groups of eight, ASCII)
 * as a flat string made in one go: built from many small appends, each
 * line would be a tree of string pieces (cons strings) many times its
 * size, which a hexdump of a 4 MiB record holds a quarter of a million of.
 */
function hexdumpLine(bytes: Uint8Array, pos: number, end: number): string {
  const line = LINE;
  for (let i = 0; i < 8; i++) line[i] = HEX_DIGITS[(pos >>> (28 - 4 * i)) & 0xf] as number;
  line[8] = 0x20;
  line[9] = 0x20;
  // columns: 8 offset, 2 spaces, 16 x "xx " with one more space after the 8th, " |", 16 ASCII, "|"
  let at = 10;
  let text = 61;
  line[60] = 0x7c; // |
  for (let i = 0; i < 16; i++) {
    if (pos + i < end) {
      const byte = bytes[pos + i] as number;
      line[at] = HEX_DIGITS[byte >>> 4] as number;
      line[at + 1] = HEX_DIGITS[byte & 0xf] as number;
      line[text++] = byte >= 0x20 && byte < 0x7f ? byte : 0x2e;
    } else {
      line[at] = 0x20;
      line[at + 1] = 0x20;
    }
    line[at + 2] = 0x20;
    at += i === 7 ? 4 : 3;
  }
  line[text++] = 0x7c; // |
  return String.fromCharCode.apply(null, line.subarray(0, text) as unknown as number[]);
}

function sameLine(bytes: Uint8Array, a: number, b: number): boolean {
  for (let i = 0; i < 16; i++) if (bytes[a + i] !== bytes[b + i]) return false;
  return true;
}

/**
 * The PAGE_DATA summary: count, page types, runs of consecutive pfns (in
 * entry order, `[first, last]`), pages with contents; with `pages`, every
 * page with contents as `{ pfn, type, hexdump }`.
 */
function pageDataFields(record: PageDataRecord, pageSize: number, options: { pages: boolean; rawBytes: boolean }): DumpJsonObject {
  const { entries } = record;
  // Hot on a dump of a large stream (every PAGE_DATA entry): counts by
  // type nibble in a fixed array, runs as numbers; names only at the end.
  const byType = new Array<number>(16).fill(0);
  const ranges: DumpJson[] = [];
  let first = -1;
  let last = -1;
  let withData = 0;
  let reservedEntries = 0;
  const pages: DumpJson[] = [];
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as { pfn: number; type: number; reserved?: number };
    const { pfn, type } = entry;
    byType[type & 0xf] = (byType[type & 0xf] as number) + 1;
    if (entry.reserved !== undefined && entry.reserved !== 0) reservedEntries += 1;
    if (pfn === last + 1 && first >= 0) last = pfn;
    else {
      if (first >= 0) ranges.push([first, last]);
      first = pfn;
      last = pfn;
    }
    if (pageTypeHasData(type)) {
      if (options.pages) {
        const page = record.pages.subarray(withData * pageSize, (withData + 1) * pageSize);
        pages.push({ pfn, type: pageTypeName(type), hexdump: hexdumpLines(page) });
      }
      withData += 1;
    }
  }
  if (first >= 0) ranges.push([first, last]);
  const types: DumpJsonObject = {};
  for (let type = 0; type < 16; type++) if ((byType[type] as number) > 0) types[pageTypeName(type)] = byType[type] as number;
  const fields: DumpJsonObject = { count: entries.length, reserved: record.reserved ?? 0, types, pfnRanges: ranges, pagesWithData: withData };
  if (reservedEntries > 0) fields.entriesWithReservedBits = reservedEntries;
  if (options.pages) fields.pages = pages;
  if (record.padding !== undefined) fields.padding = toDumpJson(record.padding, options.rawBytes);
  return fields;
}

function recordFields(record: LibxcRecord | LibxlRecord, rawBytes: boolean): DumpJsonObject {
  const out: DumpJsonObject = {};
  for (const [key, value] of Object.entries(record)) {
    if (key === "type" || value === undefined) continue;
    out[key] = toDumpJson(value, rawBytes);
  }
  return out;
}

function contentsErrorOf(error: unknown, offset: number): DumpContentsError {
  if (isXenStreamError(error)) return { code: error.code, offset: error.offset, message: error.reason };
  const message = error instanceof Error ? error.message : String(error);
  return { code: "INTERNAL", offset, message: `internal error while decoding the record's insides (a bug in xen-migration-stream): ${message}` };
}

/** The bytes as a Latin-1 string, trailing NULs dropped. */
function latin1Text(bytes: Uint8Array): string {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  let out = "";
  for (let at = 0; at < end; at += 8192) out += String.fromCharCode(...bytes.subarray(at, Math.min(end, at + 8192)));
  return out;
}

/**
 * Text of a byte string that is UTF-8 (xl's JSON config, xenstore keys and
 * values), trailing NULs dropped; bytes that are not UTF-8 as Latin-1.
 * Without TextDecoder: the core declares no DOM or Node types.
 */
function utf8Text(bytes: Uint8Array): string {
  const latin1 = latin1Text(bytes);
  if (!/[^\x00-\x7f]/.test(latin1)) return latin1;
  let escaped = "";
  for (let i = 0; i < latin1.length; i++) escaped += `%${HEX[latin1.charCodeAt(i)] as string}`;
  try {
    return decodeURIComponent(escaped);
  } catch {
    return latin1;
  }
}

/** The width X86_PV_INFO gave (any value: a bad one makes the contents decoder say so). */
function asWidth(width: number | undefined): PvGuestWidth | undefined {
  return width as PvGuestWidth | undefined;
}

/**
 * The dump fold: give it every event of a save file, in order; it returns
 * the entry of each event the filters select. It keeps what later
 * records' insides need (the guest width from X86_PV_INFO, the page size
 * from the domain header), so it must see every event, selected or not.
 *
 * Entries are plain data, independent of the event (byte fields are
 * copied into hex), so an event's views may be reused once `add` returns.
 *
 * @example
 * ```ts
 * import { SaveFileDecoder, StreamDumper } from "xen-migration-stream";
 * const dumper = new StreamDumper({ types: ["HVM_CONTEXT"] });
 * for (const event of new SaveFileDecoder().push(bytes)) {
 *   const entry = dumper.add(event);
 *   if (entry !== undefined) console.log(JSON.stringify(entry));
 * }
 * ```
 */
export class StreamDumper {
  private readonly contents: boolean;
  private readonly pages: boolean;
  private readonly rawBytes: boolean;
  private readonly types: ReadonlySet<string> | undefined;
  private readonly layer: string | undefined;
  private readonly rangeStart: number;
  private readonly rangeEnd: number;
  private guestWidth: number | undefined = undefined;
  private pageSize = 4096;
  private beyond = false;

  /**
   * @param options - what to decode and which headers and records to dump
   */
  constructor(options: DumpOptions = {}) {
    this.contents = options.contents ?? true;
    this.pages = options.pages ?? false;
    this.rawBytes = options.rawBytes ?? false;
    this.types = options.types === undefined ? undefined : new Set(options.types);
    this.layer = options.layer;
    this.rangeStart = options.range?.start ?? 0;
    this.rangeEnd = options.range === undefined ? Number.POSITIVE_INFINITY : options.range.start + options.range.length;
  }

  /**
   * True once an event started at or after the end of the `range`: no
   * later event can be selected, a reader may stop.
   */
  get pastRange(): boolean {
    return this.beyond;
  }

  /**
   * Takes the next event.
   *
   * Never throws for an event a decoder produced: a failure to decode a
   * record's insides becomes the entry's `contentsError`.
   *
   * @param event - the next event of the save file
   * @returns its dump entry, or undefined when the filters leave it out
   */
  add(event: SaveFileEvent): DumpEntry | undefined {
    let type: string;
    let size: number;
    if (event.layer === "libvirt" || event.layer === "xenopsd" || event.layer === "legacy") {
      // Container framing: shown with its own fields, byte fields summarised.
      if (this.layer !== undefined && event.layer !== this.layer) return undefined;
      const { layer, kind, offset, ...rest } = event as SaveFileEvent & Record<string, unknown>;
      type = `${layer.toUpperCase()}_${String(kind).toUpperCase()}`;
      if (this.types !== undefined && !this.types.has(type)) return undefined;
      return { layer, kind: "container", offset, type, length: 0, size: 0, fields: toDumpJson(rest, this.rawBytes) as DumpJsonObject } as DumpEntry;
    }
    if (event.kind === "record") {
      const record = event.record;
      type = record.type;
      size = RECORD_HEADER_SIZE + paddedLength(event.bodyLength);
      if (event.layer === "libxc" && record.type === "X86_PV_INFO") this.guestWidth = record.guestWidth;
    } else if (event.layer === "xl") {
      type = "XL_HEADER";
      size = event.size;
    } else if (event.layer === "libxl") {
      type = "LIBXL_HEADER";
      size = LIBXL_HDR_SIZE;
    } else if (event.kind === "imageHeader") {
      type = "IMAGE_HEADER";
      size = IHDR_SIZE;
    } else {
      type = "DOMAIN_HEADER";
      size = DHDR_SIZE;
      this.pageSize = 2 ** event.header.pageShift;
    }
    if (event.offset >= this.rangeEnd) {
      this.beyond = true;
      return undefined;
    }
    if (event.offset + size <= this.rangeStart) return undefined;
    if (this.layer !== undefined && event.layer !== this.layer) return undefined;
    if (this.types !== undefined && !this.types.has(type)) return undefined;
    return this.entry(event, type, size);
  }

  private entry(event: SaveFileEvent, type: string, size: number): DumpEntry {
    const { rawBytes } = this;
    if (event.kind !== "record") {
      const header = (event as { header?: unknown }).header;
      const entry: DumpEntry = { layer: event.layer, kind: "header", offset: event.offset, type, length: size, size, fields: toDumpJson(header, rawBytes) as DumpJsonObject };
      if (event.layer === "xl" && this.contents && event.header.config !== undefined) {
        const text = utf8Text(event.header.config);
        if ((event.header.mandatoryFlags & XlMandatoryFlag.JSON) === 0) entry.contents = { configText: text };
        else {
          try {
            entry.contents = { config: JSON.parse(text) as DumpJson };
          } catch (error) {
            entry.contentsError = { code: "BAD_FIELD", offset: event.offset + XL_HEADER_SIZE + XL_CONFIG_LENGTH_SIZE, message: `xl config is not JSON: ${error instanceof Error ? error.message : String(error)}` };
          }
        }
      }
      return entry;
    }
    const record = event.record;
    const entry: DumpEntry = {
      layer: event.layer,
      kind: "record",
      offset: event.offset,
      index: event.index,
      type,
      typeId: typeIdOf(event),
      length: event.bodyLength,
      size,
      fields: record.type === "PAGE_DATA" ? pageDataFields(record, this.pageSize, { pages: this.pages, rawBytes }) : recordFields(record, rawBytes),
    };
    if (this.contents) {
      const body = event.offset + RECORD_HEADER_SIZE;
      try {
        const contents = event.layer === "libxc" ? this.libxcContents(event.record, body) : libxlContents(event.record);
        if (contents !== undefined) entry.contents = contents;
      } catch (error) {
        entry.contentsError = contentsErrorOf(error, body);
      }
    }
    return entry;
  }

  /**
   * The pages of a PAGE_DATA record event, hexdumped, one entry per page
   * with contents, made as the iteration asks for them (memory for one
   * page at a time, whatever the record's size). Iterate before the next
   * event: the pages are views of the decoder's input.
   *
   * @param event - a libxc PAGE_DATA record event (anything else yields nothing)
   * @returns the page entries, in entry order
   */
  *pageEntries(event: SaveFileEvent): Generator<DumpPageEntry, void, undefined> {
    if (event.kind !== "record" || event.layer !== "libxc" || event.record.type !== "PAGE_DATA") return;
    const { entries, pages } = event.record;
    const { pageSize } = this;
    // PAGE_DATA body: count u32, reserved u32, then the pfn array, then the pages.
    const first = event.offset + RECORD_HEADER_SIZE + 8 + 8 * entries.length;
    let page = 0;
    for (let i = 0; i < entries.length; i++) {
      const { pfn, type } = entries[i] as { pfn: number; type: number };
      if (!pageTypeHasData(type)) continue;
      const bytes = pages.subarray(page * pageSize, (page + 1) * pageSize);
      yield { layer: "libxc", kind: "page", offset: first + page * pageSize, index: event.index, pfn, type: pageTypeName(type), hexdump: hexdumpLines(bytes) };
      page += 1;
    }
  }

  private libxcContents(record: LibxcRecord, body: number): DumpJson | undefined {
    const { rawBytes } = this;
    switch (record.type) {
      case "HVM_CONTEXT": {
        const context = decodeHvmContext(record.data, { baseOffset: body });
        const out: DumpJsonObject = { entries: toDumpJson(context.entries, rawBytes) };
        if (context.trailing.length > 0) out.trailing = toDumpJson(context.trailing, rawBytes);
        return out;
      }
      case "X86_PV_VCPU_BASIC":
      case "X86_PV_VCPU_EXTENDED":
      case "X86_PV_VCPU_XSAVE":
      case "X86_PV_VCPU_MSRS": {
        // Xen skips a vCPU record with no context (xg_sr_restore_x86_pv.c:
        // handle_x86_pv_vcpu_blob()): nothing inside.
        if (record.context.length === 0) return undefined;
        const width = asWidth(this.guestWidth);
        const options = width === undefined ? { baseOffset: body + 8 } : { baseOffset: body + 8, guestWidth: width };
        const decoded = decodePvVcpuContents(record.type, record.context, options);
        switch (decoded.type) {
          case "X86_PV_VCPU_BASIC":
            return toDumpJson(decoded.basic, rawBytes);
          case "X86_PV_VCPU_EXTENDED":
            return toDumpJson(decoded.extended, rawBytes);
          case "X86_PV_VCPU_XSAVE":
            return toDumpJson(decoded.xsave, rawBytes);
          case "X86_PV_VCPU_MSRS":
            return { msrs: toDumpJson(decoded.msrs, rawBytes) };
        }
        return undefined;
      }
      case "SHARED_INFO":
        // The guest width comes from X86_PV_INFO, which a PV stream sends
        // first (spec libxc-stream.md); 8 when the stream has none.
        return toDumpJson(decodeSharedInfo(record.data, { guestWidth: asWidth(this.guestWidth) ?? 8, baseOffset: body }), rawBytes);
      case "HVM_PARAMS":
        return {
          params: record.params.map(({ index, value }) => {
            const name = hvmParamName(index);
            return name === undefined ? { index: hex64(index), value: hex64(value) } : { index: hex64(index), name, value: hex64(value) };
          }),
        };
      // Already JSON data (u32s as numbers, MSR values as "0x..." strings).
      case "X86_CPUID_POLICY":
        return cpuidPolicyContents(record) as unknown as DumpJson;
      case "X86_MSR_POLICY":
        return msrPolicyContents(record) as unknown as DumpJson;
      default:
        return undefined;
    }
  }
}

/**
 * HVM_PARAM_* names by index (xen/include/public/hvm/params.h, Xen 4.17;
 * HVM_NR_PARAMS is 39; indices 3, 7 and 8 are no longer defined).
 */
const HVM_PARAM_NAMES: readonly (string | undefined)[] = [
  "HVM_PARAM_CALLBACK_IRQ", "HVM_PARAM_STORE_PFN", "HVM_PARAM_STORE_EVTCHN", undefined,
  "HVM_PARAM_PAE_ENABLED", "HVM_PARAM_IOREQ_PFN", "HVM_PARAM_BUFIOREQ_PFN", undefined,
  undefined, "HVM_PARAM_VIRIDIAN", "HVM_PARAM_TIMER_MODE", "HVM_PARAM_HPET_ENABLED",
  "HVM_PARAM_IDENT_PT", "HVM_PARAM_DM_DOMAIN", "HVM_PARAM_ACPI_S_STATE", "HVM_PARAM_VM86_TSS",
  "HVM_PARAM_VPT_ALIGN", "HVM_PARAM_CONSOLE_PFN", "HVM_PARAM_CONSOLE_EVTCHN", "HVM_PARAM_ACPI_IOPORTS_LOCATION",
  "HVM_PARAM_MEMORY_EVENT_CR0", "HVM_PARAM_MEMORY_EVENT_CR3", "HVM_PARAM_MEMORY_EVENT_CR4", "HVM_PARAM_MEMORY_EVENT_INT3",
  "HVM_PARAM_NESTEDHVM", "HVM_PARAM_MEMORY_EVENT_SINGLE_STEP", "HVM_PARAM_BUFIOREQ_EVTCHN", "HVM_PARAM_PAGING_RING_PFN",
  "HVM_PARAM_MONITOR_RING_PFN", "HVM_PARAM_SHARING_RING_PFN", "HVM_PARAM_MEMORY_EVENT_MSR", "HVM_PARAM_TRIPLE_FAULT_REASON",
  "HVM_PARAM_IOREQ_SERVER_PFN", "HVM_PARAM_NR_IOREQ_SERVER_PAGES", "HVM_PARAM_VM_GENERATION_ID_ADDR", "HVM_PARAM_ALTP2M",
  "HVM_PARAM_X87_FIP_WIDTH", "HVM_PARAM_VM86_TSS_SIZED", "HVM_PARAM_MCA_CAP",
];

/** An HVM_PARAM index's name (Xen 4.17's params.h), or undefined for an index it does not define. */
export function hvmParamName(index: bigint): string | undefined {
  return index < BigInt(HVM_PARAM_NAMES.length) ? HVM_PARAM_NAMES[Number(index)] : undefined;
}

function libxlContents(record: LibxlRecord): DumpJson | undefined {
  if (record.type !== "EMULATOR_XENSTORE_DATA") return undefined;
  return { entries: record.entries.map(([key, value]) => [utf8Text(key), utf8Text(value)]) };
}

function typeIdOf(event: SaveFileEvent & { kind: "record" }): number {
  const record = event.record;
  if (record.type === "UNKNOWN") return record.typeId;
  return event.layer === "libxc" ? LibxcRecordType[record.type as LibxcRecordTypeName] : LibxlRecordType[record.type as LibxlRecordTypeName];
}

/**
 * The entry naming the bytes after a complete stream (xl's migration
 * message on a live migration's wire, or trailing data).
 *
 * @param offset - offset of the first byte after the stream
 * @param trailer - what the bytes are
 * @returns the entry
 */
export function dumpTrailerEntry(offset: number, trailer: StreamTrailer): DumpTrailerEntry {
  return {
    layer: "xl",
    kind: "trailer",
    offset,
    type: trailer.kind === "permission-to-go" ? "MIGRATION_MESSAGE" : "TRAILING_DATA",
    length: trailer.length,
    description: describeTrailer(trailer),
  };
}

/** The header types and record type names {@link DumpOptions.types} accepts. */
export const DUMP_TYPE_NAMES: readonly string[] = /*@__PURE__*/ [
  "XL_HEADER",
  "LIBXL_HEADER",
  "IMAGE_HEADER",
  "DOMAIN_HEADER",
  ...new Set([...Object.keys(LibxcRecordType), ...Object.keys(LibxlRecordType), "UNKNOWN"]),
];
