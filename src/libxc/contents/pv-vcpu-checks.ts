/**
 * Restore-profile checks on the insides of the PV vCPU records: what Xen's
 * PV restore (tools/libs/guest/xg_sr_restore_x86_pv.c) and the hypervisor
 * calls it makes (xen/arch/x86/domain.c arch_set_info_guest(),
 * xen/arch/x86/domctl.c XEN_DOMCTL_set_ext_vcpucontext,
 * XEN_DOMCTL_setvcpuextstate, XEN_DOMCTL_set_vcpu_msrs) reject, as
 * findings that point at the offending byte.
 *
 * Blob sizes that handle_x86_pv_vcpu_blob() rejects (BASIC of the wrong
 * size, EXTENDED over 128 bytes, XSAVE under 16, MSRS not a multiple of
 * 16) and the record's vcpu_id range are the verifier's
 * `restore-vcpu-blob` rule; these checks return nothing for a blob of such
 * a size, and nothing for an empty blob (Xen skips it).
 *
 * Checks that need the host (xfeature_mask, DBEXT, the vMCE capabilities,
 * guest_wrmsr() values) or the pages' types (cr3 must be an L4/L3 table)
 * are not made.
 *
 * @module
 */
import type { Finding } from "../../verify/types.js";
import type { VcpuRecordTypeName } from "../types.js";
import {
  decodePvVcpuBasic,
  pvVcpuFieldOffset,
  VCPU_GUEST_CONTEXT_SIZE_32,
  VCPU_GUEST_CONTEXT_SIZE_64,
  VgcfFlag,
  VmAssistType,
  type PvGuestWidth,
} from "./pv-vcpu.js";
import {
  decodePvVcpuExtended,
  pvVcpuExtendedFieldOffset,
  VCPU_EXTENDED_MAX,
  VCPU_EXTENDED_VMCE_OFFSET,
} from "./pv-vcpu-extended.js";
import { decodePvVcpuMsrs, PV_VCPU_MSRS_ACCEPTED, VCPU_MSR_SIZE } from "./msrs.js";
import { baseOffsetOf, checkBytes, checkObject, failUsage } from "./pv-layout.js";
import { decodePvVcpuXsave, FXSAVE_SIZE, PV_XSAVE_HDR_SIZE, PV_XSAVE_MIN_AREA_SIZE, Xcr0Bit } from "./xsave.js";

/** What the checks need to know about the stream. */
export interface PvVcpuCheckFacts {
  /** Guest width from X86_PV_INFO. */
  guestWidth: PvGuestWidth;
  /** Page-table levels from X86_PV_INFO (cr1 is checked only for 4). */
  ptLevels?: number;
  /** The record's vcpu_id. */
  vcpuId: number;
  /** The domain's vCPU count (max_vcpus), when known. */
  maxVcpus?: number;
  /** The restore's max_pfn (the largest pfn the p2m covers), when known. */
  maxPfn?: number;
  /**
   * Uncompressed XSAVE area size for an xcr0_accum (CPUID leaf 0xD of the
   * stream's CPU policy), when known; enables the exact-size check of
   * XEN_DOMCTL_setvcpuextstate.
   */
  xstateSize?: (xcr0Accum: bigint) => number | undefined;
  /**
   * Absolute stream offset of the blob's first byte.
   * @defaultValue 0
   */
  baseOffset?: number;
  /** Record index, copied into each finding. */
  recordIndex?: number;
}

/** FIRST_RESERVED_GDT_ENTRY (arch-x86/xen.h): 14 pages of 512 descriptors. */
export const FIRST_RESERVED_GDT_ENTRY = (14 * 4096) / 8;
/** Most LDT entries arch_set_info_guest() allows. */
export const LDT_ENTRIES_MAX = 8192;
/** HYPERVISOR_VIRT_END of 64-bit PV guests (xen-x86_64.h). */
const HYPERVISOR_VIRT_END = 0xffff_8800_0000_0000n;
/** PV32_VM_ASSIST_MASK (xen/arch/x86/include/asm/domain.h): types 0-5. */
const PV32_VM_ASSIST_MASK = 0x3fn;
/** PV64_VM_ASSIST_MASK: PV32's plus VMASST_TYPE_m2p_strict. */
const PV64_VM_ASSIST_MASK = PV32_VM_ASSIST_MASK | (1n << BigInt(VmAssistType.VMASST_TYPE_m2p_strict));
/** XEN_DOMCTL_set_vcpu_msrs: 7 MSRs, 4 more on hosts with DBEXT. */
const PV_MSRS_MAX = 7;
const PV_MSRS_MAX_DBEXT = 11;

