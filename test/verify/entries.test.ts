// The verifier's shallow decode (internal `shallowEntries`, issue #19): the
// array records are validated as a full decode validates them, their
// arrays built only when read, and the verifier's byte walkers (entries.ts)
// see exactly the entries a full decode builds.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  SaveFileDecoder,
  decodeLibxcStream,
  encodeLibxcStream,
  encodeLibxlStream,
  decodeLibxlStream,
  isXenStreamError,
  type LibxcRecord,
  type LibxlRecord,
  type SaveFileEvent,
} from "../../src/index.js";
import type { InternalDecoderOptions } from "../../src/libxc/decoder.js";
import { shallowBody } from "../../src/libxc/records/lazy.js";
import {
  cpuidLeavesPrefix,
  forEachCpuidLeaf,
  forEachMsrFlags,
  forEachXenstorePair,
  hvmParamCount,
  msrEntriesPrefix,
  p2mFrameCount,
  pfnEntries,
  policyEntryCount,
} from "../../src/verify/entries.js";
import { HOSTILE_KINDS, hostileStream } from "../helpers/hostile-entries.js";
import { runs } from "../properties/harness.js";

type AnyRecord = LibxcRecord | LibxlRecord;

/** The records of `bytes` (END excluded), decoded shallow or in full. */
function recordsOf(bytes: Uint8Array, shallowEntries: boolean): AnyRecord[] {
  const options: InternalDecoderOptions = { shallowEntries };
  const decoder = new SaveFileDecoder(options);
  const records: AnyRecord[] = [];
  const visit = (event: SaveFileEvent): void => {
    if (event.kind === "record" && event.record.type !== "END") records.push(event.record);
  };
  decoder.pushEach(bytes, visit);
  decoder.endEach(visit);
  return records;
}

/** Everything the verifier's walkers read from `record`, as plain values. */
function walked(record: AnyRecord): unknown {
  switch (record.type) {
    case "PAGE_DATA": {
      const entries = pfnEntries(record);
      const seen: number[][] = [];
      for (let i = 0; i < entries.count; i++) seen.push([entries.pfn(i), entries.type(i), entries.reserved(i)]);
      return seen;
    }
    case "HVM_PARAMS":
      return hvmParamCount(record);
    case "X86_PV_P2M_FRAMES":
      return p2mFrameCount(record);
    case "X86_CPUID_POLICY": {
      const seen: number[][] = [];
      forEachCpuidLeaf(record, (leaf, subleaf, a, b) => seen.push([leaf, subleaf, a, b]));
      return { seen, count: policyEntryCount(record), prefix: cpuidLeavesPrefix(record, 3) };
    }
    case "X86_MSR_POLICY": {
      const seen: number[][] = [];
      forEachMsrFlags(record, (i, index, flags) => seen.push([i, index, flags]));
      return { seen, count: policyEntryCount(record), prefix: msrEntriesPrefix(record, 3) };
    }
    case "EMULATOR_XENSTORE_DATA": {
      const seen: number[][][] = [];
      forEachXenstorePair(record, (keyBytes, keyStart, keyEnd, valueBytes, valueStart, valueEnd) =>
        seen.push([[...keyBytes.subarray(keyStart, keyEnd)], [...valueBytes.subarray(valueStart, valueEnd)]]),
      );
      return seen;
    }
    default:
      return undefined;
  }
}

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const noNul = fc.uint8Array({ minLength: 0, maxLength: 6 }).map((bytes) => bytes.map((byte) => byte || 0x2f));

