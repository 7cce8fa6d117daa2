// simulateMigration(): every simulated stream verifies in both profiles,
// round-trips through decode/encode, ends with the source's memory, and
// has the pass count Xen's policy would give.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { SaveFileDecoder, decodeSaveFile, detectFormat, encodeLibxcStream, encodeSaveFile } from "../../src/index.js";
import { MAX_BATCH_SIZE, PageType } from "../../src/constants.js";
import { verifyStream } from "../../src/verify/index.js";
import {
  SPP_MAX_ITERATIONS,
  SPP_TARGET_DIRTY_COUNT,
  XGS_POLICY_ABORT,
  XGS_POLICY_CONTINUE_PRECOPY,
  XGS_POLICY_STOP_AND_COPY,
  guestFromSaveFile,
  runLiveLoop,
  simplePrecopyPolicy,
  simulateMigration,
  syntheticGuest,
  whatIf,
  whatIfGrid,
  type DirtyModel,
  type PolicyParameters,
  type PrecopyStats,
} from "../../src/simulate/index.js";
import { thrown } from "../helpers/errors.js";
import { collect, memoryMismatch, profileOf, sameBytes } from "./helpers.js";

const CAPTURED = new URL("../../spec-vectors/captured/", import.meta.url);

const dirtyModel: fc.Arbitrary<DirtyModel> = fc.oneof(
  fc.constant<DirtyModel>({ kind: "idle" }),
  fc.record({ kind: fc.constant("uniform" as const), pagesPerSecond: fc.double({ min: 0, max: 5e6, noNaN: true }) }),
  fc.record({
    kind: fc.constant("hot" as const),
    hotPages: fc.integer({ min: 0, max: 3000 }),
    hotPagesPerSecond: fc.double({ min: 0, max: 1e7, noNaN: true }),
    coldPagesPerSecond: fc.double({ min: 0, max: 2e5, noNaN: true }),
  }),
);

const policyParameters: fc.Arbitrary<PolicyParameters> = fc.record(
  {
    maxIterations: fc.integer({ min: 0, max: 8 }),
    targetDirtyCount: fc.integer({ min: 0, max: 3000 }),
    maxFactor: fc.double({ min: 0.5, max: 4, noNaN: true }),
  },
  { requiredKeys: [] },
);

const options = fc.record({
  memoryMiB: fc.integer({ min: 1, max: 6 }),
  guest: fc.constantFrom("hvm" as const, "pvh" as const, "pv" as const),
  vcpus: fc.integer({ min: 1, max: 8 }),
  dirty: dirtyModel,
  bandwidth: fc.double({ min: 1e6, max: 1e10, noNaN: true }),
  policy: policyParameters,
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
});

describe("simplePrecopyPolicy: xg_sr_save.c simple_precopy_policy()", () => {
  const policy = simplePrecopyPolicy();
  const rows: Array<[PrecopyStats, number]> = [
    [{ iteration: 0, totalWritten: 0, dirtyCount: 1_044_480 }, XGS_POLICY_CONTINUE_PRECOPY],
    [{ iteration: 1, totalWritten: 1_044_480, dirtyCount: -1 }, XGS_POLICY_CONTINUE_PRECOPY],
    [{ iteration: 1, totalWritten: 1_044_480, dirtyCount: 50 }, XGS_POLICY_CONTINUE_PRECOPY],
    [{ iteration: 1, totalWritten: 1_044_480, dirtyCount: 49 }, XGS_POLICY_STOP_AND_COPY],
    [{ iteration: 1, totalWritten: 1_044_480, dirtyCount: 0 }, XGS_POLICY_STOP_AND_COPY],
    [{ iteration: 4, totalWritten: 0, dirtyCount: -1 }, XGS_POLICY_CONTINUE_PRECOPY],
    [{ iteration: 5, totalWritten: 0, dirtyCount: -1 }, XGS_POLICY_STOP_AND_COPY],
    [{ iteration: 5, totalWritten: 0, dirtyCount: 10_000 }, XGS_POLICY_STOP_AND_COPY],
  ];
  test.each(rows)("%o -> %i", (stats, decision) => {
    expect(policy(stats)).toBe(decision);
  });
  test("Xen's constants", () => {
    expect([SPP_MAX_ITERATIONS, SPP_TARGET_DIRTY_COUNT, XGS_POLICY_ABORT, XGS_POLICY_CONTINUE_PRECOPY, XGS_POLICY_STOP_AND_COPY]).toEqual([5, 50, -1, 0, 1]);
  });
  test("maxFactor stops once more than maxFactor x p2m_size pages were sent", () => {
    const legacy = simplePrecopyPolicy({ maxIterations: 29, maxFactor: 3 }, 1000);
    expect(legacy({ iteration: 3, totalWritten: 3000, dirtyCount: -1 })).toBe(XGS_POLICY_CONTINUE_PRECOPY);
    expect(legacy({ iteration: 3, totalWritten: 3001, dirtyCount: -1 })).toBe(XGS_POLICY_STOP_AND_COPY);
  });
});

