import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { StreamDumper, dumpTrailerEntry, hexdumpLines, hvmParamName, toDumpJson, type DumpEntry, type DumpOptions } from "../../src/inspect/dump.js";
import { formatDumpEntry } from "../../src/inspect/dump-text.js";
import { ContentsSummarizer, runLengthNames } from "../../src/inspect/dump-summary.js";
import { SaveFileDecoder, decodeSaveFile, encodeSaveFile } from "../../src/savefile.js";
import { libxcStream, xlSaveFile } from "../../src/testing/arbitraries.js";
import { classifyTrailer, MIGRATE_PERMISSION_TO_GO } from "../../src/xl/migration.js";

const captured = (name: string): string => fileURLToPath(new URL(`../../spec-vectors/captured/${name}`, import.meta.url));
const PV = new Uint8Array(readFileSync(captured("xen-4.17-pv-save.skel.xl")));
const PVH = new Uint8Array(readFileSync(captured("xen-4.17-pvh-save.skel.xl")));
const HVM = new Uint8Array(readFileSync(captured("xen-4.17-hvm-save.skel.xl")));
const ORACLE = new Uint8Array(readFileSync(captured("oracle-pvh/pvh-save.skel.xl")));

function dump(bytes: Uint8Array, options: DumpOptions = {}): DumpEntry[] {
  const dumper = new StreamDumper(options);
  const out: DumpEntry[] = [];
  const decoder = new SaveFileDecoder();
  decoder.pushEach(bytes, (event) => {
    const entry = dumper.add(event);
    if (entry !== undefined) out.push(entry);
  });
  decoder.end();
  return out;
}

function one(entries: DumpEntry[], type: string, at = 0): DumpEntry {
  const found = entries.filter((entry) => entry.type === type)[at];
  if (found === undefined) throw new Error(`no ${type} #${at}`);
  return found;
}

type Json = Record<string, unknown>;

function flip(bytes: Uint8Array, at: number): void {
  bytes[at] = (bytes[at] as number) ^ 0xff;
}
const contents = (entry: DumpEntry): Json => entry.contents as Json;

describe("toDumpJson", () => {
  it("bigints as 0x + 16 hex digits, bytes summarised or in full, undefined members dropped", () => {
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => i);
    expect(toDumpJson({ a: 1n, b: 0xffff_ffff_ffff_ffffn, c: undefined, d: [bytes.subarray(0, 2)], e: "x", f: true, g: null })).toEqual({
      a: "0x0000000000000001",
      b: "0xffffffffffffffff",
      d: [{ length: 2, head: "0001" }],
      e: "x",
      f: true,
      g: null,
    });
    expect(toDumpJson(bytes)).toEqual({ length: 20, head: "000102030405060708090a0b0c0d0e0f" });
    expect(toDumpJson(bytes, true)).toEqual({ length: 20, hex: "000102030405060708090a0b0c0d0e0f10111213" });
    expect(toDumpJson(-2n)).toBe("-0x0000000000000002");
  });
});

describe("hexdumpLines", () => {
  it("hexdump -C layout: offset, two groups of eight, ASCII; repeated lines as *; the length last", () => {
    const bytes = new Uint8Array(64);
    bytes.set([0x41, 0x42, 0x00, 0x7f, 0x20], 0);
    bytes[63] = 0x7e;
    expect(hexdumpLines(bytes)).toEqual([
      "00000000  41 42 00 7f 20 00 00 00  00 00 00 00 00 00 00 00  |AB.. ...........|",
      "00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
      "*",
      "00000030  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 7e  |...............~|",
      "00000040",
    ]);
    expect(hexdumpLines(Uint8Array.of(1, 2, 3))).toEqual(["00000000  01 02 03" + " ".repeat(40) + "  |...|", "00000003"]);
    expect(hexdumpLines(new Uint8Array(4096))).toEqual(["00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|", "*", "00001000"]);
  });
});

