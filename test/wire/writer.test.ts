/**
 * Writer: pre-sized, explicit endianness, every integer range-checked
 * (BAD_VALUE at base + cursor, nothing written).
 */
import { describe, expect, test } from "vitest";
import { XenStreamError } from "../../src/index.js";
import { Writer } from "../../src/wire/writer.js";
import { hex } from "../helpers/hex.js";
import { thrown } from "../helpers/errors.js";


describe("Writer values", () => {
  const rows: { name: string; write: (w: Writer) => void; le: string; be: string }[] = [
    { name: "u8", write: (w) => w.u8(0xab, "f"), le: "ab", be: "ab" },
    { name: "u16", write: (w) => w.u16(0x1234, "f"), le: "34 12", be: "12 34" },
    { name: "u32", write: (w) => w.u32(0xdeadbeef, "f"), le: "ef be ad de", be: "de ad be ef" },
    { name: "u32 max", write: (w) => w.u32(0xffffffff, "f"), le: "ff ff ff ff", be: "ff ff ff ff" },
    {
      name: "u64",
      write: (w) => w.u64(0x0102030405060708n, "f"),
      le: "08 07 06 05 04 03 02 01",
      be: "01 02 03 04 05 06 07 08",
    },
    { name: "u64 max", write: (w) => w.u64(0xffffffffffffffffn, "f"), le: "ff ff ff ff ff ff ff ff", be: "ff ff ff ff ff ff ff ff" },
    {
      name: "u64Words",
      write: (w) => w.u64Words(0x05060708, 0x01020304),
      le: "08 07 06 05 04 03 02 01",
      be: "01 02 03 04 05 06 07 08",
    },
    { name: "raw", write: (w) => w.raw(hex("01 02 03")), le: "01 02 03", be: "01 02 03" },
    { name: "zeros", write: (w) => w.zeros(3), le: "00 00 00", be: "00 00 00" },
  ];
  for (const row of rows) {
    for (const littleEndian of [true, false]) {
      test(`${row.name} ${littleEndian ? "LE" : "BE"}`, () => {
        const expected = hex(littleEndian ? row.le : row.be);
        const writer = new Writer(expected.length, littleEndian);
        row.write(writer);
        expect(writer.pos).toBe(expected.length);
        expect(writer.bytes).toEqual(expected);
      });
    }
  }

  test("writes into a given subarray at its byteOffset", () => {
    const backing = new Uint8Array(10).fill(0xee);
    const writer = new Writer(backing.subarray(3, 7), false);
    writer.u32(0x01020304, "f");
    expect(backing).toEqual(hex("ee ee ee 01 02 03 04 ee ee ee"));
  });

  test("zeros overwrites whatever was there", () => {
    const backing = new Uint8Array(4).fill(0xee);
    const writer = new Writer(backing, true);
    writer.u8(1, "a");
    writer.zeros(2);
    expect(backing).toEqual(hex("01 00 00 ee"));
  });
});

describe("Writer range checks: BAD_VALUE at base + cursor", () => {
  const rows: { name: string; write: (w: Writer) => void }[] = [
    { name: "u8 -1", write: (w) => w.u8(-1, "f") },
    { name: "u8 256", write: (w) => w.u8(256, "f") },
    { name: "u8 1.5", write: (w) => w.u8(1.5, "f") },
    { name: "u16 65536", write: (w) => w.u16(0x10000, "f") },
    { name: "u16 NaN", write: (w) => w.u16(Number.NaN, "f") },
    { name: "u32 2^32", write: (w) => w.u32(2 ** 32, "f") },
    { name: "u32 -0.5", write: (w) => w.u32(-0.5, "f") },
    { name: "u32 Infinity", write: (w) => w.u32(Number.POSITIVE_INFINITY, "f") },
    { name: "u64 -1n", write: (w) => w.u64(-1n, "f") },
    { name: "u64 2^64", write: (w) => w.u64(1n << 64n, "f") },
    { name: "u64 given a number", write: (w) => w.u64(5 as unknown as bigint, "f") },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const writer = new Writer(16, true, 1000);
      writer.u32(0x11111111, "lead");
      const error = thrown(() => row.write(writer));
      expect(error.code).toBe("BAD_VALUE");
      expect(error.offset).toBe(1004);
      expect(error.message).toContain("f");
      expect(writer.pos).toBe(4); // nothing written
      expect(writer.bytes).toEqual(hex("11 11 11 11 00 00 00 00 00 00 00 00 00 00 00 00"));
    });
  }

  test("fail() is BAD_VALUE at base + pos", () => {
    const writer = new Writer(8, false, 64);
    writer.pos = 6;
    const error = thrown(() => writer.fail("x"));
    expect(error.code).toBe("BAD_VALUE");
    expect(error.offset).toBe(70);
  });
});

describe("Writer borrowing", () => {
  test("a borrowed raw() array is handed out by reference, between the writer's own segments", () => {
    const pages = new Uint8Array(8192).fill(0xab);
    const writer = new Writer(4 + 4, true, 100);
    writer.borrow(pages);
    writer.u32(0x11223344, "a");
    writer.raw(pages);
    expect(writer.pos).toBe(4 + 8192);
    expect(writer.borrowed).toBe(8192);
    writer.u32(0x55667788, "b");
    const parts = writer.parts();
    expect(parts).toHaveLength(3);
    expect(parts[1]).toBe(pages); // the caller's array itself: not a copy
    expect(parts[0]).toEqual(hex("44 33 22 11"));
    expect(parts[2]).toEqual(hex("88 77 66 55"));
    expect(parts[0]?.buffer).toBe(writer.bytes.buffer);
    expect(parts[2]?.buffer).toBe(writer.bytes.buffer);
    // Errors are located in output offsets, borrowed bytes included.
    expect(thrown(() => writer.u8(256, "c"))).toMatchObject({ code: "BAD_VALUE", offset: 100 + 4 + 8192 + 4 });
  });

  test("a subarray is borrowed as that very view; other arrays are copied; borrowing lasts one raw()", () => {
    const backing = new Uint8Array(100).fill(7);
    const view = backing.subarray(10, 60);
    const other = hex("01 02");
    const writer = new Writer(2 + 50, false);
    writer.borrow(view);
    writer.raw(other);
    writer.raw(view);
    writer.raw(view); // the second time it is copied
    const parts = writer.parts();
    expect(parts.map((part) => part.length)).toEqual([2, 50, 50]);
    expect(parts[1]).toBe(view);
    expect(parts[2]?.buffer).toBe(writer.bytes.buffer);
    expect(parts[2]).toEqual(view);
  });

  test("without borrowing, parts() is one view of the buffer, and empty parts are left out", () => {
    const writer = new Writer(3, true);
    expect(writer.parts()).toEqual([]);
    writer.raw(hex("01 02 03"));
    const parts = writer.parts();
    expect(parts).toHaveLength(1);
    expect(parts[0]?.buffer).toBe(writer.bytes.buffer);
    expect(parts[0]).toEqual(hex("01 02 03"));
    const empty = new Uint8Array(0);
    writer.borrow(empty);
    writer.raw(empty);
    expect(writer.parts()).toEqual([]);
  });
});
