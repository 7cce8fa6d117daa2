/**
 * The HVM save type table: typecode -> { name, struct, scope, load rule,
 * sizes by Xen version, decode, encode }. The one place that says what
 * this library knows about each code of
 * xen/include/public/arch-x86/hvm/save.h; the context codec and the
 * restore check both read it.
 *
 * Load rules (xen/arch/x86/include/asm/hvm/save.h): `strict` =
 * hvm_load_entry(), the length must equal the struct size; `zero-extend`
 * = hvm_load_entry_zeroextend(), any length up to the size, missing bytes
 * read as zero; `custom` = the loader checks the length itself (CPU_XSAVE,
 * CPU_MSR in xen/arch/x86/hvm/hvm.c).
 *
 * @module
 * @internal
 */
import { XenStreamError } from "../../../errors.js";
import { badValue, type Layout } from "./layout.js";
import {
  HVM_HW_CPU,
  HVM_HW_CPU_COMPAT,
  HVM_HW_CPU_XSAVE,
  HVM_HW_HPET,
  HVM_HW_ISA_IRQS,
  HVM_HW_LAPIC,
  HVM_HW_LAPIC_REGS,
  HVM_HW_MTRR,
  HVM_HW_PCI_IRQS,
  HVM_HW_PCI_LINK,
  HVM_HW_PIT,
  HVM_HW_PMTIMER,
  HVM_HW_RTC,
  HVM_HW_VIOAPIC,
  HVM_HW_VPIC,
  HVM_MSR_HEAD,
  HVM_ONE_MSR,
  HVM_SAVE_HEADER,
  HVM_TSC_ADJUST,
  HVM_VIRIDIAN_DOMAIN_CONTEXT,
  HVM_VIRIDIAN_VCPU_CONTEXT,
  HVM_VMCE_VCPU,
  decodeSpread,
  encodeSpread,
  memberAt,
} from "./structs.js";
import type { HvmSaveTypeName } from "./types.js";

/** A Xen release as [major, minor]. */
export type XenRelease = readonly [major: number, minor: number];

/** The body length Xen's saver writes from a release on. */
export interface HvmSaveSize {
  /** Body length in bytes. */
  readonly length: number;
  /** First Xen release that writes it (git history of public/arch-x86/hvm/save.h; 3.1 = the format's first release). */
  readonly since: XenRelease;
}

/** Decoded body: struct fields and the bytes after the struct. */
export interface DecodedBody {
  fields: Record<string, unknown>;
  tail: Uint8Array | undefined;
}

/** One row of the table. */
export interface HvmSaveType {
  readonly typecode: number;
  readonly name: HvmSaveTypeName;
  /** Xen's struct name ("" for END). */
  readonly struct: string;
  /** Per domain, per vCPU (instance = vCPU id), or the framing entries. */
  readonly scope: "domain" | "vcpu" | "framing";
  readonly load: "strict" | "zero-extend" | "custom" | "end";
  /** Lengths written by Xen's savers, oldest first (CPU_XSAVE/CPU_MSR: the fixed part). */
  readonly sizes: readonly HvmSaveSize[];
  /** The loader's highest instance, when it checks one for a per-domain type (PIC: 1). */
  readonly maxInstance?: number;
  /**
   * The emulated device the loader needs (it fails with -ENODEV without):
   * has_vpic(), has_vioapic(), has_vlapic(), has_vpit(), has_vrtc(),
   * has_vhpet(), has_vpm() in the loaders.
   */
  readonly device?: "vpic" | "vioapic" | "vlapic" | "vpit" | "vrtc" | "vhpet" | "vpm";
  /**
   * Decodes a body of any length (never throws on content).
   *
   * @param body - the entry's body, as long as its descriptor says
   * @returns the struct's fields that the body holds, and any bytes past them
   */
  decode(body: Uint8Array): DecodedBody;
  /**
   * Encodes a body of exactly `length` bytes; `offset` (the body's position
   * in the output) locates errors.
   *
   * @param fields - the fields, as `decode` returns them
   * @param length - the body length to write
   * @param tail - bytes past the struct's fields, if any
   * @param offset - the body's position in the output, for error offsets
   * @returns the body
   * @throws {@link index!XenStreamError} BAD_VALUE for a field out of range
   * or a tail that does not fit `length`
   */
  encode(fields: unknown, length: number, tail: Uint8Array | undefined, offset: number): Uint8Array;
}

const EMPTY = new Uint8Array(0);

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The struct's bytes, zero-extended to its size when the body is shorter. */
function extended(body: Uint8Array, size: number): Uint8Array {
  if (body.length >= size) return body;
  const out = new Uint8Array(size);
  out.set(body);
  return out;
}

