/**
 * A small deterministic generator of valid and mutated save streams for the
 * verifier's interop tests: a seeded PRNG, a byte builder written from the
 * spec tables (independent of the library's encoders), stream shapes for PV
 * and HVM guests, v2 and v3, libxc / libxl / xl, plain and checkpointed, and
 * mutations of fields, lengths, types, order and raw bytes.
 */
import { Prng } from "../../src/testing/prng.js";
import { cat } from "../helpers/hex.js";

// ---------------------------------------------------------------- bytes

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return cat(...parts);
}

export function le32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  return out;
}
export function be32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, false);
  return out;
}
export function le16(value: number): Uint8Array {
  return new Uint8Array([value & 0xff, (value >>> 8) & 0xff]);
}
export function le64(value: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, value, true);
  return out;
}
export function ascii(text: string): Uint8Array {
  return new Uint8Array([...text].map((c) => c.charCodeAt(0)));
}

// ---------------------------------------------------------------- stream model

/** One record of the stream model; bytes are built at render time. */
export interface Rec {
  layer: "libxc" | "libxl";
  type: number;
  body: Uint8Array;
  /** Value written in the length field (default body.length). */
  length?: number;
  /** Padding bytes (default zeros to 8). */
  padding?: Uint8Array;
}

export interface StreamModel {
  format: "libxc" | "libxl" | "xl";
  guest: "pv" | "hvm";
  version: 2 | 3;
  checkpointed: boolean;
  imageOptions: number;
  imageRes1: number;
  imageRes2: number;
  domainType: number;
  pageShift: number;
  domainRes: number;
  libxlOptions: number;
  xl: { byteOrder: "little" | "big"; mandatory: number; optional: number; config: Uint8Array; configLengthDelta: number };
  /** libxl records before LIBXC_CONTEXT (normally none). */
  libxlHead: Rec[];
  /** Whether LIBXC_CONTEXT is written (libxl formats). */
  libxcContext: boolean;
  /** libxc records, each epoch separated by CHECKPOINT, with libxl interludes. */
  libxc: Rec[];
  /** libxl records after the libxc stream. */
  libxlTail: Rec[];
  trailing: Uint8Array;
  /** Names of the mutations applied, for failure messages. */
  mutations: string[];
}

export const LIBXC = {
  END: 0,
  PAGE_DATA: 1,
  X86_PV_INFO: 2,
  X86_PV_P2M_FRAMES: 3,
  VCPU_BASIC: 4,
  VCPU_EXTENDED: 5,
  VCPU_XSAVE: 6,
  SHARED_INFO: 7,
  TSC_INFO: 8,
  HVM_CONTEXT: 9,
  HVM_PARAMS: 10,
  TOOLSTACK: 11,
  VCPU_MSRS: 12,
  VERIFY: 13,
  CHECKPOINT: 14,
  DIRTY_PFN_LIST: 15,
  STATIC_DATA_END: 16,
  CPUID_POLICY: 17,
  MSR_POLICY: 18,
} as const;
export const LIBXL = { END: 0, LIBXC_CONTEXT: 1, XENSTORE: 2, EMULATOR_CONTEXT: 3, CHECKPOINT_END: 4, CHECKPOINT_STATE: 5 } as const;

export const xc = (type: number, body: Uint8Array = new Uint8Array(0)): Rec => ({ layer: "libxc", type, body });
export const xl = (type: number, body: Uint8Array = new Uint8Array(0)): Rec => ({ layer: "libxl", type, body });

export function pageDataBody(entries: Array<{ pfn: number; type: number; reserved?: number }>, count = entries.length, reserved = 0): Uint8Array {
  const parts: Uint8Array[] = [le32(count), le32(reserved)];
  let pages = 0;
  for (const { pfn, type, reserved: bits = 0 } of entries) {
    const high = ((type << 28) | (bits << 20) | Math.floor(pfn / 2 ** 32)) >>> 0;
    parts.push(le32(pfn >>> 0), le32(high));
    if (type <= 4 || (type >= 9 && type <= 0xc)) pages++;
  }
  parts.push(new Uint8Array(4096 * pages));
  return concat(parts);
}

export function vcpuBody(vcpu: number, blob: Uint8Array, reserved = 0): Uint8Array {
  return concat([le32(vcpu), le32(reserved), blob]);
}

export function tscBody(mode = 0, reserved = 0): Uint8Array {
  return concat([le32(mode), le32(2_600_000), le64(123_456_789n), le32(1), le32(reserved)]);
}

/** One hvm_save_descriptor {typecode u16, instance u16, length u32} and its body (save.h). */
export function hvmEntry(type: number, instance: number, body: Uint8Array): Uint8Array {
  return concat([le16(type), le16(instance), le32(body.length), body]);
}

