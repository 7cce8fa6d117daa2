/**
 * fast-check arbitraries of single records, libxc and libxl, each with its
 * encoding.
 *
 * Records are generated in the decoder's normal form: reserved fields
 * present (zero unless `lenient`), `padding` and `extra` present only when
 * non-empty, so `decode(encode(value))` deep-equals `value`.
 *
 * Internally every record arbitrary is a *builder*: an arbitrary of a
 * function from the stream facts that are themselves generated (guest
 * width, vCPU count, largest pfn) to the record. Stream arbitraries can
 * then draw the facts and the records independently and combine them with
 * `map`, which keeps fast-check's shrinking of both (a `chain` would lose
 * it).
 *
 * @module
 */
import { describeValue } from "../errors.js";
import fc from "fast-check";
import { LIBXC_RECORD_NAMES } from "../libxc/codec.js";
import {
  DomainType,
  PAGE_SHIFT_MAX,
  PAGE_SHIFT_MIN,
  PageType,
  VCPU_CONTEXT_SIZE_32,
  VCPU_CONTEXT_SIZE_64,
  pageTypeHasData,
  type LibxcRecordTypeName,
} from "../libxc/constants.js";
import { LibxcEncoder } from "../libxc/stream.js";
import type {
  CpuidLeaf,
  HvmParam,
  LibxcRecord,
  MsrEntry,
  PfnEntry,
  VcpuRecordTypeName,
} from "../libxc/types.js";
import { CheckpointStateId, EmulatorId, type LibxlRecordTypeName } from "../libxl/constants.js";
import { LIBXL_RECORD_NAMES } from "../libxl/codec.js";
import { encodeLibxlRecord } from "../libxl/stream.js";
import type { LibxlRecord } from "../libxl/types.js";
import { paddingLength } from "../wire/frame.js";

/** A generated value with its encoding. */
export interface Encoded<V> {
  value: V;
  bytes: Uint8Array;
}

/** Throws a descriptive error for a bad constraint, naming the arbitrary. @internal */
export function invalid(arbitrary: string, message: string): never {
  throw new RangeError(`${arbitrary}: ${message}`);
}

/** Checks an integer constraint eagerly. @internal */
export function checkInteger(arbitrary: string, name: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    invalid(arbitrary, `${name} must be an integer in ${min}..${max}, got ${describeValue(value)}`);
  }
}

/** Stream facts a record may depend on, drawn by the stream arbitrary. @internal */
export interface BuildContext {
  /** Page size in bytes. */
  pageSize: number;
  /** PV guest width in bytes. */
  guestWidth: 4 | 8;
  /** Largest pfn of the guest (PAGE_DATA pfns and the P2M range stay below it). */
  maxPfn: number;
  /** Number of vCPUs. */
  vcpus: number;
}

/** An arbitrary of functions from stream facts to a value. @internal */
export type Builder<V> = fc.Arbitrary<(context: BuildContext) => V>;

/** A builder that ignores the context. @internal */
export function fixed<V>(arbitrary: fc.Arbitrary<V>): Builder<V> {
  return arbitrary.map((value) => () => value);
}

/** Any u32. @internal */
export const u32: fc.Arbitrary<number> = fc.nat({ max: 0xffff_ffff });
/** Any u64. @internal */
export const u64: fc.Arbitrary<bigint> = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });

/** `length` zero bytes with `prefix` at the start (cheap for big blobs). @internal */
export function zeroPadded(prefix: Uint8Array, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  bytes.set(prefix.subarray(0, length));
  return bytes;
}

/** A short random prefix, to be placed in a blob of any length. @internal */
export const prefixBytes: fc.Arbitrary<Uint8Array> = fc.uint8Array({ maxLength: 16 });

/** A buffer of a length in [min, max]. @internal */
export function smallBytes(min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: min, maxLength: max });
}

/** A reserved number: 0, or (lenient) anything up to `max`. @internal */
export function reserved(lenient: boolean, max: number): fc.Arbitrary<number> {
  return lenient ? fc.oneof(fc.constant(0), fc.nat({ max })) : fc.constant(0);
}

