import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { AsyncGuestMemory, GuestMemory } from "../../src/memory/guest-memory.js";
import type { RandomAccessSource } from "../../src/memory/guest-memory.js";
import { MemoryImageBuilder } from "../../src/memory/image.js";
import { PageIndex } from "../../src/memory/page-index.js";
import { SaveFileDecoder } from "../../src/savefile.js";
import { thrown } from "../helpers/errors.js";
import { GuestPages, PAGE, hvmContextBlob, libxcGuestStream, pv32Context, pv64Context, pvBasic, pvInfo } from "./guest-builder.js";

const P = 1n; // present
const RW = 2n;
const PS = 0x80n;

/** The 4-level tables used by the PV-64 and HVM long-mode cases (PML4 at pfn 0x10). */
function longModeTables(guest: GuestPages): void {
  guest.entry64(0x10, 256, (0x11n << 12n) | P | RW);
  guest.entry64(0x10, 511, (0x10n << 12n) | P | RW); // recursive slot
  guest.entry64(0x11, 0, (0x12n << 12n) | P | RW);
  guest.entry64(0x11, 1, 0x4000_0000n | PS | P); // 1 GiB page at 1 GiB
  guest.entry64(0x12, 1, (0x13n << 12n) | P | RW | (1n << 63n)); // XD bit set: ignored for the address
  guest.entry64(0x12, 2, 0x20_0000n | PS | P); // 2 MiB page at 2 MiB
  guest.entry64(0x13, 1, (0x20n << 12n) | P);
  guest.entry64(0x13, 2, (0x21n << 12n) | P);
  guest.fill(0x20, 1);
  guest.fill(0x21, 2);
  guest.fill(0x201, 3);
  guest.fill(0x4_0000, 4);
}

function pv64Guest(): Uint8Array {
  const guest = new GuestPages();
  longModeTables(guest);
  return libxcGuestStream("pv", [
    pvInfo(8),
    ...guest.pageRecords(),
    pvBasic(0, pv64Context(0x10n << 12n, 0xffff_8000_0020_1abcn, 0xffff_8000_0020_1ff0n)),
    pvBasic(1, pv64Context(0x99n << 12n, 1n, 2n)),
  ]);
}

describe("GuestMemory: index and physical reads", () => {
  it("indexes every page and reads them back as views", () => {
    const memory = GuestMemory.fromBytes(pv64Guest());
    expect(memory.pageCount).toBe(8);
    expect([...memory.runs()]).toEqual([
      { pfn: 0x10, count: 4 },
      { pfn: 0x20, count: 2 },
      { pfn: 0x201, count: 1 },
      { pfn: 0x4_0000, count: 1 },
    ]);
    const reference = new GuestPages().fill(0x20, 1);
    expect(memory.readPage(0x20)).toEqual(reference);
    expect(memory.readPage(0x22)).toBeUndefined();
    expect(memory.read(0x20ffe, 4)).toEqual(Uint8Array.from([reference[4094] as number, reference[4095] as number, ...new GuestPages().fill(0x21, 2).subarray(0, 2)]));
    expect(memory.layout).toMatchObject({ guest: "pv", guestWidth: 8, ptLevels: 4, pageSize: PAGE, xenMajor: 4, xenMinor: 17, pageDataRecords: 1, pagesSent: 8 });
  });

  it("the last copy of a page wins, across records and within one", () => {
    const first = new GuestPages();
    first.fill(5, 10);
    first.fill(6, 11);
    const second = new GuestPages();
    second.fill(5, 20);
    const dup = new Uint8Array(2 * PAGE);
    dup.set(new GuestPages().fill(6, 30), 0);
    dup.set(new GuestPages().fill(6, 31), PAGE);
    const stream = libxcGuestStream("hvm", [
      ...first.pageRecords(),
      ...second.pageRecords(),
      { type: "PAGE_DATA", entries: [{ pfn: 6, type: 0 }, { pfn: 7, type: 0xf }, { pfn: 6, type: 0 }], pages: dup },
    ]);
    const memory = GuestMemory.fromBytes(stream);
    expect(memory.readPage(5)).toEqual(new GuestPages().fill(5, 20));
    expect(memory.readPage(6)).toEqual(new GuestPages().fill(6, 31));
    expect(memory.hasPage(7)).toBe(false);
    expect(memory.layout.entriesWithoutData).toBe(1);
    expect(memory.layout.pagesSent).toBe(5);
  });

  it("refuses reads it cannot do with the right codes", () => {
    const memory = GuestMemory.fromBytes(pv64Guest());
    expect(thrown(() => memory.read(0x22000, 1))).toMatchObject({ code: "NOT_PRESENT" });
    expect(thrown(() => memory.read(2 ** 52, 1))).toMatchObject({ code: "BAD_VALUE" });
    expect(thrown(() => memory.read(2 ** 52 - 1, 2))).toMatchObject({ code: "BAD_VALUE" });
    expect(thrown(() => memory.read(-1, 1))).toMatchObject({ code: "USAGE" });
    expect(thrown(() => memory.read(0x20000, 2 ** 31))).toMatchObject({ code: "USAGE" });
    expect(thrown(() => memory.read(2n ** 64n, 1))).toMatchObject({ code: "USAGE" });
    expect(thrown(() => GuestMemory.fromBytes(null as unknown as Uint8Array))).toMatchObject({ code: "USAGE" });
    expect(thrown(() => GuestMemory.fromBytes(pv64Guest().subarray(0, 100)))).toMatchObject({ code: "TRUNCATED" });
  });
});

