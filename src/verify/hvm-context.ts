/**
 * A light walk over an HVM_CONTEXT blob (hvm-context-and-cpu.md §1): 8-byte
 * descriptors {typecode u16, instance u16, length u32}, no padding, HEADER
 * first, END (typecode 0) last. Used for the vCPU count of the summary and
 * for the restore profile's "would hvm_load() accept this?" check (Xen
 * xen/arch/x86/hvm/save.c: hvm_load()).
 *
 * @module
 * @internal
 */

/** HVM save typecodes used here (public/arch-x86/hvm/save.h). */
const HVM_TYPE_END = 0;
const HVM_TYPE_HEADER = 1;
const HVM_TYPE_CPU = 2;
/** HVM_SAVE_CODE_MAX: the highest typecode Xen loads. */
const HVM_SAVE_CODE_MAX = 20;
const DESCRIPTOR_SIZE = 8;
const HEADER_LENGTH = 24;
/** HVM_FILE_MAGIC. */
const HVM_FILE_MAGIC = 0x5438_1286;
/** HVM_FILE_VERSION. */
const HVM_FILE_VERSION = 1;

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Why Xen's hvm_load() would refuse the blob, with the byte position in
 * the blob; undefined when it would accept the framing.
 */
export function hvmContextProblem(data: Uint8Array): { pos: number; message: string } | undefined {
  const view = viewOf(data);
  if (data.length < DESCRIPTOR_SIZE + HEADER_LENGTH) {
    return { pos: 0, message: `blob of ${data.length} bytes is too short for the HEADER entry (${DESCRIPTOR_SIZE + HEADER_LENGTH} bytes)` };
  }
  const firstType = view.getUint16(0, true);
  const firstLength = view.getUint32(4, true);
  if (firstType !== HVM_TYPE_HEADER || firstLength !== HEADER_LENGTH) {
    return { pos: 0, message: `first entry must be HEADER (typecode 1, length 24), got typecode ${firstType}, length ${firstLength}` };
  }
  const magic = view.getUint32(DESCRIPTOR_SIZE, true);
  if (magic !== HVM_FILE_MAGIC) {
    return { pos: DESCRIPTOR_SIZE, message: `HEADER magic must be 0x54381286, got 0x${magic.toString(16).padStart(8, "0")}` };
  }
  const version = view.getUint32(DESCRIPTOR_SIZE + 4, true);
  if (version !== HVM_FILE_VERSION) {
    return { pos: DESCRIPTOR_SIZE + 4, message: `HEADER version must be 1, got ${version}` };
  }
  let pos = DESCRIPTOR_SIZE + HEADER_LENGTH;
  while (pos + DESCRIPTOR_SIZE <= data.length) {
    const typecode = view.getUint16(pos, true);
    const length = view.getUint32(pos + 4, true);
    if (typecode === HVM_TYPE_END) return undefined;
    if (typecode > HVM_SAVE_CODE_MAX) return { pos, message: `entry with unknown typecode ${typecode} (Xen loads 1..20)` };
    if (length > data.length - pos - DESCRIPTOR_SIZE) {
      return { pos, message: `entry typecode ${typecode} of ${length} bytes runs past the end of the blob` };
    }
    pos += DESCRIPTOR_SIZE + length;
  }
  return { pos, message: "no END entry (typecode 0): Xen runs out of data" };
}

/**
 * Distinct vCPU instances among the CPU entries (typecode 2) of the blob,
 * stopping at END or at the first entry that does not fit.
 */
export function hvmContextVcpus(data: Uint8Array): number {
  const view = viewOf(data);
  const instances = new Set<number>();
  let pos = 0;
  while (pos + DESCRIPTOR_SIZE <= data.length) {
    const typecode = view.getUint16(pos, true);
    const instance = view.getUint16(pos + 2, true);
    const length = view.getUint32(pos + 4, true);
    if (typecode === HVM_TYPE_END) break;
    if (length > data.length - pos - DESCRIPTOR_SIZE) break;
    if (typecode === HVM_TYPE_CPU) instances.add(instance);
    pos += DESCRIPTOR_SIZE + length;
  }
  return instances.size;
}
