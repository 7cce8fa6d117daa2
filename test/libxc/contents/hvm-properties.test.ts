/**
 * Properties of the HVM context codec over generated blobs
 * (src/testing/hvm-context.ts): round trips both ways, the descriptors the
 * generator wrote, truncation at every offset, random mutation (only
 * XenStreamError, never a throw from the check), and restorable blobs
 * passing the restore check.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isXenStreamError } from "../../../src/index.js";
import { checkHvmContext, decodeHvmContext, encodeHvmContext, walkHvmContext } from "../../../src/libxc/contents/hvm-context.js";
import { hvmContextBlob } from "../../../src/testing/hvm-context.js";

const RUNS = { numRuns: 150 };

/** One fast-check property as a vitest test. */
function prop<T>(name: string, arbitrary: fc.Arbitrary<T>, parameters: fc.Parameters<[T]>, predicate: (value: T) => void): void {
  test(name, () => fc.assert(fc.property(arbitrary, predicate), parameters));
}

describe("HVM context properties", () => {
  prop("bytes -> value -> bytes is the identity; the descriptors are the generator's", hvmContextBlob(), RUNS, (blob) => {
    const context = decodeHvmContext(blob.bytes);
    expect(encodeHvmContext(context)).toEqual(blob.bytes);
    expect(context.entries.map((e) => [e.typecode, e.instance, e.length])).toEqual(blob.entries.map((e) => [e.typecode, e.instance, e.length]));
    expect(context.trailing).toHaveLength(blob.trailing);
    expect(walkHvmContext(blob.bytes).descriptors).toEqual(blob.entries);
  });

  prop("value -> bytes -> value is the identity", hvmContextBlob(), RUNS, (blob) => {
    const context = decodeHvmContext(blob.bytes);
    expect(decodeHvmContext(encodeHvmContext(context))).toEqual(context);
  });

  prop("every truncation fails with TRUNCATED or BAD_LENGTH", hvmContextBlob({ maxEntries: 4 }), { numRuns: 25 }, (blob) => {
    // The END descriptor is the last 8 bytes before the trailing ones.
    const endOfEnd = blob.bytes.length - blob.trailing;
    for (let cut = 0; cut < endOfEnd; cut++) {
      try {
        decodeHvmContext(blob.bytes.subarray(0, cut));
        throw new Error(`decoded a blob cut at ${cut} of ${endOfEnd}`);
      } catch (error) {
        if (!isXenStreamError(error)) throw error;
        expect(["TRUNCATED", "BAD_LENGTH"]).toContain(error.code);
        expect(error.offset).toBeLessThanOrEqual(cut);
      }
    }
  });

  prop("mutation: a value that round-trips, or a XenStreamError; the check never throws", fc.tuple(hvmContextBlob(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })), RUNS, ([blob, edits]) => {
      const bytes = blob.bytes.slice();
      for (const [at, value] of edits) if (bytes.length > 0) bytes[at % bytes.length] = value;
      expect(Array.isArray(checkHvmContext(bytes, { vcpus: 2 }))).toBe(true);
      let context;
      try {
        context = decodeHvmContext(bytes);
      } catch (error) {
        if (!isXenStreamError(error)) throw error;
        return;
      }
      expect(encodeHvmContext(context)).toEqual(bytes);
    },
  );

  prop("arbitrary bytes: a value or a XenStreamError", fc.uint8Array({ maxLength: 64 }), RUNS, (bytes) => {
    try {
      expect(encodeHvmContext(decodeHvmContext(bytes))).toEqual(bytes);
    } catch (error) {
      if (!isXenStreamError(error)) throw error;
    }
    checkHvmContext(bytes);
  });

  prop("what Xen writes, Xen loads: restorable blobs give no findings and round-trip", fc.integer({ min: 1, max: 4 }).chain((vcpus) => hvmContextBlob({ restorable: true, vcpus }).map((blob) => ({ vcpus, blob }))), { numRuns: 30 }, ({ vcpus, blob }) => {
      expect(checkHvmContext(blob.bytes, { vcpus })).toEqual([]);
      expect(encodeHvmContext(decodeHvmContext(blob.bytes))).toEqual(blob.bytes);
      // One vCPU fewer: every entry of the last vCPU is refused.
      const last = blob.entries.filter((e) => e.instance === vcpus - 1 && [2, 5, 6, 14, 16, 17, 18, 19, 20].includes(e.typecode));
      if (vcpus > 1) {
        const findings = checkHvmContext(blob.bytes, { vcpus: vcpus - 1 });
        expect(findings.map((f) => f.pos)).toEqual(last.map((e) => e.pos + 2));
      }
    },
  );

  prop(
    "any value put in any field: bytes or a XenStreamError, never another error",
    fc.tuple(hvmContextBlob({ maxEntries: 6 }), fc.nat(), fc.anything({ withBigInt: true, withTypedArray: true })),
    { numRuns: 200 },
    ([blob, pick, value]) => {
      const context = decodeHvmContext(blob.bytes);
      // Every (object, key) pair inside the entries, in a stable order.
      const slots: Array<[Record<string, unknown>, string]> = [];
      const visit = (node: unknown): void => {
        if (node === null || typeof node !== "object" || node instanceof Uint8Array) return;
        for (const key of Object.keys(node)) {
          slots.push([node as Record<string, unknown>, key]);
          visit((node as Record<string, unknown>)[key]);
        }
      };
      visit(context.entries);
      const [holder, key] = slots[pick % slots.length]!;
      holder[key] = value;
      try {
        encodeHvmContext(context);
      } catch (error) {
        if (!isXenStreamError(error)) throw error;
      }
    },
  );

  test("a hostile value (its toString is not callable, a symbol) is BAD_VALUE, never a TypeError (CI seed 185137658)", () => {
    // HEADER (24 bytes) and END: the shrunk counterexample of the property above.
    const bytes = Uint8Array.from([1, 0, 0, 0, 24, 0, 0, 0, 134, 18, 56, 84, 1, 0, 0, 0, ...new Array<number>(24).fill(0)]);
    for (const hostile of [{ toString: 0n }, Symbol("x"), { valueOf: () => { throw new Error("no"); } }]) {
      const context = decodeHvmContext(bytes);
      (context.entries[0] as unknown as { fields: Record<string, unknown> }).fields.magic = hostile;
      let caught: unknown;
      try {
        encodeHvmContext(context);
      } catch (error) {
        caught = error;
      }
      expect(isXenStreamError(caught) && caught.code).toBe("BAD_VALUE");
    }
  });

  test("constraints are checked eagerly, naming the arbitrary", () => {
    expect(() => hvmContextBlob({ vcpus: 0 })).toThrow("hvmContextBlob: vcpus must be an integer in 1..16, got 0");
    expect(() => hvmContextBlob({ maxEntries: 65 })).toThrow("hvmContextBlob: maxEntries must be an integer in 0..64, got 65");
  });
});
