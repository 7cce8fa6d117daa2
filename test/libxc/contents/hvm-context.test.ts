/**
 * HVM context codec against hand-computed vectors: for every typecode of
 * xen/include/public/arch-x86/hvm/save.h and every body size Xen has
 * written, the body is built here byte by byte at the offsets of the C
 * struct (hvm-context-and-cpu.md §1.4-§1.6; offsets worked out by hand
 * from the declarations), decoded to an exact value, and encoded back to
 * the same bytes. Then hostile descriptors (exact codes and offsets) and
 * encoder errors.
 */
import { describe, expect, test } from "vitest";
import { XenStreamError } from "../../../src/index.js";
import {
  HVM_SAVE_CODE,
  HVM_SAVE_TYPES,
  decodeHvmContext,
  encodeHvmContext,
  type HvmContext,
  type HvmHwCpu,
  type HvmSaveEntry,
  type HvmSaveEntryOf,
} from "../../../src/libxc/contents/hvm-context.js";
import { HVM_HW_CPU, HVM_HW_CPU_COMPAT } from "../../../src/libxc/contents/hvm/structs.js";
import { HVM_CPU_COMPAT_LENGTH } from "../../../src/libxc/contents/hvm/table.js";
import { cat, filled, le16, le32, le64, offsetCopy, pattern, zeros } from "../../helpers/hex.js";
import { thrown } from "../../helpers/errors.js";

// ---------------------------------------------------------------- builders

/** struct hvm_save_descriptor: typecode u16, instance u16, length u32. */
const desc = (typecode: number, instance: number, length: number): Uint8Array => cat(le16(typecode), le16(instance), le32(length));

/** A HEADER body: magic, version 1, changeset, cpuid, gtsc_khz. */
const HEADER_BODY = cat(le32(0x5438_1286), le32(1), le64(0xffff_ffff_ffff_ffffn), le32(0x0006_0fb1), le32(2_596_134));
const HEADER = cat(desc(1, 0, 24), HEADER_BODY);
const END = desc(0, 0, 0);
const HEADER_ENTRY: HvmSaveEntry = {
  name: "HEADER",
  typecode: 1,
  instance: 0,
  length: 24,
  fields: { magic: 0x5438_1286, version: 1, changeset: 0xffff_ffff_ffff_ffffn, cpuid: 0x0006_0fb1, gtscKhz: 2_596_134 },
};
const END_ENTRY: HvmSaveEntry = { name: "END", typecode: 0, instance: 0, length: 0, fields: {} };

/** HEADER, the given entries, END. */
function blobOf(...entries: Array<[typecode: number, instance: number, body: Uint8Array]>): Uint8Array {
  return cat(HEADER, ...entries.flatMap(([t, i, body]) => [desc(t, i, body.length), body]), END);
}

/** `size` zero bytes with values written at hand-computed offsets: [offset, width, value]. */
function place(size: number, fields: ReadonlyArray<readonly [offset: number, width: 1 | 2 | 4 | 8, value: number | bigint]>): Uint8Array {
  const out = new Uint8Array(size);
  for (const [offset, width, value] of fields) {
    const bytes = width === 1 ? Uint8Array.of(Number(value)) : width === 2 ? le16(Number(value)) : width === 4 ? le32(Number(value)) : le64(value);
    out.set(bytes, offset);
  }
  return out;
}

/** The single entry between HEADER and END of a decoded blob. */
function only(context: HvmContext): HvmSaveEntry {
  expect(context.entries).toHaveLength(3);
  expect(context.entries[0]).toEqual(HEADER_ENTRY);
  expect(context.entries[2]).toEqual(END_ENTRY);
  return context.entries[1]!;
}

/** Decodes HEADER + one entry + END, checks the entry, re-encodes to the same bytes. */
function roundTrip(typecode: number, instance: number, body: Uint8Array, expected: HvmSaveEntry): void {
  const blob = blobOf([typecode, instance, body]);
  const context = decodeHvmContext(offsetCopy(blob));
  expect(only(context)).toEqual(expected);
  expect(context.trailing).toHaveLength(0);
  expect(encodeHvmContext(context)).toEqual(blob);
}

const big = (n: number): bigint => BigInt(n);

// ---------------------------------------------------------------- struct sizes

