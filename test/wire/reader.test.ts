/**
 * Reader: bounds-checked cursor. Every out-of-bounds read is a
 * XenStreamError BAD_LENGTH at the absolute offset of the read; a record
 * reader points BAD_LENGTH at the record's body_length field.
 */
import { describe, expect, test } from "vitest";
import { XenStreamError } from "../../src/index.js";
import { Reader, TWO_POW_32, isAllZero, viewOf, wordOffsets } from "../../src/wire/reader.js";
import { hex, offsetCopy } from "../helpers/hex.js";
import { thrown } from "../helpers/errors.js";


const BYTES = hex("01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10");

describe("Reader values", () => {
  // Each row: method, little-endian value, big-endian value, bytes consumed.
  const rows = [
    { read: (r: Reader) => r.u8("f"), le: 0x01, be: 0x01, size: 1 },
    { read: (r: Reader) => r.u16("f"), le: 0x0201, be: 0x0102, size: 2 },
    { read: (r: Reader) => r.u32("f"), le: 0x04030201, be: 0x01020304, size: 4 },
    { read: (r: Reader) => r.u64("f"), le: 0x0807060504030201n, be: 0x0102030405060708n, size: 8 },
  ];
  for (const [i, row] of rows.entries()) {
    for (const littleEndian of [true, false]) {
      test(`row ${i} ${littleEndian ? "LE" : "BE"}`, () => {
        // A noisy subarray: byteOffset != 0, so a DataView built without the offset would read garbage.
        const reader = new Reader(offsetCopy(BYTES), littleEndian, { base: 0, what: "t" });
        expect(row.read(reader)).toBe(littleEndian ? row.le : row.be);
        expect(reader.pos).toBe(row.size);
        expect(reader.remaining).toBe(16 - row.size);
      });
    }
  }

  test("sequential reads advance the cursor", () => {
    const reader = new Reader(BYTES, true, { base: 100, what: "t" });
    expect(reader.u8("a")).toBe(0x01);
    expect(reader.u16("b")).toBe(0x0302);
    expect(reader.u32("c")).toBe(0x07060504);
    expect(reader.offsetOf()).toBe(107);
    expect(reader.offsetOf(2)).toBe(102);
    expect(reader.u64("d")).toBe(0x0f0e0d0c0b0a0908n);
    expect(reader.remaining).toBe(1);
  });

  test("bytesView and rest are views, not copies", () => {
    const bytes = offsetCopy(BYTES);
    const reader = new Reader(bytes, true, { base: 0, what: "t" });
    reader.u16("x");
    const view = reader.bytesView(4, "v");
    expect(view).toEqual(hex("03 04 05 06"));
    expect(view.buffer).toBe(bytes.buffer);
    expect(view.byteOffset).toBe(bytes.byteOffset + 2);
    const rest = reader.rest();
    expect(rest).toEqual(hex("07 08 09 0a 0b 0c 0d 0e 0f 10"));
    expect(rest.buffer).toBe(bytes.buffer);
    expect(reader.remaining).toBe(0);
    expect(reader.rest()).toEqual(new Uint8Array(0));
  });
});

