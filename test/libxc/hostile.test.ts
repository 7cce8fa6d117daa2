/**
 * Hostile record lengths (Foundation acceptance: "A hostile length
 * (0xFFFFFFF8 in a 40-byte input) fails or waits without allocating beyond
 * the bytes received"). The limit is checked when the 8-byte record header
 * arrives, before anything is buffered (Xen xg_sr_common.c: read_record(),
 * REC_LENGTH_MAX = 128 MiB); with the limit raised, the decoder waits,
 * holding only the chunks it was given.
 */
import { describe, expect, test } from "vitest";
import { LibxcDecoder, XenStreamError, decodeLibxcStream } from "../../src/index.js";
import { REC_LENGTH_MAX } from "../../src/constants.js";
import type { ByteQueue } from "../../src/wire/queue.js";
import { cat, hex, pattern, u32 } from "../helpers/hex.js";
import { thrown } from "../helpers/errors.js";

const ENDIANNESS = [
  ["LE", true],
  ["BE", false],
] as const;

function headers(littleEndian: boolean): Uint8Array {
  return hex(`ff ff ff ff ff ff ff ff 58 45 4e 46 00 00 00 03 00 ${littleEndian ? "00" : "01"} 00 00 00 00 00 00
              ${littleEndian ? "01 00 00 00 0c 00 00 00 04 00 00 00 11 00 00 00" : "00 00 00 01 00 0c 00 00 00 00 00 04 00 00 00 11"}`);
}

/** A record header claiming `length` body bytes (type PAGE_DATA). */
function recordHeader(littleEndian: boolean, length: number, typeId = 0x01): Uint8Array {
  return cat(u32(typeId, littleEndian), u32(length, littleEndian));
}


/** The decoder's input queue and the chunks it holds (white-box). */
function queueOf(decoder: LibxcDecoder): { queue: ByteQueue; chunks: Uint8Array[] } {
  const queue = (decoder as unknown as { queue: ByteQueue }).queue;
  const inside = queue as unknown as { chunks: Uint8Array[]; first: number };
  return { queue, chunks: inside.chunks.slice(inside.first) };
}

const MiB = 1 << 20;

describe("length 0xFFFFFFF8 with the default limit", () => {
  for (const [tag, le] of ENDIANNESS) {
    test(`${tag}: RECORD_TOO_LARGE at the length field (44)`, () => {
      const bytes = cat(headers(le), recordHeader(le, 0xfffffff8));
      expect(bytes.length).toBe(48);
      expect(bytes.subarray(44)).toEqual(hex(le ? "f8 ff ff ff" : "ff ff ff f8"));
      const error = thrown(() => decodeLibxcStream(bytes));
      expect(error.code).toBe("RECORD_TOO_LARGE");
      expect(error.offset).toBe(44);
      expect(error.recordIndex).toBe(0);
      expect(error.layer).toBe("libxc");
      expect(error.message).toContain("4294967288");
    });

    test(`${tag}: fails on the push that completes the record header, not before`, () => {
      const bytes = cat(headers(le), recordHeader(le, 0xfffffff8));
      const decoder = new LibxcDecoder();
      const kinds: string[] = [];
      for (let i = 0; i < 47; i++) for (const event of decoder.push(bytes.subarray(i, i + 1))) kinds.push(event.kind);
      expect(kinds).toStrictEqual(["imageHeader", "domainHeader"]);
      const error = thrown(() => decoder.push(bytes.subarray(47)));
      expect(error.code).toBe("RECORD_TOO_LARGE");
      expect(error.offset).toBe(44);
      // the decoder keeps failing with the same error
      expect(thrown(() => decoder.push(hex("00")))).toBe(error);
      expect(thrown(() => decoder.end())).toBe(error);
    });
  }

  test("in a later record: offset of that record's length field", () => {
    const bytes = cat(headers(true), hex("10 00 00 00 00 00 00 00"), recordHeader(true, 0xfffffff8, 0x80000001));
    const error = thrown(() => decodeLibxcStream(bytes));
    expect(error.code).toBe("RECORD_TOO_LARGE");
    expect(error.offset).toBe(52);
    expect(error.recordIndex).toBe(1);
  });

  test("0xFFFFFFFF", () => {
    const error = thrown(() => decodeLibxcStream(cat(headers(true), recordHeader(true, 0xffffffff))));
    expect(error.code).toBe("RECORD_TOO_LARGE");
    expect(error.offset).toBe(44);
  });
});

