import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { convertContainer, decodeSaveFile, encodeSaveFile } from "../../src/index.js";
import { domainConfigItems, xenopsRecordInfo } from "../../src/inspect/info.js";
import { runCli, type CliRun } from "../helpers/cli.js";
import { cat, le32, le64 } from "../helpers/hex.js";
import { legacyVectors } from "../legacy/vectors.js";

const PV = fileURLToPath(new URL("../../spec-vectors/captured/xen-4.17-pv-save.skel.xl", import.meta.url));

function info(args: string[]): Promise<CliRun> {
  return runCli(["info", ...args]);
}

describe("xen-stream info", () => {
  it("one screen about the real PV save file", async () => {
    const { code, stdout, stderr } = await info([PV]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toBe(
      [
        `${PV}: valid, 0 errors, 0 warnings`,
        "  layers:    xl header (little-endian, flags 0x3: JSON config, STREAMv2, config 866 bytes) > libxl v2 > libxc v3",
        "  saved by:  Xen 4.17",
        "  guest:     x86 PV (config: pv), 64-bit, 4-level page tables, 4096-byte pages, 2 vCPUs saved",
        "  domain:    labpv, uuid 54ac959e-e911-11f1-bed0-4dd0251c8837, 2 vCPUs, memory 128 MiB",
        "  memory:    4 pages (0.0 MiB) in 1 run, pfns 0x0..0x3; 4 page copies sent",
        "  cpu:       AMD family 0xf model 0x6b stepping 1, 26 features",
        "  passes:    1 memory pass, 0 checkpoints",
        "",
      ].join("\n"),
    );
  });

  it("--json carries the summary, config items, CPU and memory", async () => {
    const { code, stdout } = await info([PV, "--json"]);
    expect(code).toBe(0);
    const json = JSON.parse(stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      ok: true,
      config: { name: "labpv", type: "pv", maxVcpus: 2, maxMemkb: 131072 },
      cpu: { vendor: { name: "AMD" }, family: 0xf, model: 0x6b, stepping: 1 },
      memory: { pages: 4, runs: 1, lowestPfn: 0, highestPfn: 3 },
    });
  });

  it("usage errors exit 2", async () => {
    expect((await info([PV, PV])).code).toBe(2);
    expect((await info(["--profile", "x", PV])).code).toBe(2);
  });
});

