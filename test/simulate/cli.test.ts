// `xen-stream simulate`: help, usage errors (exit 2), an invalid source
// (exit 1), the report and what-if table (text and --json, equal to the
// API's), the stream to a file and to standard output, and a real process
// whose reader closes the pipe early.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { parseRate } from "../../src/cli/simulate.js";
import { decodeSaveFile } from "../../src/index.js";
import { verifyStream } from "../../src/verify/index.js";
import { guestFromSaveFile, runLiveLoop, simulateMigration, syntheticGuest, whatIf, whatIfGrid } from "../../src/simulate/index.js";
import { collect, sameBytes } from "./helpers.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const SKELETON = join(ROOT, "spec-vectors/captured/xen-4.17-pvh-save.skel.xl");
const dir = mkdtempSync(join(tmpdir(), "xen-simulate-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; stdout: Uint8Array; stderr: string }> {
  const io: CliIO = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  io.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  io.stderr.on("data", (chunk: Buffer) => err.push(chunk));
  const code = await main(["simulate", ...args], io);
  return { code, stdout: new Uint8Array(Buffer.concat(out)), stderr: Buffer.concat(err).toString("utf8") };
}
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString("utf8");

describe("xen-stream simulate", () => {
  test("--help", async () => {
    const result = await run(["--help"]);
    expect(result.code).toBe(0);
    expect(text(result.stdout)).toMatch(/^usage: xen-stream simulate/);
    expect(text(result.stdout)).toContain("SPP_MAX_ITERATIONS (default: 5)");
    expect(text(result.stdout)).toContain("-g, --guest hvm|pvh|pv        synthetic guest type (default: hvm; pv: x86 64-bit PV)");
  });

  test.each([
    [["--guest", "arm"], "--guest must be hvm, pvh or pv"],
    [["--dirty", "sometimes"], 'bad dirty model "sometimes"'],
    [["--dirty", "uniform:fast"], "uniform writes/s must be a number"],
    [["--source", SKELETON, "--memory", "4"], "not both"],
    [["--bandwidth", "fast"], 'bad rate "fast"'],
    [["--max-iterations=-1"], "--max-iterations must be a non-negative integer"],
    [["--max-iterations", "20000"], "maxIterations must be an integer 0..10000"],
    [["--what-if", "speed=1,2"], 'bad --what-if "speed=1,2"'],
    [["--what-if", "max-iterations=1", "-o", "x"], "--what-if writes a table"],
    [["--memory", "0"], "memoryMiB must be an integer"],
    [["--frobnicate"], "Unknown option"],
  ])("usage error %j exits 2", async (args, message) => {
    const result = await run(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout.length).toBe(0);
  });

  test("a source that is not a valid save file exits 1", async () => {
    const bad = join(dir, "bad.xl");
    const bytes = new Uint8Array(readFileSync(SKELETON));
    writeFileSync(bad, bytes.subarray(0, bytes.length - 9));
    const result = await run(["--source", bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("invalid source: TRUNCATED");
  });

  test.each([
    ["125000000", 125e6],
    ["125M", 125e6],
    ["1G", 1e9],
    ["1Gbit", 125e6],
    ["10Gbit/s", 1.25e9],
    ["100Mbit", 12.5e6],
  ])("rate %s = %d bytes/s", (input, bytes) => {
    expect(parseRate(input)).toBe(bytes);
  });

  test("the report: text, and --json equal to runLiveLoop()'s", async () => {
    const args = ["--memory", "4", "--guest", "pvh", "--dirty", "uniform:30000", "--bandwidth", "1Gbit", "--seed", "3"];
    const expected = runLiveLoop({ guest: syntheticGuest({ memoryMiB: 4, guest: "pvh", seed: 3 }), dirty: { kind: "uniform", pagesPerSecond: 30000 }, bandwidth: 125e6, policy: {}, seed: 3 }).report;
    const json = await run([...args, "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(text(json.stdout))).toEqual(JSON.parse(JSON.stringify(expected)));
    const plain = await run(args);
    expect(plain.code).toBe(0);
    const out = text(plain.stdout);
    expect(out).toContain("synthetic pvh guest of 4 MiB (X86_HVM): p2m 1,044,480 pfns");
    expect(out).toContain(`live phase ended: ${expected.stopReason} after ${expected.livePasses} live passes`);
    expect(out.split("\n").filter((line) => /^\d+ +(live|stop-and-copy) /.test(line))).toHaveLength(expected.passes.length);
  });

  test("--guest pv: the report names X86_PV, --json equals runLiveLoop()'s, -o writes the API's stream", async () => {
    const args = ["--memory", "2", "--guest", "pv", "--vcpus", "3", "--dirty", "hot:50:1e6", "--seed", "7"];
    const options = { guest: syntheticGuest({ memoryMiB: 2, guest: "pv", vcpus: 3, seed: 7 }), dirty: { kind: "hot", hotPages: 50, hotPagesPerSecond: 1e6 }, bandwidth: 125e6, policy: {}, seed: 7 } as const;
    const expected = runLiveLoop(options).report;
    expect(expected.domainType).toBe("X86_PV");
    const json = await run([...args, "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(text(json.stdout))).toEqual(JSON.parse(JSON.stringify(expected)));
    expect((JSON.parse(text(json.stdout)) as { domainType: string }).domainType).toBe("X86_PV");
    const plain = await run(args);
    expect(text(plain.stdout)).toContain("synthetic pv guest of 2 MiB (X86_PV): p2m 512 pfns, 512 pages with data, page size 4096");
    const out = join(dir, "pv.xl");
    expect((await run([...args, "-o", out])).code).toBe(0);
    const written = new Uint8Array(readFileSync(out));
    expect(sameBytes(written, await collect(simulateMigration(options).chunks()))).toBe(true);
    expect(verifyStream(written, { profile: "restore" }).ok).toBe(true);
    const table = await run([...args, "-w", "max-iterations=1,2", "--json"]);
    expect((JSON.parse(text(table.stdout)) as { guest: unknown }).guest).toEqual({ domainType: "X86_PV", p2mSize: 512, populatedPages: 512, pageSize: 4096 });
  });

  test("--ballooned-pages / --deferred-page-tables: the PV guest of the API; usage errors otherwise", async () => {
    const args = ["--memory", "2", "--guest", "pv", "--ballooned-pages", "10", "--deferred-page-tables", "2", "--dirty", "uniform:1e4"];
    const guest = syntheticGuest({ memoryMiB: 2, guest: "pv", balloonedPages: 10, deferredPageTables: 2, seed: 1 });
    const expected = runLiveLoop({ guest, dirty: { kind: "uniform", pagesPerSecond: 1e4 }, bandwidth: 125e6, policy: {}, seed: 1 }).report;
    expect(expected.deferredPages).toBe(12);
    const json = await run([...args, "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(text(json.stdout))).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(text((await run(args)).stdout)).toContain("p2m 512 pfns, 502 pages with data, page size 4096, 12 pfns deferred to the stop-and-copy pass");
    const hvm = await run(["--memory", "2", "--ballooned-pages", "1"]);
    expect([hvm.code, hvm.stderr.includes("balloonedPages is for PV guests only")]).toEqual([2, true]);
    const source = await run(["--source", SKELETON, "--deferred-page-tables", "1"]);
    expect([source.code, source.stderr.includes("shape a synthetic guest: drop --source")]).toEqual([2, true]);
  });

  test("--what-if: the table, and --json rows equal to whatIf()'s", async () => {
    const args = ["--memory", "4", "--dirty", "hot:200:1e6:50", "-w", "max-iterations=1,3,8", "-w", "bandwidth=1Gbit,10Gbit"];
    const guest = syntheticGuest({ memoryMiB: 4, guest: "hvm", seed: 1 });
    const rows = whatIf(
      { guest, dirty: { kind: "hot", hotPages: 200, hotPagesPerSecond: 1e6, coldPagesPerSecond: 50 }, bandwidth: 125e6, policy: {}, seed: 1 },
      whatIfGrid({ maxIterations: [1, 3, 8], bandwidth: [125e6, 1.25e9] }),
    );
    const json = await run([...args, "--json"]);
    expect(json.code).toBe(0);
    expect((JSON.parse(text(json.stdout)) as { rows: unknown }).rows).toEqual(JSON.parse(JSON.stringify(rows)));
    expect(rows.map((r) => r.passes)).toEqual([2, 2, 4, 4, 9, 9]);
    const plain = await run(args);
    expect(text(plain.stdout).split("\n").filter((line) => /^\d+ /.test(line))).toHaveLength(6);
  });

  test("-o FILE writes the stream the API writes; -o - writes it to stdout and the report to stderr", async () => {
    const out = join(dir, "out.xl");
    const args = ["--source", SKELETON, "--dirty", "hot:2:1e9", "--max-iterations", "3", "--target-dirty-count", "0"];
    const result = await run([...args, "-o", out]);
    expect(result.code).toBe(0);
    expect(text(result.stdout)).toContain("live phase ended: max-iterations after 3 live passes");
    const written = new Uint8Array(readFileSync(out));
    const expected = await collect(
      simulateMigration({ guest: guestFromSaveFile(new Uint8Array(readFileSync(SKELETON))), dirty: { kind: "hot", hotPages: 2, hotPagesPerSecond: 1e9 }, policy: { maxIterations: 3, targetDirtyCount: 0 } }).chunks(),
    );
    expect(sameBytes(written, expected)).toBe(true);
    expect(verifyStream(written, { profile: "restore" }).ok).toBe(true);
    const piped = await run([...args, "-o", "-"]);
    expect(piped.code).toBe(0);
    expect(sameBytes(piped.stdout, expected)).toBe(true);
    expect(piped.stderr).toContain("live phase ended");
  });

  test("a source in a xenopsd container: -o writes the API's stream in the same container; a legacy one exits 1", async () => {
    const source = join(ROOT, "spec-vectors/xenopsd/valid/uefi-vtpm.bin");
    const out = join(dir, "xenopsd.img");
    const args = ["--source", source, "--dirty", "hot:1:1e9", "--target-dirty-count", "0", "-o", out];
    expect((await run(args)).code).toBe(0);
    const written = new Uint8Array(readFileSync(out));
    const bytes = new Uint8Array(readFileSync(source));
    const expected = await collect(simulateMigration({ guest: guestFromSaveFile(bytes), dirty: { kind: "hot", hotPages: 1, hotPagesPerSecond: 1e9 }, policy: { targetDirtyCount: 0 } }).chunks());
    expect(sameBytes(written, expected)).toBe(true);
    expect(decodeSaveFile(written).container).toEqual(decodeSaveFile(bytes).container);
    const legacy = await run(["--source", join(ROOT, "spec-vectors/xenopsd/valid/libxc-legacy-pv.bin")]);
    expect(legacy.code).toBe(1);
    expect(legacy.stderr).toContain("invalid source: UNSUPPORTED");
    expect(legacy.stderr).toContain("a xenopsd Libxc_legacy chunk");
  });

  test("a real process whose reader closes the pipe stops quietly", () => {
    const script = join(ROOT, "src/cli/bin.ts");
    const result = spawnSync("bash", ["-c", `"${process.execPath}" --import tsx "${script}" simulate -m 64 -o - | head -c 1000 > /dev/null; echo "status \${PIPESTATUS[0]}"`], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(result.stdout.trim()).toBe("status 0");
    expect(result.stderr).toBe("");
  }, 60_000);
});