/** hvm_save_header: magic 0x54381286, version 1, changeset, cpuid, gtsc_khz (save.h). */
export const HVM_HEADER_ENTRY: Uint8Array = hvmEntry(1, 0, concat([le32(0x54381286), le32(1), le64(0xffff_ffff_ffff_ffffn), le32(0x000806ec), le32(0)]));

/** A 1032-byte hvm_hw_cpu, zero but for cr0 @656 = PE|ET (0x11), which hvm_load_cpu_ctxt() requires. */
export function hvmCpuBody(): Uint8Array {
  const body = new Uint8Array(1032);
  body.set(le64(0x11n), 656);
  return body;
}

export function hvmContextBody(vcpus: number): Uint8Array {
  const parts = [HVM_HEADER_ENTRY];
  for (let v = 0; v < vcpus; v++) parts.push(hvmEntry(2, v, hvmCpuBody()));
  parts.push(hvmEntry(0, 0, new Uint8Array(0)));
  return concat(parts);
}

/**
 * A vcpu_guest_context of the guest width (5168 / 2800 bytes), zero but for
 * flags @512 = VGCF_in_kernel | VGCF_online (bits 2, 5; arch-x86/xen.h): a
 * 64-bit context with VGCF_in_kernel clear needs a user page table
 * (arch_set_info_guest()).
 */
export function pvBasicBlob(width: 4 | 8 = 8): Uint8Array {
  const blob = new Uint8Array(width === 8 ? 5168 : 2800);
  blob.set(le32(0x24), 512);
  return blob;
}

/** A xen_domctl_ext_vcpucontext of `length` bytes: vcpu @0, size @4 = length (domctl.h). */
export function pvExtendedBlob(vcpu: number, length = 64): Uint8Array {
  const blob = new Uint8Array(length);
  blob.set(le32(vcpu), 0);
  blob.set(le32(length), 4);
  return blob;
}

/**
 * An X86_PV_VCPU_XSAVE blob: xcr0, xcr0_accum and, when `full`, the
 * 576-byte legacy area and XSAVE header of an x87|SSE state (xcr0 3).
 */
export function pvXsaveBlob(full: boolean): Uint8Array {
  if (!full) return new Uint8Array(16);
  return concat([le64(3n), le64(3n), new Uint8Array(576)]);
}

/** xen_domctl_vcpu_msr_t entries {index u32, reserved u32, value u64} of MSRs Xen restores for PV: SPEC_CTRL, TSC_AUX. */
export function pvMsrsBlob(count: 1 | 2): Uint8Array {
  return concat([0x48, 0xc000_0103].slice(0, count).flatMap((index) => [le32(index), le32(0), le64(0n)]));
}

/**
 * X86_CPUID_POLICY entries {leaf, subleaf, a, b, c, d} (xen_cpuid_leaf_t):
 * basic leaves 0..count-1 without subleaves (0xffffffff), leaf 0's eax the
 * highest of them, as x86_cpuid_copy_to_buffer() writes them.
 */
export function cpuidPolicyBody(count: number): Uint8Array {
  const entries: Uint8Array[] = [];
  for (let leaf = 0; leaf < count; leaf++) entries.push(le32(leaf), le32(0xffff_ffff), le32(leaf === 0 ? count - 1 : 0), new Uint8Array(12));
  return concat(entries);
}

/** X86_MSR_POLICY entries {idx, flags, val} (xen_msr_entry_t): 0xCE then 0x10A, values 0. */
export function msrPolicyBody(count: 1 | 2): Uint8Array {
  return concat([0xce, 0x10a].slice(0, count).flatMap((index) => [le32(index), le32(0), le64(0n)]));
}

export function hvmParamsBody(params: Array<[number, number]>, reserved = 0): Uint8Array {
  return concat([le32(params.length), le32(reserved), ...params.flatMap(([i, v]) => [le64(BigInt(i)), le64(BigInt(v))])]);
}

const DATA_TYPES = [0, 0, 0, 0, 1, 2, 3, 4, 9, 0xa, 0xb, 0xc];
const NODATA_TYPES = [0xd, 0xe, 0xf];

function batches(rng: Prng, maxPfn: number, passes: number): Rec[] {
  const out: Rec[] = [];
  let budget = 6; // data pages per stream, to keep files small
  for (let pass = 0; pass < passes; pass++) {
    let pfn = rng.below(3);
    const count = rng.int(1, 2);
    for (let b = 0; b < count && pfn <= maxPfn; b++) {
      const entries: Array<{ pfn: number; type: number }> = [];
      const size = rng.int(1, 4);
      for (let i = 0; i < size && pfn <= maxPfn; i++) {
        const withData = budget > 0 && rng.chance(0.6);
        if (withData) budget--;
        entries.push({ pfn, type: withData ? rng.pick(DATA_TYPES) : rng.pick(NODATA_TYPES) });
        pfn += rng.int(1, 3);
      }
      if (entries.length > 0) out.push(xc(LIBXC.PAGE_DATA, pageDataBody(entries)));
    }
  }
  return out;
}

