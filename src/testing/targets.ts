/**
 * What the fuzzer drives, behind small adapters: the decoders (whole
 * buffer and chunked), the verifier and the legacy converter. Each target
 * runs one input and returns its outcome ("ok" or an error code); it throws
 * for a bug: any exception other than {@link XenStreamError}, an error
 * offset outside the input, or a broken invariant ({@link OracleViolation}).
 *
 * The verifier and the converter are reached only through
 * {@link verifierAdapter} and {@link converterAdapter}, the one place to
 * change when their APIs move.
 *
 * @module
 */
import { XenStreamError, isXenStreamError, type ErrorCode } from "../errors.js";
import { convertLegacy } from "../legacy/index.js";
import type { LegacyOptions } from "../legacy/types.js";
import { SaveFileDecoder, decodeSaveFile, detectFormat, encodeSaveFile, type FormatOption, type SaveFileEvent, type StreamFormat } from "../savefile.js";
import { verifyStream } from "../verify/index.js";
import { REC_LENGTH_MAX, RECORD_HEADER_SIZE } from "../wire/frame.js";
import type { Profile } from "../verify/types.js";
import { Prng } from "./prng.js";

/** A broken invariant found by a fuzz target (a bug, like any non-XenStreamError exception). */
export class OracleViolation extends Error {
  override readonly name = "OracleViolation";
}

/** The format of an input as the fuzzer knows it. */
export type InputFormat = Exclude<StreamFormat, "legacy"> | "legacy" | "auto";

/** One input for the targets. */
export interface FuzzInput {
  bytes: Uint8Array;
  /** The format to tell the decoder ("auto": detect; "legacy": convert it). */
  format: InputFormat;
  /** Converter options for legacy inputs (width, guest, xl header). */
  legacy?: LegacyOptions;
  /**
   * Seed of the cut points of the chunked decode ({@link chunkedDecodeTarget}):
   * a few cuts anywhere and maybe a run of one-byte chunks. Default: chunks
   * of 1, 7, 8, 3, 61, 4096, 13 and 512 bytes in turn, over the whole input.
   */
  chunking?: number;
}

/** What a target said: "ok", or the XenStreamError code. */
export type Outcome = "ok" | ErrorCode;

/** The verifier's answer, reduced to what the fuzzer counts. */
export interface VerifierVerdict {
  /** True when no finding is an error. */
  ok: boolean;
  /** Codes of the error findings, in stream order. */
  errors: string[];
  /** Codes of every finding (errors, warnings, info). */
  codes: string[];
  /** Number of findings. */
  findings: number;
}

/** Runs the verifier on a whole buffer. */
export type VerifierAdapter = (bytes: Uint8Array, format: FormatOption, profile: Profile) => VerifierVerdict;

/** Runs the legacy converter on a whole buffer; returns the v2 bytes. */
export type ConverterAdapter = (bytes: Uint8Array, options: LegacyOptions) => Uint8Array;

/** The verifier, wired to `verifyStream` (src/verify). */
export const verifierAdapter: VerifierAdapter | undefined = (bytes, format, profile) => {
  const report = verifyStream(bytes, { format, profile });
  return {
    ok: report.ok,
    errors: report.findings.filter((finding) => finding.severity === "error").map((finding) => finding.code),
    codes: report.findings.map((finding) => finding.code),
    findings: report.findings.length,
  };
};

/** The legacy converter, wired to `convertLegacy` (src/legacy). */
export const converterAdapter: ConverterAdapter | undefined = (bytes, options) => convertLegacy(bytes, options);

function decoderFormat(format: InputFormat): FormatOption {
  return format === "legacy" ? "auto" : format;
}

/** Checks a caught error: a XenStreamError with a sane offset, else rethrows. */
function outcomeOf(error: unknown, inputLength: number, what: string): ErrorCode {
  if (!isXenStreamError(error)) throw error;
  if (!Number.isInteger(error.offset) || error.offset < 0 || error.offset > inputLength) {
    throw new OracleViolation(`${what}: ${error.code} offset ${error.offset} outside the ${inputLength}-byte input (${error.message})`);
  }
  return error.code;
}

/**
 * What one case computes once for its input and several targets share:
 * the whole-buffer decode and the verifier's verdicts. Set only while
 * {@link withCaseMemo} runs, for the one input of that case, so nothing is
 * kept past it (or served for a buffer changed in between).
 */
interface CaseMemo {
  bytes: Uint8Array;
  decoded: Map<InputFormat, DecodeOutcome>;
  verdicts: Map<string, VerifierVerdict>;
  /** Converter results by options: the output, or what it threw. */
  converted: Map<string, { output: Uint8Array } | { thrown: unknown }>;
}

