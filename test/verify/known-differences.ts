/**
 * The classes of input on which our `spec` verdict may differ from Xen's
 * verify-stream-v2, each with its reason. Every disagreement found by the
 * interop tests must fall into one of these; anything else fails.
 */
import type { Finding, VerifyReport } from "../../src/verify/index.js";
import type { ReferenceResult } from "./reference.js";

/** A known class of disagreement. */
export interface KnownDifference {
  id: string;
  /** Which side says "valid". */
  direction: "ours-valid" | "reference-valid";
  reason: string;
}

export const KNOWN_DIFFERENCES: Record<string, KnownDifference> = {
  "record-limit-option": {
    id: "record-limit-option",
    direction: "reference-valid",
    reason:
      "The caller lowered maxRecordLength below the record's length (a memory bound); verify-stream-v2 has no record limit at all. Spec: no limit stated; Xen's libxc restore refuses records over 128 MiB (disagreement 10).",
  },
  "B5-optional-record": {
    id: "B5-optional-record",
    direction: "ours-valid",
    reason:
      "Optional records (type bit 31) may be ignored by a reader (both specs; libxc's restore ignores them); verify-stream-v2 rejects every unknown type (reference-tool-bugs.md B5). We warn (OPTIONAL_RECORD).",
  },
  "B2-xenstore-data": {
    id: "B2-xenstore-data",
    direction: "ours-valid",
    reason:
      "Under Python 3 verify-stream-v2 rejects every non-empty EMULATOR_XENSTORE_DATA (\"Data not NUL terminated\": int compared with str, B2). We check the spec's encoding.",
  },
  "B13-endianness": {
    id: "B13-endianness",
    direction: "ours-valid",
    reason:
      "The reference's endianness test masks with 0 and never fires (B13): it reads a stream whose big-endian option bit is set as little-endian. We honour the bit: a real big-endian stream verifies (BIG_ENDIAN warning), a little-endian body behind the bit does not. Either side may be the 'valid' one.",
  },
  "xl-big-endian": {
    id: "xl-big-endian",
    direction: "ours-valid",
    reason:
      "A big-endian xl header (byteorder 0x01020304 written big-endian): we read it (BIG_ENDIAN warning); the reference reads its flags and lengths natively and misparses.",
  },
  checkpointed: {
    id: "checkpointed",
    direction: "ours-valid",
    reason:
      "Checkpointed (Remus/COLO) streams: the reference cannot follow them (libxc verification loops to END; libxl records after a libxc CHECKPOINT are read as libxc records), disagreement 17. We follow them; either side may be the 'valid' one.",
  },
  "trailing-data": {
    id: "trailing-data",
    direction: "reference-valid",
    reason: "Bytes after the final END: the spec says END is the final record; the reference stops reading at END and never looks.",
  },
  layout: {
    id: "layout",
    direction: "reference-valid",
    reason:
      "Spec rules the reference never checks (record order and presence, STATIC_DATA_END placement, guest-type validity, single X86_PV_INFO/STATIC_DATA_END/LIBXC_CONTEXT): RECORD_ORDER, MISSING_RECORD, DUPLICATE_RECORD, WRONG_GUEST_TYPE.",
  },
  "B14-libxl-reserved": {
    id: "B14-libxl-reserved",
    direction: "reference-valid",
    reason: "libxl header options bits 16-31 are reserved (spec bits 2-31); the reference's mask 0xfffc stops at bit 15 (B14).",
  },
  "xl-header": {
    id: "xl-header",
    direction: "reference-valid",
    reason:
      "xl's own reader rules for its header (byteorder 0x01020304, no unknown mandatory flags, config_len within the optional data), which verify-stream-v2 -f xl skips (reference-tool-bugs.md, leniency).",
  },
  "libxl-checkpoint-records": {
    id: "libxl-checkpoint-records",
    direction: "reference-valid",
    reason:
      "CHECKPOINT_END / CHECKPOINT_STATE outside a checkpoint, or a CHECKPOINT_STATE body other than 4 or 8 bytes / an unknown control_id: the spec places them inside checkpoints (libxl refuses them elsewhere); the reference checks only their lengths (disagreement 11).",
  },
  "p2m-start-after-end": {
    id: "p2m-start-after-end",
    direction: "reference-valid",
    reason:
      "X86_PV_P2M_FRAMES with p2m_start_pfn > p2m_end_pfn: the spec's frames cover start..end inclusive, and Xen's restore refuses it; the reference only prints the two numbers.",
  },
};

