/**
 * Xen's dump-core layout (docs/misc/dump-core-format.txt; written by
 * tools/libs/guest/xg_core.c: xc_domain_dumpcore_via_callback()), so that
 * tools reading `xl dump-core` files (crash's xendump support, Volatility's
 * Xen ELF layer) read save files too:
 *
 * ```
 * ELF64 header (no program headers; e_shoff = 64, e_shstrndx = 1)
 * section headers: null, .shstrtab, .note.Xen, .xen_prstatus,
 *                  .xen_shared_info (PV, or when the stream has one), .xen_pages, .xen_p2m | .xen_pfn
 * .note.Xen: "Xen" notes NONE 0x2000000, HEADER 0x2000001 {magic, nr_vcpus,
 *            nr_pages, page_size}, XEN_VERSION 0x2000002 (1280 bytes),
 *            FORMAT_VERSION 0x2000003 (u64 1 = version 0.1)
 * .xen_prstatus: vcpu_guest_context_t[nr_vcpus]
 * .xen_shared_info: one page
 * .xen_pages: page-aligned, nr_pages pages in ascending pfn order
 * .xen_p2m: {pfn u64, gmfn u64}[nr_pages] (PV) | .xen_pfn: u64[nr_pages] (HVM)
 * .shstrtab
 * ```
 *
 * PV: the stream holds pfns where the guest's page tables had mfns; the
 * p2m written here is the identity (gmfn = pfn), consistent with the pages.
 *
 * @module
 */
import type { GuestMemory, AsyncGuestMemory } from "./guest-memory.js";
import type { MemoryMap } from "./image.js";
import type { PlaceBytes } from "./image.js";
import type { HvmHwCpu } from "../libxc/contents/hvm-context.js";
import { hvmCpuRecords } from "./registers.js";
import type { VcpuRegisters } from "./registers.js";

const ELF_HEADER_SIZE = 64;
const SECTION_HEADER_SIZE = 64;
const SHT_PROGBITS = 1;
const SHT_STRTAB = 3;
const SHT_NOTE = 7;
const EM_386 = 3;
const EM_X86_64 = 62;
/** XC_CORE_MAGIC / XC_CORE_MAGIC_HVM (xg_core.h). */
const XC_CORE_MAGIC = 0xf00f_ebedn;
const XC_CORE_MAGIC_HVM = 0xf00f_ebeen;
/** XEN_ELFNOTE_DUMPCORE_* (public/elfnote.h). */
const NOTE_NONE = 0x200_0000;
const NOTE_HEADER = 0x200_0001;
const NOTE_XEN_VERSION = 0x200_0002;
const NOTE_FORMAT_VERSION = 0x200_0003;
/** sizeof(struct xen_dumpcore_elfnote_xen_version_desc). */
const XEN_VERSION_DESC_SIZE = 1280;
/** Offset of `pagesize` in that struct (after major, minor, extra, compile info, capabilities, changeset, platform parameters). */
const XEN_VERSION_PAGESIZE = 1272;
/** sizeof(vcpu_guest_context) for 64-bit and 32-bit guests. */
const CONTEXT_SIZE_64 = 5168;
/** VGCF_i387_valid, VGCF_online (arch-x86/xen.h). */
const VGCF_I387_VALID = 1n;
const VGCF_ONLINE = 1n << 5n;
/** Most bytes read from the source at once while copying pages. */
const COPY_MAX = 4 << 20;
/** Table entries written at once. */
const TABLE_BLOCK = 65536;

/** ASCII names as bytes (section and note names are ASCII). */
function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

/**
 * A 64-bit vcpu_guest_context for an HVM vCPU, filled as Xen's
 * arch_get_info_guest() does for HVM domains (xen/arch/x86/domctl.c):
 * fpu_ctxt, flags i387_valid|online, user_regs, debugreg, ctrlreg 0/2/3/4,
 * segment selectors, fs_base, gs_base_kernel/user by the ring of cs.
 */
