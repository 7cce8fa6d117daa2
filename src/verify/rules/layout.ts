/**
 * The libxc layout rules of the spec that Xen's verify-stream-v2 never
 * checks: record order and presence, records valid for one guest type
 * only, STATIC_DATA_END (explicit in v3, inferred in v2), duplicates. The
 * record classes they use are the placement facts of the libxc registry
 * (src/libxc/codec.ts). The libxl rules are in libxl.ts, the xl header's
 * in xl.ts.
 *
 * Where every real Xen saver departs from the spec (HVM_CONTEXT written
 * before HVM_PARAMS) the finding is info, so a stream written by a real Xen
 * verifies with no errors.
 *
 * Sources: docs/specs/libxc-migration-stream.pandoc "Layout", "STATIC_DATA_END",
 * "v3 compat with v2"; libxc-stream.md §7–§8.
 *
 * @module
 * @internal
 */
import { libxcNamesWhere } from "../../libxc/codec.js";
import type { LibxcRecord } from "../../libxc/types.js";
import { BOTH_ERROR, BOTH_INFO, VCPU_RECORD_KEYS, libxcKeysWhere, libxlKeysWhere, type Rule } from "../rule.js";
import type { VerifyState } from "../state.js";

// Every class below comes from the placement facts of the libxc registry.

/** Records of PV streams only. */
const PV_ONLY = libxcNamesWhere((at) => !at.guests.includes("hvm"));
/** Records of HVM streams only. */
const HVM_ONLY = libxcNamesWhere((at) => !at.guests.includes("pv"));
/** The PV vCPU records. */
const VCPU_SET = libxcNamesWhere((at) => at.perVcpu === true);
/** Memory content: must follow STATIC_DATA_END (C refuses it before, in v3). */
const MEMORY = libxcNamesWhere((at) => at.phase === "memory");
/** Register content: must follow STATIC_DATA_END too (spec). */
const REGISTERS = libxcNamesWhere((at) => at.phase === "registers");
/** Static data: must precede STATIC_DATA_END. */
const STATIC = libxcNamesWhere((at) => at.phase === "static");
/** Records after STATIC_DATA_END that are neither memory nor registers (VERIFY, CHECKPOINT). */
const AFTER_STATIC = libxcNamesWhere((at) => at.phase === "afterStatic");
/** Every record with a position rule. */
const POSITIONED = libxcKeysWhere((at) => at.phase !== "any");

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
  on: POSITIONED,
  check(event, state, context) {
    const record = libxcRecord(event);
    if (record === undefined || state.staticDataEnd !== "none") return;
    const isMemory = MEMORY.has(record.type);
    if (!isMemory && !REGISTERS.has(record.type) && !AFTER_STATIC.has(record.type)) return;
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
  on: ["libxc:X86_PV_P2M_FRAMES", "libxc:PAGE_DATA", ...VCPU_RECORD_KEYS],
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
  on: [...libxcKeysWhere((at) => at.once === true), ...libxlKeysWhere((at) => at.once === true)],
  check(event, state, context) {
    if (event.kind !== "record") return;
    const type = event.record.type;
    const totals = event.layer === "libxc" ? state.libxcTotals : state.libxlTotals;
    if ((totals[type]?.count ?? 0) > 0) context.report(`second ${type} record`);
  },
};

/** Records sent once per checkpoint; a repeat replaces the earlier one in Xen's restore (disagreement 19). */
const repeatedRecords: Rule = {
  name: "repeated-records",
  code: "DUPLICATE_RECORD",
  severity: BOTH_INFO,
  description: "SHARED_INFO, X86_TSC_INFO, HVM_CONTEXT and a vCPU's records repeated within one checkpoint: Xen's restore keeps the later one (info).",
  on: ["libxc:SHARED_INFO", "libxc:X86_TSC_INFO", "libxc:HVM_CONTEXT", ...VCPU_RECORD_KEYS],
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

/** The libxc layout rules. @internal */
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
];