describe("StreamDumper on the captured PV save file", () => {
  const entries = dump(PV);

  it("one entry per header and record, tiling the file", () => {
    expect(entries.map((entry) => `${entry.layer} ${entry.type}`)).toEqual([
      "xl XL_HEADER",
      "libxl LIBXL_HEADER",
      "libxl LIBXC_CONTEXT",
      "libxc IMAGE_HEADER",
      "libxc DOMAIN_HEADER",
      "libxc X86_PV_INFO",
      "libxc X86_CPUID_POLICY",
      "libxc X86_MSR_POLICY",
      "libxc STATIC_DATA_END",
      "libxc X86_PV_P2M_FRAMES",
      "libxc PAGE_DATA",
      "libxc X86_TSC_INFO",
      "libxc SHARED_INFO",
      "libxc X86_PV_VCPU_BASIC",
      "libxc X86_PV_VCPU_EXTENDED",
      "libxc X86_PV_VCPU_BASIC",
      "libxc X86_PV_VCPU_EXTENDED",
      "libxc END",
      "libxl END",
    ]);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.offset).toBe(entries[i - 1]!.offset + entries[i - 1]!.size);
    const last = entries[entries.length - 1]!;
    expect(last.offset + last.size).toBe(PV.length);
  });

  it("headers and plain records: every field, exactly", () => {
    expect(one(entries, "DOMAIN_HEADER")).toEqual({
      layer: "libxc",
      kind: "header",
      offset: 966,
      type: "DOMAIN_HEADER",
      length: 16,
      size: 16,
      fields: { type: 1, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 },
    });
    expect(one(entries, "X86_PV_INFO")).toEqual({
      layer: "libxc",
      kind: "record",
      offset: 982,
      index: 0,
      type: "X86_PV_INFO",
      typeId: 2,
      length: 8,
      size: 16,
      fields: { guestWidth: 8, ptLevels: 4, reserved: { length: 6, head: "000000000000" } },
    });
    expect(one(entries, "X86_TSC_INFO").fields).toEqual({ mode: 0, khz: 2599998, nsec: "0x00000003d69958a2", incarnation: 1, reserved: 0 });
    const p2m = one(entries, "X86_PV_P2M_FRAMES").fields;
    expect(p2m).toMatchObject({ startPfn: 0, endPfn: 32767 });
    expect((p2m.frames as string[]).slice(0, 2)).toEqual(["0x0000000000007faa", "0x0000000000007fa6"]);
  });

  it("PAGE_DATA summarised: count, page types, pfn runs; with pages, a hexdump of each page", () => {
    expect(one(entries, "PAGE_DATA")).toMatchObject({
      offset: 2806,
      length: 16424,
      fields: { count: 4, reserved: 0, types: { NOTAB: 4 }, pfnRanges: [[0, 3]], pagesWithData: 4 },
    });
    expect(one(entries, "PAGE_DATA").fields.pages).toBeUndefined();
    const withPages = one(dump(PV, { pages: true }), "PAGE_DATA").fields.pages as unknown[];
    const zero = ["00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|", "*", "00001000"];
    expect(withPages).toEqual([0, 1, 2, 3].map((pfn) => ({ pfn, type: "NOTAB", hexdump: zero })));
  });

  it("pageEntries: one page at a time, with its offset in the file", () => {
    const dumper = new StreamDumper();
    const pages: unknown[] = [];
    const decoder = new SaveFileDecoder();
    decoder.pushEach(PV, (event) => {
      dumper.add(event);
      for (const page of dumper.pageEntries(event)) pages.push({ ...page, hexdump: page.hexdump.length });
    });
    expect(pages).toEqual([0, 1, 2, 3].map((pfn) => ({ layer: "libxc", kind: "page", offset: 2854 + pfn * 4096, index: 5, pfn, type: "NOTAB", hexdump: 3 })));
  });

  it("the xl header's insides are its JSON config", () => {
    const xl = one(entries, "XL_HEADER");
    expect(xl.fields).toMatchObject({ byteOrder: "little", mandatoryFlags: 3, optionalFlags: 0, config: { length: 866 } });
    expect((contents(xl).config as { c_info: Json }).c_info).toMatchObject({ type: "pv", name: "labpv", uuid: "54ac959e-e911-11f1-bed0-4dd0251c8837" });
  });

  it("the config as UTF-8; a config that is not JSON is a contentsError at the config's first byte", () => {
    const file = decodeSaveFile(PV);
    const text = '{"c_info":{"name":"d\u00e9j\u00e0-vu \u2713"}}';
    const utf8 = [...Buffer.from(text, "utf8")];
    file.xl = { ...file.xl!, config: Uint8Array.from([...utf8, 0]) };
    expect(contents(one(dump(encodeSaveFile(file)), "XL_HEADER"))).toEqual({ config: { c_info: { name: "d\u00e9j\u00e0-vu \u2713" } } });
    file.xl = { ...file.xl, config: Uint8Array.from([...'{"c_info":'].map((c) => c.charCodeAt(0)).concat(0)) };
    const broken = one(dump(encodeSaveFile(file)), "XL_HEADER");
    expect(broken.contents).toBeUndefined();
    expect(broken.contentsError).toMatchObject({ code: "BAD_FIELD", offset: 52, message: expect.stringMatching(/^xl config is not JSON: /) as string });
    file.xl = { ...file.xl, mandatoryFlags: 2, config: Uint8Array.from([...'name = "a"'].map((c) => c.charCodeAt(0)).concat(0)) };
    expect(one(dump(encodeSaveFile(file)), "XL_HEADER").contents).toEqual({ configText: 'name = "a"' });
  });

  it("PV vCPU insides: the vcpu_guest_context fields, width from X86_PV_INFO", () => {
    const vcpu0 = contents(one(entries, "X86_PV_VCPU_BASIC", 0));
    const vcpu1 = contents(one(entries, "X86_PV_VCPU_BASIC", 1));
    expect(vcpu0).toMatchObject({
      guestWidth: 8,
      flags: "0x000000000000003d",
      kernelSs: "0x000000000000001b",
      kernelSp: "0xffffc90040084000",
      cr3Pfn: "0x00000000000067ee",
      cr1Pfn: "0x0000000000005106",
      fsBase: "0x0000000000000000",
      gsBaseKernel: "0xffff888007a00000",
      flagNames: ["VGCF_i387_valid", "VGCF_in_kernel", "VGCF_failsafe_disables_events", "VGCF_syscall_disables_events", "VGCF_online"],
      fpuCtxt: { length: 512, head: "7f030000000000000000000000000000" },
    });
    expect(vcpu0.userRegs).toMatchObject({ rip: "0xffffffff81a442b5", rsp: "0xffffc90040083e30", cs: 0xe033, ss: 0xe02b, rflags: "0x0000000000001206" });
    expect((vcpu0.ctrlreg as string[])[3]).toBe("0x00000000067ee000");
    expect((vcpu0.trapCtxt as unknown[]).length).toBe(256);
    expect((vcpu0.trapCtxt as unknown[])[3]).toEqual({ vector: 3, flags: 7, cs: 19, pad: 0, address: "0xffffffff81027db0" });
    expect(vcpu1).toMatchObject({ cr3Pfn: "0x0000000000002a10" });
    expect(vcpu1.userRegs).toMatchObject({ rip: "0xffffffff81192872", rsp: "0xffffc900400abe70" });
    expect(contents(one(entries, "X86_PV_VCPU_EXTENDED"))).toMatchObject({
      vcpu: 0,
      size: 64,
      syscall32CallbackEip: "0xffffffff81027f50",
      syscall32DisablesEvents: 1,
      vmce: { caps: "0x0000000000000002" },
    });
  });

  it("SHARED_INFO insides: vcpu_info, event channels, arch fields", () => {
    const info = contents(one(entries, "SHARED_INFO"));
    expect(info).toMatchObject({ guestWidth: 8, evtchnPendingPorts: [], evtchnMaskPorts: [], tail: { length: 960 } });
    expect(info.arch).toMatchObject({ maxPfn: "0x0000000000008000", p2mCr3: "0x000000007b610000", p2mVaddr: "0xffffc90000000000" });
    expect((info.vcpuInfo as Json[])[0]).toMatchObject({ evtchnUpcallMask: 1, time: { version: 124, tscTimestamp: "0x000000038dbebefe", tscShift: -1 } });
  });

  it("--no-contents: no insides", () => {
    expect(dump(PV, { contents: false }).some((entry) => "contents" in entry || "contentsError" in entry)).toBe(false);
  });
});

