/**
 * fast-check arbitraries of records and whole streams. Every value is
 * generated in the decoder's normal form (reserved fields present, `padding`
 * and `extra` only when non-empty), so `decode(encode(value))` deep-equals
 * `value`; each stream arbitrary yields `{ value, bytes }`.
 *
 * By default the streams are valid by the spec (reserved fields zero,
 * records in the spec's order, sizes consistent). With `lenient: true` they
 * also use what Xen's restore tolerates and the decoder keeps: non-zero
 * reserved fields and padding, bodies on signalling records, unknown
 * optional records.
 *
 * @module
 */
import fc from "fast-check";
import { DomainType, LibxcRecordType, PageType, pageTypeHasData } from "../libxc/constants.js";
import { encodeLibxcStream } from "../libxc/stream.js";
import type {
  CpuidLeaf,
  DomainHeader,
  HvmParam,
  ImageHeader,
  LibxcRecord,
  LibxcStream,
  MsrEntry,
  PfnEntry,
} from "../libxc/types.js";
import { CheckpointStateId, EmulatorId, LIBXL_OPT_BIG_ENDIAN } from "../libxl/constants.js";
import { encodeLibxlStream } from "../libxl/stream.js";
import type { LibxlItem, LibxlRecord, LibxlStream } from "../libxl/types.js";
import { encodeSaveFile, type SaveFile } from "../savefile.js";
import { XlMandatoryFlag } from "../xl/constants.js";
import type { XlHeader } from "../xl/header.js";
import { paddingLength } from "../wire/frame.js";

/** A generated value with its encoding. */
export interface Encoded<V> {
  value: V;
  bytes: Uint8Array;
}

/** Guest kinds a stream arbitrary can produce. */
export type GuestKind = "pv" | "hvm";

/** Constraints shared by the stream arbitraries. */
export interface StreamConstraints {
  /** Guest type; default: either. */
  guest?: GuestKind;
  /** libxc stream version 2 or 3; default: either. */
  version?: 2 | 3;
  /** Byte order; default: little-endian only (what Xen writes). */
  byteOrder?: "little" | "big" | "any";
  /** log2 page size; default 12. */
  pageShift?: number;
  /** Most PAGE_DATA records per memory pass; default 3. */
  maxPageRecords?: number;
  /** Most entries per PAGE_DATA record; default 6. */
  maxPagesPerRecord?: number;
  /**
   * Number of checkpoints: 0 for a plain stream ending with END; n > 0 for a
   * checkpointed (Remus/COLO) stream of n checkpoints and no END. Default 0.
   */
  checkpoints?: number;
  /** Also use what restore tolerates (non-zero reserved, padding, extra, optional records). */
  lenient?: boolean;
}

const u32 = fc.nat({ max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn });

/** A buffer of `length` bytes: zeros with a short random prefix (cheap for big blobs). */
function blob(length: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: 0, maxLength: Math.min(length, 16) }).map((prefix) => {
    const bytes = new Uint8Array(length);
    bytes.set(prefix);
    return bytes;
  });
}

/** A buffer of a length in [min, max]. */
function smallBytes(min: number, max: number): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength: min, maxLength: max });
}

/** A reserved number: 0, or (lenient) anything up to `max`. */
function reserved(lenient: boolean, max: number): fc.Arbitrary<number> {
  return lenient ? fc.oneof(fc.constant(0), fc.nat({ max })) : fc.constant(0);
}

/** Optional non-empty `extra` bytes (lenient only). */
function extra(lenient: boolean): fc.Arbitrary<{ extra?: Uint8Array }> {
  if (!lenient) return fc.constant({});
  return fc.oneof(fc.constant({}), smallBytes(1, 12).map((bytes) => ({ extra: bytes })));
}

/**
 * Adds non-zero padding to some records (lenient only). Needs the encoded
 * body length; computed by the stream builder through `withPadding`.
 */
function maybePadding<R extends object>(record: R, bodyLength: number, lenient: boolean): fc.Arbitrary<R> {
  const length = paddingLength(bodyLength);
  if (!lenient || length === 0) return fc.constant(record);
  return fc.oneof(
    fc.constant(record),
    smallBytes(length, length)
      .filter((bytes) => bytes.some((byte) => byte !== 0))
      .map((padding) => ({ ...record, padding })),
  );
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
  PageType.L4TAB_PINNED,
];
const PAGE_TYPES = [...PAGE_TYPES_WITH_DATA, PageType.BROKEN, PageType.XALLOC, PageType.XTAB];

