/**
 * Public types of the verifier: options, findings, the report and its
 * summary.
 *
 * @module
 */
import type { SaveFileEvent } from "../savefile.js";
import type { AbortSignalLike } from "../io/source.js";
import type { ErrorCode, Layer } from "../errors.js";
import type { FormatOption, StreamFormat } from "../savefile.js";
import type { ContainerSummary } from "./container.js";

/** How bad a finding is. Only `error` makes a report invalid. */
export type Severity = "error" | "warning" | "info";

/**
 * Which rule set to apply.
 *
 * - `spec` (default): every check of Xen's verify-stream-v2 (where it is
 *   right) plus the spec's own rules it never makes.
 * - `restore`: everything in `spec`, plus what Xen's C restore code
 *   (libxenguest, libxl, xl) enforces, so a clean report answers "will
 *   `xl restore` / `xl migrate-receive` accept this?".
 */
export type Profile = "spec" | "restore";

/**
 * Finding codes of the verifier's own rules. Findings also use the
 * decoder's {@link ErrorCode}s when the decoder stopped on a structural
 * fault. Codes are API: never renamed or reused.
 */
export const FindingCode = {
  /**
   * xl's migration message ("domain is yours, you are cleared to unpause",
   * 44 bytes) after the stream, as a live migration's wire carries it (info).
   */
  MIGRATION_MESSAGE: "MIGRATION_MESSAGE",
  /** A reserved field, reserved bit or reserved flag is not zero. */
  RESERVED_NONZERO: "RESERVED_NONZERO",
  /** Record padding holds a non-zero byte. */
  PADDING_NONZERO: "PADDING_NONZERO",
  /**
   * A body size the spec (or, in `restore`, Xen's restore code) does not
   * allow although the decoder could read it: a signalling record with a
   * body, X86_PV_INFO longer than 8 bytes, PV vCPU blob sizes, P2M frame
   * counts, the 128 MiB libxc record limit.
   */
  BAD_SIZE: "BAD_SIZE",
  /** Records out of the order the spec (or restore) requires. */
  RECORD_ORDER: "RECORD_ORDER",
  /** A record the stream must contain is absent. */
  MISSING_RECORD: "MISSING_RECORD",
  /** A record that may appear once appears again. */
  DUPLICATE_RECORD: "DUPLICATE_RECORD",
  /** A record valid for one guest type only, in a stream of the other. */
  WRONG_GUEST_TYPE: "WRONG_GUEST_TYPE",
  /** STATIC_DATA_END or a CPUID/MSR policy record in a version 2 stream. */
  V3_RECORD_IN_V2: "V3_RECORD_IN_V2",
  /** An optional record (type bit 31) the layer does not define. */
  OPTIONAL_RECORD: "OPTIONAL_RECORD",
  /** The deprecated TOOLSTACK record. */
  DEPRECATED_RECORD: "DEPRECATED_RECORD",
  /** A big-endian stream or xl header. */
  BIG_ENDIAN: "BIG_ENDIAN",
  /** A domain header page_shift other than 12 (x86). */
  BAD_PAGE_SHIFT: "BAD_PAGE_SHIFT",
  /** A variable-sized record with no content (spec erratum 1). */
  ZERO_CONTENT: "ZERO_CONTENT",
  /** An EMULATOR_XENSTORE_DATA key breaking the xenstore rules. */
  XENSTORE_KEY: "XENSTORE_KEY",
  /** An EMULATOR_XENSTORE_DATA value that is not printable ASCII. */
  XENSTORE_VALUE: "XENSTORE_VALUE",
  /**
   * An HVM_CONTEXT blob Xen's hvm_load() would refuse: framing, HEADER,
   * END, typecodes, lengths, instances, devices, field values (restore).
   */
  BAD_HVM_CONTEXT: "BAD_HVM_CONTEXT",
  /**
   * An entry inside a record repeats an earlier one's key: an HVM context
   * save entry (typecode, instance), a CPUID leaf (leaf, subleaf), a policy
   * MSR. Xen's restore loads both and keeps the last; no Xen writes it
   * (warning).
   */
  DUPLICATE_ENTRY: "DUPLICATE_ENTRY",
  /** Entries inside a record out of the order Xen writes them: CPUID leaves, policy MSRs ascending (warning). */
  ENTRY_ORDER: "ENTRY_ORDER",
  /**
   * Data inside a record that Xen's restore never reads or discards: bytes
   * after the HVM context's END entry or an END with a length, CPUID leaf
   * data beyond the policy's limits (warning).
   */
  IGNORED_DATA: "IGNORED_DATA",
  /** An xl header flag or configuration problem. */
  XL_HEADER: "XL_HEADER",
  /** A checkpointed (Remus/COLO) stream, which plain restore refuses. */
  CHECKPOINTED_STREAM: "CHECKPOINTED_STREAM",
  /** A record order that every real Xen saver writes although the spec asks otherwise. */
  SAVER_ORDER: "SAVER_ORDER",
  /** A VERIFY record: the pages after it are a debug re-send, compared rather than loaded. */
  VERIFY_RECORD: "VERIFY_RECORD",
  /** A libvirt or xenopsd container problem (header, XML, chunks, version/stream agreement). */
  CONTAINER: "CONTAINER",
  /** The findings limit was reached; later findings were dropped. */
  TOO_MANY_FINDINGS: "TOO_MANY_FINDINGS",
} as const;

