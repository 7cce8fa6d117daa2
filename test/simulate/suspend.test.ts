// suspendDirtyPages: the pages a guest and its backends write while it
// suspends (before XEN_DOMCTL_SHADOW_LOGDIRTY_FINAL), sent in the
// stop-and-copy pass; by default 485, the mean of the two real captures'
// final passes (477 HVM, 493 PVH; captures.test.ts checks those).
import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import type { CliIO } from "../../src/cli/io.js";
import { main } from "../../src/cli/main.js";
import { verifyStream } from "../../src/verify/index.js";
import { runLiveLoop, simulateMigration, syntheticGuest, whatIf } from "../../src/simulate/index.js";
import { thrown } from "../helpers/errors.js";
import { collect, memoryMismatch, profileOf } from "./helpers.js";

const STORE_PFN = 0xf_effc; // HVM_PARAM_STORE_PFN of the synthetic HVM and PVH guests (and of both captures)

describe("suspendDirtyPages", () => {
  const guest = syntheticGuest({ memoryMiB: 4, guest: "hvm" });

  test("an idle guest's stop-and-copy pass: 485 pages by default, the xenstore ring among them; the downtime is theirs", async () => {
    const run = simulateMigration({ guest });
    const { report } = run;
    expect(report.passes.map((p) => [p.phase, p.dirtyCount, p.pfns, p.pages, p.batches])).toEqual([
      ["live", guest.p2mSize, guest.p2mSize, guest.populatedPages, 1020],
      ["stop-and-copy", 485, 485, 485, 1],
    ]);
    expect(report.stopReason).toBe("target-dirty-count");
    const quiet = runLiveLoop({ guest, suspendDirtyPages: 0 }).report;
    // One PAGE_DATA record of 485 pages more than without them, all of it while suspended.
    expect(report.downtimeBytes - quiet.downtimeBytes).toBe(16 + 485 * (8 + 4096));
    expect(report.downtimeSeconds).toBeGreaterThan(0);
    expect(report.downtimeSeconds).toBe(report.downtimeBytes / report.bandwidth);
    const bytes = await collect(run.chunks());
    const final = profileOf(bytes).passes[1];
    expect(final?.dirtyPfns?.includes(STORE_PFN)).toBe(true);
    expect(final?.xtabRuns).toEqual([]);
    for (const profile of ["spec", "restore"] as const) expect(verifyStream(bytes, { profile }).ok).toBe(true);
    expect(memoryMismatch(bytes, guest)).toBeUndefined();
  });

  test("the set: ascending populated pages, the ring kept, the rest by seed; added to the dirty model's final set", () => {
    const final = (seed: number, suspendDirtyPages?: number) => {
      const plan = runLiveLoop({ guest, seed, ...(suspendDirtyPages === undefined ? {} : { suspendDirtyPages }) });
      return Array.from(plan.passPfns[plan.passPfns.length - 1] ?? []);
    };
    const a = final(1);
    expect(a.length).toBe(485);
    expect(a.every((pfn, i) => i === 0 || pfn > (a[i - 1] as number))).toBe(true);
    expect(a.every((pfn) => guest.types[pfn] === 0)).toBe(true);
    expect(final(1)).toEqual(a);
    const b = final(2);
    expect(b).not.toEqual(a);
    expect(b.includes(STORE_PFN) && a.includes(STORE_PFN)).toBe(true);
    expect(final(1, 1)).toEqual([STORE_PFN]);
    expect(final(1, 0)).toEqual([]);
    // More than the guest has: every populated page (selection sampling path too).
    expect(final(1, 1e9).length).toBe(guest.populatedPages);
    expect(final(1, guest.populatedPages - 3).length).toBe(guest.populatedPages - 3);
    // With a dirty model: the union of its final set and the suspend set.
    const hot = runLiveLoop({ guest, dirty: { kind: "hot", hotPages: 30, hotPagesPerSecond: 1e9 }, policy: { maxIterations: 1 }, suspendDirtyPages: 10 });
    const last = hot.passPfns[hot.passPfns.length - 1] ?? new Uint32Array(0);
    const hotOnly = runLiveLoop({ guest, dirty: { kind: "hot", hotPages: 30, hotPagesPerSecond: 1e9 }, policy: { maxIterations: 1 }, suspendDirtyPages: 0 });
    const hotSet = Array.from(hotOnly.passPfns[hotOnly.passPfns.length - 1] ?? []);
    expect(hotSet.length).toBe(30);
    expect(hotSet.every((pfn) => last.includes(pfn))).toBe(true);
    expect(last.length).toBeGreaterThanOrEqual(30);
    expect(last.length).toBeLessThanOrEqual(40);
  });

  test("the replay model adds none by default (its final set is the capture's own last pass)", () => {
    const capture = { recordOrder: [], p2mSize: guest.p2mSize, passes: [{ batchSizes: [], pfns: 0, dataPages: 0, xtabRuns: [], dirtyPfns: undefined }] };
    const plan = runLiveLoop({ guest, dirty: { kind: "replay", capture } });
    expect(plan.report.passes[plan.report.passes.length - 1]?.pfns).toBe(0);
    const withSet = runLiveLoop({ guest, dirty: { kind: "replay", capture }, suspendDirtyPages: 5 });
    expect(withSet.report.passes[withSet.report.passes.length - 1]?.pfns).toBe(5);
  });

  test("what-if rows carry it: downtime pages of an idle guest are the suspend set", () => {
    const rows = whatIf({ guest, suspendDirtyPages: 100 }, [{ maxIterations: 1 }, { maxIterations: 5 }]);
    expect(rows.map((r) => r.downtimePages)).toEqual([100, 100]);
  });

  test("USAGE for a value that is not an integer >= 0", () => {
    for (const value of [-1, 1.5, Number.NaN]) {
      const error = thrown(() => runLiveLoop({ guest, suspendDirtyPages: value }));
      expect([error.code, error.message.startsWith("suspendDirtyPages must be an integer >= 0")]).toEqual(["USAGE", true]);
    }
  });

  test("--suspend-dirty-pages on the command line", async () => {
    const io: CliIO = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() };
    const out: Buffer[] = [];
    io.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    io.stderr.on("data", () => undefined);
    expect(await main(["simulate", "--memory", "4", "--suspend-dirty-pages", "7", "--json"], io)).toBe(0);
    const report = JSON.parse(Buffer.concat(out).toString("utf8")) as { passes: Array<{ pfns: number }> };
    expect(report.passes.map((p) => p.pfns)).toEqual([guest.p2mSize, 7]);
  });
});