/** A PAGE_DATA record with 1..maxPages entries and their page contents. */
export function pageDataRecord(context: RecordContext, maxPages = 6): fc.Arbitrary<LibxcRecord> {
  const lenient = context.lenient ?? false;
  const entry: fc.Arbitrary<PfnEntry> = fc.record({
    pfn: fc.nat({ max: context.maxPfn ?? 0xf_ffff }),
    type: fc.constantFrom(...PAGE_TYPES),
    reserved: reserved(lenient, 0xff),
  });
  return fc
    .record({
      entries: fc.array(entry, { minLength: 1, maxLength: maxPages }),
      reserved: reserved(lenient, 0xffff_ffff),
      fill: fc.nat({ max: 255 }),
    })
    .map(({ entries, reserved: res, fill }) => {
      const dataPages = entries.filter((e) => pageTypeHasData(e.type)).length;
      const pages = new Uint8Array(dataPages * context.pageSize);
      for (let i = 0; i < dataPages; i++) pages[i * context.pageSize] = (fill + i) & 0xff;
      return { type: "PAGE_DATA", reserved: res, entries, pages } as LibxcRecord;
    });
}

function cpuidPolicyRecord(): fc.Arbitrary<LibxcRecord> {
  const leaf: fc.Arbitrary<CpuidLeaf> = fc.record({ leaf: u32, subleaf: u32, a: u32, b: u32, c: u32, d: u32 });
  return fc.array(leaf, { minLength: 1, maxLength: 5 }).map((entries) => ({ type: "X86_CPUID_POLICY", entries }));
}

function msrPolicyRecord(lenient: boolean): fc.Arbitrary<LibxcRecord> {
  const entry: fc.Arbitrary<MsrEntry> = fc.record({ index: u32, flags: reserved(lenient, 0xffff_ffff), value: u64 });
  return fc.array(entry, { minLength: 1, maxLength: 3 }).map((entries) => ({ type: "X86_MSR_POLICY", entries }));
}

function tscInfoRecord(lenient: boolean): fc.Arbitrary<LibxcRecord> {
  return fc.record({
    type: fc.constant("X86_TSC_INFO" as const),
    mode: fc.nat({ max: 2 }),
    khz: u32,
    nsec: u64,
    incarnation: u32,
    reserved: reserved(lenient, 0xffff_ffff),
  });
}

function hvmParamsRecord(lenient: boolean): fc.Arbitrary<LibxcRecord> {
  const param: fc.Arbitrary<HvmParam> = fc.record({ index: fc.bigInt({ min: 0n, max: 40n }), value: u64 });
  return fc
    .record({ params: fc.array(param, { minLength: lenient ? 0 : 1, maxLength: 6 }), reserved: reserved(lenient, 0xffff_ffff) })
    .map(({ params, reserved: res }) => ({ type: "HVM_PARAMS", reserved: res, params }));
}

function hvmContextRecord(): fc.Arbitrary<LibxcRecord> {
  return smallBytes(1, 64).map((data) => ({ type: "HVM_CONTEXT", data }));
}

/** PV vCPU records for one vCPU: BASIC, then optional EXTENDED, XSAVE, MSRS. */
function vcpuRecords(vcpuId: number, guestWidth: number, lenient: boolean): fc.Arbitrary<LibxcRecord[]> {
  const basicSize = guestWidth === 8 ? 5168 : 2800;
  const res = reserved(lenient, 0xffff_ffff);
  return fc
    .record({
      basic: blob(basicSize),
      extended: fc.option(smallBytes(1, 128), { nil: undefined }),
      xsave: fc.option(smallBytes(16, 64), { nil: undefined }),
      msrs: fc.option(fc.nat({ max: 3 }).map((n) => new Uint8Array(16 * (n + 1))), { nil: undefined }),
      r1: res,
      r2: res,
    })
    .map(({ basic, extended, xsave, msrs, r1, r2 }) => {
      const records: LibxcRecord[] = [{ type: "X86_PV_VCPU_BASIC", vcpuId, reserved: r1, context: basic }];
      if (extended !== undefined) records.push({ type: "X86_PV_VCPU_EXTENDED", vcpuId, reserved: r2, context: extended });
      if (xsave !== undefined) records.push({ type: "X86_PV_VCPU_XSAVE", vcpuId, reserved: 0, context: xsave });
      if (msrs !== undefined) records.push({ type: "X86_PV_VCPU_MSRS", vcpuId, reserved: 0, context: msrs });
      return records;
    });
}

function unknownOptionalRecord(): fc.Arbitrary<LibxcRecord> {
  return fc
    .record({ typeId: fc.integer({ min: 0x8000_0000, max: 0xffff_ffff }), body: smallBytes(0, 24) })
    .map(({ typeId, body }) => ({ type: "UNKNOWN", typeId, body }));
}