/** is_canonical_address() (asm/x86_64/page.h): bits 63-47 all equal. */
function isCanonical(address: bigint): boolean {
  const top = address >> 47n;
  return top === 0n || top === 0x1_ffffn;
}

class Collector {
  readonly findings: Finding[] = [];
  constructor(
    private readonly base: number,
    private readonly recordIndex: number | undefined,
  ) {}
  add(severity: Finding["severity"], code: Finding["code"], at: number, message: string): void {
    const finding: Finding = { severity, code, message, offset: this.base + at, layer: "libxc" };
    if (this.recordIndex !== undefined) finding.recordIndex = this.recordIndex;
    this.findings.push(finding);
  }
}

const hex = (value: number | bigint): string => `0x${value.toString(16)}`;

function checkBasic(bytes: Uint8Array, facts: PvVcpuCheckFacts, out: Collector): void {
  const width = facts.guestWidth;
  if (bytes.length !== (width === 8 ? VCPU_GUEST_CONTEXT_SIZE_64 : VCPU_GUEST_CONTEXT_SIZE_32)) return; // restore-vcpu-blob
  const context = decodePvVcpuBasic(bytes, { guestWidth: width });
  const at = (path: string): number => pvVcpuFieldOffset(width, path);
  const maxPfn = facts.maxPfn === undefined ? undefined : BigInt(facts.maxPfn);
  const word = (value: number | bigint): bigint => BigInt(value);
  const prefix = `X86_PV_VCPU_BASIC vcpu ${facts.vcpuId}`;

  // process_start_info(): vCPU 0's edx names the start_info pfn.
  if (facts.vcpuId === 0 && maxPfn !== undefined) {
    const regs = context.userRegs;
    const startInfo = word("rdx" in regs ? regs.rdx : regs.edx);
    if (startInfo > maxPfn) {
      out.add("error", "BAD_FIELD", at(width === 8 ? "userRegs.rdx" : "userRegs.edx"),
        `${prefix}: start_info pfn ${hex(startInfo)} (user_regs.edx) is above max_pfn ${hex(maxPfn)} (process_start_info)`);
    }
  }
  // process_vcpu_basic(): GDT entry count and frames, cr3, cr1.
  const gdtEnts = word(context.gdtEnts);
  if (gdtEnts > BigInt(FIRST_RESERVED_GDT_ENTRY)) {
    out.add("error", "BAD_FIELD", at("gdtEnts"),
      `${prefix}: gdt_ents ${gdtEnts} is above FIRST_RESERVED_GDT_ENTRY ${FIRST_RESERVED_GDT_ENTRY} (process_vcpu_basic)`);
  } else if (maxPfn !== undefined) {
    const frames = Number((gdtEnts + 511n) / 512n);
    for (let i = 0; i < frames; i++) {
      const frame = word(context.gdtFrames[i] ?? 0);
      if (frame > maxPfn) {
        out.add("error", "BAD_FIELD", at(`gdtFrames[${i}]`),
          `${prefix}: gdt_frames[${i}] pfn ${hex(frame)} is above max_pfn ${hex(maxPfn)} (process_vcpu_basic)`);
      }
    }
  }
  if (maxPfn !== undefined && word(context.cr3Pfn) > maxPfn) {
    out.add("error", "BAD_FIELD", at("ctrlreg[3]"),
      `${prefix}: cr3 pfn ${hex(context.cr3Pfn)} is above max_pfn ${hex(maxPfn)} (process_vcpu_basic)`);
  }
  if (context.guestWidth === 8 && facts.ptLevels === 4 && context.cr1Pfn !== undefined && maxPfn !== undefined && context.cr1Pfn > maxPfn) {
    out.add("error", "BAD_FIELD", at("ctrlreg[1]"),
      `${prefix}: cr1 (user page table) pfn ${hex(context.cr1Pfn)} is above max_pfn ${hex(maxPfn)} (process_vcpu_basic)`);
  }

  // arch_set_info_guest().
  if (context.guestWidth === 8) {
    const addresses: [string, bigint][] = [
      ["userRegs.rip", context.userRegs.rip],
      ["userRegs.rsp", context.userRegs.rsp],
      ["kernelSp", context.kernelSp],
      ["fsBase", context.fsBase],
      ["gsBaseKernel", context.gsBaseKernel],
      ["gsBaseUser", context.gsBaseUser],
      ["eventCallbackEip", context.eventCallbackEip],
      ["syscallCallbackEip", context.syscallCallbackEip],
      ["failsafeCallbackEip", context.failsafeCallbackEip],
    ];
    if (context.ldtEnts !== 0n) addresses.splice(3, 0, ["ldtBase", context.ldtBase]);
    context.trapCtxt.forEach((trap, i) => addresses.push([`trapCtxt[${i}].address`, trap.address]));
    for (const [path, address] of addresses) {
      if (!isCanonical(address)) {
        out.add("error", "BAD_FIELD", at(path),
          `${prefix}: ${path} ${hex(address)} is not a canonical address (arch_set_info_guest: -EINVAL)`);
      }
    }
    const ldtBase = context.ldtBase;
    if (ldtBase >= 1n << 47n && ldtBase < HYPERVISOR_VIRT_END) {
      out.add("error", "BAD_FIELD", at("ldtBase"),
        `${prefix}: ldt_base ${hex(ldtBase)} lies in Xen's reserved area (arch_set_info_guest __addr_ok: -EINVAL)`);
    }
    if ((context.flags & BigInt(VgcfFlag.VGCF_in_kernel)) === 0n && context.ctrlreg[1] === 0n) {
      out.add("error", "BAD_FIELD", at("flags"),
        `${prefix}: VGCF_in_kernel is clear and ctrlreg[1] (user page table) is 0 (arch_set_info_guest: -EINVAL)`);
    }
  }
  const ldtBase = word(context.ldtBase);
  if ((ldtBase & 0xfffn) !== 0n) {
    out.add("error", "BAD_FIELD", at("ldtBase"),
      `${prefix}: ldt_base ${hex(ldtBase)} is not page aligned (arch_set_info_guest: -EINVAL)`);
  }
  const ldtEnts = word(context.ldtEnts);
  if (ldtEnts > BigInt(LDT_ENTRIES_MAX)) {
    out.add("error", "BAD_FIELD", at("ldtEnts"),
      `${prefix}: ldt_ents ${ldtEnts} is above ${LDT_ENTRIES_MAX} (arch_set_info_guest: -EINVAL)`);
  }
  if (facts.vcpuId === 0) {
    const mask = width === 8 ? PV64_VM_ASSIST_MASK : PV32_VM_ASSIST_MASK;
    const extra = word(context.vmAssist) & ~mask;
    if (extra !== 0n) {
      out.add("error", "BAD_FIELD", at("vmAssist"),
        `${prefix}: vm_assist has bits ${hex(extra)} outside ${width === 8 ? "PV64" : "PV32"}_VM_ASSIST_MASK ${hex(mask)} (arch_set_info_guest: -EINVAL)`);
    }
  }
}

