/**
 * The spec-vector generator's own byte layer: lays out headers, record
 * frames and record bodies field by field from the spec tables
 * (/work/shared/spec libxc-stream.md §2-6, libxl-stream.md §1-4,
 * xl-header.md §1), and walks such bytes back into values.
 *
 * Deliberately independent of the library: it imports only the library's
 * *types* (the shape of a decoded value), never its code. Type ids, header
 * constants and field layouts are written out here again from the spec, so a
 * vector built here checks the library's decoder and encoder against a
 * second reading of the spec rather than against themselves.
 *
 * The walker (`walkSaveFile`) exists for the captured Xen files, whose
 * expected values must come from somewhere other than our decoder; it is
 * lenient (it follows only valid streams) and throws a plain Error on
 * anything else.
 *
 * @module
 */
import { cat } from "../helpers/hex.js";
import type {
  DomainHeader,
  ImageHeader,
  LibxcRecord,
  LibxcStream,
  LibxlHeader,
  LibxlItem,
  LibxlRecord,
  LibxlStream,
  SaveFile,
  XlHeader,
} from "../../src/index.js";

// ------------------------------------------------------------- primitives

function uint(value: number | bigint, size: number, littleEndian: boolean): Uint8Array {
  let rest = BigInt(value);
  if (rest < 0n || rest >= 1n << BigInt(8 * size)) throw new Error(`${String(value)} does not fit in ${size} bytes`);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    out[littleEndian ? i : size - 1 - i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** One byte. */
export const u8 = (value: number): Uint8Array => uint(value, 1, true);
/** u16 in the given byte order (`le` true = little-endian). */
export const u16 = (value: number, le: boolean): Uint8Array => uint(value, 2, le);
/** u32 in the given byte order. */
export const u32 = (value: number, le: boolean): Uint8Array => uint(value, 4, le);
/** u64 in the given byte order. */
export const u64 = (value: number | bigint, le: boolean): Uint8Array => uint(value, 8, le);

/** Concatenation. */
export { cat };

/** `count` zero bytes. */
export const zeros = (count: number): Uint8Array => new Uint8Array(count);

/** ASCII text, one byte per character. */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => {
    const code = char.charCodeAt(0);
    if (code > 0x7f) throw new Error(`not ASCII: ${JSON.stringify(text)}`);
    return code;
  });
}

/** ASCII text followed by one NUL byte. */
export const asciiz = (text: string): Uint8Array => cat(ascii(text), zeros(1));

