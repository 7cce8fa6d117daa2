// Property tests for the libxc codec over arbitrary valid streams: both
// round trips, chunking invariance, truncation at every offset, mutation.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { LibxcDecoder, decodeLibxcEvents, decodeLibxcStream, encodeLibxcStream } from "../../src/index.js";
import { libxcStream, type StreamConstraints } from "../../src/testing/index.js";
import { assertTruncation, canon, cutsArbitrary, expectSameBytes, decodeSplit, expectValueOrXenStreamError, mutate, mutationArbitrary, noisy, runs } from "./harness.js";

const variants: Array<[string, StreamConstraints]> = [
  ["v3 PV/HVM little-endian", { version: 3 }],
  ["v2 PV/HVM", { version: 2 }],
  ["big-endian", { byteOrder: "big" }],
  ["page_shift 13", { pageShift: 13 }],
  ["lenient (reserved, padding, extra, optional records)", { lenient: true, byteOrder: "any" }],
  ["checkpointed (3 checkpoints)", { checkpoints: 3 }],
];

describe.each(variants)("libxc %s", (_name, constraints) => {
  const streams = libxcStream(constraints);

  test("encode(decode(bytes)) === bytes", () => {
    fc.assert(
      fc.property(streams, ({ bytes }) => {
        expectSameBytes(encodeLibxcStream(decodeLibxcStream(noisy(bytes))), bytes);
      }),
      runs(40),
    );
  });

  test("decode(encode(value)) deep-equals value", () => {
    fc.assert(
      fc.property(streams, ({ value, bytes }) => {
        expect(canon(decodeLibxcStream(bytes))).toEqual(canon(value));
      }),
      runs(40),
    );
  });

  test("any split into chunks gives the same events", () => {
    fc.assert(
      fc.property(streams, cutsArbitrary(), ({ bytes }, cuts) => {
        const whole = decodeLibxcEvents(bytes);
        expect(canon(decodeSplit(() => new LibxcDecoder(), bytes, cuts(bytes.length)))).toEqual(canon(whole));
      }),
      runs(40),
    );
  });

  test("random mutations give a value or XenStreamError", () => {
    fc.assert(
      fc.property(streams, mutationArbitrary, ({ bytes }, mutations) => {
        const mutated = mutate(bytes, mutations);
        expectValueOrXenStreamError(() => decodeLibxcStream(mutated), mutated.length);
      }),
      runs(200),
    );
  });
});

describe("libxc truncation", () => {
  test("every strict prefix of a plain stream is TRUNCATED at its length", () => {
    fc.assert(
      fc.property(libxcStream({ maxPageRecords: 1, maxPagesPerRecord: 2, byteOrder: "any", lenient: true }), ({ bytes }) => {
        assertTruncation(() => new LibxcDecoder(), bytes);
      }),
      runs(8),
    );
  });

  test("a checkpointed stream may end only right after a CHECKPOINT", () => {
    fc.assert(
      fc.property(libxcStream({ checkpoints: 2, maxPageRecords: 1, maxPagesPerRecord: 2 }), ({ bytes }) => {
        const validEnds = new Set<number>();
        for (const event of decodeLibxcEvents(bytes)) {
          if (event.kind === "record" && event.record.type === "CHECKPOINT") {
            validEnds.add(event.offset + 8 + event.bodyLength + ((8 - (event.bodyLength % 8)) % 8));
          }
        }
        expect(validEnds.size).toBe(2);
        assertTruncation(() => new LibxcDecoder(), bytes, { validEnds });
        for (const end of validEnds) expect(() => decodeLibxcEvents(bytes.subarray(0, end))).not.toThrow();
      }),
      runs(4),
    );
  });
});
