/**
 * The verifier: one pass over the save-file decoder's events, folding the
 * rule table over them, with bounded memory.
 *
 * @module
 */
import { concatBytes } from "../wire/bytes.js";
import { checkSourceOptions, type ByteSource } from "../io/source.js";
import { wantedChunks } from "../io/wanted.js";
import { describeValue, XenStreamError, isXenStreamError, type ErrorCode } from "../errors.js";
import type { InternalDecoderOptions } from "../libxc/decoder.js";
import { SaveFileDecoder, detectFormat, mayBeLegacy, type SaveFileDecoderOptions, type SaveFileEvent } from "../savefile.js";
import { REC_LENGTH_MAX } from "../wire/frame.js";
import { Listing } from "./listing.js";
import { eventKey, type ReportOptions, type Rule, type RuleContext } from "./rule.js";
import { RULES } from "./rules/index.js";
import { VerifyState } from "./state.js";
import type { Finding, Profile, Severity, VerifyOptions, VerifyReport } from "./types.js";
import { checkBytes } from "../wire/args.js";

const DEFAULT_MAX_FINDINGS = 1000;
const DEFAULT_MAX_TRACKED_PFN = 2 ** 27 - 1;

function validateOptions(options: VerifyOptions): { profile: Profile; maxFindings: number; maxTrackedPfn: number } {
  if (typeof options !== "object" || options === null) {
    throw new XenStreamError("USAGE", 0, `verifier options must be an object, got ${describeValue(options)}`);
  }
  const profile = options.profile ?? "spec";
  if (profile !== "spec" && profile !== "restore") {
    throw new XenStreamError("USAGE", 0, `profile must be "spec" or "restore", got ${describeValue(profile)}`);
  }
  const format = options.format ?? "auto";
  if (typeof format !== "string" || !["auto", "xl", "libxl", "libxc", "libvirt", "xenopsd"].includes(format)) {
    throw new XenStreamError("USAGE", 0, `format must be auto, xl, libxl, libxc, libvirt or xenopsd, got ${describeValue(format)}`);
  }
  const maxFindings = options.maxFindings ?? DEFAULT_MAX_FINDINGS;
  if (!Number.isInteger(maxFindings) || maxFindings < 1) {
    throw new XenStreamError("USAGE", 0, `maxFindings must be a positive integer, got ${describeValue(maxFindings)}`);
  }
  const maxTrackedPfn = options.maxTrackedPfn ?? DEFAULT_MAX_TRACKED_PFN;
  if (!Number.isInteger(maxTrackedPfn) || maxTrackedPfn < 0 || maxTrackedPfn > 2 ** 35) {
    throw new XenStreamError("USAGE", 0, `maxTrackedPfn must be an integer in 0..2^35, got ${describeValue(maxTrackedPfn)}`);
  }
  for (const name of ["onListing", "onFinding", "onEvent"] as const) {
    const callback: unknown = options[name];
    if (callback !== undefined && typeof callback !== "function") {
      throw new XenStreamError("USAGE", 0, `${name} must be a function, got ${describeValue(callback)}`);
    }
  }
  return { profile, maxFindings, maxTrackedPfn };
}

/** The rule lists per event key, built once per profile. */
class RuleIndex {
  private readonly byKey = new Map<string, Rule[]>();
  private readonly layerAny = new Map<string, Rule[]>();
  private readonly cache = new Map<string, readonly Rule[]>();
  readonly finishers: readonly Rule[];

  constructor(profile: Profile) {
    const active = RULES.filter((rule) => rule.severity[profile] !== undefined);
    for (const rule of active) {
      for (const key of rule.on ?? []) {
        const [layer, what] = key.split(":") as [string, string];
        const target = what === "record" ? this.layerAny : this.byKey;
        const mapKey = what === "record" ? layer : key;
        const list = target.get(mapKey) ?? [];
        list.push(rule);
        target.set(mapKey, list);
      }
    }
    this.finishers = active.filter((rule) => rule.finish !== undefined);
  }

  rulesFor(event: SaveFileEvent): readonly Rule[] {
    const key = eventKey(event);
    let rules = this.cache.get(key);
    if (rules === undefined) {
      const specific = this.byKey.get(key) ?? [];
      const any = event.kind === "record" ? (this.layerAny.get(event.layer) ?? []) : [];
      rules = [...any, ...specific];
      this.cache.set(key, rules);
    }
    return rules;
  }
}