/** Bytes from hex text; whitespace and `|` are ignored. */
export function hex(text: string): Uint8Array {
  const digits = text.replace(/[\s|]/g, "");
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex: ${text}`);
  return Uint8Array.from(digits.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
}

/**
 * The suite's deterministic fill for bulk bytes (documented in
 * spec-vectors/README.md): "zero", or "mod251" where byte i of the field is
 * (seed + i) mod 251.
 */
export type Fill = { kind: "zero" } | { kind: "mod251"; seed: number };

/** `length` bytes of `fill`. */
export function fillBytes(fill: Fill, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (fill.kind === "mod251") for (let i = 0; i < length; i++) out[i] = (fill.seed + i) % 251;
  return out;
}

/** The fill that produced `bytes`, if it is one of the suite's fills. */
export function detectFill(bytes: Uint8Array): Fill | undefined {
  if (bytes.every((byte) => byte === 0)) return { kind: "zero" };
  const seed = bytes[0] as number;
  if (seed < 251 && bytes.every((byte, i) => byte === (seed + i) % 251)) return { kind: "mod251", seed };
  return undefined;
}

/** `bytes` with the byte at `offset` replaced (a one-byte fault). */
export function poke(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  if (offset < 0 || offset >= bytes.length) throw new Error(`poke: offset ${offset} outside ${bytes.length} bytes`);
  const out = bytes.slice();
  out[offset] = value;
  return out;
}

/** `bytes` with `patch` written at `offset`. */
export function patch(bytes: Uint8Array, offset: number, replacement: Uint8Array): Uint8Array {
  if (offset < 0 || offset + replacement.length > bytes.length) throw new Error(`patch: ${offset}+${replacement.length} outside ${bytes.length} bytes`);
  const out = bytes.slice();
  out.set(replacement, offset);
  return out;
}

// ------------------------------------------------------- spec constants

/** libxc image header (libxc-stream.md §2): marker, id "XENF". */
export const IHDR_MARKER = hex("ff ff ff ff ff ff ff ff");
export const IHDR_ID = 0x58454e46;
/** libxl header ident (libxl-stream.md §1). */
export const LIBXL_IDENT = ascii("LibxlFmt");
/** xl magic (xl-header.md §1.1): 32 bytes, the NUL included. */
export const XL_MAGIC = cat(ascii("Xen saved domain, xl format\n \0 \r"));
/** SAVEFILE_BYTEORDER_VALUE. */
export const XL_BYTEORDER = 0x01020304;

/** libxc record type ids (libxc-stream.md §5). */
export const LIBXC_TYPE = {
  END: 0x00,
  PAGE_DATA: 0x01,
  X86_PV_INFO: 0x02,
  X86_PV_P2M_FRAMES: 0x03,
  X86_PV_VCPU_BASIC: 0x04,
  X86_PV_VCPU_EXTENDED: 0x05,
  X86_PV_VCPU_XSAVE: 0x06,
  SHARED_INFO: 0x07,
  X86_TSC_INFO: 0x08,
  HVM_CONTEXT: 0x09,
  HVM_PARAMS: 0x0a,
  TOOLSTACK: 0x0b,
  X86_PV_VCPU_MSRS: 0x0c,
  VERIFY: 0x0d,
  CHECKPOINT: 0x0e,
  CHECKPOINT_DIRTY_PFN_LIST: 0x0f,
  STATIC_DATA_END: 0x10,
  X86_CPUID_POLICY: 0x11,
  X86_MSR_POLICY: 0x12,
} as const;

/** libxl record type ids (libxl-stream.md §3). */
export const LIBXL_TYPE = {
  END: 0x00,
  LIBXC_CONTEXT: 0x01,
  EMULATOR_XENSTORE_DATA: 0x02,
  EMULATOR_CONTEXT: 0x03,
  CHECKPOINT_END: 0x04,
  CHECKPOINT_STATE: 0x05,
} as const;

const nameOf = (table: Record<string, number>, id: number): string | undefined =>
  Object.keys(table).find((name) => table[name] === id);

/** Page types that carry one page of data: 0-4 and 9-0xC (libxc-stream.md §6.2). */
export const pageTypeHasData = (type: number): boolean => type <= 0x4 || (type >= 0x9 && type <= 0xc);

// ----------------------------------------------------------------- frames

/** Zero padding after a body of `length` bytes (to a multiple of 8). */
export const padFor = (length: number): Uint8Array => zeros((8 - (length % 8)) % 8);

/**
 * A record frame (libxc-stream.md §4): type u32, body_length u32, body,
 * padding. `lengthField` overrides the length written; `padding` the
 * padding bytes (default: zeros to a multiple of 8).
 */
export function frame(typeId: number, body: Uint8Array, le: boolean, options: { padding?: Uint8Array; lengthField?: number } = {}): Uint8Array {
  return cat(u32(typeId, le), u32(options.lengthField ?? body.length, le), body, options.padding ?? padFor(body.length));
}

// ---------------------------------------------------------------- headers

/** libxc image header, 24 bytes, always big-endian (libxc-stream.md §2). */
export function imageHeaderBytes(header: ImageHeader): Uint8Array {
  return cat(IHDR_MARKER, u32(IHDR_ID, false), u32(header.version, false), u16(header.options, false), u16(header.reserved1 ?? 0, false), u32(header.reserved2 ?? 0, false));
}

/** libxc domain header, 16 bytes, stream byte order (libxc-stream.md §3). */
export function domainHeaderBytes(header: DomainHeader, le: boolean): Uint8Array {
  return cat(u32(header.type, le), u16(header.pageShift, le), u16(header.reserved ?? 0, le), u32(header.xenMajor, le), u32(header.xenMinor, le));
}

/** libxl header, 16 bytes, always big-endian (libxl-stream.md §1). */
export function libxlHeaderBytes(header: LibxlHeader): Uint8Array {
  return cat(LIBXL_IDENT, u32(header.version, false), u32(header.options, false));
}

/** xl header and optional data (xl-header.md §1.1, §1.3). */
export function xlHeaderBytes(header: XlHeader): Uint8Array {
  const le = header.byteOrder === "little";
  const optional =
    header.config === undefined ? zeros(0) : cat(u32(header.config.length, le), header.config, header.optionalExtra ?? zeros(0));
  return cat(XL_MAGIC, u32(XL_BYTEORDER, le), u32(header.mandatoryFlags, le), u32(header.optionalFlags, le), u32(optional.length, le), optional);
}

// ----------------------------------------------------------- record bodies

const join = (parts: Uint8Array[]): Uint8Array => cat(...parts);
const extraOf = (record: { extra?: Uint8Array }): Uint8Array => record.extra ?? zeros(0);

/** Body of a libxc record, field by field (libxc-stream.md §6). */
export function libxcBody(record: LibxcRecord, le: boolean): Uint8Array {
  switch (record.type) {
    case "END":
    case "VERIFY":
    case "CHECKPOINT":
    case "STATIC_DATA_END":
      return extraOf(record);
    case "PAGE_DATA":
      return cat(
        u32(record.entries.length, le),
        u32(record.reserved ?? 0, le),
        join(record.entries.map((e) => u64((BigInt(e.type) << 60n) | (BigInt(e.reserved ?? 0) << 52n) | BigInt(e.pfn), le))),
        record.pages,
      );
    case "X86_PV_INFO":
      return cat(u8(record.guestWidth), u8(record.ptLevels), record.reserved ?? zeros(6), extraOf(record));
    case "X86_PV_P2M_FRAMES":
      return cat(u32(record.startPfn, le), u32(record.endPfn, le), join(record.frames.map((f) => u64(f, le))));
    case "X86_PV_VCPU_BASIC":
    case "X86_PV_VCPU_EXTENDED":
    case "X86_PV_VCPU_XSAVE":
    case "X86_PV_VCPU_MSRS":
      return cat(u32(record.vcpuId, le), u32(record.reserved ?? 0, le), record.context);
    case "SHARED_INFO":
    case "HVM_CONTEXT":
    case "TOOLSTACK":
      return record.data;
    case "X86_TSC_INFO":
      return cat(u32(record.mode, le), u32(record.khz, le), u64(record.nsec, le), u32(record.incarnation, le), u32(record.reserved ?? 0, le));
    case "HVM_PARAMS":
      return cat(u32(record.params.length, le), u32(record.reserved ?? 0, le), join(record.params.map((p) => cat(u64(p.index, le), u64(p.value, le)))));
    case "CHECKPOINT_DIRTY_PFN_LIST":
      return join(record.pfns.map((pfn) => u64(pfn, le)));
    case "X86_CPUID_POLICY":
      return join(record.entries.map((e) => cat(u32(e.leaf, le), u32(e.subleaf, le), u32(e.a, le), u32(e.b, le), u32(e.c, le), u32(e.d, le))));
    case "X86_MSR_POLICY":
      return join(record.entries.map((e) => cat(u32(e.index, le), u32(e.flags, le), u64(e.value, le))));
    case "UNKNOWN":
      return record.body;
  }
}

/** Type id of a libxc record. */
export const libxcTypeId = (record: LibxcRecord): number => (record.type === "UNKNOWN" ? record.typeId : LIBXC_TYPE[record.type]);

/** A whole libxc record: frame around {@link libxcBody}, padding kept. */
export function libxcRecordBytes(record: LibxcRecord, le: boolean): Uint8Array {
  return frame(libxcTypeId(record), libxcBody(record, le), le, record.padding === undefined ? {} : { padding: record.padding });
}

/** Body of a libxl record (libxl-stream.md §4). */
export function libxlBody(record: LibxlRecord, le: boolean): Uint8Array {
  switch (record.type) {
    case "END":
    case "LIBXC_CONTEXT":
    case "CHECKPOINT_END":
      return extraOf(record);
    case "EMULATOR_XENSTORE_DATA":
      return cat(u32(record.emulatorId, le), u32(record.index, le), join(record.entries.map(([key, value]) => cat(key, zeros(1), value, zeros(1)))));
    case "EMULATOR_CONTEXT":
      return cat(u32(record.emulatorId, le), u32(record.index, le), record.data);
    case "CHECKPOINT_STATE":
      return cat(u32(record.controlId, le), extraOf(record));
    case "UNKNOWN":
      return record.body;
  }
}

/** Type id of a libxl record. */
export const libxlTypeId = (record: LibxlRecord): number => (record.type === "UNKNOWN" ? record.typeId : LIBXL_TYPE[record.type]);

/** A whole libxl record. */
export function libxlRecordBytes(record: LibxlRecord, le: boolean): Uint8Array {
  return frame(libxlTypeId(record), libxlBody(record, le), le, record.padding === undefined ? {} : { padding: record.padding });
}

// ---------------------------------------------------------------- streams

/** A whole libxc stream: image header, domain header, records. */
export function libxcStreamBytes(stream: LibxcStream): Uint8Array {
  const le = (stream.imageHeader.options & 1) === 0;
  return cat(imageHeaderBytes(stream.imageHeader), domainHeaderBytes(stream.domainHeader, le), ...stream.records.map((r) => libxcRecordBytes(r, le)));
}

/** A whole libxl stream, nested libxc parts laid out inline (libxl-stream.md §5). */
export function libxlStreamBytes(stream: LibxlStream): Uint8Array {
  const le = (stream.header.options & 1) === 0;
  let libxcLe = true;
  const parts = [libxlHeaderBytes(stream.header)];
  for (const item of stream.items) {
    if (item.type === "LIBXC_STREAM") {
      libxcLe = (item.stream.imageHeader.options & 1) === 0;
      parts.push(libxcStreamBytes(item.stream));
    } else if (item.type === "LIBXC_RESUME") {
      parts.push(...item.records.map((r) => libxcRecordBytes(r, libxcLe)));
    } else {
      parts.push(libxlRecordBytes(item, le));
    }
  }
  return cat(...parts);
}

/** A whole save file: xl header (if any), then the stream. */
export function saveFileBytes(file: SaveFile): Uint8Array {
  const head = file.xl === undefined ? zeros(0) : xlHeaderBytes(file.xl);
  return cat(head, file.format === "libxl" ? libxlStreamBytes(file.stream) : libxcStreamBytes(file.stream));
}

// ----------------------------------------------------------------- walker

class Cursor {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    pos = 0,
  ) {
    this.pos = pos;
  }
  get left(): number {
    return this.bytes.length - this.pos;
  }
  take(count: number): Uint8Array {
    if (count > this.left) throw new Error(`walker: need ${count} bytes at ${this.pos}, ${this.left} left`);
    const out = this.bytes.subarray(this.pos, this.pos + count);
    this.pos += count;
    return out;
  }
  uint(size: number, le: boolean): bigint {
    const bytes = this.take(size);
    let value = 0n;
    for (let i = 0; i < size; i++) value = (value << 8n) | BigInt(bytes[le ? size - 1 - i : i] as number);
    return value;
  }
  u8(): number {
    return Number(this.uint(1, true));
  }
  u16(le: boolean): number {
    return Number(this.uint(2, le));
  }
  u32(le: boolean): number {
    return Number(this.uint(4, le));
  }
  u64(le: boolean): bigint {
    return this.uint(8, le);
  }
  peekU32(le: boolean, at = 0): number {
    const saved = this.pos;
    this.pos += at;
    const value = this.u32(le);
    this.pos = saved;
    return value;
  }
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const withExtra = <T extends object>(record: T, rest: Uint8Array): T => (rest.length > 0 ? { ...record, extra: rest } : record);

interface Frame {
  typeId: number;
  body: Cursor;
  padding: Uint8Array;
}

function takeFrame(c: Cursor, le: boolean): Frame {
  const typeId = c.u32(le);
  const length = c.u32(le);
  const body = new Cursor(c.take(length));
  const padding = c.take((8 - (length % 8)) % 8);
  return { typeId, body, padding };
}

function keepPadding<T extends object>(record: T, padding: Uint8Array): T {
  return padding.some((byte) => byte !== 0) ? { ...record, padding } : record;
}

function walkLibxcRecord(frame: Frame, le: boolean, pageSize: number, keepUnknown: boolean): LibxcRecord {
  const b = frame.body;
  const all = (): Uint8Array => b.take(b.left);
  const name = nameOf(LIBXC_TYPE, frame.typeId);
  let record: LibxcRecord;
  switch (name) {
    case "END":
    case "VERIFY":
    case "CHECKPOINT":
    case "STATIC_DATA_END":
      record = withExtra({ type: name }, all());
      break;
    case "PAGE_DATA": {
      const count = b.u32(le);
      const reserved = b.u32(le);
      const entries = [];
      let dataPages = 0;
      for (let i = 0; i < count; i++) {
        const word = b.u64(le);
        const type = Number(word >> 60n);
        if (type >= 5 && type <= 8) throw new Error(`walker: page type ${type}`);
        if (pageTypeHasData(type)) dataPages++;
        entries.push({ pfn: Number(word & ((1n << 52n) - 1n)), type, reserved: Number((word >> 52n) & 0xffn) });
      }
      const pages = all();
      if (count === 0 || pages.length !== dataPages * pageSize) throw new Error("walker: PAGE_DATA sizes");
      record = { type: "PAGE_DATA", reserved, entries, pages };
      break;
    }
    case "X86_PV_INFO":
      record = withExtra({ type: "X86_PV_INFO", guestWidth: b.u8(), ptLevels: b.u8(), reserved: b.take(6) }, all());
      break;
    case "X86_PV_P2M_FRAMES": {
      const startPfn = b.u32(le);
      const endPfn = b.u32(le);
      const frames = [];
      while (b.left > 0) frames.push(b.u64(le));
      record = { type: "X86_PV_P2M_FRAMES", startPfn, endPfn, frames };
      break;
    }
    case "X86_PV_VCPU_BASIC":
    case "X86_PV_VCPU_EXTENDED":
    case "X86_PV_VCPU_XSAVE":
    case "X86_PV_VCPU_MSRS":
      record = { type: name, vcpuId: b.u32(le), reserved: b.u32(le), context: all() };
      break;
    case "SHARED_INFO":
    case "HVM_CONTEXT":
    case "TOOLSTACK":
      record = { type: name, data: all() };
      break;
    case "X86_TSC_INFO":
      record = { type: "X86_TSC_INFO", mode: b.u32(le), khz: b.u32(le), nsec: b.u64(le), incarnation: b.u32(le), reserved: b.u32(le) };
      break;
    case "HVM_PARAMS": {
      const count = b.u32(le);
      const reserved = b.u32(le);
      const params = [];
      for (let i = 0; i < count; i++) params.push({ index: b.u64(le), value: b.u64(le) });
      record = { type: "HVM_PARAMS", reserved, params };
      break;
    }
    case "CHECKPOINT_DIRTY_PFN_LIST": {
      const pfns = [];
      while (b.left > 0) pfns.push(b.u64(le));
      record = { type: "CHECKPOINT_DIRTY_PFN_LIST", pfns };
      break;
    }
    case "X86_CPUID_POLICY": {
      const entries = [];
      while (b.left > 0) entries.push({ leaf: b.u32(le), subleaf: b.u32(le), a: b.u32(le), b: b.u32(le), c: b.u32(le), d: b.u32(le) });
      record = { type: "X86_CPUID_POLICY", entries };
      break;
    }
    case "X86_MSR_POLICY": {
      const entries = [];
      while (b.left > 0) entries.push({ index: b.u32(le), flags: b.u32(le), value: b.u64(le) });
      record = { type: "X86_MSR_POLICY", entries };
      break;
    }
    default:
      if (frame.typeId < 0x80000000 && !keepUnknown) throw new Error(`walker: unknown mandatory libxc record ${frame.typeId}`);
      record = { type: "UNKNOWN", typeId: frame.typeId, body: all() };
  }
  if (b.left !== 0) throw new Error(`walker: ${name ?? "?"} body has ${b.left} bytes left`);
  return keepPadding(record, frame.padding);
}

function walkLibxlRecord(frame: Frame, le: boolean, keepUnknown: boolean): LibxlRecord {
  const b = frame.body;
  const all = (): Uint8Array => b.take(b.left);
  const name = nameOf(LIBXL_TYPE, frame.typeId);
  let record: LibxlRecord;
  switch (name) {
    case "END":
    case "LIBXC_CONTEXT":
    case "CHECKPOINT_END":
      record = withExtra({ type: name }, all());
      break;
    case "EMULATOR_XENSTORE_DATA": {
      const emulatorId = b.u32(le);
      const index = b.u32(le);
      const data = all();
      const entries: Array<[Uint8Array, Uint8Array]> = [];
      for (let pos = 0; pos < data.length; ) {
        const keyEnd = data.indexOf(0, pos);
        const valueEnd = data.indexOf(0, keyEnd + 1);
        if (keyEnd < 0 || valueEnd < 0) throw new Error("walker: xenstore pair");
        entries.push([data.subarray(pos, keyEnd), data.subarray(keyEnd + 1, valueEnd)]);
        pos = valueEnd + 1;
      }
      record = { type: "EMULATOR_XENSTORE_DATA", emulatorId, index, entries };
      break;
    }
    case "EMULATOR_CONTEXT":
      record = { type: "EMULATOR_CONTEXT", emulatorId: b.u32(le), index: b.u32(le), data: all() };
      break;
    case "CHECKPOINT_STATE":
      record = withExtra({ type: "CHECKPOINT_STATE", controlId: b.u32(le) }, all());
      break;
    default:
      if (frame.typeId < 0x80000000 && !keepUnknown) throw new Error(`walker: unknown mandatory libxl record ${frame.typeId}`);
      record = { type: "UNKNOWN", typeId: frame.typeId, body: all() };
  }
  return keepPadding(record, frame.padding);
}

function walkImageHeader(c: Cursor): ImageHeader {
  if (!sameBytes(c.take(8), IHDR_MARKER) || c.u32(false) !== IHDR_ID) throw new Error("walker: not a libxc image header");
  return { version: c.u32(false), options: c.u16(false), reserved1: c.u16(false), reserved2: c.u32(false) };
}

function walkDomainHeader(c: Cursor, le: boolean): DomainHeader {
  return { type: c.u32(le), pageShift: c.u16(le), reserved: c.u16(le), xenMajor: c.u32(le), xenMinor: c.u32(le) };
}

/** libxc state carried across a libxl checkpoint interlude. */
interface LibxcWalk {
  le: boolean;
  keepUnknown: boolean;
  pageSize: number;
  hvm: boolean;
}

/** Reads libxc records up to and including END or CHECKPOINT (or to the end of the bytes). */
function walkLibxcRecords(c: Cursor, walk: LibxcWalk, stopAtCheckpoint: boolean): LibxcRecord[] {
  const records: LibxcRecord[] = [];
  while (c.left > 0) {
    const record = walkLibxcRecord(takeFrame(c, walk.le), walk.le, walk.pageSize, walk.keepUnknown);
    records.push(record);
    if (record.type === "END" || (stopAtCheckpoint && record.type === "CHECKPOINT")) break;
  }
  return records;
}

function walkLibxc(c: Cursor, stopAtCheckpoint: boolean, keepUnknown: boolean): { stream: LibxcStream; walk: LibxcWalk } {
  const imageHeader = walkImageHeader(c);
  const le = (imageHeader.options & 1) === 0;
  const domainHeader = walkDomainHeader(c, le);
  const walk = { le, keepUnknown, pageSize: 2 ** domainHeader.pageShift, hvm: domainHeader.type === 2 };
  return { stream: { imageHeader, domainHeader, records: walkLibxcRecords(c, walk, stopAtCheckpoint) }, walk };
}

/**
 * Walks a libxl stream. Checkpoints follow libxl-stream.md §5: after a
 * libxc CHECKPOINT, libxl records up to CHECKPOINT_END; then a
 * CHECKPOINT_STATE (taken as libxl when the libxc domain is HVM or its body
 * is shorter than 8 bytes — the suite's documented rule), then libxc resumes.
 */
function walkLibxl(c: Cursor, keepUnknown: boolean): LibxlStream {
  const ident = c.take(8);
  if (!sameBytes(ident, LIBXL_IDENT)) throw new Error("walker: not a libxl header");
  const header = { version: c.u32(false), options: c.u32(false) };
  const le = (header.options & 1) === 0;
  const items: LibxlItem[] = [];
  let walk: LibxcWalk | undefined;
  let mode: "records" | "checkpoint" | "afterCheckpointEnd" = "records";
  while (c.left > 0) {
    if (mode === "afterCheckpointEnd") {
      const isState = c.peekU32(le) === LIBXL_TYPE.CHECKPOINT_STATE && (c.peekU32(le, 4) < 8 || walk?.hvm === true);
      if (!isState) {
        const records = walkLibxcRecords(c, walk as LibxcWalk, true);
        items.push({ type: "LIBXC_RESUME", records });
        mode = records[records.length - 1]?.type === "CHECKPOINT" ? "checkpoint" : "records";
        continue;
      }
    }
    const record = walkLibxlRecord(takeFrame(c, le), le, keepUnknown);
    items.push(record);
    if (record.type === "LIBXC_CONTEXT") {
      const part = walkLibxc(c, true, keepUnknown);
      walk = part.walk;
      items.push({ type: "LIBXC_STREAM", stream: part.stream });
      mode = part.stream.records[part.stream.records.length - 1]?.type === "CHECKPOINT" ? "checkpoint" : "records";
    } else if (record.type === "CHECKPOINT_END") {
      mode = "afterCheckpointEnd";
    } else if (record.type === "CHECKPOINT_STATE") {
      const records = walkLibxcRecords(c, walk as LibxcWalk, true);
      if (records.length > 0) {
        items.push({ type: "LIBXC_RESUME", records });
        mode = records[records.length - 1]?.type === "CHECKPOINT" ? "checkpoint" : "records";
      }
    } else if (record.type === "END") {
      break;
    }
  }
  return { header, items };
}

function walkXlHeader(c: Cursor): XlHeader {
  if (!sameBytes(c.take(32), XL_MAGIC)) throw new Error("walker: not an xl header");
  const le = c.peekU32(true) === XL_BYTEORDER;
  if (c.u32(le) !== XL_BYTEORDER) throw new Error("walker: xl byteorder");
  const header: XlHeader = { byteOrder: le ? "little" : "big", mandatoryFlags: c.u32(le), optionalFlags: c.u32(le) };
  const optionalLength = c.u32(le);
  if (optionalLength > 0) {
    const optional = new Cursor(c.take(optionalLength));
    header.config = optional.take(optional.u32(le));
    if (optional.left > 0) header.optionalExtra = optional.take(optional.left);
  }
  return header;
}

/**
 * Walks a valid save file of the given layer into its value, from the
 * spec tables alone. Throws a plain Error on anything it cannot follow;
 * unknown mandatory records only pass with `keepUnknownMandatory`.
 */
export function walkSaveFile(bytes: Uint8Array, layer: "xl" | "libxl" | "libxc", keepUnknownMandatory = false): SaveFile {
  const c = new Cursor(bytes);
  let xl: XlHeader | undefined;
  let format: "libxl" | "libxc" = layer === "xl" ? "libxl" : layer;
  if (layer === "xl") {
    xl = walkXlHeader(c);
    format = (xl.mandatoryFlags & 2) !== 0 ? "libxl" : "libxc";
  }
  const head = xl === undefined ? {} : { xl };
  let file: SaveFile;
  if (format === "libxl") file = { format, ...head, stream: walkLibxl(c, keepUnknownMandatory) };
  else file = { format, ...head, stream: walkLibxc(c, false, keepUnknownMandatory).stream };
  if (c.left !== 0) throw new Error(`walker: ${c.left} bytes after the end`);
  return file;
}
