/**
 * The synthetic x86 64-bit PV guest of the live-loop model: its memory
 * (page types and contents per pfn) and its state records, as Xen 4.17's
 * saver writes a 64-bit PV guest (tools/libs/guest/xg_sr_save_x86_pv.c;
 * guides/live-loop.md "PV guests").
 *
 * Memory, N = memoryMiB × 256 pfns, all populated (a PV guest's p2m is
 * dense: p2m_size = max_pfn + 1, xg_sr_save_x86_pv.c map_p2m_leaves()),
 * from the top down:
 *
 * ```
 * p2m frames     F = max_pfn / 512 + 1 pages, ascending, the guest's p2m list (mfns, ~0 past max_pfn)
 * page tables    kernel L4 (pinned), user L4 (pinned), L3s, L2s, L1s of a direct map of all N pfns
 * start_info, xenstore ring, console ring, one GDT frame per vCPU
 * ballooned pfns (optional): B pfns without a page, p2m entry INVALID_MFN
 * ordinary pages below, seeded patterns stamped with their pfn
 * ```
 *
 * Page tables are stored as the saver sends them: normalised, every
 * present PTE holding a pfn instead of an mfn and Xen's L4 slots
 * 256..272 cleared (normalise_pagetable()); no superpages (the saver
 * refuses PSE above L1). The direct map is at L4 slot 273
 * (0xffff888000000000) and maps page tables and GDT frames read-only, as
 * Xen only accepts them so. vCPU state carries pfns too:
 * cr3 = kernel L4 pfn << 12, cr1 = (user L4 pfn << 12) | 1, vCPU 0's rdx
 * the start_info pfn, gdt_frames[0] the vCPU's GDT pfn
 * (write_one_vcpu_basic()).
 *
 * @module
 * @internal
 */
import { PageType } from "../libxc/constants.js";
import { decodePvVcpuBasic, encodePvVcpuBasic, VCPU_GUEST_CONTEXT_SIZE_64, VgcfFlag, type PvVcpuContext64 } from "../libxc/contents/pv-vcpu.js";
import { decodePvVcpuExtended, encodePvVcpuExtended, VCPU_EXTENDED_SIZE } from "../libxc/contents/pv-vcpu-extended.js";
import { decodeSharedInfo, encodeSharedInfo, SHARED_INFO_SIZE, type SharedInfo64 } from "../libxc/contents/shared-info.js";
import { p2mEntriesPerFrame, p2mFrameCountFor, PV64_GUEST_WIDTH, x86PvInfo64 } from "../libxc/pv-guest.js";
import type { LibxcRecord } from "../libxc/types.js";

/** 4 KiB pages, 512 eight-byte entries a page (64-bit page tables and p2m). */
const PAGE_SIZE = 4096;
const ENTRIES = PAGE_SIZE / 8;
/**
 * The source host's machine frame of a pfn: the guest's RAM as one
 * contiguous run of host memory from 8 GiB (any mapping would do: mfns
 * appear only in the pages the saver copies raw, the p2m and the shared
 * info page).
 */
const MFN_BASE = 0x20_0000;
/** ~0: INVALID_MFN, the p2m entry of a pfn beyond max_pfn. */
const INVALID_MFN_WORD = 0xffff_ffff;

/** L4 slot of Linux's direct map, 0xffff888000000000 (x86-64 __PAGE_OFFSET, 4-level paging). */
const DIRECT_MAP_SLOT = 273;
const DIRECT_MAP_BASE = 0xffff_8880_0000_0000n;
/** Kernel text base, 0xffffffff81000000 (x86-64 __START_KERNEL_map + 16 MiB). */
const KERNEL_TEXT = 0xffff_ffff_8100_0000n;
/**
 * PTE bits (x86 paging): present, writable, user, accessed, dirty,
 * global; NX is bit 63 (bit 31 of the high word).
 */
const PTE_PRESENT = 0x1;
const PTE_RW = 0x2;
const PTE_USER = 0x4;
const PTE_ACCESSED = 0x20;
const PTE_DIRTY = 0x40;
const PTE_GLOBAL = 0x100;
const PTE_NX_HIGH = 0x8000_0000;
/** An entry pointing at a lower table (Linux _PAGE_TABLE). */
const TABLE_FLAGS = PTE_PRESENT | PTE_RW | PTE_USER | PTE_ACCESSED | PTE_DIRTY;
/** A direct-map leaf (Linux PAGE_KERNEL); page tables and GDT frames without RW (PAGE_KERNEL_RO). */
const LEAF_FLAGS = PTE_PRESENT | PTE_RW | PTE_ACCESSED | PTE_DIRTY | PTE_GLOBAL;
const LEAF_FLAGS_RO = LEAF_FLAGS & ~PTE_RW;