const indexes: Partial<Record<Profile, RuleIndex>> = {};

/**
 * Incremental verifier: push chunks as they arrive, call {@link end} for the
 * report. Never throws for a malformed stream: a structural fault the
 * decoder cannot read past becomes an error finding (the decoder's code and
 * offset) and stops verification; later pushes are ignored.
 *
 * Memory is bounded by the largest record (`maxRecordLength`) plus one
 * chunk, the findings limit and the pfn bitmap limit.
 *
 * @example
 * ```ts
 * import { StreamVerifier } from "xen-migration-stream";
 * const verifier = new StreamVerifier({ profile: "restore" });
 * for await (const chunk of source) if (!verifier.push(chunk)) break;
 * const report = verifier.end();
 * report.ok; //=> true
 * ```
 */
export class StreamVerifier {
  private readonly pump: SaveFileDecoder;
  private readonly state: VerifyState;
  private readonly rules: RuleIndex;
  private readonly findings: Finding[] = [];
  private readonly maxFindings: number;
  private readonly listingLines: string[] | undefined;
  private readonly listing: Listing | undefined;
  private readonly formatOption: string;
  private readonly onFinding: ((finding: Finding) => void) | undefined;
  private readonly onEvent: ((event: SaveFileEvent) => void) | undefined;
  private errors = 0;
  private dropped = 0;
  private stopped = false;
  private ended = false;
  private detectBuffer: Uint8Array | undefined = undefined;
  private detected = false;
  // the current rule and event, for RuleContext.report
  private currentRule: Rule | undefined = undefined;
  private currentEvent: SaveFileEvent | undefined = undefined;
  private readonly context: RuleContext;

  /**
   * @param options - format, profile and limits
   * @throws {@link XenStreamError} USAGE for invalid options
   */
  constructor(options: VerifyOptions = {}) {
    const { profile, maxFindings, maxTrackedPfn } = validateOptions(options);
    this.maxFindings = maxFindings;
    this.formatOption = options.format ?? "auto";
    this.onFinding = options.onFinding;
    this.onEvent = options.onEvent;
    const decoderOptions: SaveFileDecoderOptions & InternalDecoderOptions = {
      format: options.format ?? "auto",
      maxRecordLength: options.maxRecordLength ?? REC_LENGTH_MAX,
      // Rules walk the bytes of every array record (entries.ts): no entry
      // objects per page, pair or param (issue #19). `onEvent` still sees
      // whole records: their arrays are built when read.
      shallowEntries: true,
    };
    this.pump = new SaveFileDecoder(decoderOptions);
    this.state = new VerifyState(profile, maxTrackedPfn);
    this.rules = indexes[profile] ?? (indexes[profile] = new RuleIndex(profile));
    if (options.listing === true) this.listingLines = [];
    const onListing = options.onListing;
    const lines = this.listingLines;
    if (lines !== undefined || onListing !== undefined) {
      this.listing = new Listing((line) => {
        lines?.push(line);
        onListing?.(line);
      });
    }
    const self = this;
    this.context = {
      report(message: string, reportOptions?: ReportOptions): void {
        self.reportFromRule(message, reportOptions);
      },
    };
  }

  /** True once verification stopped on a fatal fault: further input is ignored. */
  get done(): boolean {
    return this.stopped;
  }

  private add(finding: Finding): void {
    if (finding.severity === "error") this.errors += 1;
    this.onFinding?.(finding);
    if (this.findings.length < this.maxFindings) this.findings.push(finding);
    else this.dropped += 1;
  }

  private reportFromRule(message: string, options: ReportOptions | undefined): void {
    const rule = this.currentRule as Rule;
    const event = this.currentEvent;
    const severity: Severity = options?.severity ?? (rule.severity[this.state.profile] as Severity);
    const finding: Finding = {
      severity,
      code: options?.code ?? rule.code,
      message,
      offset: options?.offset ?? event?.offset ?? this.state.libxcEndOffset ?? this.state.bytes,
    };
    if (event !== undefined && event.kind === "record") finding.recordIndex = event.index;
    const layer = options?.layer ?? event?.layer;
    if (layer !== undefined) finding.layer = layer;
    this.add(finding);
  }

