/**
 * Restore-profile check of an HVM context: what Xen's hvm_load()
 * (xen/arch/x86/hvm/save.c) and the per-type loaders refuse, reported as
 * findings with the byte position inside the blob instead of thrown.
 *
 * @module
 * @internal
 */
import { XenStreamError } from "../../../errors.js";
import { HVM_DESCRIPTOR_SIZE, HVM_FILE_MAGIC, HVM_FILE_VERSION, HVM_HEADER_LENGTH, walkHvmContext, type HvmDescriptor } from "./context.js";
import { HVM_HW_CPU, HVM_MSR_HEAD, HVM_ONE_MSR, HVM_VIRIDIAN_VCPU_CONTEXT } from "./structs.js";
import { HVM_CPU_COMPAT_LENGTH, HVM_SAVE_CODE_MAX, currentSize, hvmSaveType, type HvmSaveType, type XenRelease } from "./table.js";
import type { Layout } from "./layout.js";

/** What a finding is about. */
export type HvmContextFindingCode =
  /** A descriptor cut short, or a body running past the blob. */
  | "FRAMING"
  /** The first entry is not HEADER (typecode 1) of 24 bytes. */
  | "NO_HEADER"
  /** HEADER magic is not 0x54381286. */
  | "BAD_MAGIC"
  /** HEADER version is not 1. */
  | "BAD_VERSION"
  /** A typecode without a loader: above 20, or a second HEADER. */
  | "UNKNOWN_TYPECODE"
  /** A body length the type's load rule refuses. */
  | "BAD_LENGTH"
  /** A per-vCPU instance not below the vCPU count, or a PIC instance above 1. */
  | "BAD_INSTANCE"
  /** An entry for an emulated device the domain does not have. */
  | "NO_DEVICE"
  /** A second entry of the same typecode and instance. */
  | "DUPLICATE_ENTRY"
  /** A field value the loader refuses. */
  | "BAD_FIELD"
  /** No END entry before the end of the blob. */
  | "NO_END"
  /** END with a non-zero length, or bytes after END (ignored by hvm_load()). */
  | "AFTER_END";

/** One problem found by {@link checkHvmContext}. */
export interface HvmContextFinding {
  /** `error`: Xen refuses the blob; `warning`: Xen loads it, but no Xen writes it. */
  severity: "error" | "warning";
  code: HvmContextFindingCode;
  message: string;
  /** Byte position inside the blob. */
  pos: number;
  /** `pos` plus the `baseOffset` option. */
  offset: number;
  /** Index of the entry the finding is about, where there is one. */
  entryIndex?: number;
}

/** Options of {@link checkHvmContext}. */
export interface HvmContextCheckOptions {
  /**
   * The domain's vCPU count (max_vcpus): per-vCPU entries must have an
   * instance below it. Unchecked when absent.
   */
  vcpus?: number;
  /**
   * Xen release that restores, as [major, minor]: decides the largest
   * length a zero-extending loader accepts (LAPIC 24 before 4.21, 32 from
   * 4.21; RTC 16 before 4.14).
   *
   * @defaultValue the newest release this library knows (4.21)
   */
  xenRelease?: readonly [number, number];
  /**
   * The domain's emulated devices, as emulation_flags_ok()
   * (xen/arch/x86/domain.c) allows them for a guest: `"hvm"` every device
   * but vPCI, `"pvh"` the local APIC only. Entries for devices the domain
   * lacks fail to load with ENODEV. Unchecked when absent.
   */
  emulation?: "hvm" | "pvh";
  /**
   * Also check field values the loaders refuse (CPU pad0 and CR0,
   * VIRIDIAN_VCPU _pad, CPU_XSAVE header and size, CPU_MSR count, _rsvd and
   * index); false checks only framing, order, lengths and instances.
   *
   * @defaultValue true
   */
  fields?: boolean;
  /**
   * Absolute stream offset of the blob, added to each finding's `offset`.
   *
   * @defaultValue 0
   */
  baseOffset?: number;
}

/** MSRs hvm_load_cpu_msrs() accepts (others: -ENXIO); PKRS since Xen 4.18. */
const LOADABLE_MSRS: ReadonlyArray<readonly [index: number, name: string, since?: XenRelease]> = [
  [0x0000_0048, "MSR_SPEC_CTRL"],
  [0x0000_0140, "MSR_INTEL_MISC_FEATURES_ENABLES"],
  [0x0000_06e1, "MSR_PKRS", [4, 18]],
  [0x0000_0d90, "MSR_IA32_BNDCFGS"],
  [0x0000_0da0, "MSR_IA32_XSS"],
  [0xc001_011f, "MSR_VIRT_SPEC_CTRL"],
  [0xc001_1027, "MSR_AMD64_DR0_ADDRESS_MASK"],
  [0xc001_1019, "MSR_AMD64_DR1_ADDRESS_MASK"],
  [0xc001_101a, "MSR_AMD64_DR2_ADDRESS_MASK"],
  [0xc001_101b, "MSR_AMD64_DR3_ADDRESS_MASK"],
];

