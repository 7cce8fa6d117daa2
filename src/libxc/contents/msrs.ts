/**
 * X86_PV_VCPU_MSRS contents: an array of `xen_domctl_vcpu_msr_t`
 * {index u32, reserved u32, value u64} (xen/include/public/domctl.h), as
 * XEN_DOMCTL_get_vcpu_msrs writes them (tools/libs/guest/xg_sr_save_x86_pv.c
 * write_one_vcpu_msrs()), each named from Xen's msr-index.h.
 *
 * @module
 */
import { describeValue } from "../../errors.js";
import { Writer } from "../../wire/writer.js";
import { baseOffsetOf, checkBytes, failLength, failValue, viewOf } from "./pv-layout.js";
import { msrName } from "./msr-names.js";
import type { ContentsEncodeOptions } from "./pv-vcpu.js";
import type { PvVcpuContentsDecodeOptions } from "./pv-vcpu-extended.js";

/** sizeof(xen_domctl_vcpu_msr_t). */
export const VCPU_MSR_SIZE = 16;

/**
 * The MSRs Xen 4.17's XEN_DOMCTL_set_vcpu_msrs accepts for a PV vCPU
 * (xen/arch/x86/domctl.c `msrs_to_send[]` and its switch); any other index
 * fails the restore with -EINVAL.
 */
export const PV_VCPU_MSRS_ACCEPTED: readonly number[] = [
  0x0000_0048, // MSR_SPEC_CTRL
  0x0000_0140, // MSR_INTEL_MISC_FEATURES_ENABLES
  0xc000_0103, // MSR_TSC_AUX
  0xc001_1027, // MSR_AMD64_DR0_ADDRESS_MASK
  0xc001_1019, // MSR_AMD64_DR1_ADDRESS_MASK
  0xc001_101a, // MSR_AMD64_DR2_ADDRESS_MASK
  0xc001_101b, // MSR_AMD64_DR3_ADDRESS_MASK
];

/** One `xen_domctl_vcpu_msr_t`. */
export interface PvVcpuMsr {
  index: number;
  /** Must be zero (domctl.c: -EINVAL otherwise). */
  reserved: number;
  value: bigint;
  /** Xen's name of `index` ({@link msrName}); derived, ignored by the encoder. */
  name: string | undefined;
}

/**
 * Decodes an X86_PV_VCPU_MSRS blob.
 *
 * @param bytes - the record's context bytes, a multiple of 16
 * @param options - base offset for errors
 * @returns the entries in blob order
 * @throws {@link XenStreamError} BAD_LENGTH at the first byte of a partial
 * trailing entry
 */
export function decodePvVcpuMsrs(bytes: Uint8Array, options: PvVcpuContentsDecodeOptions = {}): PvVcpuMsr[] {
  checkBytes(bytes, "decodePvVcpuMsrs: bytes");
  const base = baseOffsetOf(options);
  const count = Math.floor(bytes.length / VCPU_MSR_SIZE);
  if (bytes.length % VCPU_MSR_SIZE !== 0) {
    failLength(
      base + count * VCPU_MSR_SIZE,
      `X86_PV_VCPU_MSRS blob must be a multiple of ${VCPU_MSR_SIZE} bytes (xen_domctl_vcpu_msr_t), got ${bytes.length}`,
    );
  }
  const view = viewOf(bytes);
  const entries = new Array<PvVcpuMsr>(count);
  for (let i = 0; i < count; i++) {
    const at = i * VCPU_MSR_SIZE;
    const index = view.getUint32(at, true);
    entries[i] = {
      index,
      reserved: view.getUint32(at + 4, true),
      value: view.getBigUint64(at + 8, true),
      name: msrName(index),
    };
  }
  return entries;
}

/**
 * Encodes an X86_PV_VCPU_MSRS blob (`name` is ignored).
 *
 * @param entries - as {@link decodePvVcpuMsrs} returns
 * @param options - base offset for errors
 * @returns new bytes, 16 per entry
 * @throws {@link XenStreamError} BAD_VALUE (at the entry's field) for a value
 * out of range
 */
export function encodePvVcpuMsrs(entries: readonly PvVcpuMsr[], options: ContentsEncodeOptions = {}): Uint8Array {
  const base = baseOffsetOf(options);
  if (!Array.isArray(entries)) failValue(base, `X86_PV_VCPU_MSRS: entries must be an array, got ${describeValue(entries)}`);
  const writer = new Writer(entries.length * VCPU_MSR_SIZE, true, base);
  entries.forEach((entry, i) => {
    writer.pos = i * VCPU_MSR_SIZE;
    if (typeof entry !== "object" || entry === null) writer.fail(`entries[${i}] must be an object, got ${describeValue(entry)}`);
    writer.u32(entry.index, `entries[${i}].index`);
    writer.u32(entry.reserved, `entries[${i}].reserved`);
    writer.u64(entry.value, `entries[${i}].value`);
  });
  return writer.bytes;
}