  private visit = (event: SaveFileEvent): void => {
    if (this.state.format === undefined) this.state.format = event.layer;
    this.currentEvent = event;
    this.listing?.add(event);
    for (const rule of this.rules.rulesFor(event)) {
      this.currentRule = rule;
      (rule.check as NonNullable<Rule["check"]>)(event, this.state, this.context);
    }
    this.state.observe(event);
    this.onEvent?.(event);
  };

  private fail(error: unknown): void {
    if (!isXenStreamError(error)) throw error;
    const finding: Finding = {
      severity: "error",
      code: error.code as ErrorCode,
      // The reason alone: the finding carries the offset and record index.
      message: error.reason ?? error.message,
      offset: error.offset,
    };
    if (error.recordIndex !== undefined) finding.recordIndex = error.recordIndex;
    if (error.layer !== undefined) finding.layer = error.layer;
    else if (error.code === "TRAILING_DATA") finding.layer = this.state.libxlHeader === undefined ? "libxc" : "libxl";
    this.add(finding);
    this.stopped = true;
  }

  /**
   * Verifies the next chunk. The chunk may be a view into a buffer the
   * caller reuses only after the verifier is done with it: the decoder keeps
   * views of unconsumed bytes, so pass a fresh buffer per chunk.
   *
   * @param chunk - the next bytes
   * @returns false once verification stopped on a fatal fault (stop reading)
   * @throws {@link XenStreamError} USAGE after {@link end}
   */
  push(chunk: Uint8Array): boolean {
    checkBytes(chunk, "StreamVerifier.push: chunk");
    if (this.ended) throw new XenStreamError("USAGE", this.state.bytes, "verifier already ended");
    if (this.stopped) return false;
    this.state.bytes += chunk.length;
    // Record the outermost format before the first event (a legacy stream has none).
    if (!this.detected && this.state.format === undefined && this.formatOption === "auto") {
      const pending = this.detectBuffer === undefined ? chunk : concatBytes([this.detectBuffer, chunk]);
      const format = detectFormat(pending);
      if (format === undefined) this.detectBuffer = pending;
      else {
        // Bytes that cannot begin a legacy stream either are no Xen stream:
        // no format to name (the decoder says so in its BAD_MAGIC).
        if (format !== "legacy" || mayBeLegacy(pending)) this.state.format = format;
        this.detectBuffer = undefined;
        this.detected = true;
      }
    }
    try {
      this.pump.pushEach(chunk, this.visit);
    } catch (error) {
      this.fail(error);
    }
    return !this.stopped;
  }

  /**
   * Bytes the verifier needs before its next event (0 once it stopped or the
   * stream ended): an I/O loop that reads exactly this many bytes hands every
   * record over as one chunk (see `readWantedChunks` in the io entry point).
   * The verifier keeps no view of a chunk after `push` returns, so such a
   * loop may reuse its buffer.
   */
  get bytesWanted(): number {
    return this.stopped ? 0 : this.pump.bytesWanted;
  }

  /** Bytes pushed that the verifier still holds (an incomplete header or record). */
  get bytesHeld(): number {
    return this.pump.bytesHeld;
  }

  /**
   * Declares the input complete and returns the report. Runs the rules that
   * need the whole stream (presence checks) when the stream completed.
   *
   * @returns the report
   * @throws {@link XenStreamError} USAGE when called twice
   */
  end(): VerifyReport {
    if (this.ended) throw new XenStreamError("USAGE", this.state.bytes, "verifier already ended");
    this.ended = true;
    if (!this.stopped) {
      try {
        this.pump.endEach(this.visit);
        this.state.complete = true;
      } catch (error) {
        this.fail(error);
      }
    }
    this.listing?.end();
    if (this.state.complete) {
      this.currentEvent = undefined;
      for (const rule of this.rules.finishers) {
        this.currentRule = rule;
        (rule.finish as NonNullable<Rule["finish"]>)(this.state, this.context);
      }
    }
    if (this.dropped > 0) {
      this.findings.push({
        severity: "info",
        code: "TOO_MANY_FINDINGS",
        message: `findings limit ${this.maxFindings} reached; ${this.dropped} later findings were dropped (${this.errors} errors in all)`,
        offset: this.state.bytes,
      });
    }
    return {
      ok: this.errors === 0,
      findings: this.findings,
      summary: this.state.summary(this.listingLines),
    };
  }
}


