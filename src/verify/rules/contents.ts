/**
 * Checks on the insides of the small state records: the HVM context's save
 * entries, the PV vCPU blobs and the CPU policy entries. Each rule hands a
 * record's bytes to the one check of its structure family
 * (src/libxc/contents: checkHvmContext, checkPvVcpuContents,
 * checkCpuidPolicy / checkMsrPolicy) with the facts other records gave
 * (guest width and pt_levels from X86_PV_INFO, max_pfn from
 * X86_PV_P2M_FRAMES, the XSAVE layout from X86_CPUID_POLICY, max_vcpus and
 * the guest type from the xl config), and
 * reports each finding at the absolute byte inside the record.
 *
 * Profiles: `restore` for what Xen's restore refuses (hvm_load() and its
 * loaders, the PV vCPU domctls, x86_cpuid_copy_from_buffer() /
 * x86_msr_copy_from_buffer()) or silently discards; `spec` (hence both) for
 * the entry order and uniqueness the spec documents as what Xen writes
 * (hvm-context-and-cpu.md §7). None of them runs per page.
 *
 * @module
 * @internal
 */
import { checkCpuidPolicy, checkMsrPolicy, type CpuPolicyFinding, type CpuPolicyFindingCodeName } from "../../libxc/contents/cpu-policy.js";
import { checkPvVcpuContents } from "../../libxc/contents/pv-vcpu-checks.js";
import { BOTH_WARNING, RESTORE_ERROR, VCPU_RECORD_KEYS, bodyOffset, type Rule, type RuleContext } from "../rule.js";
import { hvmContextFindings } from "../hvm-context.js";
import { cpuidLeavesPrefix, msrEntriesPrefix, policyEntryCount } from "../entries.js";
import type { AnyFindingCode } from "../types.js";
import type { SaveFileEvent } from "../../savefile.js";

/** hvm_load() and the per-type loaders (xen/arch/x86/hvm/save.c, hvm.c, vlapic.c, ...). */
const hvmContext: Rule = {
  name: "restore-hvm-context",
  code: "BAD_HVM_CONTEXT",
  severity: RESTORE_ERROR,
  description:
    "HVM_CONTEXT: HEADER entry first (typecode 1, length 24, magic 0x54381286, version 1), typecodes 1-20 with a loader, each entry's length by its type's load rule, " +
    "per-vCPU instances below the config's max_vcpus, PIC instances 0-1, no emulated device a PVH domain lacks, the field values the loaders refuse (CPU cr0/pad0, " +
    "CPU_XSAVE header, CPU_MSR entries, VIRIDIAN_VCPU pad), entries within the blob and an END entry (hvm_load()); warnings for duplicate entries and bytes hvm_load() ignores after END.",
  on: ["libxc:HVM_CONTEXT"],
  check(event, state, context) {
    if (event.kind !== "record" || event.record.type !== "HVM_CONTEXT") return;
    const emulation = state.xlGuestType === "pvh" || state.xlGuestType === "hvm" ? state.xlGuestType : undefined;
    const findings = hvmContextFindings(event.record.data, {
      baseOffset: bodyOffset(event),
      ...(state.xlMaxVcpus === undefined ? {} : { vcpus: state.xlMaxVcpus }),
      ...(emulation === undefined ? {} : { emulation }),
    });
    for (const finding of findings) {
      context.report(`HVM context: ${finding.message}`, { offset: finding.offset, severity: finding.severity, code: finding.code });
    }
  },
};

/** The legacy area and XSAVE header: the smallest standard-format XSAVE area (x87 and SSE only). */
const XSAVE_LEGACY_AND_HEADER = 512 + 64;

/**
 * xstate_ctxt_size(xcr0) as the restoring host computes it (xstate.c:
 * CPUID.(EAX=0xD,ECX=0).EBX with XCR0 = xcr0): the end of the last enabled
 * component, taken from the stream's CPU policy, which carries the host's
 * offsets and sizes. Undefined when a component >= 2 is enabled that the
 * policy does not describe.
 */
function xstateSizeFrom(ends: ReadonlyMap<number, number>): (xcr0Accum: bigint) => number | undefined {
  return (xcr0Accum) => {
    let size = XSAVE_LEGACY_AND_HEADER;
    for (let bit = 2; bit < 64; bit++) {
      if (((xcr0Accum >> BigInt(bit)) & 1n) === 0n) continue;
      const end = ends.get(bit);
      if (end === undefined) return undefined;
      size = Math.max(size, end);
    }
    return size;
  };
}

