/**
 * A fast, deterministic generator of large, valid x86 PV migration streams,
 * for memory tests and benchmarks: a libxc v3 stream (optionally wrapped in
 * a libxl stream and an xl save-file header) of a requested size, with the
 * structure Xen 4.17's saver writes for a 64-bit PV guest
 * (xg_sr_save.c: write_headers(), xg_sr_save_x86_pv.c:
 * x86_pv_start_of_stream(), write_batch(), x86_pv_end_of_checkpoint()):
 *
 * ```
 * [xl header] [libxl header, LIBXC_CONTEXT]
 * image header, domain header,
 * X86_PV_INFO, X86_CPUID_POLICY, X86_MSR_POLICY, STATIC_DATA_END,
 * X86_PV_P2M_FRAMES, PAGE_DATA x ceil(pages / 1024),
 * X86_TSC_INFO, SHARED_INFO, (X86_PV_VCPU_BASIC, X86_PV_VCPU_EXTENDED) per vCPU,
 * END [libxl END]
 * ```
 *
 * The bytes are written here field by field from the spec tables
 * (libxc-stream.md, libxl-stream.md, xl-header.md), not with the library's
 * encoder, so a test can check one against the other; only the spec's
 * constants (type ids, sizes, magic numbers) are shared with it. Generating is cheap:
 * page contents come from one pool of `batchPages` pseudo-random pages,
 * built once per call and shared, never modified, by every PAGE_DATA record;
 * only the pfn array of each batch is new.
 *
 * Chunks: the part before the first PAGE_DATA is one chunk; each PAGE_DATA
 * record is two (its header and pfn array, then a view of the page pool);
 * the part after the last PAGE_DATA is one chunk. No chunk is ever modified
 * after it is yielded, so a consumer may keep any of them.
 *
 * Every stream passes Xen's verify-stream-v2 (`-f libxc|libxl|xl`).
 *
 * @module
 */
import {
  COUNT_HEADER_SIZE,
  CPUID_POLICY_ENTRY_SIZE,
  DHDR_SIZE,
  DomainType,
  IHDR_ID,
  IHDR_SIZE,
  IHDR_VERSION_MAX,
  LibxcRecordType,
  MAX_BATCH_SIZE,
  MSR_POLICY_ENTRY_SIZE,
  P2M_FRAMES_HEADER_SIZE,
  PAGE_DATA_ENTRY_SIZE,
  PAGE_SHIFT_MIN,
  PageType,
  VCPU_CONTEXT_SIZE_64,
  VCPU_HEADER_SIZE,
  X86_PV_INFO_SIZE,
  X86_TSC_INFO_SIZE,
} from "../libxc/constants.js";
import { p2mEntriesPerFrame, p2mFrameCountFor, PV64_GUEST_WIDTH, PV64_PT_LEVELS, x86PvInfo64 } from "../libxc/pv-guest.js";
import { LIBXL_HDR_SIZE, LIBXL_IDENT_BYTES, LIBXL_VERSION, LibxlRecordType } from "../libxl/constants.js";
import { RECORD_HEADER_SIZE, paddedLength } from "../wire/frame.js";
import { XL_BYTEORDER_VALUE, XL_CONFIG_LENGTH_SIZE, XL_HEADER_SIZE, XL_MAGIC, XlMandatoryFlag } from "../xl/constants.js";
import { Prng } from "./prng.js";
import type { LibxcRecord, PfnEntry } from "../libxc/types.js";

/** Options of {@link generatePvStream} and {@link pvStreamLayout}. */
export interface PvStreamOptions {
  /**
   * Upper bound on the stream's size in bytes. The generator fills it with
   * as many guest pages as fit (at least one).
   */
  size: number;
  /**
   * The outermost layer: a bare libxc stream, a libxl stream around it, or
   * an xl save file (xl header + libxl stream).
   * @defaultValue "libxc"
   */
  format?: "libxc" | "libxl" | "xl";
  /**
   * Pages per PAGE_DATA record (Xen's saver uses MAX_BATCH_SIZE).
   * @defaultValue 1024
   */
  batchPages?: number;
  /**
   * Number of vCPUs (each gets X86_PV_VCPU_BASIC and _EXTENDED).
   * @defaultValue 2
   */
  vcpus?: number;
  /**
   * Seed of the page contents and policy values.
   * @defaultValue 1
   */
  seed?: number;
}

