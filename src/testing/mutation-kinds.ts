/**
 * The vocabulary of the mutators: the mutation kinds, and the label each
 * mutated stream carries (what was broken, what the decoder and verifier
 * should say).
 *
 * @module
 */
import type { ErrorCode } from "../errors.js";
import type { FindingCodeName } from "../verify/types.js";
import type { MappedFormat } from "./stream-map.js";

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