function decodeFixed(layout: Layout, body: Uint8Array): DecodedBody {
  return {
    fields: decodeSpread(viewOf(extended(body, layout.size)), 0, layout),
    tail: body.length > layout.size ? body.subarray(layout.size) : undefined,
  };
}

/**
 * Writes `natural` (the encoded struct) as a body of `length` bytes: cut
 * where the bytes cut off are zero (what a zero-extending decode gave),
 * followed by `tail` where longer.
 */
function fitBody(
  natural: Uint8Array,
  length: number,
  tail: Uint8Array | undefined,
  offset: number,
  name: string,
  describe: (at: number) => string,
): Uint8Array {
  const extra = tail ?? EMPTY;
  if (length <= natural.length) {
    for (let at = length; at < natural.length; at++) {
      if (natural[at] !== 0) {
        throw new XenStreamError(
          "BAD_VALUE",
          offset + at,
          `HVM context: ${name}.${describe(at)} lies beyond the entry's length ${length} and must be zero (or raise length to ${natural.length})`,
        );
      }
    }
    if (extra.length !== 0) throw badValue(offset, `${name}.tail`, `empty for a length of ${length}`, extra);
    return natural.subarray(0, length);
  }
  if (extra.length !== length - natural.length) {
    throw badValue(offset + natural.length, `${name}.tail`, `${length - natural.length} bytes (length ${length} - ${natural.length})`, extra);
  }
  const out = new Uint8Array(length);
  out.set(natural);
  out.set(extra, natural.length);
  return out;
}

function encodeFixed(layout: Layout, name: string, fields: unknown, length: number, tail: Uint8Array | undefined, offset: number): Uint8Array {
  const natural = new Uint8Array(layout.size);
  encodeSpread(viewOf(natural), 0, layout, fields, name, offset);
  return fitBody(natural, length, tail, offset, name, (at) => memberAt(layout, at));
}

type RowSpec = Omit<HvmSaveType, "decode" | "encode">;

function fixed(spec: RowSpec, layout: Layout): HvmSaveType {
  return {
    ...spec,
    decode: (body) => decodeFixed(layout, body),
    encode: (fields, length, tail, offset) => encodeFixed(layout, spec.name, fields, length, tail, offset),
  };
}

const since = (major: number, minor: number): XenRelease => [major, minor];

/** The key order of a decoded CPU entry (bit-fields spread), for the compat mapping: built on first use. */
let cpuKeys: readonly string[] | undefined;
/** {@link cpuKeys}, built once (only a 1016-byte CPU entry needs it). */
function cpuKeyOrder(): readonly string[] {
  return (cpuKeys ??= Object.keys(decodeSpread(viewOf(new Uint8Array(HVM_HW_CPU.size)), 0, HVM_HW_CPU)));
}

/**
 * hvm_hw_cpu_compat length: the layout of Xen 3.4 and older
 * (_hvm_hw_fix_cpu()). A literal, so that importing the table builds no
 * layout; the tests pin it to HVM_HW_CPU_COMPAT.size.
 */
export const HVM_CPU_COMPAT_LENGTH = 1016;

const cpuType: HvmSaveType = {
  typecode: 2,
  name: "CPU",
  struct: "hvm_hw_cpu",
  scope: "vcpu",
  load: "zero-extend",
  sizes: [
    { length: 1016, since: since(3, 1) },
    { length: 1024, since: since(4, 0) },
    { length: 1032, since: since(4, 7) },
  ],
  decode(body) {
    if (body.length !== HVM_CPU_COMPAT_LENGTH) return decodeFixed(HVM_HW_CPU, body);
    // public/arch-x86/hvm/save.h _hvm_hw_fix_cpu(): a 1016-byte record (Xen <= 3.4) is
    // struct hvm_hw_cpu_compat (no msr_tsc_aux), read as msr_tsc_aux = 0.
    const compat = decodeSpread(viewOf(body), 0, HVM_HW_CPU_COMPAT);
    const fields: Record<string, unknown> = {};
    for (const key of cpuKeyOrder()) fields[key] = key in compat ? compat[key] : key === "msrTscAux" ? 0n : 0;
    return { fields, tail: undefined };
  },
  encode(fields, length, tail, offset) {
    if (length !== HVM_CPU_COMPAT_LENGTH) return encodeFixed(HVM_HW_CPU, "CPU", fields, length, tail, offset);
    const record = (typeof fields === "object" && fields !== null ? fields : {}) as Record<string, unknown>;
    for (const [key, zero] of [["msrTscAux", 0n], ["flags", 0], ["pad0", 0]] as const) {
      if (record[key] !== zero) {
        throw badValue(offset, `CPU.${key}`, `${String(zero)} in a 1016-byte CPU entry (the Xen <= 3.4 layout has no such field)`, record[key]);
      }
    }
    if (tail !== undefined && tail.length !== 0) throw badValue(offset, "CPU.tail", "empty for a length of 1016", tail);
    const out = new Uint8Array(HVM_CPU_COMPAT_LENGTH);
    encodeSpread(viewOf(out), 0, HVM_HW_CPU_COMPAT, fields, "CPU", offset);
    return out;
  },
};