/** A valid stream, as Xen's savers (or the spec) would write it. */
export function validStream(rng: Prng): StreamModel {
  const guest = rng.chance(0.5) ? "pv" : "hvm";
  // PVH guests have a libxc HVM stream but no device model, hence no emulator records.
  const configType = guest === "pv" ? "pv" : rng.pick(["hvm", "hvm", "pvh"]);
  const version = rng.chance(0.7) ? 3 : 2;
  const format = rng.pick(["libxc", "libxl", "xl", "xl"] as const);
  const checkpointed = rng.chance(0.1);
  const vcpus = rng.int(1, 2);
  const width = rng.chance(0.8) ? 8 : 4;
  const maxPfn = rng.int(3, 40);
  const libxc: Rec[] = [];
  if (guest === "pv") libxc.push(xc(LIBXC.X86_PV_INFO, concat([new Uint8Array([width, width === 8 ? 4 : 3]), new Uint8Array(6)])));
  if (version === 3) {
    if (rng.chance(0.8)) libxc.push(xc(LIBXC.CPUID_POLICY, cpuidPolicyBody(rng.int(1, 3))));
    if (rng.chance(0.8)) libxc.push(xc(LIBXC.MSR_POLICY, msrPolicyBody(rng.int(1, 2) as 1 | 2)));
    libxc.push(xc(LIBXC.STATIC_DATA_END));
  }
  if (guest === "pv") {
    const perFrame = 4096 / width;
    const frames = Math.floor(maxPfn / perFrame) + 1;
    libxc.push(xc(LIBXC.X86_PV_P2M_FRAMES, concat([le32(0), le32(maxPfn), ...Array.from({ length: frames }, (_, i) => le64(BigInt(i)))])));
  }
  const epochs = checkpointed ? rng.int(1, 2) : 1;
  for (let epoch = 0; epoch < epochs; epoch++) {
    libxc.push(...batches(rng, maxPfn, epoch === 0 ? rng.int(1, 2) : 1));
    if (!checkpointed && rng.chance(0.05)) {
      libxc.push(xc(LIBXC.VERIFY));
      libxc.push(...batches(rng, maxPfn, 1));
    }
    libxc.push(xc(LIBXC.TSC_INFO, tscBody(rng.below(3))));
    if (guest === "pv") {
      libxc.push(xc(LIBXC.SHARED_INFO, new Uint8Array(4096)));
      for (let v = 0; v < vcpus; v++) {
        libxc.push(xc(LIBXC.VCPU_BASIC, vcpuBody(v, pvBasicBlob(width))));
        if (rng.chance(0.7)) libxc.push(xc(LIBXC.VCPU_EXTENDED, vcpuBody(v, pvExtendedBlob(v))));
        if (rng.chance(0.3)) libxc.push(xc(LIBXC.VCPU_XSAVE, vcpuBody(v, pvXsaveBlob(rng.below(10) >= 5))));
        if (rng.chance(0.3)) libxc.push(xc(LIBXC.VCPU_MSRS, vcpuBody(v, pvMsrsBlob(rng.int(1, 2) as 1 | 2))));
      }
    } else {
      const params = hvmParamsBody([
        [1, 0xfeffc],
        [17, 0xfefff],
      ]);
      // Real savers write HVM_CONTEXT first; the spec and the converter put HVM_PARAMS first.
      if (rng.chance(0.7)) libxc.push(xc(LIBXC.HVM_CONTEXT, hvmContextBody(vcpus)), xc(LIBXC.HVM_PARAMS, params));
      else libxc.push(xc(LIBXC.HVM_PARAMS, params), xc(LIBXC.HVM_CONTEXT, hvmContextBody(vcpus)));
    }
    if (checkpointed) {
      libxc.push(xc(LIBXC.CHECKPOINT));
      if (format !== "libxc") {
        if (configType === "hvm") libxc.push(xl(LIBXL.EMULATOR_CONTEXT, concat([le32(2), le32(0), new Uint8Array(rng.int(1, 40))])));
        libxc.push(xl(LIBXL.CHECKPOINT_END));
      }
    }
  }
  if (!checkpointed) libxc.push(xc(LIBXC.END));
  const libxlTail: Rec[] = [];
  if (!checkpointed) {
    if (configType === "hvm" && format !== "libxc") {
      if (rng.chance(0.15)) {
        libxlTail.push(xl(LIBXL.XENSTORE, concat([le32(2), le32(0), ascii("physmap/f0000000/start_addr\0f0000000\0")])));
      }
      libxlTail.push(xl(LIBXL.EMULATOR_CONTEXT, concat([le32(2), le32(0), ascii("QEVM"), new Uint8Array(rng.int(0, 60))])));
    }
    libxlTail.push(xl(LIBXL.END));
  }
  const config = ascii(`{"c_info":{"type":"${configType}","name":"g"},"b_info":{"max_vcpus":${vcpus}}}\n\0`);
  return {
    format,
    guest,
    version,
    checkpointed,
    imageOptions: 0,
    imageRes1: 0,
    imageRes2: 0,
    domainType: guest === "pv" ? 1 : 2,
    pageShift: 12,
    domainRes: 0,
    libxlOptions: 0,
    xl: { byteOrder: "little", mandatory: 3, optional: 0, config, configLengthDelta: 0 },
    libxlHead: [],
    libxcContext: true,
    libxc,
    libxlTail,
    trailing: new Uint8Array(0),
    mutations: [],
  };
}