/** Register values per vCPU from xenctx -a -C output. */
function xenctx(): Array<Record<string, bigint>> {
  const text = readFileSync(captured("oracle-pvh/xenctx.txt"), "latin1");
  return text
    .split(/^vcpu\d+:$/m)
    .slice(1)
    .map((section) => {
      const registers: Record<string, bigint> = {};
      const body = section.split("\nCode")[0] as string;
      for (const [, name, value] of body.matchAll(/\b(r\w+|cr\d|dr\d|flags): ([0-9a-f]{8,16})\b/g)) registers[name as string] = BigInt(`0x${value as string}`);
      for (const [, name, value] of body.matchAll(/\b(cs|ss|ds|es|fs|gs): ([0-9a-f]{4})\b/g)) registers[`${name as string}Sel`] = BigInt(`0x${value as string}`);
      return registers;
    });
}

describe("HVM_PARAMS insides", () => {
  it("each parameter named as in Xen's hvm/params.h", () => {
    const params = contents(one(dump(HVM), "HVM_PARAMS")).params as Json[];
    expect(params.map((param) => [Number(param.index), param.name])).toEqual([
      [1, "HVM_PARAM_STORE_PFN"],
      [5, "HVM_PARAM_IOREQ_PFN"],
      [6, "HVM_PARAM_BUFIOREQ_PFN"],
      [27, "HVM_PARAM_PAGING_RING_PFN"],
      [28, "HVM_PARAM_MONITOR_RING_PFN"],
      [29, "HVM_PARAM_SHARING_RING_PFN"],
      [37, "HVM_PARAM_VM86_TSS_SIZED"],
      [17, "HVM_PARAM_CONSOLE_PFN"],
      [19, "HVM_PARAM_ACPI_IOPORTS_LOCATION"],
      [12, "HVM_PARAM_IDENT_PT"],
      [32, "HVM_PARAM_IOREQ_SERVER_PFN"],
      [33, "HVM_PARAM_NR_IOREQ_SERVER_PAGES"],
    ]);
    expect(params[0]).toEqual({ index: "0x0000000000000001", name: "HVM_PARAM_STORE_PFN", value: "0x00000000000feffc" });
    expect([hvmParamName(0n), hvmParamName(3n), hvmParamName(38n), hvmParamName(39n), hvmParamName(2n ** 64n - 1n)]).toEqual([
      "HVM_PARAM_CALLBACK_IRQ",
      undefined,
      "HVM_PARAM_MCA_CAP",
      undefined,
      undefined,
    ]);
  });
});