function signal(type: "END" | "CHECKPOINT" | "STATIC_DATA_END", lenient: boolean): fc.Arbitrary<LibxcRecord> {
  return extra(lenient).map((x) => ({ type, ...x }) as LibxcRecord);
}

interface LibxcShape {
  imageHeader: ImageHeader;
  domainHeader: DomainHeader;
  /** Records up to (not including) the first memory pass. */
  prologue: LibxcRecord[];
  /** One entry per checkpoint (or one for a plain stream): pages + end-of-checkpoint records + CHECKPOINT/END. */
  passes: LibxcRecord[][];
}

function resolve(constraints: StreamConstraints): Required<Omit<StreamConstraints, "guest" | "version" | "byteOrder">> & {
  guest: fc.Arbitrary<GuestKind>;
  version: fc.Arbitrary<2 | 3>;
  bigEndian: fc.Arbitrary<boolean>;
} {
  const byteOrder = constraints.byteOrder ?? "little";
  return {
    guest: constraints.guest === undefined ? fc.constantFrom<GuestKind>("pv", "hvm") : fc.constant(constraints.guest),
    version: constraints.version === undefined ? fc.constantFrom<2 | 3>(2, 3) : fc.constant(constraints.version),
    bigEndian: byteOrder === "any" ? fc.boolean() : fc.constant(byteOrder === "big"),
    pageShift: constraints.pageShift ?? 12,
    maxPageRecords: constraints.maxPageRecords ?? 3,
    maxPagesPerRecord: constraints.maxPagesPerRecord ?? 6,
    checkpoints: constraints.checkpoints ?? 0,
    lenient: constraints.lenient ?? false,
  };
}

/** Adds (lenient) non-zero padding and unknown optional records to a record list. */
function decorate(records: LibxcRecord[], lenient: boolean): fc.Arbitrary<LibxcRecord[]> {
  if (!lenient) return fc.constant(records);
  return fc
    .tuple(
      ...records.map((record) => {
        const size = record.type === "UNKNOWN" ? record.body.length : bodyLengthHint(record);
        return size === undefined ? fc.constant(record) : maybePadding(record, size, lenient);
      }),
    )
    .chain((padded) =>
      fc.option(fc.tuple(fc.nat({ max: padded.length }), unknownOptionalRecord()), { nil: undefined }).map((insert) => {
        if (insert === undefined) return padded;
        const copy = padded.slice();
        // Never after the final END/CHECKPOINT of the list.
        copy.splice(Math.min(insert[0], copy.length - 1), 0, insert[1]);
        return copy;
      }),
    );
}

/** Body lengths of the records that can end unaligned (for padding). */
function bodyLengthHint(record: LibxcRecord): number | undefined {
  switch (record.type) {
    case "HVM_CONTEXT":
      return record.data.length;
    case "X86_PV_VCPU_EXTENDED":
    case "X86_PV_VCPU_XSAVE":
      return 8 + record.context.length;
    case "END":
    case "CHECKPOINT":
    case "STATIC_DATA_END":
      return record.extra?.length ?? 0;
    default:
      return undefined;
  }
}

