/**
 * One entry point for the insides of the four PV vCPU records: decode or
 * encode a record's `context` by its type (for dumps and tools that walk
 * every record).
 *
 * @module
 */
import type { VcpuRecordTypeName } from "../types.js";
import { failUsage } from "./pv-layout.js";
import {
  decodePvVcpuBasic,
  encodePvVcpuBasic,
  type ContentsEncodeOptions,
  type PvGuestWidth,
  type PvVcpuContext,
} from "./pv-vcpu.js";
import { decodePvVcpuExtended, encodePvVcpuExtended, type PvVcpuExtended } from "./pv-vcpu-extended.js";
import { decodePvVcpuXsave, encodePvVcpuXsave, type PvVcpuXsave } from "./xsave.js";
import { decodePvVcpuMsrs, encodePvVcpuMsrs, type PvVcpuMsr } from "./msrs.js";

/** The decoded context of a PV vCPU record, tagged with the record type. */
export type PvVcpuContents =
  | { type: "X86_PV_VCPU_BASIC"; basic: PvVcpuContext }
  | { type: "X86_PV_VCPU_EXTENDED"; extended: PvVcpuExtended }
  | { type: "X86_PV_VCPU_XSAVE"; xsave: PvVcpuXsave }
  | { type: "X86_PV_VCPU_MSRS"; msrs: PvVcpuMsr[] };

/** Options of {@link decodePvVcpuContents}. */
export interface PvVcpuContentsOptions {
  /** Guest width from X86_PV_INFO (BASIC infers it from the size when absent). */
  guestWidth?: PvGuestWidth;
  /**
   * Absolute stream offset of the context's first byte (record body + 8).
   * @defaultValue 0
   */
  baseOffset?: number;
}

/**
 * Decodes a PV vCPU record's context by the record type.
 *
 * @param type - X86_PV_VCPU_BASIC, _EXTENDED, _XSAVE or _MSRS
 * @param context - the record's context bytes
 * @param options - guest width and base offset
 * @returns the tagged contents
 * @throws {@link XenStreamError} as the per-type decoders (BAD_LENGTH with
 * the offset); USAGE for another type
 *
 * @example
 * ```ts
 * import { decodePvVcpuContents } from "xen-migration-stream";
 * const contents = decodePvVcpuContents(record.type, record.context, { guestWidth: 8 });
 * if (contents.type === "X86_PV_VCPU_BASIC") contents.basic.userRegs; // ...
 * ```
 */
export function decodePvVcpuContents(
  type: VcpuRecordTypeName,
  context: Uint8Array,
  options: PvVcpuContentsOptions = {},
): PvVcpuContents {
  const base = options.baseOffset === undefined ? {} : { baseOffset: options.baseOffset };
  switch (type) {
    case "X86_PV_VCPU_BASIC":
      return { type, basic: decodePvVcpuBasic(context, options.guestWidth === undefined ? base : { ...base, guestWidth: options.guestWidth }) };
    case "X86_PV_VCPU_EXTENDED":
      return { type, extended: decodePvVcpuExtended(context, base) };
    case "X86_PV_VCPU_XSAVE":
      return { type, xsave: decodePvVcpuXsave(context, base) };
    case "X86_PV_VCPU_MSRS":
      return { type, msrs: decodePvVcpuMsrs(context, base) };
    default:
      return failUsage(`decodePvVcpuContents: ${String(type)} is not a PV vCPU record type`);
  }
}

/**
 * Encodes the contents {@link decodePvVcpuContents} returns back to the
 * record's context bytes.
 *
 * @param contents - the tagged contents
 * @param options - base offset for errors
 * @returns new bytes
 * @throws {@link XenStreamError} BAD_VALUE as the per-type encoders; USAGE
 * for an unknown tag
 */
export function encodePvVcpuContents(contents: PvVcpuContents, options: ContentsEncodeOptions = {}): Uint8Array {
  switch (contents.type) {
    case "X86_PV_VCPU_BASIC":
      return encodePvVcpuBasic(contents.basic, options);
    case "X86_PV_VCPU_EXTENDED":
      return encodePvVcpuExtended(contents.extended, options);
    case "X86_PV_VCPU_XSAVE":
      return encodePvVcpuXsave(contents.xsave, options);
    case "X86_PV_VCPU_MSRS":
      return encodePvVcpuMsrs(contents.msrs, options);
    default:
      return failUsage(`encodePvVcpuContents: unknown contents type ${String((contents as { type?: unknown }).type)}`);
  }
}
