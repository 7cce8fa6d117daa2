import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { DigestCollector, pageHash } from "../../src/inspect/digest.js";
import { diffDigests, lineDiff } from "../../src/inspect/diff.js";
import { StatsCollector } from "../../src/inspect/stats.js";
import { SaveFileDecoder, decodeAnySaveFile, decodeSaveFile, encodeSaveFile } from "../../src/savefile.js";
import { convertContainer } from "../../src/savefile-convert.js";
import { classifyTrailer, MIGRATE_PERMISSION_TO_GO } from "../../src/xl/migration.js";
import { GuestPages, PAGE, libxcGuestStream } from "../memory/guest-builder.js";
import { sharedDir } from "../helpers/shared.js";
import { runCli, type CliRun } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "inspect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fold<T extends { add(event: { layer: string; kind: string }): void }>(collector: T, stream: Uint8Array): T {
  const decoder = new SaveFileDecoder();
  decoder.pushEach(stream, (event) => collector.add(event));
  decoder.end();
  return collector;
}

function cli(args: string[]): Promise<CliRun> {
  return runCli(args);
}

/** A guest of `pfns` with contents from `seed`, sent in batches of `batch` (XTAB entries between). */
function guestStream(pfns: number[], seed: number, batch: number): Uint8Array {
  const guest = new GuestPages();
  for (const pfn of pfns) guest.fill(pfn, seed + pfn);
  return libxcGuestStream("hvm", guest.pageRecords(batch));
}

describe("stats", () => {
  it("counts passes, re-sent pages, XTAB, holes and batch sizes", () => {
    const first = new GuestPages();
    for (let pfn = 0; pfn < 6; pfn++) first.fill(pfn, 1);
    first.fill(20, 1);
    const second = new GuestPages();
    second.fill(2, 2);
    second.fill(3, 2);
    const stream = libxcGuestStream("hvm", [
      ...first.pageRecords(4),
      { type: "PAGE_DATA", entries: [{ pfn: 30, type: 0xf }, { pfn: 31, type: 0xf }], pages: new Uint8Array(0) },
      ...second.pageRecords(),
    ]);
    const stats = fold(new StatsCollector(), stream).finish();
    expect(stats.passes.map(({ index, batches, entries, pages, resent, xtab }) => ({ index, batches, entries, pages, resent, xtab }))).toEqual([
      { index: 0, batches: 3, entries: 9, pages: 7, resent: 0, xtab: 2 },
      { index: 1, batches: 1, entries: 2, pages: 2, resent: 2, xtab: 0 },
    ]);
    expect(stats.passes[0]?.offset).toBe(40);
    expect(stats.batchSizes).toEqual({ 2: 2, 3: 1, 4: 1 });
    expect(stats.pages).toEqual({
      entries: 11,
      withData: 9,
      byType: { NOTAB: 9, XTAB: 2 },
      distinct: 7,
      minPfn: 0,
      maxPfn: 20,
      runs: 2,
      holes: { count: 1, pfns: 14, largest: { pfn: 6, count: 14 } },
    });
    expect(stats.records.libxc.PAGE_DATA).toEqual({ count: 4, bytes: 3 * 16 + 9 * 8 + 9 * PAGE + 16 + 16 });
    expect(stats.records.libxc.END).toEqual({ count: 1, bytes: 8 });
  });

  const live = sharedDir();
  it.skipIf(live === undefined)("the real PVH live migration: six passes, as its README says", () => {
    const file = join(dir, "pvh.cap");
    execFileSync("sh", ["-c", `xz -dc "${live as string}/real-xen/live/xen-4.17-pvh-migrate.zeroed.capture.xz" > "${file}"`]);
    return cli(["stats", file, "--json"]).then(({ code, stdout }) => {
      expect(code).toBe(0);
      const stats = JSON.parse(stdout) as { passes: { pages: number; resent: number }[]; trailer: unknown; pages: { distinct: number } };
      expect(stats.passes.map((pass) => [pass.pages, pass.resent])).toEqual([[32784, 0], [571, 571], [341, 341], [256, 256], [260, 260], [493, 493]]);
      expect(stats.pages.distinct).toBe(32784);
      expect(stats.trailer).toEqual({ length: 44, kind: "permission-to-go" });
    });
  }, 60_000);
});

