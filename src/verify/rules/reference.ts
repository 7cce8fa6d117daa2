/**
 * The checks Xen's verify-stream-v2 makes (tools/python/xen/migration/
 * libxc.py, libxl.py) that the tolerant decoder does not: reserved fields,
 * padding, exact sizes, field ranges. The decoder already fails on what
 * both the verifier and Xen's restore refuse (framing, counts, page types,
 * unknown mandatory records).
 *
 * Where the reference is wrong (reference-tool-bugs.md), the spec decides:
 * the libxl reserved-bit mask covers bits 2–31 (B14), the endianness bit is
 * honoured (B13), optional records are allowed (B5), TOOLSTACK is an
 * invalid stream rather than a script error (B6).
 *
 * @module
 * @internal
 */
import { forEachMsrFlags, hvmParamCount, pfnEntries } from "../entries.js";
import { IHDR_OPT_BIG_ENDIAN, IHDR_OPT_RESERVED_MASK } from "../../libxc/constants.js";
import { EmulatorId, LIBXL_OPT_BIG_ENDIAN, LIBXL_OPT_RESERVED_MASK } from "../../libxl/constants.js";
import { hex32 } from "../../wire/frame.js";
import { isAllZero } from "../../wire/reader.js";
import { BOTH_ERROR, BOTH_WARNING, EMULATOR_RECORD_KEYS, VCPU_RECORD_KEYS, bodyOffset, libxcKeysWhere, type Rule } from "../rule.js";

const hex = (value: number, width = 0): string => `0x${value.toString(16).padStart(width, "0")}`;

/** Reserved bits of the image header options and the two reserved fields (verify_ihdr). */
const imageHeaderReserved: Rule = {
  name: "libxc-image-header-reserved",
  code: "RESERVED_NONZERO",
  severity: BOTH_ERROR,
  description: "libxc image header: options bits 1-15 and the reserved fields _res1/_res2 are zero (spec: zero on save; verify-stream-v2 refuses them).",
  on: ["libxc:imageHeader"],
  check(event, _state, context) {
    if (event.layer !== "libxc" || event.kind !== "imageHeader") return;
    const { options, reserved1 = 0, reserved2 = 0 } = event.header;
    if ((options & IHDR_OPT_RESERVED_MASK) !== 0) {
      context.report(`reserved bits set in image options field: ${hex(options & IHDR_OPT_RESERVED_MASK, 4)}`, {
        offset: event.offset + 16,
      });
    }
    if (reserved1 !== 0) context.report(`image header _res1 is ${hex(reserved1, 4)}, expected 0`, { offset: event.offset + 18 });
    if (reserved2 !== 0) context.report(`image header _res2 is ${hex(reserved2, 8)}, expected 0`, { offset: event.offset + 20 });
  },
};

/**
 * Big-endian streams: the spec allows them; no Xen restores them (libxc and
 * libxl refuse); verify-stream-v2 means to refuse them but its test masks
 * with 0 and never fires (B13).
 */
const libxcBigEndian: Rule = {
  name: "libxc-big-endian",
  code: "BIG_ENDIAN",
  severity: { spec: "warning", restore: "error" },
  description: "libxc image header big-endian option: allowed by the spec, refused by Xen's restore (\"Unable to handle big endian streams\").",
  on: ["libxc:imageHeader"],
  check(event, _state, context) {
    if (event.layer !== "libxc" || event.kind !== "imageHeader") return;
    if ((event.header.options & IHDR_OPT_BIG_ENDIAN) !== 0) {
      context.report("big-endian libxc stream: the spec allows it, but Xen's restore refuses it", { offset: event.offset + 16 });
    }
  },
};

const domainHeaderReserved: Rule = {
  name: "libxc-domain-header-reserved",
  code: "RESERVED_NONZERO",
  severity: BOTH_ERROR,
  description: "libxc domain header: the reserved u16 is zero (verify_dhdr).",
  on: ["libxc:domainHeader"],
  check(event, _state, context) {
    if (event.layer !== "libxc" || event.kind !== "domainHeader") return;
    const reserved = event.header.reserved ?? 0;
    if (reserved !== 0) context.report(`reserved bits set in domain header: ${hex(reserved, 4)}`, { offset: event.offset + 6 });
  },
};

const pageShift: Rule = {
  name: "page-shift",
  code: "BAD_PAGE_SHIFT",
  severity: BOTH_ERROR,
  description: "libxc domain header: page_shift is 12 (x86; verify_dhdr, x86_pv_setup()/x86_hvm_setup()).",
  on: ["libxc:domainHeader"],
  check(event, _state, context) {
    if (event.layer !== "libxc" || event.kind !== "domainHeader") return;
    if (event.header.pageShift !== 12) {
      context.report(`page_shift must be 12 on x86, got ${event.header.pageShift}`, { offset: event.offset + 4 });
    }
  },
};

