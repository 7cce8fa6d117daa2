/**
 * The spec's own rules that Xen's verify-stream-v2 never checks: record
 * order and presence, records valid for one guest type only, STATIC_DATA_END
 * (explicit in v3, inferred in v2), duplicates, CHECKPOINT_STATE, xenstore
 * key/value encoding and the xl header flags.
 *
 * Where every real Xen saver departs from the spec (HVM_CONTEXT written
 * before HVM_PARAMS) the finding is info, so a stream written by a real Xen
 * verifies with no errors.
 *
 * Sources: docs/specs/libxc-migration-stream.pandoc "Layout", "STATIC_DATA_END",
 * "v3 compat with v2"; docs/specs/libxl-migration-stream.pandoc
 * "EMULATOR_XENSTORE_DATA", "CHECKPOINT_STATE"; libxc-stream.md §7–§8.
 *
 * @module
 * @internal
 */
import type { LibxcRecord } from "../../libxc/types.js";
import { CheckpointStateId, CHECKPOINT_STATE_SIZE } from "../../libxl/constants.js";
import { isAllZero } from "../../wire/reader.js";
import { XlMandatoryFlag } from "../../xl/constants.js";
import { BOTH_ERROR, BOTH_INFO, bodyOffset, type Rule } from "../rule.js";
import type { VerifyState } from "../state.js";

const PV_ONLY = new Set<string>([
  "X86_PV_INFO",
  "X86_PV_P2M_FRAMES",
  "X86_PV_VCPU_BASIC",
  "X86_PV_VCPU_EXTENDED",
  "X86_PV_VCPU_XSAVE",
  "X86_PV_VCPU_MSRS",
  "SHARED_INFO",
]);
const HVM_ONLY = new Set<string>(["HVM_CONTEXT", "HVM_PARAMS"]);
const VCPU_TYPES = ["X86_PV_VCPU_BASIC", "X86_PV_VCPU_EXTENDED", "X86_PV_VCPU_XSAVE", "X86_PV_VCPU_MSRS"] as const;
const VCPU_SET = new Set<string>(VCPU_TYPES);

/** Memory content: must follow STATIC_DATA_END (C refuses it before, in v3). */
const MEMORY = new Set<string>(["PAGE_DATA", "X86_PV_P2M_FRAMES"]);
/** Register content: must follow STATIC_DATA_END too (spec). */
const REGISTERS = new Set<string>([...VCPU_TYPES, "SHARED_INFO", "X86_TSC_INFO", "HVM_CONTEXT", "HVM_PARAMS"]);
/** Static data: must precede STATIC_DATA_END. */
const STATIC = new Set<string>(["X86_PV_INFO", "X86_CPUID_POLICY", "X86_MSR_POLICY"]);

const ALL_LIBXC_TYPES = [
  "PAGE_DATA",
  "X86_PV_INFO",
  "X86_PV_P2M_FRAMES",
  ...VCPU_TYPES,
  "SHARED_INFO",
  "X86_TSC_INFO",
  "HVM_CONTEXT",
  "HVM_PARAMS",
  "X86_CPUID_POLICY",
  "X86_MSR_POLICY",
  "VERIFY",
  "CHECKPOINT",
].map((type) => `libxc:${type}`);

function libxcRecord(event: Parameters<NonNullable<Rule["check"]>>[0]): LibxcRecord | undefined {
  return event.layer === "libxc" && event.kind === "record" ? event.record : undefined;
}

/** libxc-stream.md §7.1: PV records in an HVM stream fail Xen's restore, and vice versa. */
const guestType: Rule = {
  name: "guest-type",
  code: "WRONG_GUEST_TYPE",
  severity: BOTH_ERROR,
  description: "records valid for one guest type only: X86_PV_* and SHARED_INFO in PV streams, HVM_CONTEXT and HVM_PARAMS in HVM streams (spec Layout; Xen's restore fails them as unhandled).",
  on: [...[...PV_ONLY, ...HVM_ONLY].map((type) => `libxc:${type}`)],
  check(event, state, context) {
    const record = libxcRecord(event);
    if (record === undefined || state.guest === undefined) return;
    if (state.guest === "hvm" && PV_ONLY.has(record.type)) context.report(`${record.type} is a PV record, in an x86 HVM stream`);
    if (state.guest === "pv" && HVM_ONLY.has(record.type)) context.report(`${record.type} is an HVM record, in an x86 PV stream`);
  },
};