describe("StreamDumper on the oracle PVH save file", () => {
  const entries = dump(ORACLE);
  const hvm = one(entries, "HVM_CONTEXT");
  const saveRecords = contents(hvm).entries as Array<Json & { fields: Json }>;

  it("HVM context: one object per save record with typecode, name, instance, length and fields", () => {
    expect(saveRecords.map((entry) => entry.name)).toEqual([
      "HEADER", "CPU", "CPU", "LAPIC", "LAPIC", "LAPIC_REGS", "LAPIC_REGS", "PCI_IRQ", "ISA_IRQ", "PCI_LINK",
      "MTRR", "MTRR", "VMCE_VCPU", "VMCE_VCPU", "TSC_ADJUST", "TSC_ADJUST", "END",
    ]);
    // xen-hvmctx prints one "Entry N: type T instance I, length L" line per save record.
    const printed = readFileSync(captured("oracle-pvh/xen-hvmctx.txt"), "latin1");
    const descriptors = [...printed.matchAll(/^Entry (\d+): type (\d+) instance (\d+), length (\d+)$/gm)].map((m) => ({ typecode: Number(m[2]), instance: Number(m[3]), length: Number(m[4]) }));
    expect(descriptors).toHaveLength(17);
    expect(saveRecords.map(({ typecode, instance, length }) => ({ typecode, instance, length }))).toEqual(descriptors);
    // xen-hvmctx: "magic 0x54381286, version 1, Xen changeset ffffffffffffffff, CPUID[0][%eax] 0x00060fb1, gtsc_khz 2596134"
    expect(saveRecords[0]!.fields).toEqual({ magic: 0x5438_1286, version: 1, changeset: "0xffffffffffffffff", cpuid: 0x0006_0fb1, gtscKhz: 2596134 });
  });

  it("every register xenctx -a -C printed equals the CPU record's (rax of vCPU 0 aside: the README's known difference)", () => {
    const oracle = xenctx();
    expect(oracle).toHaveLength(2);
    const cpus = saveRecords.filter((entry) => entry.name === "CPU");
    oracle.forEach((registers, vcpu) => {
      const fields = cpus[vcpu]!.fields;
      const names = Object.keys(registers).filter((name) => !(vcpu === 0 && name === "rax"));
      expect(names.length).toBeGreaterThan(25);
      for (const name of names) {
        const ours = name === "flags" ? fields.rflags : fields[name];
        const value = typeof ours === "number" ? BigInt(ours) : BigInt(ours as string);
        expect([name, value]).toEqual([name, registers[name]]);
      }
    });
    expect(cpus[0]!.fields.rip).toBe("0xffffffff81a43c83");
  });

  it("CPU policy: the leaves xen-cpuid -p printed, named, with feature lists; MSRs named", () => {
    const text = readFileSync(captured("oracle-pvh/xen-cpuid.txt"), "latin1");
    const printed = [...text.matchAll(/^ {2}([0-9a-f]{8}):([0-9a-f]{8}) -> ([0-9a-f]{8}):([0-9a-f]{8}):([0-9a-f]{8}):([0-9a-f]{8})$/gm)].map((m) => m.slice(1).map((h) => Number.parseInt(h, 16)));
    const policy = contents(one(entries, "X86_CPUID_POLICY"));
    const leaves = (policy.leaves as Json[]).filter((leaf) => leaf.a !== 0 || leaf.b !== 0 || leaf.c !== 0 || leaf.d !== 0);
    expect(printed.length).toBeGreaterThan(8);
    expect(leaves.map((leaf) => [leaf.leaf, leaf.subleaf, leaf.a, leaf.b, leaf.c, leaf.d])).toEqual(printed);
    expect(policy).toMatchObject({ vendor: { name: "AMD" }, family: 0xf, model: 0x6b, stepping: 1 });
    expect(policy.features).toContain("hypervisor");
    const leaf1 = (policy.leaves as Json[]).find((leaf) => leaf.leaf === 1)!;
    expect(leaf1).toMatchObject({ title: "Family/model/stepping and features" });
    expect((leaf1.featureWords as Json[]).map((word) => word.register)).toEqual(["edx", "ecx"]);
    const msrLines = [...text.matchAll(/^ {2}([0-9a-f]{8}) -> ([0-9a-f]{16})$/gm)].map((m) => [Number.parseInt(m[1] as string, 16), `0x${m[2] as string}`]);
    const msrs = contents(one(entries, "X86_MSR_POLICY")).msrs as Json[];
    expect(msrs.map((msr) => [msr.index, msr.value])).toEqual(msrLines);
    expect(msrs.map((msr) => msr.name)).toEqual(["MSR_INTEL_PLATFORM_INFO", "MSR_ARCH_CAPABILITIES"]);
  });
});

