/**
 * Mutators that turn a valid stream into a near-valid one, each labelled
 * with what it broke and what our decoder (and verifier) should say.
 *
 * Structure-aware mutators work on the {@link StreamMap} of a valid v2
 * stream (the offsets of every header and record, from the decoder's
 * events): wrong lengths, non-zero padding and reserved bits, truncation
 * at and inside records, reordered, retyped, duplicated and missing
 * records, bad page types, bad magic numbers and versions, trailing bytes.
 * Byte-level mutators flip, set, insert, delete and copy bytes anywhere,
 * and work on any input (legacy streams included).
 *
 * Every mutator is a plain function of the input and two numbers: `target`
 * picks the place (modulo the number of places the mutation applies to)
 * and `variant` picks how. Both shrink towards 0 under fast-check: the
 * first place, the plainest variant.
 *
 * Expectations assume the default decoder options (maxRecordLength
 * REC_LENGTH_MAX, unknown mandatory records refused) and the format given
 * to the decoder (`label.format`): with format detection a broken first
 * magic reads as a legacy stream (UNSUPPORTED) instead of BAD_MAGIC.
 *
 * @module
 */
import { concatBytes } from "../wire/bytes.js";
import fc from "fast-check";
import type { ErrorCode } from "../errors.js";
import type { FindingCodeName } from "../verify/types.js";
import { REC_LENGTH_MAX, RECORD_HEADER_SIZE, paddedLength } from "../wire/frame.js";
import { XL_HEADER_SIZE } from "../xl/constants.js";
import { describeFrame, frameAt, streamMap, type Frame, type MappedFormat, type StreamMap } from "./stream-map.js";

/** Mutations that need the stream's structure. */
export const STRUCTURAL_MUTATION_KINDS = [
  "length-too-large",
  "length-past-end",
  "wrong-length",
  "bad-padding",
  "reserved-bits",
  "truncate-at-record",
  "truncate-in-record",
  "reorder",
  "unknown-type",
  "optional-type",
  "duplicate",
  "missing",
  "bad-page-type",
  "bad-magic",
  "bad-version",
  "bad-field",
  "trailing-data",
] as const;

/** Mutations of raw bytes, which apply to any input. */
export const BYTE_MUTATION_KINDS = ["bit-flip", "byte-set", "word-set", "insert", "delete", "splice"] as const;

/** Every mutation kind. */
export const MUTATION_KINDS = [...STRUCTURAL_MUTATION_KINDS, ...BYTE_MUTATION_KINDS] as const;

/** A structure-aware mutation kind. */
export type StructuralMutationKind = (typeof STRUCTURAL_MUTATION_KINDS)[number];
/** A byte-level mutation kind. */
export type ByteMutationKind = (typeof BYTE_MUTATION_KINDS)[number];
/** Any mutation kind. */
export type MutationKind = StructuralMutationKind | ByteMutationKind;

/** What the decoder and the verifier should say about a mutated stream. */
export interface Expectation {
  /** "ok" when the decoder accepts the stream (restore tolerates the fault), else its error code. */
  decoder: "ok" | ErrorCode;
  /** The error's offset, when the decoder fails. */
  offset?: number;
  /**
   * A finding code the verifier reports, when the mutation is certain to
   * cause one (a decoder error is reported with the decoder's code).
   */
  verifier?: FindingCodeName | ErrorCode;
}

/** What a mutation did. */
export interface MutationLabel {
  kind: MutationKind;
  /** What was broken, for people. */
  description: string;
  /** Format of the stream (what to tell the decoder). */
  format: MappedFormat | "legacy" | undefined;
  /** Layer of the broken frame. */
  layer?: "xl" | "libxl" | "libxc";
  /** Index (within its layer) of the broken record. */
  recordIndex?: number;
  /** Type name of the broken record. */
  recordType?: string;
  /** Offset of the changed bytes in the mutated stream. */
  offset?: number;
  /** What should happen; absent for byte-level mutations, whose effect is not known in advance. */
  expected?: Expectation;
}

/** A mutated stream and what was done to it. */
export interface Mutated {
  bytes: Uint8Array;
  mutation: MutationLabel;
}

/** Which place and which variant of a mutation (any non-negative integers). */
export interface MutationChoice {
  target: number;
  variant: number;
}

// ---------------------------------------------------------------------------
// Small helpers.

