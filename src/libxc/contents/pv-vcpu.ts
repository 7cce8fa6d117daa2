/**
 * X86_PV_VCPU_BASIC contents: `struct vcpu_guest_context` of a 64-bit or a
 * 32-bit PV guest (Xen xen/include/public/arch-x86/xen.h, with
 * `struct cpu_user_regs` of arch-x86/xen-x86_64.h and xen-x86_32.h),
 * decoded field by field and encoded back byte for byte.
 *
 * The record header (vcpu_id, reserved) is the record codec's
 * (src/libxc/records/x86-pv.ts); this module reads the `context` bytes
 * after it. Sizes: 5168 bytes for 64-bit guests, 2800 for 32-bit ones
 * (spec hvm-context-and-cpu.md §3).
 *
 * Frame numbers in the stream are pfns, not mfns: the saver
 * (tools/libs/guest/xg_sr_save_x86_pv.c write_one_vcpu_basic()) rewrote
 * vCPU 0's `user_regs.edx` (the start_info frame), the used `gdt_frames[]`,
 * `ctrlreg[3]` (cr3) and, for 64-bit guests, a non-zero `ctrlreg[1]` (the
 * user page table) from mfns to pfns; the restorer
 * (xg_sr_restore_x86_pv.c process_vcpu_basic()) maps them back.
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
  failUsage,
  readFields,
  viewOf,
  writeFields,
  type FieldSpec,
} from "./pv-layout.js";

/** PV guest width in bytes (X86_PV_INFO guest_width). */
export type PvGuestWidth = 4 | 8;

/** sizeof(vcpu_guest_context_x86_32_t) = 2800, the BASIC blob of a 32-bit guest. */
export const VCPU_GUEST_CONTEXT_SIZE_32 = 2800;
/** sizeof(vcpu_guest_context_x86_64_t) = 5168, the BASIC blob of a 64-bit guest. */
export const VCPU_GUEST_CONTEXT_SIZE_64 = 5168;

/**
 * VGCF_* flag bits of `vcpu_guest_context.flags` (arch-x86/xen.h;
 * VGCF_in_syscall from xen-x86_64.h, 64-bit guests only).
 */
export const VgcfFlag = {
  VGCF_i387_valid: 1 << 0,
  VGCF_in_kernel: 1 << 2,
  VGCF_failsafe_disables_events: 1 << 3,
  VGCF_syscall_disables_events: 1 << 4,
  VGCF_online: 1 << 5,
  VGCF_in_syscall: 1 << 8,
} as const;

/** One of the {@link VgcfFlag} names. */
export type VgcfFlagName = keyof typeof VgcfFlag;

/** VMASST_TYPE_* bit numbers of `vm_assist` (xen/include/public/xen.h). */
export const VmAssistType = {
  VMASST_TYPE_4gb_segments: 0,
  VMASST_TYPE_4gb_segments_notify: 1,
  VMASST_TYPE_writable_pagetables: 2,
  VMASST_TYPE_pae_extended_cr3: 3,
  VMASST_TYPE_architectural_iopl: 4,
  VMASST_TYPE_runstate_update_flag: 5,
  VMASST_TYPE_m2p_strict: 32,
} as const;

/** One of the {@link VmAssistType} names. */
export type VmAssistTypeName = keyof typeof VmAssistType;

/** `struct cpu_user_regs` of a 64-bit guest (xen-x86_64.h), 200 bytes. */
export interface CpuUserRegs64 {
  r15: bigint;
  r14: bigint;
  r13: bigint;
  r12: bigint;
  rbp: bigint;
  rbx: bigint;
  r11: bigint;
  r10: bigint;
  r9: bigint;
  r8: bigint;
  rax: bigint;
  rcx: bigint;
  /** For vCPU 0 in a stream: the pfn of the start_info page (see module notes). */
  rdx: bigint;
  rsi: bigint;
  rdi: bigint;
  /** u32, private to Xen. */
  errorCode: number;
  /** u32, private to Xen. */
  entryVector: number;
  rip: bigint;
  /** u16 code selector. */
  cs: number;
  /** `_pad0[1]`, u16. */
  pad0: number;
  /** u8. */
  savedUpcallMask: number;
  /** `_pad1[3]`, u8 each. */
  pad1: number[];
  rflags: bigint;
  rsp: bigint;
  ss: number;
  /** `_pad2[3]`, u16 each. */
  pad2: number[];
  es: number;
  pad3: number[];
  ds: number;
  pad4: number[];
  fs: number;
  pad5: number[];
  gs: number;
  pad6: number[];
}