/** FLAT_KERNEL_CS64 / FLAT_KERNEL_SS64 (xen/include/public/arch-x86/xen-x86_64.h). */
const FLAT_KERNEL_CS64 = 0xe033;
const FLAT_KERNEL_SS64 = 0xe02b;
/** Linux's GDT_ENTRIES: one GDT frame a vCPU. */
const GDT_ENTRIES = 16;
/** VMASST types 4gb_segments, writable_pagetables, pae_extended_cr3, runstate_update_flag (what Linux enables; the captured PV guest's vm_assist). */
const VM_ASSIST = 0x2dn;
/** Machine-check banks of a PV vCPU's vMCE (GUEST_MC_BANK_NUM, xen/arch/x86/cpu/mcheck/vmce.h), vmce.caps. */
const VMCE_CAPS = 2n;
/** Event channels of the xenstore and console rings in start_info. */
const STORE_EVTCHN = 1;
const CONSOLE_EVTCHN = 2;

/** Where everything of a synthetic PV guest lies (pfns). */
export interface PvGuestLayout {
  /** Guest pages: pfns 0..pages-1, p2m_size. */
  pages: number;
  vcpus: number;
  /** p2m frames: pfns p2mBase..p2mBase+p2mFrames-1, frame i holds the entries of pfns 512i..512i+511. */
  p2mBase: number;
  p2mFrames: number;
  kernelL4: number;
  userL4: number;
  l3Base: number;
  l3Count: number;
  l2Base: number;
  l2Count: number;
  l1Base: number;
  l1Count: number;
  startInfo: number;
  xenstore: number;
  console: number;
  /** GDT frame of vCPU v: gdtBase + v. */
  gdtBase: number;
  /**
   * Ballooned-out pfns: gdtBase - ballooned .. gdtBase - 1, without a
   * page (p2m entry INVALID_MFN, not mapped by the direct map).
   */
  ballooned: number;
}

/**
 * The layout of a synthetic PV guest of `pages` pfns (at least 256) and
 * `vcpus` vCPUs (at most 128), `ballooned` of its ordinary pfns ballooned
 * out (the caller keeps it at most {@link pvMaxBallooned}).
 *
 * @param pages - p2m size
 * @param vcpus - vCPU count
 * @param ballooned - ballooned-out pfns
 * @returns the layout
 */
export function pvGuestLayout(pages: number, vcpus: number, ballooned = 0): PvGuestLayout {
  const p2mFrames = p2mFrameCountFor(pages - 1, PV64_GUEST_WIDTH, PAGE_SIZE);
  const l1Count = Math.ceil(pages / ENTRIES);
  const l2Count = Math.ceil(l1Count / ENTRIES);
  const l3Count = Math.ceil(l2Count / ENTRIES);
  const p2mBase = pages - p2mFrames;
  const kernelL4 = p2mBase - (2 + l3Count + l2Count + l1Count);
  const l3Base = kernelL4 + 2;
  const l2Base = l3Base + l3Count;
  const l1Base = l2Base + l2Count;
  const startInfo = kernelL4 - 1;
  return {
    pages,
    vcpus,
    p2mBase,
    p2mFrames,
    kernelL4,
    userL4: kernelL4 + 1,
    l3Base,
    l3Count,
    l2Base,
    l2Count,
    l1Base,
    l1Count,
    startInfo,
    xenstore: startInfo - 1,
    console: startInfo - 2,
    gdtBase: startInfo - 2 - vcpus,
    ballooned,
  };
}

/**
 * Most pfns a guest of this layout can have ballooned out: the ordinary
 * pages below the GDT frames except pfn 0 and the vCPUs' per-CPU and
 * stack pages (pfns 1 .. vcpus + 1).
 *
 * @param layout - the layout (its `ballooned` not used)
 * @returns the limit (0 or more)
 */
export function pvMaxBallooned(layout: PvGuestLayout): number {
  return Math.max(0, layout.gdtBase - (layout.vcpus + 2));
}

/** Whether `pfn` is ballooned out. */
function isBallooned(layout: PvGuestLayout, pfn: number): boolean {
  return pfn < layout.gdtBase && pfn >= layout.gdtBase - layout.ballooned;
}

/**
 * Page types of every pfn, as xc_get_pfn_type_batch() reports them: the
 * two L4s pinned (a guest pins its top-level tables, MMUEXT_PIN_L4_TABLE),
 * lower tables typed but unpinned, everything else NOTAB.
 *
 * @param layout - the guest's layout
 * @returns one type nibble per pfn
 */