/** Where everything lies in a generated stream. */
export interface PvStreamLayout {
  /** Total size in bytes (at most `options.size`). */
  totalBytes: number;
  /** Guest pages (pfns 0 .. pages-1, each with one page of data). */
  pages: number;
  /** PAGE_DATA records. */
  batches: number;
  /** Offset of the libxc image header. */
  libxcOffset: number;
  /** Offset of the first PAGE_DATA record. */
  pageDataOffset: number;
  /** Bytes of all PAGE_DATA records together. */
  pageDataBytes: number;
  /** Number of libxc records, END included. */
  libxcRecords: number;
}

/** Xen x86's page size (page_shift 12). */
const PAGE_SHIFT = PAGE_SHIFT_MIN;
const PAGE_SIZE = 2 ** PAGE_SHIFT;
/** 64-bit guest: 512 p2m entries of 8 bytes per frame. */
const P2M_ENTRIES_PER_FRAME = p2mEntriesPerFrame(PV64_GUEST_WIDTH, PAGE_SIZE);
const CPUID_LEAVES = 51;
const MSR_ENTRIES = 2;
/** Extended vCPU context as Xen >= 4.10 writes it. */
const VCPU_EXTENDED = 64;

/** A small domain config, as xl stores it (JSON, NUL-terminated). */
const XL_CONFIG_TEXT = '{"c_info":{"type":"pv","name":"generated-pv"},"b_info":{"max_vcpus":2,"max_memkb":131072}}\0';

function recordSize(bodyLength: number): number {
  return RECORD_HEADER_SIZE + paddedLength(bodyLength);
}

interface Resolved {
  format: "libxc" | "libxl" | "xl";
  batchPages: number;
  vcpus: number;
  seed: number;
  size: number;
}

function resolve(options: PvStreamOptions): Resolved {
  const { size } = options;
  const batchPages = options.batchPages ?? MAX_BATCH_SIZE;
  const vcpus = options.vcpus ?? 2;
  const format = options.format ?? "libxc";
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`pv stream: size must be a safe non-negative integer, got ${size}`);
  if (!Number.isInteger(batchPages) || batchPages < 1 || batchPages > MAX_BATCH_SIZE) {
    throw new RangeError(`pv stream: batchPages must be 1..${MAX_BATCH_SIZE}, got ${batchPages}`);
  }
  if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > 128) throw new RangeError(`pv stream: vcpus must be 1..128, got ${vcpus}`);
  if (format !== "libxc" && format !== "libxl" && format !== "xl") throw new RangeError(`pv stream: unknown format ${String(format)}`);
  return { format, batchPages, vcpus, seed: (options.seed ?? 1) >>> 0 || 1, size };
}

/** Bytes before the libxc image header. */
function outerHeadSize(format: Resolved["format"]): number {
  const libxl = LIBXL_HDR_SIZE + RECORD_HEADER_SIZE; // header + LIBXC_CONTEXT
  if (format === "libxc") return 0;
  if (format === "libxl") return libxl;
  return XL_HEADER_SIZE + XL_CONFIG_LENGTH_SIZE + XL_CONFIG_TEXT.length + libxl;
}

/** Frames of the p2m of pfns 0..pages-1, as the saver counts them. */
function p2mFrames(pages: number): number {
  return p2mFrameCountFor(pages - 1, PV64_GUEST_WIDTH, PAGE_SIZE);
}

/** Bytes from the image header to the first PAGE_DATA record. */
function libxcHeadSize(pages: number): number {
  return (
    IHDR_SIZE +
    DHDR_SIZE +
    recordSize(X86_PV_INFO_SIZE) +
    recordSize(CPUID_LEAVES * CPUID_POLICY_ENTRY_SIZE) +
    recordSize(MSR_ENTRIES * MSR_POLICY_ENTRY_SIZE) +
    recordSize(0) + // STATIC_DATA_END
    recordSize(P2M_FRAMES_HEADER_SIZE + 8 * p2mFrames(pages))
  );
}

/** Bytes after the last PAGE_DATA record. */
function tailSize(r: Resolved): number {
  return (
    recordSize(X86_TSC_INFO_SIZE) +
    recordSize(PAGE_SIZE) +
    r.vcpus * (recordSize(VCPU_HEADER_SIZE + VCPU_CONTEXT_SIZE_64) + recordSize(VCPU_HEADER_SIZE + VCPU_EXTENDED)) +
    recordSize(0) + // END
    (r.format === "libxc" ? 0 : recordSize(0)) // libxl END
  );
}