/** CR0 bits a loaded CR0 may have (hvm.c HVM_CR0_GUEST_RESERVED_BITS): PE MP EM TS ET NE WP AM NW CD PG. */
const CR0_ALLOWED = 0xe005_003fn;
const CR0_PE = 1n;
const CR0_ET = 1n << 4n;
const CR0_PG = 1n << 31n;

/**
 * End of each XSAVE state component in the standard (uncompressed) format,
 * as CPUID leaf 0xD reports it on every x86 CPU that has the component
 * (Intel SDM vol. 1 §13.4; AMD APM vol. 2 §11.5). hvm_load_cpu_xsave_states()
 * uses the host's CPUID.(EAX=0xD,ECX=0).EBX for xcr0_accum: the largest end.
 */
const XSTATE_END: ReadonlyMap<number, number> = new Map([
  [0, 512 + 64],
  [1, 512 + 64],
  [2, 576 + 256], // AVX (YMM_Hi128)
  [3, 960 + 64], // MPX BNDREGS
  [4, 1024 + 64], // MPX BNDCSR
  [5, 1088 + 64], // AVX-512 opmask
  [6, 1152 + 512], // ZMM_Hi256
  [7, 1664 + 1024], // Hi16_ZMM
  [9, 2688 + 8], // PKRU
  [17, 2752 + 64], // AMX XTILECFG
  [18, 2816 + 8192], // AMX XTILEDATA
  [62, 832 + 128], // AMD LWP
]);

/**
 * The XSAVE area size CPUID would report for `xcr0` (standard format;
 * CPUID.(EAX=0xD,ECX=0).EBX, Intel SDM vol. 1 §13.4).
 *
 * @param xcr0 - the enabled state components
 * @returns the size in bytes, or undefined when `xcr0` has a component
 * whose place is not architectural
 */
export function xsaveAreaSize(xcr0: bigint): number | undefined {
  let size = 512 + 64;
  for (let bit = 0; bit < 64; bit++) {
    if (((xcr0 >> BigInt(bit)) & 1n) === 0n) continue;
    const end = XSTATE_END.get(bit);
    if (end === undefined) return undefined;
    size = Math.max(size, end);
  }
  return size;
}

/** valid_xcr0() of xen/arch/x86/xstate.c: why `xcr0` is invalid, or undefined. */
function xcr0Problem(xcr0: bigint): string | undefined {
  const bit = (n: number): boolean => ((xcr0 >> BigInt(n)) & 1n) === 1n;
  if (!bit(0)) return "x87 (bit 0) must be set";
  if (bit(2) && !bit(1)) return "YMM (bit 2) needs SSE (bit 1)";
  if (bit(5) || bit(6) || bit(7)) {
    if (!bit(2)) return "OPMASK/ZMM/HI_ZMM (bits 5-7) need YMM (bit 2)";
    if (!(bit(5) && bit(6) && bit(7))) return "OPMASK, ZMM and HI_ZMM (bits 5-7) must be set together";
  }
  if (bit(3) !== bit(4)) return "BNDREGS and BNDCSR (bits 3, 4) must be set together";
  return undefined;
}

const hex = (value: number | bigint): string => `0x${value.toString(16)}`;

/**
 * Checks an HVM context blob against what Xen's restore (hvm_load() and
 * the loaders it calls) refuses: HEADER first with length 24, magic
 * 0x54381286 and version 1; END present; known typecodes; each body length
 * by its type's load rule (strict / zero-extend / custom); per-vCPU
 * instances below the vCPU count; PIC instances 0 and 1; and, unless
 * `fields` is false, the field values the loaders refuse. Also warns
 * about what Xen loads but never writes (duplicate entries, which hvm_load()
 * loads twice, the later winning; END with a length; bytes after END).
 *
 * Entries for emulated devices a PVH domain lacks are checked when
 * `emulation` says what the domain is. Not checked, because they depend on
 * the restoring host or the domain's policy: CR4 against the CPU policy, xcr0_accum against the host's XSAVE
 * features, MSR values.
 *
 * @param blob - the HVM context bytes
 * @param options - {@link HvmContextCheckOptions}
 * @returns the findings in blob order (empty when Xen would load it)
 * @throws {@link XenStreamError} USAGE for a bad argument (never for bad bytes)
 */