export function renderRecord(rec: Rec): Uint8Array {
  const pad = (8 - (rec.body.length % 8)) % 8;
  return concat([le32(rec.type), le32(rec.length ?? rec.body.length), rec.body, rec.padding ?? new Uint8Array(pad)]);
}

/**
 * The canonical stream of a guest type, version and format, with no
 * randomness: what the hand-written unit tests start from and mutate.
 * PV: X86_PV_INFO (8, 4), [policies, STATIC_DATA_END], X86_PV_P2M_FRAMES
 * 0..511 (one frame), PAGE_DATA {0 NOTAB, 1 L4TAB, 2 XTAB}, X86_TSC_INFO,
 * SHARED_INFO, vCPU 0 BASIC + EXTENDED, END. HVM: [policies,
 * STATIC_DATA_END], PAGE_DATA, X86_TSC_INFO, HVM_CONTEXT (1 vCPU),
 * HVM_PARAMS, END; libxl tail EMULATOR_CONTEXT (HVM) and END.
 */
export function baseModel(guest: "pv" | "hvm", version: 2 | 3 = 3, format: "libxc" | "libxl" | "xl" = "libxc"): StreamModel {
  const libxc: Rec[] = [];
  if (guest === "pv") libxc.push(xc(LIBXC.X86_PV_INFO, new Uint8Array([8, 4, 0, 0, 0, 0, 0, 0])));
  if (version === 3) libxc.push(xc(LIBXC.CPUID_POLICY, cpuidPolicyBody(1)), xc(LIBXC.MSR_POLICY, msrPolicyBody(1)), xc(LIBXC.STATIC_DATA_END));
  if (guest === "pv") libxc.push(xc(LIBXC.X86_PV_P2M_FRAMES, concat([le32(0), le32(511), le64(7n)])));
  libxc.push(
    xc(
      LIBXC.PAGE_DATA,
      pageDataBody([
        { pfn: 0, type: 0 },
        { pfn: 1, type: 4 },
        { pfn: 2, type: 0xf },
      ]),
    ),
    xc(LIBXC.TSC_INFO, tscBody()),
  );
  if (guest === "pv") {
    libxc.push(
      xc(LIBXC.SHARED_INFO, new Uint8Array(4096)),
      xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob())),
      xc(LIBXC.VCPU_EXTENDED, vcpuBody(0, pvExtendedBlob(0))),
    );
  } else {
    libxc.push(xc(LIBXC.HVM_CONTEXT, hvmContextBody(1)), xc(LIBXC.HVM_PARAMS, hvmParamsBody([[1, 0xfeffc]])));
  }
  libxc.push(xc(LIBXC.END));
  const libxlTail = guest === "hvm" ? [xl(LIBXL.EMULATOR_CONTEXT, concat([le32(2), le32(0), ascii("QEVM")])), xl(LIBXL.END)] : [xl(LIBXL.END)];
  return {
    format,
    guest,
    version,
    checkpointed: false,
    imageOptions: 0,
    imageRes1: 0,
    imageRes2: 0,
    domainType: guest === "pv" ? 1 : 2,
    pageShift: 12,
    domainRes: 0,
    libxlOptions: 0,
    xl: {
      byteOrder: "little",
      mandatory: 3,
      optional: 0,
      config: ascii(`{"c_info":{"type":"${guest}"},"b_info":{"max_vcpus":2}}\0`),
      configLengthDelta: 0,
    },
    libxlHead: [],
    libxcContext: true,
    libxc,
    libxlTail,
    trailing: new Uint8Array(0),
    mutations: [],
  };
}

/** Size of everything before the first libxc record (xl header, libxl header and LIBXC_CONTEXT, libxc headers). */
export function headerSize(model: StreamModel): number {
  const empty = { ...model, libxlHead: [], libxc: [], libxlTail: [], trailing: new Uint8Array(0) };
  return render(empty).length + model.libxlHead.reduce((sum, rec) => sum + renderRecord(rec).length, 0);
}

