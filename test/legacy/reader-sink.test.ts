// LegacyReader with reuseEntries, driven by pushEach/endEach (the
// converter's way): events reach the visitor as they are made, and
// PAGE_DATA entries are refilled in place from batch to batch; push()
// without it returns events that own their entries.
import { describe, expect, test } from "vitest";
import { LegacyReader, type LegacyEvent, type PfnEntry } from "../../src/index.js";
import type { InternalLegacyOptions } from "../../src/legacy/parser.js";
import { generateLegacyStream } from "../../src/testing/legacy-generator.js";

const { bytes } = generateLegacyStream({ seed: 11, width: 64, guest: "pv", pages: 40, maxBatch: 16, fullBatches: true, mixedTypes: true });

function pageData(event: LegacyEvent): PfnEntry[] | undefined {
  return event.layer === "libxc" && event.kind === "record" && event.record.type === "PAGE_DATA" ? event.record.entries : undefined;
}

describe("LegacyReader: reuseEntries with pushEach", () => {
  test("the visitor sees the same events as push() returns, each batch's entries right while it runs", () => {
    const plain = new LegacyReader({ width: 64, guest: "pv" });
    const returned = [...plain.push(bytes), ...plain.end()];
    const expected = returned.map(pageData).filter((entries) => entries !== undefined);
    expect(expected.length).toBeGreaterThan(2);
    expect(new Set(expected).size).toBe(expected.length); // push(): every record owns its array

    const reusing: InternalLegacyOptions = { width: 64, guest: "pv", reuseEntries: true };
    const sunk = new LegacyReader(reusing);
    const seen: PfnEntry[][] = [];
    const arrays = new Set<PfnEntry[]>();
    let count = 0;
    const visit = (event: LegacyEvent): void => {
      count += 1;
      const entries = pageData(event);
      if (entries === undefined) return;
      arrays.add(entries);
      seen.push(entries.map((entry) => ({ ...entry })));
    };
    for (let pos = 0; pos < bytes.length; pos += 777) sunk.pushEach(bytes.subarray(pos, pos + 777), visit);
    sunk.endEach(visit);
    expect(count).toBe(returned.length);
    expect(seen).toEqual(expected.map((entries) => entries.map((entry) => ({ ...entry }))));
    expect(arrays.size).toBe(1); // one array, refilled
  });
});
