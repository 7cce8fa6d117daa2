/**
 * The structure-aware mutators: each lists the places of a valid stream it
 * applies to (from the stream's map) and breaks one of them. What a record
 * type allows (its length rule, its reserved fields) comes from the layers'
 * registries.
 *
 * @module
 * @internal
 */
import type { ErrorCode } from "../errors.js";
import { libxcTable } from "../libxc/codec.js";
import { libxlTable } from "../libxl/codec.js";
import { concatBytes } from "../wire/bytes.js";
import type { LengthRule, ReservedField as RegistryReservedField } from "../wire/codec.js";
import { REC_LENGTH_MAX, RECORD_HEADER_SIZE, paddedLength } from "../wire/frame.js";
import { XL_HEADER_SIZE } from "../xl/constants.js";
import { copyOf, flipByte, pick, viewOn, where, withU32 } from "./mutation-edit.js";
import type { Expectation, Mutated, MutationKind, StructuralMutationKind } from "./mutation-kinds.js";
import { Prng } from "./prng.js";
import { describeFrame, type Frame, type StreamMap } from "./stream-map.js";

/** The lowest record type id neither layer defines (every id above it is undefined too). */
const FIRST_UNDEFINED_TYPE = Math.max(...[...libxcTable.types, ...libxlTable.types].map((type) => type.typeId)) + 1;

/** Most entries of a repeated reserved field that get a place (PAGE_DATA pfns, MSRs). */
const MAX_ENTRIES = 64;

function bodyOf(frame: Frame): number {
  return frame.offset + RECORD_HEADER_SIZE;
}

function records(map: StreamMap): Frame[] {
  return map.frames.filter((frame) => frame.kind === "record");
}

function frameOf(kind: Frame["kind"], map: StreamMap): Frame | undefined {
  return map.frames.find((frame) => frame.kind === kind);
}

function fail(code: ErrorCode, offset: number): Expectation {
  return { decoder: code, offset, verifier: code };
}

const OK_SAME: Expectation = { decoder: "ok" };

/** A valid stream and its map. @internal */
export interface Context {
  bytes: Uint8Array;
  map: StreamMap;
}

/** One place a structural mutation applies to: how to produce it for a variant. */
export type Place = (variant: number) => Mutated;

/** @internal */
export type Structural = (context: Context) => Place[];

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

/** The registry entry of a record frame, if its layer defines the type. */
function recordTypeOf(frame: Frame): { readonly length: LengthRule; readonly reserved: readonly RegistryReservedField[] } | undefined {
  if (frame.kind !== "record" || frame.typeId === undefined) return undefined;
  if (frame.layer === "libxc") return libxcTable.typeOf(frame.typeId);
  if (frame.layer === "libxl") return libxlTable.typeOf(frame.typeId);
  return undefined;
}

/**
 * A body length the decoder refuses for this record type (shorter than the
 * real one), if any: from the registry's length rule.
 */
function refusedLength(frame: Frame): number | undefined {
  const rule = recordTypeOf(frame)?.length;
  if (rule === undefined) return undefined;
  const length = frame.bodyLength ?? 0;
  switch (rule.kind) {
    case "any":
      return undefined;
    case "atLeast":
      return rule.min - 1;
    case "exact":
      return length > 0 ? length - 1 : undefined;
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
        // The record's reserved fields, as its registry entry lists them.
        for (const field of recordTypeOf(frame)?.reserved ?? []) {
          const shift = field.shift ?? 0;
          if (field.each === undefined) {
            add(frame, body + field.at, field.size, field.name, shift, field.bits);
            continue;
          }
          const { stride, count: counted } = field.each;
          const count =
            typeof counted === "number"
              ? counted
              : counted === "countField"
                ? view.getUint32(body, frame.littleEndian)
                : Math.floor(((frame.bodyLength ?? 0) - field.at - field.size) / stride) + 1;
          for (let i = 0; i < Math.min(count, MAX_ENTRIES); i++) {
            add(frame, body + field.at + stride * i, field.size, field.name.replace("{i}", String(i)), shift, field.bits);
          }
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
    const typeId = FIRST_UNDEFINED_TYPE + (variant % (0x8000_0000 - FIRST_UNDEFINED_TYPE));
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
      const extra = new Prng(variant).bytes(1 + (variant % 16));
      const at = context.bytes.length;
      return make("trailing-data", context, undefined, concatBytes([context.bytes, extra]), `${extra.length} bytes appended after the end`, at,
        fail("TRAILING_DATA", at));
    },
  ];
};

/** Every structural mutator, by kind. @internal */
export const STRUCTURAL: Record<StructuralMutationKind, Structural> = {
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

