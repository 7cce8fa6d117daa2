/**
 * The registers of each saved vCPU that memory readers need: the paging
 * state for virtual-address walks, and the general registers for ELF core
 * notes. Taken from the PV vcpu_guest_context (X86_PV_VCPU_BASIC) or the
 * HVM CPU save record (HVM_CONTEXT typecode 2).
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import type { MemoryLayout } from "./layout.js";
import type { PagingState } from "./paging.js";
import { pagingStateOf } from "./paging.js";

/** The registers of one vCPU, 64-bit wide whatever the guest width. */
export interface VcpuRegisters {
  /** vCPU id. */
  id: number;
  rax: bigint;
  rbx: bigint;
  rcx: bigint;
  rdx: bigint;
  rsi: bigint;
  rdi: bigint;
  rbp: bigint;
  rsp: bigint;
  r8: bigint;
  r9: bigint;
  r10: bigint;
  r11: bigint;
  r12: bigint;
  r13: bigint;
  r14: bigint;
  r15: bigint;
  rip: bigint;
  rflags: bigint;
  cs: number;
  ss: number;
  ds: number;
  es: number;
  fs: number;
  gs: number;
  /** FS base. */
  fsBase: bigint;
  /** The GS base in effect (PV: the kernel's when the vCPU was in kernel mode). */
  gsBase: bigint;
  /** The other GS base (HVM: shadow_gs; PV: the one not in effect). */
  gsBaseOther: bigint;
  cr0: bigint;
  cr2: bigint;
  /**
   * cr3 as the stream carries it. PV: the saver replaced the mfn by a pfn
   * (Xen xg_sr_save_x86_pv.c: write_one_vcpu_basic(); 32-bit guests in
   * Xen's rotated "extended cr3" form, xen-x86_32.h: xen_pfn_to_cr3).
   */
  cr3: bigint;
  cr4: bigint;
  /** EFER (HVM only; 0 for PV). */
  efer: bigint;
  /** The paging state a walk of this vCPU's address space starts from. */
  paging: PagingState;
}

/** hvm_save_descriptor size and the CPU typecode (public/hvm/save.h, arch-x86/hvm/save.h). */
const HVM_DESCRIPTOR = 8;
const HVM_CODE_CPU = 2;
const HVM_CODE_END = 0;

function u64(view: DataView, pos: number): bigint {
  return view.getBigUint64(pos, true);
}

/**
 * Offsets in struct hvm_hw_cpu (arch-x86/hvm/save.h): 16 GPRs at 512
 * (rax rbx rcx rdx rbp rsi rdi rsp r8..r15), rip 640, rflags 648, cr0/2/3/4
 * at 656..680, selectors (u32) at 736 in the order cs ds es fs gs ss,
 * bases (u64) at 808 in the same order, shadow_gs 944, msr_efer 992.
 */
function fromHvmCpu(id: number, view: DataView, at: number): VcpuRegisters {
  const gpr = (i: number): bigint => u64(view, at + 512 + 8 * i);
  const sel = (i: number): number => view.getUint32(at + 736 + 4 * i, true) & 0xffff;
  const base = (i: number): bigint => u64(view, at + 808 + 8 * i);
  const cr0 = u64(view, at + 656);
  const cr3 = u64(view, at + 672);
  const cr4 = u64(view, at + 680);
  const efer = u64(view, at + 992);
  return {
    id,
    rax: gpr(0),
    rbx: gpr(1),
    rcx: gpr(2),
    rdx: gpr(3),
    rbp: gpr(4),
    rsi: gpr(5),
    rdi: gpr(6),
    rsp: gpr(7),
    r8: gpr(8),
    r9: gpr(9),
    r10: gpr(10),
    r11: gpr(11),
    r12: gpr(12),
    r13: gpr(13),
    r14: gpr(14),
    r15: gpr(15),
    rip: u64(view, at + 640),
    rflags: u64(view, at + 648),
    cs: sel(0),
    ds: sel(1),
    es: sel(2),
    fs: sel(3),
    gs: sel(4),
    ss: sel(5),
    fsBase: base(3),
    gsBase: base(4),
    gsBaseOther: u64(view, at + 944),
    cr0,
    cr2: u64(view, at + 664),
    cr3,
    cr4,
    efer,
    paging: pagingStateOf({ cr0, cr3, cr4, efer }),
  };
}

/** VGCF_in_kernel (arch-x86/xen.h): the vCPU was in guest kernel mode. */
const VGCF_IN_KERNEL = 1n << 2n;

/**
 * 64-bit vcpu_guest_context (arch-x86/xen.h, xen-x86_64.h): flags 512,
 * user_regs 520 (r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi,
 * rip 648, cs 656, rflags 664, rsp 672, ss 680, es 688, ds 696, fs 704,
 * gs 712), ctrlreg[8] 4984, fs_base 5144, gs_base_kernel 5152,
 * gs_base_user 5160.
 */
