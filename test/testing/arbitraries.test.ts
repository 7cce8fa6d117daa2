// The testing kit's arbitraries: every record type decodes back to its
// value, constraints are checked when the arbitrary is built (naming it),
// streams are valid for the decoder and the verifier, and failing streams
// shrink to small counterexamples.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodeLibxcStream, decodeSaveFile, type LibxcRecord } from "../../src/index.js";
import { verifyStream } from "../../src/verify/index.js";
import { libxcTable } from "../../src/libxc/codec.js";
import { NO_CONTEXT, libxlTable } from "../../src/libxl/codec.js";
import { REC_LENGTH_MAX, paddedLength } from "../../src/wire/frame.js";
import type { RawFrame } from "../../src/wire/frame-reader.js";
import {
  LIBXC_RECORD_KINDS,
  LIBXL_RECORD_KINDS,
  legacyStream,
  libxcRecord,
  libxcStream,
  libxlRecord,
  libxlStream,
  pageDataRecord,
  xlSaveFile,
} from "../../src/testing/index.js";
import { convertLegacy } from "../../src/legacy/index.js";
import { canon, runs } from "../properties/harness.js";

const OPTIONS = { maxRecordLength: REC_LENGTH_MAX, keepUnknownMandatory: false };

/** Frames one record's bytes and decodes it through the layer's table. */
function decodeAlone<R>(table: { decode(frame: RawFrame, littleEndian: boolean, context: never, options: typeof OPTIONS, index: number): unknown }, bytes: Uint8Array, littleEndian: boolean, context: unknown): R {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const typeId = view.getUint32(0, littleEndian);
  const bodyLength = view.getUint32(4, littleEndian);
  expect(bytes.length).toBe(8 + paddedLength(bodyLength));
  const frame = { offset: 0, typeId, bodyLength, body: bytes.subarray(8, 8 + bodyLength), padding: bytes.subarray(8 + bodyLength) };
  return table.decode(frame, littleEndian, context as never, OPTIONS, 0) as R;
}

describe("record arbitraries", () => {
  test.each(LIBXC_RECORD_KINDS.map((kind) => [kind]))("libxcRecord(%s) decodes to its value", (kind) => {
    for (const byteOrder of ["little", "big"] as const) {
      fc.assert(
        fc.property(libxcRecord({ type: kind, byteOrder, lenient: true, pageShift: 13 }), ({ value, bytes }) => {
          expect(value.type).toBe(kind);
          const decoded = decodeAlone<LibxcRecord>(libxcTable, bytes, byteOrder === "little", { pageSize: 8192 });
          expect(canon(decoded)).toEqual(canon(value));
        }),
        runs(15),
      );
    }
  });

  test.each(LIBXL_RECORD_KINDS.map((kind) => [kind]))("libxlRecord(%s) decodes to its value", (kind) => {
    for (const byteOrder of ["little", "big"] as const) {
      fc.assert(
        fc.property(libxlRecord({ type: kind, byteOrder, lenient: true }), ({ value, bytes }) => {
          expect(value.type).toBe(kind);
          expect(canon(decodeAlone(libxlTable, bytes, byteOrder === "little", NO_CONTEXT))).toEqual(canon(value));
        }),
        runs(15),
      );
    }
  });

  test("libxcRecord() with no type draws every type", () => {
    const seen = new Set(fc.sample(libxcRecord(), { numRuns: 400, seed: 7 }).map(({ value }) => value.type));
    expect([...seen].sort()).toEqual([...LIBXC_RECORD_KINDS].sort());
  });

  test("non-lenient records have zero reserved fields and no padding or extra", () => {
    for (const { value } of fc.sample(libxcRecord(), { numRuns: 300, seed: 3 })) {
      const record = value as unknown as Record<string, unknown>;
      expect(record.padding).toBeUndefined();
      expect(record.extra).toBeUndefined();
      if (typeof record.reserved === "number") expect(record.reserved).toBe(0);
    }
  });

  test("pageDataRecord keeps the old signature: pfns below maxPfn, one page per data entry", () => {
    fc.assert(
      fc.property(pageDataRecord({ pageSize: 4096, maxPfn: 10 }, 4), (record) => {
        if (record.type !== "PAGE_DATA") throw new Error(record.type);
        expect(record.entries.length).toBeGreaterThanOrEqual(1);
        expect(record.entries.length).toBeLessThanOrEqual(4);
        for (const entry of record.entries) expect(entry.pfn).toBeLessThanOrEqual(10);
      }),
      runs(50),
    );
  });
});

