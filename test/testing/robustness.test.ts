// Our own robustness, proven with the kit: over many mutated inputs of
// every stream kind, the decoders, the verifier and the legacy converter
// throw nothing but XenStreamError and keep their invariants; whatever a
// length field says (up to 4 GiB), memory grows only with the input; and
// work is bounded by the input (events and findings counted, not time).
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { LegacyConverter } from "../../src/legacy/index.js";
import { SaveFileDecoder, detectFormat, isXenStreamError } from "../../src/index.js";
import {
  BYTE_MUTATION_KINDS,
  FUZZ_GENERATORS,
  MUTATION_KINDS,
  legacyStream,
  libxcStream,
  libxlStream,
  mutateStream,
  mutation,
  runFuzzCase,
  runFuzzInput,
  streamMap,
  xlSaveFile,
  type FuzzInput,
  type MutationLabel,
} from "../../src/testing/index.js";
import { verifyStream } from "../../src/verify/index.js";
import { runs } from "../properties/harness.js";

/** Failures other than a verifier finding the label expected (tested in mutators.test.ts). */
function bugs(input: FuzzInput, label: MutationLabel): string[] {
  return runFuzzInput(input, label)
    .failures.filter((failure) => failure.target !== "label")
    .map((failure) => `${failure.target}: ${failure.message}`);
}

describe("no exception but XenStreamError, no broken invariant", () => {
  test.each(FUZZ_GENERATORS.map((generator) => [generator.name, generator]))("%s streams, every mutation kind", (_name, generator) => {
    const kinds = generator.format === "legacy" ? BYTE_MUTATION_KINDS : MUTATION_KINDS;
    fc.assert(
      fc.property(mutation(generator.arbitrary, { kinds }), ({ bytes, mutation: label }) => {
        const found = bugs({ bytes, format: label.format ?? "auto" }, label);
        if (found.length > 0) throw new Error(`${label.kind} (${label.description}): ${found.join("; ")}`);
      }),
      runs(120),
    );
  });

  test("stacked byte-level mutations (up to 6 at once)", () => {
    const anyStream = fc.oneof(...FUZZ_GENERATORS.map((generator) => generator.arbitrary));
    const step = fc.record({ kind: fc.constantFrom("bit-flip", "byte-set", "word-set", "insert", "delete", "splice" as const), target: fc.nat(), variant: fc.nat({ max: 0xffff }) });
    fc.assert(
      fc.property(anyStream, fc.array(step, { minLength: 1, maxLength: 6 }), ({ bytes }, steps) => {
        let current = bytes;
        for (const { kind, target, variant } of steps) current = mutateStream(current, kind, { target, variant }, { format: "libxc" })?.bytes ?? current;
        const found = bugs({ bytes: current, format: "auto" }, { kind: "bit-flip", description: "stacked", format: undefined });
        if (found.length > 0) throw new Error(found.join("; "));
      }),
      runs(200),
    );
  });

  test("the fuzzer's own cases, seeds 1-300", () => {
    const failing: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const { fuzzCase, result } = runFuzzCase(seed);
      for (const failure of result.failures) {
        failing.push(`seed ${seed} (${fuzzCase.generator}, ${fuzzCase.mutation.kind}): ${failure.target}: ${failure.message}`);
      }
    }
    expect(failing).toEqual([]);
  });
});

const HUGE = [0xffff_ffff, 0xffff_fff8, 0x8000_0000, 0x7fff_ffff, 0x0800_0001];

/** `bytes` with the u32 at `at` replaced. */
function withWord(bytes: Uint8Array, at: number, value: number, littleEndian: boolean): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(at, value, littleEndian);
  return out;
}

/**
 * Every input made by writing a huge length into a 4-aligned word of
 * `bytes` (both byte orders): every word of `bytes`, or (v2 streams) every
 * word of the first 64 bytes of each header and record, where the length
 * and count fields are.
 */
function* hugeLengths(bytes: Uint8Array, stride = 4): Generator<Uint8Array> {
  const starts = detectFormat(bytes) === "legacy" ? [0] : streamMap(bytes).frames.map((frame) => frame.offset);
  const done = new Set<number>();
  for (const start of starts) {
    const end = starts.length === 1 ? bytes.length : Math.min(bytes.length, start + 64);
    for (let at = start; at + 4 <= end; at += stride) {
      if (done.has(at)) continue;
      done.add(at);
      for (const value of HUGE) for (const littleEndian of [true, false]) yield withWord(bytes, at, value, littleEndian);
    }
  }
}

function arrayBuffers(): number {
  return process.memoryUsage().arrayBuffers;
}

/** Runs `action`; anything thrown must be a XenStreamError. */
function expectOnlyXenStreamError(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    if (!isXenStreamError(error)) throw error;
  }
}