/** hvm_msr: count, padding, then as many 16-byte entries as the length holds. */
const cpuMsrType: HvmSaveType = {
  typecode: 20,
  name: "CPU_MSR",
  struct: "hvm_msr",
  scope: "vcpu",
  load: "custom",
  sizes: [{ length: 8, since: since(4, 5) }],
  decode(body) {
    const head = decodeFixed(HVM_MSR_HEAD, body.subarray(0, Math.min(body.length, HVM_MSR_HEAD.size))).fields;
    const count = msrEntriesFor(body.length);
    const view = viewOf(body);
    const msr: Record<string, unknown>[] = [];
    for (let i = 0; i < count; i++) msr.push(decodeSpread(view, HVM_MSR_HEAD.size + i * HVM_ONE_MSR.size, HVM_ONE_MSR));
    const used = HVM_MSR_HEAD.size + count * HVM_ONE_MSR.size;
    return { fields: { ...head, msr }, tail: body.length > used ? body.subarray(used) : undefined };
  },
  encode(fields, length, tail, offset) {
    const record = (typeof fields === "object" && fields !== null ? fields : {}) as Record<string, unknown>;
    const msr = record["msr"];
    const count = msrEntriesFor(length);
    if (!Array.isArray(msr) || msr.length !== count) {
      throw badValue(offset, "CPU_MSR.msr", `an array of ${count} entries (what a length of ${length} holds: (length - 8) / 16)`, msr);
    }
    const natural = new Uint8Array(HVM_MSR_HEAD.size + count * HVM_ONE_MSR.size);
    const view = viewOf(natural);
    encodeSpread(view, 0, HVM_MSR_HEAD, record, "CPU_MSR", offset);
    for (let i = 0; i < count; i++) {
      const at = HVM_MSR_HEAD.size + i * HVM_ONE_MSR.size;
      encodeSpread(view, at, HVM_ONE_MSR, msr[i], `CPU_MSR.msr[${i}]`, offset + at);
    }
    return fitBody(natural, length, tail, offset, "CPU_MSR", (at) => memberAt(HVM_MSR_HEAD, at));
  },
};

/** Entries of a CPU_MSR body of `length` bytes: HVM_CPU_MSR_SIZE(n) = 8 + 16n (hvm.c). */
export function msrEntriesFor(length: number): number {
  return length < HVM_MSR_HEAD.size ? 0 : Math.floor((length - HVM_MSR_HEAD.size) / HVM_ONE_MSR.size);
}

const END_LAYOUT: Layout = { kind: "struct", name: "hvm_save_end", fields: [], size: 0 };