describe("length 0xFFFFFFF8 with maxRecordLength 0xFFFFFFFF: waits, allocating nothing", () => {
  for (const [tag, le] of ENDIANNESS) {
    test(`${tag}: push returns [], end() is TRUNCATED at the bytes received`, () => {
      const decoder = new LibxcDecoder({ maxRecordLength: 0xffffffff });
      expect(decoder.push(headers(le)).map((event) => event.kind)).toStrictEqual(["imageHeader", "domainHeader"]);
      expect(decoder.push(recordHeader(le, 0xfffffff8))).toStrictEqual([]);
      const error = thrown(() => decoder.end());
      expect(error.code).toBe("TRUNCATED");
      expect(error.offset).toBe(48);
      expect(error.recordIndex).toBe(0);
    });
  }

  test("one 48-byte chunk: only the header events", () => {
    const decoder = new LibxcDecoder({ maxRecordLength: 0xffffffff });
    const bytes = cat(headers(true), recordHeader(true, 0xfffffff8));
    expect(decoder.push(bytes).map((event) => event.kind)).toStrictEqual(["imageHeader", "domainHeader"]);
    expect(thrown(() => decoder.end()).offset).toBe(48);
  });

  test("memory grows by far less than 1 MiB and the queue holds only the pushed chunks", () => {
    // All input is allocated before the baseline, so whatever the decoder
    // allocates shows up as growth. 8 MiB are pushed while it waits.
    const head = cat(headers(true), recordHeader(true, 0xfffffff8));
    const bodyChunks = Array.from({ length: 8 }, (_, i) => pattern(MiB, i));
    const decoder = new LibxcDecoder({ maxRecordLength: 0xffffffff });
    const before = process.memoryUsage().arrayBuffers;

    expect(decoder.push(head)).toHaveLength(2);
    for (const chunk of bodyChunks) expect(decoder.push(chunk)).toStrictEqual([]);

    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(MiB);

    const { queue, chunks } = queueOf(decoder);
    expect(queue.offset).toBe(48); // the record header is consumed; the body is awaited
    expect(queue.available).toBe(8 * MiB);
    expect(decoder.bytesWanted).toBe(0xfffffff8 - 8 * MiB);
    expect(queue.received).toBe(48 + 8 * MiB);
    expect(chunks).toHaveLength(8); // the headers' chunk was consumed and released
    for (let i = 0; i < 8; i++) expect(chunks[i]).toBe(bodyChunks[i]); // the very chunks pushed, not copies

    const error = thrown(() => decoder.end());
    expect(error.code).toBe("TRUNCATED");
    expect(error.offset).toBe(48 + 8 * MiB);
  });

  test("record header split across pushes: still waits, still no copy of the body chunks", () => {
    const decoder = new LibxcDecoder({ maxRecordLength: 0xffffffff });
    const head = cat(headers(false), recordHeader(false, 0xfffffff8));
    const tail = pattern(4096, 9);
    expect(decoder.push(head.subarray(0, 44))).toHaveLength(2);
    expect(decoder.push(head.subarray(44))).toStrictEqual([]);
    expect(decoder.push(tail)).toStrictEqual([]);
    const { chunks } = queueOf(decoder);
    expect(chunks[chunks.length - 1]).toBe(tail);
    expect(thrown(() => decoder.end()).offset).toBe(48 + 4096);
  });
});

describe("the default limit is Xen's REC_LENGTH_MAX (128 MiB)", () => {
  test("REC_LENGTH_MAX", () => expect(REC_LENGTH_MAX).toBe(0x08000000));

  for (const [tag, le] of ENDIANNESS) {
    test(`${tag}: 0x08000000 is accepted (waits for the body)`, () => {
      const decoder = new LibxcDecoder();
      expect(decoder.push(cat(headers(le), recordHeader(le, 0x08000000))).map((event) => event.kind)).toStrictEqual([
        "imageHeader",
        "domainHeader",
      ]);
      const error = thrown(() => decoder.end());
      expect(error.code).toBe("TRUNCATED");
      expect(error.offset).toBe(48);
    });

    test(`${tag}: 0x08000001 is RECORD_TOO_LARGE at 44`, () => {
      const error = thrown(() => decodeLibxcStream(cat(headers(le), recordHeader(le, 0x08000001))));
      expect(error.code).toBe("RECORD_TOO_LARGE");
      expect(error.offset).toBe(44);
    });
  }
});

describe("a custom maxRecordLength", () => {
  const END = hex("00 00 00 00 00 00 00 00");

  test("100 accepts a 100-byte body and rejects 101", () => {
    const ok = cat(headers(true), recordHeader(true, 100, 0x0b), pattern(100, 1), hex("00 00 00 00"), END);
    expect(decodeLibxcStream(ok, { maxRecordLength: 100 }).records.map((record) => record.type)).toStrictEqual([
      "TOOLSTACK",
      "END",
    ]);
    const bad = cat(headers(true), recordHeader(true, 101, 0x0b), pattern(101, 1), hex("00 00 00"), END);
    const error = thrown(() => decodeLibxcStream(bad, { maxRecordLength: 100 }));
    expect(error.code).toBe("RECORD_TOO_LARGE");
    expect(error.offset).toBe(44);
  });

  test("0 allows only empty bodies", () => {
    expect(decodeLibxcStream(cat(headers(true), END), { maxRecordLength: 0 }).records).toStrictEqual([{ type: "END" }]);
    const error = thrown(() =>
      decodeLibxcStream(cat(headers(true), recordHeader(true, 1, 0x0d), hex("00 00 00 00 00 00 00 00"), END), {
        maxRecordLength: 0,
      }),
    );
    expect(error.code).toBe("RECORD_TOO_LARGE");
    expect(error.offset).toBe(44);
  });

  for (const value of [-1, 2 ** 32, 1.5, Number.NaN]) {
    test(`${String(value)} is a USAGE error`, () => {
      const error = thrown(() => new LibxcDecoder({ maxRecordLength: value }));
      expect(error.code).toBe("USAGE");
      expect(error.offset).toBe(0);
    });
  }
});

describe("hostile counts inside a record fail before any array is sized by them", () => {
  const rows: [string, string][] = [
    ["PAGE_DATA count 0xffffffff", "01 00 00 00 08 00 00 00 ff ff ff ff 00 00 00 00"],
    ["HVM_PARAMS count 0xffffffff", "0a 00 00 00 08 00 00 00 ff ff ff ff 00 00 00 00"],
    ["PAGE_DATA count 0x10000000, one pfn", "01 00 00 00 10 00 00 00 00 00 00 10 00 00 00 00 f0 00 00 00 00 00 00 00"],
  ];
  for (const [name, record] of rows) {
    test(name, () => {
      const before = process.memoryUsage().arrayBuffers;
      const error = thrown(() => decodeLibxcStream(cat(headers(true), hex(record), hex("00 00 00 00 00 00 00 00"))));
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(MiB);
      expect(error.code).toBe("BAD_LENGTH");
      expect(error.offset).toBe(44); // the body_length field that cannot hold `count` entries
    });
  }
});
