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
import fc from "fast-check";
import { byteMutation } from "./mutate-bytes.js";
import { STRUCTURAL, type Place } from "./mutate-structure.js";
import {
  MUTATION_KINDS,
  STRUCTURAL_MUTATION_KINDS,
  type Mutated,
  type MutationChoice,
  type MutationKind,
  type StructuralMutationKind,
} from "./mutation-kinds.js";
import { streamMap, type MappedFormat, type StreamMap } from "./stream-map.js";

export { BYTE_MUTATION_KINDS, MUTATION_KINDS, STRUCTURAL_MUTATION_KINDS } from "./mutation-kinds.js";
export type {
  ByteMutationKind,
  Expectation,
  Mutated,
  MutationChoice,
  MutationKind,
  MutationLabel,
  StructuralMutationKind,
} from "./mutation-kinds.js";

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
 *
 * @param bytes - a stream
 * @param kind - the mutation
 * @param options - the stream's format, or its map when already built
 * @returns how many places the mutation can be applied at
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