/** Optional non-empty `extra` bytes (lenient only). @internal */
export function extra(lenient: boolean): fc.Arbitrary<{ extra?: Uint8Array }> {
  if (!lenient) return fc.constant({});
  return fc.oneof(fc.constant({}), smallBytes(1, 12).map((bytes) => ({ extra: bytes })));
}

/**
 * Non-zero padding for a body of `bodyLength` bytes built from 8 generated
 * bytes, or undefined when the body needs none. The first byte is forced
 * non-zero when every chosen byte is zero (padding is kept only when
 * non-zero). @internal
 */
export function paddingFrom(seed: Uint8Array, bodyLength: number): Uint8Array | undefined {
  const length = paddingLength(bodyLength);
  if (length === 0) return undefined;
  const padding = zeroPadded(seed, length);
  if (padding.every((byte) => byte === 0)) padding[0] = 1;
  return padding;
}

/** Context a record arbitrary needs. */
export interface RecordContext {
  /** Page size in bytes. */
  pageSize: number;
  /** PV guest width in bytes (4 or 8). */
  guestWidth?: number;
  /** Largest pfn (PV: from X86_PV_P2M_FRAMES). */
  maxPfn?: number;
  /** Use tolerated-but-odd values. */
  lenient?: boolean;
}

const PAGE_TYPES_WITH_DATA = [
  PageType.NOTAB,
  PageType.L1TAB,
  PageType.L2TAB,
  PageType.L3TAB,
  PageType.L4TAB,
  PageType.L1TAB_PINNED,
  PageType.L2TAB_PINNED,
  PageType.L3TAB_PINNED,
  PageType.L4TAB_PINNED,
];
const PAGE_TYPES = [...PAGE_TYPES_WITH_DATA, PageType.BROKEN, PageType.XALLOC, PageType.XTAB];

/** Default largest pfn of PAGE_DATA entries when nothing bounds it. */
const DEFAULT_MAX_PFN = 0xf_ffff;

/** PAGE_DATA builder: 1..maxPages entries below the context's maxPfn. @internal */
export function pageDataBuilder(lenient: boolean, maxPages: number): Builder<LibxcRecord> {
  const entry = fc.record({
    pfn: fc.nat({ max: DEFAULT_MAX_PFN }),
    type: fc.constantFrom(...PAGE_TYPES),
    reserved: reserved(lenient, 0xff),
  });
  return fc
    .record({
      entries: fc.array(entry, { minLength: 1, maxLength: maxPages }),
      reserved: reserved(lenient, 0xffff_ffff),
      fill: fc.nat({ max: 255 }),
    })
    .map(({ entries, reserved: res, fill }) => (context: BuildContext): LibxcRecord => {
      const list: PfnEntry[] = entries.map((e) => ({ pfn: e.pfn % (context.maxPfn + 1), type: e.type, reserved: e.reserved }));
      const dataPages = list.filter((e) => pageTypeHasData(e.type)).length;
      const pages = new Uint8Array(dataPages * context.pageSize);
      for (let i = 0; i < dataPages; i++) pages[i * context.pageSize] = (fill + i) & 0xff;
      return { type: "PAGE_DATA", reserved: res, entries: list, pages };
    });
}

/**
 * A PAGE_DATA record with 1..maxPages entries and their page contents.
 *
 * @param context - page size, largest pfn, leniency
 * @param maxPages - most entries (default 6)
 * @returns an arbitrary of PAGE_DATA records
 */
