// The two real Xen 4.17 live migrations (../shared/real-xen/live: PVH and
// HVM, page contents zeroed) against simulated ones:
// - replaying a capture's own dirty sets over its own memory rebuilds the
//   capture byte for byte (everything before xl's 44-byte "domain is
//   yours" message), so the model cuts batches, places XTAB entries, orders
//   records and ends the loop exactly as Xen's saver did;
// - a synthetic guest of the same size and type looks alike: the same
//   record order, the same first pass (batches and holes), the later passes
//   one short ascending batch each without holes, the same pass count.
//
// The captures are decompressed with `xz` into a temporary directory. When
// they or xz are missing the suite is skipped, except under CI=true.
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { MAX_BATCH_SIZE } from "../../src/constants.js";
import { verifyStream } from "../../src/verify/index.js";
import { SPP_MAX_ITERATIONS, guestFromSaveFile, runLiveLoop, simulateMigration, syntheticGuest, type CaptureProfile } from "../../src/simulate/index.js";
import { collect, profileOf } from "./helpers.js";

const LIVE = process.env.XEN_LIVE_CAPTURES ?? "/work/shared/real-xen/live";
/** xl_migrate.c migrate_domain(): the sender's last message after the libxl stream. */
const XL_MIGRATE_TRAILER = "domain is yours, you are cleared to unpause\0";

const haveXz = spawnSync("xz", ["--version"]).status === 0;
const haveCaptures = existsSync(join(LIVE, "xen-4.17-pvh-migrate.zeroed.capture.xz"));
const available = haveXz && haveCaptures;
if (!available && process.env.CI !== "true") console.log("capture comparison skipped: needs xz and ../shared/real-xen/live");

test.runIf(!available && process.env.CI === "true")("the live captures and xz are present under CI", () => {
  expect.fail("CI=true but the live captures or xz are missing");
});

const dir = available ? mkdtempSync(join(tmpdir(), "xen-live-")) : "";
afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** The capture's stream (its xl trailer checked and cut off). */
function capture(name: string): Uint8Array {
  const out = join(dir, name);
  const fd = openSync(out, "w");
  const result = spawnSync("xz", ["-dc", join(LIVE, `${name}.xz`)], { stdio: ["ignore", fd, "pipe"] });
  closeSync(fd);
  if (result.status !== 0) throw new Error(`xz failed on ${name}: ${String(result.stderr)}`);
  const bytes = new Uint8Array(readFileSync(out));
  rmSync(out);
  const trailer = bytes.subarray(bytes.length - XL_MIGRATE_TRAILER.length);
  expect(String.fromCharCode(...trailer)).toBe(XL_MIGRATE_TRAILER);
  return bytes.subarray(0, bytes.length - XL_MIGRATE_TRAILER.length);
}

/** Byte-for-byte comparison of a chunk stream with `expected`, without collecting it. */
async function firstDifference(chunks: AsyncIterable<Uint8Array>, expected: Uint8Array): Promise<number | undefined> {
  let offset = 0;
  for await (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i++) if (chunk[i] !== expected[offset + i]) return offset + i;
    offset += chunk.length;
  }
  return offset === expected.length ? undefined : offset;
}

/** The structure the comparison looks at: everything but the later passes' pfns. */
function shape(profile: CaptureProfile) {
  return {
    recordOrder: profile.recordOrder,
    p2mSize: profile.p2mSize,
    firstPass: { batchSizes: profile.passes[0]?.batchSizes, xtabRuns: profile.passes[0]?.xtabRuns, dataPages: profile.passes[0]?.dataPages },
    laterPasses: profile.passes.slice(1).map((p) => ({ batches: p.batchSizes.length, short: p.batchSizes.every((n) => n < MAX_BATCH_SIZE), holes: p.xtabRuns.length })),
  };
}

const CASES = [
  { name: "xen-4.17-pvh-migrate.zeroed.capture", guest: "pvh" as const, passes: 6, stop: "max-iterations", finalPages: 493 },
  { name: "xen-4.17-hvm-migrate.zeroed.capture", guest: "hvm" as const, passes: 5, stop: "target-dirty-count", finalPages: 477 },
];

