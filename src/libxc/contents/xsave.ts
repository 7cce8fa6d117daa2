/**
 * X86_PV_VCPU_XSAVE contents and the FXSAVE image.
 *
 * The blob is what XEN_DOMCTL_getvcpuextstate writes
 * (xen/arch/x86/domctl.c): `xcr0` u64, `xcr0_accum` u64, then the XSAVE
 * area in the standard (uncompressed) layout: the 512-byte legacy FXSAVE
 * region, the 64-byte XSAVE header (`struct xsave_hdr` of
 * xen/arch/x86/include/asm/xstate.h: xstate_bv, xcomp_bv, reserved[6]) and
 * the extended components, which are kept raw. Xen's set accepts exactly
 * 16 bytes ("nothing to restore") or 16 + 576 and more; sizes in between
 * "can't be legitimate data" (domctl.c XEN_DOMCTL_setvcpuextstate).
 *
 * The FXSAVE layout (`fpu_sse` of `struct xsave_struct`) also decodes the
 * 512-byte `fpuCtxt` of X86_PV_VCPU_BASIC (when the vCPU's FPU state was
 * saved with FXSAVE, as on every CPU Xen supports).
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
  readFields,
  viewOf,
  writeFields,
  type FieldSpec,
} from "./pv-layout.js";
import type { ContentsEncodeOptions } from "./pv-vcpu.js";
import type { PvVcpuContentsDecodeOptions } from "./pv-vcpu-extended.js";

/** FXSAVE_SIZE (asm/xstate.h). */
export const FXSAVE_SIZE = 512;
/** XSAVE_HDR_SIZE (asm/xstate.h). */
export const XSAVE_HDR_SIZE = 64;
/** The xcr0 + xcr0_accum words in front of the PV XSAVE area (domctl.c PV_XSAVE_HDR_SIZE). */
export const PV_XSAVE_HDR_SIZE = 16;
/** Smallest PV XSAVE blob with an area: 16 + XSTATE_AREA_MIN_SIZE (512 + 64). */
export const PV_XSAVE_MIN_AREA_SIZE = PV_XSAVE_HDR_SIZE + FXSAVE_SIZE + XSAVE_HDR_SIZE;
/** XSTATE_COMPACTION_ENABLED: bit 63 of xcomp_bv (asm/xstate.h). */
export const XSTATE_COMPACTION_ENABLED = 1n << 63n;

/** X86_XCR0_* bit positions (xen/arch/x86/include/asm/x86-defns.h). */
export const Xcr0Bit = {
  X86_XCR0_FP: 0,
  X86_XCR0_SSE: 1,
  X86_XCR0_YMM: 2,
  X86_XCR0_BNDREGS: 3,
  X86_XCR0_BNDCSR: 4,
  X86_XCR0_OPMASK: 5,
  X86_XCR0_ZMM: 6,
  X86_XCR0_HI_ZMM: 7,
  X86_XCR0_PKRU: 9,
  X86_XCR0_LWP: 62,
} as const;

/** One of the {@link Xcr0Bit} names. */
export type Xcr0BitName = keyof typeof Xcr0Bit;

/**
 * The 512-byte legacy FXSAVE region (`fpu_sse` of `struct xsave_struct`,
 * asm/xstate.h; register areas as the Intel SDM's FXSAVE table).
 */
export interface FxsaveArea {
  fcw: number;
  fsw: number;
  /** Abridged tag word, u8. */
  ftw: number;
  rsvd1: number;
  fop: number;
  /** FPU instruction pointer (64-bit form; offs u32 + sel u16 + rsvd u16 in 32-bit form). */
  fip: bigint;
  /** FPU data pointer, same forms as `fip`. */
  fdp: bigint;
  mxcsr: number;
  mxcsrMask: number;
  /** ST0-ST7 / MM0-MM7, 16 bytes each (80-bit register + 6 reserved); views into the input. */
  st: Uint8Array[];
  /** XMM0-XMM15, 16 bytes each; views into the input. */
  xmm: Uint8Array[];
  /** Bytes 416-511 (reserved / available to software); a view. */
  rest: Uint8Array;
}

/** `struct xsave_hdr` (asm/xstate.h), 64 bytes. */
export interface XsaveHeader {
  xstateBv: bigint;
  /** Bit 63 set means compacted format, which Xen's set refuses. */
  xcompBv: bigint;
  /** `reserved[6]`, must be zero (validate_xstate(): -EIO). */
  reserved: bigint[];
}

/** A decoded X86_PV_VCPU_XSAVE blob. */
export interface PvVcpuXsave {
  xcr0: bigint;
  xcr0Accum: bigint;
  /** The FXSAVE region; absent in a 16-byte blob. */
  legacy?: FxsaveArea;
  /** The XSAVE header; absent in a 16-byte blob. */
  header?: XsaveHeader;
  /** The extended components after the header, raw (may be empty); absent in a 16-byte blob. */
  extended?: Uint8Array;
  /** Names of the set bits of `xcr0` (derived; encoders ignore it). */
  xcr0Names: Xcr0BitName[];
}