/** Small valid streams of every format, with their lengths. */
function smallStreams(): Array<[string, Uint8Array]> {
  const one = <T extends { bytes: Uint8Array }>(arbitrary: fc.Arbitrary<T>, seed: number): Uint8Array =>
    (fc.sample(arbitrary, { numRuns: 1, seed })[0] as T).bytes;
  const tiny = { maxPageRecords: 1, maxPagesPerRecord: 1 } as const;
  return [
    ["libxc HVM", one(libxcStream({ ...tiny, guest: "hvm" }), 1)],
    ["libxc PV big-endian", one(libxcStream({ ...tiny, guest: "pv", byteOrder: "big" }), 2)],
    ["libxl COLO", one(libxlStream({ ...tiny, checkpoints: 2, colo: true }), 3)],
    ["xl", one(xlSaveFile({ ...tiny, guest: "hvm" }), 4)],
  ];
}

/** Growth allowed: a few copies of the input, plus slack for the runtime. */
function allowance(input: Uint8Array): number {
  return 8 * input.length + (2 << 20);
}

describe("allocation is bounded by the input, whatever the length fields say (up to 4 GiB)", () => {
  test.each(smallStreams())("decoders on %s with every word set to a huge length", (_name, valid) => {
    let worst = 0;
    let inputs = 0;
    for (const bytes of hugeLengths(valid)) {
      for (const maxRecordLength of [undefined, 0xffff_ffff]) {
        const decoder = new SaveFileDecoder(maxRecordLength === undefined ? {} : { maxRecordLength });
        const before = arrayBuffers();
        expectOnlyXenStreamError(() => decoder.push(bytes));
        // Measured while the decoder is alive and holding whatever it kept.
        worst = Math.max(worst, arrayBuffers() - before);
        expectOnlyXenStreamError(() => decoder.end());
        inputs++;
      }
    }
    expect(inputs).toBeGreaterThan(500);
    expect(worst).toBeLessThan(allowance(valid));
  });

  test.each(smallStreams())("the verifier on %s with huge lengths (limit raised to 4 GiB)", (_name, valid) => {
    let worst = 0;
    for (const bytes of hugeLengths(valid)) {
      const before = arrayBuffers();
      const report = verifyStream(bytes, { maxRecordLength: 0xffff_ffff });
      worst = Math.max(worst, arrayBuffers() - before);
      expect(report.findings.length).toBeLessThanOrEqual(1001);
    }
    expect(worst).toBeLessThan(allowance(valid) + (16 << 20)); // + the verifier's default 16 MiB pfn bitmap
  });

  test("the legacy converter on legacy streams with huge lengths (limit raised to 4 GiB)", () => {
    const streams = fc.sample(legacyStream({ maxPages: 2, maxVcpus: 1 }), { numRuns: 2, seed: 8 });
    let worst = 0;
    let inputs = 0;
    for (const { value, bytes: valid } of streams) {
      for (const bytes of hugeLengths(valid.subarray(0, Math.min(valid.length, 2000)))) {
        const input = bytes.length === valid.length ? bytes : (() => { const out = valid.slice(); out.set(bytes); return out; })();
        const converter = new LegacyConverter({ ...value.convert, format: "libxl", maxRecordLength: 0xffff_ffff });
        const before = arrayBuffers();
        let output = 0;
        expectOnlyXenStreamError(() => {
          for (const part of converter.push(input)) output += part.length;
          for (const part of converter.end()) output += part.length;
        });
        worst = Math.max(worst, arrayBuffers() - before - output);
        expect(output).toBeLessThanOrEqual(4 * input.length + (64 << 10));
        inputs++;
      }
    }
    expect(inputs).toBeGreaterThan(5000);
    expect(worst).toBeLessThan(8 * 60_000 + (2 << 20));
  });
});

describe("work is bounded by the input (no hang)", () => {
  test("byte-by-byte decoding of mutated streams: at most one event per 8 bytes (plus headers)", () => {
    const anyV2 = fc.oneof(...FUZZ_GENERATORS.filter((generator) => generator.format !== "legacy").map((generator) => mutation(generator.arbitrary)));
    fc.assert(
      fc.property(anyV2, ({ bytes, mutation: label }) => {
        const decoder = new SaveFileDecoder({ format: label.format === "legacy" || label.format === undefined ? "auto" : label.format });
        let events = 0;
        let pushes = 0;
        expectOnlyXenStreamError(() => {
          for (let at = 0; at < bytes.length; at++) {
            events += decoder.push(bytes.subarray(at, at + 1)).length;
            pushes++;
          }
          decoder.end();
        });
        expect(pushes).toBeLessThanOrEqual(bytes.length);
        expect(events).toBeLessThanOrEqual(Math.floor(bytes.length / 8) + 4);
      }),
      runs(40),
    );
  });

  test("the verifier's findings stay within maxFindings (plus the TOO_MANY_FINDINGS marker)", () => {
    fc.assert(
      fc.property(mutation(libxlStream({ lenient: true, checkpoints: 2 })), fc.integer({ min: 1, max: 5 }), ({ bytes }, maxFindings) => {
        const { findings } = verifyStream(bytes, { maxFindings });
        expect(findings.length).toBeLessThanOrEqual(maxFindings + 1);
        if (findings.length > maxFindings) expect(findings[findings.length - 1]?.code).toBe("TOO_MANY_FINDINGS");
      }),
      runs(60),
    );
  });
});
