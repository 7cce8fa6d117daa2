// Xen's own verify-stream-v2 (Debian xen-utils-4.17, from .cache/xen-tools)
// accepts simulated streams: synthetic HVM, PVH and PV guests under each
// dirty model, the three captured real save files and a generated PV
// stream as sources.
//
// Needs the tools: `bash scripts/fetch-xen-tools.sh`. Without them the
// suite is skipped, except under CI=true, where that is a failure.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { guestFromSaveFile, simulateMigration, syntheticGuest, type SimulationOptions } from "../../src/simulate/index.js";
import { runReferenceCli, xenTools } from "../verify/reference.js";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";
import { collect } from "./helpers.js";
import { cat } from "../helpers/hex.js";

const toolsDir = (await xenTools()).xenToolsDir();
const inCi = process.env.CI === "true";
if (toolsDir === null && !inCi) console.log("simulate interop skipped: Xen's verify-stream-v2 is not fetched (run `bash scripts/fetch-xen-tools.sh`)");

test.runIf(toolsDir === null && inCi)("Xen's reference tools are present under CI", () => {
  expect.fail("CI=true but Xen's verify-stream-v2 is missing");
});

const CAPTURED = new URL("../../spec-vectors/captured/", import.meta.url);
const dir = toolsDir === null ? "" : mkdtempSync(join(tmpdir(), "xen-simulate-"));
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

const skeleton = (name: string) => guestFromSaveFile(new Uint8Array(readFileSync(new URL(name, CAPTURED))));
const CASES: Array<[string, () => SimulationOptions]> = [
  ["synthetic hvm, uniform", () => ({ guest: syntheticGuest({ memoryMiB: 8, guest: "hvm" }), dirty: { kind: "uniform", pagesPerSecond: 5e4 } })],
  ["synthetic pvh, hot set", () => ({ guest: syntheticGuest({ memoryMiB: 8, guest: "pvh", seed: 3 }), dirty: { kind: "hot", hotPages: 300, hotPagesPerSecond: 1e6, coldPagesPerSecond: 100 } })],
  ["synthetic hvm, idle, maxIterations 0", () => ({ guest: syntheticGuest({ memoryMiB: 2, guest: "hvm" }), policy: { maxIterations: 0 } })],
  ["synthetic pv, uniform", () => ({ guest: syntheticGuest({ memoryMiB: 8, guest: "pv" }), dirty: { kind: "uniform", pagesPerSecond: 5e4 } })],
  ["synthetic pv, 5 vCPUs, hot set", () => ({ guest: syntheticGuest({ memoryMiB: 3, guest: "pv", vcpus: 5, seed: 2 }), dirty: { kind: "hot", hotPages: 200, hotPagesPerSecond: 1e6, coldPagesPerSecond: 500 } })],
  ["synthetic pv, ballooned and deferred page tables, uniform", () => ({ guest: syntheticGuest({ memoryMiB: 4, guest: "pv", balloonedPages: 100, deferredPageTables: 3 }), dirty: { kind: "uniform", pagesPerSecond: 5e4 } })],
  ["synthetic pv, deferred page tables, idle", () => ({ guest: syntheticGuest({ memoryMiB: 2, guest: "pv", deferredPageTables: 2 }) })],
  ["generated pv stream", () => ({ guest: guestFromSaveFile(cat(...generatePvStream({ size: 2 << 20, format: "xl" }))), dirty: { kind: "uniform", pagesPerSecond: 1e6 } })],
  ["pv save file", () => ({ guest: skeleton("xen-4.17-pv-save.skel.xl"), dirty: { kind: "hot", hotPages: 2, hotPagesPerSecond: 1e9 } })],
  ["hvm save file", () => ({ guest: skeleton("xen-4.17-hvm-save.skel.xl"), dirty: { kind: "uniform", pagesPerSecond: 1e9 } })],
  ["pvh save file", () => ({ guest: skeleton("xen-4.17-pvh-save.skel.xl"), dirty: { kind: "uniform", pagesPerSecond: 1e9 } })],
];

describe.runIf(toolsDir !== null)("Xen's verify-stream-v2 accepts simulated streams", () => {
  test.each(CASES)("%s", async (name, make) => {
    const bytes = await collect(simulateMigration(make()).chunks());
    const file = join(dir, `${name.replace(/[^a-z0-9]+/g, "-")}.xl`);
    writeFileSync(file, bytes);
    const result = await runReferenceCli(file, "xl");
    expect(result.status, result.message).toBe(0);
    rmSync(file);
  }, 60_000);
});