/** Non-zero padding, in either layer (verify_record: "Padding containing non0 bytes found"). */
const padding: Rule = {
  name: "padding",
  code: "PADDING_NONZERO",
  severity: BOTH_ERROR,
  description: "record padding is zero (spec: zero on save; verify-stream-v2 refuses non-zero padding; Xen's restore never reads it).",
  on: ["libxc:record", "libxl:record"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.padding === undefined) return;
    context.report(`padding containing non-zero bytes after a ${event.bodyLength}-byte body`, {
      offset: bodyOffset(event) + event.bodyLength,
    });
  },
};

/** Signalling records carry no body (spec; verifier). Xen's restore ignores one. */
const signalBody: Rule = {
  name: "signal-record-body",
  code: "BAD_SIZE",
  severity: BOTH_ERROR,
  description: "END, VERIFY, CHECKPOINT, STATIC_DATA_END (libxc) and END, LIBXC_CONTEXT, CHECKPOINT_END (libxl) have body_length 0 (spec; verifier; Xen's restore accepts and ignores a body).",
  on: [
    "libxc:END",
    "libxc:VERIFY",
    "libxc:CHECKPOINT",
    "libxc:STATIC_DATA_END",
    "libxl:END",
    "libxl:LIBXC_CONTEXT",
    "libxl:CHECKPOINT_END",
  ],
  check(event, _state, context) {
    if (event.kind !== "record" || event.bodyLength === 0) return;
    context.report(`${event.layer} ${event.record.type} record with non-zero length ${event.bodyLength}`, { offset: event.offset + 4 });
  },
};

const pageDataReserved: Rule = {
  name: "page-data-reserved",
  code: "RESERVED_NONZERO",
  severity: BOTH_ERROR,
  description: "PAGE_DATA: the reserved u32 and pfn bits 52-59 are zero (verify_record_page_data).",
  on: ["libxc:PAGE_DATA"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "PAGE_DATA") return;
    const { reserved = 0 } = event.record;
    const entries = pfnEntries(event.record);
    const body = bodyOffset(event);
    if (reserved !== 0) context.report(`reserved bits set in PAGE_DATA record: ${hex(reserved, 8)}`, { offset: body + 4 });
    for (let i = 0; i < entries.count; i++) {
      const entryReserved = entries.reserved(i);
      if (entryReserved !== 0) {
        context.report(`reserved bits 52-59 set in pfn[${i}]: ${hex(entryReserved, 2)}`, { offset: body + 8 + 8 * i });
        return;
      }
    }
  },
};

const pvInfo: Rule = {
  name: "x86-pv-info",
  code: "BAD_FIELD",
  severity: BOTH_ERROR,
  description: "X86_PV_INFO: exactly 8 bytes, guest_width 4 or 8, pt_levels 3 or 4, reserved bytes zero (spec; verify_record_x86_pv_info).",
  on: ["libxc:X86_PV_INFO"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "X86_PV_INFO") return;
    const { guestWidth, ptLevels, reserved, extra } = event.record;
    const body = bodyOffset(event);
    if (extra !== undefined) {
      context.report(`X86_PV_INFO body must be 8 bytes, got ${event.bodyLength}`, { code: "BAD_SIZE", offset: event.offset + 4 });
    }
    if (guestWidth !== 4 && guestWidth !== 8) context.report(`expected guest_width 4 or 8, got ${guestWidth}`, { offset: body });
    if (ptLevels !== 3 && ptLevels !== 4) context.report(`expected pt_levels 3 or 4, got ${ptLevels}`, { offset: body + 1 });
    if (reserved !== undefined && !isAllZero(reserved)) {
      context.report("reserved bytes set in X86_PV_INFO", { code: "RESERVED_NONZERO", offset: body + 2 });
    }
  },
};

const vcpuReserved: Rule = {
  name: "x86-pv-vcpu-reserved",
  code: "RESERVED_NONZERO",
  severity: BOTH_ERROR,
  description: "X86_PV_VCPU_*: the reserved u32 after vcpu_id is zero (verify_record_x86_pv_vcpu_generic).",
  on: VCPU_RECORD_KEYS,
  check(event, _state, context) {
    if (event.kind !== "record" || event.layer !== "libxc") return;
    const record = event.record;
    if (!("vcpuId" in record)) return;
    const reserved = record.reserved ?? 0;
    if (reserved !== 0) context.report(`reserved bits set in ${record.type} record: ${hex(reserved, 8)}`, { offset: bodyOffset(event) + 4 });
  },
};

/**
 * Zero-content records (spec erratum 1: tolerate; verifier: warning; C:
 * skipped — all four vCPU kinds and HVM_PARAMS count 0).
 */
