/**
 * The shape of a layer's record registry: for every record type the layer
 * knows, one entry with its body codec and every fact the rest of the code
 * needs about the type (display name, length rule, where it may appear,
 * reserved fields). Each layer keys its registry by its record-name union,
 * so a type without an entry does not compile; the frame loop, the
 * verifier and the test generators all read the same entry.
 *
 * @module
 * @internal
 */
import { describeValue } from "../errors.js";
import type { Reader } from "./reader.js";
import type { Writer } from "./writer.js";

/** Reports an unencodable value; never returns. @internal */
export type Fail = (message: string) => never;

/** The body functions of one record type. @internal */
export interface BodyCodec<R, C> {
  /** Decodes a whole body (the reader spans exactly the body). */
  decode(reader: Reader, context: C): R;
  /** Body length the record encodes to; validates the value. */
  bodyLength(record: R, context: C, fail: Fail): number;
  /** Writes the body (exactly `bodyLength` bytes). */
  encode(writer: Writer, record: R, context: C): void;
}

/**
 * What body lengths a record type allows, as the decoder enforces them:
 * - `any`: every length (a signal's body is kept as `extra`; TOOLSTACK is opaque);
 * - `atLeast`: `min` bytes or more (the rest is a blob or `extra`);
 * - `exact`: fixed by the fields (counts, page size): any other length,
 *   one byte less included, is refused.
 * @internal
 */
export type LengthRule =
  | { readonly kind: "any" }
  | { readonly kind: "atLeast"; readonly min: number }
  | { readonly kind: "exact" };

/** @internal */
export const ANY_LENGTH: LengthRule = { kind: "any" };
/** @internal */
export const EXACT_LENGTH: LengthRule = { kind: "exact" };
/** @internal */
export function atLeast(min: number): LengthRule {
  return { kind: "atLeast", min };
}

/**
 * A reserved field (or reserved bits of a field) of a record body, which
 * the spec wants zero and the decoder keeps as found.
 * @internal
 */
export interface ReservedField {
  /** Name for people; `{i}` stands for the entry index of a repeated field. */
  readonly name: string;
  /** Offset in the body (of entry 0, for a repeated field). */
  readonly at: number;
  /** Width of the whole field in bytes. */
  readonly size: 1 | 2 | 4 | 8;
  /** Lowest reserved bit within the field (default 0). */
  readonly shift?: number;
  /** Number of reserved bits (default: from `shift` to the top). */
  readonly bits?: number;
  /**
   * Repeated once per array entry, `stride` bytes apart; `count` is a
   * number, the u32 count field at body offset 0, or as many entries as
   * the body holds from `at`.
   */
  readonly each?: { readonly stride: number; readonly count: number | "countField" | "bodyLength" };
}

/** A guest type as the verifier names it. @internal */
export type GuestKind = "pv" | "hvm";

/** Where a record may appear: the facts every layer has (each layer adds its own). @internal */
export interface Placement {
  /** Guest types whose streams may carry it. */
  readonly guests: readonly GuestKind[];
  /** At most once per stream. */
  readonly once?: true;
  /**
   * The decoder's state machine turns on it (stream end, checkpoints,
   * nesting): moving, removing or retyping it changes how every later
   * byte is read.
   */
  readonly steersDecoder?: true;
}

/** One record type of a layer's registry, minus its name and id (the key and the layer's constants give those). @internal */
export interface RecordTypeEntry<R, C, P> {
  /** Display name, as Xen's verify-stream-v2 prints it in its listing. */
  readonly display: string;
  /** The body codec. */
  readonly codec: BodyCodec<R, C>;
  /** Which body lengths the decoder accepts. */
  readonly length: LengthRule;
  /** Where in a stream the record may appear (layer-specific). */
  readonly appears: P;
  /** Reserved fields of the body. */
  readonly reserved: readonly ReservedField[];
}

/** A registry entry with its name and type id, as the layer's table holds it. @internal */
export interface RecordType<R, C, P> extends RecordTypeEntry<R, C, P> {
  /** The spec's name. */
  readonly name: string;
  /** The record type id. */
  readonly typeId: number;
}

/**
 * The record of a union `R` whose `type` can be `N` (a record interface
 * may serve several names, like the four PV vCPU records).
 * @internal
 */
export type RecordNamed<R, N> = R extends { type: infer T } ? (N extends T ? R : never) : never;

/**
 * A layer's registry: one entry per name of `Names`, typed for the record
 * of `Records` with that name. A name without an entry does not compile.
 * @internal
 */
export type Registry<Names extends string, Records, C, P> = {
  readonly [N in Names]: RecordTypeEntry<RecordNamed<Records, N>, C, P>;
};

/**
 * True when the two unions are the same. Used as
 * `const check: SameUnion<A, B> = true` so a name missing on either side
 * is a compile error.
 * @internal
 */
export type SameUnion<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Length of the record's `extra` bytes (0 when absent). @internal */
export function extraLength(record: { extra?: Uint8Array }, fail: Fail): number {
  return record.extra === undefined ? 0 : bytesLength(record.extra, "extra", fail);
}

/** Keeps non-empty trailing bytes as `extra`. @internal */
export function withExtra<R extends object>(record: R, reader: Reader): R & { extra?: Uint8Array } {
  if (reader.remaining === 0) return record;
  return { ...record, extra: reader.rest() };
}

/**
 * The codec of a signalling record (END and friends, in both layers): no
 * defined body. Xen's readers accept and ignore a body, so the decoder
 * keeps one as `extra` (libxc-stream.md §11).
 * @internal
 */
export function signalCodec<R extends { type: string; extra?: Uint8Array }, C>(name: R["type"]): BodyCodec<R, C> {
  return {
    decode: (reader) => withExtra({ type: name } as R, reader),
    bodyLength: (record, _context, fail) => extraLength(record, fail),
    encode: (writer, record) => {
      if (record.extra !== undefined) writer.raw(record.extra);
    },
  };
}

/**
 * Checks that a byte field of a value given to an encoder is a Uint8Array
 * (not a string, an array or another typed array, which `set()` would
 * quietly coerce) and returns its length. @internal
 */
export function bytesLength(value: unknown, field: string, fail: Fail): number {
  if (!(value instanceof Uint8Array)) fail(`${field} must be a Uint8Array, got ${describeValue(value)}`);
  return value.length;
}

/** Checks that a list field of a value given to an encoder is an array of objects. @internal */
export function objectArray<T>(value: unknown, field: string, fail: Fail): readonly T[] {
  if (!Array.isArray(value)) fail(`${field} must be an array, got ${describeValue(value)}`);
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    if (typeof item !== "object" || item === null) fail(`${field}[${i}] must be an object, got ${describeValue(item)}`);
  }
  return value as readonly T[];
}

/** Checks that a field given to an encoder is an integer in 0..max (before it is compared or combined). @internal */
export function uintField(value: unknown, max: number, field: string, fail: Fail): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    fail(`${field} must be an integer in 0..${max}, got ${describeValue(value)}`);
  }
  return value;
}
