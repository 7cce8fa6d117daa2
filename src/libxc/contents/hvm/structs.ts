/**
 * The structs of xen/include/public/arch-x86/hvm/save.h as field tables
 * (see ./layout.ts), in declaration order. Sizes (pinned by the tests)
 * are the x86_64 C layout: Xen is 64-bit only since 4.3, and the public
 * header pads the structs so that 32- and 64-bit tools agree.
 *
 * @module
 * @internal
 */
import {
  array,
  badValue,
  bytes,
  checkUint,
  decodeStruct,
  encodeStruct,
  fieldAt,
  lazyStruct,
  struct,
  SYNTHETIC,
  type CustomType,
  type FieldType,
  type Layout,
} from "./layout.js";

const u64x = (count: number): FieldType => array("u64", count);

/** struct hvm_save_header. */
export const HVM_SAVE_HEADER = lazyStruct("hvm_save_header", () => [
  ["magic", "u32"],
  ["version", "u32"],
  ["changeset", "u64"],
  ["cpuid", "u32"],
  ["gtscKhz", "u32"],
]);

/**
 * A group of C bit-fields sharing one storage unit, declared from bit 0
 * upwards (GCC's x86 ABI). With `raw`, the unit also has a name of its own
 * (a union word such as hvm_hw_cpu.pending_event): the decoder gives both,
 * and the encoder writes the raw word after checking that the bit-fields
 * agree with it, so that neither view is silently dropped.
 */
function bitfields(
  size: 1 | 4,
  members: ReadonlyArray<readonly [string, number]>,
  raw?: string,
): ReadonlyArray<readonly [string, FieldType]> {
  const total = members.reduce((sum, [, width]) => sum + width, 0);
  if (total !== size * 8) throw new Error(`bitfields: ${total} bits do not fill ${size} bytes`);
  const read = (view: DataView, pos: number): number => (size === 1 ? view.getUint8(pos) : view.getUint32(pos, true));
  // The whole group is one custom field named by its first member; its
  // value is spread into the parent object by the struct codec below.
  const group: CustomType<Record<string, number>> = {
    kind: "custom",
    size,
    decode(view, pos) {
      const word = read(view, pos);
      const out: Record<string, number> = {};
      if (raw !== undefined) out[raw] = word;
      let shift = 0;
      for (const [name, width] of members) {
        out[name] = Math.floor(word / 2 ** shift) % 2 ** width;
        shift += width;
      }
      return out;
    },
    encode(view, pos, value, path, offset) {
      const record = value as Record<string, unknown>;
      let word = 0;
      let shift = 0;
      for (const [name, width] of members) {
        word += checkUint(record[name], 2 ** width - 1, `${path}.${name}`, offset) * 2 ** shift;
        shift += width;
      }
      if (raw !== undefined) {
        const given = checkUint(record[raw], size === 1 ? 0xff : 0xffff_ffff, `${path}.${raw}`, offset);
        if (given !== word) {
          throw badValue(offset, `${path}.${raw}`, `0x${word.toString(16)} to agree with its bit-fields (${members.map(([n]) => n).join(", ")}); change both`, `0x${given.toString(16)}`);
        }
      }
      if (size === 1) view.setUint8(pos, word);
      else view.setUint32(pos, word, true);
    },
  };
  return [[BITFIELD_PREFIX + (raw ?? members[0]![0]), group]];
}

/** Field names starting with this are bit-field groups spread into their parent. */
export const BITFIELD_PREFIX = `${SYNTHETIC}bits:`;
/** Name of the one field of a union wrapper struct. */
const WRAPPED = `${SYNTHETIC}entry`;

/** struct hvm_hw_cpu: the union of pending_event and its bit-fields. */
const PENDING_EVENT = bitfields(
  4,
  [
    ["pendingVector", 8],
    ["pendingType", 3],
    ["pendingErrorValid", 1],
    ["pendingReserved", 19],
    ["pendingValid", 1],
  ],
  "pendingEvent",
);

const SEGMENTS = ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr"] as const;
const TABLES = [...SEGMENTS, "idtr", "gdtr"] as const;