export function pvPageTypes(layout: PvGuestLayout): Uint8Array {
  const types = new Uint8Array(layout.pages).fill(PageType.NOTAB);
  types[layout.kernelL4] = PageType.L4TAB_PINNED;
  types[layout.userL4] = PageType.L4TAB_PINNED;
  types.fill(PageType.L3TAB, layout.l3Base, layout.l3Base + layout.l3Count);
  types.fill(PageType.L2TAB, layout.l2Base, layout.l2Base + layout.l2Count);
  types.fill(PageType.L1TAB, layout.l1Base, layout.l1Base + layout.l1Count);
  // A ballooned pfn has no mfn: XEN_DOMCTL_getpageframeinfo3 finds no page for it and says XTAB
  // (xen/arch/x86/domctl.c:277-285).
  types.fill(PageType.XTAB, layout.gdtBase - layout.ballooned, layout.gdtBase);
  return types;
}

/** Writes the u64 `high:low` at entry `index` of the page at `pos`. */
function setEntry(view: DataView, pos: number, index: number, low: number, high: number): void {
  view.setUint32(pos + 8 * index, low >>> 0, true);
  view.setUint32(pos + 8 * index + 4, high >>> 0, true);
}

/** The low and high words of `(frame << 12) | flags`. */
function pteWords(frame: number, flags: number): [number, number] {
  return [((frame % 0x10_0000) * PAGE_SIZE + flags) >>> 0, Math.floor(frame / 0x10_0000)];
}

/** Entries `slot + i` (i < count) of the table at `pos` point at the tables `first + i`. */
function tableEntries(view: DataView, pos: number, slot: number, first: number, count: number): void {
  for (let i = 0; i < count; i++) {
    const [low, high] = pteWords(first + i, TABLE_FLAGS);
    setEntry(view, pos, slot + i, low, high);
  }
}

/**
 * Writes the contents of page `pfn` when it is one of the guest's special
 * pages (pfns gdtBase and up: GDT frames, rings, start_info, page tables,
 * p2m); returns false, writing nothing, for an ordinary page.
 *
 * @param layout - the guest's layout
 * @param pfn - the page
 * @param out - destination
 * @param pos - offset in `out`
 * @returns whether the page was special
 */
export function pvSpecialPage(layout: PvGuestLayout, pfn: number, out: Uint8Array, pos: number): boolean {
  if (pfn < layout.gdtBase) return false;
  out.fill(0, pos, pos + PAGE_SIZE);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (pfn >= layout.p2mBase) {
    // The guest's p2m list, raw: the source host's mfns (the saver copies it as any page).
    const first = (pfn - layout.p2mBase) * p2mEntriesPerFrame(PV64_GUEST_WIDTH, PAGE_SIZE);
    for (let i = 0; i < ENTRIES; i++) {
      const target = first + i;
      // Past max_pfn and for a ballooned pfn (the balloon driver gave its frame back): INVALID_MFN.
      if (target < layout.pages && !isBallooned(layout, target)) setEntry(view, pos, i, MFN_BASE + target, 0);
      else setEntry(view, pos, i, INVALID_MFN_WORD, INVALID_MFN_WORD);
    }
  } else if (pfn === layout.kernelL4) {
    // Xen's slots 256..272 stay zero: normalise_pagetable() clears them.
    tableEntries(view, pos, DIRECT_MAP_SLOT, layout.l3Base, layout.l3Count);
  } else if (pfn === layout.userL4) {
    // No user mappings: the guest is idle in its kernel.
  } else if (pfn >= layout.l3Base && pfn < layout.l2Base) {
    // L3 j points at L2s 512j.., L2 i at L1s 512i.., L1 i maps pfns 512i..
    const first = (pfn - layout.l3Base) * ENTRIES;
    tableEntries(view, pos, 0, layout.l2Base + first, Math.min(ENTRIES, layout.l2Count - first));
  } else if (pfn >= layout.l2Base && pfn < layout.l1Base) {
    const first = (pfn - layout.l2Base) * ENTRIES;
    tableEntries(view, pos, 0, layout.l1Base + first, Math.min(ENTRIES, layout.l1Count - first));
  } else if (pfn >= layout.l1Base) {
    const first = (pfn - layout.l1Base) * ENTRIES;
    for (let i = 0; i < Math.min(ENTRIES, layout.pages - first); i++) {
      const target = first + i;
      // A ballooned pfn is not mapped (the balloon driver clears its direct-map PTE before it
      // gives the frame back): a present PTE of a frame the guest does not own would not normalise.
      if (isBallooned(layout, target)) continue;
      // Page tables and GDT frames are mapped read-only: Xen refuses writable mappings of them.
      const readOnly = target >= layout.gdtBase && target < layout.p2mBase && (target < layout.console || target >= layout.kernelL4);
      const [low, high] = pteWords(target, readOnly ? LEAF_FLAGS_RO : LEAF_FLAGS);
      setEntry(view, pos, i, low, high | PTE_NX_HIGH);
    }
  } else if (pfn === layout.startInfo) {
    writeStartInfo(layout, view, pos);
  }
  // Else: the xenstore and console rings, empty; a GDT frame of null descriptors (valid for Xen's check_descriptor()).
  return true;
}

