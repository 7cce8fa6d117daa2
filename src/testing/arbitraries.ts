/**
 * fast-check arbitraries of whole streams: libxc, libxl (libxc nested,
 * plain or checkpointed Remus/COLO) and xl save files. Every value is
 * generated in the decoder's normal form (reserved fields present, `padding`
 * and `extra` only when non-empty), so `decode(encode(value))` deep-equals
 * `value`; each arbitrary yields `{ value, bytes }`.
 *
 * By default the streams are valid by the spec (reserved fields zero,
 * records in the spec's order, sizes consistent). With `lenient: true` they
 * also use what Xen's restore tolerates and the decoder keeps: non-zero
 * reserved fields and padding, bodies on signalling records, unknown
 * optional records.
 *
 * Everything is composed with `map` (no `chain`), so a failing stream
 * shrinks part by part: fewer PAGE_DATA records and entries, fewer vCPUs,
 * zero pfns, empty blobs.
 *
 * @module
 */
import fc from "fast-check";
import { DomainType, LibxcRecordType, PAGE_SHIFT_MAX, PAGE_SHIFT_MIN } from "../libxc/constants.js";
import { libxcTable } from "../libxc/codec.js";
import { recordBodyLength } from "../wire/record-writer.js";
import { encodeLibxcStream } from "../libxc/stream.js";
import type { DomainHeader, ImageHeader, LibxcRecord, LibxcStream } from "../libxc/types.js";
import { CheckpointStateId, EmulatorId, LIBXL_OPT_BIG_ENDIAN, LIBXL_OPT_LEGACY } from "../libxl/constants.js";
import { encodeLibxlStream } from "../libxl/stream.js";
import type { LibxlItem, LibxlRecord, LibxlStream } from "../libxl/types.js";
import { encodeSaveFile, type SaveFile } from "../savefile.js";
import { XlMandatoryFlag } from "../xl/constants.js";
import type { XlHeader } from "../xl/header.js";
import {
  checkInteger,
  cpuidPolicyRecord,
  hvmContextBuilder,
  hvmParamsRecord,
  invalid,
  msrPolicyRecord,
  p2mFramesBuilder,
  paddingFrom,
  pageDataBuilder,
  pvInfoBuilder,
  reserved,
  sharedInfoBuilder,
  signalRecord,
  smallBytes,
  tscInfoRecord,
  unknownOptionalRecord,
  vcpuRecordsBuilder,
  xenstoreEntries,
  type BuildContext,
  type Encoded,
} from "./records.js";

export type { Encoded } from "./records.js";

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

/** Most vCPUs a generated stream has. */
const MAX_VCPUS = 2;
/** Largest pfn of a generated guest. */
const MAX_PFN = 4000;
/** Padding seeds drawn per pass for lenient streams (reused cyclically). */
const PADDING_SEEDS = 8;

interface LibxcShape {
  imageHeader: ImageHeader;
  domainHeader: DomainHeader;
  /** Records up to (not including) the first memory pass. */
  prologue: LibxcRecord[];
  /** One entry per checkpoint (or one for a plain stream): pages + end-of-checkpoint records + CHECKPOINT/END. */
  passes: LibxcRecord[][];
}

interface Resolved {
  guest: fc.Arbitrary<GuestKind>;
  version: fc.Arbitrary<2 | 3>;
  bigEndian: fc.Arbitrary<boolean>;
  pageShift: number;
  maxPageRecords: number;
  maxPagesPerRecord: number;
  checkpoints: number;
  lenient: boolean;
}