function cpuMembers(withTscAux: boolean, withFlags: boolean): Array<readonly [string, FieldType]> {
  const regs = ["rax", "rbx", "rcx", "rdx", "rbp", "rsi", "rdi", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"];
  return [
    ["fpuRegs", bytes(512)],
    ...regs.map((name) => [name, "u64"] as const),
    ["rip", "u64"],
    ["rflags", "u64"],
    ...["cr0", "cr2", "cr3", "cr4", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7"].map((name) => [name, "u64"] as const),
    ...SEGMENTS.map((s) => [`${s}Sel`, "u32"] as const),
    ...TABLES.map((s) => [`${s}Limit`, "u32"] as const),
    ...TABLES.map((s) => [`${s}Base`, "u64"] as const),
    ...SEGMENTS.map((s) => [`${s}Arbytes`, "u32"] as const),
    ["sysenterCs", "u64"],
    ["sysenterEsp", "u64"],
    ["sysenterEip", "u64"],
    ["shadowGs", "u64"],
    ["msrFlags", "u64"],
    ["msrLstar", "u64"],
    ["msrStar", "u64"],
    ["msrCstar", "u64"],
    ["msrSyscallMask", "u64"],
    ["msrEfer", "u64"],
    ...(withTscAux ? [["msrTscAux", "u64"] as const] : []),
    ["tsc", "u64"],
    ...PENDING_EVENT,
    ["errorCode", "u32"],
    ...(withFlags
      ? [
          ["flags", "u32"] as const,
          ["pad0", "u32"] as const,
        ]
      : []),
  ];
}

/** struct hvm_hw_cpu (1032 bytes). */
export const HVM_HW_CPU = lazyStruct("hvm_hw_cpu", () => cpuMembers(true, true));
/** struct hvm_hw_cpu_compat (1016 bytes: Xen 3.4 and older, no msr_tsc_aux). */
export const HVM_HW_CPU_COMPAT = lazyStruct("hvm_hw_cpu_compat", () => cpuMembers(false, false));

/** struct hvm_hw_vpic. */
export const HVM_HW_VPIC = lazyStruct("hvm_hw_vpic", () => [
  ["irr", "u8"],
  ["imr", "u8"],
  ["isr", "u8"],
  ["irqBase", "u8"],
  ...bitfields(1, [
    ["initState", 4],
    ["priorityAdd", 4],
  ]),
  ...bitfields(1, [
    ["readselIsr", 1],
    ["poll", 1],
    ["autoEoi", 1],
    ["rotateOnAutoEoi", 1],
    ["specialFullyNestedMode", 1],
    ["specialMaskMode", 1],
    ["isMaster", 1],
    ["reservedBits", 1],
  ]),
  ["elcr", "u8"],
  ["intOutput", "u8"],
]);

/** The `fields` struct of union vioapic_redir_entry. */
export const VIOAPIC_REDIR_FIELDS = lazyStruct("vioapic_redir_entry.fields", () => [
  ["vector", "u8"],
  ...bitfields(1, [
    ["deliveryMode", 3],
    ["destMode", 1],
    ["deliveryStatus", 1],
    ["polarity", 1],
    ["remoteIrr", 1],
    ["trigMode", 1],
  ]),
  ...bitfields(1, [
    ["mask", 1],
    ["reserve", 7],
  ]),
  ["reserved", bytes(4)],
  ["destId", "u8"],
]);

/** VIOAPIC_NUM_PINS. */
export const VIOAPIC_NUM_PINS = 48;

/**
 * union vioapic_redir_entry: `bits` and `fields` over the same 8 bytes;
 * the encoder requires them to agree.
 */
const REDIR_ENTRY: CustomType<{ bits: bigint; fields: Record<string, unknown> }> = {
  kind: "custom",
  size: 8,
  decode(view, pos) {
    return { bits: view.getBigUint64(pos, true), fields: decodeSpread(view, pos, VIOAPIC_REDIR_FIELDS) };
  },
  encode(view, pos, value, path, offset) {
    if (typeof value !== "object" || value === null) throw badValue(offset, path, "an object {bits, fields}", value);
    const entry = value as { bits?: unknown; fields?: unknown };
    encodeSpread(view, pos, VIOAPIC_REDIR_FIELDS, entry.fields, `${path}.fields`, offset);
    const word = view.getBigUint64(pos, true);
    if (entry.bits !== word) {
      throw badValue(offset, `${path}.bits`, `0x${word.toString(16)}n to agree with ${path}.fields; change both`, entry.bits);
    }
  },
};

/** struct hvm_hw_vioapic (XEN_HVM_VIOAPIC(hvm_hw_vioapic, 48)). */
export const HVM_HW_VIOAPIC = lazyStruct("hvm_hw_vioapic", () => [
  ["baseAddress", "u64"],
  ["ioregsel", "u32"],
  ["id", "u32"],
  ["redirtbl", { kind: "array", of: struct("vioapic_redir_entry", [[WRAPPED, REDIR_ENTRY]]), count: VIOAPIC_NUM_PINS }],
]);

/** struct hvm_hw_lapic (Xen 4.21: pending_esr and 4 bytes of padding). */
export const HVM_HW_LAPIC = lazyStruct("hvm_hw_lapic", () => [
  ["apicBaseMsr", "u64"],
  ["disabled", "u32"],
  ["timerDivisor", "u32"],
  ["tdtMsr", "u64"],
  ["pendingEsr", "u32"],
  ["padding", "u32"],
]);

/** struct hvm_hw_lapic_regs. */
export const HVM_HW_LAPIC_REGS = lazyStruct("hvm_hw_lapic_regs", () => [["data", bytes(1024)]]);
/** struct hvm_hw_pci_irqs. */
export const HVM_HW_PCI_IRQS = lazyStruct("hvm_hw_pci_irqs", () => [["pad", u64x(2)]]);
/** struct hvm_hw_isa_irqs. */
export const HVM_HW_ISA_IRQS = lazyStruct("hvm_hw_isa_irqs", () => [["pad", u64x(1)]]);
/** struct hvm_hw_pci_link. */
export const HVM_HW_PCI_LINK = lazyStruct("hvm_hw_pci_link", () => [
  ["route", bytes(4)],
  ["pad0", bytes(4)],
]);

/** struct hvm_hw_pit_channel. */
export const HVM_HW_PIT_CHANNEL = lazyStruct("hvm_hw_pit_channel", () => [
  ["count", "u32"],
  ["latchedCount", "u16"],
  ["countLatched", "u8"],
  ["statusLatched", "u8"],
  ["status", "u8"],
  ["readState", "u8"],
  ["writeState", "u8"],
  ["writeLatch", "u8"],
  ["rwMode", "u8"],
  ["mode", "u8"],
  ["bcd", "u8"],
  ["gate", "u8"],
]);

/** struct hvm_hw_pit. */
export const HVM_HW_PIT = lazyStruct("hvm_hw_pit", () => [
  ["channels", array(HVM_HW_PIT_CHANNEL, 3)],
  ["speakerDataOn", "u32"],
  ["pad0", "u32"],
]);

/** struct hvm_hw_rtc (RTC_CMOS_SIZE 14). */
export const HVM_HW_RTC = lazyStruct("hvm_hw_rtc", () => [
  ["cmosData", bytes(14)],
  ["cmosIndex", "u8"],
  ["pad0", "u8"],
  ["rtcOffset", "s64"],
]);

/** The timer block of struct hvm_hw_hpet. */
export const HVM_HW_HPET_TIMER = lazyStruct("hvm_hw_hpet.timers", () => [
  ["config", "u64"],
  ["cmp", "u64"],
  ["fsb", "u64"],
  ["res4", "u64"],
]);

/** struct hvm_hw_hpet (HPET_TIMER_NUM 3). */
export const HVM_HW_HPET = lazyStruct("hvm_hw_hpet", () => [
  ["capability", "u64"],
  ["res0", "u64"],
  ["config", "u64"],
  ["res1", "u64"],
  ["isr", "u64"],
  ["res2", u64x(25)],
  ["mc64", "u64"],
  ["res3", "u64"],
  ["timers", array(HVM_HW_HPET_TIMER, 3)],
  ["res5", u64x(4 * (24 - 3))],
  ["period", u64x(3)],
]);

/** struct hvm_hw_pmtimer. */
export const HVM_HW_PMTIMER = lazyStruct("hvm_hw_pmtimer", () => [
  ["tmrVal", "u32"],
  ["pm1aSts", "u16"],
  ["pm1aEn", "u16"],
]);

/** struct hvm_hw_mtrr (MTRR_VCNT 8, NUM_FIXED_MSR 11). */
export const HVM_HW_MTRR = lazyStruct("hvm_hw_mtrr", () => [
  ["msrPatCr", "u64"],
  ["msrMtrrVar", u64x(16)],
  ["msrMtrrFixed", u64x(11)],
  ["msrMtrrCap", "u64"],
  ["msrMtrrDefType", "u64"],
]);

/** struct hvm_viridian_domain_context. */
export const HVM_VIRIDIAN_DOMAIN_CONTEXT = lazyStruct("hvm_viridian_domain_context", () => [
  ["hypercallGpa", "u64"],
  ["guestOsId", "u64"],
  ["timeRefCount", "u64"],
  ["referenceTsc", "u64"],
]);

/** struct hvm_hw_cpu_xsave up to the end of the XSAVE header (600 bytes). */
export const HVM_HW_CPU_XSAVE = lazyStruct("hvm_hw_cpu_xsave", () => [
  ["xfeatureMask", "u64"],
  ["xcr0", "u64"],
  ["xcr0Accum", "u64"],
  [
    "saveArea",
    struct("hvm_hw_cpu_xsave.save_area", [
      ["fpuSse", bytes(512)],
      [
        "xsaveHdr",
        struct("hvm_hw_cpu_xsave_hdr", [
          ["xstateBv", "u64"],
          ["xcompBv", "u64"],
          ["reserved", u64x(6)],
        ]),
      ],
    ]),
  ],
]);

/** struct hvm_viridian_vcpu_context. */
export const HVM_VIRIDIAN_VCPU_CONTEXT = lazyStruct("hvm_viridian_vcpu_context", () => [
  ["vpAssistMsr", "u64"],
  ["apicAssistPending", "u8"],
  ["_pad", bytes(7)],
  ["simpMsr", "u64"],
  ["sintMsr", u64x(16)],
  ["stimerConfigMsr", u64x(4)],
  ["stimerCountMsr", u64x(4)],
]);

/** struct hvm_vmce_vcpu. */
export const HVM_VMCE_VCPU = lazyStruct("hvm_vmce_vcpu", () => [
  ["caps", "u64"],
  ["mciCtl2Bank0", "u64"],
  ["mciCtl2Bank1", "u64"],
  ["mcgExtCtl", "u64"],
]);

/** struct hvm_tsc_adjust. */
export const HVM_TSC_ADJUST = lazyStruct("hvm_tsc_adjust", () => [["tscAdjust", "u64"]]);

/** struct hvm_msr without its flexible array: count and padding (8 bytes). */
export const HVM_MSR_HEAD = lazyStruct("hvm_msr", () => [
  ["count", "u32"],
  ["padding", "u32"],
]);

/** struct hvm_one_msr. */
export const HVM_ONE_MSR = lazyStruct("hvm_one_msr", () => [
  ["index", "u32"],
  ["_rsvd", "u32"],
  ["val", "u64"],
]);

// ------------------------------------------------------- struct codecs

/** True for the synthetic field of a bit-field group (its members go into the parent object). */
function isSpread(name: string): boolean {
  return name.startsWith(BITFIELD_PREFIX);
}

/**
 * Decodes a struct, spreading bit-field groups into the object (so that
 * `pendingVector` is a member of the CPU object, as in C's anonymous
 * struct) and unwrapping the vioapic entry wrapper.
 */
export function decodeSpread(view: DataView, pos: number, layout: Layout): Record<string, unknown> {
  const raw = decodeStruct(view, pos, layout);
  return spread(raw, layout);
}

function spread(raw: Record<string, unknown>, layout: Layout): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of layout.fields) {
    const value = raw[field.name];
    if (isSpread(field.name)) Object.assign(out, value);
    else out[field.name] = unwrap(value, field.type);
  }
  return out;
}

