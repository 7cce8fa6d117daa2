import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { domainConfigItems } from "../../src/inspect/info.js";
import { runCli, type CliRun } from "../helpers/cli.js";

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

describe("domainConfigItems", () => {
  it("reads xl's JSON config items and says why a config is unreadable", () => {
    expect(domainConfigItems('{"c_info":{"name":"a","type":"hvm"},"b_info":{"max_vcpus":4,"max_memkb":1024,"target_memkb":512},"disks":[{},{}],"nics":[]}')).toEqual({
      items: { name: "a", type: "hvm", maxVcpus: 4, maxMemkb: 1024, targetMemkb: 512, disks: 2, nics: 0 },
    });
    expect(domainConfigItems("name = 'a'")).toMatchObject({ problem: expect.stringMatching(/^not JSON/) as string });
    expect(domainConfigItems("7")).toEqual({ problem: "not a JSON object" });
  });
});