/** `struct cpu_user_regs` of a 32-bit guest (xen-x86_32.h), 68 bytes. */
export interface CpuUserRegs32 {
  ebx: number;
  ecx: number;
  /** For vCPU 0 in a stream: the pfn of the start_info page (see module notes). */
  edx: number;
  esi: number;
  edi: number;
  ebp: number;
  eax: number;
  /** u16, private to Xen. */
  errorCode: number;
  /** u16, private to Xen. */
  entryVector: number;
  eip: number;
  cs: number;
  savedUpcallMask: number;
  /** `_pad0`, u8. */
  pad0: number;
  eflags: number;
  esp: number;
  ss: number;
  /** `_pad1`, u16 (likewise pad2..pad5 after es, ds, fs, gs). */
  pad1: number;
  es: number;
  pad2: number;
  ds: number;
  pad3: number;
  fs: number;
  pad4: number;
  gs: number;
  pad5: number;
}

/** `struct trap_info` of a 64-bit guest: 16 bytes. */
export interface TrapInfo64 {
  vector: number;
  /** Bits 0-1 DPL, bit 2 "clear event enable" (TI_GET_DPL / TI_GET_IF). */
  flags: number;
  cs: number;
  /** The 4 alignment bytes before `address` (not a Xen member; kept). */
  pad: number;
  address: bigint;
}

/** `struct trap_info` of a 32-bit guest: 8 bytes. */
export interface TrapInfo32 {
  vector: number;
  flags: number;
  cs: number;
  address: number;
}

/** Facts derived from the fields, for display; encoders ignore them. */
export interface PvVcpuDerived<Word> {
  /** Names of the set {@link VgcfFlag} bits; other set bits stay visible in `flags`. */
  flagNames: VgcfFlagName[];
  /** Names of the set {@link VmAssistType} bits. */
  vmAssistNames: VmAssistTypeName[];
  /**
   * The pfn of the top-level page table: `xen_cr3_to_pfn(ctrlreg[3])`
   * (xen-x86_64.h: `cr3 >> 12`; xen-x86_32.h: the 32-bit rotate
   * `(cr3 >> 12) | (cr3 << 20)` that packs PAE pfns above 2^20 into bits
   * 0-11). A pfn because the saver normalised it (module notes).
   */
  cr3Pfn: Word;
}

/** X86_PV_VCPU_BASIC of a 64-bit guest: `vcpu_guest_context` (5168 bytes). */
export interface PvVcpuContext64 extends PvVcpuDerived<bigint> {
  guestWidth: 8;
  /** The 512-byte FXSAVE (or FSAVE) image; a view into the input. */
  fpuCtxt: Uint8Array;
  /** VGCF_* bits (names in `flagNames`). */
  flags: bigint;
  userRegs: CpuUserRegs64;
  /** The virtual IDT, 256 entries. */
  trapCtxt: TrapInfo64[];
  ldtBase: bigint;
  ldtEnts: bigint;
  /** GDT frames: the first ceil(gdtEnts / 512) are pfns in the stream. */
  gdtFrames: bigint[];
  gdtEnts: bigint;
  kernelSs: bigint;
  kernelSp: bigint;
  /**
   * CR0-CR7. `ctrlreg[3]` is `pfn << 12` of the kernel page table (a pfn,
   * not an mfn: see `cr3Pfn`); a non-zero `ctrlreg[1]` is
   * `(pfn << 12) | 1` of the user page table (see `cr1Pfn`).
   */
  ctrlreg: bigint[];
  debugreg: bigint[];
  eventCallbackEip: bigint;
  failsafeCallbackEip: bigint;
  syscallCallbackEip: bigint;
  /** VMASST_TYPE_* bitmap (names in `vmAssistNames`). */
  vmAssist: bigint;
  fsBase: bigint;
  gsBaseKernel: bigint;
  gsBaseUser: bigint;
  /**
   * The user page table's pfn, `ctrlreg[1] >> 12`, when bit 0 of
   * `ctrlreg[1]` (the saver's "valid" mark) is set; derived.
   */
  cr1Pfn: bigint | undefined;
}

