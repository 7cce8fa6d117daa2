/**
 * Value types of the HVM context (HVM_CONTEXT record body): one interface
 * per struct of xen/include/public/arch-x86/hvm/save.h (Xen 4.21 layout,
 * the newest), members named as Xen's C members in camelCase; `uint64_t`
 * as `bigint`, smaller integers as `number`, `uint8_t` arrays as
 * `Uint8Array`. Where the compiler pads a struct, the padding is a member
 * called `padding` (not a C member) so that its bytes are kept.
 *
 * @module
 */

/** struct hvm_save_header (typecode 1, 24 bytes). */
export interface HvmSaveHeader {
  /** HVM_FILE_MAGIC, 0x54381286. */
  magic: number;
  /** HVM_FILE_VERSION, 1. */
  version: number;
  /** Changeset of the Xen that saved; ~0 when unknown. */
  changeset: bigint;
  /** CPUID[1].EAX of the saving host. */
  cpuid: number;
  /** Guest TSC frequency in kHz (0: keep the host's). */
  gtscKhz: number;
}

/**
 * struct hvm_hw_cpu (typecode 2): 1032 bytes since Xen 4.7, 1024 in 4.0-4.6
 * (no `flags`, `pad0`), 1016 up to 3.4 (struct hvm_hw_cpu_compat: no
 * `msrTscAux`; decoded into this shape with `msrTscAux` 0n).
 *
 * `pendingEvent` is the union's raw word; `pendingVector` .. `pendingValid`
 * are its bit-fields (bits 0-7, 8-10, 11, 12-30, 31). The encoder requires
 * the two views to agree.
 */
export interface HvmHwCpu {
  /** FXSAVE image (512 bytes). */
  fpuRegs: Uint8Array;
  rax: bigint;
  rbx: bigint;
  rcx: bigint;
  rdx: bigint;
  rbp: bigint;
  rsi: bigint;
  rdi: bigint;
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
  cr0: bigint;
  cr2: bigint;
  cr3: bigint;
  cr4: bigint;
  dr0: bigint;
  dr1: bigint;
  dr2: bigint;
  dr3: bigint;
  dr6: bigint;
  dr7: bigint;
  csSel: number;
  dsSel: number;
  esSel: number;
  fsSel: number;
  gsSel: number;
  ssSel: number;
  trSel: number;
  ldtrSel: number;
  csLimit: number;
  dsLimit: number;
  esLimit: number;
  fsLimit: number;
  gsLimit: number;
  ssLimit: number;
  trLimit: number;
  ldtrLimit: number;
  idtrLimit: number;
  gdtrLimit: number;
  csBase: bigint;
  dsBase: bigint;
  esBase: bigint;
  fsBase: bigint;
  gsBase: bigint;
  ssBase: bigint;
  trBase: bigint;
  ldtrBase: bigint;
  idtrBase: bigint;
  gdtrBase: bigint;
  csArbytes: number;
  dsArbytes: number;
  esArbytes: number;
  fsArbytes: number;
  gsArbytes: number;
  ssArbytes: number;
  trArbytes: number;
  ldtrArbytes: number;
  sysenterCs: bigint;
  sysenterEsp: bigint;
  sysenterEip: bigint;
  shadowGs: bigint;
  /** Obsolete, ignored by Xen. */
  msrFlags: bigint;
  msrLstar: bigint;
  msrStar: bigint;
  msrCstar: bigint;
  msrSyscallMask: bigint;
  msrEfer: bigint;
  msrTscAux: bigint;
  tsc: bigint;
  /** Raw union word. */
  pendingEvent: number;
  pendingVector: number;
  pendingType: number;
  pendingErrorValid: number;
  pendingReserved: number;
  pendingValid: number;
  errorCode: number;
  /** Bit 0: XEN_X86_FPU_INITIALISED (absent, 0, before Xen 4.7). */
  flags: number;
  /** Must be 0 (hvm_load_cpu_ctxt()). */
  pad0: number;
}

/**
 * struct hvm_hw_vpic (typecode 3, 8 bytes; instance 0 master, 1 slave).
 * Byte 4 holds `initState` (bits 0-3) and `priorityAdd` (4-7); byte 5 the
 * seven one-bit flags in declaration order from bit 0, and `reservedBits`
 * (bit 7, unnamed in C).
 */
export interface HvmHwVpic {
  irr: number;
  imr: number;
  isr: number;
  irqBase: number;
  initState: number;
  priorityAdd: number;
  readselIsr: number;
  poll: number;
  autoEoi: number;
  rotateOnAutoEoi: number;
  specialFullyNestedMode: number;
  specialMaskMode: number;
  isMaster: number;
  /** Bit 7 of byte 5: no C member; kept so that it re-encodes. */
  reservedBits: number;
  elcr: number;
  intOutput: number;
}

/** The bit-fields of union vioapic_redir_entry (`fields`). */
export interface VioapicRedirEntryFields {
  vector: number;
  deliveryMode: number;
  destMode: number;
  deliveryStatus: number;
  polarity: number;
  remoteIrr: number;
  trigMode: number;
  mask: number;
  reserve: number;
  /** Bytes 3-6. */
  reserved: Uint8Array;
  destId: number;
}