describe("struct sizes (x86_64 C layout)", () => {
  test("the 1016-byte CPU entry length is sizeof(struct hvm_hw_cpu_compat); the layouts build on first use, once", () => {
    expect(HVM_CPU_COMPAT_LENGTH).toBe(1016);
    expect(HVM_HW_CPU_COMPAT.size).toBe(HVM_CPU_COMPAT_LENGTH);
    expect(HVM_HW_CPU_COMPAT.fields).toBe(HVM_HW_CPU_COMPAT.fields);
    expect(HVM_HW_CPU.size).toBe(1032);
    expect(HVM_HW_CPU_COMPAT.fields.map((field) => field.name)).toEqual(HVM_HW_CPU.fields.map((field) => field.name).filter((name) => name !== "msrTscAux" && name !== "flags" && name !== "pad0"));
  });

  test("each type's body length per Xen release", () => {
    expect(HVM_SAVE_TYPES.map((row) => [row.typecode, row.name, row.struct, row.scope, row.load, row.sizes.map((s) => s.length)])).toEqual([
      [0, "END", "hvm_save_end", "framing", "end", [0]],
      [1, "HEADER", "hvm_save_header", "framing", "strict", [24]],
      [2, "CPU", "hvm_hw_cpu", "vcpu", "zero-extend", [1016, 1024, 1032]],
      [3, "PIC", "hvm_hw_vpic", "domain", "strict", [8]],
      [4, "IOAPIC", "hvm_hw_vioapic", "domain", "strict", [400]],
      [5, "LAPIC", "hvm_hw_lapic", "vcpu", "zero-extend", [24, 32]],
      [6, "LAPIC_REGS", "hvm_hw_lapic_regs", "vcpu", "strict", [1024]],
      [7, "PCI_IRQ", "hvm_hw_pci_irqs", "domain", "strict", [16]],
      [8, "ISA_IRQ", "hvm_hw_isa_irqs", "domain", "strict", [8]],
      [9, "PCI_LINK", "hvm_hw_pci_link", "domain", "strict", [8]],
      [10, "PIT", "hvm_hw_pit", "domain", "strict", [56]],
      [11, "RTC", "hvm_hw_rtc", "domain", "zero-extend", [16, 24]],
      [12, "HPET", "hvm_hw_hpet", "domain", "strict", [1048]],
      [13, "PMTIMER", "hvm_hw_pmtimer", "domain", "strict", [8]],
      [14, "MTRR", "hvm_hw_mtrr", "vcpu", "strict", [240]],
      [15, "VIRIDIAN_DOMAIN", "hvm_viridian_domain_context", "domain", "zero-extend", [16, 24, 32]],
      [16, "CPU_XSAVE", "hvm_hw_cpu_xsave", "vcpu", "custom", [600]],
      [17, "VIRIDIAN_VCPU", "hvm_viridian_vcpu_context", "vcpu", "zero-extend", [8, 16, 216]],
      [18, "VMCE_VCPU", "hvm_vmce_vcpu", "vcpu", "zero-extend", [8, 24, 32]],
      [19, "TSC_ADJUST", "hvm_tsc_adjust", "vcpu", "strict", [8]],
      [20, "CPU_MSR", "hvm_msr", "vcpu", "custom", [8]],
    ]);
    expect(HVM_SAVE_CODE.CPU_MSR).toBe(20);
    expect(HVM_SAVE_TYPES.find((row) => row.name === "PIC")?.maxInstance).toBe(1);
  });
});

// ---------------------------------------------------------------- every code