function checkExtended(bytes: Uint8Array, facts: PvVcpuCheckFacts, out: Collector): void {
  if (bytes.length > VCPU_EXTENDED_MAX) return; // restore-vcpu-blob
  const value = decodePvVcpuExtended(bytes);
  const at = (name: string): number => pvVcpuExtendedFieldOffset(name) ?? 0;
  const prefix = `X86_PV_VCPU_EXTENDED vcpu ${facts.vcpuId}`;
  const size = value.size;
  if (size === undefined) {
    out.add("error", "BAD_SIZE", 0,
      `${prefix}: ${bytes.length}-byte blob lacks the size field; Xen reads it from uninitialised domctl bytes (process_vcpu_extended)`);
    return;
  }
  if (value.vcpu !== undefined) {
    if (facts.maxVcpus !== undefined && value.vcpu >= facts.maxVcpus) {
      out.add("error", "BAD_FIELD", at("vcpu"),
        `${prefix}: embedded vcpu ${value.vcpu} is not below max_vcpus ${facts.maxVcpus} (set_ext_vcpucontext: -ESRCH)`);
    } else if (value.vcpu !== facts.vcpuId) {
      out.add("warning", "BAD_FIELD", at("vcpu"),
        `${prefix}: embedded vcpu ${value.vcpu} differs from the record's vcpu_id; Xen applies the blob to vcpu ${value.vcpu} (process_vcpu_extended copies it as is)`);
    }
  }
  if (size < VCPU_EXTENDED_VMCE_OFFSET) {
    out.add("error", "BAD_FIELD", at("size"),
      `${prefix}: size ${size} is below ${VCPU_EXTENDED_VMCE_OFFSET} (offsetof vmce; set_ext_vcpucontext: -EINVAL)`);
  } else if (size > bytes.length) {
    out.add("warning", "BAD_SIZE", at("size"),
      `${prefix}: size ${size} exceeds the ${bytes.length}-byte blob; Xen reads the rest from uninitialised domctl bytes`);
  }
  for (const name of ["syscall32CallbackEip", "sysenterCallbackEip"] as const) {
    const address = value[name];
    if (address !== undefined && !isCanonical(address)) {
      out.add("error", "BAD_FIELD", at(name),
        `${prefix}: ${name} ${hex(address)} is not a canonical address (set_ext_vcpucontext: -EINVAL)`);
    }
  }
}