export function pageDataRecord(context: RecordContext, maxPages = 6): fc.Arbitrary<LibxcRecord> {
  checkInteger("pageDataRecord", "maxPages", maxPages, 1, 1024);
  if (!Number.isInteger(Math.log2(context.pageSize)) || context.pageSize < 2 ** PAGE_SHIFT_MIN || context.pageSize > 2 ** PAGE_SHIFT_MAX) {
    invalid("pageDataRecord", `pageSize must be a power of two in 2^${PAGE_SHIFT_MIN}..2^${PAGE_SHIFT_MAX}, got ${context.pageSize}`);
  }
  checkInteger("pageDataRecord", "maxPfn", context.maxPfn, 0, 2 ** 52 - 1);
  const build: BuildContext = {
    pageSize: context.pageSize,
    guestWidth: context.guestWidth === 4 ? 4 : 8,
    maxPfn: context.maxPfn ?? DEFAULT_MAX_PFN,
    vcpus: 1,
  };
  return pageDataBuilder(context.lenient ?? false, maxPages).map((make) => make(build));
}

/** X86_PV_INFO builder (width and levels from the context). @internal */
export function pvInfoBuilder(lenient: boolean): Builder<LibxcRecord> {
  return fc
    .record({ res: fc.uint8Array({ minLength: 6, maxLength: 6 }), x: extra(lenient) })
    .map(({ res, x }) => (context: BuildContext): LibxcRecord => ({
      type: "X86_PV_INFO",
      guestWidth: context.guestWidth,
      ptLevels: context.guestWidth === 8 ? 4 : 3,
      reserved: lenient ? res : new Uint8Array(6),
      ...x,
    }));
}

/** Number of p2m frames a PV guest of this width and largest pfn lists. @internal */
export function p2mFrameCount(pageSize: number, guestWidth: number, maxPfn: number): number {
  return Math.floor(maxPfn / (pageSize / guestWidth)) + 1;
}

/** X86_PV_P2M_FRAMES builder: the frames covering pfns 0..maxPfn. @internal */
export function p2mFramesBuilder(pageSize: number, maxMaxPfn: number): Builder<LibxcRecord> {
  const most = p2mFrameCount(pageSize, 8, maxMaxPfn);
  return fc.array(u64, { minLength: most, maxLength: most }).map((frames) => (context: BuildContext): LibxcRecord => ({
    type: "X86_PV_P2M_FRAMES",
    startPfn: 0,
    endPfn: context.maxPfn,
    frames: frames.slice(0, p2mFrameCount(context.pageSize, context.guestWidth, context.maxPfn)),
  }));
}

/** Size of the PV vcpu_guest_context blob for a guest width. */
function basicContextSize(guestWidth: number): number {
  return guestWidth === 8 ? VCPU_CONTEXT_SIZE_64 : VCPU_CONTEXT_SIZE_32;
}

/** One PV vCPU record of a given kind. @internal */
export function vcpuRecordBuilder(name: VcpuRecordTypeName, lenient: boolean, vcpuId?: number): Builder<LibxcRecord> {
  const context: fc.Arbitrary<(c: BuildContext) => Uint8Array> =
    name === "X86_PV_VCPU_BASIC"
      ? prefixBytes.map((prefix) => (c: BuildContext) => zeroPadded(prefix, basicContextSize(c.guestWidth)))
      : name === "X86_PV_VCPU_EXTENDED"
        ? fixed(smallBytes(1, 128))
        : name === "X86_PV_VCPU_XSAVE"
          ? fixed(smallBytes(16, 64))
          : fixed(fc.nat({ max: 3 }).map((n) => new Uint8Array(16 * (n + 1))));
  return fc
    .record({ blob: context, id: fc.nat({ max: 63 }), res: name === "X86_PV_VCPU_BASIC" || name === "X86_PV_VCPU_EXTENDED" ? reserved(lenient, 0xffff_ffff) : fc.constant(0) })
    .map(({ blob, id, res }) => (c: BuildContext): LibxcRecord => ({
      type: name,
      vcpuId: vcpuId ?? id % c.vcpus,
      reserved: res,
      context: blob(c),
    }));
}