const zeroContent: Rule = {
  name: "zero-content",
  code: "ZERO_CONTENT",
  severity: BOTH_WARNING,
  description: "X86_PV_VCPU_* with no blob and HVM_PARAMS with count 0: tolerated (spec erratum 1), warned by verify-stream-v2, skipped by Xen's restore.",
  on: [...VCPU_RECORD_KEYS, "libxc:HVM_PARAMS"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.layer !== "libxc") return;
    const record = event.record;
    if (record.type === "HVM_PARAMS") {
      if (hvmParamCount(record) === 0) context.report("HVM_PARAMS record with zero content (skipped by Xen's restore)");
    } else if ("vcpuId" in record && record.context.length === 0) {
      context.report(`${record.type} record for vcpu ${record.vcpuId} with zero content (skipped by Xen's restore)`);
    }
  },
};

const tscReserved: Rule = {
  name: "x86-tsc-info-reserved",
  code: "RESERVED_NONZERO",
  severity: BOTH_ERROR,
  description: "X86_TSC_INFO: the reserved u32 is zero (verify_record_tsc_info).",
  on: ["libxc:X86_TSC_INFO"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "X86_TSC_INFO") return;
    const reserved = event.record.reserved ?? 0;
    if (reserved !== 0) context.report(`reserved bits set in X86_TSC_INFO: ${hex(reserved, 8)}`, { offset: bodyOffset(event) + 20 });
  },
};

/**
 * X86_MSR_POLICY entries: `flags` is reserved and must be zero
 * (xen_msr_entry_t; hvm-context-and-cpu.md §7). verify-stream-v2 does not
 * look at it, so a warning keeps the spec profile's verdict equal to the
 * reference's while still reporting it; Xen's restore refuses it
 * (x86_msr_copy_from_buffer(): -EINVAL), an error under `restore`. This is
 * the one finding for the fault: the restore policy rule (contents.ts)
 * skips checkMsrPolicy's MSR_FLAGS_NONZERO.
 */
const msrPolicyFlags: Rule = {
  name: "x86-msr-policy-flags",
  code: "RESERVED_NONZERO",
  severity: { spec: "warning", restore: "error" },
  description:
    "X86_MSR_POLICY: every entry's reserved flags u32 is zero (xen_msr_entry_t; not checked by verify-stream-v2, hence a warning under spec; refused by x86_msr_copy_from_buffer(), an error under restore).",
  on: ["libxc:X86_MSR_POLICY"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "X86_MSR_POLICY") return;
    forEachMsrFlags(event.record, (i, index, flags) => {
      if (flags !== 0) {
        context.report(`X86_MSR_POLICY entry ${i} (MSR ${hex(index, 8)}): reserved flags set: ${hex(flags, 8)}`, {
          offset: bodyOffset(event) + 16 * i + 4,
        });
      }
    });
  },
};

const hvmParamsReserved: Rule = {
  name: "hvm-params-reserved",
  code: "RESERVED_NONZERO",
  severity: BOTH_ERROR,
  description: "HVM_PARAMS: the reserved u32 after count is zero (verify_record_hvm_params).",
  on: ["libxc:HVM_PARAMS"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "HVM_PARAMS") return;
    const reserved = event.record.reserved ?? 0;
    if (reserved !== 0) context.report(`HVM_PARAMS reserved field not zero: ${hex(reserved, 8)}`, { offset: bodyOffset(event) + 4 });
  },
};

/** TOOLSTACK: deprecated; C fails it as unknown mandatory; the verifier raises a script error (B6). */
const toolstack: Rule = {
  name: "toolstack",
  code: "DEPRECATED_RECORD",
  severity: BOTH_ERROR,
  description: "TOOLSTACK (0x0B) is deprecated; Xen's restore fails on it as an unhandled mandatory record.",
  on: ["libxc:TOOLSTACK"],
  check(_event, _state, context) {
    context.report("deprecated TOOLSTACK record: no Xen restores it (unhandled mandatory record)");
  },
};

/** CHECKPOINT_DIRTY_PFN_LIST travels only on the COLO back channel. */
const dirtyPfnList: Rule = {
  name: "checkpoint-dirty-pfn-list",
  code: "UNEXPECTED_RECORD",
  severity: BOTH_ERROR,
  description: "CHECKPOINT_DIRTY_PFN_LIST belongs to the COLO back channel, never the forward stream (verifier; Xen's restore fails on it).",
  on: ["libxc:CHECKPOINT_DIRTY_PFN_LIST"],
  check(_event, _state, context) {
    context.report("CHECKPOINT_DIRTY_PFN_LIST in the forward stream (it belongs to the COLO back channel)");
  },
};

