// The loops before 4.17 (guides/live-loop.md "Who decides what"): the
// 4.6-4.9 v2 saver's hard-coded max_iterations 5 / dirty_threshold 50 loop
// gives the passes of 4.17's loop with maxIterations 5 and
// targetDirtyCount 51; 4.17's defaults stop only below 50.
import { describe, expect, test } from "vitest";
import { LEGACY_DEF_MAX_FACTOR, LEGACY_DEF_MAX_ITERS, runLiveLoop, syntheticGuest } from "../../src/simulate/index.js";

/**
 * RELEASE-4.6.0 tools/libxc/xc_sr_save.c send_memory_live(), over the
 * dirty counts a guest gives: the full pass, then `for (x = 1; x <
 * max_iterations && dirty_count > dirty_threshold; ++x)` CLEAN, break on
 * 0, send. Returns the pfn count of every live pass.
 */
function loop46(p2mSize: number, dirtyCount: () => number): number[] {
  const maxIterations = 5; // ctx.save.max_iterations
  const dirtyThreshold = 50; // ctx.save.dirty_threshold
  const passes = [p2mSize];
  let count = p2mSize;
  for (let x = 1; x < maxIterations && count > dirtyThreshold; ++x) {
    count = dirtyCount();
    if (count === 0) break;
    passes.push(count);
  }
  return passes;
}

describe("the 4.6-4.9 loop against 4.17's", () => {
  const guest = syntheticGuest({ memoryMiB: 2, guest: "pvh" });
  // A hot set written far faster than a pass takes: every log-dirty read returns all of it.
  test.each([0, 1, 49, 50, 51, 300])("a hot set of %i pages", (hotPages) => {
    const dirty = { kind: "hot", hotPages, hotPagesPerSecond: 1e12 } as const;
    const live = (policy: { maxIterations?: number; targetDirtyCount?: number }) =>
      runLiveLoop({ guest, dirty, policy }).report.passes.filter((p) => p.phase === "live").map((p) => p.pfns);
    const old = loop46(guest.p2mSize, () => hotPages);
    expect(live({ maxIterations: 5, targetDirtyCount: 51 })).toEqual(old);
    // 4.17's defaults differ exactly at 50: 4.6 stopped at <= 50, 4.17 goes on until below 50.
    const current = live({});
    if (hotPages === 50) {
      expect(old).toEqual([guest.p2mSize, 50]);
      expect(current).toEqual([guest.p2mSize, 50, 50, 50, 50]);
    } else expect(current).toEqual(old);
  });

  test("4.5's values are only values: 4.17's loop runs them", () => {
    expect([LEGACY_DEF_MAX_ITERS, LEGACY_DEF_MAX_FACTOR]).toEqual([29, 3]);
    const { report } = runLiveLoop({ guest, dirty: { kind: "hot", hotPages: 300, hotPagesPerSecond: 1e12 }, policy: { maxIterations: LEGACY_DEF_MAX_ITERS, maxFactor: LEGACY_DEF_MAX_FACTOR } });
    // 4.17's policy: the limit counts policy iterations, and the factor stops once total_written > 3 x p2m_size.
    expect(report.stopReason).toBe("max-iterations");
    expect(report.livePasses).toBe(LEGACY_DEF_MAX_ITERS);
  });
});
