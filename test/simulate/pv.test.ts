// Synthetic x86 64-bit PV guests (syntheticGuest({ guest: "pv" })): the
// records in the order Xen 4.17's PV saver writes them, page tables as
// normalise_pagetable() leaves them (pfns, Xen's L4 slots cleared, typed
// and reachable from every vCPU's cr3), vCPU state with pfns, the p2m
// list the P2M frames name, and PV save files as sources.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  checkPvVcpuContents,
  decodePvVcpuBasic,
  decodeSaveFile,
  decodeSharedInfo,
  encodeSaveFile,
  GuestMemory,
  type LibxcRecord,
} from "../../src/index.js";
import { DomainType, PageType } from "../../src/constants.js";
import { verifyStream } from "../../src/verify/index.js";
import { guestFromSaveFile, runLiveLoop, simulateMigration, syntheticGuest, type DirtyModel } from "../../src/simulate/index.js";
import { pvGuestLayout, pvSpecialPage } from "../../src/simulate/pv-guest.js";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";
import { collect, memoryMismatch, profileOf, sameBytes } from "./helpers.js";

function libxcRecords(bytes: Uint8Array): LibxcRecord[] {
  const file = decodeSaveFile(bytes);
  if (file.format === "libxc") return file.stream.records;
  const part = file.stream.items.find((item) => item.type === "LIBXC_STREAM");
  if (part?.type !== "LIBXC_STREAM") throw new Error("no libxc stream");
  return part.stream.records;
}

/** The last type and page of every pfn (what a restore ends with). */
function finalMemory(records: LibxcRecord[]): { types: Map<number, number>; pages: Map<number, Uint8Array> } {
  const types = new Map<number, number>();
  const pages = new Map<number, Uint8Array>();
  for (const record of records) {
    if (record.type !== "PAGE_DATA") continue;
    let pos = 0;
    for (const entry of record.entries) {
      types.set(entry.pfn, entry.type);
      if (entry.type !== PageType.XTAB) {
        pages.set(entry.pfn, record.pages.subarray(pos, pos + 4096));
        pos += 4096;
      }
    }
  }
  return { types, pages };
}

const u64 = (page: Uint8Array, index: number): bigint => new DataView(page.buffer, page.byteOffset, page.byteLength).getBigUint64(8 * index, true);
const FRAME = 0x000f_ffff_ffff_f000n;
const DIRECT_MAP = 0xffff_8880_0000_0000n;
const LEVEL_OF: Record<number, number> = {
  [PageType.L1TAB]: 1,
  [PageType.L2TAB]: 2,
  [PageType.L3TAB]: 3,
  [PageType.L4TAB]: 4,
  [PageType.L1TAB_PINNED]: 1,
  [PageType.L2TAB_PINNED]: 2,
  [PageType.L3TAB_PINNED]: 3,
  [PageType.L4TAB_PINNED]: 4,
};