/** union vioapic_redir_entry: the raw word and its fields (must agree when encoding). */
export interface VioapicRedirEntry {
  bits: bigint;
  fields: VioapicRedirEntryFields;
}

/** struct hvm_hw_vioapic (typecode 4, 400 bytes: 48 pins). */
export interface HvmHwVioapic {
  baseAddress: bigint;
  ioregsel: number;
  id: number;
  /** VIOAPIC_NUM_PINS (48) entries. */
  redirtbl: VioapicRedirEntry[];
}

/** struct hvm_hw_lapic (typecode 5): 24 bytes up to Xen 4.20, 32 since 4.21. */
export interface HvmHwLapic {
  apicBaseMsr: bigint;
  disabled: number;
  timerDivisor: number;
  tdtMsr: bigint;
  /** Since Xen 4.21. */
  pendingEsr: number;
  /** Compiler padding after pendingEsr (not a C member). */
  padding: number;
}

/** struct hvm_hw_lapic_regs (typecode 6, 1024 bytes: the APIC page, one register per 16 bytes). */
export interface HvmHwLapicRegs {
  data: Uint8Array;
}

/**
 * struct hvm_hw_pci_irqs (typecode 7, 16 bytes): the union's `uint64_t
 * pad[2]` member (`unsigned long i[]` aliases it on x86_64), bit
 * `device * 4 + INTx` set for an asserted wire.
 */
export interface HvmHwPciIrqs {
  pad: bigint[];
}

/** struct hvm_hw_isa_irqs (typecode 8, 8 bytes): `uint64_t pad[1]`, bit n = ISA IRQ n. */
export interface HvmHwIsaIrqs {
  pad: bigint[];
}

/** struct hvm_hw_pci_link (typecode 9, 8 bytes). */
export interface HvmHwPciLink {
  /** GSI routed to each of the four links. */
  route: Uint8Array;
  pad0: Uint8Array;
}

/** struct hvm_hw_pit_channel (16 bytes). */
export interface HvmHwPitChannel {
  count: number;
  latchedCount: number;
  countLatched: number;
  statusLatched: number;
  status: number;
  readState: number;
  writeState: number;
  writeLatch: number;
  rwMode: number;
  mode: number;
  bcd: number;
  gate: number;
}

/** struct hvm_hw_pit (typecode 10, 56 bytes). */
export interface HvmHwPit {
  /** Three channels. */
  channels: HvmHwPitChannel[];
  speakerDataOn: number;
  pad0: number;
}

/** struct hvm_hw_rtc (typecode 11): 16 bytes up to 4.13, 24 since 4.14. */
export interface HvmHwRtc {
  /** RTC_CMOS_SIZE (14) bytes. */
  cmosData: Uint8Array;
  cmosIndex: number;
  pad0: number;
  /** int64_t, since Xen 4.14. */
  rtcOffset: bigint;
}

/** One HPET timer block of struct hvm_hw_hpet. */
export interface HvmHwHpetTimer {
  config: bigint;
  cmp: bigint;
  fsb: bigint;
  res4: bigint;
}

/** struct hvm_hw_hpet (typecode 12, 1048 bytes). */
export interface HvmHwHpet {
  capability: bigint;
  res0: bigint;
  config: bigint;
  res1: bigint;
  isr: bigint;
  /** 25 words. */
  res2: bigint[];
  mc64: bigint;
  res3: bigint;
  /** HPET_TIMER_NUM (3) timers. */
  timers: HvmHwHpetTimer[];
  /** 84 words. */
  res5: bigint[];
  /** 3 words. */
  period: bigint[];
}

/** struct hvm_hw_pmtimer (typecode 13, 8 bytes). */
export interface HvmHwPmtimer {
  tmrVal: number;
  pm1aSts: number;
  pm1aEn: number;
}

/** struct hvm_hw_mtrr (typecode 14, 240 bytes). */
export interface HvmHwMtrr {
  msrPatCr: bigint;
  /** MTRR_VCNT (8) base/mask pairs: 16 words. */
  msrMtrrVar: bigint[];
  /** NUM_FIXED_MSR (11) words. */
  msrMtrrFixed: bigint[];
  msrMtrrCap: bigint;
  msrMtrrDefType: bigint;
}

/** struct hvm_viridian_domain_context (typecode 15): 16 bytes (4.2-4.4), 24 (4.5), 32 (4.6+). */
export interface HvmViridianDomainContext {
  hypercallGpa: bigint;
  guestOsId: bigint;
  timeRefCount: bigint;
  referenceTsc: bigint;
}

/** struct hvm_hw_cpu_xsave_hdr (64 bytes). */
export interface HvmHwCpuXsaveHdr {
  xstateBv: bigint;
  xcompBv: bigint;
  /** 6 words. */
  reserved: bigint[];
}

/**
 * struct hvm_hw_cpu_xsave (typecode 16), fixed part (600 bytes). The
 * extended state components that follow (standard, uncompressed format)
 * are the entry's `tail`.
 */