/** A small deterministic PRNG (mulberry32). @internal */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b_79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  };
}

function pick<T>(items: readonly T[], index: number): T {
  return items[index % items.length] as T;
}

function copyOf(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

function viewOn(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function withU32(bytes: Uint8Array, at: number, value: number, littleEndian: boolean): Uint8Array {
  const out = copyOf(bytes);
  viewOn(out).setUint32(at, value >>> 0, littleEndian);
  return out;
}


function bodyOf(frame: Frame): number {
  return frame.offset + RECORD_HEADER_SIZE;
}

function records(map: StreamMap): Frame[] {
  return map.frames.filter((frame) => frame.kind === "record");
}

function frameOf(kind: Frame["kind"], map: StreamMap): Frame | undefined {
  return map.frames.find((frame) => frame.kind === kind);
}

function where(frame: Frame): Pick<MutationLabel, "layer" | "recordIndex" | "recordType"> {
  return {
    layer: frame.layer,
    ...(frame.index === undefined ? {} : { recordIndex: frame.index }),
    ...(frame.type === undefined ? {} : { recordType: frame.type }),
  };
}

function fail(code: ErrorCode, offset: number): Expectation {
  return { decoder: code, offset, verifier: code };
}

const OK_SAME: Expectation = { decoder: "ok" };

interface Context {
  bytes: Uint8Array;
  map: StreamMap;
}

/** One place a structural mutation applies to: how to produce it for a variant. */
type Place = (variant: number) => Mutated;

type Structural = (context: Context) => Place[];

function make(
  kind: MutationKind,
  context: Context,
  frame: Frame | undefined,
  bytes: Uint8Array,
  description: string,
  offset: number,
  expected: Expectation,
): Mutated {
  return {
    bytes,
    mutation: {
      kind,
      description: frame === undefined ? description : `${describeFrame(frame)}: ${description}`,
      format: context.map.format,
      ...(frame === undefined ? {} : where(frame)),
      offset,
      expected,
    },
  };
}

// ---------------------------------------------------------------------------
// Structure-aware mutators.

const HUGE_LENGTHS = [REC_LENGTH_MAX + 1, 0x7fff_ffff, 0x8000_0000, 0xffff_fff8, 0xffff_ffff];

const lengthTooLarge: Structural = (context) => {
  const places: Place[] = records(context.map).map((frame) => (variant) => {
    const length = pick(HUGE_LENGTHS, variant);
    const at = frame.offset + 4;
    return make("length-too-large", context, frame, withU32(context.bytes, at, length, frame.littleEndian),
      `body_length ${frame.bodyLength} -> ${length} (over the ${REC_LENGTH_MAX}-byte limit)`, at, fail("RECORD_TOO_LARGE", at));
  });
  const xl = frameOf("xlHeader", context.map);
  if (xl !== undefined) {
    places.push((variant) => {
      const length = pick(HUGE_LENGTHS, variant);
      return make("length-too-large", context, xl, withU32(context.bytes, 44, length, xl.littleEndian),
        `optional_data_len -> ${length}`, 44, fail("RECORD_TOO_LARGE", 44));
    });
  }
  return places;
};

const lengthPastEnd: Structural = (context) => {
  const { bytes } = context;
  const places: Place[] = records(context.map).map((frame) => (variant) => {
    const length = bytes.length - bodyOf(frame) + 1 + 8 * (variant % 64);
    const at = frame.offset + 4;
    return make("length-past-end", context, frame, withU32(bytes, at, length, frame.littleEndian),
      `body_length ${frame.bodyLength} -> ${length}, past the end of the input`, at, fail("TRUNCATED", bytes.length));
  });
  const xl = frameOf("xlHeader", context.map);
  if (xl !== undefined) {
    places.push((variant) => {
      const length = bytes.length - XL_HEADER_SIZE + 1 + (variant % 64);
      return make("length-past-end", context, xl, withU32(bytes, 44, length, xl.littleEndian),
        `optional_data_len -> ${length}, past the end of the input`, 44, fail("TRUNCATED", bytes.length));
    });
  }
  return places;
};

/** A body length the decoder refuses for this record type (shorter than the real one), if any. */
function refusedLength(frame: Frame): number | undefined {
  const length = frame.bodyLength ?? 0;
  if (frame.layer === "libxl") {
    if (frame.type === "EMULATOR_XENSTORE_DATA" || frame.type === "EMULATOR_CONTEXT") return 7;
    if (frame.type === "CHECKPOINT_STATE") return 3;
    return undefined;
  }
  switch (frame.type) {
    case "X86_PV_INFO":
    case "X86_PV_VCPU_BASIC":
    case "X86_PV_VCPU_EXTENDED":
    case "X86_PV_VCPU_XSAVE":
    case "X86_PV_VCPU_MSRS":
      return 7;
    case "HVM_CONTEXT":
      return 0;
    case "PAGE_DATA":
    case "X86_PV_P2M_FRAMES":
    case "SHARED_INFO":
    case "X86_TSC_INFO":
    case "HVM_PARAMS":
    case "X86_CPUID_POLICY":
    case "X86_MSR_POLICY":
    case "CHECKPOINT_DIRTY_PFN_LIST":
      return length > 0 ? length - 1 : undefined;
    default:
      return undefined;
  }
}

const wrongLength: Structural = (context) => {
  const places: Place[] = [];
  for (const frame of records(context.map)) {
    const length = refusedLength(frame);
    if (length === undefined) continue;
    places.push(() => {
      const at = frame.offset + 4;
      return make("wrong-length", context, frame, withU32(context.bytes, at, length, frame.littleEndian),
        `body_length ${frame.bodyLength} -> ${length}, which ${frame.type} does not allow`, at, fail("BAD_LENGTH", at));
    });
  }
  const xl = frameOf("xlHeader", context.map);
  if (xl !== undefined && xl.size >= XL_HEADER_SIZE + 4) {
    places.push(() =>
      make("wrong-length", context, xl, withU32(context.bytes, 44, 3, xl.littleEndian),
        `optional_data_len ${xl.size - XL_HEADER_SIZE} -> 3, too short for config_len`, 44, fail("BAD_LENGTH", 44)),
    );
  }
  return places;
};

const badPadding: Structural = (context) =>
  records(context.map)
    .filter((frame) => paddedLength(frame.bodyLength ?? 0) > (frame.bodyLength ?? 0))
    .map((frame) => (variant) => {
      const body = frame.bodyLength ?? 0;
      const padding = paddedLength(body) - body;
      const at = bodyOf(frame) + body + (variant % padding);
      const out = copyOf(context.bytes);
      out[at] = (out[at] as number) | (1 << (variant % 8));
      return make("bad-padding", context, frame, out, `non-zero padding byte at ${at}`, at, {
        decoder: "ok",
        verifier: "PADDING_NONZERO",
      });
    });

/** A reserved field: where it lies and how wide it is. */
interface ReservedField {
  frame: Frame;
  at: number;
  /** Width in bits of the reserved part. */
  bits: number;
  /** Lowest reserved bit within the field. */
  shift: number;
  /** Field width in bytes (1, 2, 4 or 8). */
  size: 1 | 2 | 4 | 8;
  name: string;
  littleEndian: boolean;
}

function reservedFields(context: Context): ReservedField[] {
  const { bytes, map } = context;
  const view = viewOn(bytes);
  const fields: ReservedField[] = [];
  const add = (frame: Frame, at: number, size: 1 | 2 | 4 | 8, name: string, shift = 0, bits = size * 8 - shift): void => {
    fields.push({ frame, at, size, name, shift, bits, littleEndian: frame.littleEndian });
  };
  for (const frame of map.frames) {
    const body = frame.offset + RECORD_HEADER_SIZE;
    switch (frame.kind) {
      case "imageHeader":
        add(frame, frame.offset + 16, 2, "options bits 1-15", 1);
        add(frame, frame.offset + 18, 2, "_res1");
        add(frame, frame.offset + 20, 4, "_res2");
        break;
      case "domainHeader":
        add(frame, frame.offset + 6, 2, "reserved");
        break;
      case "libxlHeader":
        add(frame, frame.offset + 12, 4, "options bits 2-31", 2);
        break;
      case "xlHeader":
        break;
      case "record":
        if (frame.layer !== "libxc") break;
        switch (frame.type) {
          case "PAGE_DATA": {
            add(frame, body + 4, 4, "reserved");
            const count = view.getUint32(body, frame.littleEndian);
            for (let i = 0; i < Math.min(count, 64); i++) add(frame, body + 8 + 8 * i, 8, `pfn[${i}] bits 52-59`, 52, 8);
            break;
          }
          case "X86_PV_INFO":
            for (let i = 0; i < 6; i++) add(frame, body + 2 + i, 1, `reserved byte ${i}`);
            break;
          case "X86_PV_VCPU_BASIC":
          case "X86_PV_VCPU_EXTENDED":
          case "X86_PV_VCPU_XSAVE":
          case "X86_PV_VCPU_MSRS":
          case "HVM_PARAMS":
            add(frame, body + 4, 4, "reserved");
            break;
          case "X86_TSC_INFO":
            add(frame, body + 20, 4, "reserved");
            break;
          case "X86_MSR_POLICY":
            for (let i = 0; i < Math.min((frame.bodyLength ?? 0) / 16, 64); i++) add(frame, body + 16 * i + 4, 4, `msr[${i}].flags`);
            break;
          default:
            break;
        }
        break;
    }
  }
  return fields;
}

function setBit(bytes: Uint8Array, field: ReservedField, bit: number): Uint8Array {
  const out = copyOf(bytes);
  const view = viewOn(out);
  switch (field.size) {
    case 1:
      view.setUint8(field.at, view.getUint8(field.at) | (1 << bit));
      break;
    case 2:
      view.setUint16(field.at, view.getUint16(field.at, field.littleEndian) | (1 << bit), field.littleEndian);
      break;
    case 4:
      view.setUint32(field.at, (view.getUint32(field.at, field.littleEndian) | (1 << bit)) >>> 0, field.littleEndian);
      break;
    case 8:
      view.setBigUint64(field.at, view.getBigUint64(field.at, field.littleEndian) | (1n << BigInt(bit)), field.littleEndian);
      break;
  }
  return out;
}

const reservedBits: Structural = (context) => {
  const places: Place[] = reservedFields(context).map((field) => (variant) => {
    const bit = field.shift + (variant % field.bits);
    return make("reserved-bits", context, field.frame, setBit(context.bytes, field, bit),
      `${field.name}: bit ${bit} set`, field.at, { decoder: "ok", verifier: "RESERVED_NONZERO" });
  });
  const xl = frameOf("xlHeader", context.map);
  if (xl !== undefined) {
    // xl refuses unknown mandatory flags (xl_vmcontrol.c): a hard error, not a tolerated one.
    places.push((variant) => {
      const bit = 2 + (variant % 30);
      const field: ReservedField = { frame: xl, at: 36, size: 4, bits: 30, shift: 2, name: "mandatory_flags", littleEndian: xl.littleEndian };
      return make("reserved-bits", context, xl, setBit(context.bytes, field, bit), `unknown mandatory flag bit ${bit} set`, 36, fail("BAD_FIELD", 36));
    });
  }
  return places;
};

const truncateAtRecord: Structural = (context) =>
  context.map.frames
    .filter((frame) => frame.offset > 0 && !context.map.validEnds.has(frame.offset))
    .map((frame) => () =>
      make("truncate-at-record", context, frame, context.bytes.slice(0, frame.offset),
        `input cut right before it (${frame.offset} bytes kept)`, frame.offset, fail("TRUNCATED", frame.offset)),
    );

const truncateInRecord: Structural = (context) =>
  context.map.frames.map((frame) => (variant) => {
    const cut = frame.offset + 1 + (variant % (frame.size - 1));
    return make("truncate-in-record", context, frame, context.bytes.slice(0, cut),
      `input cut ${cut - frame.offset} bytes into it`, cut, fail("TRUNCATED", cut));
  });

function movable(frame: Frame): boolean {
  return frame.kind === "record" && frame.structural !== true;
}

const reorder: Structural = (context) => {
  const { bytes, map } = context;
  const places: Place[] = [];
  for (let i = 0; i + 1 < map.frames.length; i++) {
    const a = map.frames[i] as Frame;
    const b = map.frames[i + 1] as Frame;
    if (!movable(a) || !movable(b) || a.layer !== b.layer || a.offset + a.size !== b.offset || a.typeId === b.typeId) continue;
    places.push(() => {
      const out = concatBytes([bytes.subarray(0, a.offset), bytes.subarray(b.offset, b.offset + b.size), bytes.subarray(a.offset, b.offset), bytes.subarray(b.offset + b.size)]);
      return make("reorder", context, a, out, `swapped with the next record (${String(b.type)})`, a.offset, OK_SAME);
    });
  }
  return places;
};

const unknownType: Structural = (context) =>
  records(context.map).map((frame) => (variant) => {
    // Above every type either layer defines, below the optional bit.
    const typeId = 0x13 + (variant % (0x8000_0000 - 0x13));
    return make("unknown-type", context, frame, withU32(context.bytes, frame.offset, typeId, frame.littleEndian),
      `type ${String(frame.typeId)} -> unknown mandatory type 0x${typeId.toString(16)}`, frame.offset, fail("UNKNOWN_RECORD", frame.offset));
  });

const optionalType: Structural = (context) =>
  records(context.map)
    .filter((frame) => movable(frame) && frame.type !== "UNKNOWN")
    .map((frame) => () => {
      const typeId = ((frame.typeId ?? 0) | 0x8000_0000) >>> 0;
      return make("optional-type", context, frame, withU32(context.bytes, frame.offset, typeId, frame.littleEndian),
        `type bit 31 set (0x${typeId.toString(16)}): an unknown optional record`, frame.offset, { decoder: "ok", verifier: "OPTIONAL_RECORD" });
    });

const duplicate: Structural = (context) =>
  records(context.map)
    .filter(movable)
    .map((frame) => () => {
      const { bytes } = context;
      const end = frame.offset + frame.size;
      const out = concatBytes([bytes.subarray(0, end), bytes.subarray(frame.offset, end), bytes.subarray(end)]);
      return make("duplicate", context, frame, out, "record repeated right after itself", end, OK_SAME);
    });

const missing: Structural = (context) => {
  const { bytes, map } = context;
  const places: Place[] = records(map)
    .filter(movable)
    .map((frame) => () => {
      const out = concatBytes([bytes.subarray(0, frame.offset), bytes.subarray(frame.offset + frame.size)]);
      return make("missing", context, frame, out, "record removed", frame.offset, OK_SAME);
    });
  const last = map.frames[map.frames.length - 1];
  if (last !== undefined && last.type === "END" && last.offset + last.size === bytes.length) {
    places.push(() =>
      make("missing", context, last, bytes.slice(0, last.offset), "final END removed", last.offset, fail("TRUNCATED", last.offset)),
    );
  }
  return places;
};

const badPageType: Structural = (context) => {
  const places: Place[] = [];
  const view = viewOn(context.bytes);
  for (const frame of records(context.map)) {
    if (frame.layer !== "libxc" || frame.type !== "PAGE_DATA") continue;
    const count = view.getUint32(bodyOf(frame), frame.littleEndian);
    for (let i = 0; i < Math.min(count, 64); i++) {
      places.push((variant) => {
        const type = 5 + (variant % 4);
        const at = bodyOf(frame) + 8 + 8 * i;
        const out = copyOf(context.bytes);
        const entry = viewOn(out);
        const value = entry.getBigUint64(at, frame.littleEndian);
        entry.setBigUint64(at, (value & 0x0fff_ffff_ffff_ffffn) | (BigInt(type) << 60n), frame.littleEndian);
        return make("bad-page-type", context, frame, out, `pfn[${i}] page type -> reserved type ${type}`, at, fail("BAD_PAGE_TYPE", at));
      });
    }
  }
  return places;
};

function flipByte(bytes: Uint8Array, at: number, mask: number): Uint8Array {
  const out = copyOf(bytes);
  out[at] = (out[at] as number) ^ mask;
  return out;
}

const badMagic: Structural = (context) => {
  const places: Place[] = [];
  for (const frame of context.map.frames) {
    if (frame.kind === "xlHeader") {
      places.push((variant) => {
        const at = variant % 32;
        return make("bad-magic", context, frame, flipByte(context.bytes, at, 0x40), `magic byte ${at} changed`, at, fail("BAD_MAGIC", at));
      });
    } else if (frame.kind === "libxlHeader") {
      places.push((variant) => {
        const at = frame.offset + (variant % 8);
        return make("bad-magic", context, frame, flipByte(context.bytes, at, 0x40), `ident byte ${at - frame.offset} changed`, at, fail("BAD_MAGIC", frame.offset));
      });
    } else if (frame.kind === "imageHeader") {
      places.push((variant) => {
        const byte = variant % 12;
        const at = frame.offset + byte;
        const field = byte < 8 ? "marker" : "id";
        return make("bad-magic", context, frame, flipByte(context.bytes, at, 0x40), `${field} byte ${byte} changed`, at,
          fail("BAD_MAGIC", frame.offset + (byte < 8 ? 0 : 8)));
      });
    }
  }
  return places;
};

const badVersion: Structural = (context) => {
  const places: Place[] = [];
  for (const frame of context.map.frames) {
    if (frame.kind === "imageHeader") {
      places.push((variant) => {
        const version = pick([1, 4, 0, 0xffff_ffff], variant);
        const at = frame.offset + 12;
        return make("bad-version", context, frame, withU32(context.bytes, at, version, false), `version -> ${version}`, at, fail("BAD_VERSION", at));
      });
    } else if (frame.kind === "libxlHeader") {
      places.push((variant) => {
        const version = pick([1, 3, 0, 0xffff_ffff], variant);
        const at = frame.offset + 8;
        return make("bad-version", context, frame, withU32(context.bytes, at, version, false), `version -> ${version}`, at, fail("BAD_VERSION", at));
      });
    }
  }
  return places;
};

const badField: Structural = (context) => {
  const { bytes } = context;
  const places: Place[] = [];
  for (const frame of context.map.frames) {
    if (frame.kind === "domainHeader") {
      places.push((variant) => {
        const type = pick([0, 3, 0xffff_ffff], variant);
        return make("bad-field", context, frame, withU32(bytes, frame.offset, type, frame.littleEndian), `domain type -> ${type}`, frame.offset,
          fail("BAD_FIELD", frame.offset));
      });
      places.push((variant) => {
        const shift = pick([11, 25, 0, 0xffff], variant);
        const out = copyOf(bytes);
        viewOn(out).setUint16(frame.offset + 4, shift, frame.littleEndian);
        return make("bad-field", context, frame, out, `page_shift -> ${shift}`, frame.offset + 4, fail("BAD_FIELD", frame.offset + 4));
      });
    } else if (frame.kind === "xlHeader") {
      places.push(() =>
        make("bad-field", context, frame, withU32(bytes, 32, 0x0506_0708, true), "byteorder -> 0x05060708", 32, fail("BAD_FIELD", 32)),
      );
    } else if (frame.layer === "libxc" && frame.type === "PAGE_DATA") {
      places.push(() =>
        make("bad-field", context, frame, withU32(bytes, bodyOf(frame), 0, frame.littleEndian), "count -> 0", bodyOf(frame), fail("BAD_FIELD", bodyOf(frame))),
      );
    } else if (frame.layer === "libxc" && frame.type === "X86_PV_P2M_FRAMES") {
      places.push(() => {
        const end = viewOn(bytes).getUint32(bodyOf(frame) + 4, frame.littleEndian);
        if (end === 0xffff_ffff) {
          return make("bad-field", context, frame, withU32(bytes, bodyOf(frame) + 4, 0, frame.littleEndian), "p2m_end_pfn -> 0, below p2m_start_pfn",
            bodyOf(frame) + 4, fail("BAD_FIELD", bodyOf(frame)));
        }
        return make("bad-field", context, frame, withU32(bytes, bodyOf(frame), end + 1, frame.littleEndian), `p2m_start_pfn -> ${end + 1}, above p2m_end_pfn`,
          bodyOf(frame), fail("BAD_FIELD", bodyOf(frame)));
      });
    }
  }
  return places;
};

const trailingData: Structural = (context) => {
  if (context.map.checkpointed) return [];
  return [
    (variant) => {
      const random = prng(variant);
      const extra = Uint8Array.from({ length: 1 + (variant % 16) }, () => Math.floor(random() * 256));
      const at = context.bytes.length;
      return make("trailing-data", context, undefined, concatBytes([context.bytes, extra]), `${extra.length} bytes appended after the end`, at,
        fail("TRAILING_DATA", at));
    },
  ];
};

const STRUCTURAL: Record<StructuralMutationKind, Structural> = {
  "length-too-large": lengthTooLarge,
  "length-past-end": lengthPastEnd,
  "wrong-length": wrongLength,
  "bad-padding": badPadding,
  "reserved-bits": reservedBits,
  "truncate-at-record": truncateAtRecord,
  "truncate-in-record": truncateInRecord,
  reorder,
  "unknown-type": unknownType,
  "optional-type": optionalType,
  duplicate,
  missing,
  "bad-page-type": badPageType,
  "bad-magic": badMagic,
  "bad-version": badVersion,
  "bad-field": badField,
  "trailing-data": trailingData,
};

// ---------------------------------------------------------------------------
// Byte-level mutators.

const INTERESTING_BYTES = [0x00, 0xff, 0x01, 0x7f, 0x80];
const INTERESTING_WORDS = [0, 1, 7, 8, 9, 0x7fff_ffff, 0x8000_0000, 0xffff_fff8, 0xffff_ffff, REC_LENGTH_MAX, REC_LENGTH_MAX + 1];

function located(map: StreamMap | undefined, offset: number): string {
  const frame = map === undefined ? undefined : frameAt(map, offset);
  return frame === undefined ? `byte ${offset}` : `byte ${offset} (${describeFrame(frame)} +${offset - frame.offset})`;
}

function byteMutation(kind: ByteMutationKind, bytes: Uint8Array, map: StreamMap | undefined, format: MutationLabel["format"], choice: MutationChoice): Mutated | undefined {
  const length = bytes.length;
  const { variant } = choice;
  const label = (description: string, offset: number, out: Uint8Array): Mutated => {
    const frame = map === undefined ? undefined : frameAt(map, offset);
    return { bytes: out, mutation: { kind, description, format, ...(frame === undefined ? {} : where(frame)), offset } };
  };
  if (kind === "insert") {
    const at = choice.target % (length + 1);
    const random = prng(variant);
    const inserted = Uint8Array.from({ length: 1 + (variant % 16) }, () => Math.floor(random() * 256));
    return label(`${inserted.length} bytes inserted at ${located(map, at)}`, at, concatBytes([bytes.subarray(0, at), inserted, bytes.subarray(at)]));
  }
  if (length === 0) return undefined;
  const at = choice.target % length;
  switch (kind) {
    case "bit-flip":
      return label(`bit ${variant % 8} of ${located(map, at)} flipped`, at, flipByte(bytes, at, 1 << (variant % 8)));
    case "byte-set": {
      const value = variant < INTERESTING_BYTES.length ? (INTERESTING_BYTES[variant] as number) : variant & 0xff;
      const out = copyOf(bytes);
      out[at] = value;
      return label(`${located(map, at)} -> 0x${value.toString(16)}`, at, out);
    }
    case "word-set": {
      const aligned = at - (at % 4);
      const value = pick(INTERESTING_WORDS, variant);
      const littleEndian = Math.floor(variant / INTERESTING_WORDS.length) % 2 === 0;
      const out = copyOf(bytes);
      const word = new Uint8Array(4);
      viewOn(word).setUint32(0, value >>> 0, littleEndian);
      out.set(word.subarray(0, Math.min(4, length - aligned)), aligned);
      return label(`u32 at ${located(map, aligned)} -> 0x${value.toString(16)} (${littleEndian ? "LE" : "BE"})`, aligned, out);
    }
    case "delete": {
      const count = Math.min(1 + (variant % 16), length - at);
      return label(`${count} bytes deleted at ${located(map, at)}`, at, concatBytes([bytes.subarray(0, at), bytes.subarray(at + count)]));
    }
    case "splice": {
      const count = Math.min(1 + (variant % 64), length - at);
      const to = Math.floor(prng(variant)() * (length + 1));
      return label(`${count} bytes from ${located(map, at)} copied to ${to}`, to, concatBytes([bytes.subarray(0, to), bytes.subarray(at, at + count), bytes.subarray(to)]));
    }
  }
}

// ---------------------------------------------------------------------------
// Entry points.

function isStructural(kind: MutationKind): kind is StructuralMutationKind {
  return (STRUCTURAL_MUTATION_KINDS as readonly string[]).includes(kind);
}

/** The stream map of a valid stream, or undefined when it is not a v2 stream the decoder accepts. */
function tryMap(bytes: Uint8Array, format: MappedFormat | undefined): StreamMap | undefined {
  try {
    return streamMap(bytes, format);
  } catch {
    return undefined;
  }
}

/** Options of the mutation functions. */
export interface MutateOptions {
  /** The stream's format (default: detected). */
  format?: MappedFormat;
  /** A map already built for `bytes` (saves decoding it again). */
  map?: StreamMap;
}

/**
 * Number of places mutation `kind` applies to in `bytes` (0: it does not
 * apply; byte-level kinds apply to any non-empty input).
 */
export function mutationPlaces(bytes: Uint8Array, kind: MutationKind, options: MutateOptions = {}): number {
  if (!isStructural(kind)) return kind === "insert" ? bytes.length + 1 : bytes.length;
  const map = options.map ?? tryMap(bytes, options.format);
  return map === undefined ? 0 : STRUCTURAL[kind]({ bytes, map }).length;
}

/**
 * Applies one mutation to a valid stream.
 *
 * @param bytes - a valid stream (structural kinds need a v2 stream the decoder accepts)
 * @param kind - what to break
 * @param choice - which place (`target`, modulo the places) and which variant
 * @param options - format or a prepared map
 * @returns the mutated bytes and their label, or undefined when the kind does not apply
 *
 * @example
 * ```ts
 * const { bytes, mutation } = mutateStream(valid, "bad-page-type", { target: 0, variant: 0 })!;
 * mutation.expected; //=> { decoder: "BAD_PAGE_TYPE", offset: 96, verifier: "BAD_PAGE_TYPE" }
 * ```
 */
export function mutateStream(bytes: Uint8Array, kind: MutationKind, choice: MutationChoice = { target: 0, variant: 0 }, options: MutateOptions = {}): Mutated | undefined {
  const target = Math.max(0, Math.floor(choice.target));
  const variant = Math.max(0, Math.floor(choice.variant));
  const map = options.map ?? tryMap(bytes, options.format);
  if (!isStructural(kind)) {
    const format = map?.format ?? (bytes.length >= 8 ? "legacy" : undefined);
    return byteMutation(kind, bytes, map, options.format ?? format, { target, variant });
  }
  if (map === undefined) return undefined;
  const places = STRUCTURAL[kind]({ bytes, map });
  if (places.length === 0) return undefined;
  return (places[target % places.length] as Place)(variant);
}

/** Options of {@link mutation}. */
export interface MutationArbitraryOptions {
  /** Kinds to draw from; default every kind. */
  kinds?: readonly MutationKind[];
  /** Format of the valid streams (default: detected). */
  format?: MappedFormat;
}

/**
 * An arbitrary of mutated streams: draws a valid stream from `valid`, a
 * kind, a place and a variant, and applies the mutation. When the kind
 * drawn does not apply to that stream (no PAGE_DATA for bad-page-type, no
 * padding for bad-padding, ...) the next listed kind that does is used, so
 * the label's `kind` is what was really done. Built with `map`: a failing
 * case shrinks the stream, the place and the variant.
 *
 * @param valid - an arbitrary of valid streams (`{ bytes }`; e.g. {@link libxlStream})
 * @param options - kinds to use, format
 * @returns an arbitrary of `{ bytes, mutation }`, plus the `original` bytes
 *
 * @example
 * ```ts
 * fc.assert(fc.property(mutation(xlSaveFile()), ({ bytes, mutation }) => {
 *   const outcome = classify(bytes, { format: mutation.format });
 *   if (mutation.expected) expect(outcome.decoder).toBe(mutation.expected.decoder);
 * }));
 * ```
 */
export function mutation(valid: fc.Arbitrary<{ bytes: Uint8Array }>, options: MutationArbitraryOptions = {}): fc.Arbitrary<Mutated & { original: Uint8Array }> {
  const kinds = options.kinds ?? MUTATION_KINDS;
  if (kinds.length === 0) throw new RangeError("mutation: kinds must name at least one mutation kind");
  for (const kind of kinds) {
    if (!(MUTATION_KINDS as readonly string[]).includes(kind)) throw new RangeError(`mutation: unknown mutation kind ${JSON.stringify(kind)}`);
  }
  return fc
    .record({ valid, kind: fc.nat({ max: kinds.length - 1 }), target: fc.nat(), variant: fc.nat({ max: 0xffff }) })
    .map(({ valid: { bytes }, kind, target, variant }) => {
      const map = tryMap(bytes, options.format);
      const mapped: MutateOptions = map === undefined ? {} : { map };
      for (let i = 0; i < kinds.length; i++) {
        const mutated = mutateStream(bytes, kinds[(kind + i) % kinds.length] as MutationKind, { target, variant }, mapped);
        if (mutated !== undefined) return { ...mutated, original: bytes };
      }
      // No listed kind applies (an empty input and no "insert"): insert one byte.
      return { ...(mutateStream(bytes, "insert", { target, variant }, mapped) as Mutated), original: bytes };
    });
}
