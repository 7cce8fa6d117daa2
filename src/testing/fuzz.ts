/**
 * The fuzzer's engine, free of any runtime environment: a seed gives one
 * case (a valid stream from one of the arbitraries, then one mutation), and
 * a case is run through every target. scripts/fuzz.ts adds the time
 * budget, the hang watchdog and the saving of failing inputs.
 *
 * @module
 */
import fc from "fast-check";
import type { LegacyOptions } from "../legacy/types.js";
import { libxcStream, libxlStream, xlSaveFile } from "./arbitraries.js";
import { classify, compareExpectation, outcomeKey } from "./classify.js";
import { legacyStream } from "./legacy.js";
import { BYTE_MUTATION_KINDS, MUTATION_KINDS, mutateStream, type MutationKind, type MutationLabel } from "./mutators.js";
import { Prng } from "./prng.js";
import type { MappedFormat } from "./stream-map.js";
import { FUZZ_TARGETS, describeException, type FuzzInput, type FuzzTarget, type InputFormat } from "./targets.js";

/** A source of valid inputs for the fuzzer. */
export interface FuzzGenerator {
  name: string;
  /** The format of what it generates. */
  format: MappedFormat | "legacy";
  arbitrary: fc.Arbitrary<{ bytes: Uint8Array; value: unknown }>;
  /** Converter options for a generated legacy stream. */
  legacy?: (value: unknown) => LegacyOptions;
}

/** The valid inputs the fuzzer mutates: every stream kind the arbitraries make. */
export const FUZZ_GENERATORS: readonly FuzzGenerator[] = [
  { name: "libxc", format: "libxc", arbitrary: libxcStream({ byteOrder: "any" }) },
  { name: "libxc-lenient", format: "libxc", arbitrary: libxcStream({ byteOrder: "any", lenient: true }) },
  { name: "libxc-checkpointed", format: "libxc", arbitrary: libxcStream({ checkpoints: 2 }) },
  { name: "libxl", format: "libxl", arbitrary: libxlStream({ byteOrder: "any" }) },
  { name: "libxl-remus", format: "libxl", arbitrary: libxlStream({ checkpoints: 2, lenient: true }) },
  { name: "libxl-colo", format: "libxl", arbitrary: libxlStream({ checkpoints: 2, colo: true }) },
  { name: "xl", format: "xl", arbitrary: xlSaveFile() },
  { name: "xl-lenient", format: "xl", arbitrary: xlSaveFile({ byteOrder: "any", lenient: true }) },
  {
    name: "legacy",
    format: "legacy",
    arbitrary: legacyStream({ maxPages: 8 }),
    legacy: (value) => (value as { convert: LegacyOptions }).convert,
  },
];

/** One fuzz case. */
export interface FuzzCase {
  seed: number;
  generator: string;
  input: FuzzInput;
  mutation: MutationLabel;
}

/** Valid input of a seed, drawn from one generator. */
function sampleValid(generator: FuzzGenerator, seed: number): { bytes: Uint8Array; value: unknown } {
  return fc.sample(generator.arbitrary, { seed, numRuns: 1 })[0] as { bytes: Uint8Array; value: unknown };
}

/**
 * The case of a seed: a generator, a valid stream and one mutation (legacy
 * streams get byte-level mutations only), all determined by the seed.
 *
 * @param seed - any u32
 * @param generators - where valid inputs come from
 * @returns the case
 */
export function fuzzCase(seed: number, generators: readonly FuzzGenerator[] = FUZZ_GENERATORS): FuzzCase {
  const random = new Prng(seed);
  const int = (n: number): number => Math.floor(random.next() * n);
  const generator = generators[int(generators.length)] as FuzzGenerator;
  const valid = sampleValid(generator, seed);
  const kinds: readonly MutationKind[] = generator.format === "legacy" ? BYTE_MUTATION_KINDS : MUTATION_KINDS;
  const format: InputFormat = generator.format;
  const options = generator.format === "legacy" ? {} : { format: generator.format };
  let mutated;
  for (let attempt = 0; mutated === undefined; attempt++) {
    const kind = attempt < 4 ? (kinds[int(kinds.length)] as MutationKind) : "bit-flip";
    mutated = mutateStream(valid.bytes, kind, { target: int(0x1_0000), variant: int(0x1_0000) }, options);
  }
  const input: FuzzInput = { bytes: mutated.bytes, format };
  if (generator.legacy !== undefined) input.legacy = generator.legacy(valid.value);
  return { seed, generator: generator.name, input, mutation: mutated.mutation };
}