describe("GuestMemory: page-table walks", () => {
  const memory = GuestMemory.fromBytes(pv64Guest());

  it("takes each vCPU's registers and paging state from its context", () => {
    const [vcpu0, vcpu1] = memory.registers;
    expect(vcpu0).toMatchObject({ id: 0, rip: 0xffff_8000_0020_1abcn, rsp: 0xffff_8000_0020_1ff0n, cs: 0xe033, ss: 0xe02b, r15: 0x1100n, rdi: 0x110en, fsBase: 0x7000n, gsBase: 0xffff_8880_0000_0000n, gsBaseOther: 0x5000n });
    expect(vcpu0?.paging).toEqual({ mode: "4-level", tableAddress: 0x10000n });
    expect(vcpu1?.paging).toEqual({ mode: "4-level", tableAddress: 0x99000n });
  });

  it("walks 4 KiB, 2 MiB and 1 GiB mappings of a 64-bit PV guest", () => {
    expect(memory.translate(0xffff_8000_0020_1abcn)).toEqual({
      virtualAddress: 0xffff_8000_0020_1abcn,
      physicalAddress: 0x20abcn,
      pageSize: 4096,
      entries: [(0x11n << 12n) | 3n, (0x12n << 12n) | 3n, (0x13n << 12n) | 3n | (1n << 63n), (0x20n << 12n) | 1n],
    });
    expect(memory.translate(0xffff_8000_0040_1234n).physicalAddress).toBe(0x20_1234n);
    expect(memory.translate(0xffff_8000_0040_1234n).pageSize).toBe(2 << 20);
    expect(memory.translate(0xffff_8000_4000_0010n)).toMatchObject({ physicalAddress: 0x4000_0010n, pageSize: 1 << 30 });
  });

  it("reads virtual memory across a page boundary", () => {
    const bytes = memory.readVirtual(0xffff_8000_0020_1ff0n, 32);
    expect(bytes).toEqual(Uint8Array.from([...new GuestPages().fill(0x20, 1).subarray(4080), ...new GuestPages().fill(0x21, 2).subarray(0, 16)]));
  });

  it("a recursive slot translates without looping", () => {
    const translation = memory.translate(0xffff_ffff_ffff_f008n);
    expect(translation.physicalAddress).toBe(0x10008n);
    expect(translation.entries).toHaveLength(4);
  });

  it("fails with NOT_PRESENT, BAD_VALUE and USAGE where it must", () => {
    expect(thrown(() => memory.translate(0xffff_8000_0060_0000n))).toMatchObject({ code: "NOT_PRESENT" });
    expect(thrown(() => memory.translate(0x0000_8000_0000_0000n))).toMatchObject({ code: "BAD_VALUE" });
    expect(thrown(() => memory.translate(0xffff_8000_0020_1abcn, { vcpu: 1 }))).toMatchObject({ code: "NOT_PRESENT" });
    expect(thrown(() => memory.translate(0x1000n, { vcpu: 7 }))).toMatchObject({ code: "USAGE" });
    expect(thrown(() => memory.translate(-1n))).toMatchObject({ code: "USAGE" });
    expect(thrown(() => memory.translate(1 as unknown as bigint))).toMatchObject({ code: "USAGE" });
  });

  it("a cr3 override keeps the vCPU's mode", () => {
    expect(memory.translate(0xffff_8000_0020_1abcn, { vcpu: 1, cr3: 0x10000n }).physicalAddress).toBe(0x20abcn);
  });

  it("32-bit PV guests: PAE, cr3 in Xen's rotated extended-cr3 form", () => {
    const guest = new GuestPages();
    const pdpt = 0x10_0030; // above 2^20: the rotation matters
    guest.entry64(pdpt, 3, (0x31n << 12n) | P);
    guest.entry64(0x31, 0, (0x32n << 12n) | P);
    guest.entry64(0x32, 1, (0x22n << 12n) | P);
    guest.fill(0x22, 9);
    const cr3 = ((pdpt << 12) | (pdpt >>> 20)) >>> 0;
    expect(cr3).toBe(0x30001);
    const stream = libxcGuestStream("pv", [pvInfo(4), ...guest.pageRecords(), pvBasic(0, pv32Context(cr3, 0xc000_1234, 0xc000_1000))]);
    const pv32 = GuestMemory.fromBytes(stream);
    expect(pv32.registers[0]).toMatchObject({ rip: 0xc000_1234n, rsp: 0xc000_1000n, rax: 0xaaaan, cs: 0xe019, cr3: 0x30001n });
    expect(pv32.registers[0]?.paging).toEqual({ mode: "pae", tableAddress: BigInt(pdpt) << 12n });
    expect(pv32.translate(0xc000_1234n).physicalAddress).toBe(0x22234n);
    expect(thrown(() => pv32.translate(0x1_0000_0000n))).toMatchObject({ code: "BAD_VALUE" });
  });

  it("PV contexts of the wrong size for the width are refused", () => {
    const stream = libxcGuestStream("pv", [pvInfo(4), ...new GuestPages().pageRecords(), pvBasic(0, pv64Context(0n, 0n, 0n))]);
    expect(thrown(() => GuestMemory.fromBytes(stream))).toMatchObject({ code: "BAD_LENGTH" });
  });
});