export function checkHvmContext(blob: Uint8Array, options: HvmContextCheckOptions = {}): HvmContextFinding[] {
  if (!(blob instanceof Uint8Array)) throw new XenStreamError("USAGE", 0, "checkHvmContext: blob must be a Uint8Array");
  const base = options.baseOffset ?? 0;
  if (!Number.isSafeInteger(base) || base < 0) throw new XenStreamError("USAGE", 0, "checkHvmContext: options.baseOffset must be a non-negative integer");
  const vcpus = options.vcpus;
  if (vcpus !== undefined && (!Number.isSafeInteger(vcpus) || vcpus < 0)) {
    throw new XenStreamError("USAGE", 0, "checkHvmContext: options.vcpus must be a non-negative integer");
  }
  const release = options.xenRelease;
  if (release !== undefined && (!Array.isArray(release) || release.length !== 2 || !release.every((n) => Number.isSafeInteger(n) && n >= 0))) {
    throw new XenStreamError("USAGE", 0, "checkHvmContext: options.xenRelease must be [major, minor]");
  }
  const fields = options.fields ?? true;
  const emulation = options.emulation;
  if (emulation !== undefined && emulation !== "hvm" && emulation !== "pvh") {
    throw new XenStreamError("USAGE", 0, 'checkHvmContext: options.emulation must be "hvm" or "pvh"');
  }
  const findings: HvmContextFinding[] = [];
  const report = (severity: HvmContextFinding["severity"], code: HvmContextFindingCode, pos: number, message: string, entryIndex?: number): void => {
    findings.push({ severity, code, message, pos, offset: base + pos, ...(entryIndex === undefined ? {} : { entryIndex }) });
  };
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const walk = walkHvmContext(blob);
  const { descriptors } = walk;

  const first = descriptors[0];
  if (first === undefined || first.typecode !== 1 || first.length !== HVM_HEADER_LENGTH) {
    const got = first === undefined ? "nothing" : `typecode ${first.typecode}, length ${first.length}`;
    report("error", "NO_HEADER", first === undefined || first.typecode !== 1 ? 0 : 4, `the first entry must be HEADER (typecode 1, length 24), got ${got}; hvm_load() fails with ENODATA`, first === undefined ? undefined : 0);
  } else {
    const magic = view.getUint32(HVM_DESCRIPTOR_SIZE, true);
    if (magic !== HVM_FILE_MAGIC) report("error", "BAD_MAGIC", 8, `HEADER magic must be 0x54381286, got 0x${magic.toString(16).padStart(8, "0")} (arch_hvm_load())`, 0);
    const version = view.getUint32(HVM_DESCRIPTOR_SIZE + 4, true);
    if (version !== HVM_FILE_VERSION) report("error", "BAD_VERSION", 12, `HEADER version must be 1, got ${version} (arch_hvm_load())`, 0);
  }

  const seen = new Map<number, number>();
  const last = walk.end >= 0 ? walk.end : descriptors.length;
  for (let index = first?.typecode === 1 ? 1 : 0; index < last; index++) {
    const descriptor = descriptors[index]!;
    const { pos, typecode, instance, length } = descriptor;
    const row = hvmSaveType(typecode);
    const label = `entry ${index} (typecode ${typecode}${row === undefined ? "" : ` ${row.name}`}, instance ${instance})`;
    if (row === undefined || typecode === 1 || typecode > HVM_SAVE_CODE_MAX) {
      report("error", "UNKNOWN_TYPECODE", pos, `${label}: no loader for typecode ${typecode}${typecode === 1 ? " (HEADER only comes first)" : ""}; hvm_load() fails with EINVAL`, index);
      continue;
    }
    const key = typecode * 0x1_0000 + instance;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      report("warning", "DUPLICATE_ENTRY", pos, `${label}: same typecode and instance as entry ${earlier}; hvm_load() loads both (the later wins), no Xen saver writes this`, index);
    } else {
      seen.set(key, index);
    }
    if (row.scope === "vcpu" && vcpus !== undefined && instance >= vcpus) {
      report("error", "BAD_INSTANCE", pos + 2, `${label}: instance ${instance} is not a vCPU of a ${vcpus}-vCPU domain; the loader fails with EINVAL`, index);
    }
    if (emulation === "pvh" && row.device !== undefined && row.device !== "vlapic") {
      report("error", "NO_DEVICE", pos, `${label}: a PVH domain has no ${row.device} (only the local APIC is emulated); the loader fails with ENODEV`, index);
    }
    if (row.maxInstance !== undefined && instance > row.maxInstance) {
      report("error", "BAD_INSTANCE", pos + 2, `${label}: instance must be at most ${row.maxInstance}; the loader fails with ENOENT`, index);
    }
    checkLength(row, descriptor, index, label, release, report);
    if (fields) checkFields(row, blob, view, descriptor, index, label, release, report);
  }

  if (walk.failure !== undefined) {
    report("error", "FRAMING", walk.failure.pos, `${walk.failure.message}; hvm_load() fails with ENODATA`);
  } else if (walk.end < 0) {
    report("error", "NO_END", blob.length, "no END entry (typecode 0) before the end of the blob; hvm_load() fails with ENODATA");
  } else {
    const end = descriptors[walk.end]!;
    if (end.length !== 0) report("warning", "AFTER_END", end.pos + 4, `END entry with length ${end.length} (Xen writes 0; hvm_load() stops at END without reading it)`, walk.end);
    if (walk.stop < blob.length) report("warning", "AFTER_END", walk.stop, `${blob.length - walk.stop} bytes after the END entry (ignored by hvm_load())`);
  }
  return findings;
}

