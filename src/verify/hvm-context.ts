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
import { checkHvmContext, walkHvmContext } from "../libxc/contents/hvm-context.js";

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
 * Distinct vCPU instances among the CPU entries (typecode 2) of the blob,
 * stopping at END or at the first entry that does not fit.
 */
export function hvmContextVcpus(data: Uint8Array): number {
  const instances = new Set<number>();
  for (const descriptor of walkHvmContext(data).descriptors) if (descriptor.typecode === 2) instances.add(descriptor.instance);
  return instances.size;
}