describe("a synthetic PV guest's stream", async () => {
  const memoryMiB = 4;
  const vcpus = 3;
  const pfns = memoryMiB * 256;
  const guest = syntheticGuest({ memoryMiB, guest: "pv", vcpus, seed: 11 });
  const run = simulateMigration({ guest, dirty: { kind: "hot", hotPages: 100, hotPagesPerSecond: 1e6, coldPagesPerSecond: 1e3 }, seed: 4 });
  const bytes = await collect(run.chunks());
  const records = libxcRecords(bytes);
  const memory = finalMemory(records);
  const gdtFrames = new Set(records.flatMap((r) => (r.type === "X86_PV_VCPU_BASIC" ? [Number(decodePvVcpuBasic(r.context, { guestWidth: 8 }).gdtFrames[0])] : [])));

  test("domain header X86_PV; the records of xg_sr_save.c save() with x86_pv_save_ops, in their order", () => {
    const file = decodeSaveFile(bytes);
    if (file.format !== "libxl") throw new Error("expected an xl save file");
    const part = file.stream.items.find((item) => item.type === "LIBXC_STREAM");
    if (part?.type !== "LIBXC_STREAM") throw new Error("no libxc stream");
    expect(part.stream.domainHeader).toEqual({ type: DomainType.X86_PV, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 });
    expect(run.report.domainType).toBe("X86_PV");
    const order = profileOf(bytes).recordOrder;
    const passes = run.report.passes.filter((p) => p.pfns > 0).length;
    expect(order).toEqual([
      "libxl:LIBXC_CONTEXT",
      "libxc:X86_PV_INFO",
      "libxc:X86_CPUID_POLICY",
      "libxc:X86_MSR_POLICY",
      "libxc:STATIC_DATA_END",
      "libxc:X86_PV_P2M_FRAMES",
      ...Array.from({ length: passes }, () => "libxc:PAGE_DATA*"),
      "libxc:X86_TSC_INFO",
      "libxc:SHARED_INFO",
      ...Array.from({ length: vcpus }, () => ["libxc:X86_PV_VCPU_BASIC", "libxc:X86_PV_VCPU_EXTENDED"]).flat(),
      "libxc:END",
      "libxl:END",
    ]);
    expect(records.filter((r) => r.type === "X86_PV_VCPU_BASIC").map((r) => r.type === "X86_PV_VCPU_BASIC" && r.vcpuId)).toEqual([0, 1, 2]);
    const info = records.find((r) => r.type === "X86_PV_INFO");
    expect(info).toEqual({ type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: new Uint8Array(6) });
  });

  test("every pfn 0..p2m_size-1 has a page; the first pass sends them all, without XTAB", () => {
    expect(guest.p2mSize).toBe(pfns);
    expect(guest.populatedPages).toBe(pfns);
    expect(memory.pages.size).toBe(pfns);
    expect([...memory.pages.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: pfns }, (_, i) => i));
    expect(profileOf(bytes).passes[0]?.xtabRuns).toEqual([]);
    expect(memoryMismatch(bytes, guest)).toBeUndefined();
  });

  test("X86_PV_P2M_FRAMES: pfns 0..max_pfn, one frame per 512 entries, and the frames hold the p2m (mfns; ~0 past max_pfn)", () => {
    const frames = records.find((r) => r.type === "X86_PV_P2M_FRAMES");
    if (frames?.type !== "X86_PV_P2M_FRAMES") throw new Error("no X86_PV_P2M_FRAMES");
    expect([frames.startPfn, frames.endPfn, frames.frames.length]).toEqual([0, pfns - 1, pfns / 512]);
    const mfns: bigint[] = [];
    for (const frame of frames.frames) {
      expect(memory.types.get(Number(frame))).toBe(PageType.NOTAB);
      const page = memory.pages.get(Number(frame)) as Uint8Array;
      for (let i = 0; i < 512; i++) mfns.push(u64(page, i));
    }
    expect(new Set(mfns).size).toBe(pfns);
    expect(mfns.includes(0xffff_ffff_ffff_ffffn)).toBe(false);
  });

  test("page tables: normalised (frames are pfns below p2m_size), Xen's L4 slots 256..272 clear, no superpages, each entry's target of the next level down", () => {
    const counts = new Map<number, number>();
    for (const type of memory.types.values()) counts.set(type, (counts.get(type) ?? 0) + 1);
    // 1024 pfns: 2 L1s, 1 L2, 1 L3, the kernel and the user L4 (pinned).
    expect(Object.fromEntries(counts)).toEqual({ [PageType.NOTAB]: pfns - 6, [PageType.L1TAB]: 2, [PageType.L2TAB]: 1, [PageType.L3TAB]: 1, [PageType.L4TAB_PINNED]: 2 });
    const mapped = new Map<number, number>();
    for (const [pfn, type] of memory.types) {
      const level = LEVEL_OF[type];
      if (level === undefined) continue;
      const page = memory.pages.get(pfn) as Uint8Array;
      for (let i = 0; i < 512; i++) {
        const pte = u64(page, i);
        if (level === 4 && i >= 256 && i <= 272) expect(pte).toBe(0n);
        if ((pte & 1n) === 0n) continue;
        const target = Number((pte & FRAME) >> 12n);
        expect(target).toBeLessThan(pfns);
        if (level > 1) {
          expect(pte & 0x80n).toBe(0n); // no PSE: the saver refuses superpages
          expect(LEVEL_OF[memory.types.get(target) as number]).toBe(level - 1);
        } else {
          mapped.set(target, (mapped.get(target) ?? 0) + 1);
          // Page tables and GDT frames are mapped read-only, other pages writable.
          expect((pte & 2n) === 0n).toBe(LEVEL_OF[memory.types.get(target) as number] !== undefined || gdtFrames.has(target));
        }
      }
    }
    // The direct map maps every pfn exactly once.
    expect(mapped.size).toBe(pfns);
    expect([...mapped.values()].every((n) => n === 1)).toBe(true);
  });

  test("vCPU state holds pfns: cr3 and cr1 pinned L4s, GDT frames, vCPU 0's start_info; restore's checks pass", () => {
    for (const record of records) {
      if (record.type !== "X86_PV_VCPU_BASIC" && record.type !== "X86_PV_VCPU_EXTENDED") continue;
      expect(checkPvVcpuContents(record.type, record.context, { guestWidth: 8, ptLevels: 4, vcpuId: record.vcpuId, maxVcpus: vcpus, maxPfn: pfns - 1 })).toEqual([]);
      if (record.type !== "X86_PV_VCPU_BASIC") continue;
      const context = decodePvVcpuBasic(record.context, { guestWidth: 8 });
      if (context.guestWidth !== 8) throw new Error("expected a 64-bit context");
      expect(memory.types.get(Number(context.cr3Pfn))).toBe(PageType.L4TAB_PINNED);
      expect(memory.types.get(Number(context.cr1Pfn))).toBe(PageType.L4TAB_PINNED);
      expect(context.cr1Pfn).not.toBe(context.cr3Pfn);
      expect(context.gdtEnts).toBe(16n);
      expect(memory.types.get(Number(context.gdtFrames[0]))).toBe(PageType.NOTAB);
      expect([context.userRegs.cs, context.userRegs.ss]).toEqual([0xe033, 0xe02b]);
      if (record.vcpuId !== 0) continue;
      const startInfo = memory.pages.get(Number(context.userRegs.rdx)) as Uint8Array;
      expect(Buffer.from(startInfo.subarray(0, 15)).toString("latin1")).toBe("xen-3.0-x86_64\0");
      expect(u64(startInfo, 4)).toBe(BigInt(pfns)); // nr_pages
      for (const pfn of [u64(startInfo, 7), u64(startInfo, 9)]) expect(memory.types.get(Number(pfn))).toBe(PageType.NOTAB); // store, console: pfns
    }
    expect(gdtFrames.size).toBe(vcpus);
  });

  test("shared info: max_pfn, and p2m_vaddr through the page tables reads the p2m list the P2M frames name", () => {
    const shared = records.find((r) => r.type === "SHARED_INFO");
    const frames = records.find((r) => r.type === "X86_PV_P2M_FRAMES");
    if (shared?.type !== "SHARED_INFO" || frames?.type !== "X86_PV_P2M_FRAMES") throw new Error("records missing");
    const info = decodeSharedInfo(shared.data, { guestWidth: 8 });
    if (info.guestWidth !== 8) throw new Error("expected a 64-bit shared info");
    expect(info.arch.maxPfn).toBe(BigInt(pfns));
    expect(info.vcpuInfo.map((slot) => slot.evtchnUpcallMask)).toEqual(Array.from({ length: 32 }, (_, i) => (i < vcpus ? 1 : 0)));
    const mem = GuestMemory.fromBytes(bytes);
    const list = mem.readVirtual(info.arch.p2mVaddr, frames.frames.length * 4096);
    for (const [i, frame] of frames.frames.entries()) {
      expect(sameBytes(list.subarray(i * 4096, (i + 1) * 4096), memory.pages.get(Number(frame)) as Uint8Array)).toBe(true);
    }
    // And the direct map, walked from every vCPU's cr3, puts each pfn at 0xffff888000000000 + pfn * 4096.
    for (let vcpu = 0; vcpu < vcpus; vcpu++) {
      for (const pfn of [0, 1, 511, 512, pfns - 1]) {
        expect(mem.translate(DIRECT_MAP + BigInt(pfn) * 4096n + 123n, { vcpu }).physicalAddress).toBe(BigInt(pfn) * 4096n + 123n);
      }
    }
  });

  test("verifies in both profiles; round-trips", () => {
    for (const profile of ["spec", "restore"] as const) expect(verifyStream(bytes, { profile }).findings).toEqual([]);
    expect(sameBytes(encodeSaveFile(decodeSaveFile(bytes)), bytes)).toBe(true);
  });
});

