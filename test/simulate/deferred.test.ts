// Deferred pages of PV guests (xg_sr_save.c write_batch(),
// suspend_and_send_dirty()): a ballooned pfn (INVALID_MFN) is an XTAB
// entry of pass 0 and of the stop-and-copy pass; a page table that does
// not normalise while the guest runs (EAGAIN) is XTAB in the live passes
// it appears in and sent with its real type and data in the final pass.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { GuestMemory, decodeSaveFile, encodeSaveFile, type LibxcRecord } from "../../src/index.js";
import { PageType } from "../../src/constants.js";
import { verifyStream } from "../../src/verify/index.js";
import { guestFromSaveFile, simulateMigration, syntheticGuest, type DirtyModel } from "../../src/simulate/index.js";
import { pvGuestLayout } from "../../src/simulate/pv-guest.js";
import { thrown } from "../helpers/errors.js";
import { collect, memoryMismatch, profileOf, sameBytes } from "./helpers.js";

/** The PAGE_DATA entries of every pass: pfn -> type, in pass order (a pass ends where pfns stop ascending). */
function passEntries(bytes: Uint8Array): Array<Map<number, number>> {
  const file = decodeSaveFile(bytes);
  if (file.format !== "libxl") throw new Error("expected a libxl stream");
  const part = file.stream.items.find((item) => item.type === "LIBXC_STREAM");
  if (part?.type !== "LIBXC_STREAM") throw new Error("no libxc stream");
  const passes: Array<Map<number, number>> = [];
  let last = Infinity;
  for (const record of part.stream.records as LibxcRecord[]) {
    if (record.type !== "PAGE_DATA") continue;
    for (const entry of record.entries) {
      if (entry.pfn <= last) passes.push(new Map());
      (passes[passes.length - 1] as Map<number, number>).set(entry.pfn, entry.type);
      last = entry.pfn;
    }
  }
  return passes;
}

