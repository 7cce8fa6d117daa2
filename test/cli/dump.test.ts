import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { sharedDir } from "../helpers/shared.js";

const captured = (name: string): string => fileURLToPath(new URL(`../../spec-vectors/captured/${name}`, import.meta.url));
const PV = captured("xen-4.17-pv-save.skel.xl");
const PVH = captured("xen-4.17-pvh-save.skel.xl");
const HVM = captured("xen-4.17-hvm-save.skel.xl");
const ORACLE = captured("oracle-pvh/pvh-save.skel.xl");

const dir = mkdtempSync(join(tmpdir(), "dump-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(args: string[], input?: Uint8Array): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.setEncoding("utf8").on("data", (text: string) => (out += text));
  stderr.setEncoding("utf8").on("data", (text: string) => (err += text));
  const stdin = new PassThrough();
  stdin.end(input);
  const code = await main(args, { stdin, stdout, stderr });
  return { code, stdout: out, stderr: err };
}

type Json = Record<string, unknown>;

async function jsonLines(args: string[], input?: Uint8Array): Promise<{ code: number; rows: Json[]; stderr: string }> {
  const { code, stdout, stderr } = await cli(["dump", "--json", ...args], input);
  expect(stdout.endsWith("\n")).toBe(true);
  return { code, rows: stdout.slice(0, -1).split("\n").map((line) => JSON.parse(line) as Json), stderr };
}

const typesOf = (rows: Json[]): string[] => rows.map((row) => `${row.layer as string} ${row.type as string}`);

describe("xen-stream dump --json on the captured vectors", () => {
  it("PV: one JSON object per header and record, with insides", async () => {
    const { code, rows, stderr } = await jsonLines([PV]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(rows).toHaveLength(19);
    expect(rows[5]).toEqual({
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
    const basic = rows.filter((row) => row.type === "X86_PV_VCPU_BASIC");
    expect(basic.map((row) => [row.offset, (row.fields as Json).vcpuId, ((row.contents as Json).userRegs as Json).rip, (row.contents as Json).cr3Pfn])).toEqual([
      [23374, 0, "0xffffffff81a442b5", "0x00000000000067ee"],
      [28638, 1, "0xffffffff81192872", "0x0000000000002a10"],
    ]);
    const last = rows[rows.length - 1] as Json;
    expect(last.offset as number).toBe(statSync(PV).size - 8);
  });

  it("PVH: HVM_CONTEXT save records; the CPU record's rip is what xenctx printed for vCPU 0", async () => {
    const { code, rows } = await jsonLines([PVH]);
    expect(code).toBe(0);
    expect(typesOf(rows)).toEqual([
      "xl XL_HEADER",
      "libxl LIBXL_HEADER",
      "libxl LIBXC_CONTEXT",
      "libxc IMAGE_HEADER",
      "libxc DOMAIN_HEADER",
      "libxc X86_CPUID_POLICY",
      "libxc X86_MSR_POLICY",
      "libxc STATIC_DATA_END",
      "libxc PAGE_DATA",
      "libxc X86_TSC_INFO",
      "libxc HVM_CONTEXT",
      "libxc HVM_PARAMS",
      "libxc END",
      "libxl END",
    ]);
    const xenctx = readFileSync(captured("oracle-pvh/xenctx.txt"), "latin1");
    const rip = /^vcpu0:\nrip: ([0-9a-f]{16})$/m.exec(xenctx)?.[1];
    expect(rip).toBe("ffffffff81a43c83");
    const hvm = rows.find((row) => row.type === "HVM_CONTEXT") as Json;
    const entries = (hvm.contents as Json).entries as Json[];
    const cpu0 = entries.find((entry) => entry.name === "CPU" && entry.instance === 0) as Json;
    expect(cpu0).toMatchObject({ typecode: 2, instance: 0, length: 1032, fields: { rip: `0x${rip as string}`, cr0: "0x0000000080050033", cr4: "0x00000000000006f0" } });
    const params = rows.find((row) => row.type === "HVM_PARAMS") as Json;
    expect(((params.fields as Json).params as Json[])[0]).toMatchObject({ index: expect.stringMatching(/^0x[0-9a-f]{16}$/) as string, value: expect.stringMatching(/^0x[0-9a-f]{16}$/) as string });
  });

  it("oracle PVH skeleton: vCPU 1's registers are xenctx's", async () => {
    const { rows } = await jsonLines([ORACLE, "--type", "HVM_CONTEXT"]);
    expect(rows).toHaveLength(1);
    const cpu1 = (((rows[0] as Json).contents as Json).entries as Json[]).find((entry) => entry.name === "CPU" && entry.instance === 1) as Json;
    expect(cpu1.fields).toMatchObject({ rip: "0xffffffff81192872", rsp: "0xffffc900000bbe70", rbx: "0xffffc9000040bde8", r15: "0xffffffff81192800", csSel: 0x10, ssSel: 0x18 });
  });

  it("HVM: the emulator record, CPU policy leaves named with feature lists", async () => {
    const { code, rows } = await jsonLines([HVM]);
    expect(code).toBe(0);
    expect(rows.map((row) => row.type)).toContain("EMULATOR_CONTEXT");
    const emulator = rows.find((row) => row.type === "EMULATOR_CONTEXT") as Json;
    expect(emulator).toMatchObject({ layer: "libxl", index: 1, typeId: 3, length: 7785, fields: { emulatorId: 2, index: 0, data: { length: 7777, head: "5145564d000000030400000000057469" } } });
    const cpuid = rows.find((row) => row.type === "X86_CPUID_POLICY") as Json;
    const leaves = (cpuid.contents as Json).leaves as Json[];
    const leaf7 = leaves.find((leaf) => leaf.leaf === 7 && leaf.subleaf === 0) as Json;
    expect(leaf7).toMatchObject({ group: "feat", inPolicy: true });
    expect((leaf7.featureWords as Json[]).length).toBeGreaterThan(0);
    expect((cpuid.contents as Json).vendor).toMatchObject({ name: "AMD", string: "AuthenticAMD" });
  });
});

describe("filters and modes", () => {
  it("--type (comma list, repeatable, any case) and --layer", async () => {
    expect(typesOf((await jsonLines([PV, "--type", "x86_pv_vcpu_basic,END"])).rows)).toEqual(["libxc X86_PV_VCPU_BASIC", "libxc X86_PV_VCPU_BASIC", "libxc END", "libxl END"]);
    expect(typesOf((await jsonLines([PV, "-t", "END", "-t", "XL_HEADER", "--layer", "libxl"])).rows)).toEqual(["libxl END"]);
    expect(typesOf((await jsonLines([HVM, "--layer", "libxl"])).rows)).toEqual(["libxl LIBXL_HEADER", "libxl LIBXC_CONTEXT", "libxl EMULATOR_CONTEXT", "libxl END"]);
  });

  it("--range OFF:LEN (decimal or hex) and OFF: to the end", async () => {
    expect((await jsonLines([PV, "--range", "982:17"])).rows.map((row) => row.offset)).toEqual([982, 998]);
    expect((await jsonLines([PV, "--range", "0x3d6:0x1"])).rows.map((row) => row.type)).toEqual(["X86_PV_INFO"]);
    expect((await jsonLines([PV, "--range", "33900:"])).rows.map((row) => row.type)).toEqual(["X86_PV_VCPU_EXTENDED", "END", "END"]);
  });

  it("--pages: a hexdump of every page; --raw-bytes: byte fields in full", async () => {
    const zero = ["00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|", "*", "00001000"];
    const { rows } = await jsonLines([PV, "--type", "PAGE_DATA", "--pages"]);
    // The record's summary, then each page its own object: the page's offset is after the 8-byte header, count, reserved and 4 pfns.
    expect(rows[0]).toMatchObject({ type: "PAGE_DATA", offset: 2806, fields: { count: 4, pfnRanges: [[0, 3]] } });
    expect((rows[0]!.fields as Json).pages).toBeUndefined();
    expect(rows.slice(1)).toEqual([0, 1, 2, 3].map((pfn) => ({ layer: "libxc", kind: "page", offset: 2806 + 8 + 8 + 32 + pfn * 4096, index: 5, pfn, type: "NOTAB", hexdump: zero })));
    // A page with bytes: the first page of the PV vector, changed in place.
    const bytes = new Uint8Array(readFileSync(PV));
    bytes.set([0x48, 0x69, 0x00, 0xff], 2854);
    bytes[2854 + 4095] = 0x7e;
    const changed = (await jsonLines(["--type", "PAGE_DATA", "--pages"], bytes)).rows[1] as Json;
    expect(changed.hexdump).toEqual([
      "00000000  48 69 00 ff 00 00 00 00  00 00 00 00 00 00 00 00  |Hi..............|",
      "00000010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
      "*",
      "00000ff0  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 7e  |...............~|",
      "00001000",
    ]);
    const raw = (await jsonLines([PV, "--type", "X86_PV_VCPU_EXTENDED", "--raw-bytes"])).rows[0] as Json;
    const context = readFileSync(PV).subarray(28558 + 16, 28558 + 16 + 64).toString("hex");
    expect((raw.fields as Json).context).toEqual({ length: 64, hex: context });
    expect(context.startsWith("0000000040000000507f0281ffffffff")).toBe(true);
    const text = (await cli(["dump", PV, "--type", "PAGE_DATA", "--pages"])).stdout;
    expect(text.split("\n").slice(0, 10)).toEqual([
      "libxc record 5 PAGE_DATA (0x00000001) at offset 2806, length 16424",
      "  count: 4",
      "  reserved: 0",
      "  types: {NOTAB: 4}",
      "  pfnRanges: 0x0-0x3",
      "  pagesWithData: 4",
      "  page pfn 0x0 NOTAB at offset 2854",
      "    00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|",
      "    *",
      "    00001000",
    ]);
    expect(text.split("\n").filter((line) => line.startsWith("  page "))).toEqual([0, 1, 2, 3].map((pfn) => `  page pfn 0x${pfn} NOTAB at offset ${2854 + pfn * 4096}`));
  });

  it("text: one block per header and record, a headline each", async () => {
    const { code, stdout } = await cli(["dump", PV]);
    expect(code).toBe(0);
    expect(stdout.split("\n").filter((line) => line !== "" && !line.startsWith(" "))).toEqual([
      "xl XL_HEADER at offset 0, 918 bytes",
      "libxl LIBXL_HEADER at offset 918, 16 bytes",
      "libxl record 0 LIBXC_CONTEXT (0x00000001) at offset 934, length 0",
      "libxc IMAGE_HEADER at offset 942, 24 bytes",
      "libxc DOMAIN_HEADER at offset 966, 16 bytes",
      "libxc record 0 X86_PV_INFO (0x00000002) at offset 982, length 8",
      "libxc record 1 X86_CPUID_POLICY (0x00000011) at offset 998, length 1224",
      "libxc record 2 X86_MSR_POLICY (0x00000012) at offset 2230, length 32",
      "libxc record 3 STATIC_DATA_END (0x00000010) at offset 2270, length 0",
      "libxc record 4 X86_PV_P2M_FRAMES (0x00000003) at offset 2278, length 520",
      "libxc record 5 PAGE_DATA (0x00000001) at offset 2806, length 16424",
      "libxc record 6 X86_TSC_INFO (0x00000008) at offset 19238, length 24",
      "libxc record 7 SHARED_INFO (0x00000007) at offset 19270, length 4096",
      "libxc record 8 X86_PV_VCPU_BASIC (0x00000004) at offset 23374, length 5176",
      "libxc record 9 X86_PV_VCPU_EXTENDED (0x00000005) at offset 28558, length 72",
      "libxc record 10 X86_PV_VCPU_BASIC (0x00000004) at offset 28638, length 5176",
      "libxc record 11 X86_PV_VCPU_EXTENDED (0x00000005) at offset 33822, length 72",
      "libxc record 12 END (0x00000000) at offset 33902, length 0",
      "libxl record 1 END (0x00000000) at offset 33910, length 0",
    ]);
    expect(stdout).toContain("\n      rip: 0xffffffff81a442b5\n");
    expect(stdout).toContain("\n      cs: 0xe033\n");
  });

  it("standard input, from - or no FILE", async () => {
    const bytes = new Uint8Array(readFileSync(PV));
    const fromFile = (await cli(["dump", "--json", PV])).stdout;
    expect((await cli(["dump", "--json", "-"], bytes)).stdout).toBe(fromFile);
    expect((await cli(["dump", "--json"], bytes)).stdout).toBe(fromFile);
  });

  it("usage errors exit 2", async () => {
    for (const args of [["--type", "NOPE", PV], ["--layer", "x", PV], ["--range", "5", PV], ["--range", "a:1", PV], [PV, PV], ["--bogus", PV]]) {
      const { code, stdout, stderr } = await cli(["dump", ...args]);
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(stderr).toMatch(/^xen-stream dump: .+\nusage: xen-stream dump/);
    }
    expect((await cli(["dump", "--type", "NOPE", PV])).stderr).toMatch(/^xen-stream dump: unknown --type NOPE; known: XL_HEADER, LIBXL_HEADER, IMAGE_HEADER, DOMAIN_HEADER, END, PAGE_DATA,/);
    expect((await cli(["dump", "--help"])).code).toBe(0);
    expect((await cli(["dump", join(dir, "missing.xl")])).code).toBe(2);
  });
});

describe("faults", () => {
  it("a bad record inside: contentsError on that record, the dump goes on, exit 0", async () => {
    const bytes = new Uint8Array(readFileSync(PVH));
    bytes[18729 + 16] = (bytes[18729 + 16] as number) ^ 0xff;
    const file = join(dir, "bad-magic.xl");
    writeFileSync(file, bytes);
    const { code, rows } = await jsonLines([file]);
    expect(code).toBe(0);
    expect(rows).toHaveLength(14);
    const hvm = rows.find((row) => row.type === "HVM_CONTEXT") as Json;
    expect(hvm.contents).toBeUndefined();
    expect(hvm.contentsError).toEqual({ code: "BAD_MAGIC", offset: 18745, message: "HVM context: HEADER magic must be 0x54381286, got 0x54381279" });
  });

  it("a truncated stream: dumped up to the fault, which the last line names; exit 1", async () => {
    const bytes = new Uint8Array(readFileSync(PV)).subarray(0, 20000);
    const { code, rows, stderr } = await jsonLines(["-"], bytes);
    expect(code).toBe(1);
    expect(typesOf(rows.slice(-2))).toEqual(["libxc X86_TSC_INFO", "libxc undefined"]);
    expect(rows[rows.length - 1]).toEqual({
      layer: "libxc",
      kind: "error",
      offset: 20000,
      code: "TRUNCATED",
      message: "libxl stream truncated inside its libxc stream, before END (in or before record 7)",
    });
    expect(stderr).toBe("xen-stream dump: <stdin>: TRUNCATED at offset 20000: libxl stream truncated inside its libxc stream, before END (in or before record 7)\n");
    const text = await cli(["dump", "-"], bytes);
    expect(text.stdout.endsWith("error TRUNCATED at offset 20000: libxl stream truncated inside its libxc stream, before END (in or before record 7)\n")).toBe(true);
  });

  it("data after the stream is named in a last line; exit 1 unless it is xl's migration message", async () => {
    const bytes = new Uint8Array(readFileSync(PV));
    const withGarbage = new Uint8Array(bytes.length + 3);
    withGarbage.set(bytes);
    const { code, rows } = await jsonLines(["--type", "END"], withGarbage);
    expect(code).toBe(1);
    expect(rows[rows.length - 1]).toEqual({ layer: "xl", kind: "trailer", offset: bytes.length, type: "TRAILING_DATA", length: 3, description: "3 bytes after the end of the stream" });
  });

  const shared = sharedDir();
  it.skipIf(shared === undefined)(
    "a live capture: xl's 44-byte migration message after the libxl END is named, exit 0",
    async () => {
      const file = join(dir, "pvh.capture");
      execFileSync("sh", ["-c", `xz -dc "${shared as string}/real-xen/live/xen-4.17-pvh-migrate.zeroed.capture.xz" > "${file}"`]);
      const size = statSync(file).size;
      const { code, rows } = await jsonLines([file, "--type", "END,HVM_CONTEXT"]);
      expect(code).toBe(0);
      expect(typesOf(rows)).toEqual(["libxc HVM_CONTEXT", "libxc END", "libxl END", "xl MIGRATION_MESSAGE"]);
      expect(rows[3]).toEqual({
        layer: "xl",
        kind: "trailer",
        offset: size - 44,
        type: "MIGRATION_MESSAGE",
        length: 44,
        description: 'xl migration message after the stream: "domain is yours, you are cleared to unpause" (44 bytes)',
      });
      expect((rows[2] as Json).offset).toBe(size - 44 - 8);
      const names = (((rows[0] as Json).contents as Json).entries as Json[]).map((entry) => entry.name);
      expect(names[0]).toBe("HEADER");
      expect(names[names.length - 1]).toBe("END");
      const text = await cli(["dump", file, "--type", "END"]);
      expect(text.stdout.endsWith(`after the stream, at offset ${size - 44}: xl migration message after the stream: "domain is yours, you are cleared to unpause" (44 bytes)\n`)).toBe(true);
    },
    120_000,
  );
});

describe("verify --verbose shows the insides briefly", () => {
  it("a line after the listing lines of each record with insides", async () => {
    const pv = (await cli(["verify", "--verbose", PV])).stdout.split("\n");
    const after = (line: string): string | undefined => pv[pv.indexOf(line) + 1];
    expect(after("Libxc Record: x86 CPUID policy, length 1224")).toBe("  CPU: AMD (AuthenticAMD) family 0xf model 0x6b stepping 1, 51 leaves, 26 features");
    expect(after("  vcpu0 basic context, 5168 bytes")).toBe("  vcpu0: 64-bit, rip 0xffffffff81a442b5, rsp 0xffffc90040083e30, cr3 pfn 0x67ee");
    expect(after("  vcpu1 basic context, 5168 bytes")).toBe("  vcpu1: 64-bit, rip 0xffffffff81192872, rsp 0xffffc900400abe70, cr3 pfn 0x2a10");
    expect(after("Libxc Record: Shared info, length 4096")).toBe("  shared info: max_pfn 0x8000, 0 event channels pending, 0 masked");
    const pvh = (await cli(["verify", "-v", PVH])).stdout.split("\n");
    expect(pvh[pvh.indexOf("Libxc Record: HVM context, length 4912") + 1]).toBe(
      "  HVM context: 17 entries: HEADER, CPU x2, LAPIC x2, LAPIC_REGS x2, PCI_IRQ, ISA_IRQ, PCI_LINK, MTRR x2, VMCE_VCPU x2, TSC_ADJUST x2, END",
    );
    expect(pvh[pvh.indexOf("Libxc Record: x86 MSR policy, length 32") + 1]).toBe(
      "  MSRs: MSR_INTEL_PLATFORM_INFO=0x0000000080000000 (cpuid_faulting), MSR_ARCH_CAPABILITIES=0x0000000000000000",
    );
  });

  it("not without --verbose, and not in --json", async () => {
    expect((await cli(["verify", PVH])).stdout).toBe(`${PVH}: valid xl save file (x86 HVM, libxc v3, Xen 4.17): 0 errors, 0 warnings\n`);
    const json = JSON.parse((await cli(["verify", "--verbose", "--json", PVH])).stdout) as { summary: { listing: string[] } };
    expect(json.summary.listing.some((line) => line.startsWith("  HVM context:"))).toBe(false);
  });
});
