/**
 * Ground truth from real Xen 4.17 (spec-vectors/captured/oracle-pvh, copied
 * from the lab's real-xen/oracle-pvh: see its README there): the HVM
 * context of a 2-vCPU PVH domain saved with `xl save -p`, and what Xen's
 * own `xen-hvmctx` printed for the same paused domain.
 *
 * The test prints our decoded context the way xen-hvmctx
 * (tools/misc/xen-hvmctx.c) prints each record — its printf formats,
 * emulated by a small formatter here — and requires the whole text to be
 * identical, so that every value the tool prints is compared. The known
 * differences between the stream and the paused domain are listed as
 * explicit exceptions, each asserted both ways (our value and the tool's).
 *
 * The register lines `xenctx -a -C` printed for the same domain are
 * compared too.
 *
 * Also: the HVM skeleton (qemu HVM guest with every emulated device) and
 * the PVH skeleton decode entry by entry and re-encode byte for byte.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { decodeSaveFile, type LibxcRecord } from "../../../src/index.js";
import {
  checkHvmContext,
  decodeHvmContext,
  encodeHvmContext,
  type HvmContext,
  type HvmSaveEntry,
  type HvmSaveEntryOf,
  type HvmSaveTypeName,
} from "../../../src/libxc/contents/hvm-context.js";

// ---------------------------------------------------------------- input

function load(path: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`../../../spec-vectors/captured/${path}`, import.meta.url)));
}

/** The HVM_CONTEXT record body of a captured save file, and its absolute offset. */
function hvmContextOf(path: string): Uint8Array {
  const file = decodeSaveFile(load(path));
  if (file.format !== "libxl") throw new Error(`${path}: expected a libxl save file`);
  const records: LibxcRecord[] = [];
  for (const item of file.stream.items) if (item.type === "LIBXC_STREAM") records.push(...item.stream.records);
  const found = records.filter((record) => record.type === "HVM_CONTEXT");
  expect(found).toHaveLength(1);
  const record = found[0]!;
  if (record.type !== "HVM_CONTEXT") throw new Error("unreachable");
  return record.data;
}

// ---------------------------------------------------------------- printf

/**
 * C printf for the conversions xen-hvmctx uses: %[#0-][width][.prec][l|ll]{x,u,i,s}.
 * `#` with a zero value prints no 0x (C99 7.19.6.1).
 */