describe("GuestMemory: HVM paging modes from the CPU save record", () => {
  const cpu = { rip: 0x1000n, rsp: 0x2000n };
  function hvm(guest: GuestPages, regs: { cr0: bigint; cr3: bigint; cr4: bigint; efer: bigint }): GuestMemory {
    return GuestMemory.fromBytes(libxcGuestStream("hvm", [...guest.pageRecords(), { type: "HVM_CONTEXT", data: hvmContextBlob([{ id: 0, ...cpu, ...regs }]) }]));
  }

  it("long mode, as Linux runs it", () => {
    const guest = new GuestPages();
    longModeTables(guest);
    const memory = hvm(guest, { cr0: 0x8005_0033n, cr3: 0x10000n, cr4: 0x6f0n, efer: 0xd01n });
    expect(memory.registers[0]).toMatchObject({ id: 0, rax: 0x2200n, r15: 0x220fn, rip: 0x1000n, rsp: 0x2000n, cs: 0x10, ss: 0x18, gsBase: 0xffff_8880_0700_0000n, gsBaseOther: 0x1234n, efer: 0xd01n });
    expect(memory.registers[0]?.paging).toEqual({ mode: "4-level", tableAddress: 0x10000n });
    expect(memory.translate(0xffff_8000_0020_1abcn).physicalAddress).toBe(0x20abcn);
  });

  it("5-level paging (CR4.LA57)", () => {
    const guest = new GuestPages();
    longModeTables(guest);
    guest.entry64(0x70, 0x180, (0x71n << 12n) | P);
    guest.entry64(0x71, 0, (0x11n << 12n) | P);
    const memory = hvm(guest, { cr0: 0x8000_0001n, cr3: 0x70000n, cr4: 0x1020n, efer: 0x500n });
    expect(memory.registers[0]?.paging.mode).toBe("5-level");
    expect(memory.translate(0xff80_0000_0020_1abcn).physicalAddress).toBe(0x20abcn);
    expect(thrown(() => memory.translate(0xfe00_0000_0000_0000n))).toMatchObject({ code: "BAD_VALUE" });
  });

  it("32-bit paging with 4 KiB pages and PSE-36 4 MiB pages", () => {
    const guest = new GuestPages();
    guest.entry32(0x50, 3, 0x00c0_0000 | 0x83 | (1 << 13)); // 4 MiB page at 0x1_00c0_0000
    guest.entry32(0x50, 4, (0x51 << 12) | 1);
    guest.entry32(0x51, 5, (0x23 << 12) | 1);
    guest.fill(0x23, 5);
    guest.fill(0x10_0c01, 6);
    const memory = hvm(guest, { cr0: 0x8000_0011n, cr3: 0x50000n, cr4: 0x10n, efer: 0n });
    expect(memory.registers[0]?.paging).toEqual({ mode: "32-bit", tableAddress: 0x50000n, pse: true });
    expect(memory.translate(0x0100_5678n)).toMatchObject({ physicalAddress: 0x23678n, pageSize: 4096 });
    expect(memory.translate(0x00c0_1234n)).toMatchObject({ physicalAddress: 0x1_00c0_1234n, pageSize: 4 << 20 });
    expect(memory.readVirtual(0x00c0_1234n, 4)).toEqual(new GuestPages().fill(0x10_0c01, 6).subarray(0x234, 0x238));
  });

  it("PAE paging with a 32-byte aligned PDPT", () => {
    const guest = new GuestPages();
    guest.entry64(0x60, 4, (0x61n << 12n) | P); // PDPT at 0x60020: its entry 0 is at byte 0x20
    guest.entry64(0x61, 0, (0x62n << 12n) | P);
    guest.entry64(0x62, 7, (0x24n << 12n) | P);
    guest.fill(0x24, 7);
    const memory = hvm(guest, { cr0: 0x8000_0011n, cr3: 0x60020n, cr4: 0x20n, efer: 0n });
    expect(memory.registers[0]?.paging).toEqual({ mode: "pae", tableAddress: 0x60020n });
    expect(memory.translate(0x7abcn).physicalAddress).toBe(0x24abcn);
  });

  it("paging off: virtual is physical", () => {
    const guest = new GuestPages();
    guest.fill(0x20, 1);
    const memory = hvm(guest, { cr0: 0x11n, cr3: 0n, cr4: 0n, efer: 0n });
    expect(memory.translate(0x20abcn)).toMatchObject({ physicalAddress: 0x20abcn, entries: [] });
  });
});