const SEGS = ["cs", "ds", "es", "fs", "gs", "ss", "tr", "ldtr"] as const;
const TABLES = [...SEGS, "idtr", "gdtr"] as const;
const GPRS = ["rax", "rbx", "rcx", "rdx", "rbp", "rsi", "rdi", "rsp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"] as const;
const CRDR = ["cr0", "cr2", "cr3", "cr4", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7"] as const;

/**
 * hvm_hw_cpu field offsets (public/arch-x86/hvm/save.h; spec §1.4):
 * GPRs from 512, rip 640, rflags 648, cr0.. from 656, dr0.. from 688,
 * selectors from 736, limits from 768, bases from 808, arbytes from 888,
 * sysenter_cs 920, esp 928, eip 936, shadow_gs 944, msr_flags 952 ..
 * msr_efer 992, msr_tsc_aux 1000, tsc 1008, pending_event 1016,
 * error_code 1020, flags 1024, pad0 1028. The compat layout: tsc 1000,
 * pending_event 1008, error_code 1012.
 */
function cpuVector(layout: 1032 | 1024 | 1016): { body: Uint8Array; fields: HvmHwCpu } {
  const fields: Record<string, unknown> = { fpuRegs: pattern(512, 7) };
  const at: Array<readonly [number, 1 | 2 | 4 | 8, number | bigint]> = [];
  const q = (name: string, offset: number, value: bigint): void => {
    fields[name] = value;
    at.push([offset, 8, value]);
  };
  const d = (name: string, offset: number, value: number): void => {
    fields[name] = value;
    at.push([offset, 4, value]);
  };
  GPRS.forEach((name, i) => q(name, 512 + 8 * i, 0xffff_8880_0000_0000n + big(i)));
  q("rip", 640, 0xffff_ffff_81a4_3c83n);
  q("rflags", 648, 0x246n);
  CRDR.forEach((name, i) => q(name, 656 + 8 * i, 0x8005_0033n + big(i << 12)));
  SEGS.forEach((s, i) => d(`${s}Sel`, 736 + 4 * i, 0x10 + 8 * i));
  TABLES.forEach((s, i) => d(`${s}Limit`, 768 + 4 * i, 0xffff_0000 + i));
  TABLES.forEach((s, i) => q(`${s}Base`, 808 + 8 * i, 0xfffffe00_0000_0000n + big(i << 16)));
  SEGS.forEach((s, i) => d(`${s}Arbytes`, 888 + 4 * i, 0xa9b + i));
  q("sysenterCs", 920, 0x10n);
  q("sysenterEsp", 928, 0xffff_fe00_0000_3000n);
  q("sysenterEip", 936, 0xffff_ffff_81c0_18f0n);
  q("shadowGs", 944, 0xffff_8880_07a0_0000n);
  ["msrFlags", "msrLstar", "msrStar", "msrCstar", "msrSyscallMask", "msrEfer"].forEach((name, i) => q(name, 952 + 8 * i, 0xc000_0080n + big(i)));
  const compat = layout === 1016;
  if (compat) fields["msrTscAux"] = 0n;
  else q("msrTscAux", 1000, 0x1n);
  q("tsc", compat ? 1000 : 1008, 0x10_8c8a_408cn);
  // pending_event 0x8000_0b0e: vector 0x0e (#PF), type 3 (hw exception), error valid, valid.
  d("pendingEvent", compat ? 1008 : 1016, 0x8000_0b0e);
  Object.assign(fields, { pendingVector: 0x0e, pendingType: 3, pendingErrorValid: 1, pendingReserved: 0, pendingValid: 1 });
  d("errorCode", compat ? 1012 : 1020, 0x2);
  if (layout === 1032) {
    d("flags", 1024, 1);
    d("pad0", 1028, 0);
  } else {
    fields["flags"] = 0;
    fields["pad0"] = 0;
  }
  const body = place(layout, at);
  body.set(pattern(512, 7), 0);
  return { body, fields: fields as unknown as HvmHwCpu };
}

describe("CPU (typecode 2): struct hvm_hw_cpu", () => {
  for (const layout of [1032, 1024, 1016] as const) {
    test(`${layout}-byte layout`, () => {
      const { body, fields } = cpuVector(layout);
      roundTrip(2, 1, body, { name: "CPU", typecode: 2, instance: 1, length: layout, fields });
    });
  }

  test("a shorter body is zero-extended (hvm_load_entry_zeroextend)", () => {
    const { body, fields } = cpuVector(1032);
    const short = body.subarray(0, 660); // ends inside cr0
    const expected: Record<string, unknown> = { ...(fields as unknown as Record<string, unknown>) };
    for (const key of Object.keys(expected)) if (typeof expected[key] === "bigint") expected[key] = 0n;
    for (const key of Object.keys(expected)) if (typeof expected[key] === "number") expected[key] = 0;
    GPRS.forEach((name, i) => (expected[name] = 0xffff_8880_0000_0000n + big(i)));
    expected["rip"] = 0xffff_ffff_81a4_3c83n;
    expected["rflags"] = 0x246n;
    expected["cr0"] = 0x8005_0033n & 0xffff_ffffn; // its first 4 bytes (0x80050033) survive
    roundTrip(2, 0, short, { name: "CPU", typecode: 2, instance: 0, length: 660, fields: expected as unknown as HvmHwCpu });
  });

  test("a longer body keeps the bytes after the struct in tail", () => {
    const { body, fields } = cpuVector(1032);
    const tail = pattern(9, 3);
    roundTrip(2, 0, cat(body, tail), { name: "CPU", typecode: 2, instance: 0, length: 1041, fields, tail });
  });
});

describe("device and per-vCPU types", () => {
  test("HEADER (1): magic, version, changeset, cpuid, gtsc_khz", () => {
    const context = decodeHvmContext(cat(HEADER, END));
    expect(context.entries).toEqual([HEADER_ENTRY, END_ENTRY]);
  });

  test("PIC (3): struct hvm_hw_vpic, the bit-fields of bytes 4 and 5", () => {
    // byte 4: init_state 3 (bits 0-3), priority_add 0xa (4-7); byte 5: readsel_isr, auto_eoi,
    // special_fully_nested_mode, is_master and the unnamed bit 7 set: 0b1101_0101.
    const body = Uint8Array.of(0x11, 0x22, 0x33, 0x08, 0xa3, 0xd5, 0x44, 0x01);
    roundTrip(3, 1, body, {
      name: "PIC",
      typecode: 3,
      instance: 1,
      length: 8,
      fields: {
        irr: 0x11,
        imr: 0x22,
        isr: 0x33,
        irqBase: 0x08,
        initState: 3,
        priorityAdd: 0xa,
        readselIsr: 1,
        poll: 0,
        autoEoi: 1,
        rotateOnAutoEoi: 0,
        specialFullyNestedMode: 1,
        specialMaskMode: 0,
        isMaster: 1,
        reservedBits: 1,
        elcr: 0x44,
        intOutput: 1,
      },
    });
  });

  test("IOAPIC (4): struct hvm_hw_vioapic, union vioapic_redir_entry", () => {
    // pin 0: vector 0x30; byte 1: delivery_mode 5, dest_mode 1, delivery_status 0, polarity 1,
    // remote_irr 0, trig_mode 1 = 0xad; byte 2: mask 1, reserve 0x55 = 0xab; reserved 01 02 03 04; dest_id 0xfe.
    const pin0 = Uint8Array.of(0x30, 0xad, 0xab, 0x01, 0x02, 0x03, 0x04, 0xfe);
    const masked = le64(0x1_0000);
    const body = cat(le64(0xfec0_0000), le32(0x10), le32(0x0100_0000), pin0, ...Array.from({ length: 47 }, () => masked));
    expect(body).toHaveLength(400);
    const maskedEntry = {
      bits: 0x1_0000n,
      fields: { vector: 0, deliveryMode: 0, destMode: 0, deliveryStatus: 0, polarity: 0, remoteIrr: 0, trigMode: 0, mask: 1, reserve: 0, reserved: zeros(4), destId: 0 },
    };
    roundTrip(4, 0, body, {
      name: "IOAPIC",
      typecode: 4,
      instance: 0,
      length: 400,
      fields: {
        baseAddress: 0xfec0_0000n,
        ioregsel: 0x10,
        id: 0x0100_0000,
        redirtbl: [
          {
            bits: 0xfe04_0302_01ab_ad30n,
            fields: { vector: 0x30, deliveryMode: 5, destMode: 1, deliveryStatus: 0, polarity: 1, remoteIrr: 0, trigMode: 1, mask: 1, reserve: 0x55, reserved: Uint8Array.of(1, 2, 3, 4), destId: 0xfe },
          },
          ...Array.from({ length: 47 }, () => maskedEntry),
        ],
      },
    });
  });

  const lapic = { apicBaseMsr: 0xfee0_0d00n, disabled: 2, timerDivisor: 3, tdtMsr: 0x1122_3344_5566_7788n };
  test("LAPIC (5): 24 bytes (Xen <= 4.20), zero-extended", () => {
    roundTrip(5, 0, cat(le64(0xfee0_0d00n), le32(2), le32(3), le64(0x1122_3344_5566_7788n)), {
      name: "LAPIC",
      typecode: 5,
      instance: 0,
      length: 24,
      fields: { ...lapic, pendingEsr: 0, padding: 0 },
    });
  });
  test("LAPIC (5): 32 bytes (Xen 4.21: pending_esr, 4 bytes padding)", () => {
    roundTrip(5, 1, cat(le64(0xfee0_0d00n), le32(2), le32(3), le64(0x1122_3344_5566_7788n), le32(0x40), le32(0)), {
      name: "LAPIC",
      typecode: 5,
      instance: 1,
      length: 32,
      fields: { ...lapic, pendingEsr: 0x40, padding: 0 },
    });
  });

  test("LAPIC_REGS (6): the 1024-byte APIC page", () => {
    const data = pattern(1024, 5);
    roundTrip(6, 0, data, { name: "LAPIC_REGS", typecode: 6, instance: 0, length: 1024, fields: { data } });
  });

  test("PCI_IRQ (7), ISA_IRQ (8), PCI_LINK (9)", () => {
    roundTrip(7, 0, cat(le64(0x8000_0000_0000_0001n), le64(0x10n)), { name: "PCI_IRQ", typecode: 7, instance: 0, length: 16, fields: { pad: [0x8000_0000_0000_0001n, 0x10n] } });
    roundTrip(8, 0, le64(0x0402n), { name: "ISA_IRQ", typecode: 8, instance: 0, length: 8, fields: { pad: [0x0402n] } });
    roundTrip(9, 0, Uint8Array.of(5, 10, 11, 0, 1, 2, 3, 4), {
      name: "PCI_LINK",
      typecode: 9,
      instance: 0,
      length: 8,
      fields: { route: Uint8Array.of(5, 10, 11, 0), pad0: Uint8Array.of(1, 2, 3, 4) },
    });
  });

  test("PIT (10): three 16-byte channels, speaker_data_on, pad0", () => {
    // channel: count u32, latched_count u16, then count_latched, status_latched, status,
    // read_state, write_state, write_latch, rw_mode, mode, bcd, gate (u8 each).
    const channel = (n: number): Uint8Array => cat(le32(0x1_0000 - n), le16(0x100 + n), Uint8Array.of(1, 0, 0x34 + n, 3, 3, n, 3, 2, 0, 1));
    const decoded = (n: number) => ({
      count: 0x1_0000 - n,
      latchedCount: 0x100 + n,
      countLatched: 1,
      statusLatched: 0,
      status: 0x34 + n,
      readState: 3,
      writeState: 3,
      writeLatch: n,
      rwMode: 3,
      mode: 2,
      bcd: 0,
      gate: 1,
    });
    roundTrip(10, 0, cat(channel(0), channel(1), channel(2), le32(1), le32(0)), {
      name: "PIT",
      typecode: 10,
      instance: 0,
      length: 56,
      fields: { channels: [decoded(0), decoded(1), decoded(2)], speakerDataOn: 1, pad0: 0 },
    });
  });

  const cmos = Uint8Array.of(0x34, 0, 0x49, 0, 0x20, 0, 3, 0x25, 0x11, 0x26, 0x26, 2, 0x10, 0x80);
  test("RTC (11): 16 bytes (Xen <= 4.13)", () => {
    roundTrip(11, 0, cat(cmos, Uint8Array.of(0x0a, 0)), { name: "RTC", typecode: 11, instance: 0, length: 16, fields: { cmosData: cmos, cmosIndex: 0x0a, pad0: 0, rtcOffset: 0n } });
  });
  test("RTC (11): 24 bytes (4.14+: rtc_offset, int64_t)", () => {
    roundTrip(11, 0, cat(cmos, Uint8Array.of(0x0a, 0), le64(0xffff_ffff_ffff_f1f0n)), {
      name: "RTC",
      typecode: 11,
      instance: 0,
      length: 24,
      fields: { cmosData: cmos, cmosIndex: 0x0a, pad0: 0, rtcOffset: -3600n },
    });
  });

  test("HPET (12): 1048 bytes; timers at 256 + 32i, period at 1024", () => {
    const at: Array<readonly [number, 8, bigint]> = [
      [0, 8, 0x8086_a201n], // capability
      [8, 8, 0x11n], // res0
      [16, 8, 0x3n], // config
      [24, 8, 0x22n], // res1
      [32, 8, 0x4n], // isr
      [40 + 8 * 24, 8, 0x33n], // res2[24]
      [240, 8, 0x1234_5678n], // mc64
      [248, 8, 0x44n], // res3
      [1024, 8, 0x10n], // period[0]
      [1040, 8, 0x30n], // period[2]
      [352 + 8 * 83, 8, 0x55n], // res5[83]
    ];
    const timers = [0, 1, 2].map((i) => ({ config: 0x30n + big(i), cmp: 0xffff_ffffn - big(i), fsb: big(i), res4: 0x66n + big(i) }));
    timers.forEach((t, i) => at.push([256 + 32 * i, 8, t.config], [264 + 32 * i, 8, t.cmp], [272 + 32 * i, 8, t.fsb], [280 + 32 * i, 8, t.res4]));
    const res2 = Array.from({ length: 25 }, (_, i) => (i === 24 ? 0x33n : 0n));
    const res5 = Array.from({ length: 84 }, (_, i) => (i === 83 ? 0x55n : 0n));
    roundTrip(12, 0, place(1048, at), {
      name: "HPET",
      typecode: 12,
      instance: 0,
      length: 1048,
      fields: { capability: 0x8086_a201n, res0: 0x11n, config: 0x3n, res1: 0x22n, isr: 0x4n, res2, mc64: 0x1234_5678n, res3: 0x44n, timers, res5, period: [0x10n, 0n, 0x30n] },
    });
  });

  test("PMTIMER (13): tmr_val u32, pm1a_sts u16, pm1a_en u16", () => {
    roundTrip(13, 0, cat(le32(0x00c0_ffee), le16(0x8001), le16(0x0120)), { name: "PMTIMER", typecode: 13, instance: 0, length: 8, fields: { tmrVal: 0x00c0_ffee, pm1aSts: 0x8001, pm1aEn: 0x0120 } });
  });

  test("MTRR (14): pat 0, var[16] 8, fixed[11] 136, cap 224, def_type 232", () => {
    const variable = Array.from({ length: 16 }, (_, i) => big(0x1000 * (i + 1)));
    const fixedMsrs = Array.from({ length: 11 }, (_, i) => 0x0606_0606_0606_0606n + big(i));
    const body = place(240, [[0, 8, 0x7_0406_0007_0406n], ...variable.map((v, i) => [8 + 8 * i, 8, v] as const), ...fixedMsrs.map((v, i) => [136 + 8 * i, 8, v] as const), [224, 8, 0x508n], [232, 8, 0x806n]]);
    roundTrip(14, 1, body, {
      name: "MTRR",
      typecode: 14,
      instance: 1,
      length: 240,
      fields: { msrPatCr: 0x7_0406_0007_0406n, msrMtrrVar: variable, msrMtrrFixed: fixedMsrs, msrMtrrCap: 0x508n, msrMtrrDefType: 0x806n },
    });
  });

  for (const [length, since] of [[16, "4.2"], [24, "4.5"], [32, "4.6"]] as const) {
    test(`VIRIDIAN_DOMAIN (15): ${length} bytes (Xen ${since})`, () => {
      const words = [0x1000n, 0x8001_0000_0000_0001n, 0x1_0000n, 0x2001n].slice(0, length / 8);
      const all = [...words, 0n, 0n].slice(0, 4);
      roundTrip(15, 0, cat(...words.map((w) => le64(w))), {
        name: "VIRIDIAN_DOMAIN",
        typecode: 15,
        instance: 0,
        length,
        fields: { hypercallGpa: all[0]!, guestOsId: all[1]!, timeRefCount: all[2]!, referenceTsc: all[3]! },
      });
    });
  }

  test("CPU_XSAVE (16): 600-byte fixed part, the extended components in tail", () => {
    // xfeature_mask 0, xcr0 8, xcr0_accum 16, fpu_sse 24, xstate_bv 536, xcomp_bv 544, reserved 552..600.
    const fpuSse = pattern(512, 9);
    const ymm = pattern(256, 4); // AVX component, standard offset 576 in the area = 600 in the body
    const body = cat(le64(0x7n), le64(0x7n), le64(0x7n), fpuSse, le64(0x7n), le64(0n), zeros(40), le64(0x99n), ymm);
    roundTrip(16, 0, body, {
      name: "CPU_XSAVE",
      typecode: 16,
      instance: 0,
      length: 856,
      fields: { xfeatureMask: 7n, xcr0: 7n, xcr0Accum: 7n, saveArea: { fpuSse, xsaveHdr: { xstateBv: 7n, xcompBv: 0n, reserved: [0n, 0n, 0n, 0n, 0n, 0x99n] } } },
      tail: ymm,
    });
  });

  const viridianVcpu = (length: 8 | 16 | 216) => {
    const fields = {
      vpAssistMsr: 0x3_ffff_e001n,
      apicAssistPending: length >= 16 ? 1 : 0,
      _pad: zeros(7),
      simpMsr: length > 16 ? 0x5000n : 0n,
      sintMsr: Array.from({ length: 16 }, (_, i) => (length > 16 ? 0x1_0000n + big(i) : 0n)),
      stimerConfigMsr: Array.from({ length: 4 }, (_, i) => (length > 16 ? 0x10n + big(i) : 0n)),
      stimerCountMsr: Array.from({ length: 4 }, (_, i) => (length > 16 ? 0x1000n * big(i + 1) : 0n)),
    };
    const at: Array<readonly [number, 1 | 8, number | bigint]> = [[0, 8, fields.vpAssistMsr]];
    if (length >= 16) at.push([8, 1, 1]);
    if (length > 16) {
      at.push([16, 8, fields.simpMsr]);
      fields.sintMsr.forEach((v, i) => at.push([24 + 8 * i, 8, v]));
      fields.stimerConfigMsr.forEach((v, i) => at.push([152 + 8 * i, 8, v]));
      fields.stimerCountMsr.forEach((v, i) => at.push([184 + 8 * i, 8, v]));
    }
    return { body: place(length, at), fields };
  };
  for (const [length, since] of [[8, "4.2"], [16, "4.7"], [216, "4.13"]] as const) {
    test(`VIRIDIAN_VCPU (17): ${length} bytes (Xen ${since})`, () => {
      const { body, fields } = viridianVcpu(length);
      roundTrip(17, 1, body, { name: "VIRIDIAN_VCPU", typecode: 17, instance: 1, length, fields });
    });
  }

  for (const [length, since] of [[8, "4.2"], [24, "4.3"], [32, "4.10"]] as const) {
    test(`VMCE_VCPU (18): ${length} bytes (Xen ${since})`, () => {
      const words = [0x1000_0802n, 0x8000_0000_0000_0001n, 0x8000_0000_0000_0002n, 0x1n].slice(0, length / 8);
      const all = [...words, 0n, 0n, 0n].slice(0, 4);
      roundTrip(18, 0, cat(...words.map((w) => le64(w))), {
        name: "VMCE_VCPU",
        typecode: 18,
        instance: 0,
        length,
        fields: { caps: all[0]!, mciCtl2Bank0: all[1]!, mciCtl2Bank1: all[2]!, mcgExtCtl: all[3]! },
      });
    });
  }

  test("TSC_ADJUST (19): one u64", () => {
    roundTrip(19, 1, le64(0xffff_ffff_ffff_fc00n), { name: "TSC_ADJUST", typecode: 19, instance: 1, length: 8, fields: { tscAdjust: 0xffff_ffff_ffff_fc00n } });
  });

  for (const count of [1, 2, 9]) {
    test(`CPU_MSR (20): 8 + 16 * ${count} bytes`, () => {
      const msrs = Array.from({ length: count }, (_, i) => ({ index: [0x48, 0xda0, 0xc001_1027][i % 3]!, _rsvd: 0, val: big(i + 1) << 32n }));
      const body = cat(le32(count), le32(0), ...msrs.map((m) => cat(le32(m.index), le32(m._rsvd), le64(m.val))));
      roundTrip(20, 0, body, { name: "CPU_MSR", typecode: 20, instance: 0, length: 8 + 16 * count, fields: { count, padding: 0, msr: msrs } });
    });
  }

  test("CPU_MSR (20): bytes after the last whole entry are a tail; a count that disagrees is kept", () => {
    const body = cat(le32(5), le32(0xdead_beef), le32(0x48), le32(7), le64(1n), Uint8Array.of(1, 2, 3));
    roundTrip(20, 0, body, { name: "CPU_MSR", typecode: 20, instance: 0, length: 27, fields: { count: 5, padding: 0xdead_beef, msr: [{ index: 0x48, _rsvd: 7, val: 1n }] }, tail: Uint8Array.of(1, 2, 3) });
  });

  test("unknown typecodes (21, the Amazon range 22-34, vendor codes) are kept raw", () => {
    for (const typecode of [21, 22, 34, 0x8000, 0xffff]) {
      const body = pattern(13, typecode);
      roundTrip(typecode, 7, body, { name: "UNKNOWN", typecode, instance: 7, length: 13, body });
    }
  });

  test("END with a body, bytes after END: kept", () => {
    const blob = cat(HEADER, desc(0, 3, 4), Uint8Array.of(9, 8, 7, 6), filled(5, 0xaa));
    const context = decodeHvmContext(blob);
    expect(context.entries).toEqual([HEADER_ENTRY, { name: "END", typecode: 0, instance: 3, length: 4, fields: {}, tail: Uint8Array.of(9, 8, 7, 6) }]);
    expect(context.trailing).toEqual(filled(5, 0xaa));
    expect(encodeHvmContext(context)).toEqual(blob);
  });
});

// ---------------------------------------------------------------- hostile input

describe("hostile descriptors: XenStreamError with the offset inside the blob", () => {
  const cases: Array<[name: string, blob: Uint8Array, code: string, offset: number]> = [
    ["empty blob", zeros(0), "TRUNCATED", 0],
    ["descriptor cut short", zeros(5), "TRUNCATED", 0],
    ["zero-length HEADER", cat(desc(1, 0, 0), END), "BAD_LENGTH", 4],
    ["HEADER of 16 bytes", cat(desc(1, 0, 16), zeros(16), END), "BAD_LENGTH", 4],
    ["HEADER length 0xffffffff", cat(desc(1, 0, 0xffff_ffff), HEADER_BODY), "BAD_LENGTH", 4],
    ["first entry not a HEADER", cat(desc(2, 0, 24), HEADER_BODY, END), "BAD_FIELD", 0],
    ["bad magic", cat(desc(1, 0, 24), le32(0x1234_5678), HEADER_BODY.subarray(4), END), "BAD_MAGIC", 8],
    ["version 2", cat(desc(1, 0, 24), le32(0x5438_1286), le32(2), HEADER_BODY.subarray(8), END), "BAD_VERSION", 12],
    ["descriptor cut short after HEADER", cat(HEADER, zeros(3)), "TRUNCATED", 32],
    ["entry length 0xffffffff", cat(HEADER, desc(2, 0, 0xffff_ffff), zeros(16)), "BAD_LENGTH", 36],
    ["entry one byte past the blob", cat(HEADER, desc(19, 0, 9), le64(0n)), "BAD_LENGTH", 36],
    ["no END", cat(HEADER, desc(19, 0, 8), le64(0n)), "TRUNCATED", 48],
    ["END cut short", cat(HEADER, zeros(4)), "TRUNCATED", 32],
  ];
  for (const [name, blob, code, offset] of cases) {
    test(name, () => {
      const error = thrown(() => decodeHvmContext(offsetCopy(blob)));
      expect([error.code, error.offset]).toEqual([code, offset]);
      const based = thrown(() => decodeHvmContext(blob, { baseOffset: 1000 }));
      expect([based.code, based.offset]).toEqual([code, offset + 1000]);
    });
  }

  test("API misuse: USAGE", () => {
    expect(thrown(() => decodeHvmContext("x" as unknown as Uint8Array)).code).toBe("USAGE");
    expect(thrown(() => decodeHvmContext(cat(HEADER, END), { baseOffset: -1 })).code).toBe("USAGE");
    expect(thrown(() => encodeHvmContext(null as unknown as HvmContext)).code).toBe("USAGE");
  });
});

// ---------------------------------------------------------------- encoder errors

describe("encoder: BAD_VALUE with the position of the field", () => {
  const withEntry = (entry: HvmSaveEntry): HvmContext => ({ entries: [HEADER_ENTRY, entry, END_ENTRY], trailing: zeros(0) });
  const cpu = (): HvmSaveEntryOf<"CPU"> => ({ name: "CPU", typecode: 2, instance: 0, length: 1032, fields: cpuVector(1032).fields });

  const cases: Array<[name: string, context: () => HvmContext, offset: number, message: RegExp]> = [
    ["a u32 out of range", () => {
      const entry = cpu();
      entry.fields.csSel = 0x1_0000_0000;
      return withEntry(entry);
    }, 40 + 736, /CPU\.csSel must be an integer in 0\.\.4294967295/],
    ["a u64 given as a number", () => {
      const entry = cpu();
      (entry.fields as unknown as Record<string, unknown>)["rip"] = 5;
      return withEntry(entry);
    }, 40 + 640, /CPU\.rip must be a bigint/],
    ["pending_event disagreeing with its bit-fields", () => {
      const entry = cpu();
      entry.fields.pendingVector = 0x0d;
      return withEntry(entry);
    }, 40 + 1016, /CPU\.pendingEvent must be 0x80000b0d to agree with its bit-fields/],
    ["a field beyond a short length that is not zero", () => {
      const entry = cpu();
      entry.length = 1024;
      return withEntry(entry);
    }, 40 + 1024, /CPU\.flags lies beyond the entry's length 1024/],
    ["a tail that does not fill the length", () => {
      const entry = cpu();
      entry.length = 1040;
      entry.tail = zeros(3);
      return withEntry(entry);
    }, 40 + 1032, /CPU\.tail must be 8 bytes/],
    ["msr_tsc_aux in a 1016-byte CPU entry", () => {
      const entry = cpu();
      entry.length = 1016;
      entry.fields.flags = 0;
      return withEntry(entry);
    }, 40, /CPU\.msrTscAux must be 0 in a 1016-byte CPU entry/],
    ["typecode not matching the name", () => withEntry({ name: "TSC_ADJUST", typecode: 18, instance: 0, length: 8, fields: { tscAdjust: 0n } }), 32, /typecode must be 19 for TSC_ADJUST/],
    ["CPU_MSR entries not matching the length", () => withEntry({ name: "CPU_MSR", typecode: 20, instance: 0, length: 40, fields: { count: 1, padding: 0, msr: [{ index: 0x48, _rsvd: 0, val: 1n }] } }), 40, /CPU_MSR\.msr must be an array of 2 entries/],
    ["UNKNOWN with a known typecode", () => withEntry({ name: "UNKNOWN", typecode: 19, instance: 0, length: 0, body: zeros(0) }), 32, /unknown typecode/],
  ];
  for (const [name, build, offset, message] of cases) {
    test(name, () => {
      const error = thrown(() => encodeHvmContext(build()));
      expect(error).toBeInstanceOf(XenStreamError);
      expect([error.code, error.offset]).toEqual(["BAD_VALUE", offset]);
      expect(error.message).toMatch(message);
    });
  }

  test("values of the wrong kind: BAD_VALUE, never a TypeError", () => {
    const bad: unknown[] = [null, 7, { name: "CPU", typecode: 2, instance: 0, length: 1032, fields: null }, { ...cpu(), tail: "abc" }, { name: "NOPE", typecode: 2, instance: 0, length: 0 }];
    for (const entry of bad) {
      const error = thrown(() => encodeHvmContext({ entries: [HEADER_ENTRY, entry as HvmSaveEntry], trailing: zeros(0) }));
      expect(error.code).toBe("BAD_VALUE");
    }
    expect(thrown(() => encodeHvmContext({ entries: [], trailing: "x" as unknown as Uint8Array })).code).toBe("BAD_VALUE");
  });

  test("vioapic bits disagreeing with fields", () => {
    const blob = blobOf([4, 0, zeros(400)]);
    const context = decodeHvmContext(blob);
    const entry = context.entries[1]!;
    if (entry.name !== "IOAPIC") throw new Error("expected IOAPIC");
    entry.fields.redirtbl[3]!.fields.mask = 1;
    const error = thrown(() => encodeHvmContext(context));
    expect([error.code, error.offset]).toEqual(["BAD_VALUE", 40 + 16 + 24]);
    expect(error.message).toMatch(/redirtbl\[3\]\.bits must be 0x10000n/);
    entry.fields.redirtbl[3]!.bits = 0x1_0000n;
    const again = encodeHvmContext(context);
    expect(again.subarray(40 + 16 + 24, 40 + 16 + 32)).toEqual(le64(0x1_0000n));
  });
});