function printf(format: string, ...args: Array<number | bigint | string>): string {
  let next = 0;
  return format.replace(/%([#0-]*)(\d*)(?:\.(\d+))?(?:ll|l|h)?([xuis%])/g, (_all, flags: string, width: string, precision: string | undefined, conv: string) => {
    if (conv === "%") return "%";
    const arg = args[next++];
    if (arg === undefined) throw new Error(`printf: too few arguments for ${format}`);
    let text: string;
    if (conv === "s") text = String(arg);
    else {
      const value = BigInt(arg);
      text = value.toString(conv === "x" ? 16 : 10);
      if (precision !== undefined) text = text.padStart(Number(precision), "0");
      if (conv === "x" && flags.includes("#") && value !== 0n) text = `0x${text}`;
      if (precision === undefined && flags.includes("0") && !flags.includes("-")) text = text.padStart(Number(width || 0), "0");
    }
    const size = Number(width || 0);
    return flags.includes("-") ? text.padEnd(size, " ") : text.padStart(size, " ");
  });
}

// ---------------------------------------------------------------- xen-hvmctx, re-told

function fields<N extends HvmSaveTypeName>(entry: HvmSaveEntry, name: N): HvmSaveEntryOf<N>["fields"] {
  if (entry.name !== name) throw new Error(`expected ${name}, got ${entry.name}`);
  return (entry as HvmSaveEntryOf<N>).fields;
}

const le16 = (b: Uint8Array, at: number): number => b[at]! | (b[at + 1]! << 8);
const le32 = (b: Uint8Array, at: number): number => (le16(b, at) | (le16(b, at + 2) << 16)) >>> 0;
const le64 = (b: Uint8Array, at: number): bigint => BigInt(le32(b, at)) | (BigInt(le32(b, at + 4)) << 32n);

/** The FXSAVE image as xen-hvmctx's dump_fpu() lays it out (struct fpu_regs). */
function fpuLines(r: Uint8Array): string[] {
  const out = [
    printf("    FPU:    fcw 0x%4.4x fsw 0x%4.4x", le16(r, 0), le16(r, 2)),
    printf("            ftw 0x%2.2x (0x%2.2x) fop 0x%4.4x", r[4]!, r[5]!, le16(r, 6)),
    printf("          fpuip 0x%16.16lx fpudp 0x%16.16lx", le64(r, 8), le64(r, 16)),
    printf("          mxcsr 0x%8.8lx mask 0x%8.8lx", le32(r, 24), le32(r, 28)),
  ];
  for (let i = 0; i < 8; i++) {
    const at = 32 + 16 * i;
    out.push(printf("            mm%i 0x%4.4x%16.16lx (0x%4.4x%4.4x%4.4x)", i, le16(r, at + 8), le64(r, at), le16(r, at + 14), le16(r, at + 12), le16(r, at + 10)));
  }
  for (let i = 0; i < 16; i++) {
    const at = 160 + 16 * i;
    out.push(printf("          xmm%2.2i 0x%16.16lx%16.16lx", i, le64(r, at + 8), le64(r, at)));
  }
  for (let i = 0; i < 6; i++) out.push(printf("               (0x%16.16lx%16.16lx)", le64(r, 416 + 16 * i + 8), le64(r, 416 + 16 * i)));
  return out;
}

function entryLines(entry: HvmSaveEntry): string[] {
  switch (entry.name) {
    case "HEADER": {
      const h = fields(entry, "HEADER");
      return [
        printf("     Header: magic %#lx, version %lu", h.magic, h.version),
        printf("             Xen changeset %llx", h.changeset),
        printf("             CPUID[0][%%eax] 0x%.8lx", h.cpuid),
        printf("             gtsc_khz %lu", h.gtscKhz),
      ];
    }
    case "CPU": {
      const c = fields(entry, "CPU");
      const pair = (a: string, b: string): string =>
        printf("%15s 0x%16.16llx     %3s 0x%16.16llx", a, c[a as keyof typeof c] as bigint, b, c[b as keyof typeof c] as bigint);
      const seg = (name: string, wide: boolean): string => {
        const key = name as "cs";
        return printf(
          `%15s %#6.4x (%#18.8lx + %#10.${wide ? 8 : 4}x / %#7.4x)`,
          name,
          c[`${key}Sel`],
          c[`${key}Base`],
          c[`${key}Limit`],
          c[`${key}Arbytes`],
        );
      };
      const lines = [
        `    CPU:    ${pair("rax", "rbx").trimStart()}`,
        pair("rcx", "rdx"),
        pair("rbp", "rsi"),
        pair("rdi", "rsp"),
        pair("r8", "r9"),
        pair("r10", "r11"),
        pair("r12", "r13"),
        pair("r14", "r15"),
        printf("%15s 0x%16.16llx  rflags 0x%16.16llx", "rip", c.rip, c.rflags),
        pair("cr0", "cr2"),
        pair("cr3", "cr4"),
        pair("dr0", "dr1"),
        pair("dr2", "dr3"),
        pair("dr6", "dr7"),
        ...["cs", "es", "ds", "fs", "gs", "ss"].map((s) => seg(s, true)),
        seg("tr", false),
        seg("ldtr", false),
        printf("           idtr        (%#18.8lx + %#10.4x)", c.idtrBase, c.idtrLimit),
        printf("           gdtr        (%#18.8lx + %#10.4x)", c.gdtrBase, c.gdtrLimit),
        printf("    sysenter cs 0x%8.8llx  eip 0x%16.16llx  esp 0x%16.16llx", c.sysenterCs, c.sysenterEip, c.sysenterEsp),
        printf("      shadow gs %#18.16lx   efer %#18.8lx", c.shadowGs, c.msrEfer),
        printf("          lstar %#18.16lx  cstar %#18.16lx", c.msrLstar, c.msrCstar),
        printf("           star %#18.16lx sfmask %#18.8lx", c.msrStar, c.msrSyscallMask),
        printf("            tsc 0x%16.16llx", c.tsc),
        printf("          event 0x%8.8lx error 0x%8.8lx", c.pendingEvent, c.errorCode),
      ];
      // xen-hvmctx dumps the FPU only when flags has XEN_X86_FPU_INITIALISED.
      if ((c.flags & 1) !== 0) lines.push(...fpuLines(c.fpuRegs));
      return lines;
    }
    case "LAPIC": {
      const l = fields(entry, "LAPIC");
      return [printf("    LAPIC: base_msr %#llx, disabled %#x, timer_divisor %#x", l.apicBaseMsr, l.disabled, l.timerDivisor)];
    }
    case "LAPIC_REGS": {
      const r = fields(entry, "LAPIC_REGS").data;
      const out = ["    LAPIC registers:"];
      for (let i = 0; i < 0x400; i += 32) out.push(printf("          0x%03x: 0x%08x   0x%03x: 0x%08x", i, le32(r, i), i + 16, le32(r, i + 16)));
      return out;
    }
    case "PCI_IRQ": {
      const p = fields(entry, "PCI_IRQ").pad;
      return [printf("    PCI IRQs: 0x%16.16llx%16.16llx", p[0]!, p[1]!)];
    }
    case "ISA_IRQ":
      return [printf("    ISA IRQs: 0x%4.4llx", fields(entry, "ISA_IRQ").pad[0]!)];
    case "PCI_LINK": {
      const r = fields(entry, "PCI_LINK").route;
      return [printf("    PCI LINK: %u %u %u %u", r[0]!, r[1]!, r[2]!, r[3]!)];
    }
    case "MTRR": {
      const m = fields(entry, "MTRR");
      const out = [printf("    MTRR: PAT %#lx, cap %#lx, default %#lx", m.msrPatCr, m.msrMtrrCap, m.msrMtrrDefType)];
      for (let i = 0; i < 8; i++) out.push(printf("          var %u %#18.13lx %#18.13lx", i, m.msrMtrrVar[2 * i]!, m.msrMtrrVar[2 * i + 1]!));
      for (let i = 0; i < 11; i++) out.push(printf("          fixed %02x %#18.16lx", i, m.msrMtrrFixed[i]!));
      return out;
    }
    case "VMCE_VCPU": {
      const v = fields(entry, "VMCE_VCPU");
      return [
        printf("    VMCE_VCPU: caps %lx", v.caps),
        printf("    VMCE_VCPU: bank0 mci_ctl2 %lx", v.mciCtl2Bank0),
        printf("    VMCE_VCPU: bank1 mci_ctl2 %lx", v.mciCtl2Bank1),
      ];
    }
    case "TSC_ADJUST":
      return [printf("    TSC_ADJUST: tsc_adjust %lx", fields(entry, "TSC_ADJUST").tscAdjust)];
    case "END":
      return [];
    default:
      throw new Error(`the PVH oracle has no ${entry.name} entry; this printer does not know it`);
  }
}

function hvmctxText(context: HvmContext, domid: number): string {
  const lines = [`HVM save record for domain ${domid}`];
  context.entries.forEach((entry, index) => {
    lines.push(`Entry ${index}: type ${entry.typecode} instance ${entry.instance}, length ${entry.length}`);
    lines.push(...entryLines(entry));
  });
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------- the comparison

/**
 * Where the stream and the paused domain differ (oracle README), each with
 * the exact value the stream holds and the value the tool printed:
 * - after `xl save -p`, xl resumes the domain cooperatively, which sets the
 *   suspend hypercall's return value, rax = 1, on the vCPU that suspended
 *   (vCPU 0); the stream holds the value before that (0);
 * - the CPU record's tsc is the guest TSC at save time (hvm_save_cpu_ctxt():
 *   hvm_get_guest_tsc_fixed() at the domain's sync_tsc, the same for both
 *   vCPUs); xen-hvmctx read it later from the paused domain, so it is
 *   larger by the time between the two reads. This guest has no other
 *   timer device (no PIT, HPET, PM timer or RTC entries).
 */
const EXCEPTIONS = [
  { entry: 1, instance: 0, field: "rax", stream: 0n, tool: 1n },
  { entry: 1, instance: 0, field: "tsc", stream: 0x10_8c8a_408cn, tool: 0x11_489d_df72n },
  { entry: 2, instance: 1, field: "tsc", stream: 0x10_8c8a_408cn, tool: 0x11_489d_df72n },
] as const;

describe("PVH oracle: xen-hvmctx output of the same paused domain", () => {
  const blob = hvmContextOf("oracle-pvh/pvh-save.skel.xl");
  const context = decodeHvmContext(blob);
  const toolText = new TextDecoder().decode(load("oracle-pvh/xen-hvmctx.txt"));

  test("every value xen-hvmctx prints equals ours, the listed exceptions apart", () => {
    const patched: HvmContext = structuredClone(context);
    for (const exception of EXCEPTIONS) {
      const entry = patched.entries[exception.entry]!;
      expect([entry.name, entry.instance]).toEqual(["CPU", exception.instance]);
      const cpu = fields(entry, "CPU");
      expect(cpu[exception.field]).toBe(exception.stream);
      cpu[exception.field] = exception.tool;
    }
    const domid = Number(/^HVM save record for domain (\d+)$/m.exec(toolText)![1]);
    const ours = hvmctxText(patched, domid).split("\n");
    const theirs = toolText.split("\n");
    for (let i = 0; i < Math.max(ours.length, theirs.length); i++) expect(`${i + 1}: ${ours[i]}`).toBe(`${i + 1}: ${theirs[i]}`);
  });

  test("the exceptions are real: without them the texts differ exactly there", () => {
    const ours = hvmctxText(context, 2).split("\n");
    const theirs = toolText.split("\n");
    const differing = ours.flatMap((line, i) => (line === theirs[i] ? [] : [i + 1]));
    // Line 8: vCPU 0's rax; lines 36 and 101: each vCPU's tsc.
    expect(differing).toEqual([8, 36, 101]);
    expect(theirs[7]).toMatch(/^ {4}CPU: {4}rax 0x0000000000000001 /);
    expect([theirs[35], theirs[100]]).toEqual(["            tsc 0x00000011489ddf72", "            tsc 0x00000011489ddf72"]);
  });

  test("the entries, their lengths and the 4.17 sizes", () => {
    expect(context.entries.map((e) => `${e.name}/${e.instance}/${e.length}`)).toEqual([
      "HEADER/0/24",
      "CPU/0/1032",
      "CPU/1/1032",
      "LAPIC/0/24",
      "LAPIC/1/24",
      "LAPIC_REGS/0/1024",
      "LAPIC_REGS/1/1024",
      "PCI_IRQ/0/16",
      "ISA_IRQ/0/8",
      "PCI_LINK/0/8",
      "MTRR/0/240",
      "MTRR/1/240",
      "VMCE_VCPU/0/32",
      "VMCE_VCPU/1/32",
      "TSC_ADJUST/0/8",
      "TSC_ADJUST/1/8",
      "END/0/0",
    ]);
    expect(context.entries.some((e) => "tail" in e)).toBe(false);
    expect(context.trailing).toHaveLength(0);
  });

  test("re-encodes byte for byte", () => {
    expect(encodeHvmContext(context)).toEqual(blob);
  });

  test("Xen 4.17 with 2 vCPUs would load it: no findings", () => {
    expect(checkHvmContext(blob, { vcpus: 2, xenRelease: [4, 17], emulation: "pvh" })).toEqual([]);
    // With one vCPU, every vCPU-1 entry is refused.
    const findings = checkHvmContext(blob, { vcpus: 1 });
    expect(findings.map((f) => [f.code, f.entryIndex])).toEqual(
      [2, 4, 6, 11, 13, 15].map((index) => ["BAD_INSTANCE", index]),
    );
  });
});

describe("PVH oracle: xenctx -a -C register lines of the same paused domain", () => {
  const context = decodeHvmContext(hvmContextOf("oracle-pvh/pvh-save.skel.xl"));
  const text = new TextDecoder().decode(load("oracle-pvh/xenctx.txt"));

  /** The register part of each "vcpuN:" block (up to its "Code" line), as name -> printed hex. */
  function registers(vcpu: number): Map<string, string> {
    const block = text.split(/^vcpu\d+:$/m)[vcpu + 1]!.split(/^Code /m)[0]!;
    const out = new Map<string, string>();
    for (const match of block.matchAll(/([a-z0-9]+): ([0-9a-f]+)(?: @ ([0-9a-f]+)(?:\/([0-9a-f]+))?)?/g)) {
      out.set(match[1]!, match[2]!);
      if (match[3] !== undefined) out.set(`${match[1]} base`, match[3]);
      if (match[4] !== undefined) out.set(`${match[1]} shadow`, match[4]);
    }
    return out;
  }

  test("every register xenctx prints equals the CPU record's, vCPU 0's rax apart", () => {
    for (const vcpu of [0, 1]) {
      const cpu = fields(context.entries.find((e) => e.name === "CPU" && e.instance === vcpu)!, "CPU");
      const printed = registers(vcpu);
      const ours = new Map<string, bigint>();
      for (const name of ["rip", "rsp", "rax", "rcx", "rdx", "rbx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "cr0", "cr2", "cr3", "cr4", "dr0", "dr1", "dr2", "dr3", "dr6", "dr7"] as const) {
        ours.set(name, cpu[name]);
      }
      ours.set("flags", cpu.rflags);
      for (const seg of ["cs", "ss", "ds", "es", "fs", "gs"] as const) ours.set(seg, BigInt(cpu[`${seg}Sel`]));
      ours.set("fs base", cpu.fsBase);
      ours.set("gs base", cpu.gsBase);
      ours.set("gs shadow", cpu.shadowGs);
      // The same exception as for xen-hvmctx: the suspend return value set on resume.
      if (vcpu === 0) {
        expect(cpu.rax).toBe(0n);
        ours.set("rax", 1n);
      }
      expect([...printed.keys()].sort()).toEqual([...ours.keys()].sort());
      for (const [name, value] of ours) expect([vcpu, name, BigInt(`0x${printed.get(name)!}`)]).toEqual([vcpu, name, value]);
    }
  });
});

describe("HVM skeleton (qemu-xen HVM guest, every emulated device)", () => {
  const blob = hvmContextOf("xen-4.17-hvm-save.skel.xl");
  const context = decodeHvmContext(blob);

  test("decodes every entry with its struct", () => {
    expect(context.entries.map((e) => `${e.name}/${e.instance}/${e.length}`)).toEqual([
      "HEADER/0/24",
      "CPU/0/1032",
      "CPU/1/1032",
      "PIC/0/8",
      "PIC/1/8",
      "IOAPIC/0/400",
      "LAPIC/0/24",
      "LAPIC/1/24",
      "LAPIC_REGS/0/1024",
      "LAPIC_REGS/1/1024",
      "PCI_IRQ/0/16",
      "ISA_IRQ/0/8",
      "PCI_LINK/0/8",
      "PIT/0/56",
      "RTC/0/24",
      "HPET/0/1048",
      "PMTIMER/0/8",
      "MTRR/0/240",
      "MTRR/1/240",
      "VMCE_VCPU/0/32",
      "VMCE_VCPU/1/32",
      "TSC_ADJUST/0/8",
      "TSC_ADJUST/1/8",
      "END/0/0",
    ]);
    expect(context.entries.some((e) => e.name === "UNKNOWN" || "tail" in e)).toBe(false);
    const pics = context.entries.filter((e) => e.name === "PIC").map((e) => fields(e, "PIC"));
    expect(pics.map((p) => [p.isMaster, p.irqBase])).toEqual([
      [1, 0x30],
      [0, 0x38],
    ]);
    const ioapic = fields(context.entries.find((e) => e.name === "IOAPIC")!, "IOAPIC");
    expect(ioapic.redirtbl).toHaveLength(48);
    for (const pin of ioapic.redirtbl) {
      // bits and fields are two views of one word.
      const f = pin.fields;
      const rebuilt =
        BigInt(f.vector) |
        (BigInt(f.deliveryMode | (f.destMode << 3) | (f.deliveryStatus << 4) | (f.polarity << 5) | (f.remoteIrr << 6) | (f.trigMode << 7)) << 8n) |
        (BigInt(f.mask | (f.reserve << 1)) << 16n) |
        (BigInt(f.reserved[0]! | (f.reserved[1]! << 8) | (f.reserved[2]! << 16)) << 24n) |
        (BigInt(f.reserved[3]!) << 48n) |
        (BigInt(f.destId) << 56n);
      expect(rebuilt).toBe(pin.bits);
    }
  });

  test("re-encodes byte for byte, and Xen 4.17 would load it", () => {
    expect(encodeHvmContext(context)).toEqual(blob);
    expect(checkHvmContext(blob, { vcpus: 2, xenRelease: [4, 17], emulation: "hvm" })).toEqual([]);
  });

  test("as a PVH domain it would not: its device entries need emulated devices", () => {
    const findings = checkHvmContext(blob, { emulation: "pvh" });
    expect(findings.map((f) => [f.code, context.entries[f.entryIndex!]!.name])).toEqual(
      ["PIC", "PIC", "IOAPIC", "PIT", "RTC", "HPET", "PMTIMER"].map((name) => ["NO_DEVICE", name]),
    );
  });

  test("the PVH skeleton of spec-vectors/captured too", () => {
    const pvh = hvmContextOf("xen-4.17-pvh-save.skel.xl");
    expect(encodeHvmContext(decodeHvmContext(pvh))).toEqual(pvh);
    expect(checkHvmContext(pvh, { vcpus: 2, xenRelease: [4, 17] })).toEqual([]);
  });
});