/** Absolute offset of libxc record `index` of the model. */
export function libxcOffset(model: StreamModel, index: number): number {
  return headerSize(model) + model.libxc.slice(0, index).reduce((sum, rec) => sum + renderRecord(rec).length, 0);
}

/** The stream's bytes. */
export function render(model: StreamModel): Uint8Array {
  const parts: Uint8Array[] = [];
  if (model.format === "xl") {
    const order = model.xl.byteOrder === "little" ? le32 : be32;
    const config = model.xl.config;
    const optional = config.length === 0 ? new Uint8Array(0) : concat([order(config.length + model.xl.configLengthDelta), config]);
    parts.push(
      ascii("Xen saved domain, xl format\n \0 \r"),
      order(0x01020304),
      order(model.xl.mandatory),
      order(model.xl.optional),
      order(optional.length),
      optional,
    );
  }
  const libxlFormat = model.format !== "libxc";
  if (libxlFormat) {
    parts.push(ascii("LibxlFmt"), be32(2), be32(model.libxlOptions));
    for (const rec of model.libxlHead) parts.push(renderRecord(rec));
    if (model.libxcContext) parts.push(renderRecord(xl(LIBXL.LIBXC_CONTEXT)));
  }
  if (!libxlFormat || model.libxcContext) {
    const imageHeader = new Uint8Array(24);
    const view = new DataView(imageHeader.buffer);
    view.setUint32(0, 0xffffffff);
    view.setUint32(4, 0xffffffff);
    view.setUint32(8, 0x58454e46);
    view.setUint32(12, model.version);
    view.setUint16(16, model.imageOptions);
    view.setUint16(18, model.imageRes1);
    view.setUint32(20, model.imageRes2);
    parts.push(imageHeader, le32(model.domainType), le16(model.pageShift), le16(model.domainRes), le32(4), le32(17));
  }
  for (const rec of model.libxc) parts.push(renderRecord(rec));
  if (libxlFormat) for (const rec of model.libxlTail) parts.push(renderRecord(rec));
  parts.push(model.trailing);
  return concat(parts);
}

// ---------------------------------------------------------------- mutations

type Mutation = (model: StreamModel, rng: Prng) => boolean;

function recordsOf(model: StreamModel, layer: "libxc" | "libxl", type?: number): Array<{ list: Rec[]; index: number; rec: Rec }> {
  const out: Array<{ list: Rec[]; index: number; rec: Rec }> = [];
  for (const list of [model.libxlHead, model.libxc, model.libxlTail]) {
    list.forEach((rec, index) => {
      if (rec.layer === layer && (type === undefined || rec.type === type)) out.push({ list, index, rec });
    });
  }
  return out;
}

function patchBody(rec: Rec, pos: number, bytes: Uint8Array): void {
  const body = new Uint8Array(Math.max(rec.body.length, pos + bytes.length));
  body.set(rec.body);
  body.set(bytes, pos);
  rec.body = body;
}

function withRecord(model: StreamModel, layer: "libxc" | "libxl", type: number, rng: Prng, edit: (rec: Rec) => void): boolean {
  const found = recordsOf(model, layer, type);
  if (found.length === 0) return false;
  edit(rng.pick(found).rec);
  return true;
}

const OPTIONAL_TYPES = [0x80000000, 0x80000001, 0xfffffffe];