/** Validates the constraints eagerly (naming the arbitrary) and fills in defaults. */
function resolve(arbitrary: string, constraints: StreamConstraints): Resolved {
  if (constraints.guest !== undefined && constraints.guest !== "pv" && constraints.guest !== "hvm") {
    invalid(arbitrary, `guest must be "pv" or "hvm", got ${JSON.stringify(constraints.guest)}`);
  }
  if (constraints.version !== undefined && constraints.version !== 2 && constraints.version !== 3) {
    invalid(arbitrary, `version must be 2 or 3, got ${String(constraints.version)}`);
  }
  const byteOrder = constraints.byteOrder ?? "little";
  if (byteOrder !== "little" && byteOrder !== "big" && byteOrder !== "any") {
    invalid(arbitrary, `byteOrder must be "little", "big" or "any", got ${JSON.stringify(byteOrder)}`);
  }
  checkInteger(arbitrary, "pageShift", constraints.pageShift, PAGE_SHIFT_MIN, PAGE_SHIFT_MAX);
  checkInteger(arbitrary, "maxPageRecords", constraints.maxPageRecords, 1, 64);
  checkInteger(arbitrary, "maxPagesPerRecord", constraints.maxPagesPerRecord, 1, 1024);
  checkInteger(arbitrary, "checkpoints", constraints.checkpoints, 0, 64);
  return {
    guest: constraints.guest === undefined ? fc.constantFrom<GuestKind>("hvm", "pv") : fc.constant(constraints.guest),
    version: constraints.version === undefined ? fc.constantFrom<2 | 3>(3, 2) : fc.constant(constraints.version),
    bigEndian: byteOrder === "any" ? fc.boolean() : fc.constant(byteOrder === "big"),
    pageShift: constraints.pageShift ?? 12,
    maxPageRecords: constraints.maxPageRecords ?? 3,
    maxPagesPerRecord: constraints.maxPagesPerRecord ?? 6,
    checkpoints: constraints.checkpoints ?? 0,
    lenient: constraints.lenient ?? false,
  };
}

/** What leniency adds to a pass: non-zero padding, one unknown optional record. */
interface Decoration {
  paddings: Array<Uint8Array | undefined>;
  insert: [number, LibxcRecord] | undefined;
}

const decorationArbitrary: fc.Arbitrary<Decoration> = fc.record({
  paddings: fc.array(fc.option(fc.uint8Array({ minLength: 8, maxLength: 8 }), { nil: undefined, freq: 2 }), {
    minLength: PADDING_SEEDS,
    maxLength: PADDING_SEEDS,
  }),
  insert: fc.option(fc.tuple(fc.nat(), unknownOptionalRecord()), { nil: undefined }),
});

/** Applies a decoration: padding on some records, maybe one unknown optional record (never last). */
function decorate(records: LibxcRecord[], decoration: Decoration | undefined, pageSize: number): LibxcRecord[] {
  if (decoration === undefined) return records;
  const out = records.map((record, i) => {
    const seed = decoration.paddings[i % PADDING_SEEDS];
    if (seed === undefined) return record;
    // The body length as the encoder computes it (the registry's codec).
    const padding = paddingFrom(seed, recordBodyLength(libxcTable, record, { pageSize }, 0));
    return padding === undefined ? record : { ...record, padding };
  });
  if (decoration.insert !== undefined) out.splice(decoration.insert[0] % out.length, 0, decoration.insert[1]);
  return out;
}

/**
 * The shape of a libxc stream. Everything is drawn up front (both guest
 * types' records, the largest p2m frame list, every vCPU) and combined with
 * `map`, so every part shrinks independently.
 */