/** Every code of public/arch-x86/hvm/save.h, by typecode (index = typecode). */
export const HVM_SAVE_TYPES: readonly HvmSaveType[] = [
  fixed({ typecode: 0, name: "END", struct: "hvm_save_end", scope: "framing", load: "end", sizes: [{ length: 0, since: since(3, 1) }] }, END_LAYOUT),
  fixed({ typecode: 1, name: "HEADER", struct: "hvm_save_header", scope: "framing", load: "strict", sizes: [{ length: 24, since: since(3, 1) }] }, HVM_SAVE_HEADER),
  cpuType,
  fixed({ typecode: 3, name: "PIC", device: "vpic", struct: "hvm_hw_vpic", scope: "domain", load: "strict", maxInstance: 1, sizes: [{ length: 8, since: since(3, 1) }] }, HVM_HW_VPIC),
  fixed({ typecode: 4, name: "IOAPIC", device: "vioapic", struct: "hvm_hw_vioapic", scope: "domain", load: "strict", sizes: [{ length: 400, since: since(3, 1) }] }, HVM_HW_VIOAPIC),
  fixed(
    {
      typecode: 5,
      name: "LAPIC",
      struct: "hvm_hw_lapic",
      device: "vlapic",
      scope: "vcpu",
      load: "zero-extend",
      sizes: [
        { length: 24, since: since(3, 1) },
        { length: 32, since: since(4, 21) },
      ],
    },
    HVM_HW_LAPIC,
  ),
  fixed({ typecode: 6, name: "LAPIC_REGS", device: "vlapic", struct: "hvm_hw_lapic_regs", scope: "vcpu", load: "strict", sizes: [{ length: 1024, since: since(3, 1) }] }, HVM_HW_LAPIC_REGS),
  fixed({ typecode: 7, name: "PCI_IRQ", struct: "hvm_hw_pci_irqs", scope: "domain", load: "strict", sizes: [{ length: 16, since: since(3, 1) }] }, HVM_HW_PCI_IRQS),
  fixed({ typecode: 8, name: "ISA_IRQ", struct: "hvm_hw_isa_irqs", scope: "domain", load: "strict", sizes: [{ length: 8, since: since(3, 1) }] }, HVM_HW_ISA_IRQS),
  fixed({ typecode: 9, name: "PCI_LINK", struct: "hvm_hw_pci_link", scope: "domain", load: "strict", sizes: [{ length: 8, since: since(3, 1) }] }, HVM_HW_PCI_LINK),
  fixed({ typecode: 10, name: "PIT", device: "vpit", struct: "hvm_hw_pit", scope: "domain", load: "strict", sizes: [{ length: 56, since: since(3, 1) }] }, HVM_HW_PIT),
  fixed(
    {
      typecode: 11,
      name: "RTC",
      struct: "hvm_hw_rtc",
      device: "vrtc",
      scope: "domain",
      load: "zero-extend",
      sizes: [
        { length: 16, since: since(3, 1) },
        { length: 24, since: since(4, 14) },
      ],
    },
    HVM_HW_RTC,
  ),
  fixed({ typecode: 12, name: "HPET", device: "vhpet", struct: "hvm_hw_hpet", scope: "domain", load: "strict", sizes: [{ length: 1048, since: since(3, 1) }] }, HVM_HW_HPET),
  fixed({ typecode: 13, name: "PMTIMER", device: "vpm", struct: "hvm_hw_pmtimer", scope: "domain", load: "strict", sizes: [{ length: 8, since: since(3, 1) }] }, HVM_HW_PMTIMER),
  fixed({ typecode: 14, name: "MTRR", struct: "hvm_hw_mtrr", scope: "vcpu", load: "strict", sizes: [{ length: 240, since: since(3, 2) }] }, HVM_HW_MTRR),
  fixed(
    {
      typecode: 15,
      name: "VIRIDIAN_DOMAIN",
      struct: "hvm_viridian_domain_context",
      scope: "domain",
      load: "zero-extend",
      sizes: [
        { length: 16, since: since(3, 4) },
        { length: 24, since: since(4, 5) },
        { length: 32, since: since(4, 6) },
      ],
    },
    HVM_VIRIDIAN_DOMAIN_CONTEXT,
  ),
  fixed(
    { typecode: 16, name: "CPU_XSAVE", struct: "hvm_hw_cpu_xsave", scope: "vcpu", load: "custom", sizes: [{ length: 600, since: since(4, 1) }] },
    HVM_HW_CPU_XSAVE,
  ),
  fixed(
    {
      typecode: 17,
      name: "VIRIDIAN_VCPU",
      struct: "hvm_viridian_vcpu_context",
      scope: "vcpu",
      load: "zero-extend",
      sizes: [
        { length: 8, since: since(4, 2) },
        { length: 16, since: since(4, 7) },
        { length: 216, since: since(4, 13) },
      ],
    },
    HVM_VIRIDIAN_VCPU_CONTEXT,
  ),
  fixed(
    {
      typecode: 18,
      name: "VMCE_VCPU",
      struct: "hvm_vmce_vcpu",
      scope: "vcpu",
      load: "zero-extend",
      sizes: [
        { length: 8, since: since(4, 2) },
        { length: 24, since: since(4, 3) },
        { length: 32, since: since(4, 10) },
      ],
    },
    HVM_VMCE_VCPU,
  ),
  fixed({ typecode: 19, name: "TSC_ADJUST", struct: "hvm_tsc_adjust", scope: "vcpu", load: "strict", sizes: [{ length: 8, since: since(4, 3) }] }, HVM_TSC_ADJUST),
  cpuMsrType,
];

/** HVM_SAVE_CODE_MAX: the highest typecode Xen defines. */
export const HVM_SAVE_CODE_MAX = 20;

/** Typecode by name. */
export const HVM_SAVE_CODE: Readonly<Record<HvmSaveTypeName, number>> = /*@__PURE__*/ Object.fromEntries(
  HVM_SAVE_TYPES.map((row) => [row.name, row.typecode]),
) as Record<HvmSaveTypeName, number>;

/**
 * The save type of a typecode: its name, load rule, sizes and codec.
 *
 * @param typecode - an HVM save descriptor's typecode
 * @returns the row, or undefined for an unknown code (21 and up)
 */
export function hvmSaveType(typecode: number): HvmSaveType | undefined {
  return HVM_SAVE_TYPES[typecode];
}

/** The largest body length `row` has in `release` (default: the newest). */
export function currentSize(row: HvmSaveType, release?: XenRelease): number {
  let size = row.sizes[0]!.length;
  for (const entry of row.sizes) {
    if (release === undefined || entry.since[0] < release[0] || (entry.since[0] === release[0] && entry.since[1] <= release[1])) {
      size = entry.length;
    }
  }
  return size;
}