describe("AsyncGuestMemory over a random-access source", () => {
  function source(bytes: Uint8Array): RandomAccessSource & { reads: number } {
    const out = {
      reads: 0,
      read(position: number, length: number): Promise<Uint8Array> {
        out.reads++;
        return Promise.resolve(bytes.slice(position, position + length));
      },
    };
    return out;
  }

  it("reads the same pages, translations and registers as the in-memory reader", async () => {
    const stream = pv64Guest();
    const sync = GuestMemory.fromBytes(stream);
    const memory = await AsyncGuestMemory.open(source(stream));
    expect(memory.registers).toEqual(sync.registers);
    expect([...memory.runs()]).toEqual([...sync.runs()]);
    expect(await memory.readPage(0x201)).toEqual(sync.readPage(0x201));
    expect(await memory.readPage(0x202)).toBeUndefined();
    expect(await memory.translate(0xffff_8000_4000_0010n)).toEqual(sync.translate(0xffff_8000_4000_0010n));
    expect(await memory.readVirtual(0xffff_8000_0020_1ff0n, 40)).toEqual(sync.readVirtual(0xffff_8000_0020_1ff0n, 40));
    await expect(memory.read(0x22000, 1)).rejects.toMatchObject({ code: "NOT_PRESENT" });
  });

  it("refuses a source that is not one, and a source that comes up short", async () => {
    await expect(AsyncGuestMemory.open({} as RandomAccessSource)).rejects.toMatchObject({ code: "USAGE" });
    const stream = pv64Guest();
    const memory = await AsyncGuestMemory.open(source(stream));
    const short = await AsyncGuestMemory.open({ read: (position, length) => (length === PAGE ? new Uint8Array(3) : stream.slice(position, position + length)) });
    await expect(short.readPage(0x20)).rejects.toMatchObject({ code: "TRUNCATED" });
    expect(await memory.readPage(0x20)).toHaveLength(PAGE);
  });
});

