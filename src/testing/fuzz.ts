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
import { STRUCTURAL, type Place } from "./mutate-structure.js";
import {
  BYTE_MUTATION_KINDS,
  MUTATION_KINDS,
  STRUCTURAL_MUTATION_KINDS,
  mutateStream,
  type MutateOptions,
  type Mutated,
  type MutationChoice,
  type MutationKind,
  type MutationLabel,
  type StructuralMutationKind,
} from "./mutators.js";
import { Prng } from "./prng.js";
import { streamMap, type MappedFormat, type StreamMap } from "./stream-map.js";
import { FUZZ_TARGETS, convertTarget, describeException, withCaseMemo, type FuzzInput, type FuzzTarget, type InputFormat } from "./targets.js";

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

/**
 * Consecutive seeds that share one valid stream: seeds `8g` to `8g + 7`
 * mutate the stream of group `g`, each differently. Drawing a stream with
 * fast-check costs more than running a case, so a group draws it once.
 */
export const SEED_GROUP = 32;

/** The valid stream of a seed group, with what its mutations need. */
interface GroupStream {
  generators: readonly FuzzGenerator[];
  group: number;
  generator: FuzzGenerator;
  bytes: Uint8Array;
  /** The stream's map (undefined: not a v2 stream, e.g. legacy). */
  map: StreamMap | undefined;
  legacy: LegacyOptions | undefined;
  /** The places of each structural mutation kind in the stream, as drawn (what mutateStream computes per call). */
  places: Map<StructuralMutationKind, Place[]>;
}

/** The last group drawn: consecutive seeds reuse it. */
let lastGroup: GroupStream | undefined;

/** The generator and valid stream of seed group `group` (the last one is cached). */
function groupStream(group: number, generators: readonly FuzzGenerator[]): GroupStream {
  if (lastGroup !== undefined && lastGroup.group === group && lastGroup.generators === generators) return lastGroup;
  const generator = generators[new Prng(group).below(generators.length)] as FuzzGenerator;
  const valid = fc.sample(generator.arbitrary, { seed: group, numRuns: 1 })[0] as { bytes: Uint8Array; value: unknown };
  let map: StreamMap | undefined;
  if (generator.format !== "legacy") {
    try {
      map = streamMap(valid.bytes, generator.format);
    } catch {
      map = undefined;
    }
  }
  lastGroup = { generators, group, generator, bytes: valid.bytes, map, legacy: generator.legacy?.(valid.value), places: new Map() };
  return lastGroup;
}

function isStructural(kind: MutationKind): kind is StructuralMutationKind {
  return (STRUCTURAL_MUTATION_KINDS as readonly string[]).includes(kind);
}

/** `mutateStream` of the group's stream, with the places of `kind` listed once per group. */
function mutateAt(valid: GroupStream, map: StreamMap, kind: StructuralMutationKind, choice: MutationChoice): Mutated | undefined {
  let places = valid.places.get(kind);
  if (places === undefined) {
    places = STRUCTURAL[kind]({ bytes: valid.bytes, map });
    valid.places.set(kind, places);
  }
  const place = places[choice.target % Math.max(1, places.length)];
  return place === undefined ? undefined : place(choice.variant);
}

/**
 * The case of a seed: a generator and a valid stream (shared by the
 * {@link SEED_GROUP} seeds of its group), one mutation of the seed's own
 * (legacy streams get byte-level mutations only) and the chunked decode's
 * cut points, all determined by the seed.
 *
 * @param seed - any u32
 * @param generators - where valid inputs come from
 * @returns the case
 */
export function fuzzCase(seed: number, generators: readonly FuzzGenerator[] = FUZZ_GENERATORS): FuzzCase {
  const valid = groupStream(Math.floor((seed >>> 0) / SEED_GROUP), generators);
  const random = new Prng(seed);
  const generator = valid.generator;
  const kinds: readonly MutationKind[] = generator.format === "legacy" ? BYTE_MUTATION_KINDS : MUTATION_KINDS;
  const format: InputFormat = generator.format;
  const options: MutateOptions = generator.format === "legacy" ? {} : valid.map === undefined ? { format: generator.format } : { format: generator.format, map: valid.map };
  let mutated;
  for (let attempt = 0; mutated === undefined; attempt++) {
    const kind = attempt < 4 ? (kinds[random.below(kinds.length)] as MutationKind) : "bit-flip";
    const choice = { target: random.below(0x1_0000), variant: random.below(0x1_0000) };
    mutated = isStructural(kind) && valid.map !== undefined ? mutateAt(valid, valid.map, kind, choice) : mutateStream(valid.bytes, kind, choice, options);
  }
  const input: FuzzInput = { bytes: mutated.bytes, format, chunking: random.u32() };
  if (valid.legacy !== undefined) input.legacy = valid.legacy;
  return { seed, generator: generator.name, input, mutation: mutated.mutation };
}

/**
 * The targets `npm run fuzz` runs on the case of a seed (unless told to
 * run them all): every case is classified (the whole-buffer decoder, the
 * spec verifier, the check of the mutation's label), then goes through
 * one of the targets that take it, in turn by seed (the converter, which
 * only legacy inputs reach, takes every other legacy case). Running every target
 * on every case costs about twice as much: in turn, the classification
 * runs on about four times as many cases per second, and each target on
 * about as many as when every case ran them all.
 *
 * @param seed - the case's seed
 * @param input - the case's input
 * @param targets - the targets to choose from
 * @returns the one target of this case (none when no target takes the input)
 */
export function scheduledTargets(seed: number, input: FuzzInput, targets: readonly FuzzTarget[] = FUZZ_TARGETS): FuzzTarget[] {
  const taking = targets.filter((target) => target.applies(input));
  let turn = seed >>> 0;
  // Only legacy inputs reach the converter: it takes every other one of them.
  if (taking.includes(convertTarget) && taking.length > 1) {
    if (turn % 2 === 0) return [convertTarget];
    taking.splice(taking.indexOf(convertTarget), 1);
    turn = turn >>> 1;
  }
  const chosen = taking[turn % Math.max(1, taking.length)];
  return chosen === undefined ? [] : [chosen];
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
  return withCaseMemo(input.bytes, () => runTargets(input, label, targets));
}

function runTargets(input: FuzzInput, label: MutationLabel | undefined, targets: readonly FuzzTarget[]): FuzzCaseResult {
  const failures: FuzzFailure[] = [];
  let outcome = "crash";
  try {
    // Legacy input is classified converting to libxl, as the convert target does: one conversion serves both.
    const options = input.legacy === undefined ? { format: input.format } : { format: input.format, legacy: { ...input.legacy, format: "libxl" as const } };
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
