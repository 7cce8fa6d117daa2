// Property tests for the libxl codec (with the nested libxc stream) and for
// whole xl save files: both round trips, chunking invariance (including
// splits inside the nested libxc part), truncation, mutation.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  LibxlDecoder,
  SaveFileDecoder,
  decodeLibxlEvents,
  decodeLibxlStream,
  decodeSaveFile,
  encodeLibxlStream,
  encodeSaveFile,
  type LibxlEvent,
} from "../../src/index.js";
import { libxlStream, xlSaveFile, type LibxlStreamConstraints } from "../../src/testing/index.js";
import {
  assertTruncation,
  canon,
  cutsArbitrary,
  decodeSplit,
  expectSameBytes,
  expectValueOrXenStreamError,
  mutate,
  mutationArbitrary,
  noisy,
  runs,
} from "./harness.js";

const variants: Array<[string, LibxlStreamConstraints]> = [
  ["plain v3", { version: 3 }],
  ["plain v2, big-endian", { version: 2, byteOrder: "big" }],
  ["lenient", { lenient: true, byteOrder: "any" }],
  ["Remus, 3 libxc parts", { checkpoints: 3 }],
  ["COLO, 3 libxc parts", { checkpoints: 3, colo: true }],
];

describe.each(variants)("libxl %s", (_name, constraints) => {
  const streams = libxlStream(constraints);

  test("encode(decode(bytes)) === bytes", () => {
    fc.assert(
      fc.property(streams, ({ bytes }) => {
        expectSameBytes(encodeLibxlStream(decodeLibxlStream(noisy(bytes))), bytes);
      }),
      runs(30),
    );
  });

  test("decode(encode(value)) deep-equals value", () => {
    fc.assert(
      fc.property(streams, ({ value, bytes }) => {
        expect(canon(decodeLibxlStream(bytes))).toEqual(canon(value));
      }),
      runs(30),
    );
  });

  test("any split (also inside the nested libxc stream) gives the same events", () => {
    fc.assert(
      fc.property(streams, cutsArbitrary(20), ({ bytes }, cuts) => {
        const whole = decodeLibxlEvents(bytes);
        expect(canon(decodeSplit(() => new LibxlDecoder(), bytes, cuts(bytes.length)))).toEqual(canon(whole));
      }),
      runs(30),
    );
  });

  test("random mutations give a value or XenStreamError", () => {
    fc.assert(
      fc.property(streams, mutationArbitrary, ({ bytes }, mutations) => {
        const mutated = mutate(bytes, mutations);
        expectValueOrXenStreamError(() => decodeLibxlStream(mutated), mutated.length);
      }),
      runs(150),
    );
  });
});

/** End offsets of records after which a checkpointed libxl stream may stop. */
function checkpointBoundaries(events: LibxlEvent[]): Set<number> {
  const ends = new Set<number>();
  for (const event of events) {
    if (event.layer === "libxl" && event.kind === "record" && (event.record.type === "CHECKPOINT_END" || event.record.type === "CHECKPOINT_STATE")) {
      ends.add(event.offset + 8 + event.bodyLength + ((8 - (event.bodyLength % 8)) % 8));
    }
  }
  return ends;
}

describe("libxl truncation", () => {
  test("every strict prefix of a plain stream is TRUNCATED at its length", () => {
    fc.assert(
      fc.property(libxlStream({ maxPageRecords: 1, maxPagesPerRecord: 2, lenient: true }), ({ bytes }) => {
        assertTruncation(() => new LibxlDecoder(), bytes);
      }),
      runs(6),
    );
  });

  test.each([false, true])("a checkpointed stream (colo=%s) may end only at a checkpoint boundary", (colo) => {
    fc.assert(
      fc.property(libxlStream({ checkpoints: 3, colo, maxPageRecords: 1, maxPagesPerRecord: 1 }), ({ bytes }) => {
        const validEnds = checkpointBoundaries(decodeLibxlEvents(bytes));
        expect(validEnds.size).toBe(colo ? 6 : 3);
        assertTruncation(() => new LibxlDecoder(), bytes, { validEnds });
      }),
      runs(3),
    );
  });
});

describe("xl save files", () => {
  const files = xlSaveFile({ byteOrder: "any", lenient: true });

  test("encode(decode(bytes)) === bytes and decode(encode(value)) === value", () => {
    fc.assert(
      fc.property(files, ({ value, bytes }) => {
        const decoded = decodeSaveFile(noisy(bytes));
        expectSameBytes(encodeSaveFile(decoded), bytes);
        expect(canon(decoded)).toEqual(canon(value));
      }),
      runs(40),
    );
  });

  test("any split gives the same events", () => {
    fc.assert(
      fc.property(files, cutsArbitrary(20), ({ bytes }, cuts) => {
        const whole = decodeSplit(() => new SaveFileDecoder(), bytes, []);
        expect(canon(decodeSplit(() => new SaveFileDecoder(), bytes, cuts(bytes.length)))).toEqual(canon(whole));
      }),
      runs(40),
    );
  });

  test("every strict prefix is TRUNCATED at its length", () => {
    fc.assert(
      fc.property(xlSaveFile({ maxPageRecords: 1, maxPagesPerRecord: 1 }), ({ bytes }) => {
        assertTruncation(() => new SaveFileDecoder(), bytes);
      }),
      runs(4),
    );
  });

  test("random mutations give a value or XenStreamError", () => {
    fc.assert(
      fc.property(files, mutationArbitrary, ({ bytes }, mutations) => {
        const mutated = mutate(bytes, mutations);
        expectValueOrXenStreamError(() => decodeSaveFile(mutated), mutated.length);
      }),
      runs(300),
    );
  });
});
