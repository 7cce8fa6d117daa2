/**
 * The verifier's view of an HVM_CONTEXT blob, delegated to the one HVM
 * context implementation (src/libxc/contents/hvm: descriptor walk and
 * hvm_load() check; hvm-context-and-cpu.md §1). Used for the vCPU count of
 * the summary and for the restore profile's "would hvm_load() accept
 * this?" rule.
 *
 * @module
 * @internal
 */
import { checkHvmContext, walkHvmContext, type HvmContextCheckOptions, type HvmContextFindingCode } from "../libxc/contents/hvm-context.js";
import type { AnyFindingCode, Severity } from "./types.js";

/**
 * Why Xen's hvm_load() would refuse the blob (the first error of
 * checkHvmContext: framing, HEADER, END, typecodes, lengths, instances;
 * field values are not checked here), with the byte position in the blob;
 * undefined when it would accept it.
 */
export function hvmContextProblem(data: Uint8Array): { pos: number; message: string } | undefined {
  const error = checkHvmContext(data, { fields: false }).find((finding) => finding.severity === "error");
  return error === undefined ? undefined : { pos: error.pos, message: error.message };
}

/**
 * The verifier's code for an HVM context finding: BAD_HVM_CONTEXT for what
 * hvm_load() refuses; the warnings about what it loads although no Xen
 * writes it get the codes of their kind (a repeated entry; bytes it never
 * reads after END).
 */
const HVM_CONTEXT_CODES: Readonly<Record<HvmContextFindingCode, AnyFindingCode>> = {
  FRAMING: "BAD_HVM_CONTEXT",
  NO_HEADER: "BAD_HVM_CONTEXT",
  BAD_MAGIC: "BAD_HVM_CONTEXT",
  BAD_VERSION: "BAD_HVM_CONTEXT",
  UNKNOWN_TYPECODE: "BAD_HVM_CONTEXT",
  BAD_LENGTH: "BAD_HVM_CONTEXT",
  BAD_INSTANCE: "BAD_HVM_CONTEXT",
  NO_DEVICE: "BAD_HVM_CONTEXT",
  BAD_FIELD: "BAD_HVM_CONTEXT",
  NO_END: "BAD_HVM_CONTEXT",
  DUPLICATE_ENTRY: "DUPLICATE_ENTRY",
  AFTER_END: "IGNORED_DATA",
};

/** What the restore profile reports about an HVM context blob. */
export interface HvmContextVerdict {
  severity: Severity;
  code: AnyFindingCode;
  message: string;
  /** Absolute offset: the blob's `baseOffset` plus the position inside it. */
  offset: number;
}

/**
 * Every finding of checkHvmContext on the blob (framing, order, lengths,
 * instances, devices and field values), with the verifier's codes: errors
 * where hvm_load() would refuse the blob, warnings where it loads what no
 * Xen writes.
 */
export function hvmContextFindings(
  data: Uint8Array,
  facts: Pick<HvmContextCheckOptions, "vcpus" | "emulation" | "baseOffset">,
): HvmContextVerdict[] {
  return checkHvmContext(data, facts).map((finding) => ({
    severity: finding.severity,
    code: HVM_CONTEXT_CODES[finding.code],
    message: finding.message,
    offset: finding.offset,
  }));
}

/**
 * Distinct vCPU instances among the CPU entries (typecode 2) of the blob,
 * stopping at END or at the first entry that does not fit.
 */
export function hvmContextVcpus(data: Uint8Array): number {
  const instances = new Set<number>();
  for (const descriptor of walkHvmContext(data).descriptors) if (descriptor.typecode === 2) instances.add(descriptor.instance);
  return instances.size;
}
