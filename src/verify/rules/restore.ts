/**
 * What Xen's C restore code enforces beyond the spec (profile `restore`):
 * libxenguest xg_sr_restore*.c, libxl_stream_read.c (hvm_load() and the
 * other checks on record insides are in contents.ts). Together
 * with the spec rules they answer "will `xl restore` accept this?" as far
 * as the stream alone can tell (the target domain's size, vCPU limit from
 * the stored config, and Xen's acceptance of each value are outside it).
 *
 * @module
 * @internal
 */
import { p2mFrameCount as frameCount, pfnEntries } from "../entries.js";
import { VCPU_CONTEXT_SIZE_32, VCPU_CONTEXT_SIZE_64 } from "../../libxc/constants.js";
import { REC_LENGTH_MAX } from "../../wire/frame.js";
import { RESTORE_ERROR, VCPU_RECORD_KEYS, bodyOffset, type Rule } from "../rule.js";

/** Largest EXTENDED blob (xen_domctl_ext_vcpucontext). */
const VCPU_EXTENDED_MAX = 128;
/** Smallest XSAVE blob (xcr0 + xcr0_accum). */
const VCPU_XSAVE_MIN = 16;
/** xen_domctl_vcpu_msr_t. */
const VCPU_MSR_SIZE = 16;

/** handle_x86_pv_info(): only (4,3) and (8,4). */
const pvInfoCombination: Rule = {
  name: "restore-pv-info-combination",
  code: "BAD_FIELD",
  severity: RESTORE_ERROR,
  description: "X86_PV_INFO: only (width 4, levels 3) and (width 8, levels 4) (handle_x86_pv_info()).",
  on: ["libxc:X86_PV_INFO"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "X86_PV_INFO") return;
    const { guestWidth, ptLevels } = event.record;
    const valid = (guestWidth === 4 && ptLevels === 3) || (guestWidth === 8 && ptLevels === 4);
    const eachValid = (guestWidth === 4 || guestWidth === 8) && (ptLevels === 3 || ptLevels === 4);
    if (!valid && eachValid) {
      context.report(`invalid X86_PV_INFO combination: width ${guestWidth}, pt_levels ${ptLevels} (Xen accepts 4/3 and 8/4)`, {
        offset: bodyOffset(event),
      });
    }
  },
};

/** handle_shared_info(): "Not yet received X86_PV_INFO record". */
const sharedInfoAfterPvInfo: Rule = {
  name: "restore-shared-info-after-pv-info",
  code: "RECORD_ORDER",
  severity: RESTORE_ERROR,
  description: "SHARED_INFO after X86_PV_INFO (handle_shared_info()).",
  on: ["libxc:SHARED_INFO"],
  check(_event, state, context) {
    if (state.guest === "pv" && state.pvInfoCount === 0) context.report("SHARED_INFO before X86_PV_INFO");
  },
};

/** handle_x86_pv_p2m_frames(): exact frame count for start..end. */
const p2mFrameCount: Rule = {
  name: "restore-p2m-frame-count",
  code: "BAD_SIZE",
  severity: RESTORE_ERROR,
  description: "X86_PV_P2M_FRAMES: exactly floor(end/fpp) - floor(start/fpp) + 1 frames, fpp = 4096 / guest width (handle_x86_pv_p2m_frames()).",
  on: ["libxc:X86_PV_P2M_FRAMES"],
  check(event, state, context) {
    if (event.kind !== "record" || event.record.type !== "X86_PV_P2M_FRAMES" || state.pvInfo === undefined) return;
    const { startPfn, endPfn } = event.record;
    const frames = frameCount(event.record);
    const width = state.pvInfo.guestWidth;
    if (width !== 4 && width !== 8) return;
    const perFrame = state.pageSize / width;
    const expected = Math.floor(endPfn / perFrame) - Math.floor(startPfn / perFrame) + 1;
    if (frames !== expected) {
      context.report(`X86_PV_P2M_FRAMES for pfns ${startPfn}..${endPfn} needs ${expected} frames, got ${frames}`, {
        offset: event.offset + 4,
      });
    }
  },
};

/** x86_pv_pfn_is_valid(): pfn <= max_pfn. */
const pfnRange: Rule = {
  name: "restore-pfn-range",
  code: "BAD_FIELD",
  severity: RESTORE_ERROR,
  description: "PV PAGE_DATA: every pfn <= the highest X86_PV_P2M_FRAMES end pfn (x86_pv_pfn_is_valid()).",
  on: ["libxc:PAGE_DATA"],
  check(event, state, context) {
    if (event.kind !== "record" || event.record.type !== "PAGE_DATA" || state.guest !== "pv" || state.p2mMaxPfn === undefined) return;
    const max = state.p2mMaxPfn;
    const entries = pfnEntries(event.record);
    for (let i = 0; i < entries.count; i++) {
      const pfn = entries.pfn(i);
      if (pfn > max) {
        context.report(`pfn[${i}] ${pfn} outside the domain maximum ${max}`, { offset: bodyOffset(event) + 8 + 8 * i });
        return;
      }
    }
  },
};