/**
 * STATIC_DATA_END comes before any memory or register content. In v3 it is
 * explicit and mandatory (error); in v2 the reader infers it at the first
 * X86_PV_P2M_FRAMES or PAGE_DATA, so register content ahead of that point
 * only draws a warning (the v2 spec had no such rule).
 */
const staticDataEndFirst: Rule = {
  name: "static-data-end-before-content",
  code: "RECORD_ORDER",
  severity: BOTH_ERROR,
  description: "STATIC_DATA_END precedes memory and register content (v3: explicit; v2: inferred at the first X86_PV_P2M_FRAMES/PAGE_DATA).",
  on: ALL_LIBXC_TYPES,
  check(event, state, context) {
    const record = libxcRecord(event);
    if (record === undefined || state.staticDataEnd !== "none") return;
    const isMemory = MEMORY.has(record.type);
    if (!isMemory && !REGISTERS.has(record.type) && record.type !== "CHECKPOINT" && record.type !== "VERIFY") return;
    if (state.version >= 3) {
      if (state.once("sde-missing")) {
        context.report(`${record.type} before STATIC_DATA_END: a version 3 stream sends STATIC_DATA_END before memory and register content`, {
          code: "MISSING_RECORD",
        });
      }
    } else if (!isMemory && state.once("sde-v2-inferred")) {
      context.report(
        `${record.type} before the first ${state.guest === "pv" ? "X86_PV_P2M_FRAMES" : "PAGE_DATA"}, where a version 2 stream's STATIC_DATA_END is inferred`,
        { severity: "warning" },
      );
    }
  },
};

const staticAfterEnd: Rule = {
  name: "static-data-after-end",
  code: "RECORD_ORDER",
  severity: BOTH_ERROR,
  description: "X86_PV_INFO and the CPUID/MSR policy records are static data: they precede STATIC_DATA_END (Xen's restore silently ignores a policy sent later).",
  on: [...STATIC].map((type) => `libxc:${type}`),
  check(event, state, context) {
    const record = libxcRecord(event);
    if (record === undefined || state.staticDataEnd !== "explicit") return;
    context.report(`${record.type} after STATIC_DATA_END: static data must precede it`);
  },
};

/** Spec "Layout / x86 PV Guest": X86_PV_INFO, X86_PV_P2M_FRAMES, PAGE_DATA, then vCPU records. */
const pvOrder: Rule = {
  name: "pv-record-order",
  code: "RECORD_ORDER",
  severity: BOTH_ERROR,
  description: "PV streams: X86_PV_INFO, then X86_PV_P2M_FRAMES, then PAGE_DATA, then the vCPU records (spec Layout: each depends on the ones before).",
  on: ["libxc:X86_PV_P2M_FRAMES", "libxc:PAGE_DATA", ...VCPU_TYPES.map((type) => `libxc:${type}`)],
  check(event, state, context) {
    const record = libxcRecord(event);
    if (record === undefined || state.guest !== "pv") return;
    if (record.type === "X86_PV_P2M_FRAMES") {
      if (state.pvInfoCount === 0 && state.once("order-p2m")) context.report("X86_PV_P2M_FRAMES before X86_PV_INFO");
    } else if (record.type === "PAGE_DATA") {
      if (state.p2mCount === 0 && state.once("order-page-data")) context.report("PAGE_DATA before X86_PV_P2M_FRAMES");
      else if (state.epochVcpu && state.once(`order-page-after-vcpu-${state.checkpoints}`)) {
        context.report("PAGE_DATA after vCPU records (vCPU records follow the memory of their checkpoint)");
      }
    } else if (state.pageDataCount === 0 && state.once("order-vcpu")) {
      context.report(`${record.type} before any PAGE_DATA`);
    }
  },
};

/** Spec "x86 HVM Guest": HVM_PARAMS before HVM_CONTEXT; every Xen saver since 4.6 writes the opposite (disagreement 1). */
const hvmParamsOrder: Rule = {
  name: "hvm-params-before-context",
  code: "SAVER_ORDER",
  severity: BOTH_INFO,
  description: "HVM streams: the spec puts HVM_PARAMS before HVM_CONTEXT; real Xen savers write HVM_CONTEXT first and Xen's restore does not care (info).",
  on: ["libxc:HVM_PARAMS"],
  check(_event, state, context) {
    if (state.guest === "hvm" && state.epochHvmContext && state.once("hvm-params-order")) {
      context.report("HVM_PARAMS after HVM_CONTEXT: the spec asks for the opposite order, but every Xen saver writes this one");
    }
  },
};