function pageDataSize(pages: number, batchPages: number): number {
  const full = Math.floor(pages / batchPages);
  const rest = pages - full * batchPages;
  const batch = (n: number): number => recordSize(COUNT_HEADER_SIZE + n * (PAGE_DATA_ENTRY_SIZE + PAGE_SIZE));
  return full * batch(batchPages) + (rest > 0 ? batch(rest) : 0);
}

function totalSize(r: Resolved, pages: number): number {
  return outerHeadSize(r.format) + libxcHeadSize(pages) + pageDataSize(pages, r.batchPages) + tailSize(r);
}

/**
 * Where everything lies in the stream {@link generatePvStream} yields for
 * these options, without generating it.
 *
 * @param options - size, format and shape
 * @returns the layout; `totalBytes` is the exact stream size
 * @throws RangeError for options out of range
 */
export function pvStreamLayout(options: PvStreamOptions): PvStreamLayout {
  const r = resolve(options);
  const perPage = PAGE_DATA_ENTRY_SIZE + PAGE_SIZE;
  // First guess ignoring per-batch headers and p2m frames, then step down.
  let pages = Math.max(1, Math.floor((r.size - totalSize(r, 0)) / perPage));
  while (pages > 1 && totalSize(r, pages) > r.size) {
    const over = totalSize(r, pages) - r.size;
    pages -= Math.max(1, Math.floor(over / perPage));
  }
  pages = Math.max(1, pages);
  const libxcOffset = outerHeadSize(r.format);
  const pageDataOffset = libxcOffset + libxcHeadSize(pages);
  const batches = Math.ceil(pages / r.batchPages);
  return {
    totalBytes: totalSize(r, pages),
    pages,
    batches,
    libxcOffset,
    pageDataOffset,
    pageDataBytes: pageDataSize(pages, r.batchPages),
    libxcRecords: 5 + batches + 2 + 2 * r.vcpus + 1,
  };
}

/** The page type of pfn `pfn`: a few page tables among ordinary pages. */
function pageTypeOf(pfn: number): number {
  if (pfn === 1) return PageType.L4TAB_PINNED;
  if (pfn === 2) return PageType.L3TAB_PINNED;
  if (pfn % 4096 === 3) return PageType.L2TAB;
  if (pfn % 512 === 4) return PageType.L1TAB;
  return PageType.NOTAB;
}

/** Little-endian field writer over one fresh buffer. */
class Fields {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number): void {
    this.view.setUint8(this.pos, value);
    this.pos += 1;
  }

  u16(value: number, littleEndian = true): void {
    this.view.setUint16(this.pos, value, littleEndian);
    this.pos += 2;
  }

  u32(value: number, littleEndian = true): void {
    this.view.setUint32(this.pos, value >>> 0, littleEndian);
    this.pos += 4;
  }

  /** A u64 given as two u32 halves, little-endian. */
  u64(low: number, high: number): void {
    this.u32(low);
    this.u32(high);
  }

  raw(bytes: Uint8Array): void {
    this.bytes.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  ascii(text: string): void {
    for (let i = 0; i < text.length; i++) this.u8(text.charCodeAt(i));
  }

  recordHeader(type: number, bodyLength: number): void {
    this.u32(type);
    this.u32(bodyLength);
  }

  zeros(count: number): void {
    this.pos += count; // fresh buffers are zeroed
  }
}

/** The guest state every generated stream shares (deterministic per seed). */
interface GuestState {
  pool: Uint8Array;
  cpuid: Uint32Array;
  msrValues: Uint32Array;
  sharedInfo: Uint8Array;
  vcpuContexts: Uint8Array[];
  vcpuExtended: Uint8Array[];
}

function guestState(r: Resolved): GuestState {
  const random = new Prng(r.seed);
  const pool = random.bytes(r.batchPages * PAGE_SIZE);
  const cpuid = new Uint32Array(CPUID_LEAVES * 4);
  for (let i = 0; i < cpuid.length; i++) cpuid[i] = random.u32();
  const msrValues = new Uint32Array(MSR_ENTRIES * 2);
  for (let i = 0; i < msrValues.length; i++) msrValues[i] = random.u32();
  const sharedInfo = random.bytes(PAGE_SIZE);
  const vcpuContexts: Uint8Array[] = [];
  const vcpuExtended: Uint8Array[] = [];
  for (let v = 0; v < r.vcpus; v++) {
    vcpuContexts.push(random.bytes(VCPU_CONTEXT_SIZE_64));
    vcpuExtended.push(random.bytes(VCPU_EXTENDED));
  }
  return { pool, cpuid, msrValues, sharedInfo, vcpuContexts, vcpuExtended };
}