describe("the live loop", () => {
  const guest = syntheticGuest({ memoryMiB: 4, guest: "hvm" });

  test("an idle guest: the full pass live, then an empty stop-and-copy pass", () => {
    // Without the pages the guest writes while it suspends (the default adds them; see below).
    const { report } = runLiveLoop({ guest, suspendDirtyPages: 0 });
    expect(report.passes.map((p) => [p.phase, p.pfns, p.batches])).toEqual([
      ["live", guest.p2mSize, Math.ceil(guest.p2mSize / MAX_BATCH_SIZE)],
      ["stop-and-copy", 0, 0],
    ]);
    expect(report.stopReason).toBe("target-dirty-count");
  });

  test("maxIterations 0 still sends the first pass live, as send_memory_live() does", () => {
    const { report } = runLiveLoop({ guest, dirty: { kind: "uniform", pagesPerSecond: 1e6 }, policy: { maxIterations: 0 } });
    expect(report.livePasses).toBe(1);
    expect(report.stopReason).toBe("max-iterations");
  });

  test("a dirty count below the target is still sent live before suspending", () => {
    // Policy: continue once, then stop on any known count.
    const calls: PrecopyStats[] = [];
    const { report } = runLiveLoop({
      guest,
      dirty: { kind: "hot", hotPages: 30, hotPagesPerSecond: 1e9 },
      suspendDirtyPages: 0,
      policy: (stats) => {
        calls.push(stats);
        return stats.dirtyCount >= 0 && stats.iteration >= 1 ? XGS_POLICY_STOP_AND_COPY : XGS_POLICY_CONTINUE_PRECOPY;
      },
    });
    expect(report.passes.map((p) => [p.phase, p.pfns])).toEqual([
      ["live", guest.p2mSize],
      ["live", 30],
      ["stop-and-copy", 30],
    ]);
    expect(calls).toEqual([
      { iteration: 0, totalWritten: 0, dirtyCount: guest.p2mSize },
      { iteration: 1, totalWritten: guest.p2mSize, dirtyCount: -1 },
      { iteration: 1, totalWritten: guest.p2mSize, dirtyCount: 30 },
    ]);
    expect(report.stopReason).toBe("policy");
  });

  test("XGS_POLICY_ABORT: no stream", () => {
    expect(runLiveLoop({ guest, policy: () => XGS_POLICY_ABORT }).report.aborted).toBe(true);
    const error = thrown(() => simulateMigration({ guest, policy: () => XGS_POLICY_ABORT }));
    expect(error.code).toBe("UNSUPPORTED");
  });

  test("a policy that never stops is cut off with USAGE", () => {
    expect(thrown(() => runLiveLoop({ guest, policy: () => XGS_POLICY_CONTINUE_PRECOPY })).code).toBe("USAGE");
  });

  test.each([
    [{ bandwidth: 0 }, "bandwidth"],
    [{ bandwidth: Number.NaN }, "bandwidth"],
    [{ policy: { maxIterations: -1 } }, "maxIterations"],
    [{ policy: { maxIterations: 1.5 } }, "maxIterations"],
    [{ policy: { targetDirtyCount: -3 } }, "targetDirtyCount"],
    [{ policy: { maxFactor: 0 } }, "maxFactor"],
    [{ dirty: { kind: "uniform", pagesPerSecond: -1 } as DirtyModel }, "pagesPerSecond"],
    [{ dirty: { kind: "hot", hotPages: -1, hotPagesPerSecond: 1 } as DirtyModel }, "hotPages"],
    [{ dirty: { kind: "nope" } as unknown as DirtyModel }, "dirty model kind"],
    [{ seed: 0.5 }, "seed"],
  ])("usage error %o names %s", (extra, name) => {
    const error = thrown(() => runLiveLoop({ guest, ...extra }));
    expect(error.code).toBe("USAGE");
    expect(error.message).toContain(name);
  });

  test.each([
    [{ memoryMiB: 0 }, "memoryMiB"],
    [{ memoryMiB: 4, guest: "arm" as "hvm" }, 'guest must be "hvm", "pvh" or "pv"'],
    [{ memoryMiB: 4, vcpus: 0 }, "vcpus"],
  ])("syntheticGuest usage error %o", (opts, name) => {
    const error = thrown(() => syntheticGuest(opts));
    expect(error.code).toBe("USAGE");
    expect(error.message).toContain(name);
  });

  test("the same options give the same stream (deterministic by seed), another seed another one", async () => {
    const run = (seed: number) => simulateMigration({ guest, dirty: { kind: "uniform", pagesPerSecond: 1e4 }, seed });
    const [a, b, c] = await Promise.all([collect(run(7).chunks()), collect(run(7).chunks()), collect(run(8).chunks())]);
    expect(sameBytes(a, b)).toBe(true);
    expect(sameBytes(c, a)).toBe(false);
  });

  test("reusePageBuffers writes the same bytes", async () => {
    const opts = { guest, dirty: { kind: "uniform", pagesPerSecond: 3e5 } as DirtyModel };
    const fresh = await collect(simulateMigration(opts).chunks());
    const reused = await collect(simulateMigration({ ...opts, reusePageBuffers: true }).chunks({ reuseBuffer: true }));
    expect(sameBytes(reused, fresh)).toBe(true);
  });
});