export interface HvmHwCpuXsave {
  xfeatureMask: bigint;
  xcr0: bigint;
  xcr0Accum: bigint;
  saveArea: {
    /** Legacy FXSAVE region, `struct { char x[512]; } fpu_sse`. */
    fpuSse: Uint8Array;
    xsaveHdr: HvmHwCpuXsaveHdr;
  };
}

/** struct hvm_viridian_vcpu_context (typecode 17): 8 (4.2-4.6), 16 (4.7-4.12), 216 bytes (4.13+). */
export interface HvmViridianVcpuContext {
  vpAssistMsr: bigint;
  apicAssistPending: number;
  /** 7 bytes, must be zero (viridian_load_vcpu_ctxt()). */
  _pad: Uint8Array;
  simpMsr: bigint;
  /** 16 words. */
  sintMsr: bigint[];
  /** 4 words. */
  stimerConfigMsr: bigint[];
  /** 4 words. */
  stimerCountMsr: bigint[];
}

/** struct hvm_vmce_vcpu (typecode 18): 8 (4.2), 24 (4.3-4.9), 32 bytes (4.10+). */
export interface HvmVmceVcpu {
  caps: bigint;
  mciCtl2Bank0: bigint;
  mciCtl2Bank1: bigint;
  mcgExtCtl: bigint;
}

/** struct hvm_tsc_adjust (typecode 19, 8 bytes). */
export interface HvmTscAdjust {
  tscAdjust: bigint;
}

/** struct hvm_one_msr (16 bytes). */
export interface HvmOneMsr {
  index: number;
  /** Must be zero (hvm_load_cpu_msrs()). */
  _rsvd: number;
  val: bigint;
}

/**
 * struct hvm_msr (typecode 20): count, 4 bytes of compiler padding, then
 * the entries. `msr` holds as many entries as the entry's length has room
 * for (length 8 + 16n: n entries), whatever `count` says.
 */
export interface HvmMsr {
  count: number;
  /** Compiler padding after count (not a C member). */
  padding: number;
  msr: HvmOneMsr[];
}

/** The HVM save type names of public/arch-x86/hvm/save.h, by typecode. */
export interface HvmSaveFields {
  END: Record<string, never>;
  HEADER: HvmSaveHeader;
  CPU: HvmHwCpu;
  PIC: HvmHwVpic;
  IOAPIC: HvmHwVioapic;
  LAPIC: HvmHwLapic;
  LAPIC_REGS: HvmHwLapicRegs;
  PCI_IRQ: HvmHwPciIrqs;
  ISA_IRQ: HvmHwIsaIrqs;
  PCI_LINK: HvmHwPciLink;
  PIT: HvmHwPit;
  RTC: HvmHwRtc;
  HPET: HvmHwHpet;
  PMTIMER: HvmHwPmtimer;
  MTRR: HvmHwMtrr;
  VIRIDIAN_DOMAIN: HvmViridianDomainContext;
  CPU_XSAVE: HvmHwCpuXsave;
  VIRIDIAN_VCPU: HvmViridianVcpuContext;
  VMCE_VCPU: HvmVmceVcpu;
  TSC_ADJUST: HvmTscAdjust;
  CPU_MSR: HvmMsr;
}

/** Name of a known HVM save type (`END`, `HEADER`, `CPU`, ... `CPU_MSR`). */
export type HvmSaveTypeName = keyof HvmSaveFields;

/**
 * One known save entry: the descriptor (`typecode`, `instance`, `length`)
 * and the body decoded as the type's struct.
 *
 * The body is decoded by its `length`, as hvm_load() reads it: a shorter
 * body is zero-extended (the missing fields decode as 0; the encoder
 * requires them to be 0 and writes `length` bytes), a longer one keeps the
 * bytes after the struct in `tail` (present only when non-empty). A CPU
 * entry of 1016 bytes is the layout of Xen 3.4 and older.
 */
export interface HvmSaveEntryOf<N extends HvmSaveTypeName> {
  name: N;
  typecode: number;
  instance: number;
  /** The descriptor's length: bytes of body. */
  length: number;
  fields: HvmSaveFields[N];
  /** Bytes after the struct (CPU_XSAVE: the extended state components). */
  tail?: Uint8Array;
}

/** An entry whose typecode this library does not know (21 and up): kept raw. */
export interface HvmUnknownEntry {
  name: "UNKNOWN";
  typecode: number;
  instance: number;
  length: number;
  /** The body bytes (a view into the decoded blob). */
  body: Uint8Array;
}

/** One entry of an HVM context: a known type or an unknown one kept raw. */
export type HvmSaveEntry = { [N in HvmSaveTypeName]: HvmSaveEntryOf<N> }[HvmSaveTypeName] | HvmUnknownEntry;

/**
 * A decoded HVM context blob: its entries in order (HEADER first, END last)
 * and any bytes after END (hvm_load() ignores them; kept for re-encoding).
 */
export interface HvmContext {
  entries: HvmSaveEntry[];
  /** Bytes after the END entry; usually empty. */
  trailing: Uint8Array;
}
