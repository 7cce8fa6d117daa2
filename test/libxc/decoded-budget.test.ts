// maxDecodedBytes (issue #19 item 2): the whole-stream functions refuse,
// before building them, records whose objects would take the decoded
// stream over 8x its bytes + 4 MiB (or the caller's limit), naming the
// option; push decoders have no limit unless given one.
import { describe, expect, test } from "vitest";
import {
  LibxcDecoder,
  LibxlDecoder,
  decodeLibxcEvents,
  decodeLibxcStream,
  decodeLibxlStream,
  decodeSaveFile,
  type XenStreamError,
} from "../../src/index.js";
import { DECODED_COST } from "../../src/libxc/records/budget.js";
import { entryCount, hostileStream } from "../helpers/hostile-entries.js";
import { thrown } from "../helpers/errors.js";

const KIB = 1024;

describe("maxDecodedBytes", () => {
  // 128 KiB of 4-byte pairs: 32766 pairs, about 8.9 MB as pairs, over 8 x 128 KiB + 4 MiB.
  const xenstore = hostileStream("xenstore", 128 * KIB);
  const pairs = entryCount("xenstore", 128 * KIB);

  test("a whole-stream decode refuses the record at its header, naming the option, before building it", () => {
    for (const decode of [() => decodeLibxlStream(xenstore), () => decodeSaveFile(xenstore)]) {
      const error = thrown(decode);
      expect(error.code).toBe("RECORD_TOO_LARGE");
      // The libxl header is 16 bytes: record 0's header follows it.
      expect(error.offset).toBe(16);
      expect(error.layer).toBe("libxl");
      expect(error.recordIndex).toBe(0);
      const limit = 8 * xenstore.length + 4 * 1024 * 1024;
      expect(error.reason).toBe(
        `libxl record 0 (EMULATOR_XENSTORE_DATA): its ${pairs} xenstore pairs would take the decoded objects to about ` +
          `${pairs * DECODED_COST.xenstorePair} bytes, over maxDecodedBytes ${limit} (the default: 8 per input byte + 4 MiB); ` +
          "pass a larger maxDecodedBytes (Infinity: no limit) to decode it, or check it with verifyStream, which builds no object per entry",
      );
    }
  });

  test("the option named in the refusal decodes it: a larger limit, or Infinity", () => {
    const need = DECODED_COST.record * 2 + pairs * DECODED_COST.xenstorePair;
    for (const maxDecodedBytes of [need, Infinity]) {
      const stream = decodeLibxlStream(xenstore, { maxDecodedBytes });
      const record = stream.items[0];
      expect(record?.type === "EMULATOR_XENSTORE_DATA" && record.entries.length).toBe(pairs);
    }
    // One byte less: the END record no longer fits.
    expect(thrown(() => decodeLibxlStream(xenstore, { maxDecodedBytes: need - 1 })).recordIndex).toBe(1);
  });

  test("push decoders have no limit by default and keep one when given", () => {
    const events = new LibxlDecoder().push(xenstore);
    expect(events.filter((event) => event.kind === "record")).toHaveLength(2);
    const error = thrown(() => new LibxlDecoder({ maxDecodedBytes: 1000 }).push(xenstore));
    expect([error.code, error.offset, error.recordIndex]).toEqual(["RECORD_TOO_LARGE", 16, 0]);
  });

  test.each([
    ["xtab", 64 * KIB, DECODED_COST.pfnEntry],
    ["hvmParams", 8 * KIB, DECODED_COST.hvmParam],
    ["cpuid", 8 * KIB, DECODED_COST.cpuidLeaf],
    ["msr", 8 * KIB, DECODED_COST.msrEntry],
    ["p2m", 8 * KIB, DECODED_COST.bigint],
    ["dirtyPfns", 8 * KIB, DECODED_COST.bigint],
  ] as const)("%s entries are charged before they are built", (kind, size, cost) => {
    const bytes = hostileStream(kind, size);
    const count = entryCount(kind, size);
    // Entries are charged before they are built, each record (and its event) once it is.
    const need = count * cost;
    expect(decodeLibxcStream(bytes, { maxDecodedBytes: need + 2 * DECODED_COST.record }).records).toHaveLength(2);
    // The image and domain headers are 40 bytes: record 0's header follows them.
    const error = thrown(() => decodeLibxcEvents(bytes, { maxDecodedBytes: need - 1 }));
    expect([error.code, error.offset, error.recordIndex, error.layer]).toEqual(["RECORD_TOO_LARGE", 40, 0, "libxc"]);
    expect(error.reason).toMatch(new RegExp(`^libxc record 0 \\([A-Z_0-9]+\\): its ${count} [a-zA-Z0-9 ]+ would take the decoded objects to about ${need} bytes, over maxDecodedBytes ${need - 1} \\(as given\\)`));
    // By default these small streams decode.
    expect(decodeLibxcStream(bytes).records).toHaveLength(2);
    expect(new LibxcDecoder().push(bytes)).toHaveLength(4);
  });

  test("a structural fault is reported as before, not as the limit", () => {
    // A PAGE_DATA record with a reserved page type in its last entry: BAD_PAGE_TYPE, at the entry.
    const bytes = hostileStream("xtab", 64 * KIB);
    const last = 40 + 16 + 8 * (entryCount("xtab", 64 * KIB) - 1);
    bytes[last + 7] = 0x50; // type 5: reserved
    const error = thrown(() => decodeLibxcStream(bytes, { maxDecodedBytes: 0 }));
    expect([error.code, error.offset]).toEqual(["BAD_PAGE_TYPE", last]);
  });

  test.each([-1, Number.NaN, "1", null])("maxDecodedBytes %s is a USAGE error naming it", (value) => {
    const error = thrown(() => decodeLibxcStream(hostileStream("xtab", 64), { maxDecodedBytes: value as number }));
    expect(error.code).toBe("USAGE");
    expect(error.message).toMatch(/^maxDecodedBytes must be a number >= 0 \(Infinity: no limit\), got /);
  });
});
