/**
 * encodeRawRecord (malformed-record builder) and the shared frame taker,
 * against hand-written record bytes.
 */
import { describe, expect, test } from "vitest";
import { XenStreamError, encodeRawRecord } from "../../src/index.js";
import { libxcTable } from "../../src/libxc/codec.js";
import { ByteQueue } from "../../src/wire/queue.js";
import { FrameReader } from "../../src/wire/frame-reader.js";
import { hex } from "../helpers/hex.js";

describe("encodeRawRecord", () => {
  const rows: {
    name: string;
    input: Parameters<typeof encodeRawRecord>[0];
    le: string;
    be: string;
  }[] = [
    {
      name: "empty body",
      input: { typeId: 0, body: new Uint8Array(0) },
      le: "00 00 00 00 00 00 00 00",
      be: "00 00 00 00 00 00 00 00",
    },
    {
      name: "3-byte body, zero padded",
      input: { typeId: 0x80000123, body: hex("aa bb cc") },
      le: "23 01 00 80 03 00 00 00 aa bb cc 00 00 00 00 00",
      be: "80 00 01 23 00 00 00 03 aa bb cc 00 00 00 00 00",
    },
    {
      name: "8-byte body, no padding",
      input: { typeId: 0x08, body: hex("01 02 03 04 05 06 07 08") },
      le: "08 00 00 00 08 00 00 00 01 02 03 04 05 06 07 08",
      be: "00 00 00 08 00 00 00 08 01 02 03 04 05 06 07 08",
    },
    {
      name: "lying length field",
      input: { typeId: 0x01, body: hex("aa"), bodyLength: 0xfffffff8 },
      le: "01 00 00 00 f8 ff ff ff aa 00 00 00 00 00 00 00",
      be: "00 00 00 01 ff ff ff f8 aa 00 00 00 00 00 00 00",
    },
    {
      name: "custom (non-zero, wrong-size) padding",
      input: { typeId: 0x0d, body: hex("aa"), padding: hex("01 02") },
      le: "0d 00 00 00 01 00 00 00 aa 01 02",
      be: "00 00 00 0d 00 00 00 01 aa 01 02",
    },
    {
      name: "type 0xffffffff",
      input: { typeId: 0xffffffff, body: new Uint8Array(0) },
      le: "ff ff ff ff 00 00 00 00",
      be: "ff ff ff ff 00 00 00 00",
    },
  ];
  for (const row of rows) {
    test(`${row.name} LE`, () => {
      expect(encodeRawRecord(row.input)).toEqual(hex(row.le));
      expect(encodeRawRecord(row.input, true)).toEqual(hex(row.le));
    });
    test(`${row.name} BE`, () => {
      expect(encodeRawRecord(row.input, false)).toEqual(hex(row.be));
    });
  }
});

describe("FrameReader.take", () => {
  const options = { maxRecordLength: 0x08000000, keepUnknownMandatory: false };

  test("waits for the header, then (header consumed) for the padded body, telling what it needs", () => {
    const record = hex("23 01 00 80 03 00 00 00 aa bb cc 01 02 03 04 05");
    const queue = new ByteQueue(40);
    const frames = new FrameReader(libxcTable, options);
    expect(frames.needed(queue)).toBe(8);
    queue.push(record.subarray(0, 7));
    expect(frames.take(queue, true, 0)).toBeNull();
    expect(queue.offset).toBe(40); // an incomplete header is not consumed
    expect(frames.needed(queue)).toBe(1);
    queue.push(record.subarray(7, 15));
    expect(frames.take(queue, true, 0)).toBeNull(); // body there, one padding byte missing
    expect(queue.offset).toBe(48);
    expect(frames.idle).toBe(false);
    expect(frames.needed(queue)).toBe(1);
    queue.push(record.subarray(15));
    const frame = frames.take(queue, true, 0);
    expect(frames.idle).toBe(true);
    expect(frame).not.toBeNull();
    expect(frame?.offset).toBe(40);
    expect(frame?.typeId).toBe(0x80000123);
    expect(frame?.bodyLength).toBe(3);
    expect(frame?.body).toEqual(hex("aa bb cc"));
    expect(frame?.padding).toEqual(hex("01 02 03 04 05"));
    expect(queue.offset).toBe(56);
  });

  test("big-endian header", () => {
    const queue = new ByteQueue();
    queue.push(hex("00 00 00 08 00 00 00 02 aa bb 00 00 00 00 00 00"));
    const frame = new FrameReader(libxcTable, options).take(queue, false, 0);
    expect(frame?.typeId).toBe(8);
    expect(frame?.bodyLength).toBe(2);
    expect(frame?.body).toEqual(hex("aa bb"));
  });

  test("oversized length fails on the header alone, at the length field", () => {
    const queue = new ByteQueue(48);
    queue.push(hex("05 00 00 00 01 00 00 08"));
    let error: unknown;
    try {
      new FrameReader(libxcTable, options).take(queue, true, 3);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(XenStreamError);
    expect((error as XenStreamError).code).toBe("RECORD_TOO_LARGE");
    expect((error as XenStreamError).offset).toBe(52);
    expect((error as XenStreamError).recordIndex).toBe(3);
    expect((error as XenStreamError).layer).toBe("libxc");
    expect((error as XenStreamError).message).toContain("0x00000005");
    expect((error as XenStreamError).message).toContain("X86_PV_VCPU_EXTENDED");
  });
});