/** PV vCPU records for one vCPU: BASIC, then optional EXTENDED, XSAVE, MSRS. @internal */
export function vcpuRecordsBuilder(vcpuId: number, lenient: boolean): Builder<LibxcRecord[]> {
  return fc
    .record({
      basic: vcpuRecordBuilder("X86_PV_VCPU_BASIC", lenient, vcpuId),
      extended: fc.option(vcpuRecordBuilder("X86_PV_VCPU_EXTENDED", lenient, vcpuId), { nil: undefined }),
      xsave: fc.option(vcpuRecordBuilder("X86_PV_VCPU_XSAVE", lenient, vcpuId), { nil: undefined }),
      msrs: fc.option(vcpuRecordBuilder("X86_PV_VCPU_MSRS", lenient, vcpuId), { nil: undefined }),
    })
    .map(({ basic, extended, xsave, msrs }) => (c: BuildContext) => {
      const records = [basic(c)];
      for (const optional of [extended, xsave, msrs]) if (optional !== undefined) records.push(optional(c));
      return records;
    });
}

/** SHARED_INFO builder: one page. @internal */
export function sharedInfoBuilder(): Builder<LibxcRecord> {
  return prefixBytes.map((prefix) => (c: BuildContext): LibxcRecord => ({ type: "SHARED_INFO", data: zeroPadded(prefix, c.pageSize) }));
}

/** X86_TSC_INFO (modes 0-2, the ones Xen >= 4.12 accepts). @internal */
export function tscInfoRecord(lenient: boolean): fc.Arbitrary<LibxcRecord> {
  return fc.record({
    type: fc.constant("X86_TSC_INFO" as const),
    mode: fc.nat({ max: 2 }),
    khz: u32,
    nsec: u64,
    incarnation: u32,
    reserved: reserved(lenient, 0xffff_ffff),
  });
}

/** HVM_PARAM indices Xen's savers write (hvm-context-and-cpu.md §9). */
const HVM_PARAM_INDICES = [1n, 5n, 6n, 9n, 12n, 17n, 19n, 27n, 28n, 29n, 32n, 33n, 34n, 36n, 37n, 38n];

/** HVM_PARAMS: savers write only non-zero values; lenient allows count 0. @internal */
export function hvmParamsRecord(lenient: boolean): fc.Arbitrary<LibxcRecord> {
  const param: fc.Arbitrary<HvmParam> = fc.record({
    index: fc.constantFrom(...HVM_PARAM_INDICES),
    value: fc.bigInt({ min: 1n, max: 0xffff_ffff_ffff_ffffn }),
  });
  return fc
    .record({
      params: fc.uniqueArray(param, { minLength: lenient ? 0 : 1, maxLength: 6, selector: (p) => p.index }),
      reserved: reserved(lenient, 0xffff_ffff),
    })
    .map(({ params, reserved: res }) => ({ type: "HVM_PARAMS", reserved: res, params }));
}

const HVM_FILE_MAGIC = 0x5438_1286;
const HVM_CPU_SIZE = 1032;

/**
 * HVM_CONTEXT builder: a blob hvm_load() accepts (hvm-context-and-cpu.md
 * §1): HEADER (magic, version 1), one CPU entry per vCPU, END. @internal
 */
export function hvmContextBuilder(): Builder<LibxcRecord> {
  return fc
    .record({ changeset: u64, cpuid: u32, khz: u32, cpu: prefixBytes, cpus: fc.boolean() })
    .map(({ changeset, cpuid, khz, cpu, cpus }) => (c: BuildContext): LibxcRecord => {
      const entries = cpus ? c.vcpus : 0;
      const data = new Uint8Array(8 + 24 + entries * (8 + HVM_CPU_SIZE) + 8);
      const view = new DataView(data.buffer);
      let at = 0;
      const descriptor = (typecode: number, instance: number, length: number): void => {
        view.setUint16(at, typecode, true);
        view.setUint16(at + 2, instance, true);
        view.setUint32(at + 4, length, true);
        at += 8;
      };
      descriptor(1, 0, 24);
      view.setUint32(at, HVM_FILE_MAGIC, true);
      view.setUint32(at + 4, 1, true);
      view.setBigUint64(at + 8, changeset, true);
      view.setUint32(at + 16, cpuid, true);
      view.setUint32(at + 20, khz, true);
      at += 24;
      for (let v = 0; v < entries; v++) {
        descriptor(2, v, HVM_CPU_SIZE);
        data.set(cpu, at);
        at += HVM_CPU_SIZE;
      }
      descriptor(0, 0, 0);
      return { type: "HVM_CONTEXT", data };
    });
}

