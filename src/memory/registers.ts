/**
 * The registers of each saved vCPU that memory readers need: the paging
 * state for virtual-address walks, and the general registers for ELF core
 * notes. Taken from the PV vcpu_guest_context (X86_PV_VCPU_BASIC) or the
 * HVM CPU save record (HVM_CONTEXT typecode 2).
 *
 * @module
 */
import { decodeHvmContext } from "../libxc/contents/hvm-context.js";
import type { HvmHwCpu } from "../libxc/contents/hvm-context.js";
import { decodePvVcpuBasic } from "../libxc/contents/pv-vcpu.js";
import type { PvVcpuContext32, PvVcpuContext64 } from "../libxc/contents/pv-vcpu.js";
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

/** The registers of an HVM CPU save record (struct hvm_hw_cpu, arch-x86/hvm/save.h). */
function fromHvmCpu(id: number, cpu: HvmHwCpu): VcpuRegisters {
  const { cr0, cr3, cr4, msrEfer: efer } = cpu;
  return {
    id,
    rax: cpu.rax,
    rbx: cpu.rbx,
    rcx: cpu.rcx,
    rdx: cpu.rdx,
    rbp: cpu.rbp,
    rsi: cpu.rsi,
    rdi: cpu.rdi,
    rsp: cpu.rsp,
    r8: cpu.r8,
    r9: cpu.r9,
    r10: cpu.r10,
    r11: cpu.r11,
    r12: cpu.r12,
    r13: cpu.r13,
    r14: cpu.r14,
    r15: cpu.r15,
    rip: cpu.rip,
    rflags: cpu.rflags,
    cs: cpu.csSel & 0xffff,
    ds: cpu.dsSel & 0xffff,
    es: cpu.esSel & 0xffff,
    fs: cpu.fsSel & 0xffff,
    gs: cpu.gsSel & 0xffff,
    ss: cpu.ssSel & 0xffff,
    fsBase: cpu.fsBase,
    gsBase: cpu.gsBase,
    gsBaseOther: cpu.shadowGs,
    cr0,
    cr2: cpu.cr2,
    cr3,
    cr4,
    efer,
    paging: pagingStateOf({ cr0, cr3, cr4, efer }),
  };
}

/** VGCF_in_kernel (arch-x86/xen.h): the vCPU was in guest kernel mode. */
const VGCF_IN_KERNEL = 1n << 2n;

/** The registers of a 64-bit PV vcpu_guest_context (arch-x86/xen.h, xen-x86_64.h). */
function fromPv64(id: number, context: PvVcpuContext64): VcpuRegisters {
  const regs = context.userRegs;
  const inKernel = (context.flags & VGCF_IN_KERNEL) !== 0n;
  const ctrl = (i: number): bigint => context.ctrlreg[i] ?? 0n;
  return {
    id,
    rax: regs.rax,
    rbx: regs.rbx,
    rcx: regs.rcx,
    rdx: regs.rdx,
    rsi: regs.rsi,
    rdi: regs.rdi,
    rbp: regs.rbp,
    rsp: regs.rsp,
    r8: regs.r8,
    r9: regs.r9,
    r10: regs.r10,
    r11: regs.r11,
    r12: regs.r12,
    r13: regs.r13,
    r14: regs.r14,
    r15: regs.r15,
    rip: regs.rip,
    rflags: regs.rflags,
    cs: regs.cs,
    ss: regs.ss,
    ds: regs.ds,
    es: regs.es,
    fs: regs.fs,
    gs: regs.gs,
    fsBase: context.fsBase,
    gsBase: inKernel ? context.gsBaseKernel : context.gsBaseUser,
    gsBaseOther: inKernel ? context.gsBaseUser : context.gsBaseKernel,
    cr0: ctrl(0),
    cr2: ctrl(2),
    cr3: ctrl(3),
    cr4: ctrl(4),
    efer: 0n,
    // 64-bit PV guests always run 4-level paging.
    paging: { mode: "4-level", tableAddress: context.cr3Pfn << 12n },
  };
}

/** The registers of a 32-bit PV vcpu_guest_context (xen-x86_32.h), zero-extended. */
function fromPv32(id: number, context: PvVcpuContext32): VcpuRegisters {
  const regs = context.userRegs;
  const ctrl = (i: number): bigint => BigInt(context.ctrlreg[i] ?? 0);
  return {
    id,
    rax: BigInt(regs.eax),
    rbx: BigInt(regs.ebx),
    rcx: BigInt(regs.ecx),
    rdx: BigInt(regs.edx),
    rsi: BigInt(regs.esi),
    rdi: BigInt(regs.edi),
    rbp: BigInt(regs.ebp),
    rsp: BigInt(regs.esp),
    r8: 0n,
    r9: 0n,
    r10: 0n,
    r11: 0n,
    r12: 0n,
    r13: 0n,
    r14: 0n,
    r15: 0n,
    rip: BigInt(regs.eip),
    rflags: BigInt(regs.eflags),
    cs: regs.cs,
    ss: regs.ss,
    ds: regs.ds,
    es: regs.es,
    fs: regs.fs,
    gs: regs.gs,
    fsBase: 0n,
    gsBase: 0n,
    gsBaseOther: 0n,
    cr0: ctrl(0),
    cr2: ctrl(2),
    cr3: ctrl(3),
    cr4: ctrl(4),
    efer: 0n,
    // 32-bit PV guests on a 64-bit Xen always run PAE paging; cr3Pfn undoes Xen's rotated form.
    paging: { mode: "pae", tableAddress: BigInt(context.cr3Pfn) << 12n },
  };
}

/**
 * The CPU save records (typecode 2) of an HVM context blob by vCPU id,
 * with their body lengths (the layout they were written in).
 * @internal
 */
export function hvmCpuRecords(blob: Uint8Array | undefined): Map<number, { cpu: HvmHwCpu; length: number }> {
  const out = new Map<number, { cpu: HvmHwCpu; length: number }>();
  if (blob === undefined) return out;
  for (const entry of decodeHvmContext(blob).entries) {
    if (entry.name === "CPU") out.set(entry.instance, { cpu: entry.fields, length: entry.length });
  }
  return out;
}

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
    const guestWidth = layout.guestWidth === 4 ? 4 : 8;
    for (const vcpu of layout.vcpus) {
      if (vcpu.basic === undefined || vcpu.basic.length === 0) continue;
      const context = decodePvVcpuBasic(vcpu.basic, { guestWidth });
      out.push(context.guestWidth === 8 ? fromPv64(vcpu.id, context) : fromPv32(vcpu.id, context));
    }
    return out;
  }
  return [...hvmCpuRecords(layout.hvmContext)].map(([id, { cpu }]) => fromHvmCpu(id, cpu)).sort((a, b) => a.id - b.id);
}