/**
 * `struct start_info` (xen/include/public/xen.h) of a suspended guest:
 * magic, nr_pages, shared_info (a machine address), flags, then store_mfn
 * and console.domU.mfn, which the guest turns into pfns before it
 * suspends and the restorer maps back (xg_sr_restore_x86_pv.c
 * process_start_info() reads them as pfns).
 */
function writeStartInfo(layout: PvGuestLayout, view: DataView, pos: number): void {
  const magic = "xen-3.0-x86_64";
  for (let i = 0; i < magic.length; i++) view.setUint8(pos + i, magic.charCodeAt(i));
  setEntry(view, pos, 4, layout.pages, 0); // nr_pages at 32
  const [infoLow, infoHigh] = pteWords(MFN_BASE + layout.pages, 0); // the shared info frame, past the guest's RAM
  setEntry(view, pos, 5, infoLow, infoHigh); // shared_info at 40
  setEntry(view, pos, 7, layout.xenstore, 0); // store_mfn at 56 (flags at 48 stay 0)
  view.setUint32(pos + 64, STORE_EVTCHN, true);
  setEntry(view, pos, 9, layout.console, 0); // console.domU.mfn at 72
  view.setUint32(pos + 80, CONSOLE_EVTCHN, true);
}

/** A kernel address `offset` bytes into the direct map (the page of pfn `offset / 4096`). */
function directMap(offset: number): bigint {
  return DIRECT_MAP_BASE + BigInt(offset);
}

/**
 * The vCPU's X86_PV_VCPU_BASIC context, frames as pfns: a 64-bit guest in
 * its kernel with 4-level paging, cr3 the kernel L4, cr1 the user L4.
 */
function vcpuBasic(layout: PvGuestLayout, vcpu: number): Uint8Array {
  const context = decodePvVcpuBasic(new Uint8Array(VCPU_GUEST_CONTEXT_SIZE_64), { guestWidth: 8 }) as PvVcpuContext64;
  const fpu = new Uint8Array(512);
  const fpuView = new DataView(fpu.buffer);
  fpuView.setUint16(0, 0x37f, true); // FCW after FNINIT
  fpuView.setUint32(24, 0x1f80, true); // MXCSR reset value
  fpuView.setUint32(28, 0xffff, true); // MXCSR_MASK
  context.fpuCtxt = fpu;
  context.flags = BigInt(VgcfFlag.VGCF_i387_valid | VgcfFlag.VGCF_in_kernel | VgcfFlag.VGCF_failsafe_disables_events | VgcfFlag.VGCF_syscall_disables_events | VgcfFlag.VGCF_online);
  // Each vCPU's per-CPU area at the bottom of an ordinary page and its kernel stack at the top.
  const page = 1 + (vcpu % (layout.gdtBase - 1));
  const stack = directMap((page + 1) * PAGE_SIZE - 64);
  const regs = context.userRegs;
  regs.rip = KERNEL_TEXT + 0x1000n;
  regs.cs = FLAT_KERNEL_CS64;
  regs.rflags = 0x246n;
  regs.rsp = stack;
  regs.ss = FLAT_KERNEL_SS64;
  // vCPU 0 made the suspend hypercall: rdx holds its start_info frame, written as a pfn.
  if (vcpu === 0) regs.rdx = BigInt(layout.startInfo);
  context.gdtFrames[0] = BigInt(layout.gdtBase + vcpu);
  context.gdtEnts = BigInt(GDT_ENTRIES);
  context.kernelSs = BigInt(FLAT_KERNEL_SS64);
  context.kernelSp = stack;
  context.ctrlreg[0] = 0x8005_0033n; // PG, AM, WP, NE, ET, MP, PE
  context.ctrlreg[3] = BigInt(layout.kernelL4) << 12n;
  context.ctrlreg[1] = (BigInt(layout.userL4) << 12n) | 1n;
  context.ctrlreg[4] = 0x660n; // OSXMMEXCPT, OSFXSR, PGE, MCE
  context.debugreg[6] = 0xffff_0ff0n;
  context.debugreg[7] = 0x400n;
  context.eventCallbackEip = KERNEL_TEXT + 0x2000n;
  context.failsafeCallbackEip = KERNEL_TEXT + 0x2040n;
  context.syscallCallbackEip = KERNEL_TEXT + 0x2080n;
  context.vmAssist = VM_ASSIST;
  context.gsBaseKernel = directMap(page * PAGE_SIZE);
  return encodePvVcpuBasic(context);
}

