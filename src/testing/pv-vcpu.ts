/**
 * fast-check arbitraries of the PV vCPU record insides (X86_PV_VCPU_BASIC,
 * _EXTENDED, _XSAVE, _MSRS) and of SHARED_INFO pages, each with its bytes.
 *
 * Every byte string of the right size is a valid BASIC context or shared
 * info page, so those arbitraries draw the bytes (as 64-bit words that are
 * mostly zero, small or kernel-like addresses, as real contexts are) and
 * decode them: `value` is the decoder's normal form and
 * `encode(value)` equals `bytes`.
 *
 * @module
 */
import fc from "fast-check";
import { decodePvVcpuBasic, VCPU_GUEST_CONTEXT_SIZE_32, VCPU_GUEST_CONTEXT_SIZE_64 } from "../libxc/contents/pv-vcpu.js";
import type { PvGuestWidth, PvVcpuContext } from "../libxc/contents/pv-vcpu.js";
import { decodePvVcpuExtended, VCPU_EXTENDED_MAX, type PvVcpuExtended } from "../libxc/contents/pv-vcpu-extended.js";
import { decodePvVcpuXsave, PV_XSAVE_HDR_SIZE, PV_XSAVE_MIN_AREA_SIZE, type PvVcpuXsave } from "../libxc/contents/xsave.js";
import { decodePvVcpuMsrs, PV_VCPU_MSRS_ACCEPTED, type PvVcpuMsr } from "../libxc/contents/msrs.js";
import { decodeSharedInfo, SHARED_INFO_SIZE, type SharedInfo } from "../libxc/contents/shared-info.js";
import { invalid, type Encoded } from "./records.js";

/** Constraints of the width-dependent arbitraries. */
export interface PvWidthConstraints {
  /** Guest width; both widths when absent. */
  guestWidth?: PvGuestWidth;
}

/** Constraints of {@link pvVcpuMsrsBlob}. */
export interface PvVcpuMsrsConstraints {
  /**
   * Most entries.
   * @defaultValue 8
   */
  maxEntries?: number;
}

/** One little-endian u64 word, biased as real register files are. */
const word: fc.Arbitrary<bigint> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(0n) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 0xffffn }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0xffff_ffff_8000_0000n, max: 0xffff_ffff_ffff_ffffn }) },
  { weight: 2, arbitrary: fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn }) },
);

/** `size` bytes (a multiple of 8) made of {@link word}s. */
function wordBytes(size: number): fc.Arbitrary<Uint8Array> {
  return fc.array(word, { minLength: size / 8, maxLength: size / 8 }).map((words) => {
    const bytes = new Uint8Array(size);
    const view = new DataView(bytes.buffer);
    words.forEach((value, i) => view.setBigUint64(8 * i, value, true));
    return bytes;
  });
}

function widthOf(constraints: PvWidthConstraints, arbitrary: string): fc.Arbitrary<PvGuestWidth> {
  const width = constraints.guestWidth;
  if (width === undefined) return fc.constantFrom<PvGuestWidth>(8, 4);
  if (width !== 4 && width !== 8) invalid(arbitrary, `guestWidth must be 4 or 8, got ${String(width)}`);
  return fc.constant(width);
}

/**
 * An X86_PV_VCPU_BASIC context (`vcpu_guest_context`) and its bytes.
 *
 * @param constraints - guest width (both when absent)
 * @returns the arbitrary
 */
export function pvVcpuBasicContext(constraints: PvWidthConstraints = {}): fc.Arbitrary<Encoded<PvVcpuContext>> {
  return widthOf(constraints, "pvVcpuBasicContext").chain((width) =>
    wordBytes(width === 8 ? VCPU_GUEST_CONTEXT_SIZE_64 : VCPU_GUEST_CONTEXT_SIZE_32).map((bytes) => ({
      value: decodePvVcpuBasic(bytes, { guestWidth: width }),
      bytes,
    })),
  );
}

/**
 * An X86_PV_VCPU_EXTENDED blob of any size Xen's restore accepts (0-128
 * bytes; 64 and 128 most often) and its decoding.
 *
 * @returns the arbitrary
 */
export function pvVcpuExtendedBlob(): fc.Arbitrary<Encoded<PvVcpuExtended>> {
  const size = fc.oneof(fc.constantFrom(64, 128, 56, 40, 32), fc.integer({ min: 0, max: VCPU_EXTENDED_MAX }));
  return size
    .chain((length) => fc.uint8Array({ minLength: length, maxLength: length }))
    .map((bytes) => ({ value: decodePvVcpuExtended(bytes), bytes }));
}

/**
 * An X86_PV_VCPU_XSAVE blob (16 bytes, or 592 and up with an FXSAVE
 * region, an XSAVE header and raw components) and its decoding.
 *
 * @returns the arbitrary
 */
export function pvVcpuXsaveBlob(): fc.Arbitrary<Encoded<PvVcpuXsave>> {
  const size = fc.oneof(
    fc.constant(PV_XSAVE_HDR_SIZE),
    fc.integer({ min: 0, max: 24 }).map((words) => PV_XSAVE_MIN_AREA_SIZE + 8 * words),
  );
  return size.chain(wordBytes).map((bytes) => ({ value: decodePvVcpuXsave(bytes), bytes }));
}

/**
 * An X86_PV_VCPU_MSRS blob: entries with accepted or arbitrary indices.
 *
 * @param constraints - most entries
 * @returns the arbitrary
 */
export function pvVcpuMsrsBlob(constraints: PvVcpuMsrsConstraints = {}): fc.Arbitrary<Encoded<PvVcpuMsr[]>> {
  const maxEntries = constraints.maxEntries ?? 8;
  if (!Number.isInteger(maxEntries) || maxEntries < 0 || maxEntries > 4096) {
    invalid("pvVcpuMsrsBlob", `maxEntries must be an integer in 0..4096, got ${String(maxEntries)}`);
  }
  const entry = fc.record({
    index: fc.oneof(fc.constantFrom(...PV_VCPU_MSRS_ACCEPTED), fc.integer({ min: 0, max: 0xffff_ffff })),
    reserved: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff_ffff }) }),
    value: word,
  });
  return fc.array(entry, { maxLength: maxEntries }).map((entries) => {
    const bytes = new Uint8Array(entries.length * 16);
    const view = new DataView(bytes.buffer);
    entries.forEach((item, i) => {
      view.setUint32(16 * i, item.index, true);
      view.setUint32(16 * i + 4, item.reserved, true);
      view.setBigUint64(16 * i + 8, item.value, true);
    });
    return { value: decodePvVcpuMsrs(bytes), bytes };
  });
}

/**
 * A SHARED_INFO page and its decoding for the guest width.
 *
 * @param constraints - guest width (both when absent)
 * @returns the arbitrary
 */
export function sharedInfoPage(constraints: PvWidthConstraints = {}): fc.Arbitrary<Encoded<SharedInfo>> {
  return fc
    .tuple(widthOf(constraints, "sharedInfoPage"), wordBytes(SHARED_INFO_SIZE))
    .map(([width, bytes]) => ({ value: decodeSharedInfo(bytes, { guestWidth: width }), bytes }));
}
