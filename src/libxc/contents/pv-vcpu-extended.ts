/**
 * X86_PV_VCPU_EXTENDED contents: `struct xen_domctl_ext_vcpucontext`
 * (xen/include/public/domctl.h) as the stream carries it.
 *
 * The v2 saver writes the first `size` bytes Xen's
 * XEN_DOMCTL_get_ext_vcpucontext returned (64 since Xen 4.10, 56 in
 * 4.3-4.9, 40 with only mcg_cap); legacy streams, and so converted ones,
 * carry a fixed 128-byte slice (tools/libs/guest/xg_sr_save_x86_pv.c
 * write_one_vcpu_extended(); spec hvm-context-and-cpu.md §4). Xen's
 * restore takes any blob up to 128 bytes and copies it into the domctl as
 * is (xg_sr_restore_x86_pv.c handle_x86_pv_vcpu_blob(),
 * process_vcpu_extended()). So the decoder reads the fields the blob holds
 * whole, in struct order, and keeps the bytes after the last whole field
 * (a cut field, the slack of a 128-byte slice) as `tail`.
 *
 * @module
 */
import { describeValue } from "../../errors.js";
import { Writer } from "../../wire/writer.js";
import {
  baseOffsetOf,
  checkBytes,
  checkObject,
  failLength,
  failValue,
  fieldSize,
  readFields,
  viewOf,
  writeFields,
  type FieldSpec,
} from "./pv-layout.js";
import type { ContentsEncodeOptions } from "./pv-vcpu.js";

/** Largest EXTENDED blob Xen's restore accepts (the domctl union's 128 bytes). */
export const VCPU_EXTENDED_MAX = 128;
/** sizeof(struct xen_domctl_ext_vcpucontext) in Xen >= 4.10. */
export const VCPU_EXTENDED_SIZE = 64;
/** offsetof(xen_domctl_ext_vcpucontext, vmce): the smallest `size` Xen's set accepts. */
export const VCPU_EXTENDED_VMCE_OFFSET = 32;

/** `struct hvm_vmce_vcpu` inside the extended context (arch-x86/hvm/save.h); each field as far as the blob holds it. */
export interface PvVcpuExtendedVmce {
  /** `caps`, the old `mcg_cap`. */
  caps?: bigint;
  mciCtl2Bank0?: bigint;
  mciCtl2Bank1?: bigint;
  mcgExtCtl?: bigint;
}

/**
 * A decoded X86_PV_VCPU_EXTENDED blob. Each field is present when the blob
 * holds it whole; the fields present always form a prefix of the struct.
 */
export interface PvVcpuExtended {
  /** The vCPU the domctl applies to (Xen uses this, not the record's vcpu_id). */
  vcpu?: number;
  /** Bytes of the struct that are valid (Xen's set needs >= 32). */
  size?: number;
  syscall32CallbackEip?: bigint;
  sysenterCallbackEip?: bigint;
  syscall32CallbackCs?: number;
  sysenterCallbackCs?: number;
  syscall32DisablesEvents?: number;
  sysenterDisablesEvents?: number;
  /** The 2 alignment bytes before `vmce` (not a Xen member; kept). */
  pad?: number;
  vmce?: PvVcpuExtendedVmce;
  /** Bytes after the last whole field; a view into the input. */
  tail: Uint8Array;
}

/** Options of {@link decodePvVcpuExtended}. */
export interface PvVcpuContentsDecodeOptions {
  /**
   * Absolute stream offset of the blob's first byte, for error offsets.
   * @defaultValue 0
   */
  baseOffset?: number;
}

/** Field offsets: domctl.h struct xen_domctl_ext_vcpucontext (spec §4). */
const EXTENDED_FIELDS: readonly FieldSpec[] = [
  { name: "vcpu", offset: 0, kind: "u32" },
  { name: "size", offset: 4, kind: "u32" },
  { name: "syscall32CallbackEip", offset: 8, kind: "u64" },
  { name: "sysenterCallbackEip", offset: 16, kind: "u64" },
  { name: "syscall32CallbackCs", offset: 24, kind: "u16" },
  { name: "sysenterCallbackCs", offset: 26, kind: "u16" },
  { name: "syscall32DisablesEvents", offset: 28, kind: "u8" },
  { name: "sysenterDisablesEvents", offset: 29, kind: "u8" },
  { name: "pad", offset: 30, kind: "u16" },
  { name: "vmce.caps", offset: 32, kind: "u64" },
  { name: "vmce.mciCtl2Bank0", offset: 40, kind: "u64" },
  { name: "vmce.mciCtl2Bank1", offset: 48, kind: "u64" },
  { name: "vmce.mcgExtCtl", offset: 56, kind: "u64" },
];