function hasBigEndianBit(bytes: Uint8Array): boolean {
  const text = (at: number, s: string): boolean => [...s].every((c, i) => bytes[at + i] === c.charCodeAt(0));
  const libxl = findIdent(bytes, (at) => text(at, "LibxlFmt"));
  if (libxl >= 0 && libxl + 16 <= bytes.length && ((bytes[libxl + 15] as number) & 1) !== 0) return true;
  const libxc = findIdent(bytes, (at) => bytes.subarray(at, at + 8).every((b) => b === 0xff) && text(at + 8, "XENF"));
  return libxc >= 0 && libxc + 24 <= bytes.length && ((bytes[libxc + 17] as number) & 1) !== 0;
}

function findIdent(bytes: Uint8Array, matches: (at: number) => boolean): number {
  const limit = Math.min(bytes.length - 8, 1 << 16);
  for (let at = 0; at <= limit; at++) if (matches(at)) return at;
  return -1;
}

function libxlHighReservedOnly(bytes: Uint8Array): boolean {
  const at = findIdent(bytes, (i) => [..."LibxlFmt"].every((c, k) => bytes[i + k] === c.charCodeAt(0)));
  if (at < 0 || at + 16 > bytes.length) return false;
  const options = new DataView(bytes.buffer, bytes.byteOffset + at + 12, 4).getUint32(0, false);
  return (options & 0xfffc) === 0 && (options & 0xffff0000) !== 0;
}

/** The class explaining one of our error findings when the reference said valid. */
function classifyError(finding: Finding, bytes: Uint8Array): string | undefined {
  switch (finding.code) {
    case "TRAILING_DATA":
      return "trailing-data";
    case "RECORD_TOO_LARGE":
      return "record-limit-option";
    case "RECORD_ORDER":
    case "MISSING_RECORD":
    case "DUPLICATE_RECORD":
    case "WRONG_GUEST_TYPE":
      return "layout";
    case "RESERVED_NONZERO":
      if (finding.layer === "libxl" && libxlHighReservedOnly(bytes) && /libxl options/.test(finding.message)) return "B14-libxl-reserved";
      break;
    default:
      break;
  }
  if (finding.layer === "xl") return "xl-header";
  if (finding.layer === "libxl" && /CHECKPOINT_(END|STATE)/.test(finding.message)) return "libxl-checkpoint-records";
  if (/p2m_start_pfn \d+ is above p2m_end_pfn/.test(finding.message)) return "p2m-start-after-end";
  return undefined;
}

function isCheckpointed(report: VerifyReport): boolean {
  const { libxc } = report.summary.records;
  return (libxc["CHECKPOINT"]?.count ?? 0) > 0 && (report.summary.format !== "libxc" || libxc["END"] === undefined);
}

/**
 * The known classes explaining a disagreement, or an empty list when it is
 * unexplained (a test failure).
 */
export function classifyDisagreement(bytes: Uint8Array, ours: VerifyReport, reference: ReferenceResult): string[] {
  const referenceValid = reference.status === 0;
  if (referenceValid === ours.ok) return [];
  if (hasBigEndianBit(bytes)) return ["B13-endianness"];
  if (isCheckpointed(ours)) return ["checkpointed"];
  if (ours.ok) {
    const codes = new Set(ours.findings.map((finding) => finding.code));
    if (codes.has("OPTIONAL_RECORD") && /Unrecognised record type (0x)?[89a-f][0-9a-f]{7}$/.test(reference.message)) return ["B5-optional-record"];
    if (/Data not NUL terminated/.test(reference.message) && ours.summary.records.libxl["EMULATOR_XENSTORE_DATA"] !== undefined) {
      return ["B2-xenstore-data"];
    }
    if (ours.summary.xl?.byteOrder === "big") return ["xl-big-endian"];
    return [];
  }
  const classes = new Set<string>();
  for (const finding of ours.findings) {
    if (finding.severity !== "error") continue;
    const id = classifyError(finding, bytes);
    if (id === undefined) return [];
    classes.add(id);
  }
  return [...classes];
}