/** X86_PV_VCPU_BASIC of a 32-bit guest: `vcpu_guest_context` (2800 bytes). */
export interface PvVcpuContext32 extends PvVcpuDerived<number> {
  guestWidth: 4;
  /** The 512-byte FXSAVE (or FSAVE) image; a view into the input. */
  fpuCtxt: Uint8Array;
  flags: number;
  userRegs: CpuUserRegs32;
  trapCtxt: TrapInfo32[];
  ldtBase: number;
  ldtEnts: number;
  gdtFrames: number[];
  gdtEnts: number;
  kernelSs: number;
  kernelSp: number;
  /**
   * CR0-CR7. `ctrlreg[3]` holds a pfn (not an mfn) in Xen's extended-cr3
   * packing, `xen_pfn_to_cr3(pfn)` (see `cr3Pfn`).
   */
  ctrlreg: number[];
  debugreg: number[];
  eventCallbackCs: number;
  eventCallbackEip: number;
  failsafeCallbackCs: number;
  failsafeCallbackEip: number;
  vmAssist: number;
}

/** A decoded X86_PV_VCPU_BASIC context of either width. */
export type PvVcpuContext = PvVcpuContext64 | PvVcpuContext32;

/** Options of {@link decodePvVcpuBasic}. */
export interface PvVcpuBasicDecodeOptions {
  /**
   * Guest width from X86_PV_INFO. When absent it is inferred from the size
   * (5168: 8, 2800: 4).
   */
  guestWidth?: PvGuestWidth;
  /**
   * Absolute stream offset of the context's first byte, for error offsets.
   * @defaultValue 0
   */
  baseOffset?: number;
}

/** Options of the contents encoders. */
export interface ContentsEncodeOptions {
  /**
   * Absolute offset the bytes will have, for error offsets.
   * @defaultValue 0
   */
  baseOffset?: number;
}

// ------------------------------------------------------------------ layouts

const USER_REGS_64: readonly FieldSpec[] = [
  ...["r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx", "rsi", "rdi"].map(
    (name, i): FieldSpec => ({ name, offset: 8 * i, kind: "u64" }),
  ),
  { name: "errorCode", offset: 120, kind: "u32" },
  { name: "entryVector", offset: 124, kind: "u32" },
  { name: "rip", offset: 128, kind: "u64" },
  { name: "cs", offset: 136, kind: "u16" },
  { name: "pad0", offset: 138, kind: "u16" },
  { name: "savedUpcallMask", offset: 140, kind: "u8" },
  { name: "pad1", offset: 141, kind: "u8", count: 3 },
  { name: "rflags", offset: 144, kind: "u64" },
  { name: "rsp", offset: 152, kind: "u64" },
  ...["ss", "es", "ds", "fs", "gs"].flatMap((name, i): FieldSpec[] => [
    { name, offset: 160 + 8 * i, kind: "u16" },
    { name: `pad${i + 2}`, offset: 162 + 8 * i, kind: "u16", count: 3 },
  ]),
];

const USER_REGS_32: readonly FieldSpec[] = [
  ...["ebx", "ecx", "edx", "esi", "edi", "ebp", "eax"].map(
    (name, i): FieldSpec => ({ name, offset: 4 * i, kind: "u32" }),
  ),
  { name: "errorCode", offset: 28, kind: "u16" },
  { name: "entryVector", offset: 30, kind: "u16" },
  { name: "eip", offset: 32, kind: "u32" },
  { name: "cs", offset: 36, kind: "u16" },
  { name: "savedUpcallMask", offset: 38, kind: "u8" },
  { name: "pad0", offset: 39, kind: "u8" },
  { name: "eflags", offset: 40, kind: "u32" },
  { name: "esp", offset: 44, kind: "u32" },
  ...["ss", "es", "ds", "fs", "gs"].flatMap((name, i): FieldSpec[] => [
    { name, offset: 48 + 4 * i, kind: "u16" },
    { name: `pad${i + 1}`, offset: 50 + 4 * i, kind: "u16" },
  ]),
];

const TRAP_INFO_64: readonly FieldSpec[] = [
  { name: "vector", offset: 0, kind: "u8" },
  { name: "flags", offset: 1, kind: "u8" },
  { name: "cs", offset: 2, kind: "u16" },
  { name: "pad", offset: 4, kind: "u32" },
  { name: "address", offset: 8, kind: "u64" },
];

const TRAP_INFO_32: readonly FieldSpec[] = [
  { name: "vector", offset: 0, kind: "u8" },
  { name: "flags", offset: 1, kind: "u8" },
  { name: "cs", offset: 2, kind: "u16" },
  { name: "address", offset: 4, kind: "u32" },
];

/** Number of trap_ctxt entries (`trap_ctxt[256]`). */
const TRAP_COUNT = 256;