/** X86_PV_VCPU_EXTENDED: the 64 bytes of XEN_DOMCTL_get_ext_vcpucontext (Xen >= 4.10). */
function vcpuExtended(vcpu: number): Uint8Array {
  const extended = decodePvVcpuExtended(new Uint8Array(VCPU_EXTENDED_SIZE));
  extended.vcpu = vcpu;
  extended.size = VCPU_EXTENDED_SIZE;
  extended.syscall32CallbackEip = KERNEL_TEXT + 0x20c0n;
  extended.vmce = { caps: VMCE_CAPS, mciCtl2Bank0: 0n, mciCtl2Bank1: 0n, mcgExtCtl: 0n };
  return encodePvVcpuExtended(extended);
}

/**
 * The shared info page the saver copies raw (write_shared_info()): vCPU
 * upcalls masked (a suspended guest), and `arch` describing the p2m as a
 * linear list (p2m_cr3, p2m_vaddr: map_p2m_list(); the frame list list
 * ~0, as guests with SIF_VIRT_P2M_4TOOLS leave it), max_pfn a count.
 */
function sharedInfo(layout: PvGuestLayout): Uint8Array {
  const info = decodeSharedInfo(new Uint8Array(SHARED_INFO_SIZE), { guestWidth: 8 }) as SharedInfo64;
  for (let v = 0; v < Math.min(layout.vcpus, info.vcpuInfo.length); v++) {
    const slot = info.vcpuInfo[v];
    if (slot !== undefined) slot.evtchnUpcallMask = 1;
  }
  info.wcVersion = 2;
  info.arch.maxPfn = BigInt(layout.pages);
  info.arch.pfnToMfnFrameListList = 0xffff_ffff_ffff_ffffn;
  info.arch.p2mCr3 = BigInt(MFN_BASE + layout.kernelL4) << 12n;
  info.arch.p2mVaddr = directMap(layout.p2mBase * PAGE_SIZE);
  return encodeSharedInfo(info);
}

/**
 * The libxc records around a synthetic PV guest's memory.
 *
 * @param layout - the guest's layout
 * @param policy - X86_CPUID_POLICY and X86_MSR_POLICY, in that order
 * @returns `head` (before the memory) and `tail` (after it, END last)
 */
export function pvStateRecords(layout: PvGuestLayout, policy: LibxcRecord[]): { head: LibxcRecord[]; tail: LibxcRecord[] } {
  const frames: bigint[] = [];
  for (let i = 0; i < layout.p2mFrames; i++) frames.push(BigInt(layout.p2mBase + i));
  // save(): x86_pv_static_data() (X86_PV_INFO, policies), STATIC_DATA_END, x86_pv_start_of_stream() (P2M frames).
  const head: LibxcRecord[] = [
    x86PvInfo64(),
    ...policy,
    { type: "STATIC_DATA_END" },
    { type: "X86_PV_P2M_FRAMES", startPfn: 0, endPfn: layout.pages - 1, frames },
  ];
  // x86_pv_end_of_checkpoint(): TSC info, shared info, then each vCPU's BASIC and EXTENDED
  // (no XSAVE: the policy has no XSAVE leaf, so xfeature_mask is 0; no MSRS: none set), END.
  const tail: LibxcRecord[] = [
    { type: "X86_TSC_INFO", mode: 0, khz: 2_000_000, nsec: 0n, incarnation: 0 },
    { type: "SHARED_INFO", data: sharedInfo(layout) },
  ];
  for (let v = 0; v < layout.vcpus; v++) {
    tail.push({ type: "X86_PV_VCPU_BASIC", vcpuId: v, context: vcpuBasic(layout, v) });
    tail.push({ type: "X86_PV_VCPU_EXTENDED", vcpuId: v, context: vcpuExtended(v) });
  }
  tail.push({ type: "END" });
  return { head, tail };
}
