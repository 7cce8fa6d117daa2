/**
 * ELF64 core files of guest memory that gdb, crash and other ELF readers
 * open: one PT_LOAD per run of populated pages (physical addresses) and an
 * NT_PRSTATUS note per vCPU. Field layouts: the System V gABI (ELF header,
 * program headers, notes) and Linux's struct elf_prstatus for x86-64
 * (include/uapi/linux/elfcore.h, arch/x86/include/asm/user_64.h:
 * user_regs_struct), which is what gdb reads from NT_PRSTATUS.
 *
 * @module
 */
import type { PfnRun } from "./page-index.js";
import type { VcpuRegisters } from "./registers.js";

const ELF_HEADER_SIZE = 64;
const PROGRAM_HEADER_SIZE = 56;
const SECTION_HEADER_SIZE = 64;
const PN_XNUM = 0xffff;
const ET_CORE = 4;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_NOTE = 4;
const PF_RWX = 7;
const NT_PRSTATUS = 1;
/** sizeof(struct elf_prstatus) on x86-64. */
const PRSTATUS_SIZE = 336;
/** Offset of pr_reg (elf_gregset_t, 27 u64) in elf_prstatus. */
const PRSTATUS_REGS = 112;
/** The note name "CORE\0" padded to 4 bytes. */
const CORE_NAME = /*@__PURE__*/ new Uint8Array([0x43, 0x4f, 0x52, 0x45, 0, 0, 0, 0]);
const NOTE_SIZE = 12 + CORE_NAME.length + PRSTATUS_SIZE;

/** Where the page data of an ELF core produced in one pass starts. */
export const ELF_DATA_OFFSET = 4096;

/**
 * user_regs_struct order: r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx
 * rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs.
 */
function gregs(regs: VcpuRegisters): bigint[] {
  return [
    regs.r15, regs.r14, regs.r13, regs.r12, regs.rbp, regs.rbx, regs.r11, regs.r10, regs.r9, regs.r8,
    regs.rax, regs.rcx, regs.rdx, regs.rsi, regs.rdi,
    // orig_rax: -1, "not in a system call", as Linux writes for a core.
    0xffff_ffff_ffff_ffffn,
    regs.rip, BigInt(regs.cs), regs.rflags, regs.rsp, BigInt(regs.ss), regs.fsBase, regs.gsBase,
    BigInt(regs.ds), BigInt(regs.es), BigInt(regs.fs), BigInt(regs.gs),
  ];
}

/**
 * The trailer of a one-pass ELF core: PT_NOTE data and the program header
 * table, written after the pages, and the ELF header that points at them.
 *
 * Pages are placed at `ELF_DATA_OFFSET + pfn * pageSize`, so they can be
 * written as they arrive, in any order; the file is sparse where the guest
 * has no pages.
 *
 * @param runs - populated pfn runs, ascending
 * @param pageSize - guest page size
 * @param registers - one NT_PRSTATUS note per vCPU
 * @param trailerOffset - where the trailer goes (past the last page)
 * @returns the ELF header (for offset 0) and the trailer (for `trailerOffset`)
 */
export function elfCoreParts(
  runs: readonly PfnRun[],
  pageSize: number,
  registers: readonly VcpuRegisters[],
  trailerOffset: number,
): { header: Uint8Array; trailer: Uint8Array } {
  const notesSize = registers.length * NOTE_SIZE;
  const programHeaders = runs.length + 1;
  // 0xffff or more program headers: e_phnum is PN_XNUM and the real count
  // goes in sh_info of section header 0 (gABI "Extended program header numbering").
  const extended = programHeaders >= PN_XNUM;
  const trailer = new Uint8Array(notesSize + programHeaders * PROGRAM_HEADER_SIZE + (extended ? SECTION_HEADER_SIZE : 0));
  const view = new DataView(trailer.buffer);
  let pos = 0;
  for (const regs of registers) {
    view.setUint32(pos, 5, true); // namesz: "CORE\0"
    view.setUint32(pos + 4, PRSTATUS_SIZE, true);
    view.setUint32(pos + 8, NT_PRSTATUS, true);
    trailer.set(CORE_NAME, pos + 12);
    const desc = pos + 12 + CORE_NAME.length;
    // pr_pid: gdb makes one thread per distinct pid; vCPU n is thread n + 1.
    view.setUint32(desc + 32, regs.id + 1, true);
    gregs(regs).forEach((value, i) => view.setBigUint64(desc + PRSTATUS_REGS + 8 * i, value, true));
    pos += NOTE_SIZE;
  }
  const phoff = trailerOffset + notesSize;
  const phdr = (type: number, flags: number, offset: number, address: number, size: number, align: number): void => {
    view.setUint32(pos, type, true);
    view.setUint32(pos + 4, flags, true);
    view.setBigUint64(pos + 8, BigInt(offset), true);
    view.setBigUint64(pos + 16, BigInt(address), true); // p_vaddr
    view.setBigUint64(pos + 24, BigInt(address), true); // p_paddr
    view.setBigUint64(pos + 32, BigInt(size), true); // p_filesz
    view.setBigUint64(pos + 40, BigInt(size), true); // p_memsz
    view.setBigUint64(pos + 48, BigInt(align), true);
    pos += PROGRAM_HEADER_SIZE;
  };
  phdr(PT_NOTE, 0, trailerOffset, 0, notesSize, 4);
  for (const run of runs) {
    phdr(PT_LOAD, PF_RWX, ELF_DATA_OFFSET + run.pfn * pageSize, run.pfn * pageSize, run.count * pageSize, pageSize);
  }
  if (extended) view.setUint32(pos + 44, programHeaders, true); // sh_info of the null section
  const header = new Uint8Array(ELF_HEADER_SIZE);
  const hv = new DataView(header.buffer);
  header.set([0x7f, 0x45, 0x4c, 0x46, 2 /* ELFCLASS64 */, 1 /* little-endian */, 1 /* EV_CURRENT */]);
  hv.setUint16(16, ET_CORE, true);
  hv.setUint16(18, EM_X86_64, true);
  hv.setUint32(20, 1, true); // e_version
  hv.setBigUint64(32, BigInt(phoff), true); // e_phoff
  hv.setUint16(52, ELF_HEADER_SIZE, true); // e_ehsize
  hv.setUint16(54, PROGRAM_HEADER_SIZE, true); // e_phentsize
  hv.setUint16(56, extended ? PN_XNUM : programHeaders, true);
  hv.setUint16(58, SECTION_HEADER_SIZE, true); // e_shentsize
  if (extended) {
    hv.setBigUint64(40, BigInt(trailerOffset + trailer.length - SECTION_HEADER_SIZE), true); // e_shoff
    hv.setUint16(60, 1, true); // e_shnum
  }
  return { header, trailer };
}