/** valid_xcr0() (xen/arch/x86/xstate.c). */
function validXcr0(xcr0: bigint): boolean {
  const bit = (name: keyof typeof Xcr0Bit): boolean => ((xcr0 >> BigInt(Xcr0Bit[name])) & 1n) === 1n;
  if (!bit("X86_XCR0_FP")) return false;
  if (bit("X86_XCR0_YMM") && !bit("X86_XCR0_SSE")) return false;
  const avx512 = [bit("X86_XCR0_OPMASK"), bit("X86_XCR0_ZMM"), bit("X86_XCR0_HI_ZMM")];
  if (avx512.some(Boolean) && (!bit("X86_XCR0_YMM") || !avx512.every(Boolean))) return false;
  return bit("X86_XCR0_BNDREGS") === bit("X86_XCR0_BNDCSR");
}

function checkXsave(bytes: Uint8Array, facts: PvVcpuCheckFacts, out: Collector): void {
  if (bytes.length < PV_XSAVE_HDR_SIZE) return; // restore-vcpu-blob
  const prefix = `X86_PV_VCPU_XSAVE vcpu ${facts.vcpuId}`;
  if (bytes.length < PV_XSAVE_MIN_AREA_SIZE && bytes.length !== PV_XSAVE_HDR_SIZE) {
    out.add("error", "BAD_SIZE", 0,
      `${prefix}: ${bytes.length} bytes: neither ${PV_XSAVE_HDR_SIZE} nor at least ${PV_XSAVE_MIN_AREA_SIZE} (setvcpuextstate: "can't be legitimate data", -EINVAL)`);
    return;
  }
  const value = decodePvVcpuXsave(bytes);
  const { xcr0, xcr0Accum } = value;
  const headerAt = PV_XSAVE_HDR_SIZE + FXSAVE_SIZE;
  if (xcr0Accum === 0n) {
    if (xcr0 !== 0n) {
      out.add("error", "BAD_FIELD", 0, `${prefix}: xcr0 ${hex(xcr0)} with xcr0_accum 0 (setvcpuextstate: -EINVAL)`);
    }
  } else if (value.header !== undefined) {
    // validate_xstate() (xstate.c).
    const header = value.header;
    if ((header.xstateBv & ~xcr0Accum) !== 0n) {
      out.add("error", "BAD_FIELD", headerAt,
        `${prefix}: xstate_bv ${hex(header.xstateBv)} has bits outside xcr0_accum ${hex(xcr0Accum)} (validate_xstate: -EINVAL)`);
    }
    if ((xcr0 & ~xcr0Accum) !== 0n) {
      out.add("error", "BAD_FIELD", 0, `${prefix}: xcr0 ${hex(xcr0)} has bits outside xcr0_accum ${hex(xcr0Accum)} (validate_xstate: -EINVAL)`);
    }
    if (!validXcr0(xcr0)) out.add("error", "BAD_FIELD", 0, `${prefix}: xcr0 ${hex(xcr0)} is not a valid XCR0 (valid_xcr0: -EINVAL)`);
    if (!validXcr0(xcr0Accum)) {
      out.add("error", "BAD_FIELD", 8, `${prefix}: xcr0_accum ${hex(xcr0Accum)} is not a valid XCR0 (valid_xcr0: -EINVAL)`);
    }
    if (header.xcompBv !== 0n) {
      out.add("error", "BAD_FIELD", headerAt + 8,
        `${prefix}: xcomp_bv ${hex(header.xcompBv)} is not 0: compacted areas are not supported (validate_xstate: -EOPNOTSUPP)`);
    }
    header.reserved.forEach((word, i) => {
      if (word !== 0n) {
        out.add("error", "RESERVED_NONZERO", headerAt + 16 + 8 * i,
          `${prefix}: XSAVE header reserved[${i}] is ${hex(word)} (validate_xstate: -EIO)`);
      }
    });
    const expected = facts.xstateSize?.(xcr0Accum);
    if (expected !== undefined && bytes.length !== PV_XSAVE_HDR_SIZE + expected) {
      out.add("error", "BAD_SIZE", 0,
        `${prefix}: ${bytes.length} bytes, but xcr0_accum ${hex(xcr0Accum)} needs ${PV_XSAVE_HDR_SIZE} + ${expected} (setvcpuextstate: -EINVAL)`);
    }
  }
}

