/**
 * What our decoder, verifier and converter say about an input, and whether
 * that matches a mutation's label.
 *
 * @module
 */
import type { ErrorCode } from "../errors.js";
import type { LegacyOptions } from "../legacy/types.js";
import { detectFormat, type StreamFormat } from "../savefile.js";
import type { Profile } from "../verify/types.js";
import type { Expectation, MutationLabel } from "./mutators.js";
import { converterAdapter, convertedBytes, decodeOutcome, verifierVerdict, type InputFormat, type Outcome, type VerifierVerdict } from "./targets.js";

/** Options of {@link classify}. */
export interface ClassifyOptions {
  /**
   * The format to tell the decoder and verifier (a mutation's
   * `label.format`); "auto" or undefined: detect it.
   */
  format?: InputFormat | undefined;
  /** Verifier profile. @defaultValue "spec" */
  profile?: Profile;
  /** Converter options, for legacy inputs. */
  legacy?: LegacyOptions;
}

/** The verdicts on one input. */
export interface Classification {
  /** What the first bytes look like. */
  detected: StreamFormat | undefined;
  /** The save-file decoder: "ok" or its error code. */
  decoder: Outcome;
  /** The decoder error's offset. */
  offset?: number;
  /** The decoder error's message. */
  message?: string;
  /** The verifier's verdict (when the verifier is wired). */
  verifier?: VerifierVerdict;
  /** The legacy converter's outcome, for legacy inputs (when the converter is wired). */
  converter?: Outcome;
}

/**
 * Runs an input through the decoder, the verifier and (legacy input) the
 * converter, and reports what each said. Exceptions other than
 * XenStreamError are not caught: they are bugs.
 *
 * @param bytes - any input
 * @param options - format, verifier profile, converter options
 * @returns the verdicts
 *
 * @example
 * ```ts
 * classify(mutated.bytes, { format: mutated.mutation.format });
 * //=> { detected: "xl", decoder: "BAD_LENGTH", offset: 912, verifier: { ok: false, errors: ["BAD_LENGTH"], ... } }
 * ```
 */
export function classify(bytes: Uint8Array, options: ClassifyOptions = {}): Classification {
  const format: InputFormat = options.format ?? "auto";
  const detected = detectFormat(bytes);
  const decoded = decodeOutcome(bytes, format);
  const result: Classification = { detected, decoder: decoded.outcome };
  if (decoded.error !== undefined) {
    result.offset = decoded.error.offset;
    result.message = decoded.error.message;
  }
  const verdict = verifierVerdict(bytes, format === "legacy" ? "auto" : format, options.profile ?? "spec");
  if (verdict !== undefined) result.verifier = verdict;
  if (converterAdapter !== undefined && (format === "legacy" || (format === "auto" && detected === "legacy"))) {
    try {
      convertedBytes(bytes, options.legacy ?? {});
      result.converter = "ok";
    } catch (error) {
      if (typeof error !== "object" || error === null || (error as { name?: unknown }).name !== "XenStreamError") throw error;
      result.converter = (error as { code: ErrorCode }).code;
    }
  }
  return result;
}

/** How a classification departs from a label's expectation. */
export interface ExpectationMismatch {
  /** Which part disagrees. */
  part: "decoder" | "offset" | "verifier";
  expected: string;
  actual: string;
}

/**
 * Compares a classification with a mutation's expectation: the decoder's
 * code and offset, and (when both are known) that the verifier reported
 * the expected finding code.
 *
 * @param expected - `label.expected`
 * @param actual - from {@link classify}
 * @returns the disagreements (empty: as labelled)
 */
export function compareExpectation(expected: Expectation, actual: Classification): ExpectationMismatch[] {
  const mismatches: ExpectationMismatch[] = [];
  if (actual.decoder !== expected.decoder) {
    mismatches.push({ part: "decoder", expected: expected.decoder, actual: `${actual.decoder}${actual.message === undefined ? "" : ` (${actual.message})`}` });
  } else if (expected.offset !== undefined && actual.offset !== expected.offset) {
    mismatches.push({ part: "offset", expected: String(expected.offset), actual: String(actual.offset) });
  }
  if (expected.verifier !== undefined && actual.verifier !== undefined && !actual.verifier.codes.includes(expected.verifier)) {
    mismatches.push({ part: "verifier", expected: expected.verifier, actual: actual.verifier.codes.join(",") || "no findings" });
  }
  return mismatches;
}

/**
 * A one-line outcome of a classification, for counting: `decoder` then the
 * verifier's first error (or "ok"), e.g. `"BAD_LENGTH / BAD_LENGTH"`.
 *
 * @param classification - from {@link classify}
 * @returns the summary
 */
export function outcomeKey(classification: Classification): string {
  const verifier = classification.verifier === undefined ? "" : ` / ${classification.verifier.ok ? "ok" : (classification.verifier.errors[0] ?? "invalid")}`;
  const converter = classification.converter === undefined ? "" : ` / convert ${classification.converter}`;
  return `${classification.decoder}${verifier}${converter}`;
}

/**
 * Whether a labelled mutation behaved as labelled (labels without an
 * expectation, the byte-level ones, always match).
 *
 * @param label - the mutation's label
 * @param classification - from {@link classify}
 * @returns true when the decoder (and the verifier, where expected) agree
 */
export function matchesLabel(label: MutationLabel, classification: Classification): boolean {
  return label.expected === undefined || compareExpectation(label.expected, classification).length === 0;
}