describe("properties of simulated streams", () => {
  test("verify (spec and restore), round-trip, end with the guest's memory; the policy bounds the passes", async () => {
    await fc.assert(
      fc.asyncProperty(options, async (o) => {
        const guest = syntheticGuest({ memoryMiB: o.memoryMiB, guest: o.guest, vcpus: o.vcpus, seed: o.seed });
        const run = simulateMigration({ guest, dirty: o.dirty, bandwidth: o.bandwidth, policy: o.policy, seed: o.seed });
        const { report } = run;
        const bytes = await collect(run.chunks({ chunkSize: 1 << 16 }));
        expect(bytes.length).toBe(report.streamBytes);
        for (const profile of ["spec", "restore"] as const) {
          const verdict = verifyStream(bytes, { profile });
          expect(verdict.findings.filter((f) => f.severity === "error")).toEqual([]);
          expect(verdict.ok).toBe(true);
        }
        expect(sameBytes(encodeSaveFile(decodeSaveFile(bytes)), bytes)).toBe(true);
        expect(memoryMismatch(bytes, guest)).toBeUndefined();

        // Pass count as Xen's loop bounds it.
        const maxIterations = o.policy.maxIterations ?? SPP_MAX_ITERATIONS;
        const target = o.policy.targetDirtyCount ?? SPP_TARGET_DIRTY_COUNT;
        expect(report.passes.length).toBe(report.livePasses + 1);
        expect(report.livePasses).toBeGreaterThanOrEqual(1);
        expect(report.livePasses).toBeLessThanOrEqual(Math.max(1, maxIterations));
        // A pass in which nothing was dirtied sends nothing and is no pass
        // (send_memory_live sends only when dirty_count > 0), so hitting
        // max_iterations means that many passes only when each had pages.
        const deciding = report.decidingStats;
        const quietPass = report.livePasses < deciding.iteration;
        if (report.stopReason === "max-iterations" && !quietPass) expect(report.livePasses).toBe(Math.max(1, maxIterations));
        if (report.stopReason === "target-dirty-count") expect(deciding.dirtyCount >= 0 && deciding.dirtyCount < target).toBe(true);
        if (report.stopReason === "max-iterations") expect(deciding.iteration).toBeGreaterThanOrEqual(maxIterations);
        if (report.livePasses < Math.max(1, maxIterations) && !quietPass) expect(report.stopReason).not.toBe("max-iterations");
        if (o.policy.maxFactor === undefined) expect(report.stopReason).not.toBe("max-factor");

        // The stream's own pass structure: what the report says, cut as Xen cuts it.
        const profile = profileOf(bytes);
        const sent = report.passes.filter((p) => p.pfns > 0);
        expect(profile.passes.map((p) => p.pfns)).toEqual(sent.map((p) => p.pfns));
        for (const [i, pass] of profile.passes.entries()) {
          expect(pass.batchSizes.slice(0, -1).every((n) => n === MAX_BATCH_SIZE)).toBe(true);
          if (i > 0) expect(pass.xtabRuns).toEqual([]);
        }
      }),
      { numRuns: 8 },
    );
  }, 120_000);
});