interface WidthLayout {
  readonly size: number;
  readonly userRegsOffset: number;
  readonly userRegs: readonly FieldSpec[];
  readonly trapOffset: number;
  readonly trapSize: number;
  readonly trap: readonly FieldSpec[];
  /** Every field outside user_regs and trap_ctxt. */
  readonly fields: readonly FieldSpec[];
}

/** Byte offsets: arch-x86/xen.h vcpu_guest_context, x86_64 (hvm-context-and-cpu.md §3.1). */
const LAYOUT_64: WidthLayout = {
  size: VCPU_GUEST_CONTEXT_SIZE_64,
  userRegsOffset: 520,
  userRegs: USER_REGS_64,
  trapOffset: 720,
  trapSize: 16,
  trap: TRAP_INFO_64,
  fields: [
    { name: "fpuCtxt", offset: 0, kind: "bytes", count: 512 },
    { name: "flags", offset: 512, kind: "u64" },
    { name: "ldtBase", offset: 4816, kind: "u64" },
    { name: "ldtEnts", offset: 4824, kind: "u64" },
    { name: "gdtFrames", offset: 4832, kind: "u64", count: 16 },
    { name: "gdtEnts", offset: 4960, kind: "u64" },
    { name: "kernelSs", offset: 4968, kind: "u64" },
    { name: "kernelSp", offset: 4976, kind: "u64" },
    { name: "ctrlreg", offset: 4984, kind: "u64", count: 8 },
    { name: "debugreg", offset: 5048, kind: "u64", count: 8 },
    { name: "eventCallbackEip", offset: 5112, kind: "u64" },
    { name: "failsafeCallbackEip", offset: 5120, kind: "u64" },
    { name: "syscallCallbackEip", offset: 5128, kind: "u64" },
    { name: "vmAssist", offset: 5136, kind: "u64" },
    { name: "fsBase", offset: 5144, kind: "u64" },
    { name: "gsBaseKernel", offset: 5152, kind: "u64" },
    { name: "gsBaseUser", offset: 5160, kind: "u64" },
  ],
};

/** Byte offsets: the same struct compiled for x86_32 (hvm-context-and-cpu.md §3.1). */
const LAYOUT_32: WidthLayout = {
  size: VCPU_GUEST_CONTEXT_SIZE_32,
  userRegsOffset: 516,
  userRegs: USER_REGS_32,
  trapOffset: 584,
  trapSize: 8,
  trap: TRAP_INFO_32,
  fields: [
    { name: "fpuCtxt", offset: 0, kind: "bytes", count: 512 },
    { name: "flags", offset: 512, kind: "u32" },
    { name: "ldtBase", offset: 2632, kind: "u32" },
    { name: "ldtEnts", offset: 2636, kind: "u32" },
    { name: "gdtFrames", offset: 2640, kind: "u32", count: 16 },
    { name: "gdtEnts", offset: 2704, kind: "u32" },
    { name: "kernelSs", offset: 2708, kind: "u32" },
    { name: "kernelSp", offset: 2712, kind: "u32" },
    { name: "ctrlreg", offset: 2716, kind: "u32", count: 8 },
    { name: "debugreg", offset: 2748, kind: "u32", count: 8 },
    { name: "eventCallbackCs", offset: 2780, kind: "u32" },
    { name: "eventCallbackEip", offset: 2784, kind: "u32" },
    { name: "failsafeCallbackCs", offset: 2788, kind: "u32" },
    { name: "failsafeCallbackEip", offset: 2792, kind: "u32" },
    { name: "vmAssist", offset: 2796, kind: "u32" },
  ],
};

function layoutOf(width: PvGuestWidth): WidthLayout {
  return width === 8 ? LAYOUT_64 : LAYOUT_32;
}

/**
 * Absolute byte offset, within a BASIC context, of a named field: a
 * top-level field (`"ctrlreg"`), an element (`"ctrlreg[3]"`), a register
 * (`"userRegs.rip"`) or a trap entry field (`"trapCtxt[14].address"`).
 *
 * @param width - guest width
 * @param path - the field
 * @returns the offset from the context's first byte
 * @throws {@link XenStreamError} USAGE for an unknown field
 */