const FXSAVE_FIELDS: readonly FieldSpec[] = [
  { name: "fcw", offset: 0, kind: "u16" },
  { name: "fsw", offset: 2, kind: "u16" },
  { name: "ftw", offset: 4, kind: "u8" },
  { name: "rsvd1", offset: 5, kind: "u8" },
  { name: "fop", offset: 6, kind: "u16" },
  { name: "fip", offset: 8, kind: "u64" },
  { name: "fdp", offset: 16, kind: "u64" },
  { name: "mxcsr", offset: 24, kind: "u32" },
  { name: "mxcsrMask", offset: 28, kind: "u32" },
  { name: "rest", offset: 416, kind: "bytes", count: 96 },
];
const ST_OFFSET = 32;
const XMM_OFFSET = 160;
const REGISTER_SIZE = 16;

const HEADER_FIELDS: readonly FieldSpec[] = [
  { name: "xstateBv", offset: 0, kind: "u64" },
  { name: "xcompBv", offset: 8, kind: "u64" },
  { name: "reserved", offset: 16, kind: "u64", count: 6 },
];

function registers(bytes: Uint8Array, at: number, count: number): Uint8Array[] {
  const out = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) out[i] = bytes.subarray(at + i * REGISTER_SIZE, at + (i + 1) * REGISTER_SIZE);
  return out;
}

function readFxsave(bytes: Uint8Array, view: DataView, at: number): FxsaveArea {
  const out = readFields(bytes, view, at, FXSAVE_FIELDS);
  out["st"] = registers(bytes, at + ST_OFFSET, 8);
  out["xmm"] = registers(bytes, at + XMM_OFFSET, 16);
  return out as unknown as FxsaveArea;
}

function writeFxsave(writer: Writer, at: number, area: FxsaveArea, prefix: string): void {
  writer.pos = at;
  if (typeof area !== "object" || area === null) writer.fail(`${prefix} must be an FXSAVE area object, got ${describeValue(area)}`);
  writeFields(writer, at, FXSAVE_FIELDS, area, `${prefix}.`);
  for (const [name, offset, count] of [["st", ST_OFFSET, 8], ["xmm", XMM_OFFSET, 16]] as const) {
    const list: unknown = area[name];
    writer.pos = at + offset;
    if (!Array.isArray(list) || list.length !== count) writer.fail(`${prefix}.${name} must be ${count} registers, got ${describeValue(list)}`);
    for (let i = 0; i < count; i++) {
      const register: unknown = list[i];
      writer.pos = at + offset + i * REGISTER_SIZE;
      if (!(register instanceof Uint8Array) || register.length !== REGISTER_SIZE) {
        writer.fail(`${prefix}.${name}[${i}] must be ${REGISTER_SIZE} bytes, got ${describeValue(register)}`);
      }
      writer.raw(register);
    }
  }
}

/**
 * Decodes a 512-byte FXSAVE image (the legacy region of an XSAVE area, or
 * the `fpuCtxt` of a PV vCPU context).
 *
 * @param bytes - exactly 512 bytes
 * @param options - base offset for errors
 * @returns the fields; register contents are views into `bytes`
 * @throws {@link XenStreamError} BAD_LENGTH for another size
 */
export function decodeFxsave(bytes: Uint8Array, options: PvVcpuContentsDecodeOptions = {}): FxsaveArea {
  checkBytes(bytes, "decodeFxsave: bytes");
  const base = baseOffsetOf(options);
  if (bytes.length !== FXSAVE_SIZE) failLength(base, `FXSAVE image must be ${FXSAVE_SIZE} bytes, got ${bytes.length}`);
  return readFxsave(bytes, viewOf(bytes), 0);
}

/**
 * Encodes a 512-byte FXSAVE image.
 *
 * @param area - as {@link decodeFxsave} returns
 * @param options - base offset for errors
 * @returns new bytes
 * @throws {@link XenStreamError} BAD_VALUE for a field out of range or a
 * register that is not 16 bytes
 */
export function encodeFxsave(area: FxsaveArea, options: ContentsEncodeOptions = {}): Uint8Array {
  const writer = new Writer(FXSAVE_SIZE, true, baseOffsetOf(options));
  writeFxsave(writer, 0, area, "fxsave");
  return writer.bytes;
}

/**
 * Names of the set bits of an xcr0-style mask (xcr0, xcr0_accum,
 * xstate_bv).
 *
 * @param mask - the u64 mask
 * @returns the X86_XCR0_* names of its known set bits
 */