/** CPUID leaf `i`: leaves 0..0xd, then extended leaves 0x80000000.. */
function cpuidLeaf(i: number): number {
  return i < 14 ? i : 0x8000_0000 + (i - 14);
}

/** The MSRs of the policy record: MSR_INTEL_PLATFORM_INFO, MSR_ARCH_CAPABILITIES. */
const MSR_INDICES = [0x0000_00ce, 0x0000_010a] as const;

function headChunk(r: Resolved, layout: PvStreamLayout, guest: GuestState): Uint8Array {
  const out = new Fields(layout.pageDataOffset);
  if (r.format === "xl") {
    // xl-header.md: magic, byteorder, mandatory_flags, optional_flags,
    // optional_data_len (native = little-endian u32s), then config_len + config.
    out.raw(XL_MAGIC);
    out.u32(XL_BYTEORDER_VALUE);
    out.u32(XlMandatoryFlag.JSON | XlMandatoryFlag.STREAMV2);
    out.u32(0);
    out.u32(XL_CONFIG_LENGTH_SIZE + XL_CONFIG_TEXT.length);
    out.u32(XL_CONFIG_TEXT.length);
    out.ascii(XL_CONFIG_TEXT);
  }
  if (r.format !== "libxc") {
    // libxl-stream.md: ident "LibxlFmt", version 2, options 0, big-endian.
    out.raw(LIBXL_IDENT_BYTES);
    out.u32(LIBXL_VERSION, false);
    out.u32(0, false);
    out.recordHeader(LibxlRecordType.LIBXC_CONTEXT, 0);
  }
  // Image header (big-endian): marker, "XENF", version 3, options 0, reserved.
  out.u32(0xffff_ffff, false);
  out.u32(0xffff_ffff, false);
  out.u32(IHDR_ID, false);
  out.u32(IHDR_VERSION_MAX, false);
  out.u16(0, false);
  out.u16(0, false);
  out.u32(0, false);
  // Domain header: x86 PV, page_shift 12, reserved, Xen 4.17.
  out.u32(DomainType.X86_PV);
  out.u16(PAGE_SHIFT);
  out.u16(0);
  out.u32(4);
  out.u32(17);
  // X86_PV_INFO: 64-bit guest, 4 levels, 6 reserved bytes.
  out.recordHeader(LibxcRecordType.X86_PV_INFO, X86_PV_INFO_SIZE);
  out.u8(PV64_GUEST_WIDTH);
  out.u8(PV64_PT_LEVELS);
  out.zeros(6);
  // X86_CPUID_POLICY: leaf, subleaf (none), a, b, c, d.
  out.recordHeader(LibxcRecordType.X86_CPUID_POLICY, CPUID_LEAVES * CPUID_POLICY_ENTRY_SIZE);
  for (let i = 0; i < CPUID_LEAVES; i++) {
    out.u32(cpuidLeaf(i));
    out.u32(0xffff_ffff);
    for (let w = 0; w < 4; w++) out.u32(guest.cpuid[i * 4 + w] as number);
  }
  // X86_MSR_POLICY: index, flags 0, value.
  out.recordHeader(LibxcRecordType.X86_MSR_POLICY, MSR_ENTRIES * MSR_POLICY_ENTRY_SIZE);
  for (let i = 0; i < MSR_ENTRIES; i++) {
    out.u32(MSR_INDICES[i] as number);
    out.u32(0);
    out.u64(guest.msrValues[i * 2] as number, guest.msrValues[i * 2 + 1] as number);
  }
  out.recordHeader(LibxcRecordType.STATIC_DATA_END, 0);
  // X86_PV_P2M_FRAMES: start 0, end (inclusive), one frame pfn per 512 entries.
  const frames = p2mFrames(layout.pages);
  out.recordHeader(LibxcRecordType.X86_PV_P2M_FRAMES, P2M_FRAMES_HEADER_SIZE + 8 * frames);
  out.u32(0);
  out.u32(frames * P2M_ENTRIES_PER_FRAME - 1);
  for (let i = 0; i < frames; i++) out.u64(layout.pages - 1 - (i % layout.pages), 0);
  if (out.pos !== out.bytes.length) throw new Error(`pv stream: head is ${out.pos} bytes, expected ${out.bytes.length}`);
  return out.bytes;
}