describe.runIf(available)("the default suspendDirtyPages comes from the captures", () => {
  test("485 = the mean of their stop-and-copy passes (493 PVH, 477 HVM), which hold the xenstore ring", () => {
    const finals = CASES.map((c) => {
      const passes = profileOf(capture(c.name)).passes;
      const last = passes[passes.length - 1];
      expect(last?.dataPages).toBe(c.finalPages);
      expect(last?.dirtyPfns?.includes(0xf_effc)).toBe(true); // HVM_PARAM_STORE_PFN
      return c.finalPages;
    });
    const idle = runLiveLoop({ guest: syntheticGuest({ memoryMiB: 8, guest: "pvh" }) }).report;
    expect(idle.passes[idle.passes.length - 1]?.pages).toBe((finals[0] as number + (finals[1] as number)) / 2);
  }, 60_000);
});

describe.runIf(available)("real live migrations", () => {
  for (const c of CASES) {
    describe(c.name, () => {
      let bytes: Uint8Array | undefined;
      let profile: CaptureProfile | undefined;
      const load = (): { bytes: Uint8Array; profile: CaptureProfile } => {
        bytes ??= capture(c.name);
        profile ??= profileOf(bytes);
        return { bytes, profile };
      };

      test("what the capture is: passes, batches, holes (the facts in guides/live-loop.md)", () => {
        const { profile: p } = load();
        expect(p.passes.length).toBe(c.passes);
        expect(p.p2mSize).toBe(0xff000);
        // First pass: every pfn below p2m_size in 1020 batches of exactly 1024.
        expect(p.passes[0]?.batchSizes).toEqual(new Array(1020).fill(MAX_BATCH_SIZE));
        // Later passes: dirty pages only, one short batch each, no holes.
        for (const pass of p.passes.slice(1)) {
          expect(pass.batchSizes.length).toBe(1);
          expect(pass.xtabRuns).toEqual([]);
        }
        expect(p.recordOrder.slice(0, 5)).toEqual(["libxl:LIBXC_CONTEXT", "libxc:X86_CPUID_POLICY", "libxc:X86_MSR_POLICY", "libxc:STATIC_DATA_END", "libxc:PAGE_DATA*"]);
      });

      test("replaying its dirty sets over its memory rebuilds it byte for byte", async () => {
        const { bytes: b, profile: p } = load();
        const guest = guestFromSaveFile(b);
        const run = simulateMigration({ guest, dirty: { kind: "replay", capture: p } });
        expect(run.report.passes.length).toBe(c.passes);
        expect(run.report.stopReason).toBe(c.stop);
        expect(run.report.streamBytes).toBe(b.length);
        expect(await firstDifference(run.chunks({ reuseBuffer: true }), b)).toBeUndefined();
      }, 60_000);

      test("a synthetic guest of the same size looks alike", async () => {
        const { profile: p } = load();
        const guest = syntheticGuest({ memoryMiB: 128, guest: c.guest });
        // Its own dirty model (hot working set) under Xen's default policy ...
        const hot = simulateMigration({ guest, dirty: { kind: "hot", hotPages: 400, hotPagesPerSecond: 4e6, coldPagesPerSecond: 2e3 }, bandwidth: 1.25e9 });
        const hotBytes = await collect(hot.chunks());
        expect(verifyStream(hotBytes, { profile: "restore" }).ok).toBe(true);
        const hotShape = shape(profileOf(hotBytes));
        const real = shape(p);
        expect(hotShape.recordOrder.filter((r) => r !== "libxc:PAGE_DATA*")).toEqual(real.recordOrder.filter((r) => r !== "libxc:PAGE_DATA*"));
        expect(hotShape.firstPass).toEqual(real.firstPass);
        expect(hotShape.p2mSize).toBe(real.p2mSize);
        expect(hotShape.laterPasses.every((pass) => pass.short && pass.holes === 0 && pass.batches === 1)).toBe(true);
        expect(hot.report.passes.length).toBe(SPP_MAX_ITERATIONS + 1);
        // ... and the capture's own dirty sets: the same pass structure throughout.
        const replay = simulateMigration({ guest, dirty: { kind: "replay", capture: p } });
        const replayShape = shape(profileOf(await collect(replay.chunks())));
        expect(replayShape).toEqual(real);
      }, 60_000);
    });
  }
});