/** X86_CPUID_POLICY: 1..5 leaves. @internal */
export function cpuidPolicyRecord(): fc.Arbitrary<LibxcRecord> {
  const leaf: fc.Arbitrary<CpuidLeaf> = fc.record({ leaf: u32, subleaf: u32, a: u32, b: u32, c: u32, d: u32 });
  return fc.array(leaf, { minLength: 1, maxLength: 5 }).map((entries) => ({ type: "X86_CPUID_POLICY", entries }));
}

/** X86_MSR_POLICY: 1..3 MSRs (flags reserved: zero unless lenient). @internal */
export function msrPolicyRecord(lenient: boolean): fc.Arbitrary<LibxcRecord> {
  const entry: fc.Arbitrary<MsrEntry> = fc.record({ index: u32, flags: reserved(lenient, 0xffff_ffff), value: u64 });
  return fc.array(entry, { minLength: 1, maxLength: 3 }).map((entries) => ({ type: "X86_MSR_POLICY", entries }));
}

/** An unknown optional record (type bit 31 set). @internal */
export function unknownOptionalRecord(knownIds: readonly number[] = []): fc.Arbitrary<LibxcRecord & LibxlRecord> {
  return fc
    .record({ typeId: fc.integer({ min: 0x8000_0000, max: 0xffff_ffff }), body: smallBytes(0, 24) })
    .filter(({ typeId }) => !knownIds.includes(typeId))
    .map(({ typeId, body }) => ({ type: "UNKNOWN" as const, typeId, body }));
}

/** A signalling record (no defined body; lenient: maybe `extra`). @internal */
export function signalRecord<T extends "END" | "CHECKPOINT" | "STATIC_DATA_END" | "VERIFY">(type: T, lenient: boolean): fc.Arbitrary<LibxcRecord> {
  return extra(lenient).map((x) => ({ type, ...x }) as LibxcRecord);
}

/** Every libxc record type name, plus "UNKNOWN" (an optional record). */
export type LibxcRecordKind = LibxcRecordTypeName | "UNKNOWN";

/** Constraints of {@link libxcRecord}. */
export interface LibxcRecordConstraints {
  /** The record type, or a list to choose from; default: every type. */
  type?: LibxcRecordKind | readonly LibxcRecordKind[];
  /** log2 page size; default 12. */
  pageShift?: number;
  /** Byte order of the encoding; default little-endian. */
  byteOrder?: "little" | "big";
  /** PV guest width (X86_PV_INFO, P2M frames, vCPU BASIC); default either. */
  guestWidth?: 4 | 8;
  /** Largest pfn of PAGE_DATA entries and of the P2M range; default 4000. */
  maxPfn?: number;
  /** vCPU count (vCPU ids, HVM CPU entries); default 1..4. */
  vcpus?: number;
  /** Most PAGE_DATA entries; default 6. */
  maxPagesPerRecord?: number;
  /** Also use what restore tolerates (non-zero reserved fields and padding, `extra`). */
  lenient?: boolean;
}

/** Every libxc record kind, in type-id order (the registry's), UNKNOWN last. */
export const LIBXC_RECORD_KINDS: readonly LibxcRecordKind[] = [...LIBXC_RECORD_NAMES, "UNKNOWN"];

/** What a libxc record builder is made from. */
interface LibxcBuilderOptions {
  lenient: boolean;
  pageSize: number;
  maxPfn: number;
  maxPages: number;
}