/** X86_PV_INFO and STATIC_DATA_END appear once (spec Layout; Xen's restore fails a second one). */
const singleRecords: Rule = {
  name: "single-records",
  code: "DUPLICATE_RECORD",
  severity: BOTH_ERROR,
  description: "X86_PV_INFO and STATIC_DATA_END appear at most once per libxc stream, LIBXC_CONTEXT once per libxl stream (Xen's restore fails a second one).",
  on: ["libxc:X86_PV_INFO", "libxc:STATIC_DATA_END", "libxl:LIBXC_CONTEXT"],
  check(event, state, context) {
    if (event.kind !== "record") return;
    const type = event.record.type;
    const seen =
      type === "X86_PV_INFO" ? state.pvInfoCount : type === "STATIC_DATA_END" ? state.staticDataEndCount : state.libxcContexts;
    if (seen > 0) context.report(`second ${type} record`);
  },
};

/** Records sent once per checkpoint; a repeat replaces the earlier one in Xen's restore (disagreement 19). */
const repeatedRecords: Rule = {
  name: "repeated-records",
  code: "DUPLICATE_RECORD",
  severity: BOTH_INFO,
  description: "SHARED_INFO, X86_TSC_INFO, HVM_CONTEXT and a vCPU's records repeated within one checkpoint: Xen's restore keeps the later one (info).",
  on: ["libxc:SHARED_INFO", "libxc:X86_TSC_INFO", "libxc:HVM_CONTEXT", ...VCPU_TYPES.map((type) => `libxc:${type}`)],
  check(event, state, context) {
    const record = libxcRecord(event);
    if (record === undefined) return;
    let repeated = false;
    if (record.type === "SHARED_INFO") repeated = state.epochSharedInfo;
    else if (record.type === "X86_TSC_INFO") repeated = state.epochTscInfo;
    else if (record.type === "HVM_CONTEXT") repeated = state.epochHvmContext;
    else if (VCPU_SET.has(record.type) && "vcpuId" in record) repeated = state.epochVcpuKeys.has(`${record.type}/${record.vcpuId}`);
    if (repeated) context.report(`repeated ${record.type}${"vcpuId" in record ? ` for vcpu ${record.vcpuId}` : ""}: Xen's restore keeps the later one`);
  },
};

/** Presence: what a complete libxc stream of each guest type must contain. */
const presence: Rule = {
  name: "record-presence",
  code: "MISSING_RECORD",
  severity: BOTH_ERROR,
  description: "PV streams contain X86_PV_INFO, X86_PV_P2M_FRAMES, PAGE_DATA and X86_PV_VCPU_BASIC; v3 streams STATIC_DATA_END; HVM streams PAGE_DATA and HVM_CONTEXT (warning; error in restore); a libxl stream a LIBXC_CONTEXT.",
  finish(state, context) {
    if (state.libxlHeader !== undefined && state.libxcContexts === 0) {
      context.report("libxl stream without a LIBXC_CONTEXT record (no domain memory or state)", { layer: "libxl" });
    }
    if (state.domainHeader === undefined) return;
    if (state.version >= 3 && state.staticDataEndCount === 0 && !state.reported.has("sde-missing")) {
      context.report("version 3 stream without STATIC_DATA_END", { layer: "libxc" });
    }
    if (state.guest === "pv") {
      const missing = missingPv(state);
      for (const type of missing) context.report(`PV stream without ${type}`, { layer: "libxc" });
    } else {
      if (state.pageDataCount === 0) context.report("HVM stream without PAGE_DATA", { severity: "warning", layer: "libxc" });
      if (state.hvmContextCount === 0) {
        context.report("HVM stream without HVM_CONTEXT (Xen's restore cannot load the vCPU state)", {
          severity: state.profile === "restore" ? "error" : "warning",
          layer: "libxc",
        });
      }
    }
  },
};

