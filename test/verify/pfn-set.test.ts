/**
 * PfnSet (issue #19 item 3): counts distinct pfns with memory that grows
 * with the pages seen, turning dense only when that is smaller.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { PfnSet } from "../../src/verify/pfn-set.js";

describe("PfnSet", () => {
  test("one page at the top of a 2^27 range costs a window, not a 16 MiB bitmap", () => {
    const set = new PfnSet(2 ** 27 - 1);
    set.add(2 ** 27 - 1);
    set.add(2 ** 27 - 1);
    expect(set.size).toBe(1);
    expect(set.bytesHeld).toBeLessThan(4096);
  });

  test("pages spread one per window turn into a dense bitmap no larger than the range / 8", () => {
    const max = 2 ** 24 - 1;
    const set = new PfnSet(max);
    let count = 0;
    for (let pfn = 0; pfn <= max; pfn += 512) {
      set.add(pfn);
      count++;
    }
    expect(set.size).toBe(count);
    expect(set.bytesHeld).toBeLessThanOrEqual((max + 1) / 8);
  });

  test("property: counts like a Set, across the switch to dense", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 2 ** 20 })), { maxLength: 3000 }), (pfns) => {
        const set = new PfnSet(2 ** 20);
        const reference = new Set<number>();
        for (const pfn of pfns) {
          set.add(pfn);
          reference.add(pfn);
          expect(set.size).toBe(reference.size);
        }
      }),
      { numRuns: 100 },
    );
  });
});
