// The internal reuseEntries decoder option (the verifier's): PAGE_DATA
// records share one entries array and its objects, refilled per record, and
// each record's entries are right while pushEach's callback runs.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { SaveFileDecoder, type PfnEntry, type SaveFileEvent } from "../../src/index.js";
import type { InternalDecoderOptions } from "../../src/libxc/decoder.js";
import { concatBytes } from "../../src/wire/bytes.js";
import { libxcStream, xlSaveFile } from "../../src/testing/index.js";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";
import { runs } from "../properties/harness.js";

/** PAGE_DATA entries as seen inside the callback, copied there. */
function entriesSeen(bytes: Uint8Array, reuseEntries: boolean, chunk = bytes.length): { seen: PfnEntry[][]; arrays: PfnEntry[][] } {
  const options: InternalDecoderOptions = { reuseEntries };
  const decoder = new SaveFileDecoder(options);
  const seen: PfnEntry[][] = [];
  const arrays: PfnEntry[][] = [];
  const visit = (event: SaveFileEvent): void => {
    if (event.kind !== "record" || event.record.type !== "PAGE_DATA") return;
    arrays.push(event.record.entries);
    seen.push(event.record.entries.map((entry) => ({ ...entry })));
  };
  for (let pos = 0; pos < bytes.length; pos += chunk) decoder.pushEach(bytes.subarray(pos, pos + chunk), visit);
  decoder.end();
  return { seen, arrays };
}

describe("reuseEntries", () => {
  test("one array and one set of objects for every PAGE_DATA record, each right in its callback", () => {
    // Batches of 16 pages, the last one shorter: the array shrinks too.
    const bytes = concatBytes([...generatePvStream({ size: 200_000, format: "xl", batchPages: 16 })]);
    const fresh = entriesSeen(bytes, false);
    const reused = entriesSeen(bytes, true, 4096);
    expect(fresh.seen.map((entries) => entries.length)).toEqual(reused.seen.map((entries) => entries.length));
    expect(fresh.seen.length).toBeGreaterThan(2);
    expect(new Set(fresh.seen.map((entries) => entries.length)).size).toBe(2);
    expect(reused.seen).toEqual(fresh.seen);
    expect(new Set(reused.arrays).size).toBe(1);
    expect(new Set(fresh.arrays).size).toBe(fresh.arrays.length);
    const [first, second] = reused.arrays as [PfnEntry[], PfnEntry[]];
    expect(first[0]).toBe(second[0]); // the same object, refilled
    // After decoding, the shared array holds the last record's entries.
    expect(first.map((entry) => ({ ...entry }))).toEqual(fresh.seen.at(-1));
  });

  test("any libxc or xl stream: the same entries as fresh decoding, record by record", () => {
    fc.assert(
      fc.property(fc.oneof(libxcStream({ maxPageRecords: 4, maxPagesPerRecord: 6, byteOrder: "any" }), xlSaveFile()), fc.integer({ min: 1, max: 97 }), ({ bytes }, chunk) => {
        expect(entriesSeen(bytes, true, chunk).seen).toEqual(entriesSeen(bytes, false).seen);
      }),
      runs(60),
    );
  });

  test("public decoding is unaffected: push() records keep their own entries", () => {
    const bytes = concatBytes([...generatePvStream({ size: 200_000, format: "libxc", batchPages: 16 })]);
    const records = new SaveFileDecoder().push(bytes).filter((event) => event.kind === "record" && event.record.type === "PAGE_DATA");
    const arrays = records.map((event) => (event.kind === "record" && event.record.type === "PAGE_DATA" ? event.record.entries : []));
    expect(new Set(arrays).size).toBe(arrays.length);
    expect(arrays[0]?.[0]).toEqual({ pfn: 0, type: 0, reserved: 0 });
    expect(arrays[1]?.[0]).toEqual({ pfn: 16, type: 0, reserved: 0 });
  });
});