function libxcShape(constraints: StreamConstraints): fc.Arbitrary<LibxcShape> {
  const c = resolve(constraints);
  const pageSize = 2 ** c.pageShift;
  return fc
    .record({
      guest: c.guest,
      version: c.version,
      bigEndian: c.bigEndian,
      guestWidth: fc.constantFrom(4, 8),
      vcpus: fc.integer({ min: 1, max: 2 }),
      maxPfn: fc.integer({ min: 0, max: 4000 }),
      xenMinor: fc.nat({ max: 20 }),
      withPolicy: fc.boolean(),
      imageReserved: reserved(c.lenient, 0xffff),
      domainReserved: reserved(c.lenient, 0xffff),
    })
    .chain((s) => {
      const lenient = c.lenient;
      const pv = s.guest === "pv";
      const context: RecordContext = { pageSize, lenient, ...(pv ? { guestWidth: s.guestWidth, maxPfn: s.maxPfn } : {}) };
      const fpp = pageSize / s.guestWidth;
      const frames = Math.floor(s.maxPfn / fpp) + 1;
      const prologue: fc.Arbitrary<LibxcRecord>[] = [];
      if (pv) {
        prologue.push(
          fc.record({ res: fc.uint8Array({ minLength: 6, maxLength: 6 }), x: extra(lenient) }).map(({ res, x }) => ({
            type: "X86_PV_INFO" as const,
            guestWidth: s.guestWidth,
            ptLevels: s.guestWidth === 8 ? 4 : 3,
            reserved: lenient ? res : new Uint8Array(6),
            ...x,
          })),
        );
      }
      if (s.version === 3) {
        if (s.withPolicy) prologue.push(cpuidPolicyRecord(), msrPolicyRecord(lenient));
        prologue.push(signal("STATIC_DATA_END", lenient));
      }
      if (pv) {
        prologue.push(
          fc.array(u64, { minLength: frames, maxLength: frames }).map((list) => ({
            type: "X86_PV_P2M_FRAMES" as const,
            startPfn: 0,
            endPfn: s.maxPfn,
            frames: list,
          })),
        );
      }
      const checkpoints = c.checkpoints;
      const passCount = Math.max(1, checkpoints);
      const pass = (): fc.Arbitrary<LibxcRecord[]> => {
        const tail: fc.Arbitrary<LibxcRecord[]>[] = [
          fc.array(pageDataRecord(context, c.maxPagesPerRecord), { minLength: 1, maxLength: c.maxPageRecords }),
          tscInfoRecord(lenient).map((r) => [r]),
        ];
        if (pv) {
          tail.push(blob(pageSize).map((data) => [{ type: "SHARED_INFO" as const, data }]));
          for (let v = 0; v < s.vcpus; v++) tail.push(vcpuRecords(v, s.guestWidth, lenient));
        } else {
          tail.push(fc.option(hvmParamsRecord(lenient), { nil: undefined }).map((r) => (r === undefined ? [] : [r])));
          tail.push(hvmContextRecord().map((r) => [r]));
        }
        tail.push(signal(checkpoints > 0 ? "CHECKPOINT" : "END", lenient).map((r) => [r]));
        return fc.tuple(...tail).map((groups) => groups.flat());
      };
      const passes = Array.from({ length: passCount }, () => pass().chain((list) => decorate(list, lenient)));
      return fc.record({
        prologue: fc.tuple(...prologue),
        passes: fc.tuple(...passes),
      }).map(({ prologue: pro, passes: ps }) => ({
        imageHeader: {
          version: s.version,
          options: s.bigEndian ? 1 : 0,
          reserved1: s.imageReserved,
          reserved2: 0,
        },
        domainHeader: {
          type: pv ? DomainType.X86_PV : DomainType.X86_HVM,
          pageShift: c.pageShift,
          reserved: s.domainReserved,
          xenMajor: 4,
          xenMinor: s.xenMinor,
        },
        prologue: pro,
        passes: ps,
      }));
    });
}

/**
 * A whole valid libxc stream with its bytes.
 *
 * @param constraints - guest, version, byte order, size, checkpoints, leniency
 * @returns an arbitrary of `{ value, bytes }`
 */
export function libxcStream(constraints: StreamConstraints = {}): fc.Arbitrary<Encoded<LibxcStream>> {
  return libxcShape(constraints).map((shape) => {
    const value: LibxcStream = {
      imageHeader: shape.imageHeader,
      domainHeader: shape.domainHeader,
      records: [...shape.prologue, ...shape.passes.flat()],
    };
    return { value, bytes: encodeLibxcStream(value) };
  });
}

function xenstoreEntries(): fc.Arbitrary<Array<[Uint8Array, Uint8Array]>> {
  const chars = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-/_@".split("").map((ch) => ch.charCodeAt(0)));
  const key = fc.array(chars, { minLength: 1, maxLength: 24 }).filter((k) => k[0] !== 0x2f).map((k) => Uint8Array.from(k));
  const value = fc.array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 24 }).map((v) => Uint8Array.from(v));
  return fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 4 });
}

function emulatorRecords(lenient: boolean): fc.Arbitrary<LibxlRecord[]> {
  return fc
    .record({
      xenstore: fc.option(xenstoreEntries(), { nil: undefined }),
      id: fc.constantFrom(EmulatorId.UNKNOWN, EmulatorId.QEMU_TRADITIONAL, EmulatorId.QEMU_UPSTREAM),
      data: smallBytes(0, 40),
      index: lenient ? fc.nat({ max: 3 }) : fc.constant(0),
    })
    .map(({ xenstore, id, data, index }) => {
      const records: LibxlRecord[] = [];
      if (xenstore !== undefined) records.push({ type: "EMULATOR_XENSTORE_DATA", emulatorId: id, index, entries: xenstore });
      records.push({ type: "EMULATOR_CONTEXT", emulatorId: id, index, data });
      return records;
    });
}