function libxcShape(arbitrary: string, constraints: StreamConstraints): fc.Arbitrary<LibxcShape> {
  const c = resolve(arbitrary, constraints);
  const pageSize = 2 ** c.pageShift;
  const lenient = c.lenient;
  const checkpoints = c.checkpoints;
  const pass = fc.record({
    pages: fc.array(pageDataBuilder(lenient, c.maxPagesPerRecord), { minLength: 1, maxLength: c.maxPageRecords }),
    tsc: tscInfoRecord(lenient),
    sharedInfo: sharedInfoBuilder(),
    vcpus: fc.tuple(...Array.from({ length: MAX_VCPUS }, (_, v) => vcpuRecordsBuilder(v, lenient))),
    hvmParams: fc.option(hvmParamsRecord(lenient), { nil: undefined }),
    hvmContext: hvmContextBuilder(),
    signal: signalRecord(checkpoints > 0 ? "CHECKPOINT" : "END", lenient),
    decoration: lenient ? decorationArbitrary : fc.constant(undefined),
  });
  return fc
    .record({
      guest: c.guest,
      version: c.version,
      bigEndian: c.bigEndian,
      guestWidth: fc.constantFrom<4 | 8>(8, 4),
      vcpus: fc.integer({ min: 1, max: MAX_VCPUS }),
      maxPfn: fc.nat({ max: MAX_PFN }),
      xenMinor: fc.nat({ max: 20 }),
      withPolicy: fc.boolean(),
      imageReserved: reserved(lenient, 0xffff),
      domainReserved: reserved(lenient, 0xffff),
      pvInfo: pvInfoBuilder(lenient),
      cpuid: cpuidPolicyRecord(),
      msr: msrPolicyRecord(lenient),
      staticDataEnd: signalRecord("STATIC_DATA_END", lenient),
      p2m: p2mFramesBuilder(pageSize, MAX_PFN),
      prologueDecoration: lenient ? decorationArbitrary : fc.constant(undefined),
      passes: fc.tuple(...Array.from({ length: Math.max(1, checkpoints) }, () => pass)),
    })
    .map((s): LibxcShape => {
      const pv = s.guest === "pv";
      const context: BuildContext = { pageSize, guestWidth: s.guestWidth, maxPfn: s.maxPfn, vcpus: s.vcpus };
      const prologue: LibxcRecord[] = [];
      if (pv) prologue.push(s.pvInfo(context));
      if (s.version === 3) {
        if (s.withPolicy) prologue.push(s.cpuid, s.msr);
        prologue.push(s.staticDataEnd);
      }
      if (pv) prologue.push(s.p2m(context));
      const passes = s.passes.map((p) => {
        const records: LibxcRecord[] = p.pages.map((make) => make(context));
        records.push(p.tsc);
        if (pv) {
          records.push(p.sharedInfo(context));
          for (let v = 0; v < s.vcpus; v++) records.push(...(p.vcpus[v] as (c: BuildContext) => LibxcRecord[])(context));
        } else {
          if (p.hvmParams !== undefined) records.push(p.hvmParams);
          records.push(p.hvmContext(context));
        }
        records.push(p.signal);
        return decorate(records, p.decoration, pageSize);
      });
      return {
        imageHeader: { version: s.version, options: s.bigEndian ? 1 : 0, reserved1: s.imageReserved, reserved2: 0 },
        domainHeader: {
          type: pv ? DomainType.X86_PV : DomainType.X86_HVM,
          pageShift: c.pageShift,
          reserved: s.domainReserved,
          xenMajor: 4,
          xenMinor: s.xenMinor,
        },
        // Padding only: an unknown record before STATIC_DATA_END would be a v3 ordering question.
        prologue: decorate(prologue, s.prologueDecoration === undefined ? undefined : { ...s.prologueDecoration, insert: undefined }, pageSize),
        passes,
      };
    });
}

/**
 * A whole valid libxc stream with its bytes.
 *
 * @param constraints - guest, version, byte order, size, checkpoints, leniency
 * @returns an arbitrary of `{ value, bytes }`
 * @throws RangeError at once (not when sampled) for a bad constraint
 */
export function libxcStream(constraints: StreamConstraints = {}): fc.Arbitrary<Encoded<LibxcStream>> {
  return libxcShape("libxcStream", constraints).map((shape) => {
    const value: LibxcStream = {
      imageHeader: shape.imageHeader,
      domainHeader: shape.domainHeader,
      records: [...shape.prologue, ...shape.passes.flat()],
    };
    return { value, bytes: encodeLibxcStream(value) };
  });
}