function missingPv(state: VerifyState): string[] {
  const missing: string[] = [];
  if (state.pvInfoCount === 0) missing.push("X86_PV_INFO");
  if (state.p2mCount === 0) missing.push("X86_PV_P2M_FRAMES");
  if (state.pageDataCount === 0) missing.push("PAGE_DATA");
  if (state.libxcTotals["X86_PV_VCPU_BASIC"] === undefined) missing.push("X86_PV_VCPU_BASIC");
  return missing;
}

/** Checkpointed streams (disagreement 17): followed here; plain restore refuses them. */
const checkpointed: Rule = {
  name: "checkpointed-stream",
  code: "CHECKPOINTED_STREAM",
  severity: { spec: "info", restore: "warning" },
  description: "a CHECKPOINT makes the stream a checkpointed (Remus/COLO) one: only a checkpointed restore accepts it (xl migrate-receive -r / --colo).",
  on: ["libxc:CHECKPOINT"],
  check(_event, state, context) {
    if (state.once("checkpointed")) {
      context.report("checkpointed (Remus/COLO) stream: plain `xl restore` refuses it (\"Found checkpoint in non-checkpointed stream\")");
    }
  },
};

/** VERIFY (disagreement 14): the pages after it are compared, not loaded; mismatches are only logged. */
const verifyRecord: Rule = {
  name: "verify-record",
  code: "VERIFY_RECORD",
  severity: BOTH_INFO,
  description: "VERIFY: the PAGE_DATA after it are compared with memory already sent; Xen's restore only logs mismatches.",
  on: ["libxc:VERIFY"],
  check(_event, state, context) {
    if (state.once("verify")) context.report("VERIFY record: the following PAGE_DATA are a debug re-send, compared rather than loaded");
  },
};

/**
 * CHECKPOINT_STATE (disagreement 11): libxl writes body_length 4, the spec
 * diagram shows 8 (id + padding); both are accepted, anything else is not.
 * The forward stream only carries CHECKPOINT_NEW (0).
 */
const checkpointState: Rule = {
  name: "checkpoint-state",
  code: "BAD_FIELD",
  severity: BOTH_ERROR,
  description: "CHECKPOINT_STATE: body_length 4 (libxl) or 8 (spec diagram, zero-filled), control_id 0-3, and CHECKPOINT_NEW in a forward stream (warning; error in restore).",
  on: ["libxl:CHECKPOINT_STATE"],
  check(event, state, context) {
    if (event.kind !== "record" || event.record.type !== "CHECKPOINT_STATE") return;
    const { controlId, extra } = event.record;
    if (extra !== undefined) {
      if (extra.length !== CHECKPOINT_STATE_SIZE) {
        context.report(`CHECKPOINT_STATE body must be 4 or 8 bytes, got ${event.bodyLength}`, { code: "BAD_SIZE", offset: event.offset + 4 });
      } else if (!isAllZero(extra)) {
        context.report("CHECKPOINT_STATE bytes 4-7 are not zero", { code: "RESERVED_NONZERO", offset: bodyOffset(event) + 4 });
      }
    }
    if (controlId > CheckpointStateId.CHECKPOINT_SVM_RESUMED) {
      context.report(`unknown CHECKPOINT_STATE control_id ${controlId}`, { offset: bodyOffset(event) });
    } else if (controlId !== CheckpointStateId.CHECKPOINT_NEW) {
      context.report(`CHECKPOINT_STATE control_id ${controlId} is a back-channel (secondary to primary) message, not a forward-stream one`, {
        offset: bodyOffset(event),
        severity: state.profile === "restore" ? "error" : "warning",
      });
    }
  },
};

/** Xenstore key characters (libxl spec: "keys strictly as alphanumeric ASCII and -/_@"). */
function isKeyByte(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2d ||
    byte === 0x2f ||
    byte === 0x5f ||
    byte === 0x40
  );
}

function printable(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length && i < 64; i++) {
    const byte = bytes[i] as number;
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return bytes.length > 64 ? `${text}...` : text;
}