/** One record of each array type, from arbitrary entries. */
const arrayRecord: fc.Arbitrary<AnyRecord> = fc.oneof(
  fc
    .array(
      fc.record({
        pfn: fc.integer({ min: 0, max: 2 ** 52 - 1 }),
        type: fc.constantFrom(0xd, 0xe, 0xf), // BROKEN, XALLOC, XTAB: no page data
        reserved: fc.integer({ min: 0, max: 0xff }),
      }),
      { minLength: 1, maxLength: 12 },
    )
    .map((entries): AnyRecord => ({ type: "PAGE_DATA", reserved: 0, entries, pages: new Uint8Array(0) })),
  fc.array(fc.record({ index: u64, value: u64 }), { maxLength: 8 }).map((params): AnyRecord => ({ type: "HVM_PARAMS", reserved: 0, params })),
  fc
    .array(fc.record({ leaf: u32, subleaf: u32, a: u32, b: u32, c: u32, d: u32 }), { minLength: 1, maxLength: 8 })
    .map((entries): AnyRecord => ({ type: "X86_CPUID_POLICY", entries })),
  fc
    .array(fc.record({ index: u32, flags: u32, value: u64 }), { minLength: 1, maxLength: 8 })
    .map((entries): AnyRecord => ({ type: "X86_MSR_POLICY", entries })),
  fc
    .tuple(u32, u32, fc.array(u64, { maxLength: 8 }))
    .map(([a, b, frames]): AnyRecord => ({ type: "X86_PV_P2M_FRAMES", startPfn: Math.min(a, b), endPfn: Math.max(a, b), frames })),
  fc.array(u64, { maxLength: 8 }).map((pfns): AnyRecord => ({ type: "CHECKPOINT_DIRTY_PFN_LIST", pfns })),
  fc
    .tuple(u32, u32, fc.array(fc.tuple(noNul, noNul), { maxLength: 8 }))
    .map(([emulatorId, index, entries]): AnyRecord => ({ type: "EMULATOR_XENSTORE_DATA", emulatorId, index, entries })),
);

// Headers to wrap the records in (an x86 PV libxc stream; a libxl stream).
const libxcBase = decodeLibxcStream(hostileStream("xtab", 16));
const libxlBase = decodeLibxlStream(hostileStream("xenstore", 12));

function streamOf(record: AnyRecord): Uint8Array {
  if (record.type === "EMULATOR_XENSTORE_DATA") {
    return encodeLibxlStream({ header: libxlBase.header, items: [record, { type: "END" }] });
  }
  return encodeLibxcStream({ imageHeader: libxcBase.imageHeader, domainHeader: libxcBase.domainHeader, records: [record as LibxcRecord, { type: "END" }] });
}

/** The decode's outcome: its records materialised, or its error. */
function outcome(bytes: Uint8Array, shallow: boolean): unknown {
  try {
    return recordsOf(bytes, shallow).map((record) => ({ walked: walked(record), record: { ...record } }));
  } catch (error) {
    if (!isXenStreamError(error)) throw error;
    return { code: error.code, offset: error.offset, message: error.message };
  }
}

describe("shallow decode of the array records", () => {
  test("the walkers read what a full decode builds; the arrays, read, equal the full decode's, in the same key order", () => {
    fc.assert(
      fc.property(arrayRecord, (original) => {
        const bytes = streamOf(original);
        const [shallow] = recordsOf(bytes, true) as [AnyRecord];
        const [full] = recordsOf(bytes, false) as [AnyRecord];
        expect(shallowBody(shallow)).toBeDefined();
        expect(shallowBody(full)).toBeUndefined();
        // Walked before the arrays are built, then again after.
        const before = walked(shallow);
        expect(before).toEqual(walked(full));
        expect(Object.keys(shallow)).toEqual(Object.keys(full));
        expect(shallow).toEqual(full);
        expect(walked(shallow)).toEqual(before);
      }),
      runs(300),
    );
  });

  test("the array of a shallow record is assignable and then a plain property", () => {
    const [record] = recordsOf(streamOf({ type: "CHECKPOINT_DIRTY_PFN_LIST", pfns: [1n, 2n] }), true) as [AnyRecord];
    if (record.type !== "CHECKPOINT_DIRTY_PFN_LIST") throw new Error("unexpected record");
    const first = record.pfns;
    expect(first).toEqual([1n, 2n]);
    expect(record.pfns).toBe(first);
    record.pfns = [7n];
    expect(record.pfns).toEqual([7n]);
    expect(Object.getOwnPropertyDescriptor(record, "pfns")).toMatchObject({ value: [7n], writable: true, enumerable: true });
  });

  test.each(HOSTILE_KINDS)("%s: a mutated stream fails shallow exactly as in full (code, offset, message), or decodes to the same records", (kind) => {
    const base = hostileStream(kind, 96);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        (edits) => {
          const bytes = base.slice();
          for (const [at, value] of edits) bytes[at] = value;
          expect(outcome(bytes, true)).toEqual(outcome(bytes, false));
        },
      ),
      runs(150),
    );
  });
});