/** The builder of every libxc record kind (a kind without one does not compile). */
const LIBXC_BUILDERS: { readonly [K in LibxcRecordKind]: (options: LibxcBuilderOptions) => Builder<LibxcRecord> } = {
  END: ({ lenient }) => fixed(signalRecord("END", lenient)),
  PAGE_DATA: ({ lenient, maxPages }) => pageDataBuilder(lenient, maxPages),
  X86_PV_INFO: ({ lenient }) => pvInfoBuilder(lenient),
  X86_PV_P2M_FRAMES: ({ pageSize, maxPfn }) => p2mFramesBuilder(pageSize, maxPfn),
  X86_PV_VCPU_BASIC: ({ lenient }) => vcpuRecordBuilder("X86_PV_VCPU_BASIC", lenient),
  X86_PV_VCPU_EXTENDED: ({ lenient }) => vcpuRecordBuilder("X86_PV_VCPU_EXTENDED", lenient),
  X86_PV_VCPU_XSAVE: ({ lenient }) => vcpuRecordBuilder("X86_PV_VCPU_XSAVE", lenient),
  SHARED_INFO: () => sharedInfoBuilder(),
  X86_TSC_INFO: ({ lenient }) => fixed(tscInfoRecord(lenient)),
  HVM_CONTEXT: () => hvmContextBuilder(),
  HVM_PARAMS: ({ lenient }) => fixed(hvmParamsRecord(lenient)),
  TOOLSTACK: () => fixed(smallBytes(0, 32).map((data): LibxcRecord => ({ type: "TOOLSTACK", data }))),
  X86_PV_VCPU_MSRS: ({ lenient }) => vcpuRecordBuilder("X86_PV_VCPU_MSRS", lenient),
  VERIFY: ({ lenient }) => fixed(signalRecord("VERIFY", lenient)),
  CHECKPOINT: ({ lenient }) => fixed(signalRecord("CHECKPOINT", lenient)),
  CHECKPOINT_DIRTY_PFN_LIST: () =>
    fc
      .array(fc.nat({ max: DEFAULT_MAX_PFN }), { maxLength: 8 })
      .map((pfns) => (c: BuildContext): LibxcRecord => ({
        type: "CHECKPOINT_DIRTY_PFN_LIST",
        pfns: pfns.map((pfn) => BigInt(pfn % (c.maxPfn + 1))),
      })),
  STATIC_DATA_END: ({ lenient }) => fixed(signalRecord("STATIC_DATA_END", lenient)),
  X86_CPUID_POLICY: () => fixed(cpuidPolicyRecord()),
  X86_MSR_POLICY: ({ lenient }) => fixed(msrPolicyRecord(lenient)),
  UNKNOWN: () => fixed(unknownOptionalRecord()),
};

/** Adds non-zero padding to a record whose body needs some (lenient). */
function withPadding<R extends { padding?: Uint8Array }>(record: R, bodyLength: number, seed: Uint8Array | undefined): R {
  if (seed === undefined) return record;
  const padding = paddingFrom(seed, bodyLength);
  return padding === undefined ? record : { ...record, padding };
}

const PADDING_SEED = fc.option(fc.uint8Array({ minLength: 8, maxLength: 8 }), { nil: undefined, freq: 2 });

/**
 * One libxc record of any type (or the types asked for) with its bytes, as
 * {@link LibxcEncoder.record} writes it.
 *
 * @param constraints - type(s), page size, byte order, PV facts, leniency
 * @returns an arbitrary of `{ value, bytes }`
 *
 * @example
 * ```ts
 * fc.assert(fc.property(libxcRecord({ type: "PAGE_DATA" }), ({ value, bytes }) => { ... }));
 * ```
 */