describe("a failure inside a record does not stop the dump", () => {
  it("HVM_CONTEXT with a bad HEADER magic: contentsError with the absolute offset; the other records are dumped", () => {
    const bytes = PVH.slice();
    const record = one(dump(PVH), "HVM_CONTEXT").offset; // 18729
    flip(bytes, record + 8 + 8); // record header, descriptor, then the magic
    const entries = dump(bytes);
    const hvm = one(entries, "HVM_CONTEXT");
    expect(hvm.contents).toBeUndefined();
    expect(hvm.contentsError).toEqual({
      code: "BAD_MAGIC",
      offset: record + 16,
      message: "HVM context: HEADER magic must be 0x54381286, got 0x54381279",
    });
    expect(entries.map((entry) => entry.type)).toEqual(dump(PVH).map((entry) => entry.type));
    expect(contents(one(entries, "X86_CPUID_POLICY"))).toMatchObject({ vendor: { name: "AMD" } });
  });

  it("a guest width of 4 in X86_PV_INFO makes the 64-bit BASIC contexts a BAD_LENGTH, not a crash", () => {
    const bytes = PV.slice();
    bytes[982 + 8] = 4; // X86_PV_INFO guest_width
    const entries = dump(bytes);
    for (const at of [0, 1]) {
      const basic = one(entries, "X86_PV_VCPU_BASIC", at);
      expect(basic.contents).toBeUndefined();
      expect(basic.contentsError).toMatchObject({ code: "BAD_LENGTH", offset: basic.offset + 16 });
    }
    // SHARED_INFO is one page at either width: decoded as 32-bit.
    expect(contents(one(entries, "SHARED_INFO")).guestWidth).toBe(4);
  });
});