describe("constraints are checked when the arbitrary is built", () => {
  const rows: Array<[string, () => unknown, RegExp]> = [
    ["libxcStream version", () => libxcStream({ version: 4 as 3 }), /^libxcStream: version must be 2 or 3, got 4$/],
    ["libxcStream pageShift", () => libxcStream({ pageShift: 11 }), /^libxcStream: pageShift must be an integer in 12\.\.24, got 11$/],
    ["libxcStream checkpoints", () => libxcStream({ checkpoints: -1 }), /^libxcStream: checkpoints must be/],
    ["libxcStream maxPageRecords", () => libxcStream({ maxPageRecords: 0 }), /^libxcStream: maxPageRecords must be/],
    ["libxcStream byteOrder", () => libxcStream({ byteOrder: "middle" as "big" }), /^libxcStream: byteOrder must be/],
    ["libxlStream guest", () => libxlStream({ guest: "arm" as "pv" }), /^libxlStream: guest must be "pv" or "hvm"/],
    ["libxlStream colo PV", () => libxlStream({ colo: true, checkpoints: 2, guest: "pv" }), /^libxlStream: colo streams are HVM only/],
    ["xlSaveFile maxPagesPerRecord", () => xlSaveFile({ maxPagesPerRecord: 0.5 }), /^xlSaveFile: maxPagesPerRecord must be/],
    ["libxcRecord type", () => libxcRecord({ type: "NOPE" as "END" }), /^libxcRecord: unknown record type "NOPE"$/],
    ["libxcRecord no types", () => libxcRecord({ type: [] }), /^libxcRecord: type must name at least one record type$/],
    ["libxcRecord guestWidth", () => libxcRecord({ guestWidth: 2 as 4 }), /^libxcRecord: guestWidth must be 4 or 8, got 2$/],
    ["libxlRecord type", () => libxlRecord({ type: "PAGE_DATA" as "END" }), /^libxlRecord: unknown record type "PAGE_DATA"$/],
    ["pageDataRecord pageSize", () => pageDataRecord({ pageSize: 1000 }), /^pageDataRecord: pageSize must be a power of two/],
    ["legacyStream width", () => legacyStream({ width: 16 as 32 }), /^legacyStream: width must be 32 or 64, got 16$/],
    ["legacyStream maxPages", () => legacyStream({ maxPages: 0 }), /^legacyStream: maxPages must be/],
  ];
  test.each(rows)("%s", (_name, build, message) => {
    expect(build).toThrow(RangeError);
    expect(build).toThrow(message);
  });
});

