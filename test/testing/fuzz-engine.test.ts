// The fuzz engine's speed-ups keep a case a function of its seed alone:
// seed groups sharing one valid stream, the per-group mutation places, the
// per-case memo of the whole-buffer decode and verdicts, the schedule of
// targets and the seeded chunking of the chunked decode.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  FUZZ_TARGETS,
  SEED_GROUP,
  chunkedDecodeTarget,
  fuzzCase,
  runFuzzInput,
  scheduledTargets,
  xlSaveFile,
  type FuzzCase,
} from "../../src/testing/index.js";
import { convertedBytes, decodeOutcome, verifierVerdict, withCaseMemo } from "../../src/testing/targets.js";

function summary(fuzz: FuzzCase): unknown {
  return { generator: fuzz.generator, bytes: [...fuzz.input.bytes], format: fuzz.input.format, chunking: fuzz.input.chunking, legacy: fuzz.input.legacy, mutation: fuzz.mutation };
}

describe("fuzzCase", () => {
  const seeds = Array.from({ length: 3 * SEED_GROUP }, (_, i) => 5 * SEED_GROUP + i);

  test("depends on the seed only, whatever was drawn before (cached group stream and places)", () => {
    const forward = seeds.map((seed) => summary(fuzzCase(seed)));
    // Backwards and interleaved: every case is made from another cache state.
    const backward = [...seeds].reverse().map((seed) => summary(fuzzCase(seed))).reverse();
    const interleaved = seeds.map((seed, i) => summary(fuzzCase(i % 2 === 0 ? seed : (seeds[seeds.length - 1 - i] as number))));
    expect(backward).toEqual(forward);
    interleaved.forEach((value, i) => expect(value).toEqual(forward[i % 2 === 0 ? i : seeds.length - 1 - i]));
  });

  test(`the ${SEED_GROUP} seeds of a group mutate one stream, each differently`, () => {
    for (let group = 5; group < 8; group++) {
      const cases = Array.from({ length: SEED_GROUP }, (_, i) => fuzzCase(group * SEED_GROUP + i));
      expect(new Set(cases.map((one) => one.generator)).size).toBe(1);
      const distinct = new Set(cases.map((one) => `${one.mutation.kind} ${one.mutation.description} ${one.input.bytes.length}`));
      expect(distinct.size).toBeGreaterThan(SEED_GROUP / 2);
      expect(new Set(cases.map((one) => one.input.chunking)).size).toBe(SEED_GROUP);
    }
  });
});

describe("scheduledTargets", () => {
  test("one target per case, and in turn every target that takes the input; the converter every other legacy case", () => {
    // Group 3's stream is a legacy one, group 7's a libxc one.
    expect([fuzzCase(3 * SEED_GROUP).generator, fuzzCase(7 * SEED_GROUP).generator]).toEqual(["legacy", "libxc-lenient"]);
    for (const first of [3 * SEED_GROUP, 7 * SEED_GROUP]) {
      const input = fuzzCase(first).input;
      const taking = FUZZ_TARGETS.filter((target) => target.applies(input)).map((target) => target.name);
      const chosen = Array.from({ length: 16 }, (_, i) => scheduledTargets(first + i, input).map((target) => target.name));
      chosen.forEach((names) => expect(names).toHaveLength(1));
      expect([...new Set(chosen.flat())].sort()).toEqual([...taking].sort());
      const converting = chosen.filter((names) => names[0] === "convert").length;
      expect(converting).toBe(taking.includes("convert") ? 8 : 0);
    }
  });

  test("runFuzzInput runs the classification and only the targets given", () => {
    const { input, mutation } = fuzzCase(3);
    const result = runFuzzInput(input, mutation, scheduledTargets(3, input));
    expect(Object.keys(result.targets)).toEqual(scheduledTargets(3, input).map((target) => target.name));
    expect(result.outcome).not.toBe("crash");
  });
});

describe("the per-case memo", () => {
  test("inside withCaseMemo the decode and the verdicts of the case's input are computed once; outside, every time", () => {
    const { bytes } = fc.sample(xlSaveFile(), { seed: 11, numRuns: 1 })[0] as { bytes: Uint8Array };
    withCaseMemo(bytes, () => {
      expect(decodeOutcome(bytes, "xl")).toBe(decodeOutcome(bytes, "xl"));
      expect(verifierVerdict(bytes, "xl", "restore")).toBe(verifierVerdict(bytes, "xl", "restore"));
      expect(verifierVerdict(bytes, "xl", "spec")).not.toBe(verifierVerdict(bytes, "xl", "restore"));
      // Another buffer with the same bytes is not the case's input.
      const copy = bytes.slice();
      expect(decodeOutcome(copy, "xl")).not.toBe(decodeOutcome(copy, "xl"));
    });
    expect(decodeOutcome(bytes, "xl")).not.toBe(decodeOutcome(bytes, "xl"));
    expect(decodeOutcome(bytes, "xl")).toEqual({ outcome: "ok", events: decodeOutcome(bytes, "xl").events });
  });

  test("the conversion of a legacy case is done once per options, its error thrown again", () => {
    const { input } = fuzzCase(3 * SEED_GROUP);
    const options = { ...input.legacy, format: "libxl" as const };
    withCaseMemo(input.bytes, () => {
      expect(convertedBytes(input.bytes, options)).toBe(convertedBytes(input.bytes, options));
      expect(convertedBytes(input.bytes, { ...options, format: "libxc" })).not.toBe(convertedBytes(input.bytes, options));
    });
    const cut = input.bytes.subarray(0, 100);
    const thrown = (): unknown => {
      try {
        return convertedBytes(cut, options);
      } catch (error) {
        return error;
      }
    };
    withCaseMemo(cut, () => {
      const first = thrown();
      expect(first).toMatchObject({ name: "XenStreamError", code: "TRUNCATED" });
      expect(thrown()).toBe(first);
    });
    expect(thrown()).not.toBe(thrown());
    expect(convertedBytes(input.bytes, options)).not.toBe(convertedBytes(input.bytes, options));
  });
});

describe("the seeded chunked decode", () => {
  test("any chunking seed gives the whole-buffer outcome, valid and truncated streams alike", () => {
    fc.assert(
      fc.property(xlSaveFile({ lenient: true }), fc.nat(), fc.nat(), ({ bytes }, chunking, cut) => {
        expect(chunkedDecodeTarget.run({ bytes, format: "xl", chunking })).toBe("ok");
        const truncated = bytes.subarray(0, cut % bytes.length);
        expect(chunkedDecodeTarget.run({ bytes: truncated, format: "xl", chunking })).toBe(decodeOutcome(truncated, "xl").outcome);
      }),
      { numRuns: 40, seed: 19 },
    );
  });
});