function checkMsrs(bytes: Uint8Array, facts: PvVcpuCheckFacts, out: Collector): void {
  if (bytes.length % VCPU_MSR_SIZE !== 0) return; // restore-vcpu-blob
  const entries = decodePvVcpuMsrs(bytes);
  const prefix = `X86_PV_VCPU_MSRS vcpu ${facts.vcpuId}`;
  if (entries.length > PV_MSRS_MAX_DBEXT) {
    out.add("error", "BAD_SIZE", 0, `${prefix}: ${entries.length} MSRs, more than Xen's ${PV_MSRS_MAX_DBEXT} (set_vcpu_msrs: -EINVAL)`);
  } else if (entries.length > PV_MSRS_MAX) {
    out.add("warning", "BAD_SIZE", 0,
      `${prefix}: ${entries.length} MSRs; a host without DBEXT takes at most ${PV_MSRS_MAX} (set_vcpu_msrs: -EINVAL)`);
  }
  entries.forEach((entry, i) => {
    const at = i * VCPU_MSR_SIZE;
    if (entry.reserved !== 0) {
      out.add("error", "RESERVED_NONZERO", at + 4, `${prefix}: entry ${i} reserved is ${hex(entry.reserved)} (set_vcpu_msrs: -EINVAL)`);
    }
    if (!PV_VCPU_MSRS_ACCEPTED.includes(entry.index)) {
      out.add("error", "BAD_FIELD", at,
        `${prefix}: entry ${i} MSR ${hex(entry.index)}${entry.name === undefined ? "" : ` (${entry.name})`} is not one Xen restores for PV vCPUs (set_vcpu_msrs: -EINVAL)`);
    }
  });
}

/**
 * The restore-profile findings on one PV vCPU record's context blob.
 *
 * @param type - which of the four records
 * @param context - the record's context bytes (after vcpu_id and reserved)
 * @param facts - guest width, vcpu id and what else is known of the stream
 * @returns findings (severity, code, message, absolute offset of the
 * offending field, record index); empty when restore would accept it, or
 * when the blob's size is one the verifier's size rule already reports
 * @throws {@link XenStreamError} USAGE for a bad argument (guest width not
 * 4 or 8, a negative vcpu id, an unknown record type)
 *
 * @example
 * ```ts
 * import { checkPvVcpuContents } from "xen-migration-stream";
 * checkPvVcpuContents("X86_PV_VCPU_MSRS", record.context, { guestWidth: 8, vcpuId: 0 }); //=> []
 * ```
 */
export function checkPvVcpuContents(type: VcpuRecordTypeName, context: Uint8Array, facts: PvVcpuCheckFacts): Finding[] {
  checkBytes(context, "checkPvVcpuContents: context");
  checkObject(facts, "checkPvVcpuContents: facts");
  if (facts.guestWidth !== 4 && facts.guestWidth !== 8) {
    failUsage(`checkPvVcpuContents: facts.guestWidth must be 4 or 8, got ${String(facts.guestWidth)}`);
  }
  if (!Number.isInteger(facts.vcpuId) || facts.vcpuId < 0) {
    failUsage(`checkPvVcpuContents: facts.vcpuId must be a non-negative integer, got ${String(facts.vcpuId)}`);
  }
  const out = new Collector(baseOffsetOf({ baseOffset: facts.baseOffset ?? 0 }), facts.recordIndex);
  if (context.length === 0) return out.findings; // skipped by handle_x86_pv_vcpu_blob()
  switch (type) {
    case "X86_PV_VCPU_BASIC":
      checkBasic(context, facts, out);
      break;
    case "X86_PV_VCPU_EXTENDED":
      checkExtended(context, facts, out);
      break;
    case "X86_PV_VCPU_XSAVE":
      checkXsave(context, facts, out);
      break;
    case "X86_PV_VCPU_MSRS":
      checkMsrs(context, facts, out);
      break;
    default:
      failUsage(`checkPvVcpuContents: ${String(type)} is not a PV vCPU record type`);
  }
  return out.findings;
}