describe("filters", () => {
  it("types, layer and range select headers and records; the fold still sees every event", () => {
    const offsets = (entries: DumpEntry[]): string[] => entries.map((entry) => `${entry.type}@${entry.offset}`);
    expect(offsets(dump(PV, { types: ["X86_PV_VCPU_BASIC", "END"] }))).toEqual(["X86_PV_VCPU_BASIC@23374", "X86_PV_VCPU_BASIC@28638", "END@33902", "END@33910"]);
    expect(offsets(dump(PV, { types: ["END"], layer: "libxl" }))).toEqual(["END@33910"]);
    expect(offsets(dump(PV, { layer: "libxl" }))).toEqual(["LIBXL_HEADER@918", "LIBXC_CONTEXT@934", "END@33910"]);
    expect(offsets(dump(PV, { layer: "xl" }))).toEqual(["XL_HEADER@0"]);
    // Anything overlapping [982, 999): X86_PV_INFO (982..997) and the CPUID record's first byte.
    expect(offsets(dump(PV, { range: { start: 982, length: 17 } }))).toEqual(["X86_PV_INFO@982", "X86_CPUID_POLICY@998"]);
    expect(offsets(dump(PV, { range: { start: 997, length: 1 } }))).toEqual(["X86_PV_INFO@982"]);
    expect(offsets(dump(PV, { range: { start: 33905, length: 100 } }))).toEqual(["END@33902", "END@33910"]);
    // The width from X86_PV_INFO reaches the filtered BASIC record.
    expect(contents(dump(PV, { types: ["X86_PV_VCPU_BASIC"] })[0]!).guestWidth).toBe(8);
  });

  it("pastRange turns true at the first event after the range", () => {
    const dumper = new StreamDumper({ range: { start: 0, length: 950 } });
    const seen: string[] = [];
    const decoder = new SaveFileDecoder();
    decoder.pushEach(PV, (event) => {
      if (dumper.pastRange) return;
      const entry = dumper.add(event);
      seen.push(entry === undefined ? `- ${event.offset}` : entry.type);
    });
    expect(seen).toEqual(["XL_HEADER", "LIBXL_HEADER", "LIBXC_CONTEXT", "IMAGE_HEADER", "- 966"]);
    expect(dumper.pastRange).toBe(true);
  });
});