/** Something a case found. */
export interface FuzzFailure {
  /** The target that failed, "classify", or "label" (the mutation did not do what its label says). */
  target: string;
  message: string;
  stack?: string;
}

/** What one case gave. */
export interface FuzzCaseResult {
  /** Counting key: mutation kind and outcome. */
  kind: string;
  outcome: string;
  /** Outcome per target. */
  targets: Record<string, string>;
  /** What failed (known issues excluded). */
  failures: FuzzFailure[];
  /** Ids of the {@link KNOWN_ISSUES} this case ran into. */
  known: string[];
}

/**
 * A known, reported shortcoming: failures it matches are counted apart
 * instead of failing the run. Remove the entry once it is fixed.
 */
export interface KnownIssue {
  id: string;
  description: string;
  /**
   * True when `failure` (of an input made by the mutation `label`, if any) is this issue.
   *
   * @param failure - what a target did wrong
   * @param label - the mutation that made the input, if any
   * @returns whether the failure is this known issue
   */
  matches(failure: FuzzFailure, label: MutationLabel | undefined): boolean;
}

/** The known issues; each names the test that flips when it is fixed. */
export const KNOWN_ISSUES: readonly KnownIssue[] = [];

function failure(target: string, error: unknown): FuzzFailure {
  const out: FuzzFailure = { target, message: describeException(error) };
  if (error instanceof Error && error.stack !== undefined) out.stack = error.stack;
  return out;
}

/**
 * Runs an input through the classifier (checking the mutation's label when
 * it has an expectation) and every target that takes it.
 *
 * @param input - bytes, format, converter options
 * @param label - the mutation's label, if any
 * @param targets - what to drive (default: every target)
 * @returns outcomes and failures
 */
export function runFuzzInput(input: FuzzInput, label?: MutationLabel, targets: readonly FuzzTarget[] = FUZZ_TARGETS): FuzzCaseResult {
  const failures: FuzzFailure[] = [];
  let outcome = "crash";
  try {
    const options = input.legacy === undefined ? { format: input.format } : { format: input.format, legacy: input.legacy };
    const classification = classify(input.bytes, options);
    outcome = outcomeKey(classification);
    if (label?.expected !== undefined) {
      for (const mismatch of compareExpectation(label.expected, classification)) {
        failures.push({ target: "label", message: `${label.kind} (${label.description}): ${mismatch.part} expected ${mismatch.expected}, got ${mismatch.actual}` });
      }
    }
  } catch (error) {
    failures.push(failure("classify", error));
  }
  const results: Record<string, string> = {};
  const known: string[] = [];
  for (const target of targets) {
    if (!target.applies(input)) continue;
    try {
      results[target.name] = target.run(input);
    } catch (error) {
      results[target.name] = "FAILED";
      failures.push(failure(target.name, error));
    }
  }
  const unknown = failures.filter((found) => {
    const issue = KNOWN_ISSUES.find((candidate) => candidate.matches(found, label));
    if (issue !== undefined && !known.includes(issue.id)) known.push(issue.id);
    return issue === undefined;
  });
  return { kind: label?.kind ?? "none", outcome, targets: results, failures: unknown, known };
}

/**
 * Generates and runs the case of a seed.
 *
 * @param seed - any u32
 * @returns the case and what it gave
 */
export function runFuzzCase(seed: number): { fuzzCase: FuzzCase; result: FuzzCaseResult } {
  const fuzzCase_ = fuzzCase(seed);
  return { fuzzCase: fuzzCase_, result: runFuzzInput(fuzzCase_.input, fuzzCase_.mutation) };
}