describe("diff", () => {
  it("a stream and its re-batched re-encoding have the same memory", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 1024 }), fc.nat(100), (pfns, batch, seed) => {
        const a = fold(new DigestCollector(), guestStream(pfns, seed, 1024)).finish();
        const b = fold(new DigestCollector(), guestStream(pfns, seed, batch)).finish();
        const diff = diffDigests(a, b);
        expect(diff.memory).toMatchObject({ same: pfns.length, differPages: 0, onlyInAPages: 0, onlyInBPages: 0 });
        expect(diff.fields).toEqual([]);
        expect(diff.identical).toBe(diff.sequence === undefined);
      }),
      { numRuns: 40 },
    );
  });

  it("names the pfn ranges whose last copies differ, and those only one side has", () => {
    const a = fold(new DigestCollector(), guestStream([1, 2, 3, 4, 10], 0, 1024)).finish();
    const changed = new GuestPages();
    for (const pfn of [1, 2, 3, 4, 11]) changed.fill(pfn, pfn);
    changed.fill(2, 99);
    changed.fill(3, 98);
    const b = fold(new DigestCollector(), libxcGuestStream("hvm", changed.pageRecords())).finish();
    const diff = diffDigests(a, b);
    expect(diff.memory).toEqual({
      same: 2,
      differ: [{ pfn: 2, count: 2 }],
      onlyInA: [{ pfn: 10, count: 1 }],
      onlyInB: [{ pfn: 11, count: 1 }],
      differPages: 2,
      onlyInAPages: 1,
      onlyInBPages: 1,
    });
    expect(diff.identical).toBe(false);
  });

  it("state records are compared field by field and byte by byte", () => {
    const tsc = (nsec: bigint) => libxcGuestStream("hvm", [{ type: "X86_TSC_INFO", mode: 0, khz: 2000000, nsec, incarnation: 1 }, { type: "HVM_CONTEXT", data: Uint8Array.from([1, 2, 3, nsec === 5n ? 4 : 9]) }]);
    const diff = diffDigests(fold(new DigestCollector(), tsc(5n)).finish(), fold(new DigestCollector(), tsc(6n)).finish());
    expect(diff.fields).toEqual([{ path: "state.X86_TSC_INFO.nsec", a: 5n, b: 6n }]);
    expect(diff.bytes).toEqual([{ path: "state.HVM_CONTEXT.data", lengthA: 4, lengthB: 4, differing: 1, first: 3 }]);
  });

  it("a config line diff by longest common subsequence", () => {
    expect(lineDiff(["a", "b", "c"], ["a", "x", "c", "d"])).toEqual([
      { op: "-", line: 2, text: "b" },
      { op: "+", line: 2, text: "x" },
      { op: "+", line: 4, text: "d" },
    ]);
  });

  it("the digest holds pageHash of each page's last copy, whether the record's pages are word-aligned in their buffer or not", () => {
    const stream = guestStream([3, 4, 9], 7, 2);
    const shifted = new Uint8Array(stream.length + 1);
    shifted.set(stream, 1);
    for (const bytes of [stream, shifted.subarray(1)]) {
      const digest = fold(new DigestCollector(), bytes).finish();
      expect([...digest.pages.entries()]).toEqual([3, 4, 9].map((pfn) => [pfn, pageHash(new GuestPages().fill(pfn, 7 + pfn))]));
    }
  });

  it("pageHash: equal pages equal, any one-byte change differs", () => {
    const page = new GuestPages().fill(1, 1);
    const base = pageHash(page);
    expect(Number.isSafeInteger(base)).toBe(true);
    for (let i = 0; i < PAGE; i += 97) {
      const changed = page.slice();
      changed[i] = (changed[i] as number) ^ 1;
      expect(pageHash(changed)).not.toBe(base);
    }
    expect(pageHash(page.slice())).toBe(base);
    // A page that is not 4-byte aligned in its buffer hashes as its aligned copy.
    const shifted = new Uint8Array(PAGE + 3);
    shifted.set(page, 3);
    expect(pageHash(shifted.subarray(3))).toBe(base);
    // Two different pages (one word swapped with its neighbour): different.
    const swapped = page.slice();
    swapped.set(page.subarray(4, 8), 0);
    swapped.set(page.subarray(0, 4), 4);
    expect(pageHash(swapped)).not.toBe(base);
  });

  it("the CLI: exit 0 for identical files, 1 for differences, 2 for a bad stream", async () => {
    const a = join(dir, "a.save");
    const b = join(dir, "b.save");
    writeFileSync(a, guestStream([1, 2], 0, 1024));
    writeFileSync(b, guestStream([1, 2], 1, 1024));
    expect(await cli(["diff", a, a])).toEqual({ code: 0, stdout: `${a} and ${a}: no differences\n`, stderr: "" });
    const different = await cli(["diff", a, b]);
    expect(different.code).toBe(1);
    expect(different.stdout).toContain("memory: 0 pages equal, 2 differ, 0 only in A, 0 only in B\n  differ: 0x1-0x2\n");
    writeFileSync(join(dir, "bad.save"), guestStream([1], 0, 1024).subarray(0, 50));
    expect((await cli(["diff", a, join(dir, "bad.save")])).code).toBe(2);
    expect((await cli(["diff", a])).code).toBe(2);
  });
});