describe("text form", () => {
  it("a headline and the fields indented", () => {
    expect(formatDumpEntry(one(dump(PV), "X86_PV_INFO"))).toBe(
      "libxc record 0 X86_PV_INFO (0x00000002) at offset 982, length 8\n  guestWidth: 8\n  ptLevels: 4\n  reserved: {length: 6, head: 000000000000}\n",
    );
    expect(formatDumpEntry(one(dump(PV), "PAGE_DATA"))).toBe(
      "libxc record 5 PAGE_DATA (0x00000001) at offset 2806, length 16424\n  count: 4\n  reserved: 0\n  types: {NOTAB: 4}\n  pfnRanges: 0x0-0x3\n  pagesWithData: 4\n",
    );
    expect(formatDumpEntry(one(dump(PV), "DOMAIN_HEADER"))).toBe("libxc DOMAIN_HEADER at offset 966, 16 bytes\n  type: 1\n  pageShift: 12\n  reserved: 0\n  xenMajor: 4\n  xenMinor: 17\n");
    const text = formatDumpEntry(one(dump(ORACLE), "HVM_CONTEXT"));
    expect(text).toContain("\n  contents:\n    entries:\n      [0]:\n        name: HEADER\n        typecode: 1\n        instance: 0\n        length: 24\n        fields: {magic: 0x54381286, version: 1, changeset: 0xffffffffffffffff, cpuid: 0x60fb1, gtscKhz: 2596134}\n");
    expect(text).toContain("        rip: 0xffffffff81a43c83\n");
  });

  it("a contents error in one line; the trailer named", () => {
    const bytes = PVH.slice();
    flip(bytes, 18729 + 16);
    expect(formatDumpEntry(one(dump(bytes), "HVM_CONTEXT"))).toBe(
      "libxc record 5 HVM_CONTEXT (0x00000009) at offset 18729, length 4912\n  data: {length: 4912, head: 01000000180000007912385401000000}\n" +
        "  contents: cannot decode: BAD_MAGIC at offset 18745: HVM context: HEADER magic must be 0x54381286, got 0x54381279\n",
    );
    const trailer = dumpTrailerEntry(23809, classifyTrailer(MIGRATE_PERMISSION_TO_GO, 44));
    expect(trailer).toEqual({
      layer: "xl",
      kind: "trailer",
      offset: 23809,
      type: "MIGRATION_MESSAGE",
      length: 44,
      description: 'xl migration message after the stream: "domain is yours, you are cleared to unpause" (44 bytes)',
    });
    expect(formatDumpEntry(trailer)).toBe('after the stream, at offset 23809: xl migration message after the stream: "domain is yours, you are cleared to unpause" (44 bytes)\n');
    expect(dumpTrailerEntry(10, classifyTrailer(Uint8Array.of(1), 1))).toMatchObject({ type: "TRAILING_DATA", length: 1, description: "1 byte after the end of the stream" });
  });
});