function hvmContext(regs: VcpuRegisters, saved: { cpu: HvmHwCpu; length: number } | undefined): Uint8Array {
  const out = new Uint8Array(CONTEXT_SIZE_64);
  const view = new DataView(out.buffer);
  let flags = VGCF_ONLINE;
  if (saved !== undefined) {
    const { cpu, length } = saved;
    out.set(cpu.fpuRegs.subarray(0, 512), 0);
    // hvm_hw_cpu.flags (absent before Xen 4.7: then Xen takes the FPU as initialised).
    if (length < 1032 || (cpu.flags & 1) !== 0) flags |= VGCF_I387_VALID;
    [cpu.dr0, cpu.dr1, cpu.dr2, cpu.dr3].forEach((value, i) => view.setBigUint64(5048 + 8 * i, value, true));
    view.setBigUint64(5048 + 48, cpu.dr6, true);
    view.setBigUint64(5048 + 56, cpu.dr7, true);
  }
  view.setBigUint64(512, flags, true);
  const user = [regs.r15, regs.r14, regs.r13, regs.r12, regs.rbp, regs.rbx, regs.r11, regs.r10, regs.r9, regs.r8, regs.rax, regs.rcx, regs.rdx, regs.rsi, regs.rdi];
  user.forEach((value, i) => view.setBigUint64(520 + 8 * i, value, true));
  view.setBigUint64(648, regs.rip, true);
  view.setUint16(656, regs.cs, true);
  view.setBigUint64(664, regs.rflags, true);
  view.setBigUint64(672, regs.rsp, true);
  view.setUint16(680, regs.ss, true);
  view.setUint16(688, regs.es, true);
  view.setUint16(696, regs.ds, true);
  view.setUint16(704, regs.fs, true);
  view.setUint16(712, regs.gs, true);
  view.setBigUint64(4984, regs.cr0, true);
  view.setBigUint64(5000, regs.cr2, true);
  view.setBigUint64(5008, regs.cr3, true);
  view.setBigUint64(5016, regs.cr4, true);
  view.setBigUint64(5144, regs.fsBase, true);
  const ring0 = (regs.cs & 3) === 0;
  view.setBigUint64(5152, ring0 ? regs.gsBase : regs.gsBaseOther, true);
  view.setBigUint64(5160, ring0 ? regs.gsBaseOther : regs.gsBase, true);
  return out;
}

function note(type: number, desc: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + 4 + ((desc.length + 3) & ~3));
  const view = new DataView(out.buffer);
  view.setUint32(0, 4, true); // namesz: "Xen\0"
  view.setUint32(4, desc.length, true);
  view.setUint32(8, type, true);
  out.set(ascii("Xen\0"), 12);
  out.set(desc, 16);
  return out;
}

function u64s(...values: bigint[]): Uint8Array {
  const out = new Uint8Array(8 * values.length);
  const view = new DataView(out.buffer);
  values.forEach((value, i) => view.setBigUint64(8 * i, value, true));
  return out;
}

function alignUp(value: number, to: number): number {
  return Math.ceil(value / to) * to;
}

/**
 * Writes the guest memory in Xen's dump-core layout.
 *
 * @param memory - an indexed save file
 * @param place - writes bytes at an output position
 * @returns the map of what was written (file offsets of `.xen_pages` runs)
 */