function fromPv64(id: number, view: DataView): VcpuRegisters {
  const reg = (i: number): bigint => u64(view, 520 + 8 * i);
  const sel = (pos: number): number => view.getUint16(pos, true);
  const cr3 = u64(view, 4984 + 24);
  const inKernel = (u64(view, 512) & VGCF_IN_KERNEL) !== 0n;
  const kernelGs = u64(view, 5152);
  const userGs = u64(view, 5160);
  return {
    id,
    r15: reg(0),
    r14: reg(1),
    r13: reg(2),
    r12: reg(3),
    rbp: reg(4),
    rbx: reg(5),
    r11: reg(6),
    r10: reg(7),
    r9: reg(8),
    r8: reg(9),
    rax: reg(10),
    rcx: reg(11),
    rdx: reg(12),
    rsi: reg(13),
    rdi: reg(14),
    rip: u64(view, 648),
    cs: sel(656),
    rflags: u64(view, 664),
    rsp: u64(view, 672),
    ss: sel(680),
    es: sel(688),
    ds: sel(696),
    fs: sel(704),
    gs: sel(712),
    fsBase: u64(view, 5144),
    gsBase: inKernel ? kernelGs : userGs,
    gsBaseOther: inKernel ? userGs : kernelGs,
    cr0: u64(view, 4984),
    cr2: u64(view, 4984 + 16),
    cr3,
    cr4: u64(view, 4984 + 32),
    efer: 0n,
    // 64-bit PV guests always run 4-level paging; xen_cr3_to_pfn(cr3) = cr3 >> 12.
    paging: { mode: "4-level", tableAddress: (cr3 >> 12n) << 12n },
  };
}

/**
 * 32-bit vcpu_guest_context (xen-x86_32.h): user_regs 516 (ebx ecx edx esi
 * edi ebp eax, eip 548, cs 552, eflags 556, esp 560, ss 564, es 568, ds 572,
 * fs 576, gs 580), ctrlreg[8] (u32) 2716.
 */
function fromPv32(id: number, view: DataView): VcpuRegisters {
  const reg = (pos: number): bigint => BigInt(view.getUint32(pos, true));
  const sel = (pos: number): number => view.getUint16(pos, true);
  const cr3 = reg(2716 + 12);
  // xen_cr3_to_pfn for 32-bit guests: the pfn rotated by 12 within 32 bits.
  const pfn = ((cr3 >> 12n) | (cr3 << 20n)) & 0xffff_ffffn;
  return {
    id,
    rbx: reg(516),
    rcx: reg(520),
    rdx: reg(524),
    rsi: reg(528),
    rdi: reg(532),
    rbp: reg(536),
    rax: reg(540),
    r8: 0n,
    r9: 0n,
    r10: 0n,
    r11: 0n,
    r12: 0n,
    r13: 0n,
    r14: 0n,
    r15: 0n,
    rip: reg(548),
    cs: sel(552),
    rflags: reg(556),
    rsp: reg(560),
    ss: sel(564),
    es: sel(568),
    ds: sel(572),
    fs: sel(576),
    gs: sel(580),
    fsBase: 0n,
    gsBase: 0n,
    gsBaseOther: 0n,
    cr0: reg(2716),
    cr2: reg(2716 + 8),
    cr3,
    cr4: reg(2716 + 16),
    efer: 0n,
    // 32-bit PV guests on a 64-bit Xen always run PAE paging.
    paging: { mode: "pae", tableAddress: pfn << 12n },
  };
}

const PV_CONTEXT_SIZE = { 4: 2800, 8: 5168 } as const;

/**
 * The registers of every saved vCPU, in vCPU id order: PV guests from their
 * X86_PV_VCPU_BASIC records (vCPUs sent without a context are left out, as
 * Xen's restore leaves them down), HVM guests from the CPU save records of
 * the last HVM_CONTEXT.
 *
 * @param layout - what the indexing pass found
 * @returns the registers per vCPU
 * @throws {@link XenStreamError} BAD_LENGTH for a context of the wrong size
 * for the guest width, or a malformed HVM context
 */
export function savedRegisters(layout: MemoryLayout): VcpuRegisters[] {
  if (layout.guest === "pv") {
    const out: VcpuRegisters[] = [];
    const width = layout.guestWidth === 4 ? 4 : 8;
    for (const vcpu of layout.vcpus) {
      const context = vcpu.basic;
      if (context === undefined || context.length === 0) continue;
      if (context.length !== PV_CONTEXT_SIZE[width]) {
        throw new XenStreamError(
          "BAD_LENGTH",
          0,
          `vCPU ${vcpu.id}: X86_PV_VCPU_BASIC context of ${context.length} bytes, expected ${PV_CONTEXT_SIZE[width]} for a ${width * 8}-bit guest`,
        );
      }
      const view = new DataView(context.buffer, context.byteOffset, context.byteLength);
      out.push(width === 8 ? fromPv64(vcpu.id, view) : fromPv32(vcpu.id, view));
    }
    return out;
  }
  const blob = layout.hvmContext;
  if (blob === undefined) return [];
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const out: VcpuRegisters[] = [];
  for (let pos = 0; pos + HVM_DESCRIPTOR <= blob.length; ) {
    const code = view.getUint16(pos, true);
    const instance = view.getUint16(pos + 2, true);
    const length = view.getUint32(pos + 4, true);
    if (code === HVM_CODE_END) break;
    const body = pos + HVM_DESCRIPTOR;
    if (body + length > blob.length) {
      throw new XenStreamError("BAD_LENGTH", pos + 4, `HVM context entry (typecode ${code}) of ${length} bytes runs past the blob's end`);
    }
    // Every CPU layout Xen loads (1016, 1024, 1032 bytes) has the fields read here below 1000.
    if (code === HVM_CODE_CPU) {
      if (length < 1000) throw new XenStreamError("BAD_LENGTH", pos + 4, `HVM CPU record of ${length} bytes is shorter than any layout Xen loads`);
      out.push(fromHvmCpu(instance, view, body));
    }
    pos = body + length;
  }
  return out.sort((a, b) => a.id - b.id);
}