/** handle_x86_pv_vcpu_blob() → process_vcpu_*() and the domctls they call (pv-vcpu-checks.ts). */
const pvVcpuContents: Rule = {
  name: "restore-pv-vcpu-contents",
  code: "BAD_FIELD",
  severity: RESTORE_ERROR,
  description:
    "X86_PV_VCPU_BASIC/EXTENDED/XSAVE/MSRS contents: what process_vcpu_basic() and arch_set_info_guest() (frames within max_pfn, canonical addresses, GDT/LDT limits, vm_assist), " +
    "XEN_DOMCTL_set_ext_vcpucontext (size, vcpu), XEN_DOMCTL_setvcpuextstate (xcr0, XSAVE header, size: exact for xcr0_accum by the CPU policy's leaf 0xD) and XEN_DOMCTL_set_vcpu_msrs (count, reserved, MSR index) refuse.",
  on: VCPU_RECORD_KEYS,
  check(event, state, context) {
    if (event.kind !== "record" || event.layer !== "libxc" || state.guest !== "pv") return;
    const record = event.record;
    if (!("vcpuId" in record) || record.context.length === 0) return;
    const width = state.pvWidth;
    if (width !== 4 && width !== 8) return; // x86-pv-info reports the width
    const findings = checkPvVcpuContents(record.type, record.context, {
      guestWidth: width,
      vcpuId: record.vcpuId,
      baseOffset: bodyOffset(event) + 8, // after vcpu_id and the reserved u32
      recordIndex: event.index,
      ...(state.pvInfo === undefined ? {} : { ptLevels: state.pvInfo.ptLevels }),
      ...(state.xlMaxVcpus === undefined ? {} : { maxVcpus: state.xlMaxVcpus }),
      ...(state.p2mMaxPfn === undefined ? {} : { maxPfn: state.p2mMaxPfn }),
      ...(state.xstateEnds === undefined ? {} : { xstateSize: xstateSizeFrom(state.xstateEnds) }),
    });
    for (const finding of findings) context.report(finding.message, { offset: finding.offset, severity: finding.severity, code: finding.code });
  },
};

/**
 * The verifier's code for a CPU policy finding: the generic codes where one
 * fits, DUPLICATE_ENTRY / ENTRY_ORDER / IGNORED_DATA for the warnings.
 * MSR_FLAGS_NONZERO has none: the reference rule `x86-msr-policy-flags`
 * reports that fault (one finding per fault).
 */
const CPU_POLICY_CODES: Readonly<Record<CpuPolicyFindingCodeName, AnyFindingCode | undefined>> = {
  CPUID_TOO_MANY_LEAVES: "BAD_SIZE",
  CPUID_LEAF_OUT_OF_RANGE: "BAD_FIELD",
  CPUID_DUPLICATE_LEAF: "DUPLICATE_ENTRY",
  CPUID_ORDER: "ENTRY_ORDER",
  CPUID_IGNORED_DATA: "IGNORED_DATA",
  MSR_TOO_MANY_ENTRIES: "BAD_SIZE",
  MSR_FLAGS_NONZERO: undefined,
  MSR_UNKNOWN_INDEX: "BAD_FIELD",
  MSR_VALUE_TRUNCATED: "BAD_FIELD",
  MSR_PLATFORM_INFO_BITS: "BAD_FIELD",
  MSR_DUPLICATE: "DUPLICATE_ENTRY",
  MSR_ORDER: "ENTRY_ORDER",
};

/**
 * Entries of one CPU policy record checked one by one: 34x Xen's largest
 * (CPUID_MAX_SERIALISED_LEAVES 120), so every policy Xen writes or accepts
 * is checked whole, while a hostile record of millions of entries is not
 * built as objects (issue #19). Beyond it the record is already an error
 * under `restore` (too many entries); the rest of its entries are reported
 * as not checked.
 */
export const POLICY_CHECK_ENTRIES = 4096;