/** handle_x86_pv_vcpu_blob(): blob sizes and the vcpu_id range. */
const vcpuBlob: Rule = {
  name: "restore-vcpu-blob",
  code: "BAD_SIZE",
  severity: RESTORE_ERROR,
  description: "PV vCPU blobs: BASIC exactly 2800/5168 bytes for the guest width, EXTENDED <= 128, XSAVE >= 16, MSRS a multiple of 16; vcpu_id below the config's max_vcpus (handle_x86_pv_vcpu_blob()).",
  on: VCPU_RECORD_KEYS,
  check(event, state, context) {
    if (event.kind !== "record" || event.layer !== "libxc") return;
    const record = event.record;
    if (!("vcpuId" in record)) return;
    const size = record.context.length;
    if (size === 0) return; // skipped before any other check
    if (state.xlMaxVcpus !== undefined && record.vcpuId >= state.xlMaxVcpus) {
      context.report(`${record.type} vcpu_id ${record.vcpuId} exceeds the configured max_vcpus ${state.xlMaxVcpus}`, {
        code: "BAD_FIELD",
        offset: bodyOffset(event),
      });
    }
    let problem: string | undefined;
    switch (record.type) {
      case "X86_PV_VCPU_BASIC": {
        const expected = state.pvWidth === 4 ? VCPU_CONTEXT_SIZE_32 : VCPU_CONTEXT_SIZE_64;
        if (size !== expected) problem = `must be ${expected} bytes for a ${state.pvWidth * 8}-bit guest`;
        break;
      }
      case "X86_PV_VCPU_EXTENDED":
        if (size > VCPU_EXTENDED_MAX) problem = `must be at most ${VCPU_EXTENDED_MAX} bytes`;
        break;
      case "X86_PV_VCPU_XSAVE":
        if (size < VCPU_XSAVE_MIN) problem = `must be at least ${VCPU_XSAVE_MIN} bytes`;
        break;
      case "X86_PV_VCPU_MSRS":
        if (size % VCPU_MSR_SIZE !== 0) problem = `must be a multiple of ${VCPU_MSR_SIZE} bytes`;
        break;
    }
    if (problem !== undefined) {
      context.report(`${record.type} blob for vcpu ${record.vcpuId} is ${size} bytes; it ${problem}`, { offset: event.offset + 4 });
    }
  },
};

/** x86_pv_stream_complete() → update_vcpu_context(): "Sender didn't send vcpu0's basic state". */
const vcpu0Basic: Rule = {
  name: "restore-vcpu0-basic",
  code: "MISSING_RECORD",
  severity: RESTORE_ERROR,
  description: "PV streams carry a non-empty X86_PV_VCPU_BASIC for vCPU 0 (update_vcpu_context()).",
  finish(state, context) {
    if (state.guest === "pv" && state.vcpuRecordCount > 0 && !state.vcpuBasicIds.has(0)) {
      context.report("no X86_PV_VCPU_BASIC with content for vcpu 0", { layer: "libxc" });
    }
  },
};

/** handle_static_data_end(): "Multiple STATIC_DATA_END records found" — also against an inferred one. */
const inferredThenExplicit: Rule = {
  name: "restore-static-data-end-inferred",
  code: "DUPLICATE_RECORD",
  severity: RESTORE_ERROR,
  description: "v2 streams: an explicit STATIC_DATA_END after the inferred one is a second STATIC_DATA_END (handle_static_data_end()).",
  on: ["libxc:STATIC_DATA_END"],
  check(_event, state, context) {
    if (state.staticDataEnd === "inferred") context.report("STATIC_DATA_END after the one inferred at the first X86_PV_P2M_FRAMES/PAGE_DATA");
  },
};

/** read_record(): REC_LENGTH_MAX, reachable only when maxRecordLength was raised. */
const recordLengthMax: Rule = {
  name: "restore-record-length-max",
  code: "BAD_SIZE",
  severity: RESTORE_ERROR,
  description: "libxc records: body_length <= 128 MiB (REC_LENGTH_MAX, read_record()); libxl has no limit.",
  on: ["libxc:record"],
  check(event, _state, context) {
    if (event.kind === "record" && event.bodyLength > REC_LENGTH_MAX) {
      context.report(`libxc record body of ${event.bodyLength} bytes exceeds REC_LENGTH_MAX (${REC_LENGTH_MAX})`, { offset: event.offset + 4 });
    }
  },
};

/** tsc_set_info(): modes 0-2; mode 3 (PVRDTSCP) refused since Xen 4.12. */
const tscMode: Rule = {
  name: "restore-tsc-mode",
  code: "BAD_FIELD",
  severity: RESTORE_ERROR,
  description: "X86_TSC_INFO mode is 0, 1 or 2 (Xen refuses others; mode 3 since 4.12).",
  on: ["libxc:X86_TSC_INFO"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "X86_TSC_INFO") return;
    if (event.record.mode > 2) context.report(`TSC mode ${event.record.mode}: Xen accepts 0, 1 and 2`, { offset: bodyOffset(event) });
  },
};

/** The restore-profile rules. @internal */
export const restoreRules: readonly Rule[] = [
  pvInfoCombination,
  sharedInfoAfterPvInfo,
  p2mFrameCount,
  pfnRange,
  vcpuBlob,
  vcpu0Basic,
  inferredThenExplicit,
  recordLengthMax,
  tscMode,
];