const MUTATIONS: Record<string, Mutation> = {
  imageOptionReserved: (m, r) => ((m.imageOptions |= 1 << r.int(1, 15)), true),
  imageRes1: (m, r) => ((m.imageRes1 = r.int(1, 0xffff)), true),
  imageRes2: (m, r) => ((m.imageRes2 = r.int(1, 0xffffffff)), true),
  imageBigEndian: (m) => ((m.imageOptions |= 1), true),
  version: (m) => ((m.version = m.version === 3 ? 2 : 3), true),
  versionBad: (m, r) => ((m.version = r.pick([0, 1, 4, 0x100]) as 2), true),
  domainReserved: (m, r) => ((m.domainRes = r.int(1, 0xffff)), true),
  domainType: (m, r) => ((m.domainType = r.pick([0, 3, m.domainType === 1 ? 2 : 1])), true),
  pageShift: (m, r) => ((m.pageShift = r.pick([0, 11, 13, 16, 21, 30])), true),
  libxlReservedLow: (m, r) => m.format !== "libxc" && ((m.libxlOptions |= 1 << r.int(2, 15)), true),
  libxlReservedHigh: (m, r) => m.format !== "libxc" && ((m.libxlOptions = (m.libxlOptions | (1 << r.int(16, 31))) >>> 0), true),
  libxlBigEndian: (m) => m.format !== "libxc" && ((m.libxlOptions |= 1), true),
  libxlLegacy: (m) => m.format !== "libxc" && ((m.libxlOptions |= 2), true),
  padding: (m, r) => {
    const padded = [...recordsOf(m, "libxc"), ...recordsOf(m, "libxl")].filter(({ rec }) => rec.body.length % 8 !== 0);
    if (padded.length === 0) return false;
    const { rec } = r.pick(padded);
    const pad = new Uint8Array((8 - (rec.body.length % 8)) % 8);
    pad[r.below(pad.length)] = r.int(1, 255);
    rec.padding = pad;
    return true;
  },
  signalBody: (m, r) => {
    const signals = [
      ...recordsOf(m, "libxc").filter(({ rec }) => [0, 13, 14, 16].includes(rec.type)),
      ...recordsOf(m, "libxl").filter(({ rec }) => [0, 1, 4].includes(rec.type)),
    ];
    if (signals.length === 0) return false;
    r.pick(signals).rec.body = new Uint8Array(r.int(1, 12));
    return true;
  },
  pageReserved: (m, r) => withRecord(m, "libxc", 1, r, (rec) => patchBody(rec, 4, le32(r.int(1, 0xffff)))),
  pfnReserved: (m, r) => withRecord(m, "libxc", 1, r, (rec) => patchBody(rec, 14, new Uint8Array([(rec.body[14] as number) | (r.int(1, 15) << 4)]))),
  pageType: (m, r) => withRecord(m, "libxc", 1, r, (rec) => patchBody(rec, 15, new Uint8Array([((rec.body[15] as number) & 0x0f) | (r.int(5, 8) << 4)]))),
  pageCount: (m, r) => withRecord(m, "libxc", 1, r, (rec) => patchBody(rec, 0, le32(r.pick([0, 1, 2, 5, 100000])))),
  pvInfoWidth: (m, r) => withRecord(m, "libxc", 2, r, (rec) => patchBody(rec, 0, new Uint8Array([r.pick([0, 2, 4, 8, 16])]))),
  pvInfoLevels: (m, r) => withRecord(m, "libxc", 2, r, (rec) => patchBody(rec, 1, new Uint8Array([r.pick([2, 3, 4, 5])]))),
  pvInfoReserved: (m, r) => withRecord(m, "libxc", 2, r, (rec) => patchBody(rec, r.int(2, 7), new Uint8Array([r.int(1, 255)]))),
  pvInfoLong: (m, r) => withRecord(m, "libxc", 2, r, (rec) => patchBody(rec, 8, new Uint8Array(r.int(1, 8)))),
  vcpuReserved: (m, r) =>
    withRecord(m, "libxc", r.pick([4, 5, 6, 12]), r, (rec) => patchBody(rec, 4, le32(r.int(1, 0xffffffff)))),
  vcpuEmpty: (m, r) => withRecord(m, "libxc", r.pick([4, 5, 6, 12]), r, (rec) => (rec.body = rec.body.subarray(0, 8))),
  vcpuSize: (m, r) => withRecord(m, "libxc", r.pick([4, 5, 6, 12]), r, (rec) => (rec.body = new Uint8Array(r.pick([8 + 100, 8 + 2800, 8 + 5168, 8 + 200, 4])))),
  tscReserved: (m, r) => withRecord(m, "libxc", 8, r, (rec) => patchBody(rec, 20, le32(r.int(1, 255)))),
  tscMode: (m, r) => withRecord(m, "libxc", 8, r, (rec) => patchBody(rec, 0, le32(r.int(3, 9)))),
  hvmParamsReserved: (m, r) => withRecord(m, "libxc", 10, r, (rec) => patchBody(rec, 4, le32(r.int(1, 255)))),
  hvmParamsEmpty: (m, r) => withRecord(m, "libxc", 10, r, (rec) => (rec.body = new Uint8Array(8))),
  hvmContextEmpty: (m, r) => withRecord(m, "libxc", 9, r, (rec) => (rec.body = new Uint8Array(0))),
  hvmContextGarbage: (m, r) => withRecord(m, "libxc", 9, r, (rec) => patchBody(rec, r.below(rec.body.length), new Uint8Array([r.int(1, 255)]))),
  p2mStartEnd: (m, r) => withRecord(m, "libxc", 3, r, (rec) => patchBody(rec, 0, le32(r.int(50, 5000)))),
  p2mLength: (m, r) => withRecord(m, "libxc", 3, r, (rec) => (rec.body = concat([rec.body, new Uint8Array(r.pick([4, 8, 16]))]))),
  sharedInfoSize: (m, r) => withRecord(m, "libxc", 7, r, (rec) => (rec.body = new Uint8Array(r.pick([0, 4095, 4097, 8192])))),
  policyLength: (m, r) => withRecord(m, "libxc", r.pick([17, 18]), r, (rec) => (rec.body = new Uint8Array(r.pick([0, 8, 20, 30, 48])))),
  optionalLibxc: (m, r) => {
    m.libxc.splice(r.below(m.libxc.length + 1), 0, xc(r.pick(OPTIONAL_TYPES), new Uint8Array(r.int(0, 20))));
    return true;
  },
  optionalLibxl: (m, r) => {
    if (m.format === "libxc") return false;
    const list = r.chance(0.5) ? m.libxlTail : m.libxlHead;
    list.splice(r.below(list.length + (list === m.libxlTail ? 0 : 1)), 0, xl(r.pick(OPTIONAL_TYPES), new Uint8Array(r.int(0, 20))));
    return true;
  },
  unknownMandatory: (m, r) => {
    m.libxc.splice(r.below(m.libxc.length), 0, xc(r.pick([0x13, 0x20, 0x7fffffff]), new Uint8Array(r.int(0, 16))));
    return true;
  },
  otherGuestRecord: (m, r) => {
    const rec =
      m.guest === "pv"
        ? r.chance(0.5)
          ? xc(LIBXC.HVM_CONTEXT, hvmContextBody(1))
          : xc(LIBXC.HVM_PARAMS, hvmParamsBody([[1, 2]]))
        : r.chance(0.5)
          ? xc(LIBXC.SHARED_INFO, new Uint8Array(4096))
          : xc(LIBXC.VCPU_BASIC, vcpuBody(0, pvBasicBlob()));
    m.libxc.splice(Math.max(0, m.libxc.length - 1 - r.below(3)), 0, rec);
    return true;
  },
  toolstack: (m, r) => (m.libxc.splice(r.below(m.libxc.length), 0, xc(LIBXC.TOOLSTACK, new Uint8Array(r.int(0, 16)))), true),
  dirtyPfnList: (m, r) => (m.libxc.splice(r.below(m.libxc.length), 0, xc(LIBXC.DIRTY_PFN_LIST, new Uint8Array(8 * r.below(3)))), true),
  staticDataEndExtra: (m, r) => (m.libxc.splice(r.below(m.libxc.length), 0, xc(LIBXC.STATIC_DATA_END)), true),
  verifyRecord: (m, r) => (m.libxc.splice(Math.max(0, m.libxc.length - 1 - r.below(4)), 0, xc(LIBXC.VERIFY)), true),
  deleteRecord: (m, r) => {
    const list = r.chance(0.8) || m.libxlTail.length === 0 ? m.libxc : m.libxlTail;
    if (list.length === 0) return false;
    list.splice(r.below(list.length), 1);
    return true;
  },
  duplicateRecord: (m, r) => {
    if (m.libxc.length === 0) return false;
    const index = r.below(m.libxc.length);
    const rec = m.libxc[index] as Rec;
    m.libxc.splice(index + r.below(3), 0, { ...rec });
    return true;
  },
  swapRecords: (m, r) => {
    if (m.libxc.length < 3) return false;
    const i = r.below(m.libxc.length - 2);
    const a = m.libxc[i] as Rec;
    m.libxc[i] = m.libxc[i + 1] as Rec;
    m.libxc[i + 1] = a;
    return true;
  },
  moveRecord: (m, r) => {
    if (m.libxc.length < 3) return false;
    const [rec] = m.libxc.splice(r.below(m.libxc.length - 1), 1);
    m.libxc.splice(r.below(m.libxc.length), 0, rec as Rec);
    return true;
  },
  trailing: (m, r) => ((m.trailing = new Uint8Array(r.pick([1, 8, 16, 44]))), true),
  emulatorId: (m, r) => withRecord(m, "libxl", r.pick([2, 3]), r, (rec) => patchBody(rec, 0, le32(r.int(3, 9)))),
  xenstoreGood: (m, r) => {
    if (m.format === "libxc") return false;
    const data = r.pick(["physmap/1/name\0vga\0", "a\0b\0c-d_e@f/g\0value with spaces\0"]);
    m.libxlTail.splice(0, 0, xl(LIBXL.XENSTORE, concat([le32(r.pick([0, 1, 2])), le32(0), ascii(data)])));
    return true;
  },
  xenstoreBad: (m, r) => {
    if (m.format === "libxc") return false;
    const data = r.pick(["/abs\0v\0", "\0v\0", "key\0", "k y\0v\0", "key\0val", "k\0\x01\0"]);
    m.libxlTail.splice(0, 0, xl(LIBXL.XENSTORE, concat([le32(2), le32(0), ascii(data)])));
    return true;
  },
  checkpointRecordsOutOfPlace: (m, r) => {
    if (m.format === "libxc") return false;
    const rec = r.chance(0.5) ? xl(LIBXL.CHECKPOINT_END) : xl(LIBXL.CHECKPOINT_STATE, le32(r.below(5)));
    m.libxlTail.splice(0, 0, rec);
    return true;
  },
  checkpointStateLength: (m, r) => {
    if (!m.checkpointed || m.format === "libxc") return false;
    const index = m.libxc.findIndex((rec) => rec.layer === "libxl" && rec.type === LIBXL.CHECKPOINT_END);
    if (index < 0) return false;
    const body = r.pick([new Uint8Array(0), new Uint8Array(2), le32(0), concat([le32(0), le32(0)]), concat([le32(0), le32(7)]), le32(3), new Uint8Array(12)]);
    m.libxc.splice(index + 1, 0, xl(LIBXL.CHECKPOINT_STATE, body));
    return true;
  },
  noLibxcContext: (m) => m.format !== "libxc" && ((m.libxcContext = false), (m.libxc = []), true),
  libxlRecordFirst: (m, r) => {
    if (m.format === "libxc") return false;
    m.libxlHead.push(xl(LIBXL.EMULATOR_CONTEXT, concat([le32(2), le32(0), new Uint8Array(r.int(0, 9))])));
    return true;
  },
  secondLibxcContext: (m) => {
    if (m.format === "libxc" || m.checkpointed) return false;
    m.libxlHead.push(xl(LIBXL.LIBXC_CONTEXT));
    return true;
  },
  xlOptionalFlags: (m, r) => m.format === "xl" && ((m.xl.optional = r.int(1, 0xffff)), true),
  xlMandatoryUnknown: (m, r) => m.format === "xl" && ((m.xl.mandatory |= 1 << r.int(2, 31)), true),
  xlNoStreamV2: (m) => m.format === "xl" && ((m.xl.mandatory &= ~2), true),
  xlNoJson: (m) => m.format === "xl" && ((m.xl.mandatory &= ~1), true),
  xlBigEndian: (m) => m.format === "xl" && ((m.xl.byteOrder = "big"), true),
  xlConfigLength: (m, r) => m.format === "xl" && ((m.xl.configLengthDelta = r.pick([1, 4, 100, -1])), true),
  xlNoConfig: (m) => m.format === "xl" && ((m.xl.config = new Uint8Array(0)), true),
  lengthField: (m, r) => {
    const all = [...recordsOf(m, "libxc"), ...recordsOf(m, "libxl")];
    if (all.length === 0) return false;
    const { rec } = r.pick(all);
    rec.length = r.pick([rec.body.length + 1, rec.body.length - 1, rec.body.length + 8, 0, 0x7fffffff, 0xffffffff]) >>> 0;
    return true;
  },
  typeField: (m, r) => {
    const all = [...recordsOf(m, "libxc"), ...recordsOf(m, "libxl")];
    if (all.length === 0) return false;
    r.pick(all).rec.type = r.below(0x14);
    return true;
  },
};