/** STATIC_DATA_END and the policy records are version-3 records (verifier). */
const v3InV2: Rule = {
  name: "v3-record-in-v2",
  code: "V3_RECORD_IN_V2",
  severity: BOTH_ERROR,
  description: "STATIC_DATA_END, X86_CPUID_POLICY and X86_MSR_POLICY appear only in version 3 streams (spec; verifier; Xen's restore accepts them in v2).",
  on: libxcKeysWhere((at) => !at.versions.includes(2)),
  check(event, state, context) {
    if (event.kind !== "record" || state.version >= 3) return;
    context.report(`${event.record.type} record in a version ${state.version} stream (a version 3 record)`);
  },
};

/**
 * Optional records (type bit 31): the specs allow them to be ignored; both
 * verifiers refuse them (B5); libxc's restore ignores them, libxl's reader
 * refuses them ("Unrecognised record").
 */
const optionalRecord: Rule = {
  name: "optional-record",
  code: "OPTIONAL_RECORD",
  severity: { spec: "warning", restore: "error" },
  description: "optional records (type bit 31): allowed by the spec; ignored by libxc's restore (info), refused by libxl's reader (error in restore).",
  on: ["libxc:UNKNOWN", "libxl:UNKNOWN"],
  check(event, state, context) {
    if (event.kind !== "record" || event.record.type !== "UNKNOWN") return;
    const type = hex32(event.record.typeId);
    if (state.profile === "restore" && event.layer === "libxc") {
      context.report(`optional libxc record ${type}: ignored by Xen's restore`, { severity: "info" });
    } else if (state.profile === "restore") {
      context.report(`optional libxl record ${type}: libxl's reader refuses every record type it does not know`);
    } else {
      context.report(`optional ${event.layer} record ${type}: a reader may ignore it (Xen's verify-stream-v2 and libxl refuse it)`);
    }
  },
};

/** libxl header options: bits 2-31 reserved (spec); the verifier's mask stops at bit 15 (B14). */
const libxlHeaderReserved: Rule = {
  name: "libxl-header-reserved",
  code: "RESERVED_NONZERO",
  severity: BOTH_ERROR,
  description: "libxl header options bits 2-31 are zero (spec: reserved; verify-stream-v2 only checks bits 2-15).",
  on: ["libxl:header"],
  check(event, _state, context) {
    if (event.layer !== "libxl" || event.kind !== "header") return;
    const reserved = (event.header.options & LIBXL_OPT_RESERVED_MASK) >>> 0;
    if (reserved !== 0) context.report(`reserved bits set in libxl options field: ${hex(reserved, 8)}`, { offset: event.offset + 12 });
  },
};

const libxlBigEndian: Rule = {
  name: "libxl-big-endian",
  code: "BIG_ENDIAN",
  severity: { spec: "warning", restore: "error" },
  description: "libxl header big-endian option: allowed by the spec, refused by libxl (\"Unable to handle big endian streams\").",
  on: ["libxl:header"],
  check(event, _state, context) {
    if (event.layer !== "libxl" || event.kind !== "header") return;
    if ((event.header.options & LIBXL_OPT_BIG_ENDIAN) !== 0) {
      context.report("big-endian libxl stream: the spec allows it, but libxl refuses it", { offset: event.offset + 12 });
    }
  },
};

const emulatorId: Rule = {
  name: "emulator-id",
  code: "BAD_FIELD",
  severity: BOTH_ERROR,
  description: "EMULATOR_XENSTORE_DATA / EMULATOR_CONTEXT: emulator_id is 0, 1 or 2 (spec: 3+ reserved; verifier; libxl's reader ignores it).",
  on: EMULATOR_RECORD_KEYS,
  check(event, _state, context) {
    if (event.kind !== "record" || !("emulatorId" in event.record)) return;
    const id = event.record.emulatorId;
    if (id !== EmulatorId.UNKNOWN && id !== EmulatorId.QEMU_TRADITIONAL && id !== EmulatorId.QEMU_UPSTREAM) {
      context.report(`unrecognised emulator id ${hex(id)} (0 unknown, 1 qemu-traditional, 2 qemu-upstream)`, { offset: bodyOffset(event) });
    }
  },
};

/** The verify-stream-v2 checks the decoder does not already make. @internal */
export const referenceRules: readonly Rule[] = [
  imageHeaderReserved,
  libxcBigEndian,
  domainHeaderReserved,
  pageShift,
  padding,
  signalBody,
  pageDataReserved,
  pvInfo,
  vcpuReserved,
  zeroContent,
  tscReserved,
  hvmParamsReserved,
  msrPolicyFlags,
  toolstack,
  dirtyPfnList,
  v3InV2,
  optionalRecord,
  libxlHeaderReserved,
  libxlBigEndian,
  emulatorId,
];