/** An HVM guest's emulator records: optional EMULATOR_XENSTORE_DATA, then EMULATOR_CONTEXT. */
function emulatorRecords(lenient: boolean): fc.Arbitrary<LibxlRecord[]> {
  return fc
    .record({
      xenstore: fc.option(xenstoreEntries(), { nil: undefined }),
      id: fc.constantFrom(EmulatorId.QEMU_UPSTREAM, EmulatorId.QEMU_TRADITIONAL, EmulatorId.UNKNOWN),
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

function libxlShape(arbitrary: string, constraints: LibxlStreamConstraints): fc.Arbitrary<Encoded<LibxlStream>> {
  const colo = constraints.colo ?? false;
  if (colo && constraints.guest === "pv") invalid(arbitrary, 'colo streams are HVM only; guest "pv" was asked for');
  const lenient = constraints.lenient ?? false;
  const checkpoints = constraints.checkpoints ?? 0;
  const shapeConstraints: StreamConstraints = colo ? { ...constraints, guest: "hvm" } : constraints;
  const parts = Math.max(1, checkpoints);
  return fc
    .record({
      shape: libxcShape(arbitrary, shapeConstraints),
      legacy: fc.boolean(),
      emulators: fc.tuple(...Array.from({ length: parts }, () => emulatorRecords(lenient))),
    })
    .map(({ shape, legacy, emulators }) => {
      const hvm = shape.domainHeader.type === DomainType.X86_HVM;
      const bigEndian = (shape.imageHeader.options & 1) !== 0;
      const items: LibxlItem[] = [{ type: "LIBXC_CONTEXT" }];
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
          if (colo) items.push({ type: "CHECKPOINT_STATE", controlId: CheckpointStateId.CHECKPOINT_NEW });
        }
      });
      if (checkpoints === 0) items.push({ type: "END" });
      const value: LibxlStream = {
        header: { version: 2, options: (bigEndian ? LIBXL_OPT_BIG_ENDIAN : 0) | (legacy ? LIBXL_OPT_LEGACY : 0) },
        items,
      };
      return { value, bytes: encodeLibxlStream(value) };
    });
}

/**
 * A whole valid libxl stream (libxc stream nested) with its bytes. With
 * `checkpoints: n`, a checkpointed stream of n libxc parts.
 *
 * @param constraints - as {@link libxcStream}, plus COLO
 * @returns an arbitrary of `{ value, bytes }`
 * @throws RangeError at once for a bad constraint
 */
export function libxlStream(constraints: LibxlStreamConstraints = {}): fc.Arbitrary<Encoded<LibxlStream>> {
  return libxlShape("libxlStream", constraints);
}

/** The JSON config xl stores: what `xl save` writes, cut down to the guest type and name. */
function configBytes(guest: "pv" | "hvm", name: string): Uint8Array {
  const text = `{\n    "c_info": {\n        "type": "${guest}",\n        "name": "${name}"\n    }\n}\n`;
  const bytes = new Uint8Array(text.length + 1);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * A whole valid xl save file (xl header, maybe with a JSON config, then a
 * libxl stream) with its bytes.
 *
 * @param constraints - as {@link libxlStream}
 * @returns an arbitrary of `{ value, bytes }`
 * @throws RangeError at once for a bad constraint
 */
export function xlSaveFile(constraints: LibxlStreamConstraints = {}): fc.Arbitrary<Encoded<SaveFile>> {
  const lenient = constraints.lenient ?? false;
  return fc
    .record({
      libxl: libxlShape("xlSaveFile", constraints),
      byteOrder:
        constraints.byteOrder === "any"
          ? fc.constantFrom<"little" | "big">("little", "big")
          : fc.constant<"little" | "big">(constraints.byteOrder === "big" ? "big" : "little"),
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
        const hvm = libxl.value.items.some((i) => i.type === "LIBXC_STREAM" && i.stream.domainHeader.type === DomainType.X86_HVM);
        xl.config = configBytes(hvm ? "hvm" : "pv", name);
        if (optionalExtra !== undefined) xl.optionalExtra = optionalExtra;
      }
      const value: SaveFile = { format: "libxl", xl, stream: libxl.value };
      return { value, bytes: encodeSaveFile(value) };
    });
}

/** Record type ids of every libxc record, for mutators. */
export const LIBXC_RECORD_TYPE_IDS: readonly number[] = Object.values(LibxcRecordType);