describe("xen-stream info: the container's own fields", () => {
  const HVM = fileURLToPath(new URL("../../spec-vectors/captured/xen-4.17-hvm-save.skel.xl", import.meta.url));
  const hvm = decodeSaveFile(new Uint8Array(readFileSync(HVM)));
  const XML = "<domain type='xen'>\n  <name>labhvm</name>\n</domain>\n";
  const record = { time: "20261203T07:00:00Z", wordSize: 64, vmStr: "((id 5a1c)(name labhvm))", xsSubtree: [] as Array<[string, string]> };
  const libvirt = encodeSaveFile(convertContainer(hvm, "libvirt", { xml: XML }).file);
  const xenopsd = encodeSaveFile(convertContainer(hvm, "xenopsd", { record }).file);
  const lines = (run: CliRun): string[] => run.stdout.split("\n");

  it("libvirt: the header version, xmlLen and the domain name from the XML", async () => {
    const run = await runCli(["info", "-"], libvirt);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    expect(lines(run).slice(1, 3)).toEqual([
      "  layers:    libvirt header v2 (little-endian, XML 53 bytes) > libxl v2 > libxc v3",
      '  libvirt:   version 2 (a libxl v2 stream follows), xmlLen 53, domain "labhvm"',
    ]);
    expect(run.stdout).toContain("  domain:    labhvm (from the libvirt XML)\n");
    const json = JSON.parse((await runCli(["info", "--json", "-"], libvirt)).stdout) as Record<string, unknown>;
    expect(json.container).toEqual({ kind: "libvirt", libvirt: { version: 2, byteOrder: "little", xmlLength: 53, domainName: "labhvm", stream: "libxl" } });
  });

  it("xenopsd: every chunk with its type, length field and offset; the Xenops record's time, word_size and vm_str", async () => {
    const run = await runCli(["info", "-"], xenopsd);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    // Offsets by hand: 15-byte signature; Xenops header 16 + the 90-byte record; Libxc header 16 + the
    // libxc stream (the captured file's 24528 bytes); Qemu_trad 16 + 7777; End_of_image.
    const stream = 24665 - 121 - 16;
    expect(stream).toBe(xenopsd.length - 121 - 16 - 16 - 7777 - 16);
    expect(lines(run).slice(1, 4)).toEqual([
      "  layers:    xenopsd image (4 chunks) > libxc v3",
      "  chunks:    Xenops 90 @15, Libxc 0 @121, Qemu_trad 7777 @24665, End_of_image 0 @32458 (type, length field, offset)",
      '  xenops:    time 20261203T07:00:00Z, word_size 64, vm_str 24 chars (name "labhvm", id 5a1c): "((id 5a1c)(name labhvm))", xs_subtree 0 entries',
    ]);
    expect(run.stdout).toContain("  domain:    labhvm (from the Xenops record's vm_str)\n");
    const json = JSON.parse((await runCli(["info", "--json", "-"], xenopsd)).stdout) as { container: Record<string, unknown> };
    expect(json.container).toEqual({
      kind: "xenopsd",
      xenopsd: {
        layout: "structured",
        chunks: [
          { type: "Xenops", offset: 15, length: 90 },
          { type: "Libxc", offset: 121, length: 0 },
          { type: "Qemu_trad", offset: 24665, length: 7777 },
          { type: "End_of_image", offset: 32458, length: 0 },
        ],
        record: { time: "20261203T07:00:00Z", wordSize: 64, vmStrLength: 24, xsSubtreeEntries: 0 },
      },
      xenopsRecord: { time: "20261203T07:00:00Z", wordSize: 64, vmStr: { length: 24, preview: "((id 5a1c)(name labhvm))", id: "5a1c", name: "labhvm" }, xsSubtreeEntries: 0 },
    });
  });

  it("xenopsd legacy layout and a libvirt version 1 image: the legacy stream's length, the QEMU record", async () => {
    const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
    const pv = legacyVectors().find((vector) => vector.options.format === "libxc" && vector.options.guest === "pv" && vector.options.xl !== true && vector.options.skipQemu !== true);
    if (pv === undefined) throw new Error("no PV legacy vector");
    const qemu = new Uint8Array([0, 0, 0, 5, 1, 2, 3, 4, 5]);
    const legacyImage = cat(ascii("XenSavedDomain\n"), pv.input, ascii("QemuDeviceModelRecord\n"), qemu);
    const run = await runCli(["info", "-"], legacyImage);
    expect(lines(run).slice(1, 3)).toEqual([
      // The converted stream's layers follow: its summary is the stream's.
      '  layers:    xenopsd image (legacy layout, "XenSavedDomain\\n") > legacy (Xen <= 4.5) stream > libxc v3',
      `  xenopsd:   legacy layout: signature, legacy libxc stream, QEMU record 5 bytes; a legacy (Xen <= 4.5) stream of ${pv.input.length} bytes, converted to v2 to verify`,
    ]);
    const libxlLegacy = legacyVectors().find((vector) => vector.options.format === "libxl" && vector.options.xl !== true);
    if (libxlLegacy === undefined) throw new Error("no libxl legacy vector");
    const xml = cat(ascii("<domain type='xen'><name>old</name></domain>"), new Uint8Array([0]));
    const v1 = cat(ascii("libvirt-xml\n "), new Uint8Array([0]), ascii(" \r"), le32(1), le32(xml.length), new Uint8Array(40), xml, libxlLegacy.input);
    expect(lines(await runCli(["info", "-"], v1)).slice(1, 3)).toEqual([
      `  layers:    libvirt header v1 (little-endian, XML ${xml.length} bytes) > legacy (Xen <= 4.5) stream > libxl v2 (LEGACY) > libxc v3`,
      `  libvirt:   version 1 (a legacy stream follows), xmlLen ${xml.length}, domain "old"; a legacy (Xen <= 4.5) stream of ${libxlLegacy.input.length} bytes, converted to v2 to verify`,
    ]);
    // No Xenops record in a structured image: said so.
    const bare = cat(ascii("XenSavedDomv2-\n"), le64(0xf0), le64(0), encodeSaveFile(convertContainer(hvm, "libxc").file), le64(0xffff), le64(0));
    expect((await runCli(["info", "-"], bare)).stdout).toContain("  xenops:    no Xenops record\n");
  });
});

describe("xenopsRecordInfo", () => {
  it("shortens vm_str and picks out an id and a name from an s-expression or JSON record, nothing from other text", () => {
    const long = `((id 1)(name n)(x ${"y".repeat(100)}))`;
    expect(xenopsRecordInfo({ time: "t", wordSize: 32, vmStr: long })).toEqual({ time: "t", wordSize: 32, vmStr: { length: long.length, preview: `${long.slice(0, 60)}...`, id: "1", name: "n" } });
    expect(xenopsRecordInfo({ time: "t", wordSize: 64, vmStr: '{"id":"u","name":"j","memory":1}' }).vmStr).toEqual({ length: 32, preview: '{"id":"u","name":"j","memory":1}', id: "u", name: "j" });
    expect(xenopsRecordInfo({ time: "t", wordSize: 64, vmStr: "((name" }).vmStr).toEqual({ length: 6, preview: "((name" });
    expect(xenopsRecordInfo({ time: "t", wordSize: 64, extraFields: [["flags", "1"]] })).toEqual({ time: "t", wordSize: 64, extraFields: ["flags"] });
  });
});

describe("domainConfigItems", () => {
  it("reads xl's JSON config items and says why a config is unreadable", () => {
    expect(domainConfigItems('{"c_info":{"name":"a","type":"hvm"},"b_info":{"max_vcpus":4,"max_memkb":1024,"target_memkb":512},"disks":[{},{}],"nics":[]}')).toEqual({
      items: { name: "a", type: "hvm", maxVcpus: 4, maxMemkb: 1024, targetMemkb: 512, disks: 2, nics: 0 },
    });
    expect(domainConfigItems("name = 'a'")).toMatchObject({ problem: expect.stringMatching(/^not JSON/) as string });
    expect(domainConfigItems("7")).toEqual({ problem: "not a JSON object" });
  });
});