describe("the PV layout at its limits", () => {
  test("1 TiB, 128 vCPUs: 2^19 L1s, 1024 L2s, 2 L3s in L4 slots 273 and 274, 2^19 p2m frames", () => {
    const pages = 2 ** 28;
    const layout = pvGuestLayout(pages, 128);
    expect([layout.l1Count, layout.l2Count, layout.l3Count, layout.p2mFrames]).toEqual([2 ** 19, 1024, 2, 2 ** 19]);
    expect(layout.p2mBase + layout.p2mFrames).toBe(pages);
    const page = new Uint8Array(4096);
    expect(pvSpecialPage(layout, layout.kernelL4, page, 0)).toBe(true);
    const present = Array.from({ length: 512 }, (_, i) => [i, u64(page, i)] as const).filter(([, pte]) => pte !== 0n);
    expect(present.map(([i, pte]) => [i, Number((pte & FRAME) >> 12n)])).toEqual([
      [273, layout.l3Base],
      [274, layout.l3Base + 1],
    ]);
    // The last L1 maps the top pfns, NX, read-only for none of them (they are p2m frames).
    expect(pvSpecialPage(layout, layout.l1Base + layout.l1Count - 1, page, 0)).toBe(true);
    expect(u64(page, 511)).toBe(0x8000_0000_0000_0163n | (BigInt(pages - 1) << 12n));
    expect(pvSpecialPage(layout, 0, page, 0)).toBe(false);
  });

  test("1 MiB with 128 vCPUs fits (256 pfns)", async () => {
    const guest = syntheticGuest({ memoryMiB: 1, guest: "pv", vcpus: 128 });
    const bytes = await collect(simulateMigration({ guest }).chunks());
    for (const profile of ["spec", "restore"] as const) expect(verifyStream(bytes, { profile }).ok).toBe(true);
    expect(memoryMismatch(bytes, guest)).toBeUndefined();
  });
});