/** Header, count header and pfn array of the PAGE_DATA record for pfns first..first+count-1. */
function pageDataPrefix(first: number, count: number): Uint8Array {
  const out = new Fields(RECORD_HEADER_SIZE + COUNT_HEADER_SIZE + count * PAGE_DATA_ENTRY_SIZE);
  out.recordHeader(LibxcRecordType.PAGE_DATA, COUNT_HEADER_SIZE + count * (PAGE_DATA_ENTRY_SIZE + PAGE_SIZE));
  out.u32(count);
  out.u32(0);
  for (let i = 0; i < count; i++) {
    const pfn = first + i;
    const high = Math.floor(pfn / 0x1_0000_0000);
    out.u64(pfn >>> 0, ((pageTypeOf(pfn) << 28) | high) >>> 0);
  }
  return out.bytes;
}

function tailChunk(r: Resolved, guest: GuestState): Uint8Array {
  const out = new Fields(tailSize(r));
  // X86_TSC_INFO: mode 0 (default), 2.6 GHz, nsec, incarnation 1, reserved.
  out.recordHeader(LibxcRecordType.X86_TSC_INFO, X86_TSC_INFO_SIZE);
  out.u32(0);
  out.u32(2_600_000);
  out.u64(0xd693_a400, 0x3); // 16.5 s
  out.u32(1);
  out.u32(0);
  out.recordHeader(LibxcRecordType.SHARED_INFO, PAGE_SIZE);
  out.raw(guest.sharedInfo);
  for (let v = 0; v < r.vcpus; v++) {
    out.recordHeader(LibxcRecordType.X86_PV_VCPU_BASIC, VCPU_HEADER_SIZE + VCPU_CONTEXT_SIZE_64);
    out.u32(v);
    out.u32(0);
    out.raw(guest.vcpuContexts[v] as Uint8Array);
    out.recordHeader(LibxcRecordType.X86_PV_VCPU_EXTENDED, VCPU_HEADER_SIZE + VCPU_EXTENDED);
    out.u32(v);
    out.u32(0);
    out.raw(guest.vcpuExtended[v] as Uint8Array);
  }
  out.recordHeader(LibxcRecordType.END, 0);
  if (r.format !== "libxc") out.recordHeader(LibxlRecordType.END, 0);
  if (out.pos !== out.bytes.length) throw new Error(`pv stream: tail is ${out.pos} bytes, expected ${out.bytes.length}`);
  return out.bytes;
}

/**
 * Generates a valid PV stream of at most `options.size` bytes as chunks
 * (see the module documentation for the chunk layout). Deterministic: the
 * same options always give the same bytes. Holds one pool of
 * `batchPages` pages (4 MiB by default) plus one pfn array at a time.
 *
 * @param options - size, format and shape
 * @returns an iterator of chunks whose concatenation is the stream
 * @throws RangeError for options out of range
 *
 * @example
 * ```ts
 * import { generatePvStream, pvStreamLayout } from "xen-migration-stream/testing";
 * let bytes = 0;
 * for (const chunk of generatePvStream({ size: 64 << 20, format: "xl" })) bytes += chunk.length;
 * bytes === pvStreamLayout({ size: 64 << 20, format: "xl" }).totalBytes; //=> true
 * ```
 */
export function* generatePvStream(options: PvStreamOptions): Generator<Uint8Array, void, undefined> {
  const r = resolve(options);
  const layout = pvStreamLayout(options);
  const guest = guestState(r);
  yield headChunk(r, layout, guest);
  for (let first = 0; first < layout.pages; first += r.batchPages) {
    const count = Math.min(r.batchPages, layout.pages - first);
    yield pageDataPrefix(first, count);
    yield guest.pool.subarray(0, count * PAGE_SIZE);
  }
  yield tailChunk(r, guest);
}