describe("bytes after the stream", () => {
  it("xl's 44-byte permission_to_go message is named as such; other bytes are data", () => {
    expect(MIGRATE_PERMISSION_TO_GO).toHaveLength(44);
    expect(classifyTrailer(MIGRATE_PERMISSION_TO_GO, 44)).toEqual({ length: 44, kind: "permission-to-go" });
    expect(classifyTrailer(MIGRATE_PERMISSION_TO_GO.subarray(0, 40), 40)).toEqual({ length: 40, kind: "data" });
    expect(classifyTrailer(new Uint8Array(44), 44)).toEqual({ length: 44, kind: "data" });
  });

  it("stats reports the real count of trailing bytes", async () => {
    const file = join(dir, "trailing.save");
    const stream = guestStream([1], 0, 1024);
    const bytes = new Uint8Array(stream.length + 100);
    bytes.set(stream);
    writeFileSync(file, bytes);
    const { code, stdout } = await cli(["stats", file]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\n100 bytes after the end of the stream\n$/);
    expect(existsSync(file)).toBe(true);
  });
});

describe("containers in stats, diff and extract-memory", () => {
  const vector = (name: string): string => fileURLToPath(new URL(`../../spec-vectors/${name}.bin`, import.meta.url));

  it("a legacy stream in a libvirt or xenopsd container is converted: its pages are counted, diffed and extracted", async () => {
    for (const name of ["libvirt/valid/v1-legacy-pv", "xenopsd/valid/libxc-legacy-pv", "xenopsd/valid/legacy-layout-hvm"]) {
      const file = vector(name);
      const stats = await cli(["stats", "--json", file]);
      expect(stats.code).toBe(0);
      const pages = (JSON.parse(stats.stdout) as { pages: { withData: number } }).pages;
      expect(pages.withData, name).toBeGreaterThan(0);
      expect(await cli(["diff", file, file])).toEqual({ code: 0, stdout: `${file} and ${file}: no differences\n`, stderr: "" });
      const image = join(dir, "legacy.raw");
      const extracted = await cli(["extract-memory", "--json", "-o", image, file]);
      expect(extracted.code, extracted.stderr).toBe(0);
      // The same image as from the stream converted first.
      const converted = join(dir, "converted.save");
      writeFileSync(converted, encodeSaveFile(convertContainer(decodeAnySaveFile(readFileSync(file)), "libxc").file));
      const before = await cli(["extract-memory", "--json", "-o", `${image}.2`, converted]);
      expect(JSON.parse(extracted.stdout)).toEqual(JSON.parse(before.stdout));
      expect(readFileSync(image).equals(readFileSync(`${image}.2`))).toBe(true);
    }
  });

  it("diff names the container's own changes: the libvirt XML, a xenopsd blob", async () => {
    const libvirt = readFileSync(vector("libvirt/valid/v2-libxl-hvm"));
    const renamed = Uint8Array.from(libvirt);
    renamed[libvirt.indexOf("vec-hvm")] = "V".charCodeAt(0);
    const a = join(dir, "libvirt-a.save");
    const b = join(dir, "libvirt-b.save");
    writeFileSync(a, libvirt);
    writeFileSync(b, renamed);
    const xml = await cli(["diff", a, b]);
    expect(xml.code).toBe(1);
    expect(xml.stdout).toContain("config:\n  -   2:   <name>vec-hvm</name>\n  +   2:   <name>Vec-hvm</name>\n");
    const xenopsd = readFileSync(vector("xenopsd/valid/hvm-libxc-qemu-trad"));
    const { body } = (decodeSaveFile(xenopsd).container as { chunks: { type: string; body?: Uint8Array }[] }).chunks.find((chunk) => chunk.type === "Qemu_trad") ?? {};
    if (body === undefined) throw new Error("no Qemu_trad chunk in the vector");
    const changed = Uint8Array.from(xenopsd);
    const at = body.byteOffset + 5;
    changed[at] = (changed[at] as number) ^ 1;
    writeFileSync(a, xenopsd);
    writeFileSync(b, changed);
    const blob = await cli(["diff", a, b]);
    expect(blob.code).toBe(1);
    expect(blob.stdout).toContain("state.xenopsd Qemu_trad.body: 1 bytes differ from byte 5\n");
  });
});