describe("ContentsSummarizer (verify --verbose)", () => {
  function lines(bytes: Uint8Array): string[] {
    const summarizer = new ContentsSummarizer();
    const out: string[] = [];
    const decoder = new SaveFileDecoder();
    decoder.pushEach(bytes, (event) => {
      const line = summarizer.add(event);
      if (line !== undefined) out.push(line);
    });
    return out;
  }

  it("one line per record with insides", () => {
    expect(lines(PV)).toEqual([
      "  CPU: AMD (AuthenticAMD) family 0xf model 0x6b stepping 1, 51 leaves, 26 features",
      "  MSRs: MSR_INTEL_PLATFORM_INFO=0x0000000000000000, MSR_ARCH_CAPABILITIES=0x0000000000000000",
      "  shared info: max_pfn 0x8000, 0 event channels pending, 0 masked",
      "  vcpu0: 64-bit, rip 0xffffffff81a442b5, rsp 0xffffc90040083e30, cr3 pfn 0x67ee",
      "  vcpu1: 64-bit, rip 0xffffffff81192872, rsp 0xffffc900400abe70, cr3 pfn 0x2a10",
    ]);
    expect(lines(HVM)[2]).toBe(
      "  HVM context: 24 entries: HEADER, CPU x2, PIC x2, IOAPIC, LAPIC x2, LAPIC_REGS x2, PCI_IRQ, ISA_IRQ, PCI_LINK, PIT, RTC, HPET, PMTIMER, MTRR x2, VMCE_VCPU x2, TSC_ADJUST x2, END",
    );
    const bad = PVH.slice();
    flip(bad, 18729 + 16);
    expect(lines(bad)[2]).toBe("  contents: cannot decode: BAD_MAGIC at offset 18745: HVM context: HEADER magic must be 0x54381286, got 0x54381279");
  });

  it("runLengthNames counts runs", () => {
    expect(runLengthNames(["A", "B", "B", "A", "C", "C", "C"])).toBe("A, B x2, A, C x3");
    expect(runLengthNames([])).toBe("");
  });
});

describe("properties", () => {
  const check = (bytes: Uint8Array, options: DumpOptions): void => {
    const entries = dump(bytes, options);
    for (let i = 1; i < entries.length; i++) expect(entries[i]!.offset).toBe(entries[i - 1]!.offset + entries[i - 1]!.size);
    const last = entries[entries.length - 1]!;
    expect(last.offset + last.size).toBe(bytes.length);
    for (const entry of entries) {
      // JSON-ready: nothing JSON.stringify would drop or refuse.
      expect(JSON.parse(JSON.stringify(entry))).toStrictEqual(entry);
      expect("contents" in entry && "contentsError" in entry).toBe(false);
      expect(typeof formatDumpEntry(entry)).toBe("string");
    }
  };

  it("any valid libxc stream: entries tile the stream, are JSON data, insides decoded or their error named", () => {
    fc.assert(
      fc.property(libxcStream(), fc.boolean(), fc.boolean(), ({ bytes }, pages, rawBytes) => check(bytes, { pages, rawBytes })),
      { numRuns: 60 },
    );
  });

  it("any valid xl save file, likewise", () => {
    fc.assert(fc.property(xlSaveFile(), ({ bytes }) => check(bytes, {})), { numRuns: 40 });
  });

  it("any bytes inside the records with insides: contents or a XenStreamError's contentsError, never an internal error", () => {
    const INSIDES = new Set(["HVM_CONTEXT", "X86_PV_VCPU_BASIC", "X86_PV_VCPU_EXTENDED", "SHARED_INFO", "X86_CPUID_POLICY", "X86_MSR_POLICY", "HVM_PARAMS"]);
    for (const original of [PV, ORACLE]) {
      const bodies = dump(original)
        .filter((entry) => INSIDES.has(entry.type) && entry.length > 0)
        .map((entry) => ({ start: entry.offset + 8, length: entry.length }));
      const total = bodies.reduce((sum, body) => sum + body.length, 0);
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.nat(total - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 40 }), (writes) => {
          const bytes = original.slice();
          for (const [at, value] of writes) {
            let rest = at;
            const body = bodies.find((one) => (rest < one.length ? true : ((rest -= one.length), false)))!;
            bytes[body.start + rest] = value;
          }
          let entries: DumpEntry[];
          try {
            entries = dump(bytes);
          } catch (error) {
            // The stream decoder may refuse a changed count or length field (CPUID, HVM_PARAMS): only as a XenStreamError.
            expect((error as { name?: string }).name).toBe("XenStreamError");
            return;
          }
          for (const entry of entries) {
            expect(entry.contentsError?.code).not.toBe("INTERNAL");
            expect(JSON.parse(JSON.stringify(entry))).toStrictEqual(entry);
          }
        }),
        { numRuns: 150 },
      );
    }
  });
});