export function pvVcpuFieldOffset(width: PvGuestWidth, path: string): number {
  const layout = layoutOf(width);
  const match = /^([A-Za-z0-9]+)(?:\[(\d+)\])?(?:\.([A-Za-z0-9]+))?$/.exec(path);
  if (match !== null) {
    const [, head, indexText, member] = match as unknown as [string, string, string | undefined, string | undefined];
    const index = indexText === undefined ? undefined : Number(indexText);
    if (head === "userRegs" && index === undefined && member !== undefined) {
      const spec = layout.userRegs.find((field) => field.name === member);
      if (spec !== undefined) return layout.userRegsOffset + spec.offset;
    } else if (head === "trapCtxt" && index !== undefined && index < TRAP_COUNT) {
      const base = layout.trapOffset + index * layout.trapSize;
      if (member === undefined) return base;
      const spec = layout.trap.find((field) => field.name === member);
      if (spec !== undefined) return base + spec.offset;
    } else if (member === undefined) {
      const spec = layout.fields.find((field) => field.name === head);
      if (spec !== undefined) {
        if (index === undefined) return spec.offset;
        if (spec.count !== undefined && spec.kind !== "bytes" && index < spec.count) {
          return spec.offset + index * (width === 8 ? 8 : 4);
        }
      }
    }
  }
  return failUsage(`pvVcpuFieldOffset: no field ${JSON.stringify(path)} in a ${width * 8}-bit vcpu_guest_context`);
}

// ------------------------------------------------------------------ derived

/** Names of the VGCF bits set in `flags`. */
function flagNamesOf(flags: number, width: PvGuestWidth): VgcfFlagName[] {
  const names: VgcfFlagName[] = [];
  for (const [name, bit] of Object.entries(VgcfFlag) as [VgcfFlagName, number][]) {
    if (name === "VGCF_in_syscall" && width === 4) continue;
    if ((flags & bit) !== 0) names.push(name);
  }
  return names;
}

function vmAssistNamesOf(vmAssist: bigint, width: PvGuestWidth): VmAssistTypeName[] {
  const names: VmAssistTypeName[] = [];
  for (const [name, bit] of Object.entries(VmAssistType) as [VmAssistTypeName, number][]) {
    if (bit >= width * 8) continue;
    if (((vmAssist >> BigInt(bit)) & 1n) !== 0n) names.push(name);
  }
  return names;
}

/**
 * `xen_cr3_to_pfn()` of a 32-bit guest (xen-x86_32.h): a 32-bit rotate
 * right by 12, so pfn bits 20-31 come back from cr3 bits 0-11.
 *
 * @param cr3 - the u32 `ctrlreg[3]`
 * @returns the pfn
 */
export function cr3ToPfn32(cr3: number): number {
  return ((cr3 >>> 12) | (cr3 << 20)) >>> 0;
}

/**
 * `xen_pfn_to_cr3()` of a 32-bit guest (xen-x86_32.h): the inverse of
 * {@link cr3ToPfn32}, truncated to 32 bits as Xen's `unsigned` arithmetic.
 *
 * @param pfn - a pfn below 2^32
 * @returns the packed cr3
 */
export function pfnToCr3For32(pfn: number): number {
  return ((pfn << 12) | (pfn >>> 20)) >>> 0;
}

// ------------------------------------------------------------------ codec

/**
 * Decodes an X86_PV_VCPU_BASIC context (the record's `context` bytes).
 *
 * Every byte is kept: pads as numbers, `fpuCtxt` as a view into `bytes`;
 * {@link encodePvVcpuBasic} gives back the same bytes.
 *
 * @param bytes - the context blob
 * @param options - guest width (else inferred from the size), base offset
 * @returns the context, 64- or 32-bit by `guestWidth`
 * @throws {@link XenStreamError} BAD_LENGTH (at `baseOffset`) when the size
 * is not 5168 / 2800 (or not the one of the given width); USAGE for a bad
 * option
 *
 * @example
 * ```ts
 * import { decodePvVcpuBasic } from "xen-migration-stream";
 * const vcpu = decodePvVcpuBasic(record.context, { guestWidth: 8 });
 * vcpu.userRegs.cs; //=> 0xe033
 * ```
 */