/** A WHATWG ReadableStream of bytes, structurally (no DOM types in the core). */
export interface ByteReadableStream {
  /** Locks the stream to a reader (WHATWG `ReadableStream.getReader()`). */
  getReader(): ByteStreamReader;
}

/** The reader of a {@link ByteReadableStream}, structurally. */
export interface ByteStreamReader {
  /** The next chunk, or `done`. */
  read(): Promise<{ done: boolean; value?: Uint8Array | undefined }>;
  /** Releases the lock on the stream. */
  releaseLock(): void;
  /** Cancels the stream (used when verification stops early). */
  cancel?(reason?: unknown): Promise<void>;
}

/**
 * What {@link verifyStream} reads: one Uint8Array (verified synchronously),
 * or any byte source of the async entry points (chunks arriving over time,
 * a ReadableStream, a `fileSource()` or `readIntoSource()`).
 */
export type VerifyInput = Uint8Array | ByteSource | ByteReadableStream;

/**
 * Reads `input` in the pieces the verifier wants next (see
 * readWantedChunks): no record is assembled where it need not be, and a
 * ReadIntoSource is read into one reused buffer (the verifier keeps no
 * view of a chunk after push returns). Reading stops at the first fatal
 * fault.
 */
async function verifyAsync(input: Exclude<VerifyInput, Uint8Array>, verifier: StreamVerifier, options: VerifyOptions): Promise<VerifyReport> {
  const consumer = {
    get bytesWanted(): number {
      // Past the end, a little more: trailing bytes are read and reported.
      return verifier.bytesWanted === 0 && !verifier.done ? 1 << 16 : verifier.bytesWanted;
    },
    get bytesHeld(): number {
      return verifier.bytesHeld;
    },
  };
  for await (const chunk of wantedChunks(input as ByteSource, consumer, options, "verifyStream input")) {
    if (!verifier.push(chunk)) break;
  }
  return verifier.end();
}

/**
 * Verifies an xl save file, a libxl stream or a libxc stream (format
 * detected unless `options.format` says) and reports every finding. A
 * `Uint8Array` is verified synchronously; an async source (an
 * `AsyncIterable<Uint8Array>`, a sync iterable of chunks or a WHATWG
 * `ReadableStream`) is consumed chunk by chunk with bounded memory, and
 * reading stops at the first fatal fault.
 *
 * Never throws for a malformed stream; throws only for invalid options
 * (XenStreamError USAGE, thrown at the call) or when the source itself
 * fails. An async source follows the contract of every async entry point
 * (`ByteSource` in `xen-migration-stream/io`): a chunk that is not a
 * Uint8Array, or an input that is no source, rejects with USAGE naming
 * the input; `signal` abandons a stalled source (the promise rejects with
 * `signal.reason`).
 *
 * See the module documentation of `verify/index.ts` for the profiles and
 * for the decision taken on each place where the spec, Xen's verifier and
 * Xen's restore disagree.
 *
 * @param input - the stream
 * @param options - format, profile, limits, listing; `signal` and
 * `bufferSize` for async sources
 * @returns the report (a Promise for async sources)
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { verifyStream } from "xen-migration-stream";
 * const report = verifyStream(new Uint8Array(readFileSync("guest.save")));
 * report.ok; //=> true
 * report.summary.libxc?.domainType; //=> "x86 PV"
 * ```
 */
export function verifyStream(input: Uint8Array, options?: VerifyOptions): VerifyReport;
export function verifyStream(input: Exclude<VerifyInput, Uint8Array>, options?: VerifyOptions): Promise<VerifyReport>;
export function verifyStream(input: VerifyInput, options?: VerifyOptions): VerifyReport | Promise<VerifyReport>;
export function verifyStream(input: VerifyInput, options?: VerifyOptions): VerifyReport | Promise<VerifyReport> {
  const checked = checkSourceOptions(options, "verifyStream");
  const verifier = new StreamVerifier(checked);
  if (input instanceof Uint8Array) {
    verifier.push(input);
    return verifier.end();
  }
  return verifyAsync(input, verifier, checked);
}