/** EMULATOR_XENSTORE_DATA key/value encoding (libxl spec; libxl__restore_emulator_xenstore_data()). */
const xenstoreData: Rule = {
  name: "xenstore-data",
  code: "XENSTORE_KEY",
  severity: BOTH_ERROR,
  description: "EMULATOR_XENSTORE_DATA: keys non-empty, relative, alphanumeric ASCII and -/_@ (error); values printable ASCII (warning). NUL termination is checked by the decoder.",
  on: ["libxl:EMULATOR_XENSTORE_DATA"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "EMULATOR_XENSTORE_DATA") return;
    let pos = bodyOffset(event) + 8;
    for (const [key, value] of event.record.entries) {
      if (key.length === 0) context.report("empty xenstore key", { offset: pos });
      else if (key[0] === 0x2f) context.report(`xenstore key "${printable(key)}" is absolute; keys are relative`, { offset: pos });
      else {
        const bad = key.findIndex((byte) => !isKeyByte(byte));
        if (bad >= 0) context.report(`xenstore key "${printable(key)}" has a character outside [A-Za-z0-9-/_@]`, { offset: pos + bad });
      }
      const valuePos = pos + key.length + 1;
      const badValue = value.findIndex((byte) => byte < 0x20 || byte > 0x7e);
      if (badValue >= 0) {
        context.report(`xenstore value "${printable(value)}" is not printable ASCII`, {
          code: "XENSTORE_VALUE",
          severity: "warning",
          offset: valuePos + badValue,
        });
      }
      pos = valuePos + value.length + 1;
    }
  },
};

/** Emulator records belong to HVM guests (libxl: "Received an emulator ... record when none was expected"). */
const emulatorGuest: Rule = {
  name: "emulator-guest-type",
  code: "WRONG_GUEST_TYPE",
  severity: { spec: "warning", restore: "error" },
  description: "EMULATOR_XENSTORE_DATA and EMULATOR_CONTEXT belong to HVM guests with a device model; libxl refuses them for PV and PVH guests.",
  on: ["libxl:EMULATOR_XENSTORE_DATA", "libxl:EMULATOR_CONTEXT"],
  check(event, state, context) {
    if (event.kind !== "record") return;
    const xlType = state.xlGuestType;
    if (state.guest === "pv" || xlType === "pv") context.report(`${event.record.type} for a PV guest (no device model)`);
    else if (xlType === "pvh") context.report(`${event.record.type} for a PVH guest (no device model)`);
  },
};

/** xl header (xl-header.md §1): flags and the stored configuration. */
const xlHeader: Rule = {
  name: "xl-header",
  code: "XL_HEADER",
  severity: { spec: "warning", restore: "error" },
  description: "xl header: STREAMv2 set for a v2 stream (else xl runs the legacy converter; error in restore), no optional flags, a JSON config that parses, native (little-endian) byte order.",
  on: ["xl:header"],
  check(event, _state, context) {
    if (event.layer !== "xl") return;
    const { header } = event;
    if (header.byteOrder === "big") {
      context.report("big-endian xl header: xl on x86 refuses it (\"File has wrong byte order\")", { code: "BIG_ENDIAN", offset: 32 });
    }
    if ((header.mandatoryFlags & XlMandatoryFlag.STREAMV2) === 0) {
      context.report("xl header without the STREAMv2 flag: xl would treat the stream as legacy and run the converter on it", {
        offset: 36,
      });
    }
    if (header.optionalFlags !== 0) {
      context.report(`xl optional_flags 0x${header.optionalFlags.toString(16)}: none are defined (xl ignores them)`, {
        offset: 40,
        severity: "warning",
      });
    }
  },
};

/** A JSON config that does not parse (checked after the state read it). */
const xlConfig: Rule = {
  name: "xl-config",
  code: "XL_HEADER",
  severity: { spec: "warning", restore: "warning" },
  description: "xl header with the JSON flag: the stored config parses as JSON (else xl restore needs a config file).",
  finish(state, context) {
    const xl = state.xl;
    if (xl === undefined || (xl.mandatoryFlags & XlMandatoryFlag.JSON) === 0) return;
    if (xl.config === undefined || xl.config.length === 0) context.report("xl JSON flag set but no config stored", { offset: 48, layer: "xl" });
    else if (!state.xlConfigParsed) context.report("xl stored config does not parse as JSON", { offset: 52, layer: "xl" });
  },
};

/** The spec rules. @internal */
export const layoutRules: readonly Rule[] = [
  guestType,
  staticDataEndFirst,
  staticAfterEnd,
  pvOrder,
  hvmParamsOrder,
  singleRecords,
  repeatedRecords,
  presence,
  checkpointed,
  verifyRecord,
  checkpointState,
  xenstoreData,
  emulatorGuest,
  xlHeader,
  xlConfig,
];