/** The headers of a generated stream, as values. */
export interface PvStreamHeaders {
  /** The xl header (format "xl" only). */
  xl?: {
    byteOrder: "little";
    mandatoryFlags: number;
    optionalFlags: number;
    config: Uint8Array;
  };
  /** The libxl header (formats "libxl" and "xl"). */
  libxl?: { version: number; options: number };
  imageHeader: { version: number; options: number; reserved1: number; reserved2: number };
  domainHeader: { type: number; pageShift: number; reserved: number; xenMajor: number; xenMinor: number };
}

function asciiBytes(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * The headers of the stream {@link generatePvStream} yields for `options`,
 * as decoded values.
 *
 * @param options - as for {@link generatePvStream}
 * @returns the headers
 */
export function pvStreamHeaders(options: PvStreamOptions): PvStreamHeaders {
  const r = resolve(options);
  const headers: PvStreamHeaders = {
    imageHeader: { version: IHDR_VERSION_MAX, options: 0, reserved1: 0, reserved2: 0 },
    domainHeader: { type: DomainType.X86_PV, pageShift: PAGE_SHIFT, reserved: 0, xenMajor: 4, xenMinor: 17 },
  };
  if (r.format !== "libxc") headers.libxl = { version: LIBXL_VERSION, options: 0 };
  if (r.format === "xl") {
    const mandatoryFlags = XlMandatoryFlag.JSON | XlMandatoryFlag.STREAMV2;
    headers.xl = { byteOrder: "little", mandatoryFlags, optionalFlags: 0, config: asciiBytes(XL_CONFIG_TEXT) };
  }
  return headers;
}

function u64(low: number, high: number): bigint {
  return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
}

/**
 * The libxc records of the stream {@link generatePvStream} yields for
 * `options`, as values (END included), generated lazily: the page data of
 * every PAGE_DATA record is a view of one shared page pool. Encoding them
 * after {@link pvStreamHeaders} gives the same bytes as the generator.
 *
 * @param options - as for {@link generatePvStream}
 * @returns an iterator of records
 */
export function* pvStreamRecords(options: PvStreamOptions): Generator<LibxcRecord, void, undefined> {
  const r = resolve(options);
  const layout = pvStreamLayout(options);
  const guest = guestState(r);
  yield x86PvInfo64();
  yield {
    type: "X86_CPUID_POLICY",
    entries: Array.from({ length: CPUID_LEAVES }, (_, i) => ({
      leaf: cpuidLeaf(i),
      subleaf: 0xffff_ffff,
      a: guest.cpuid[i * 4] as number,
      b: guest.cpuid[i * 4 + 1] as number,
      c: guest.cpuid[i * 4 + 2] as number,
      d: guest.cpuid[i * 4 + 3] as number,
    })),
  };
  yield {
    type: "X86_MSR_POLICY",
    entries: MSR_INDICES.map((index, i) => ({
      index,
      flags: 0,
      value: u64(guest.msrValues[i * 2] as number, guest.msrValues[i * 2 + 1] as number),
    })),
  };
  yield { type: "STATIC_DATA_END" };
  const frames = p2mFrames(layout.pages);
  yield {
    type: "X86_PV_P2M_FRAMES",
    startPfn: 0,
    endPfn: frames * P2M_ENTRIES_PER_FRAME - 1,
    frames: Array.from({ length: frames }, (_, i) => BigInt(layout.pages - 1 - (i % layout.pages))),
  };
  for (let first = 0; first < layout.pages; first += r.batchPages) {
    const count = Math.min(r.batchPages, layout.pages - first);
    const entries = new Array<PfnEntry>(count);
    for (let i = 0; i < count; i++) entries[i] = { pfn: first + i, type: pageTypeOf(first + i), reserved: 0 };
    yield { type: "PAGE_DATA", reserved: 0, entries, pages: guest.pool.subarray(0, count * PAGE_SIZE) };
  }
  yield { type: "X86_TSC_INFO", mode: 0, khz: 2_600_000, nsec: u64(0xd693_a400, 0x3), incarnation: 1, reserved: 0 };
  yield { type: "SHARED_INFO", data: guest.sharedInfo };
  for (let v = 0; v < r.vcpus; v++) {
    yield { type: "X86_PV_VCPU_BASIC", vcpuId: v, reserved: 0, context: guest.vcpuContexts[v] as Uint8Array };
    yield { type: "X86_PV_VCPU_EXTENDED", vcpuId: v, reserved: 0, context: guest.vcpuExtended[v] as Uint8Array };
  }
  yield { type: "END" };
}
