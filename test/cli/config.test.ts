import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { decodeAnySaveFile, decodeSaveFile, savedConfig } from "../../src/index.js";
import { GuestPages, libxcGuestStream } from "../memory/guest-builder.js";
import { runCli, type CliRun } from "../helpers/cli.js";

const PV = fileURLToPath(new URL("../../spec-vectors/captured/xen-4.17-pv-save.skel.xl", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "config-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(args: string[]): Promise<CliRun> {
  return runCli(["config", ...args]);
}

describe("xen-stream config", () => {
  it("prints the xl JSON config, pretty; --json gives kind and text", async () => {
    const shown = await config([PV]);
    expect(shown.code).toBe(0);
    const parsed = JSON.parse(shown.stdout) as { c_info: { name: string; type: string } };
    expect(parsed.c_info).toMatchObject({ name: "labpv", type: "pv" });
    const json = JSON.parse((await config([PV, "--json"])).stdout) as { kind: string; text: string };
    expect(json.kind).toBe("xl-json");
    expect(json.text).toBe(savedConfig(decodeSaveFile(new Uint8Array(readFileSync(PV))))?.text);
  });

  it("--set writes a copy in which only the config changed, verified", async () => {
    const next = join(dir, "new.json");
    writeFileSync(next, '{"c_info":{"type":"pv","name":"renamed"}}\n');
    const out = join(dir, "renamed.xl");
    const written = await config([PV, "--set", next, "-o", out]);
    expect(written).toMatchObject({ code: 0, stderr: "" });
    expect(written.stdout).toBe(`${out}: written with the new configuration (42 bytes); verified\n`);
    const before = decodeSaveFile(new Uint8Array(readFileSync(PV)));
    const after = decodeSaveFile(new Uint8Array(readFileSync(out)));
    expect(savedConfig(after)?.text).toBe('{"c_info":{"type":"pv","name":"renamed"}}\n');
    // Everything after the xl header is byte-identical.
    const tail = (bytes: Uint8Array, file: typeof before): Uint8Array => bytes.subarray(48 + (file.xl?.config?.length ?? 0) + 4);
    expect(Buffer.compare(tail(new Uint8Array(readFileSync(PV)), before), tail(new Uint8Array(readFileSync(out)), after))).toBe(0);
  });

  it("--set of a text file stores it as libvirt and xl do: with its NUL (libvirt XML, xl JSON); a file ending in NUL goes byte for byte", async () => {
    const libvirt = fileURLToPath(new URL("../../spec-vectors/libvirt/valid/v2-libxl-hvm.bin", import.meta.url));
    const text = "<domain type='xen'><name>new</name></domain>\n";
    const xml = join(dir, "new.xml");
    writeFileSync(xml, text);
    const out = join(dir, "new-libvirt.save");
    expect((await config([libvirt, "--set", xml, "-o", out])).code).toBe(0);
    const stored = (decodeAnySaveFile(new Uint8Array(readFileSync(out))).container as { header: { xml: Uint8Array } }).header.xml;
    expect(Buffer.from(stored).toString("latin1")).toBe(`${text}\0`);
    writeFileSync(xml, `${text}\0`);
    expect((await config([libvirt, "--set", xml, "-o", out])).code).toBe(0);
    expect((decodeAnySaveFile(new Uint8Array(readFileSync(out))).container as { header: { xml: Uint8Array } }).header.xml.length).toBe(text.length + 1);
    const json = join(dir, "new.json");
    writeFileSync(json, '{"c_info":{"type":"pv","name":"x"}}');
    expect((await config([PV, "--set", json, "-o", out])).code).toBe(0);
    expect(Buffer.from(decodeSaveFile(new Uint8Array(readFileSync(out))).xl?.config ?? []).toString("latin1")).toBe('{"c_info":{"type":"pv","name":"x"}}\0');
  });

  it("refuses to write onto its input, and needs -o with --set", async () => {
    const copy = join(dir, "copy.xl");
    copyFileSync(PV, copy);
    const next = join(dir, "n.json");
    writeFileSync(next, "{}");
    const onto = await config([copy, "--set", next, "-o", copy]);
    expect(onto.code).toBe(2);
    expect(onto.stderr).toMatch(/refusing to write onto the input/);
    expect(readFileSync(copy)).toEqual(readFileSync(PV));
    expect((await config([copy, "--set", next])).code).toBe(2);
    expect((await config(["-", "--set", next, "-o", join(dir, "x")])).code).toBe(2);
  });

  it("a bare libxc stream stores no configuration: exit 1", async () => {
    const bare = join(dir, "bare.libxc");
    const guest = new GuestPages();
    guest.fill(1, 1);
    writeFileSync(bare, libxcGuestStream("hvm", guest.pageRecords()));
    const none = await config([bare]);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe(`xen-stream config: ${bare} stores no domain configuration (only an xl header, a libvirt image and a xenopsd Xenops record carry one)\n`);
  });
});