export function xcr0Names(mask: bigint): Xcr0BitName[] {
  const names: Xcr0BitName[] = [];
  for (const [name, bit] of Object.entries(Xcr0Bit) as [Xcr0BitName, number][]) {
    if (((mask >> BigInt(bit)) & 1n) !== 0n) names.push(name);
  }
  return names;
}

/**
 * Decodes an X86_PV_VCPU_XSAVE blob.
 *
 * @param bytes - the record's context bytes: 16, or at least 592
 * @param options - base offset for errors
 * @returns xcr0, xcr0_accum and, when present, the FXSAVE region, the
 * XSAVE header and the extended components (raw)
 * @throws {@link XenStreamError} BAD_LENGTH (at `baseOffset`) for fewer
 * than 16 bytes, or 17 to 591 bytes (Xen's setvcpuextstate rejects both)
 */
export function decodePvVcpuXsave(bytes: Uint8Array, options: PvVcpuContentsDecodeOptions = {}): PvVcpuXsave {
  checkBytes(bytes, "decodePvVcpuXsave: bytes");
  const base = baseOffsetOf(options);
  if (bytes.length < PV_XSAVE_HDR_SIZE) {
    failLength(base, `X86_PV_VCPU_XSAVE blob must be at least ${PV_XSAVE_HDR_SIZE} bytes (xcr0, xcr0_accum), got ${bytes.length}`);
  }
  if (bytes.length !== PV_XSAVE_HDR_SIZE && bytes.length < PV_XSAVE_MIN_AREA_SIZE) {
    failLength(
      base,
      `X86_PV_VCPU_XSAVE blob must be ${PV_XSAVE_HDR_SIZE} bytes or at least ${PV_XSAVE_MIN_AREA_SIZE} (xcr0, xcr0_accum, FXSAVE region, XSAVE header), got ${bytes.length}`,
    );
  }
  const view = viewOf(bytes);
  const xcr0 = view.getBigUint64(0, true);
  const out: PvVcpuXsave = { xcr0, xcr0Accum: view.getBigUint64(8, true), xcr0Names: xcr0Names(xcr0) };
  if (bytes.length >= PV_XSAVE_MIN_AREA_SIZE) {
    out.legacy = readFxsave(bytes, view, PV_XSAVE_HDR_SIZE);
    out.header = readFields(bytes, view, PV_XSAVE_HDR_SIZE + FXSAVE_SIZE, HEADER_FIELDS) as unknown as XsaveHeader;
    out.extended = bytes.subarray(PV_XSAVE_MIN_AREA_SIZE);
  }
  return out;
}

/**
 * Encodes an X86_PV_VCPU_XSAVE blob: 16 bytes without `legacy`, else
 * 592 + `extended.length`.
 *
 * @param value - as {@link decodePvVcpuXsave} returns
 * @param options - base offset for errors
 * @returns new bytes
 * @throws {@link XenStreamError} BAD_VALUE for a value out of range, or
 * `legacy`, `header` and `extended` not all present or all absent
 */
export function encodePvVcpuXsave(value: PvVcpuXsave, options: ContentsEncodeOptions = {}): Uint8Array {
  checkObject(value, "encodePvVcpuXsave: value");
  const base = baseOffsetOf(options);
  const parts = [value.legacy, value.header, value.extended].filter((part) => part !== undefined).length;
  if (parts !== 0 && parts !== 3) {
    failValue(base + PV_XSAVE_HDR_SIZE, "X86_PV_VCPU_XSAVE: legacy, header and extended must be all present or all absent");
  }
  const extended = value.extended;
  if (extended !== undefined && !(extended instanceof Uint8Array)) {
    failValue(base + PV_XSAVE_MIN_AREA_SIZE, `X86_PV_VCPU_XSAVE: extended must be a Uint8Array, got ${describeValue(extended)}`);
  }
  const writer = new Writer(extended === undefined ? PV_XSAVE_HDR_SIZE : PV_XSAVE_MIN_AREA_SIZE + extended.length, true, base);
  writer.u64(value.xcr0, "xcr0");
  writer.u64(value.xcr0Accum, "xcr0Accum");
  if (value.legacy !== undefined && value.header !== undefined && extended !== undefined) {
    writeFxsave(writer, PV_XSAVE_HDR_SIZE, value.legacy, "legacy");
    writer.pos = PV_XSAVE_HDR_SIZE + FXSAVE_SIZE;
    if (typeof value.header !== "object" || value.header === null) writer.fail(`header must be an object, got ${describeValue(value.header)}`);
    writeFields(writer, PV_XSAVE_HDR_SIZE + FXSAVE_SIZE, HEADER_FIELDS, value.header, "header.");
    writer.pos = PV_XSAVE_MIN_AREA_SIZE;
    writer.raw(extended);
  }
  return writer.bytes;
}