/** One of the verifier's own {@link FindingCode}s. */
export type FindingCodeName = (typeof FindingCode)[keyof typeof FindingCode];

/** Any code a finding may carry: a verifier code or a decoder error code. */
export type AnyFindingCode = FindingCodeName | ErrorCode;

/** One thing the verifier found. */
export interface Finding {
  severity: Severity;
  /** Stable machine-readable code. */
  code: AnyFindingCode;
  /** What is wrong, what was expected and what was found. */
  message: string;
  /** Absolute byte offset (record header, or the offending field). */
  offset: number;
  /** Index of the record within its layer, where there is one. */
  recordIndex?: number;
  /** Layer the finding belongs to. */
  layer?: Layer;
}

/** Count and on-wire bytes of one record type. */
export interface RecordTotals {
  count: number;
  /** On-wire bytes: 8-byte header, body and padding. */
  bytes: number;
}

/** Page statistics over every PAGE_DATA entry. */
export interface PageTotals {
  /** Pfn entries, all types. */
  entries: number;
  /** Entries that carried page contents. */
  withData: number;
  /** Entries per page-type name (NOTAB, L1TAB, ..., XTAB). */
  byType: Record<string, number>;
  /** Lowest pfn seen, or undefined without PAGE_DATA. */
  minPfn: number | undefined;
  /** Highest pfn seen, or undefined without PAGE_DATA. */
  maxPfn: number | undefined;
  /**
   * Distinct pfns seen, counted with a bitmap of at most
   * {@link VerifyOptions.maxTrackedPfn} bits; undefined when a pfn above
   * that was seen.
   */
  distinctPfns: number | undefined;
}

/** What the verifier learnt about the stream, for `--verbose` and JSON. */
export interface VerifySummary {
  /** The outermost format, once known. */
  format: StreamFormat | undefined;
  profile: Profile;
  /** Bytes read. */
  bytes: number;
  /** xl header facts, when there was one. */
  /** The libvirt or xenopsd container around the stream, when there is one. */
  container?: ContainerSummary;
  xl?: {
    byteOrder: "little" | "big";
    mandatoryFlags: number;
    optionalFlags: number;
    configLength: number;
    /** `c_info.type` of the JSON config ("pv", "hvm", "pvh"), when readable. */
    guestType?: string;
  };
  /** libxl header facts. */
  libxl?: { version: number; options: number; bigEndian: boolean; legacy: boolean };
  /** libxc header facts. */
  libxc?: {
    version: number;
    bigEndian: boolean;
    domainType: "x86 PV" | "x86 HVM";
    pageShift: number;
    xenMajor: number;
    xenMinor: number;
    /** xen_major 0: written by convert-legacy-stream. */
    legacyConverted: boolean;
  };
  /** From X86_PV_INFO. */
  pvInfo?: { guestWidth: number; ptLevels: number };
  /**
   * Records per layer and type name; unknown (optional) types as "0x%08x",
   * beyond 64 distinct ones together as "UNKNOWN".
   */
  records: { libxc: Record<string, RecordTotals>; libxl: Record<string, RecordTotals> };
  pages: PageTotals;
  /**
   * Distinct vCPU ids: PV from X86_PV_VCPU_BASIC records, HVM from the CPU
   * entries of the last HVM_CONTEXT.
   */
  vcpus: number;
  /** Runs of consecutive PAGE_DATA records (between other records). */
  iterations: number;
  /**
   * Memory passes, estimated: a pass starts with each run and whenever a
   * batch's first pfn is not above the previous batch's last (the saver
   * sends each pass in ascending pfn order).
   */
  passes: number;
  /** libxc CHECKPOINT records seen. */
  checkpoints: number;
  /** True when the stream completed (END, or a checkpoint boundary). */
  complete: boolean;
  /**
   * The reference verifier's verbose listing (PAGE_DATA runs squashed),
   * when {@link VerifyOptions.listing} was set.
   */
  listing?: string[];
}