describe("stream arbitraries", () => {
  test.each([
    ["libxc", libxcStream({ byteOrder: "any" })],
    ["libxc v2", libxcStream({ version: 2 })],
    ["libxc checkpointed", libxcStream({ checkpoints: 2 })],
    ["libxl", libxlStream()],
    ["libxl Remus", libxlStream({ checkpoints: 2 })],
    ["libxl COLO", libxlStream({ checkpoints: 2, colo: true })],
    ["xl", xlSaveFile()],
  ] as const)("%s streams verify with no error (spec profile)", (_name, arbitrary) => {
    fc.assert(
      fc.property(arbitrary as fc.Arbitrary<{ bytes: Uint8Array }>, ({ bytes }) => {
        const errors = verifyStream(bytes).findings.filter((finding) => finding.severity === "error");
        if (errors.length > 0) throw new Error(errors.map((finding) => `${finding.code}: ${finding.message}`).join("; "));
      }),
      runs(25),
    );
  });

  test("both guest types, both versions and both PV widths are drawn", () => {
    const seen = new Set<string>();
    for (const { value } of fc.sample(libxcStream(), { numRuns: 200, seed: 11 })) {
      const pvInfo = value.records.find((record) => record.type === "X86_PV_INFO");
      seen.add(`${value.domainHeader.type}/${value.imageHeader.version}/${pvInfo?.type === "X86_PV_INFO" ? pvInfo.guestWidth : "-"}`);
    }
    expect([...seen].sort()).toEqual(["1/2/4", "1/2/8", "1/3/4", "1/3/8", "2/2/-", "2/3/-"]);
  });

  test("legacyStream: every stream converts, and the result decodes", () => {
    fc.assert(
      fc.property(legacyStream({ maxPages: 6 }), ({ value, bytes }) => {
        expect(value.summary.length).toBe(bytes.length);
        const converted = convertLegacy(bytes, { ...value.convert, format: "libxl" });
        expect(decodeSaveFile(converted).format).toBe("libxl");
      }),
      runs(30),
    );
  });

  test("legacyStream with an xl header", () => {
    const [sample] = fc.sample(legacyStream({ xl: true, guest: "pv", width: 64 }), { numRuns: 1, seed: 5 });
    expect(sample?.value.summary.xlHeaderSize).toBeGreaterThan(48);
    expect(sample?.value.convert).toEqual({ width: 64, guest: "pv", xl: true });
  });
});

describe("shrinking", () => {
  /** The counterexample fast-check reports for a property that fails on every stream. */
  function smallest<T>(arbitrary: fc.Arbitrary<T>): T {
    const details = fc.check(fc.property(arbitrary, () => false), { seed: 42, numRuns: 5 });
    expect(details.failed).toBe(true);
    return (details.counterexample as [T])[0];
  }

  test("a libxc stream shrinks to the plainest one: HVM, v3, one PAGE_DATA of one entry", () => {
    const { value } = smallest(libxcStream({ lenient: true, byteOrder: "any" }));
    expect(value.records.map((record) => record.type)).toEqual(["STATIC_DATA_END", "PAGE_DATA", "X86_TSC_INFO", "HVM_CONTEXT", "END"]);
    const pages = value.records[1];
    expect(pages?.type === "PAGE_DATA" && pages.entries).toEqual([{ pfn: 0, type: 0, reserved: 0 }]);
    expect(value.imageHeader.options).toBe(0);
  });

  test("a libxl stream shrinks to one emulator record, an xl file to no config", () => {
    const libxl = smallest(libxlStream({ lenient: true })).value;
    expect(libxl.items.map((item) => item.type)).toEqual(["LIBXC_CONTEXT", "LIBXC_STREAM", "EMULATOR_CONTEXT", "END"]);
    const xl = smallest(xlSaveFile({ lenient: true })).value;
    expect(xl.xl?.config).toBeUndefined();
  });

  test("a property failing only on PV streams with two vCPUs shrinks to exactly that", () => {
    const details = fc.check(
      fc.property(libxcStream({ guest: "pv" }), ({ value }) => value.records.filter((record) => record.type === "X86_PV_VCPU_BASIC").length < 2),
      { seed: 1, numRuns: 200 },
    );
    expect(details.failed).toBe(true);
    const { value } = (details.counterexample as [{ value: { records: LibxcRecord[] } }])[0];
    expect(value.records.map((record) => record.type)).toEqual([
      "X86_PV_INFO",
      "STATIC_DATA_END",
      "X86_PV_P2M_FRAMES",
      "PAGE_DATA",
      "X86_TSC_INFO",
      "SHARED_INFO",
      "X86_PV_VCPU_BASIC",
      "X86_PV_VCPU_BASIC",
      "END",
    ]);
  });

  test("a stream's value decodes to itself (libxc, through the whole-stream decoder)", () => {
    fc.assert(
      fc.property(libxcStream({ lenient: true }), ({ value, bytes }) => {
        expect(canon(decodeLibxcStream(bytes))).toEqual(canon(value));
      }),
      runs(10),
    );
  });
});