let caseMemo: CaseMemo | undefined;

/**
 * Runs `run` with the whole-buffer decode and the verdicts of `bytes`
 * computed at most once each ({@link decodeOutcome}, {@link verifierVerdict}).
 *
 * @param bytes - the case's input (not changed while `run` runs)
 * @param run - the case
 * @returns what `run` returns
 * @internal
 */
export function withCaseMemo<T>(bytes: Uint8Array, run: () => T): T {
  const outer = caseMemo;
  caseMemo = { bytes, decoded: new Map(), verdicts: new Map(), converted: new Map() };
  try {
    return run();
  } finally {
    caseMemo = outer;
  }
}

/**
 * The verifier's verdict on a whole buffer (memoised within
 * {@link withCaseMemo}); undefined when no verifier is wired.
 *
 * @param bytes - any input
 * @param format - the format to tell the verifier
 * @param profile - verifier profile
 * @returns the verdict
 * @internal
 */
export function verifierVerdict(bytes: Uint8Array, format: FormatOption, profile: Profile): VerifierVerdict | undefined {
  if (verifierAdapter === undefined) return undefined;
  const memo = caseMemo !== undefined && caseMemo.bytes === bytes ? caseMemo : undefined;
  const key = `${format}/${profile}`;
  const known = memo?.verdicts.get(key);
  if (known !== undefined) return known;
  const verdict = verifierAdapter(bytes, format, profile);
  memo?.verdicts.set(key, verdict);
  return verdict;
}

/**
 * The legacy converter's output for a whole buffer (memoised within
 * {@link withCaseMemo}: a second call with the same options gives the same
 * output, or throws the same error again).
 *
 * @param bytes - any input
 * @param options - converter options
 * @returns the v2 bytes
 * @throws whatever the converter throws
 * @internal
 */
export function convertedBytes(bytes: Uint8Array, options: LegacyOptions): Uint8Array {
  const memo = caseMemo !== undefined && caseMemo.bytes === bytes ? caseMemo : undefined;
  const key = memo === undefined ? "" : JSON.stringify(options);
  const known = memo?.converted.get(key);
  if (known !== undefined) {
    if ("thrown" in known) throw known.thrown;
    return known.output;
  }
  try {
    const output = (converterAdapter as ConverterAdapter)(bytes, options);
    memo?.converted.set(key, { output });
    return output;
  } catch (error) {
    memo?.converted.set(key, { thrown: error });
    throw error;
  }
}

/** The whole-buffer decode of an input: its outcome and, on failure, the error. */
export interface DecodeOutcome {
  outcome: Outcome;
  error?: XenStreamError;
  events?: number;
}

/**
 * Decodes a whole buffer (memoised within {@link withCaseMemo}).
 *
 * @param bytes - any input
 * @param format - the format to tell the decoder
 * @returns the outcome and, on failure, the error; on success the number of events
 */
export function decodeOutcome(bytes: Uint8Array, format: InputFormat): DecodeOutcome {
  const memo = caseMemo !== undefined && caseMemo.bytes === bytes ? caseMemo : undefined;
  const known = memo?.decoded.get(format);
  if (known !== undefined) return known;
  const decoded = decodeWhole(bytes, format);
  memo?.decoded.set(format, decoded);
  return decoded;
}

function decodeWhole(bytes: Uint8Array, format: InputFormat): DecodeOutcome {
  try {
    const decoder = new SaveFileDecoder({ format: decoderFormat(format) });
    let events = 0;
    const count = (): void => void events++;
    decoder.pushEach(bytes, count);
    decoder.endEach(count);
    return { outcome: "ok", events };
  } catch (error) {
    const code = outcomeOf(error, bytes.length, "decode");
    return { outcome: code, error: error as XenStreamError };
  }
}

/** A fuzz target: one API driven with one input. */
export interface FuzzTarget {
  name: string;
  /**
   * True when the target takes this input.
   *
   * @param input - a fuzz input
   * @returns whether `run` applies to it
   */
  applies(input: FuzzInput): boolean;
  /**
   * Runs it; returns the outcome, throws for a bug.
   *
   * @param input - a fuzz input the target applies to
   * @throws OracleViolation (or any other exception) for a bug
   * @returns "ok", the XenStreamError code the API rightly threw, or a
   * target's own short verdict
   */
  run(input: FuzzInput): Outcome | string;
}

/** Most events a decoder may emit per input byte: each consumes at least 8 bytes, plus the header events. */
export function maxEvents(length: number): number {
  return Math.floor(length / 8) + 4;
}