/** Constraints of {@link libxlStream}. */
export interface LibxlStreamConstraints extends StreamConstraints {
  /** With checkpoints > 0: write COLO CHECKPOINT_STATE records (HVM only). Default false. */
  colo?: boolean;
}

/**
 * A whole valid libxl stream (libxc stream nested) with its bytes. With
 * `checkpoints: n`, a checkpointed stream of n libxc parts.
 *
 * @param constraints - as {@link libxcStream}, plus COLO
 * @returns an arbitrary of `{ value, bytes }`
 */
export function libxlStream(constraints: LibxlStreamConstraints = {}): fc.Arbitrary<Encoded<LibxlStream>> {
  const colo = constraints.colo ?? false;
  const lenient = constraints.lenient ?? false;
  const shapeConstraints: StreamConstraints = colo ? { ...constraints, guest: "hvm" } : constraints;
  return fc
    .record({
      shape: libxcShape(shapeConstraints),
      legacy: fc.boolean(),
      emulators: fc.array(emulatorRecords(lenient), { minLength: Math.max(1, constraints.checkpoints ?? 0), maxLength: Math.max(1, constraints.checkpoints ?? 0) }),
      colonew: fc.constant(CheckpointStateId.CHECKPOINT_NEW),
    })
    .map(({ shape, legacy, emulators, colonew }) => {
      const hvm = shape.domainHeader.type === DomainType.X86_HVM;
      const bigEndian = (shape.imageHeader.options & 1) !== 0;
      const items: LibxlItem[] = [{ type: "LIBXC_CONTEXT" }];
      const checkpoints = constraints.checkpoints ?? 0;
      shape.passes.forEach((pass, i) => {
        if (i === 0) {
          items.push({
            type: "LIBXC_STREAM",
            stream: { imageHeader: shape.imageHeader, domainHeader: shape.domainHeader, records: [...shape.prologue, ...pass] },
          });
        } else items.push({ type: "LIBXC_RESUME", records: pass });
        if (hvm) items.push(...(emulators[i] ?? []));
        if (checkpoints > 0) {
          items.push({ type: "CHECKPOINT_END" });
          if (colo) items.push({ type: "CHECKPOINT_STATE", controlId: colonew });
        }
      });
      if (checkpoints === 0) items.push({ type: "END" });
      const value: LibxlStream = {
        header: { version: 2, options: (bigEndian ? LIBXL_OPT_BIG_ENDIAN : 0) | (legacy ? 2 : 0) },
        items,
      };
      return { value, bytes: encodeLibxlStream(value) };
    });
}

/**
 * A whole valid xl save file (xl header with a JSON config, then a libxl
 * stream) with its bytes.
 *
 * @param constraints - as {@link libxlStream}
 * @returns an arbitrary of `{ value, bytes }`
 */
export function xlSaveFile(constraints: LibxlStreamConstraints = {}): fc.Arbitrary<Encoded<SaveFile>> {
  const lenient = constraints.lenient ?? false;
  return fc
    .record({
      libxl: libxlStream(constraints),
      byteOrder: constraints.byteOrder === "any" ? fc.constantFrom<"little" | "big">("little", "big") : fc.constant<"little" | "big">(constraints.byteOrder === "big" ? "big" : "little"),
      name: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/),
      config: fc.boolean(),
      optionalExtra: lenient ? fc.option(smallBytes(1, 8), { nil: undefined }) : fc.constant(undefined),
      optionalFlags: reserved(lenient, 0xffff_ffff),
    })
    .map(({ libxl, byteOrder, name, config, optionalExtra, optionalFlags }) => {
      const xl: XlHeader = {
        byteOrder,
        mandatoryFlags: XlMandatoryFlag.STREAMV2 | (config ? XlMandatoryFlag.JSON : 0),
        optionalFlags,
      };
      if (config) {
        const text = `{\n    "c_info": {\n        "type": "${libxl.value.items.some((i) => i.type === "LIBXC_STREAM" && i.stream.domainHeader.type === DomainType.X86_HVM) ? "hvm" : "pv"}",\n        "name": "${name}"\n    }\n}\n`;
        const bytes = new Uint8Array(text.length + 1);
        for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
        xl.config = bytes;
        if (optionalExtra !== undefined) xl.optionalExtra = optionalExtra;
      }
      const value: SaveFile = { format: "libxl", xl, stream: libxl.value };
      return { value, bytes: encodeSaveFile(value) };
    });
}

/** Record type ids of every libxc record, for mutators. */
export const LIBXC_RECORD_TYPE_IDS: readonly number[] = Object.values(LibxcRecordType);