function unwrap(value: unknown, type: FieldType): unknown {
  if (typeof type === "string") return value;
  if (type.kind === "struct") {
    if (type.fields.length === 1 && type.fields[0]!.name === WRAPPED) return (value as Record<string, unknown>)[WRAPPED];
    return spread(value as Record<string, unknown>, type);
  }
  if (type.kind === "array" && typeof type.of !== "string") {
    const of = type.of;
    return (value as unknown[]).map((item) => unwrap(item, of));
  }
  return value;
}

function wrap(value: unknown, type: FieldType): unknown {
  if (typeof type === "string" || value === null || typeof value !== "object") return value;
  if (type.kind === "struct") {
    if (type.fields.length === 1 && type.fields[0]!.name === WRAPPED) return { [WRAPPED]: value };
    return gather(value as Record<string, unknown>, type);
  }
  if (type.kind === "array" && typeof type.of !== "string" && Array.isArray(value)) {
    const of = type.of;
    return value.map((item) => wrap(item, of));
  }
  return value;
}

function gather(value: Record<string, unknown>, layout: Layout): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of layout.fields) {
    out[field.name] = isSpread(field.name) ? value : wrap(value[field.name], field.type);
  }
  return out;
}

/**
 * Encodes an object shaped as {@link decodeSpread} returns it.
 *
 * @throws {@link XenStreamError} BAD_VALUE
 */
export function encodeSpread(view: DataView, pos: number, layout: Layout, value: unknown, path: string, offset: number): void {
  if (typeof value !== "object" || value === null) throw badValue(offset, path, `an object (${layout.name})`, value);
  encodeStruct(view, pos, layout, gather(value as Record<string, unknown>, layout), path, offset);
}

/** Dotted member path of byte `at` of a struct, as the decoded object names it. */
export function memberAt(layout: Layout, at: number): string {
  // Bit-field groups and the union wrapper carry synthetic names; show
  // them as their members.
  return fieldAt(layout, at)
    .split(".")
    .map((part) => (part.startsWith(BITFIELD_PREFIX) ? part.slice(BITFIELD_PREFIX.length) : part))
    .filter((part) => part !== WRAPPED)
    .join(".");
}