type Report = (severity: HvmContextFinding["severity"], code: HvmContextFindingCode, pos: number, message: string, entryIndex?: number) => void;

function checkLength(row: HvmSaveType, descriptor: HvmDescriptor, index: number, label: string, release: XenRelease | undefined, report: Report): void {
  const { pos, length } = descriptor;
  const size = currentSize(row, release);
  const at = pos + 4;
  switch (row.load) {
    case "strict":
      if (length !== size) report("error", "BAD_LENGTH", at, `${label}: length must be ${size} (hvm_load_entry(), strict), got ${length}`, index);
      return;
    case "zero-extend":
      if (length > size) report("error", "BAD_LENGTH", at, `${label}: length must be at most ${size} (hvm_load_entry_zeroextend()), got ${length}`, index);
      return;
    case "custom":
      if (row.name === "CPU_XSAVE" && length < 600) {
        report("error", "BAD_LENGTH", at, `${label}: length must be at least 600 (24 + the 576-byte legacy area and header; hvm_load_cpu_xsave_states()), got ${length}`, index);
      }
      if (row.name === "CPU_MSR" && length < HVM_MSR_HEAD.size + HVM_ONE_MSR.size) {
        report("error", "BAD_LENGTH", at, `${label}: length must be at least 24 (one MSR; hvm_load_cpu_msrs()), got ${length}`, index);
      }
      return;
    case "end":
      return;
  }
}

function fieldPos(layout: Layout, name: string): number {
  const field = layout.fields.find((candidate) => candidate.name === name);
  if (field === undefined) throw new Error(`no field ${name} in ${layout.name}`);
  return field.offset;
}

