/**
 * One line about a record's insides, for `verify --verbose`: the HVM
 * context's save records, a PV vCPU's rip and page-table pfn, the CPU
 * policy's vendor, model and feature count. A fold like the dumper (it
 * keeps the guest width from X86_PV_INFO); insides are decoded only when
 * asked, never on the plain verify path.
 *
 * @module
 */
import { isXenStreamError } from "../errors.js";
import { decodeCpuPolicy, summarizeCpuPolicy, summarizeMsrPolicy } from "../libxc/contents/cpu-policy.js";
import { decodeHvmContext } from "../libxc/contents/hvm-context.js";
import { decodePvVcpuContents } from "../libxc/contents/pv-contents.js";
import type { PvGuestWidth } from "../libxc/contents/pv-vcpu.js";
import { decodeSharedInfo } from "../libxc/contents/shared-info.js";
import type { LibxcRecord } from "../libxc/types.js";
import type { SaveFileEvent } from "../savefile.js";
import { RECORD_HEADER_SIZE } from "../wire/frame.js";

function hex(value: number | bigint): string {
  return `0x${value.toString(16)}`;
}

/**
 * Names in order, runs of one name counted: `HEADER, CPU x2, LAPIC x2, END`.
 *
 * @param names - the names
 * @returns the list
 */
export function runLengthNames(names: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < names.length; ) {
    let j = i + 1;
    while (j < names.length && names[j] === names[i]) j++;
    parts.push(j - i === 1 ? (names[i] as string) : `${names[i] as string} x${j - i}`);
    i = j;
  }
  return parts.join(", ");
}

/**
 * Summarises the insides of records, one line each, for listings.
 *
 * @example
 * ```ts
 * const summarizer = new ContentsSummarizer();
 * for (const event of events) {
 *   const line = summarizer.add(event);
 *   if (line !== undefined) console.log(line);
 * }
 * //=> "  HVM context: 17 entries: HEADER, CPU x2, LAPIC x2, ... END"
 * ```
 */
export class ContentsSummarizer {
  private guestWidth: number | undefined = undefined;

  /**
   * Takes the next event.
   *
   * @param event - the next event of the save file (every one, for the guest width)
   * @returns a line (two-space indent, no newline) about the record's insides, or undefined for events without insides
   */
  add(event: SaveFileEvent): string | undefined {
    if (event.layer !== "libxc" || event.kind !== "record") return undefined;
    const record = event.record;
    if (record.type === "X86_PV_INFO") this.guestWidth = record.guestWidth;
    const body = event.offset + RECORD_HEADER_SIZE;
    try {
      return this.summary(record, body);
    } catch (error) {
      if (isXenStreamError(error)) return `  contents: cannot decode: ${error.code} at offset ${error.offset}: ${error.reason}`;
      return `  contents: internal error while decoding (a bug in xen-migration-stream): ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  private summary(record: LibxcRecord, body: number): string | undefined {
    switch (record.type) {
      case "HVM_CONTEXT": {
        const { entries } = decodeHvmContext(record.data, { baseOffset: body });
        return `  HVM context: ${entries.length} entries: ${runLengthNames(entries.map((entry) => entry.name))}`;
      }
      case "X86_PV_VCPU_BASIC":
      case "X86_PV_VCPU_EXTENDED":
      case "X86_PV_VCPU_XSAVE":
      case "X86_PV_VCPU_MSRS": {
        if (record.context.length === 0) return undefined;
        const width = this.guestWidth as PvGuestWidth | undefined;
        const options = width === undefined ? { baseOffset: body + 8 } : { baseOffset: body + 8, guestWidth: width };
        const decoded = decodePvVcpuContents(record.type, record.context, options);
        const who = `  vcpu${record.vcpuId}`;
        switch (decoded.type) {
          case "X86_PV_VCPU_BASIC": {
            const { basic } = decoded;
            const rip = basic.guestWidth === 8 ? basic.userRegs.rip : basic.userRegs.eip;
            return `${who}: ${basic.guestWidth * 8}-bit, rip ${hex(rip)}, rsp ${hex(basic.guestWidth === 8 ? basic.userRegs.rsp : basic.userRegs.esp)}, cr3 pfn ${hex(basic.cr3Pfn)}`;
          }
          case "X86_PV_VCPU_EXTENDED":
            return undefined;
          case "X86_PV_VCPU_XSAVE": {
            const { xsave } = decoded;
            return `${who}: xcr0 ${hex(xsave.xcr0)}${xsave.xcr0Names.length > 0 ? ` (${xsave.xcr0Names.join(" ")})` : ""}`;
          }
          case "X86_PV_VCPU_MSRS":
            return `${who}: ${decoded.msrs.length} MSRs: ${decoded.msrs.map((msr) => `${msr.name ?? hex(msr.index)}=${hex(msr.value)}`).join(", ")}`;
        }
        return undefined;
      }
      case "SHARED_INFO": {
        const info = decodeSharedInfo(record.data, { guestWidth: (this.guestWidth as PvGuestWidth | undefined) ?? 8, baseOffset: body });
        return `  shared info: max_pfn ${hex(info.arch.maxPfn)}, ${info.evtchnPendingPorts.length} event channels pending, ${info.evtchnMaskPorts.length} masked`;
      }
      case "X86_CPUID_POLICY":
        return `  CPU: ${summarizeCpuPolicy(decodeCpuPolicy(record))}`;
      case "X86_MSR_POLICY":
        return `  MSRs: ${summarizeMsrPolicy(record)}`;
      default:
        return undefined;
    }
  }
}