/** The first offset where `a` and `b` differ, -1 when equal. */
function sameBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  let from = 0;
  // Four bytes at a time where both are 4-byte aligned (fresh buffers are).
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = length >>> 2;
    const x = new Int32Array(a.buffer, a.byteOffset, words);
    const y = new Int32Array(b.buffer, b.byteOffset, words);
    let i = 0;
    while (i < words && x[i] === y[i]) i++;
    from = 4 * i;
  }
  for (let i = from; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

/** Chunk sizes of the chunked decode without a `chunking` seed: small, odd and page-sized, in turn. */
const CHUNK_SIZES = [1, 7, 8, 3, 61, 4096, 13, 512];

/** Most cut points drawn anywhere in the input, and the longest run of one-byte chunks. */
const RANDOM_CUTS = 8;
const BYTE_RUN = 48;

/**
 * The ends of the chunks the chunked decode pushes, in order, the last
 * being `length`: from a `chunking` seed, up to {@link RANDOM_CUTS} cuts
 * anywhere and (every other seed) a run of one-byte chunks somewhere;
 * without one, the fixed cycle of {@link CHUNK_SIZES}.
 */
function chunkEnds(length: number, chunking: number | undefined): number[] {
  const ends: number[] = [];
  if (chunking === undefined) {
    for (let at = 0, i = 0; at < length; i++) {
      at = Math.min(length, at + (CHUNK_SIZES[i % CHUNK_SIZES.length] as number));
      ends.push(at);
    }
    return ends;
  }
  const random = new Prng(chunking);
  const cuts = new Set<number>();
  for (let n = random.int(1, RANDOM_CUTS); n > 0; n--) cuts.add(random.int(1, Math.max(1, length)));
  if (random.chance(0.5)) {
    const from = random.below(Math.max(1, length));
    for (let at = from, run = random.int(1, BYTE_RUN); run > 0 && at < length; run--) cuts.add(++at);
  }
  for (const cut of [...cuts].sort((a, b) => a - b)) if (cut < length) ends.push(cut);
  ends.push(length);
  return ends;
}

/** The whole-buffer decoder; a decoded stream must re-encode to the same bytes. */
export const decodeTarget: FuzzTarget = {
  name: "decode",
  applies: () => true,
  run({ bytes, format }) {
    let decoded;
    try {
      decoded = decodeSaveFile(bytes, { format: decoderFormat(format) });
    } catch (error) {
      return outcomeOf(error, bytes.length, "decodeSaveFile");
    }
    let encoded: Uint8Array;
    try {
      encoded = encodeSaveFile(decoded);
    } catch (error) {
      throw new OracleViolation(`encodeSaveFile(decodeSaveFile(bytes)) threw ${String(error)}`);
    }
    const differs = sameBytes(encoded, bytes);
    if (differs >= 0) throw new OracleViolation(`encode(decode(bytes)) differs from bytes at offset ${differs}`);
    return "ok";
  },
};

/** The push decoder fed in uneven chunks (see {@link FuzzInput.chunking}): same outcome (code and offset) and events as one buffer, bounded work. */
export const chunkedDecodeTarget: FuzzTarget = {
  name: "decode-chunked",
  applies: () => true,
  run({ bytes, format, chunking }) {
    const whole = decodeOutcome(bytes, format);
    const decoder = new SaveFileDecoder({ format: decoderFormat(format) });
    const events: SaveFileEvent[] = [];
    let outcome: Outcome = "ok";
    let offset = -1;
    try {
      let at = 0;
      for (const end of chunkEnds(bytes.length, chunking)) {
        for (const event of decoder.push(bytes.subarray(at, end))) events.push(event);
        if (events.length > maxEvents(bytes.length)) throw new OracleViolation(`${events.length} events from ${bytes.length} bytes`);
        at = end;
      }
      for (const event of decoder.end()) events.push(event);
    } catch (error) {
      outcome = outcomeOf(error, bytes.length, "SaveFileDecoder (chunked)");
      offset = (error as XenStreamError).offset;
    }
    if (outcome !== whole.outcome || (whole.error !== undefined && whole.error.offset !== offset)) {
      throw new OracleViolation(
        `chunked decode says ${outcome}${offset >= 0 ? ` at ${offset}` : ""}, whole-buffer decode ${whole.outcome}` +
          `${whole.error === undefined ? "" : ` at ${whole.error.offset}`}`,
      );
    }
    if (outcome === "ok" && events.length !== whole.events) {
      throw new OracleViolation(`chunked decode gave ${events.length} events, whole-buffer decode ${String(whole.events)}`);
    }
    return outcome;
  },
};

/**
 * The push decoder fed exactly `bytesWanted` bytes at a time (what the io
 * adapters do): same outcome as one buffer, and it never asks for more
 * than one header plus the largest record it accepts.
 */
export const wantedDecodeTarget: FuzzTarget = {
  name: "decode-wanted",
  applies: () => true,
  run({ bytes, format }) {
    const whole = decodeOutcome(bytes, format);
    const decoder = new SaveFileDecoder({ format: decoderFormat(format) });
    let outcome: Outcome = "ok";
    let offset = -1;
    let events = 0;
    try {
      let at = 0;
      while (at < bytes.length) {
        const wanted = decoder.bytesWanted;
        if (wanted > REC_LENGTH_MAX + 2 * RECORD_HEADER_SIZE) {
          throw new OracleViolation(`bytesWanted ${wanted} at offset ${at} exceeds one record of the ${REC_LENGTH_MAX}-byte limit`);
        }
        const size = wanted === 0 ? bytes.length - at : wanted;
        events += decoder.push(bytes.subarray(at, at + size)).length;
        at += size;
      }
      events += decoder.end().length;
    } catch (error) {
      if (error instanceof OracleViolation) throw error;
      outcome = outcomeOf(error, bytes.length, "SaveFileDecoder (bytesWanted)");
      offset = (error as XenStreamError).offset;
    }
    if (outcome !== whole.outcome || (whole.error !== undefined && whole.error.offset !== offset)) {
      throw new OracleViolation(
        `bytesWanted-driven decode says ${outcome}${offset >= 0 ? ` at ${offset}` : ""}, whole-buffer decode ${whole.outcome}` +
          `${whole.error === undefined ? "" : ` at ${whole.error.offset}`}`,
      );
    }
    if (outcome === "ok" && events !== whole.events) {
      throw new OracleViolation(`bytesWanted-driven decode gave ${events} events, whole-buffer decode ${String(whole.events)}`);
    }
    return outcome;
  },
};

/**
 * The verifier (both profiles): must return a report, never throw; a stream
 * the decoder refuses must not verify clean; findings stay bounded.
 */
export const verifyTarget: FuzzTarget = {
  name: "verify",
  applies: () => verifierAdapter !== undefined,
  run({ bytes, format }) {
    const decoded = decodeOutcome(bytes, format);
    let verdicts: VerifierVerdict[];
    try {
      verdicts = (["spec", "restore"] as const).map((profile) => verifierVerdict(bytes, decoderFormat(format), profile) as VerifierVerdict);
    } catch (error) {
      if (error instanceof OracleViolation) throw error;
      throw new OracleViolation(`verifyStream threw ${isXenStreamError(error) ? `XenStreamError ${error.code}` : "an exception"}: ${String(error)}`);
    }
    const [spec, restore] = verdicts as [VerifierVerdict, VerifierVerdict];
    if (decoded.outcome !== "ok" && spec.ok) {
      throw new OracleViolation(`the decoder refuses the stream (${decoded.outcome}) but the verifier (spec) finds no error`);
    }
    if (restore.ok && !spec.ok) throw new OracleViolation("clean under the restore profile but not under spec");
    for (const verdict of verdicts) if (verdict.findings > 1001) throw new OracleViolation(`${verdict.findings} findings (limit 1000)`);
    return spec.ok ? "ok" : (spec.errors[0] ?? "invalid");
  },
};

/**
 * The legacy converter (legacy inputs), asked for libxl output (which
 * converts the QEMU record too, so nothing is passed through raw): only
 * XenStreamError, and what it writes decodes.
 */
export const convertTarget: FuzzTarget = {
  name: "convert",
  applies: (input) => converterAdapter !== undefined && (input.format === "legacy" || (input.format === "auto" && detectFormat(input.bytes) === "legacy")),
  run({ bytes, legacy }) {
    let output: Uint8Array;
    try {
      output = convertedBytes(bytes, { ...legacy, format: "libxl" });
    } catch (error) {
      return outcomeOf(error, bytes.length, "convertLegacy");
    }
    const decoded = decodeOutcome(output, "auto");
    if (decoded.outcome !== "ok") {
      throw new OracleViolation(`convertLegacy wrote a stream the decoder refuses: ${decoded.outcome} (${decoded.error?.message ?? ""})`);
    }
    return "ok";
  },
};

/** Every target, in the order the fuzzer runs them. */
export const FUZZ_TARGETS: readonly FuzzTarget[] = [decodeTarget, chunkedDecodeTarget, wantedDecodeTarget, verifyTarget, convertTarget];

/** A one-line description of anything thrown, for reports. */
export function describeException(error: unknown): string {
  if (error instanceof XenStreamError) return `XenStreamError ${error.code} at ${error.offset}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `thrown non-Error: ${String(error)}`;
}