export function libxcRecord(constraints: LibxcRecordConstraints = {}): fc.Arbitrary<Encoded<LibxcRecord>> {
  const name = "libxcRecord";
  checkInteger(name, "pageShift", constraints.pageShift, PAGE_SHIFT_MIN, PAGE_SHIFT_MAX);
  checkInteger(name, "maxPfn", constraints.maxPfn, 0, 2 ** 24);
  checkInteger(name, "vcpus", constraints.vcpus, 1, 64);
  checkInteger(name, "maxPagesPerRecord", constraints.maxPagesPerRecord, 1, 1024);
  if (constraints.guestWidth !== undefined && constraints.guestWidth !== 4 && constraints.guestWidth !== 8) {
    invalid(name, `guestWidth must be 4 or 8, got ${String(constraints.guestWidth)}`);
  }
  const kinds = constraints.type === undefined ? LIBXC_RECORD_KINDS : typeof constraints.type === "string" ? [constraints.type] : constraints.type;
  if (kinds.length === 0) invalid(name, "type must name at least one record type");
  for (const kind of kinds) if (!LIBXC_RECORD_KINDS.includes(kind)) invalid(name, `unknown record type ${JSON.stringify(kind)}`);
  const lenient = constraints.lenient ?? false;
  const pageShift = constraints.pageShift ?? 12;
  const pageSize = 2 ** pageShift;
  const maxPfn = constraints.maxPfn ?? 4000;
  const encoder = new LibxcEncoder(
    { version: 3, options: constraints.byteOrder === "big" ? 1 : 0, reserved1: 0, reserved2: 0 },
    { type: DomainType.X86_PV, pageShift, reserved: 0, xenMajor: 4, xenMinor: 17 },
  );
  const options: LibxcBuilderOptions = { lenient, pageSize, maxPfn, maxPages: constraints.maxPagesPerRecord ?? 6 };
  const builders = kinds.map((kind) => LIBXC_BUILDERS[kind](options));
  return fc
    .record({
      make: builders.length === 1 ? (builders[0] as Builder<LibxcRecord>) : fc.oneof(...builders),
      guestWidth: constraints.guestWidth === undefined ? fc.constantFrom<4 | 8>(4, 8) : fc.constant(constraints.guestWidth),
      vcpus: constraints.vcpus === undefined ? fc.integer({ min: 1, max: 4 }) : fc.constant(constraints.vcpus),
      pfn: fc.nat({ max: maxPfn }),
      padding: lenient ? PADDING_SEED : fc.constant(undefined),
    })
    .map(({ make, guestWidth, vcpus, pfn, padding }) => {
      // The drawn largest pfn shrinks towards 0, and with it the P2M range.
      const record = make({ pageSize, guestWidth, vcpus, maxPfn: pfn });
      const plain = encoder.record(record);
      if (padding === undefined) return { value: record, bytes: plain };
      const bodyLength = new DataView(plain.buffer, plain.byteOffset).getUint32(4, constraints.byteOrder !== "big");
      const padded = withPadding(record, bodyLength, padding);
      return { value: padded, bytes: padded === record ? plain : encoder.record(padded) };
    });
}

/** Every libxl record type name, plus "UNKNOWN" (an optional record). */
export type LibxlRecordKind = LibxlRecordTypeName | "UNKNOWN";

/** Every libxl record kind, in type-id order, UNKNOWN last. */
export const LIBXL_RECORD_KINDS: readonly LibxlRecordKind[] = [...LIBXL_RECORD_NAMES, "UNKNOWN"];

/** xenstore key/value pairs as QEMU writes them: relative keys, printable values. @internal */
export function xenstoreEntries(): fc.Arbitrary<Array<[Uint8Array, Uint8Array]>> {
  const chars = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-/_@".split("").map((ch) => ch.charCodeAt(0)));
  const key = fc
    .array(chars, { minLength: 1, maxLength: 24 })
    .filter((k) => k[0] !== 0x2f)
    .map((k) => Uint8Array.from(k));
  const value = fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 24 }).map((v) => Uint8Array.from(v));
  return fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 4 });
}

const EMULATOR_IDS = [EmulatorId.UNKNOWN, EmulatorId.QEMU_TRADITIONAL, EmulatorId.QEMU_UPSTREAM];