describe("Reader bounds failures: BAD_LENGTH at base + position of the read", () => {
  const rows: { name: string; skip: number; read: (r: Reader) => unknown; at: number }[] = [
    { name: "u8 at end", skip: 16, read: (r) => r.u8("f"), at: 16 },
    { name: "u16 with 1 left", skip: 15, read: (r) => r.u16("f"), at: 15 },
    { name: "u32 with 3 left", skip: 13, read: (r) => r.u32("f"), at: 13 },
    { name: "u64 with 7 left", skip: 9, read: (r) => r.u64("f"), at: 9 },
    { name: "bytesView 5 with 4 left", skip: 12, read: (r) => r.bytesView(5, "f"), at: 12 },
    { name: "bytesView 2^32", skip: 0, read: (r) => r.bytesView(TWO_POW_32, "f"), at: 0 },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const reader = new Reader(BYTES, true, { base: 1000, recordIndex: 7, layer: "libxc", what: "thing" });
      reader.pos = row.skip;
      const error = thrown(() => row.read(reader));
      expect(error.code).toBe("BAD_LENGTH");
      expect(error.offset).toBe(1000 + row.at);
      expect(error.recordIndex).toBe(7);
      expect(error.layer).toBe("libxc");
      expect(error.message).toContain("thing");
      expect(reader.pos).toBe(row.skip); // a failed read does not move the cursor
    });
  }

  test("no recordIndex/layer when the context has none", () => {
    const reader = new Reader(new Uint8Array(0), false, { base: 5, what: "x" });
    const error = thrown(() => reader.u8("f"));
    expect(error.code).toBe("BAD_LENGTH");
    expect(error.offset).toBe(5);
    expect(error.recordIndex).toBeUndefined();
    expect(error.layer).toBeUndefined();
  });

  test("a record reader: base after the 8-byte header, BAD_LENGTH at body_length, message names the record", () => {
    const reader = Reader.forRecord(BYTES, true, 96, "libxl", 4, "EMULATOR_CONTEXT");
    expect(reader.offsetOf(0)).toBe(104);
    reader.pos = 14;
    const error = thrown(() => reader.u32("index"));
    expect(error.code).toBe("BAD_LENGTH");
    expect(error.offset).toBe(100);
    expect(error.recordIndex).toBe(4);
    expect(error.layer).toBe("libxl");
    expect(error.message).toBe("libxl record 4 (EMULATOR_CONTEXT): index needs 4 bytes, only 2 left (at offset 100, record 4)");
    const field = thrown(() => reader.fail("BAD_FIELD", 2, "bad"));
    expect(field.offset).toBe(106);
    expect(field.message).toBe("libxl record 4 (EMULATOR_CONTEXT): bad (at offset 106, record 4)");
  });

  test("fail() places any code at base + pos", () => {
    const reader = new Reader(BYTES, true, { base: 40, what: "x" });
    const error = thrown(() => reader.fail("BAD_FIELD", 3, "nope"));
    expect(error.code).toBe("BAD_FIELD");
    expect(error.offset).toBe(43);
  });
});

describe("helpers", () => {
  test("TWO_POW_32", () => {
    expect(TWO_POW_32).toBe(4294967296);
  });

  test("wordOffsets flips word order with endianness, without allocating", () => {
    const view = viewOf(hex("01 02 03 04 05 06 07 08"));
    for (const [littleEndian, low, high] of [
      [true, 0x04030201, 0x08070605],
      [false, 0x05060708, 0x01020304],
    ] as const) {
      const at = wordOffsets(littleEndian);
      expect(view.getUint32(at.low, littleEndian)).toBe(low);
      expect(view.getUint32(at.high, littleEndian)).toBe(high);
      expect(wordOffsets(littleEndian)).toBe(at); // one shared object per byte order
    }
  });

  test("viewOf respects byteOffset and byteLength", () => {
    const bytes = offsetCopy(hex("11 22 33"), 5, 7);
    const view = viewOf(bytes);
    expect(view.byteLength).toBe(3);
    expect(view.byteOffset).toBe(5);
    expect(view.getUint8(0)).toBe(0x11);
    expect(view.getUint8(2)).toBe(0x33);
  });

  test("isAllZero", () => {
    expect(isAllZero(new Uint8Array(0))).toBe(true);
    expect(isAllZero(new Uint8Array(7))).toBe(true);
    expect(isAllZero(hex("00 00 00 00 00 00 01"))).toBe(false);
    expect(isAllZero(hex("80"))).toBe(false);
    // looks at the view only, not the rest of its buffer
    expect(isAllZero(offsetCopy(hex("00 00")))).toBe(true);
  });
});