describe("XALLOC pages", () => {
  it("a pfn sent only as XALLOC is a zero page; one sent with data before keeps it", () => {
    const guest = new GuestPages();
    guest.fill(1, 1);
    const stream = libxcGuestStream("hvm", [
      ...guest.pageRecords(),
      { type: "PAGE_DATA", entries: [{ pfn: 1, type: 0xe }, { pfn: 2, type: 0xe }, { pfn: 3, type: 0xd }], pages: new Uint8Array(0) },
    ]);
    const memory = GuestMemory.fromBytes(stream);
    expect(memory.readPage(1)).toEqual(new GuestPages().fill(1, 1));
    expect(memory.readPage(2)).toEqual(new Uint8Array(PAGE));
    expect(memory.read(2 * PAGE - 2, 4)).toEqual(Uint8Array.from([...new GuestPages().fill(1, 1).subarray(PAGE - 2), 0, 0]));
    expect(memory.hasPage(3)).toBe(false);
    expect([...memory.runs()]).toEqual([{ pfn: 1, count: 2 }]);
  });
});

describe("checkpoints", () => {
  it("selects the memory of one checkpoint of a checkpointed stream", () => {
    const a = new GuestPages();
    a.fill(1, 1);
    const b = new GuestPages();
    b.fill(1, 2);
    b.fill(2, 2);
    const stream = libxcGuestStream("hvm", [...a.pageRecords(), { type: "CHECKPOINT" }, ...b.pageRecords(), { type: "CHECKPOINT" }]);
    expect(GuestMemory.fromBytes(stream, { checkpoint: 0 }).readPage(1)).toEqual(new GuestPages().fill(1, 1));
    expect(GuestMemory.fromBytes(stream, { checkpoint: 0 }).hasPage(2)).toBe(false);
    expect(GuestMemory.fromBytes(stream, { checkpoint: 1 }).readPage(1)).toEqual(new GuestPages().fill(1, 2));
    expect(GuestMemory.fromBytes(stream).layout.checkpoints).toBe(2);
    expect(thrown(() => GuestMemory.fromBytes(stream, { checkpoint: 2 }))).toMatchObject({ code: "USAGE" });
    expect(thrown(() => GuestMemory.fromBytes(stream, { checkpoint: -1 }))).toMatchObject({ code: "USAGE" });
  });
});