/**
 * Byte offset of a field of the extended context (`"size"`, `"vmce.caps"`).
 *
 * @param name - the field
 * @returns its offset, or undefined for an unknown name
 */
export function pvVcpuExtendedFieldOffset(name: string): number | undefined {
  return EXTENDED_FIELDS.find((spec) => spec.name === name)?.offset;
}

/**
 * Decodes an X86_PV_VCPU_EXTENDED blob.
 *
 * @param bytes - the record's context bytes (0 to 128)
 * @param options - base offset for errors
 * @returns the fields the blob holds whole, and the rest as `tail`
 * @throws {@link XenStreamError} BAD_LENGTH (at `baseOffset`) for a blob
 * over 128 bytes, which Xen's restore rejects
 */
export function decodePvVcpuExtended(bytes: Uint8Array, options: PvVcpuContentsDecodeOptions = {}): PvVcpuExtended {
  checkBytes(bytes, "decodePvVcpuExtended: bytes");
  const base = baseOffsetOf(options);
  if (bytes.length > VCPU_EXTENDED_MAX) {
    failLength(
      base,
      `X86_PV_VCPU_EXTENDED blob must be at most ${VCPU_EXTENDED_MAX} bytes (handle_x86_pv_vcpu_blob), got ${bytes.length}`,
    );
  }
  const present = EXTENDED_FIELDS.filter((spec) => spec.offset + fieldSize(spec) <= bytes.length);
  const out = readFields(bytes, viewOf(bytes), 0, present);
  const last = present[present.length - 1];
  const covered = last === undefined ? 0 : last.offset + fieldSize(last);
  out["tail"] = bytes.subarray(covered);
  return out as unknown as PvVcpuExtended;
}

/**
 * Encodes an X86_PV_VCPU_EXTENDED blob: the present fields, then `tail`.
 *
 * @param value - as {@link decodePvVcpuExtended} returns
 * @param options - base offset for errors
 * @returns new bytes
 * @throws {@link XenStreamError} BAD_VALUE for a value out of range, fields
 * that are not a prefix of the struct, or more than 128 bytes in all
 */
export function encodePvVcpuExtended(value: PvVcpuExtended, options: ContentsEncodeOptions = {}): Uint8Array {
  checkObject(value, "encodePvVcpuExtended: value");
  const base = baseOffsetOf(options);
  const source = value as unknown as Record<string, unknown>;
  const vmce = (source["vmce"] ?? {}) as Record<string, unknown>;
  const has = (spec: FieldSpec): boolean =>
    spec.name.startsWith("vmce.") ? vmce[spec.name.slice(5)] !== undefined : source[spec.name] !== undefined;
  let count = 0;
  while (count < EXTENDED_FIELDS.length && has(EXTENDED_FIELDS[count] as FieldSpec)) count++;
  const gap = EXTENDED_FIELDS.slice(count).find(has);
  if (gap !== undefined) {
    failValue(base + gap.offset, 
      `X86_PV_VCPU_EXTENDED: ${gap.name} is set but an earlier field is missing; the fields must be a prefix of xen_domctl_ext_vcpucontext`,
    );
  }
  const present = EXTENDED_FIELDS.slice(0, count);
  const last = present[present.length - 1];
  const covered = last === undefined ? 0 : last.offset + fieldSize(last);
  const tail = value.tail;
  if (!(tail instanceof Uint8Array)) {
    failValue(base + covered, `X86_PV_VCPU_EXTENDED: tail must be a Uint8Array, got ${describeValue(tail)}`);
  }
  const total = covered + tail.length;
  if (total > VCPU_EXTENDED_MAX) {
    failValue(base, `X86_PV_VCPU_EXTENDED: ${total} bytes is over Xen's ${VCPU_EXTENDED_MAX}`);
  }
  const writer = new Writer(total, true, base);
  writeFields(writer, 0, present, value, "");
  writer.pos = covered;
  writer.raw(tail);
  return writer.bytes;
}
