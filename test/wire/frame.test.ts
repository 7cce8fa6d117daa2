/**
 * Record frame constants and padding arithmetic (spec "Record Format":
 * on-wire size = 8 + roundup(body_length, 8)), including lengths above
 * 2^31 where `& ~7` would go wrong.
 */
import { describe, expect, test } from "vitest";
import {
  REC_LENGTH_MAX,
  RECORD_ALIGN,
  RECORD_HEADER_SIZE,
  RECORD_TYPE_OPTIONAL,
  isOptionalType,
  paddedLength,
  paddingLength,
} from "../../src/constants.js";
import { hex32 } from "../../src/wire/frame.js";

test("frame constants", () => {
  expect(RECORD_HEADER_SIZE).toBe(8);
  expect(RECORD_ALIGN).toBe(8);
  expect(RECORD_TYPE_OPTIONAL).toBe(0x80000000);
  expect(REC_LENGTH_MAX).toBe(0x08000000);
  expect(REC_LENGTH_MAX).toBe(134217728);
});

describe("paddingLength / paddedLength", () => {
  const rows: [body: number, padding: number, padded: number][] = [
    [0, 0, 0],
    [1, 7, 8],
    [2, 6, 8],
    [3, 5, 8],
    [4, 4, 8],
    [5, 3, 8],
    [6, 2, 8],
    [7, 1, 8],
    [8, 0, 8],
    [9, 7, 16],
    [15, 1, 16],
    [16, 0, 16],
    [4096, 0, 4096],
    [4097, 7, 4104],
    [0x07ffffff, 1, 0x08000000],
    [0x08000000, 0, 0x08000000],
    [0x08000001, 7, 0x08000008],
    [0x7ffffff9, 7, 0x80000000],
    [0x7fffffff, 1, 0x80000000],
    [0x80000000, 0, 0x80000000],
    [0x80000001, 7, 0x80000008],
    [0xfffffff0, 0, 0xfffffff0],
    [0xfffffff1, 7, 0xfffffff8],
    [0xfffffff8, 0, 0xfffffff8],
    [0xfffffff9, 7, 0x100000000],
    [0xffffffff, 1, 0x100000000],
  ];
  for (const [body, padding, padded] of rows) {
    test(`0x${body.toString(16)}`, () => {
      expect(paddingLength(body)).toBe(padding);
      expect(paddedLength(body)).toBe(padded);
      expect(paddedLength(body) % 8).toBe(0);
    });
  }
});

describe("isOptionalType", () => {
  const rows: [number, boolean][] = [
    [0, false],
    [0x12, false],
    [0x13, false],
    [0x7fffffff, false],
    [0x80000000, true],
    [0x80000123, true],
    [0xffffffff, true],
  ];
  for (const [type, optional] of rows) {
    test(`0x${type.toString(16)}`, () => expect(isOptionalType(type)).toBe(optional));
  }
});

test("hex32", () => {
  expect(hex32(0)).toBe("0x00000000");
  expect(hex32(0x13)).toBe("0x00000013");
  expect(hex32(0x80000123)).toBe("0x80000123");
  expect(hex32(0xffffffff)).toBe("0xffffffff");
});