/** The verifier's answer. */
export interface VerifyReport {
  /** True when no finding is an error. */
  ok: boolean;
  /** Every finding in stream order (up to {@link VerifyOptions.maxFindings}). */
  findings: Finding[];
  summary: VerifySummary;
}

/** Options of {@link verifyStream} and {@link StreamVerifier}. */
export interface VerifyOptions {
  /**
   * The format to expect, or "auto" to detect it from the first bytes.
   * @defaultValue "auto"
   */
  format?: FormatOption;
  /**
   * The rule set.
   * @defaultValue "spec"
   */
  profile?: Profile;
  /**
   * Largest record body read; a longer one ends verification with a
   * RECORD_TOO_LARGE error. It bounds memory. The spec sets no limit (Xen's
   * libxc restore: 128 MiB); raise it up to 2^32-1 to verify larger records.
   * @defaultValue 134217728 (128 MiB)
   */
  maxRecordLength?: number;
  /**
   * Stop recording findings after this many (the last one is
   * TOO_MANY_FINDINGS); the verdict still counts every error.
   * @defaultValue 1000
   */
  maxFindings?: number;
  /**
   * Collect the reference verifier's verbose listing in `summary.listing`.
   * @defaultValue false
   */
  listing?: boolean;
  /** Called with each listing line as soon as it is known (independent of `listing`). */
  onListing?: (line: string) => void;
  /**
   * Called with each finding as soon as it is made, including findings past
   * `maxFindings` (which the report only counts).
   */
  onFinding?: (finding: Finding) => void;
  /**
   * Called with every decoded event after the rules have seen it, so that
   * one pass can verify and collect (what `xen-stream info` does). Byte
   * fields and PAGE_DATA entries are valid only during the call. The arrays
   * of entries (PAGE_DATA `entries`, xenstore `entries`, HVM_PARAMS
   * `params`, the CPU policies' `entries`, P2M `frames`, dirty `pfns`) are
   * built only when read: the verifier itself never builds them, so a
   * record of millions of entries costs the heap only if the callback
   * reads its array.
   */
  onEvent?: (event: SaveFileEvent) => void;
  /**
   * Async sources only: abandons verification when it aborts. The pending
   * read is not waited for, the source is cancelled, and the promise
   * rejects with `signal.reason` (see `ByteSource` in
   * `xen-migration-stream/io` for the contract every async entry point
   * shares).
   */
  signal?: AbortSignalLike;
  /**
   * ReadIntoSource only (`fileSource()`, `readIntoSource()`): the starting
   * size of the reused read buffer, in 1..2^30. It grows to hold the
   * largest record seen.
   * @defaultValue 4259840 (4 MiB + 64 KiB: a full PAGE_DATA batch)
   */
  bufferSize?: number;
  /**
   * Highest pfn tracked by the distinct-pfn bitmap (memory: this / 8 bytes).
   * @defaultValue 134217727 (2^27 - 1: 512 GiB of 4 KiB pages, a 16 MiB bitmap)
   */
  maxTrackedPfn?: number;
}