function checkFields(
  row: HvmSaveType,
  blob: Uint8Array,
  view: DataView,
  descriptor: HvmDescriptor,
  index: number,
  label: string,
  release: XenRelease | undefined,
  report: Report,
): void {
  const body = descriptor.pos + HVM_DESCRIPTOR_SIZE;
  const { length } = descriptor;
  const u64 = (at: number): bigint => (at + 8 <= length ? view.getBigUint64(body + at, true) : 0n);
  switch (row.name) {
    case "CPU": {
      // cr0 lies at the same offset in the 1016-byte layout (Xen <= 3.4), which has no pad0.
      const pad0 = fieldPos(HVM_HW_CPU, "pad0");
      if (length !== HVM_CPU_COMPAT_LENGTH && pad0 + 4 <= length && view.getUint32(body + pad0, true) !== 0) {
        report("error", "BAD_FIELD", body + pad0, `${label}: pad0 must be 0, got ${hex(view.getUint32(body + pad0, true))} (hvm_load_cpu_ctxt(): EINVAL)`, index);
      }
      const cr0 = u64(fieldPos(HVM_HW_CPU, "cr0"));
      const cr0At = body + fieldPos(HVM_HW_CPU, "cr0");
      if ((cr0 & ~CR0_ALLOWED) !== 0n) report("error", "BAD_FIELD", cr0At, `${label}: cr0 ${hex(cr0)} has reserved bits ${hex(cr0 & ~CR0_ALLOWED)} (hvm_load_cpu_ctxt(): EINVAL)`, index);
      else if ((cr0 & CR0_ET) === 0n) report("error", "BAD_FIELD", cr0At, `${label}: cr0 ${hex(cr0)} lacks ET (bit 4) (hvm_load_cpu_ctxt(): EINVAL)`, index);
      else if ((cr0 & (CR0_PE | CR0_PG)) === CR0_PG) report("error", "BAD_FIELD", cr0At, `${label}: cr0 ${hex(cr0)} has PG without PE (hvm_load_cpu_ctxt(): EINVAL)`, index);
      return;
    }
    case "VIRIDIAN_VCPU": {
      const at = fieldPos(HVM_VIRIDIAN_VCPU_CONTEXT, "_pad");
      for (let i = at; i < Math.min(at + 7, length); i++) {
        if (blob[body + i] !== 0) {
          report("error", "BAD_FIELD", body + i, `${label}: _pad must be zero (viridian_load_vcpu_ctxt(): EINVAL)`, index);
          return;
        }
      }
      return;
    }
    case "CPU_MSR": {
      if (length < HVM_MSR_HEAD.size + HVM_ONE_MSR.size) return;
      const count = view.getUint32(body, true);
      const expected = HVM_MSR_HEAD.size + HVM_ONE_MSR.size * count;
      if (length !== expected) {
        report("error", "BAD_FIELD", body, `${label}: count ${count} needs length ${expected}, got ${length} (hvm_load_cpu_msrs(): EOPNOTSUPP)`, index);
        return;
      }
      for (let i = 0; i < count; i++) {
        const at = body + HVM_MSR_HEAD.size + i * HVM_ONE_MSR.size;
        const msrIndex = view.getUint32(at, true);
        const reserved = view.getUint32(at + 4, true);
        if (reserved !== 0) report("error", "BAD_FIELD", at + 4, `${label}: msr[${i}]._rsvd must be 0, got ${hex(reserved)} (hvm_load_cpu_msrs(): EOPNOTSUPP)`, index);
        const known = LOADABLE_MSRS.find(([candidate]) => candidate === msrIndex);
        const since = known?.[2];
        const loadable = known !== undefined && (since === undefined || release === undefined || release[0] > since[0] || (release[0] === since[0] && release[1] >= since[1]));
        if (!loadable) report("error", "BAD_FIELD", at, `${label}: msr[${i}].index ${hex(msrIndex)} is not an MSR Xen restores from CPU_MSR (hvm_load_cpu_msrs(): ENXIO)`, index);
      }
      return;
    }
    case "CPU_XSAVE": {
      if (length < 600) return;
      const xcr0 = u64(8);
      const accum = u64(16);
      const xstateBv = u64(536);
      const xcompBv = u64(544);
      const fail = (at: number, message: string, errno: string): void =>
        report("error", "BAD_FIELD", body + at, `${label}: ${message} (validate_xstate(): ${errno})`, index);
      if ((xstateBv & ~accum) !== 0n) fail(536, `xsave_hdr.xstate_bv ${hex(xstateBv)} is not within xcr0_accum ${hex(accum)}`, "EINVAL");
      if ((xcr0 & ~accum) !== 0n) fail(8, `xcr0 ${hex(xcr0)} is not within xcr0_accum ${hex(accum)}`, "EINVAL");
      const xcr0Bad = xcr0Problem(xcr0);
      if (xcr0Bad !== undefined) fail(8, `xcr0 ${hex(xcr0)}: ${xcr0Bad}`, "EINVAL");
      const accumBad = xcr0Problem(accum);
      if (accumBad !== undefined) fail(16, `xcr0_accum ${hex(accum)}: ${accumBad}`, "EINVAL");
      if (xcompBv !== 0n) fail(544, `xsave_hdr.xcomp_bv must be 0 (compressed format not restored), got ${hex(xcompBv)}`, "EOPNOTSUPP");
      for (let i = 0; i < 6; i++) {
        if (u64(552 + 8 * i) !== 0n) fail(552 + 8 * i, `xsave_hdr.reserved[${i}] must be 0`, "EIO");
      }
      const area = xsaveAreaSize(accum);
      if (area === undefined || accumBad !== undefined) return;
      const size = 24 + area;
      if (length < size) {
        report("error", "BAD_LENGTH", descriptor.pos + 4, `${label}: xcr0_accum ${hex(accum)} needs length ${size}, got ${length} (hvm_load_cpu_xsave_states(): EINVAL)`, index);
      } else if (length > size) {
        for (let i = size; i < length; i++) {
          if (blob[body + i] !== 0) {
            report("error", "BAD_LENGTH", descriptor.pos + 4, `${label}: length ${length} exceeds the ${size} that xcr0_accum ${hex(accum)} needs and the excess is not all zero (non-zero at body byte ${i}; hvm_load_cpu_xsave_states(): EOPNOTSUPP)`, index);
            return;
          }
        }
      }
      return;
    }
    default:
      return;
  }
}