describe("PageIndex", () => {
  it("grows with the pages seen, not with the highest pfn", () => {
    const index = new PageIndex();
    index.set(2 ** 52 - 1, 7);
    index.set(0, 9);
    expect(index.get(2 ** 52 - 1)).toBe(7);
    expect(index.bytesHeld).toBe(2 * 4096);
    expect(index.bounds()).toEqual({ lowest: 0, highest: 2 ** 52 - 1 });
  });

  it("runs, entries and gets (between sets, of present and absent pfns) agree with a reference model", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.nat(), fc.integer({ min: 0, max: 5000 })), { maxLength: 300 }), (sets) => {
        const index = new PageIndex();
        const model = new Map<number, number>();
        for (const [pfn, position, probe] of sets) {
          expect(index.get(probe)).toBe(model.get(probe));
          index.set(pfn, position);
          model.set(pfn, position);
          expect(index.get(pfn)).toBe(position);
        }
        const sorted = [...model.entries()].sort((x, y) => x[0] - y[0]);
        expect([...index.entries()]).toEqual(sorted);
        expect(index.size).toBe(model.size);
        const expanded = [...index.runs()].flatMap((run) => Array.from({ length: run.count }, (_, i) => run.pfn + i));
        expect(expanded).toEqual(sorted.map(([pfn]) => pfn));
      }),
    );
  });
});