export function decodePvVcpuBasic(bytes: Uint8Array, options: PvVcpuBasicDecodeOptions = {}): PvVcpuContext {
  checkBytes(bytes, "decodePvVcpuBasic: bytes");
  const base = baseOffsetOf(options);
  const requested = options.guestWidth;
  if (requested !== undefined && requested !== 4 && requested !== 8) {
    failUsage(`decodePvVcpuBasic: guestWidth must be 4 or 8, got ${describeValue(requested)}`);
  }
  let width: PvGuestWidth;
  if (requested !== undefined) {
    width = requested;
    if (bytes.length !== layoutOf(width).size) {
      failLength(
        base,
        `X86_PV_VCPU_BASIC context of a ${width * 8}-bit guest must be ${layoutOf(width).size} bytes (sizeof vcpu_guest_context), got ${bytes.length}`,
      );
    }
  } else if (bytes.length === VCPU_GUEST_CONTEXT_SIZE_64) {
    width = 8;
  } else if (bytes.length === VCPU_GUEST_CONTEXT_SIZE_32) {
    width = 4;
  } else {
    failLength(
      base,
      `X86_PV_VCPU_BASIC context must be ${VCPU_GUEST_CONTEXT_SIZE_64} (64-bit guest) or ${VCPU_GUEST_CONTEXT_SIZE_32} (32-bit guest) bytes, got ${bytes.length}`,
    );
  }
  const layout = layoutOf(width);
  const view = viewOf(bytes);
  const out: Record<string, unknown> = { guestWidth: width };
  readFields(bytes, view, 0, layout.fields, out);
  out["userRegs"] = readFields(bytes, view, layout.userRegsOffset, layout.userRegs);
  const traps = new Array<Record<string, unknown>>(TRAP_COUNT);
  for (let i = 0; i < TRAP_COUNT; i++) traps[i] = readFields(bytes, view, layout.trapOffset + i * layout.trapSize, layout.trap);
  out["trapCtxt"] = traps;
  const ctrlreg = out["ctrlreg"] as (number | bigint)[];
  if (width === 8) {
    const flags = out["flags"] as bigint;
    out["flagNames"] = flagNamesOf(Number(flags & 0xffff_ffffn), 8);
    out["vmAssistNames"] = vmAssistNamesOf(out["vmAssist"] as bigint, 8);
    out["cr3Pfn"] = (ctrlreg[3] as bigint) >> 12n;
    const cr1 = ctrlreg[1] as bigint;
    out["cr1Pfn"] = (cr1 & 1n) === 1n ? cr1 >> 12n : undefined;
  } else {
    out["flagNames"] = flagNamesOf(out["flags"] as number, 4);
    out["vmAssistNames"] = vmAssistNamesOf(BigInt(out["vmAssist"] as number), 4);
    out["cr3Pfn"] = cr3ToPfn32(ctrlreg[3] as number);
  }
  return out as unknown as PvVcpuContext;
}

/**
 * Encodes an X86_PV_VCPU_BASIC context (5168 or 2800 bytes by
 * `guestWidth`). The derived fields (`flagNames`, `vmAssistNames`,
 * `cr3Pfn`, `cr1Pfn`) are ignored.
 *
 * @param context - a context as {@link decodePvVcpuBasic} returns
 * @param options - base offset for error offsets
 * @returns new bytes
 * @throws {@link XenStreamError} BAD_VALUE (at the field's offset) for a
 * value out of its field's range or an array of the wrong length; USAGE
 * for a `guestWidth` other than 4 or 8
 */
export function encodePvVcpuBasic(context: PvVcpuContext, options: ContentsEncodeOptions = {}): Uint8Array {
  checkObject(context, "encodePvVcpuBasic: context");
  const base = baseOffsetOf(options);
  const width = context.guestWidth;
  if (width !== 4 && width !== 8) failUsage(`encodePvVcpuBasic: guestWidth must be 4 or 8, got ${describeValue(width)}`);
  const layout = layoutOf(width);
  const writer = new Writer(layout.size, true, base);
  writeFields(writer, 0, layout.fields, context, "");
  checkObject(context.userRegs, "encodePvVcpuBasic: context.userRegs");
  writeFields(writer, layout.userRegsOffset, layout.userRegs, context.userRegs, "userRegs.");
  const traps: unknown = context.trapCtxt;
  if (!Array.isArray(traps) || traps.length !== TRAP_COUNT) {
    writer.pos = layout.trapOffset;
    writer.fail(`trapCtxt must be an array of ${TRAP_COUNT} trap_info entries`);
  }
  const list = traps as unknown[];
  for (let i = 0; i < TRAP_COUNT; i++) {
    const entry: unknown = list[i];
    const at = layout.trapOffset + i * layout.trapSize;
    if (typeof entry !== "object" || entry === null) {
      writer.pos = at;
      writer.fail(`trapCtxt[${i}] must be an object`);
    }
    writeFields(writer, at, layout.trap, entry as object, `trapCtxt[${i}].`);
  }
  return writer.bytes;
}