export async function writeXenCore(memory: GuestMemory | AsyncGuestMemory, place: PlaceBytes): Promise<MemoryMap> {
  const { layout } = memory;
  const { pageSize } = layout;
  const pv = layout.guest === "pv";
  const pages = layout.index.size;

  let contexts: Uint8Array[];
  if (pv) {
    contexts = layout.vcpus.flatMap((vcpu) => (vcpu.basic !== undefined && vcpu.basic.length > 0 ? [vcpu.basic] : []));
  } else {
    const cpus = hvmCpuRecords(layout.hvmContext);
    contexts = memory.registers.map((regs) => hvmContext(regs, cpus.get(regs.id)));
  }
  const contextSize = contexts[0]?.length ?? CONTEXT_SIZE_64;
  const sharedInfo = layout.sharedInfo;

  const names = [".shstrtab", ".note.Xen", ".xen_prstatus", ...(sharedInfo === undefined ? [] : [".xen_shared_info"]), ".xen_pages", pv ? ".xen_p2m" : ".xen_pfn"];
  const strtab: number[] = [0];
  const nameIndex = new Map<string, number>();
  for (const name of names) {
    nameIndex.set(name, strtab.length);
    strtab.push(...ascii(name), 0);
  }

  const xenVersion = new Uint8Array(XEN_VERSION_DESC_SIZE);
  const versionView = new DataView(xenVersion.buffer);
  // The stream names the saver's Xen in the libxc domain header; the
  // other version fields (extra version, compile info, ...) are not in it.
  versionView.setBigUint64(0, BigInt(layout.xenMajor), true);
  versionView.setBigUint64(8, BigInt(layout.xenMinor), true);
  versionView.setBigUint64(XEN_VERSION_PAGESIZE, BigInt(pageSize), true);
  const notes = [
    note(NOTE_NONE, new Uint8Array(0)),
    note(NOTE_HEADER, u64s(pv ? XC_CORE_MAGIC : XC_CORE_MAGIC_HVM, BigInt(contexts.length), BigInt(pages), BigInt(pageSize))),
    note(NOTE_XEN_VERSION, xenVersion),
    note(NOTE_FORMAT_VERSION, u64s(1n)),
  ];
  const notesSize = notes.reduce((sum, n) => sum + n.length, 0);

  const sections = names.length + 1;
  const notesOffset = ELF_HEADER_SIZE + sections * SECTION_HEADER_SIZE;
  const prstatusOffset = alignUp(notesOffset + notesSize, 8);
  const sharedOffset = prstatusOffset + contexts.length * contextSize;
  const pagesOffset = alignUp(sharedOffset + (sharedInfo?.length ?? 0), pageSize);
  const tableEntry = pv ? 16 : 8;
  const tableOffset = pagesOffset + pages * pageSize;
  const strtabOffset = tableOffset + pages * tableEntry;
  const fileSize = strtabOffset + strtab.length;

  const header = new Uint8Array(ELF_HEADER_SIZE + sections * SECTION_HEADER_SIZE);
  const hv = new DataView(header.buffer);
  // EI_ABIVERSION is EV_CURRENT in Xen's files (xg_core.c: elf_core_init_ehdr).
  header.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 1]);
  hv.setUint16(16, 4, true); // ET_CORE
  // PV: the guest's architecture; HVM: the dumping system's (dump-core-format.txt).
  hv.setUint16(18, pv && layout.guestWidth === 4 ? EM_386 : EM_X86_64, true);
  hv.setUint32(20, 1, true);
  hv.setBigUint64(40, BigInt(ELF_HEADER_SIZE), true); // e_shoff
  hv.setUint16(52, ELF_HEADER_SIZE, true);
  hv.setUint16(54, 56, true); // e_phentsize
  hv.setUint16(58, SECTION_HEADER_SIZE, true);
  hv.setUint16(60, sections, true);
  hv.setUint16(62, 1, true); // e_shstrndx
  let shdr = ELF_HEADER_SIZE + SECTION_HEADER_SIZE;
  const section = (name: string, type: number, offset: number, size: number, entsize: number, align: number): void => {
    hv.setUint32(shdr, nameIndex.get(name) as number, true);
    hv.setUint32(shdr + 4, type, true);
    hv.setBigUint64(shdr + 24, BigInt(offset), true);
    hv.setBigUint64(shdr + 32, BigInt(size), true);
    hv.setBigUint64(shdr + 48, BigInt(align), true);
    hv.setBigUint64(shdr + 56, BigInt(entsize), true);
    shdr += SECTION_HEADER_SIZE;
  };
  section(".shstrtab", SHT_STRTAB, strtabOffset, strtab.length, 0, 0);
  section(".note.Xen", SHT_NOTE, notesOffset, notesSize, 0, 0);
  section(".xen_prstatus", SHT_PROGBITS, prstatusOffset, contexts.length * contextSize, contextSize, 8);
  if (sharedInfo !== undefined) section(".xen_shared_info", SHT_PROGBITS, sharedOffset, sharedInfo.length, sharedInfo.length, 8);
  section(".xen_pages", SHT_PROGBITS, pagesOffset, pages * pageSize, pageSize, pageSize);
  section(pv ? ".xen_p2m" : ".xen_pfn", SHT_PROGBITS, tableOffset, pages * tableEntry, tableEntry, 8);

  place(0, header);
  let at = notesOffset;
  for (const n of notes) {
    place(at, n);
    at += n.length;
  }
  contexts.forEach((context, i) => place(prstatusOffset + i * contextSize, context));
  if (sharedInfo !== undefined) place(sharedOffset, sharedInfo);

  // Pages in ascending pfn order, and the pfn (PV: pfn, gmfn) table beside
  // them, written a block at a time so that memory stays bounded.
  const block = new Uint8Array(TABLE_BLOCK * tableEntry);
  const blockView = new DataView(block.buffer);
  let inBlock = 0;
  let slot = 0;
  const flushTable = (): void => {
    place(tableOffset + (slot - inBlock) * tableEntry, block.slice(0, inBlock * tableEntry));
    inBlock = 0;
  };
  const runs: MemoryMap["runs"] = [];
  for (const run of memory.runs()) {
    runs.push({ pfn: run.pfn, count: run.count, physicalAddress: run.pfn * pageSize, fileOffset: pagesOffset + slot * pageSize });
    for (let done = 0; done < run.count; ) {
      const take = Math.min(run.count - done, COPY_MAX / pageSize);
      const bytes = await memory.read((run.pfn + done) * pageSize, take * pageSize);
      place(pagesOffset + (slot + done) * pageSize, bytes);
      done += take;
    }
    for (let i = 0; i < run.count; i++) {
      const pfn = BigInt(run.pfn + i);
      blockView.setBigUint64(inBlock * tableEntry, pfn, true);
      if (pv) blockView.setBigUint64(inBlock * tableEntry + 8, pfn, true);
      inBlock++;
      slot++;
      if (inBlock === TABLE_BLOCK) flushTable();
    }
  }
  if (inBlock > 0) flushTable();
  place(strtabOffset, Uint8Array.from(strtab));
  return { format: "xen-core", pageSize, guest: layout.guest, pages, fileSize, runs };
}
