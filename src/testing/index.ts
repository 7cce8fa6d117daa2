/**
 * `xen-migration-stream/testing`: a fuzzing kit for Xen migration streams
 * and for parsers of them.
 *
 * - Arbitraries (fast-check) of every record type and of valid libxc,
 *   libxl and xl streams (PV and HVM, v2 and v3, plain and checkpointed)
 *   and of valid legacy streams; each yields `{ value, bytes }` and shrinks
 *   to small counterexamples.
 * - Mutators of near-valid streams, structure-aware and byte-level, each
 *   labelled with what it broke and what our decoder and verifier say.
 * - {@link classify}: what the decoder, verifier and converter say about
 *   any input; the fuzz engine behind `npm run fuzz`.
 * - Seeded generators of large valid streams (PV v2 streams, legacy
 *   streams) for benchmarks and memory tests.
 *
 * fast-check is an optional peer dependency, imported only by this entry
 * point: install it to use the arbitraries.
 *
 * @packageDocumentation
 */
export { libxcStream, libxlStream, xlSaveFile, LIBXC_RECORD_TYPE_IDS } from "./arbitraries.js";
export type { GuestKind, StreamConstraints, LibxlStreamConstraints } from "./arbitraries.js";
export { pageDataRecord, libxcRecord, libxlRecord, LIBXC_RECORD_KINDS, LIBXL_RECORD_KINDS } from "./records.js";
export type {
  Encoded,
  RecordContext,
  LibxcRecordKind,
  LibxlRecordKind,
  LibxcRecordConstraints,
  LibxlRecordConstraints,
} from "./records.js";
export { legacyStream } from "./legacy.js";
export type { LegacyStreamConstraints, LegacyStreamValue } from "./legacy.js";

export { streamMap, frameAt, describeFrame } from "./stream-map.js";
export type { StreamMap, Frame, FrameKind, MappedFormat } from "./stream-map.js";
export {
  mutateStream,
  mutation,
  mutationPlaces,
  MUTATION_KINDS,
  STRUCTURAL_MUTATION_KINDS,
  BYTE_MUTATION_KINDS,
} from "./mutators.js";
export type {
  MutationKind,
  StructuralMutationKind,
  ByteMutationKind,
  MutationLabel,
  Expectation,
  Mutated,
  MutationChoice,
  MutateOptions,
  MutationArbitraryOptions,
} from "./mutators.js";
export { classify, compareExpectation, matchesLabel, outcomeKey } from "./classify.js";
export type { Classification, ClassifyOptions, ExpectationMismatch } from "./classify.js";
export {
  FUZZ_TARGETS,
  decodeTarget,
  chunkedDecodeTarget,
  wantedDecodeTarget,
  verifyTarget,
  convertTarget,
  verifierAdapter,
  converterAdapter,
  OracleViolation,
} from "./targets.js";
export type { FuzzTarget, FuzzInput, InputFormat, Outcome, VerifierVerdict, VerifierAdapter, ConverterAdapter } from "./targets.js";
export { FUZZ_GENERATORS, KNOWN_ISSUES, SEED_GROUP, fuzzCase, runFuzzInput, runFuzzCase, scheduledTargets } from "./fuzz.js";
export type { FuzzGenerator, FuzzCase, FuzzFailure, FuzzCaseResult, KnownIssue } from "./fuzz.js";

export { generatePvStream, pvStreamLayout, pvStreamHeaders, pvStreamRecords } from "./pv-stream-generator.js";
export type { PvStreamOptions, PvStreamLayout, PvStreamHeaders } from "./pv-stream-generator.js";
export { generateLegacyStream, legacyStreamChunks } from "./legacy-generator.js";
export { Prng, LegacyPrng } from "./prng.js";
export type {
  LegacyGeneratorOptions,
  LegacyQemuKind,
  LegacyStreamSummary,
  GeneratedLegacyStream,
} from "./legacy-generator.js";
export { libvirtSaveImage, xenopsdSuspendImage, legacyContainerImage, xenopsRecordArbitrary } from "./containers.js";
export type { LibvirtImageConstraints, XenopsdImageConstraints, LegacyContainerConstraints } from "./containers.js";