describe("MemoryImageBuilder", () => {
  function build(stream: Uint8Array, format: "raw" | "elf"): { image: Uint8Array; map: ReturnType<MemoryImageBuilder["finish"]>; writes: number } {
    const chunks: [number, Uint8Array][] = [];
    const builder = new MemoryImageBuilder({ format });
    const place = (position: number, bytes: Uint8Array): void => void chunks.push([position, bytes.slice()]);
    const decoder = new SaveFileDecoder();
    decoder.pushEach(stream, (event) => builder.add(event, place));
    decoder.end();
    const map = builder.finish(place);
    const image = new Uint8Array(map.fileSize);
    for (const [position, bytes] of chunks) image.set(bytes, position);
    return { image, map, writes: chunks.length };
  }

  it("a raw image holds every page at pfn x page size, one write per run of a batch", () => {
    const guest = new GuestPages();
    for (const pfn of [3, 4, 5, 9]) guest.fill(pfn, pfn);
    const { image, map, writes } = build(libxcGuestStream("hvm", guest.pageRecords()), "raw");
    expect(writes).toBe(2);
    expect(map).toMatchObject({ format: "raw", pages: 4, fileSize: 10 * PAGE, runs: [{ pfn: 3, count: 3, physicalAddress: 3 * PAGE, fileOffset: 3 * PAGE }, { pfn: 9, count: 1 }] });
    for (const pfn of [3, 4, 5, 9]) expect(image.subarray(pfn * PAGE, (pfn + 1) * PAGE)).toEqual(new GuestPages().fill(pfn, pfn));
    expect(image.subarray(6 * PAGE, 9 * PAGE).every((b) => b === 0)).toBe(true);
  });

  it("an ELF core: header, one PT_LOAD per run, NT_PRSTATUS per vCPU with the saved registers", () => {
    const { image, map } = build(pv64Guest(), "elf");
    const view = new DataView(image.buffer);
    expect([...image.subarray(0, 7)]).toEqual([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
    expect(view.getUint16(16, true)).toBe(4); // ET_CORE
    expect(view.getUint16(18, true)).toBe(62); // EM_X86_64
    const phoff = Number(view.getBigUint64(32, true));
    const phnum = view.getUint16(56, true);
    expect(phnum).toBe(1 + map.runs.length);
    const phdr = (i: number): number[] => [0, 4, 8, 16, 24, 32, 40, 48].map((o, k) => (k < 2 ? view.getUint32(phoff + 56 * i + o, true) : Number(view.getBigUint64(phoff + 56 * i + o, true))));
    const [noteType, , noteOffset, , , noteSize] = phdr(0);
    expect(noteType).toBe(4);
    expect(noteSize).toBe(2 * (12 + 8 + 336));
    // The second PT_LOAD: pfns 0x20-0x21.
    expect(phdr(2)).toEqual([1, 7, 4096 + 0x20 * PAGE, 0x20 * PAGE, 0x20 * PAGE, 2 * PAGE, 2 * PAGE, PAGE]);
    expect(image.subarray(4096 + 0x20 * PAGE, 4096 + 0x21 * PAGE)).toEqual(new GuestPages().fill(0x20, 1));
    // vCPU 0's note: namesz 5, descsz 336, NT_PRSTATUS, "CORE", pr_pid 1, pr_reg rip (index 16) and rsp (19).
    const at = noteOffset as number;
    expect([view.getUint32(at, true), view.getUint32(at + 4, true), view.getUint32(at + 8, true)]).toEqual([5, 336, 1]);
    expect(String.fromCharCode(...image.subarray(at + 12, at + 16))).toBe("CORE");
    const desc = at + 20;
    expect(view.getUint32(desc + 32, true)).toBe(1);
    expect(view.getBigUint64(desc + 112 + 16 * 8, true)).toBe(0xffff_8000_0020_1abcn);
    expect(view.getBigUint64(desc + 112 + 19 * 8, true)).toBe(0xffff_8000_0020_1ff0n);
    expect(view.getBigUint64(desc + 112 + 17 * 8, true)).toBe(0xe033n);
  });

  it("property: for any batches (duplicates, holes, XTAB), the raw image, the ELF pages and readPage all hold the last copy", () => {
    const entry = fc.record({ pfn: fc.integer({ min: 0, max: 40 }), type: fc.constantFrom(0, 0, 0, 1, 0xf, 0xd), seed: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(fc.array(entry, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 }), (batches) => {
        const model = new Map<number, Uint8Array>();
        const records = batches.map((batch) => {
          const withData = batch.filter((e) => e.type !== 0xf && e.type !== 0xd);
          const pages = new Uint8Array(withData.length * PAGE);
          withData.forEach((e, i) => {
            const page = new GuestPages().fill(e.pfn, e.seed);
            pages.set(page, i * PAGE);
            model.set(e.pfn, page);
          });
          return { type: "PAGE_DATA" as const, entries: batch.map((e) => ({ pfn: e.pfn, type: e.type })), pages };
        });
        const stream = libxcGuestStream("hvm", records);
        const memory = GuestMemory.fromBytes(stream);
        const { image } = build(stream, "raw");
        const elf = build(stream, "elf").image;
        expect(memory.pageCount).toBe(model.size);
        for (let pfn = 0; pfn <= 40; pfn++) {
          const expected = model.get(pfn);
          expect(memory.readPage(pfn)).toEqual(expected);
          if (expected !== undefined) {
            expect(image.subarray(pfn * PAGE, (pfn + 1) * PAGE)).toEqual(expected);
            expect(elf.subarray(4096 + pfn * PAGE, 4096 + (pfn + 1) * PAGE)).toEqual(expected);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it("refuses a pfn no physical address space holds, at the entry's offset", () => {
    const stream = libxcGuestStream("hvm", [{ type: "PAGE_DATA", entries: [{ pfn: 2 ** 40, type: 0 }], pages: new Uint8Array(PAGE) }]);
    // image header 24 + domain header 16 + record header 8 + count header 8 = 56: the first pfn entry.
    expect(() => build(stream, "raw")).toThrowError(expect.objectContaining({ code: "BAD_FIELD", offset: 56 }) as Error);
  });

  it("refuses an unknown format", () => {
    expect(thrown(() => new MemoryImageBuilder({ format: "zip" as "raw" }))).toMatchObject({ code: "USAGE" });
  });
});

