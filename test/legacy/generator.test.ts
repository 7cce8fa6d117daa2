/**
 * The seeded legacy stream generator (src/testing/legacy-generator.ts):
 * deterministic, covering its options, and its streams convert into v2
 * streams that match its summary and pass our verifier under both profiles.
 */
import { describe, expect, test } from "vitest";
import { decodeSaveFile, type LibxcRecord } from "../../src/index.js";
import { convertLegacy } from "../../src/legacy/index.js";
import { generateLegacyStream } from "../../src/testing/legacy-generator.js";
import { LegacyPrng } from "../../src/testing/prng.js";
import { verifyStream } from "../../src/verify/index.js";
import { expectBytes } from "./legacy-bytes.js";

describe("legacy generator", () => {
  test("the same seed gives the same bytes; another seed other bytes", () => {
    const a = generateLegacyStream({ seed: 7 });
    expectBytes(generateLegacyStream({ seed: 7 }).bytes, a.bytes);
    expect(generateLegacyStream({ seed: 8 }).bytes).not.toEqual(a.bytes);
    expect(a.summary.length).toBe(a.bytes.length);
  });

  test("the PRNG is a fixed sequence (seeds replay across versions of this file)", () => {
    const prng = new LegacyPrng(1);
    expect([prng.u32(), prng.u32(), prng.u32()]).toEqual([0x96a0f96b, 0x12bc8390, 0x971e9964]);
    const values = Array.from({ length: 1000 }, () => prng.int(0, 9));
    expect(new Set(values).size).toBe(10);
  });

  test("explicit options are honoured", () => {
    const { summary } = generateLegacyStream({ seed: 3, width: 32, guest: "pv", guestWidth: 4, vcpus: 3, extv: true, xcnt: 0, xl: true, pages: 20 });
    expect(summary).toMatchObject({ width: 32, guest: "pv", guestWidth: 4, extv: true, xcnt: 0, dataPages: 20 });
    expect(summary.onlineVcpus).toHaveLength(3);
    expect(summary.onlineVcpus[0]).toBe(0);
    expect(summary.xlHeaderSize).toBeGreaterThan(48);
  });

  test("converted streams match the summary and verify (spec and restore profiles)", () => {
    for (let seed = 1; seed <= 120; seed++) {
      const { bytes, summary } = generateLegacyStream({ seed, xl: seed % 4 === 0, allXtabBatch: seed % 9 === 0 });
      const format = seed % 2 === 0 ? "libxl" : "libxc";
      const out = convertLegacy(bytes, { format, xl: summary.xlHeaderSize > 0, skipQemu: true });
      for (const profile of ["spec", "restore"] as const) {
        // The generator fills vCPU contexts and HVM CPU entries with random
        // bytes, which the converter carries as they are: what Xen's restore
        // refuses inside them (the restore profile's checks on record insides)
        // is not the converter's to fix. Those findings point past the vCPU
        // record's id words, or into the HVM context.
        const insideFrom = new Map<number, number>();
        const report = verifyStream(out, {
          profile,
          onEvent: (event) => {
            if (event.kind !== "record" || event.layer !== "libxc") return;
            if (event.record.type === "HVM_CONTEXT") insideFrom.set(event.index, event.offset + 8);
            else if ("vcpuId" in event.record) insideFrom.set(event.index, event.offset + 16);
          },
        });
        const inside = (f: (typeof report.findings)[number]): boolean =>
          f.layer === "libxc" && f.recordIndex !== undefined && f.offset >= (insideFrom.get(f.recordIndex) ?? Infinity);
        const errors = report.findings.filter((f) => f.severity === "error" && !(f.code === "XL_HEADER" && format === "libxc") && !inside(f));
        expect(errors, `seed ${seed} ${profile}`).toEqual([]);
      }
      const file = decodeSaveFile(out);
      const records: LibxcRecord[] =
        file.format === "libxc" ? file.stream.records : file.stream.items.flatMap((item) => (item.type === "LIBXC_STREAM" ? item.stream.records : []));
      const pageData = records.filter((r) => r.type === "PAGE_DATA");
      expect(pageData.length, `seed ${seed}`).toBe(summary.pageDataRecords);
      expect(pageData.reduce((n, r) => n + (r.type === "PAGE_DATA" ? r.entries.length : 0), 0)).toBe(summary.keptEntries);
      expect(pageData.reduce((n, r) => n + (r.type === "PAGE_DATA" ? r.pages.length / 4096 : 0), 0)).toBe(summary.dataPages);
      const basic = records.filter((r) => r.type === "X86_PV_VCPU_BASIC").map((r) => (r.type === "X86_PV_VCPU_BASIC" ? r.vcpuId : -1));
      expect(basic).toEqual(summary.guest === "pv" ? summary.onlineVcpus : []);
      expect(records.filter((r) => r.type === "X86_TSC_INFO")).toHaveLength(summary.tscChunks);
      const params = records.filter((r) => r.type === "HVM_PARAMS");
      expect(params.reduce((n, r) => n + (r.type === "HVM_PARAMS" ? r.params.length : 0), 0)).toBe(summary.guest === "hvm" ? summary.hvmParamChunks + 3 : 0);
      if (file.format === "libxl") {
        const xenstore = file.stream.items.find((item) => item.type === "EMULATOR_XENSTORE_DATA");
        expect(xenstore && xenstore.type === "EMULATOR_XENSTORE_DATA" ? xenstore.entries.length : 0).toBe(3 * summary.physmapEntries);
      }
    }
  });
});