describe("a real save file as the source", () => {
  for (const name of ["xen-4.17-pv-save.skel.xl", "xen-4.17-hvm-save.skel.xl", "xen-4.17-pvh-save.skel.xl"]) {
    test(`${name}: the stream verifies, keeps the records, ends with the file's memory`, async () => {
      const file = new Uint8Array(readFileSync(new URL(name, CAPTURED)));
      const guest = guestFromSaveFile(file, { chunkSize: 1000 });
      const run = simulateMigration({ guest, dirty: { kind: "hot", hotPages: 3, hotPagesPerSecond: 1e9 }, policy: { targetDirtyCount: 0 } });
      const bytes = await collect(run.chunks());
      for (const profile of ["spec", "restore"] as const) expect(verifyStream(bytes, { profile }).ok).toBe(true);
      expect(memoryMismatch(bytes, guest)).toBeUndefined();
      const source = profileOf(file);
      const simulated = profileOf(bytes);
      // The records around the memory are the file's, in its order; the memory is now several passes.
      const strip = (order: string[]) => order.filter((type, i) => type !== "libxc:PAGE_DATA*" || order[i - 1] !== "libxc:PAGE_DATA*");
      expect(strip(simulated.recordOrder)).toEqual(strip(source.recordOrder));
      expect(simulated.passes.length).toBe(SPP_MAX_ITERATIONS + 1);
    });
  }

  test("a bare libxc stream as the source gives a bare libxc stream", async () => {
    const decoded = decodeSaveFile(new Uint8Array(readFileSync(new URL("xen-4.17-pv-save.skel.xl", CAPTURED))));
    if (decoded.format !== "libxl") throw new Error("expected a libxl save file");
    const part = decoded.stream.items.find((item) => item.type === "LIBXC_STREAM");
    if (part?.type !== "LIBXC_STREAM") throw new Error("expected a libxc stream");
    const libxc = encodeLibxcStream(part.stream);
    const guest = guestFromSaveFile(libxc);
    expect(guest.template.format).toBe("libxc");
    const bytes = await collect(simulateMigration({ guest, dirty: { kind: "uniform", pagesPerSecond: 1e9 }, policy: { targetDirtyCount: 0, maxIterations: 2 } }).chunks());
    expect(detectFormat(bytes)).toBe("libxc");
    for (const profile of ["spec", "restore"] as const) expect(verifyStream(bytes, { profile, format: "libxc" }).ok).toBe(true);
    expect(memoryMismatch(bytes, guest)).toBeUndefined();
    expect(profileOf(bytes).passes.map((p) => p.pfns)).toEqual([4, 4, 4]);
  });

  test("a multi-pass stream as the source: the last copy of each pfn wins", async () => {
    const synthetic = syntheticGuest({ memoryMiB: 2, guest: "pvh", seed: 5 });
    const first = await collect(simulateMigration({ guest: synthetic, dirty: { kind: "uniform", pagesPerSecond: 1e6 } }).chunks());
    const guest = guestFromSaveFile(first, { chunkSize: 65536 });
    expect(guest.p2mSize).toBe(synthetic.p2mSize);
    expect(guest.populatedPages).toBe(synthetic.populatedPages);
    expect(memoryMismatch(first, guest)).toBeUndefined();
    const second = await collect(simulateMigration({ guest, dirty: { kind: "uniform", pagesPerSecond: 2e5 }, seed: 9 }).chunks());
    expect(memoryMismatch(second, synthetic)).toBeUndefined();
  });

  test("a VERIFY (debug) source is UNSUPPORTED; a stream without memory too", () => {
    const file = new Uint8Array(readFileSync(new URL("xen-4.17-pvh-save.skel.xl", CAPTURED)));
    const decoded = decodeSaveFile(file);
    if (decoded.format !== "libxl") throw new Error("expected a libxl save file");
    const part = decoded.stream.items.find((item) => item.type === "LIBXC_STREAM");
    if (part?.type !== "LIBXC_STREAM") throw new Error("expected a libxc stream");
    const records = part.stream.records;
    const noMemory = records.filter((r) => r.type !== "PAGE_DATA");
    part.stream.records = noMemory;
    expect(thrown(() => guestFromSaveFile(encodeSaveFile(decoded))).code).toBe("UNSUPPORTED");
    part.stream.records = [...records.slice(0, -1), { type: "VERIFY" }, { type: "END" }];
    expect(thrown(() => guestFromSaveFile(encodeSaveFile(decoded))).code).toBe("UNSUPPORTED");
  });

  test("a pfn at or above maxP2mSize is UNSUPPORTED at its PAGE_DATA entry (never a RangeError)", () => {
    const file = new Uint8Array(readFileSync(new URL("xen-4.17-pv-save.skel.xl", CAPTURED)));
    let pageData = -1;
    for (const event of new SaveFileDecoder().push(file)) {
      if (event.layer === "libxc" && event.kind === "record" && event.record.type === "PAGE_DATA") pageData = event.offset;
    }
    const error = thrown(() => guestFromSaveFile(file, { maxP2mSize: 2 }));
    expect([error.code, error.offset]).toEqual(["UNSUPPORTED", pageData + 16 + 8 * 2]);
    expect(error.message).toContain("maxP2mSize 2");
    expect(guestFromSaveFile(file, { maxP2mSize: 4 }).p2mSize).toBe(4);
    // A valid stream naming pfn 2^52 - 1 (spec-vectors libxc/valid/extremes).
    const extremes = new Uint8Array(readFileSync(new URL("../../spec-vectors/libxc/valid/extremes.bin", import.meta.url)));
    expect(thrown(() => guestFromSaveFile(extremes)).code).toBe("UNSUPPORTED");
    for (const maxP2mSize of [0, 1.5, 2 ** 32 + 1]) expect(thrown(() => guestFromSaveFile(file, { maxP2mSize })).code).toBe("USAGE");
  });

  test("pages absent from the source are XTAB entries of the first pass only", async () => {
    const guest = syntheticGuest({ memoryMiB: 1, guest: "hvm" });
    expect(guest.types[0x10]).toBe(PageType.XTAB);
    expect(guest.types[0xa0]).toBe(PageType.XTAB);
    expect(guest.types[0xff]).toBe(PageType.NOTAB);
    const bytes = await collect(simulateMigration({ guest, dirty: { kind: "uniform", pagesPerSecond: 1e7 } }).chunks());
    const profile = profileOf(bytes);
    expect(profile.passes[0]?.xtabRuns.slice(0, 3)).toEqual([
      [0x10, 1],
      [0xa0, 0x20],
      [0x100, 0x400 - 0x100], // runs stop at batch boundaries
    ]);
  });
});