/** The findings of the policy check for `event` (empty for other records). */
function cpuPolicyFindings(event: SaveFileEvent): CpuPolicyFinding[] {
  if (event.kind !== "record") return [];
  const record = event.record;
  if (record.type !== "X86_CPUID_POLICY" && record.type !== "X86_MSR_POLICY") return [];
  const count = policyEntryCount(record);
  if (count <= POLICY_CHECK_ENTRIES) return record.type === "X86_CPUID_POLICY" ? checkCpuidPolicy(record) : checkMsrPolicy(record);
  const findings =
    record.type === "X86_CPUID_POLICY"
      ? checkCpuidPolicy(cpuidLeavesPrefix(record, POLICY_CHECK_ENTRIES))
      : checkMsrPolicy(msrEntriesPrefix(record, POLICY_CHECK_ENTRIES));
  // The too-many finding counted the prefix: it names the record's count.
  const prefix = `${POLICY_CHECK_ENTRIES} `;
  for (const finding of findings) {
    if ((finding.code === "CPUID_TOO_MANY_LEAVES" || finding.code === "MSR_TOO_MANY_ENTRIES") && finding.message.startsWith(prefix)) {
      finding.message = `${count} ${finding.message.slice(prefix.length)}`;
    }
  }
  return findings;
}

function reportCpuPolicy(event: SaveFileEvent, profile: CpuPolicyFinding["profile"], context: RuleContext): void {
  if (profile === "restore" && event.kind === "record" && (event.record.type === "X86_CPUID_POLICY" || event.record.type === "X86_MSR_POLICY")) {
    const count = policyEntryCount(event.record);
    if (count > POLICY_CHECK_ENTRIES) {
      context.report(`${event.record.type}: entries ${POLICY_CHECK_ENTRIES}..${count - 1} are not checked one by one (Xen's restore refuses the record for its size)`, {
        offset: bodyOffset(event) + POLICY_CHECK_ENTRIES * (event.record.type === "X86_CPUID_POLICY" ? 24 : 16),
        severity: "info",
        code: "BAD_SIZE",
      });
    }
  }
  for (const finding of cpuPolicyFindings(event)) {
    const code = CPU_POLICY_CODES[finding.code];
    if (finding.profile !== profile || code === undefined) continue;
    context.report(`${event.kind === "record" ? event.record.type : ""} entry ${finding.entry}: ${finding.message}`, {
      offset: bodyOffset(event) + finding.pos,
      severity: finding.severity,
      code,
    });
  }
}

/** x86_cpuid_copy_to_buffer() / x86_msr_copy_to_buffer() order (hvm-context-and-cpu.md §7). */
const cpuPolicyOrder: Rule = {
  name: "x86-cpu-policy-order",
  code: "ENTRY_ORDER",
  severity: BOTH_WARNING,
  description:
    "X86_CPUID_POLICY / X86_MSR_POLICY: entries in the ascending (leaf, subleaf) / index order Xen writes, each once (x86_cpuid_copy_to_buffer() / x86_msr_copy_to_buffer() in xen/lib/x86; Xen's restore keeps the last of a repeat).",
  on: ["libxc:X86_CPUID_POLICY", "libxc:X86_MSR_POLICY"],
  check(event, _state, context) {
    reportCpuPolicy(event, "spec", context);
  },
};

/** x86_cpuid_copy_from_buffer(), x86_msr_copy_from_buffer(), x86_cpu_policies_are_compatible(). */
const cpuPolicyRestore: Rule = {
  name: "restore-cpu-policy",
  code: "BAD_FIELD",
  severity: RESTORE_ERROR,
  description:
    "X86_CPUID_POLICY / X86_MSR_POLICY: at most CPUID_MAX_SERIALISED_LEAVES / MSR_MAX_SERIALISED_ENTRIES entries, leaves and MSRs Xen's policy holds, MSR values that fit " +
    "(x86_cpuid_copy_from_buffer(), x86_msr_copy_from_buffer()), platform_info bits a max policy offers; warnings for leaf data restore discards.",
  on: ["libxc:X86_CPUID_POLICY", "libxc:X86_MSR_POLICY"],
  check(event, _state, context) {
    reportCpuPolicy(event, "restore", context);
  },
};

/** The rules on record insides. @internal */
export const contentsRules: readonly Rule[] = [hvmContext, pvVcpuContents, cpuPolicyOrder, cpuPolicyRestore];