export const MUTATION_NAMES = Object.keys(MUTATIONS);

/** Byte-level mutations on the rendered stream. */
function mutateBytes(bytes: Uint8Array, rng: Prng, names: string[]): Uint8Array {
  const kind = rng.below(3);
  if (kind === 0) {
    const out = bytes.slice();
    const flips = rng.int(1, 3);
    for (let i = 0; i < flips; i++) {
      const at = rng.below(out.length);
      out[at] = (out[at] as number) ^ (1 << rng.below(8));
    }
    names.push(`flip${flips}`);
    return out;
  }
  if (kind === 1) {
    const cut = rng.below(bytes.length);
    names.push(`truncate@${cut}`);
    return bytes.subarray(0, cut);
  }
  const out = bytes.slice();
  const at = rng.below(out.length - 4) & ~7;
  new DataView(out.buffer).setUint32(at + rng.pick([0, 4]), rng.pick([0, 1, 5, 8, 0x10, 0x80000000, rng.below(2 ** 32)]), true);
  names.push(`word@${at}`);
  return out;
}

/** One generated case: the stream bytes, its format flag for the tools, and what was done. */
export interface GeneratedCase {
  seed: number;
  format: "libxc" | "libxl" | "xl";
  bytes: Uint8Array;
  mutations: string[];
  model: StreamModel;
}

/**
 * The case for `seed`: about 1 in 5 valid, 3 in 5 with one or two model
 * mutations, 1 in 5 with a byte-level mutation.
 */
export function generateCase(seed: number): GeneratedCase {
  const rng = new Prng(seed);
  const model = validStream(rng);
  const roll = rng.next();
  let bytes: Uint8Array;
  if (roll < 0.2) {
    bytes = render(model);
  } else if (roll < 0.8) {
    const count = rng.chance(0.3) ? 2 : 1;
    for (let i = 0; i < count; i++) {
      for (let attempt = 0; attempt < 10; attempt++) {
        const name = rng.pick(MUTATION_NAMES);
        if ((MUTATIONS[name] as Mutation)(model, rng)) {
          model.mutations.push(name);
          break;
        }
      }
    }
    bytes = render(model);
  } else {
    bytes = mutateBytes(render(model), rng, model.mutations);
  }
  return { seed, format: model.format, bytes, mutations: model.mutations, model };
}