describe("what-if tables", () => {
  const guest = syntheticGuest({ memoryMiB: 4, guest: "pvh" });
  const base = { guest, dirty: { kind: "hot", hotPages: 100, hotPagesPerSecond: 5e5 } as DirtyModel };

  test("whatIfGrid: every combination, the first parameter varying slowest", () => {
    expect(whatIfGrid({ maxIterations: [1, 2], bandwidth: [10, 20] })).toEqual([
      { maxIterations: 1, bandwidth: 10 },
      { maxIterations: 1, bandwidth: 20 },
      { maxIterations: 2, bandwidth: 10 },
      { maxIterations: 2, bandwidth: 20 },
    ]);
    expect(whatIfGrid({})).toEqual([{}]);
  });

  test("each row is the loop run with that row's values", () => {
    const rows = whatIf(base, whatIfGrid({ maxIterations: [0, 2, 7], targetDirtyCount: [50, 1000] }));
    for (const row of rows) {
      const { report } = runLiveLoop({ ...base, policy: { maxIterations: row.maxIterations as number, targetDirtyCount: row.targetDirtyCount as number } });
      expect(row).toEqual({
        maxIterations: row.maxIterations,
        targetDirtyCount: row.targetDirtyCount,
        maxFactor: undefined,
        bandwidth: 125e6,
        passes: report.passes.length,
        livePasses: report.livePasses,
        stopReason: report.stopReason,
        memoryBytes: report.memoryBytes,
        streamBytes: report.streamBytes,
        downtimePages: report.passes[report.passes.length - 1]?.pages,
        downtimeSeconds: report.downtimeSeconds,
        totalSeconds: report.totalSeconds,
      });
    }
    // A hot set of 100 pages never drops below 50: the iteration limit decides, and a target of 1000 stops at once.
    expect(rows.map((r) => [r.passes, r.stopReason])).toEqual([
      [2, "max-iterations"],
      [2, "max-iterations"],
      [3, "max-iterations"],
      [3, "target-dirty-count"],
      [8, "max-iterations"],
      [3, "target-dirty-count"],
    ]);
  });

  test("a policy function cannot be varied", () => {
    expect(thrown(() => whatIf({ guest, policy: () => XGS_POLICY_STOP_AND_COPY }, [{}])).code).toBe("USAGE");
  });
});