describe("PV deferred pages", () => {
  const memoryMiB = 4;
  const layout = pvGuestLayout(memoryMiB * 256, 2);
  const ballooned = Array.from({ length: 40 }, (_, i) => layout.gdtBase - 40 + i);
  const tables = [layout.p2mBase - 3, layout.p2mBase - 2, layout.p2mBase - 1]; // the top three page tables: the L2, then the two L1s
  const guest = syntheticGuest({ memoryMiB, guest: "pv", balloonedPages: 40, deferredPageTables: 3 });

  test("the guest: ballooned pfns XTAB, the deferred tables typed; deferredPfns lists both", () => {
    expect(Array.from(guest.deferredPfns ?? [])).toEqual([...ballooned, ...tables]);
    for (const pfn of ballooned) expect(guest.types[pfn]).toBe(PageType.XTAB);
    expect(tables.map((pfn) => guest.types[pfn])).toEqual([PageType.L2TAB, PageType.L1TAB, PageType.L1TAB]);
    expect(guest.populatedPages).toBe(memoryMiB * 256 - 40);
    expect(syntheticGuest({ memoryMiB, guest: "pv" }).deferredPfns).toBeUndefined();
  });

  test("pass 0 has every deferred pfn as XTAB; the stop-and-copy pass sends them again, tables with their type", async () => {
    const run = simulateMigration({ guest, dirty: { kind: "uniform", pagesPerSecond: 3e4 } });
    const bytes = await collect(run.chunks());
    const passes = passEntries(bytes);
    expect(passes.length).toBe(run.report.passes.length);
    expect(run.report.deferredPages).toBe(43);
    const first = passes[0] as Map<number, number>;
    const final = passes[passes.length - 1] as Map<number, number>;
    for (const pfn of [...ballooned, ...tables]) {
      expect([pfn, first.get(pfn)]).toEqual([pfn, PageType.XTAB]);
      expect([pfn, final.get(pfn)]).toEqual([pfn, guest.types[pfn]]);
    }
    // In the live passes between, a ballooned pfn never appears (log-dirty has no frame for it), a deferred table only as XTAB.
    for (const pass of passes.slice(1, -1)) {
      for (const pfn of ballooned) expect(pass.has(pfn)).toBe(false);
      for (const pfn of tables) if (pass.has(pfn)) expect(pass.get(pfn)).toBe(PageType.XTAB);
    }
    // The report counts them as Xen writes them: pass 0's data pages leave both kinds out, the final pass has the tables' data.
    expect(run.report.passes[0]?.pages).toBe(memoryMiB * 256 - 43);
    const last = run.report.passes[run.report.passes.length - 1];
    expect(last?.pfns).toBe(final.size);
    expect(last?.pages).toBe([...final.values()].filter((type) => type !== PageType.XTAB).length);
    expect(bytes.length).toBe(run.report.streamBytes);
    expect(profileOf(bytes).passes.map((p) => p.pfns)).toEqual(run.report.passes.filter((p) => p.pfns > 0).map((p) => p.pfns));
    for (const profile of ["spec", "restore"] as const) expect(verifyStream(bytes, { profile }).findings.filter((f) => f.severity === "error")).toEqual([]);
    expect(memoryMismatch(bytes, guest)).toBeUndefined();
    expect(sameBytes(encodeSaveFile(decodeSaveFile(bytes)), bytes)).toBe(true);
  });

  test("an idle guest's stop-and-copy pass is exactly its deferred pfns: downtime is not memory-free", async () => {
    const run = simulateMigration({ guest, dirty: { kind: "idle" }, suspendDirtyPages: 0 });
    const passes = passEntries(await collect(run.chunks()));
    expect(passes.length).toBe(2);
    expect([...(passes[1] as Map<number, number>).entries()]).toEqual([...ballooned, ...tables].map((pfn) => [pfn, guest.types[pfn]]));
    const final = run.report.passes[1];
    expect([final?.dirtyCount, final?.pfns, final?.pages, final?.batches]).toEqual([0, 43, 3, 1]);
    // One PAGE_DATA record: header 16, 43 pfns, 3 pages.
    expect(final?.bytes).toBe(16 + 43 * 8 + 3 * 4096);
  });

  test("ballooned pfns are not mapped, their p2m entries are INVALID_MFN; the rest translates", async () => {
    const bytes = await collect(simulateMigration({ guest }).chunks());
    const memory = GuestMemory.fromBytes(bytes);
    expect(memory.pageCount).toBe(memoryMiB * 256 - 40);
    const directMap = 0xffff_8880_0000_0000n;
    const mapped = (pfn: number) => {
      try {
        return memory.translate(directMap + BigInt(pfn) * 4096n).physicalAddress;
      } catch {
        return undefined;
      }
    };
    expect(mapped(ballooned[0] as number)).toBeUndefined();
    expect(mapped((ballooned[0] as number) - 1)).toBe(BigInt((ballooned[0] as number) - 1) * 4096n);
    const entry = (pfn: number) => {
      const frame = new Uint8Array(4096);
      guest.copyPage(layout.p2mBase + Math.floor(pfn / 512), frame, 0);
      return new DataView(frame.buffer).getBigUint64((pfn % 512) * 8, true);
    };
    expect(entry(ballooned[0] as number)).toBe(0xffff_ffff_ffff_ffffn);
    expect(entry((ballooned[0] as number) - 1)).toBe(0x20_0000n + BigInt((ballooned[0] as number) - 1));
  });

  test("a PV save file with XTAB pfns as the source: they are deferred again", async () => {
    const first = await collect(simulateMigration({ guest, dirty: { kind: "uniform", pagesPerSecond: 1e4 } }).chunks());
    const source = guestFromSaveFile(first);
    expect(Array.from(source.deferredPfns ?? [])).toEqual(ballooned);
    const passes = passEntries(await collect(simulateMigration({ guest: source, suspendDirtyPages: 0 }).chunks()));
    expect([...(passes[passes.length - 1] as Map<number, number>).keys()]).toEqual(ballooned);
    // HVM holes are never deferred.
    expect(guestFromSaveFile(await collect(simulateMigration({ guest: syntheticGuest({ memoryMiB: 1, guest: "hvm" }) }).chunks())).deferredPfns).toBeUndefined();
  });

  test("USAGE: not PV, negative, more than the guest has", () => {
    expect(thrown(() => syntheticGuest({ memoryMiB: 4, guest: "hvm", balloonedPages: 1 })).message).toContain("balloonedPages is for PV guests only");
    expect(thrown(() => syntheticGuest({ memoryMiB: 4, guest: "pvh", deferredPageTables: 1 })).code).toBe("USAGE");
    expect(thrown(() => syntheticGuest({ memoryMiB: 4, guest: "pv", balloonedPages: -1 })).code).toBe("USAGE");
    expect(thrown(() => syntheticGuest({ memoryMiB: 4, guest: "pv", deferredPageTables: 1.5 })).code).toBe("USAGE");
    const tableCount = layout.p2mBase - layout.kernelL4;
    expect(thrown(() => syntheticGuest({ memoryMiB: 4, guest: "pv", deferredPageTables: tableCount + 1 })).message).toContain(`deferredPageTables must be 0..${tableCount}`);
    expect(syntheticGuest({ memoryMiB: 4, guest: "pv", deferredPageTables: tableCount }).deferredPfns?.length).toBe(tableCount);
    const most = layout.gdtBase - 4;
    expect(thrown(() => syntheticGuest({ memoryMiB: 4, guest: "pv", balloonedPages: most + 1 })).message).toContain(`balloonedPages must be 0..${most}`);
    expect(syntheticGuest({ memoryMiB: 4, guest: "pv", balloonedPages: most }).populatedPages).toBe(memoryMiB * 256 - most);
  });

  test("property: streams of PV guests with deferred pages verify, round-trip and end with the guest's memory", async () => {
    const dirty: fc.Arbitrary<DirtyModel> = fc.oneof(
      fc.constant<DirtyModel>({ kind: "idle" }),
      fc.record({ kind: fc.constant("uniform" as const), pagesPerSecond: fc.double({ min: 0, max: 1e6, noNaN: true }) }),
      fc.record({ kind: fc.constant("hot" as const), hotPages: fc.integer({ min: 0, max: 300 }), hotPagesPerSecond: fc.double({ min: 0, max: 1e8, noNaN: true }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 6 }), dirty, fc.integer({ min: 0, max: 1000 }), async (mib, b, d, model, seed) => {
        const l = pvGuestLayout(mib * 256, 2);
        const pv = syntheticGuest({ memoryMiB: mib, guest: "pv", balloonedPages: Math.min(b, l.gdtBase - 4), deferredPageTables: Math.min(d, l.p2mBase - l.kernelL4), seed });
        const run = simulateMigration({ guest: pv, dirty: model, seed });
        const bytes = await collect(run.chunks({ chunkSize: 1 << 15 }));
        expect(bytes.length).toBe(run.report.streamBytes);
        for (const profile of ["spec", "restore"] as const) expect(verifyStream(bytes, { profile }).ok).toBe(true);
        expect(sameBytes(encodeSaveFile(decodeSaveFile(bytes)), bytes)).toBe(true);
        expect(memoryMismatch(bytes, pv)).toBeUndefined();
      }),
      { numRuns: 10 },
    );
  }, 60_000);
});