/** A libxl signalling record (lenient: maybe `extra`). */
function libxlSignal(type: "END" | "LIBXC_CONTEXT" | "CHECKPOINT_END", lenient: boolean): fc.Arbitrary<LibxlRecord> {
  return extra(lenient).map((x): LibxlRecord => ({ type, ...x }));
}

/** The arbitrary of every libxl record kind (a kind without one does not compile). */
const LIBXL_ARBITRARIES: { readonly [K in LibxlRecordKind]: (lenient: boolean) => fc.Arbitrary<LibxlRecord> } = {
  END: (lenient) => libxlSignal("END", lenient),
  LIBXC_CONTEXT: (lenient) => libxlSignal("LIBXC_CONTEXT", lenient),
  EMULATOR_XENSTORE_DATA: (lenient) =>
    fc
      .record({ emulatorId: fc.constantFrom(...EMULATOR_IDS), index: lenient ? fc.nat({ max: 3 }) : fc.constant(0), entries: xenstoreEntries() })
      .map((r): LibxlRecord => ({ type: "EMULATOR_XENSTORE_DATA", ...r })),
  EMULATOR_CONTEXT: (lenient) =>
    fc
      .record({ emulatorId: fc.constantFrom(...EMULATOR_IDS), index: lenient ? fc.nat({ max: 3 }) : fc.constant(0), data: smallBytes(0, 40) })
      .map((r): LibxlRecord => ({ type: "EMULATOR_CONTEXT", ...r })),
  CHECKPOINT_END: (lenient) => libxlSignal("CHECKPOINT_END", lenient),
  CHECKPOINT_STATE: (lenient) =>
    fc
      .record({ controlId: fc.constantFrom(...Object.values(CheckpointStateId)), x: extra(lenient) })
      .map(({ controlId, x }): LibxlRecord => ({ type: "CHECKPOINT_STATE", controlId, ...x })),
  UNKNOWN: () => unknownOptionalRecord(),
};

/** Constraints of {@link libxlRecord}. */
export interface LibxlRecordConstraints {
  /** The record type, or a list to choose from; default: every type. */
  type?: LibxlRecordKind | readonly LibxlRecordKind[];
  /** Byte order of the encoding; default little-endian. */
  byteOrder?: "little" | "big";
  /** Also use what restore tolerates (emulator index, `extra`, padding). */
  lenient?: boolean;
}

/**
 * One libxl record of any type (or the types asked for) with its bytes, as
 * {@link encodeLibxlRecord} writes it.
 *
 * @param constraints - type(s), byte order, leniency
 * @returns an arbitrary of `{ value, bytes }`
 */
export function libxlRecord(constraints: LibxlRecordConstraints = {}): fc.Arbitrary<Encoded<LibxlRecord>> {
  const name = "libxlRecord";
  const kinds = constraints.type === undefined ? LIBXL_RECORD_KINDS : typeof constraints.type === "string" ? [constraints.type] : constraints.type;
  if (kinds.length === 0) invalid(name, "type must name at least one record type");
  for (const kind of kinds) if (!LIBXL_RECORD_KINDS.includes(kind)) invalid(name, `unknown record type ${JSON.stringify(kind)}`);
  const lenient = constraints.lenient ?? false;
  const littleEndian = constraints.byteOrder !== "big";
  const arbitraries = kinds.map((kind) => LIBXL_ARBITRARIES[kind](lenient));
  return fc
    .record({
      record: arbitraries.length === 1 ? (arbitraries[0] as fc.Arbitrary<LibxlRecord>) : fc.oneof(...arbitraries),
      padding: lenient ? PADDING_SEED : fc.constant(undefined),
    })
    .map(({ record, padding }) => {
      const plain = encodeLibxlRecord(record, littleEndian);
      if (padding === undefined) return { value: record, bytes: plain };
      const bodyLength = new DataView(plain.buffer, plain.byteOffset).getUint32(4, littleEndian);
      const padded = withPadding(record, bodyLength, padding);
      return { value: padded, bytes: padded === record ? plain : encodeLibxlRecord(padded, littleEndian) };
    });
}