describe("PV save files as the source", () => {
  test("the generator's PV stream: same records around the memory, last copies equal its pages and types", async () => {
    const parts = [...generatePvStream({ size: 3 << 20, format: "xl", vcpus: 2, seed: 5 })];
    const file = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let pos = 0;
    for (const part of parts) {
      file.set(part, pos);
      pos += part.length;
    }
    const guest = guestFromSaveFile(file);
    expect(guest.types.filter((t) => t === PageType.L4TAB_PINNED).length).toBe(1);
    const run = simulateMigration({ guest, dirty: { kind: "uniform", pagesPerSecond: 5e5 }, policy: { maxIterations: 3 } });
    expect(run.report.domainType).toBe("X86_PV");
    const bytes = await collect(run.chunks());
    expect(verifyStream(bytes, { profile: "spec" }).ok).toBe(true);
    expect(memoryMismatch(bytes, guest)).toBeUndefined();
    const strip = (order: string[]) => order.filter((type, i) => type !== "libxc:PAGE_DATA*" || order[i - 1] !== "libxc:PAGE_DATA*");
    expect(strip(profileOf(bytes).recordOrder)).toEqual(strip(profileOf(file).recordOrder));
    expect(profileOf(bytes).passes.length).toBe(run.report.passes.filter((p) => p.pfns > 0).length);
  });

  test("a simulated PV stream as the source of another: the second ends with the synthetic guest's memory", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1000 }), async (memoryMiB, vcpus, seed) => {
        const synthetic = syntheticGuest({ memoryMiB, guest: "pv", vcpus, seed });
        const dirty: DirtyModel = { kind: "uniform", pagesPerSecond: 3e5 };
        const first = await collect(simulateMigration({ guest: synthetic, dirty, seed }).chunks());
        const guest = guestFromSaveFile(first, { chunkSize: 50_000 });
        expect([guest.p2mSize, guest.populatedPages]).toEqual([synthetic.p2mSize, synthetic.populatedPages]);
        expect(sameBytes(guest.types, synthetic.types)).toBe(true);
        const second = await collect(simulateMigration({ guest, dirty, seed: seed + 1 }).chunks());
        expect(memoryMismatch(second, synthetic)).toBeUndefined();
        for (const profile of ["spec", "restore"] as const) expect(verifyStream(second, { profile }).ok).toBe(true);
        expect(runLiveLoop({ guest, dirty, seed: seed + 1 }).report.streamBytes).toBe(second.length);
      }),
      { numRuns: 4 },
    );
  }, 60_000);
});
