/**
 * Hand-computed vectors for the 48-byte xl save-file header and its optional
 * data (xl-header.md §1; Xen tools/xl/xl.h, xl_saverestore.c:
 * save_domain_core_writeconfig(), xl_vmcontrol.c: create_domain()).
 */
import { describe, expect, test } from "vitest";
import {
  XenStreamError,
  decodeXlHeader,
  encodeXlHeader,
  isStreamV2,
  type XlHeader,
} from "../../src/index.js";
import {
  XL_BYTEORDER_VALUE,
  XL_HEADER_SIZE,
  XL_MAGIC,
  XL_MAGIC_SIZE,
  XlMandatoryFlag,
} from "../../src/constants.js";
import { hex } from "../helpers/hex.js";
import { thrown } from "../helpers/errors.js";

// ---------------------------------------------------------------- helpers


// ---------------------------------------------------------------- the magic

/** "Xen saved domain, xl format\n \0 \r" (xl.h: savefileheader_magic). */
const MAGIC = `
  58 65 6E 20 73 61 76 65 64 20 64 6F 6D 61 69 6E
  2C 20 78 6C 20 66 6F 72 6D 61 74 0A 20 00 20 0D`;

test("XL_MAGIC is the 32 bytes of xl.h, its NUL included", () => {
  expect(XL_MAGIC).toStrictEqual(hex(MAGIC));
  expect(XL_MAGIC_SIZE).toBe(32);
  expect(XL_HEADER_SIZE).toBe(48);
  expect(XL_BYTEORDER_VALUE).toBe(0x0102_0304);
  expect(XlMandatoryFlag).toStrictEqual({ JSON: 1, STREAMV2: 2 });
});

// ---------------------------------------------------------------- valid headers

interface Row {
  name: string;
  bytes: string;
  header: XlHeader;
}

const rows: Row[] = [
  {
    name: "little-endian writer, JSON|STREAMv2, no optional data",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 00 00 00 00`,
    header: { byteOrder: "little", mandatoryFlags: 3, optionalFlags: 0 },
  },
  {
    name: "big-endian writer, JSON|STREAMv2, no optional data",
    bytes: `${MAGIC} | 01 02 03 04 | 00 00 00 03 | 00 00 00 00 | 00 00 00 00`,
    header: { byteOrder: "big", mandatoryFlags: 3, optionalFlags: 0 },
  },
  {
    name: "Xen < 4.5: no flags at all",
    bytes: `${MAGIC} | 04 03 02 01 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`,
    header: { byteOrder: "little", mandatoryFlags: 0, optionalFlags: 0 },
  },
  {
    name: "Xen 4.5: JSON only (legacy stream follows)",
    bytes: `${MAGIC} | 04 03 02 01 | 01 00 00 00 | 00 00 00 00 | 00 00 00 00`,
    header: { byteOrder: "little", mandatoryFlags: 1, optionalFlags: 0 },
  },
  {
    name: "config as xl writes it: config_len counts the terminating NUL",
    // optional_data_len = 4 + 3 = 7; config_len = 3; config "{}\0"
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 07 00 00 00 | 03 00 00 00 | 7B 7D 00`,
    header: { byteOrder: "little", mandatoryFlags: 3, optionalFlags: 0, config: hex("7B 7D 00") },
  },
  {
    name: "config, big-endian writer",
    bytes: `${MAGIC} | 01 02 03 04 | 00 00 00 03 | 00 00 00 00 | 00 00 00 07 | 00 00 00 03 | 7B 7D 00`,
    header: { byteOrder: "big", mandatoryFlags: 3, optionalFlags: 0, config: hex("7B 7D 00") },
  },
  {
    name: "empty config (config_len 0, no JSON flag)",
    bytes: `${MAGIC} | 04 03 02 01 | 02 00 00 00 | 00 00 00 00 | 04 00 00 00 | 00 00 00 00`,
    header: { byteOrder: "little", mandatoryFlags: 2, optionalFlags: 0, config: hex("") },
  },
  {
    name: "bytes after the config are kept in optionalExtra",
    // optional_data_len = 4 + 3 + 2 = 9
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 09 00 00 00 | 03 00 00 00 | 7B 7D 00 | AA BB`,
    header: { byteOrder: "little", mandatoryFlags: 3, optionalFlags: 0, config: hex("7B 7D 00"), optionalExtra: hex("AA BB") },
  },
  {
    name: "optionalExtra after an empty config, big-endian",
    bytes: `${MAGIC} | 01 02 03 04 | 00 00 00 02 | 00 00 00 00 | 00 00 00 05 | 00 00 00 00 | 01`,
    header: { byteOrder: "big", mandatoryFlags: 2, optionalFlags: 0, config: hex(""), optionalExtra: hex("01") },
  },
  {
    name: "optional flags are kept, not checked (xl never reads them)",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 01 00 00 80 | 00 00 00 00`,
    header: { byteOrder: "little", mandatoryFlags: 3, optionalFlags: 0x8000_0001 },
  },
];

describe("valid xl headers", () => {
  test.each(rows)("decode: $name", ({ bytes, header }) => {
    const input = hex(bytes);
    expect(decodeXlHeader(input)).toStrictEqual({ header, size: input.length });
  });

  test.each(rows)("decode with a stream after it: $name", ({ bytes, header }) => {
    // The header's size comes from optional_data_len; what follows is not read.
    const input = hex(bytes);
    const withStream = new Uint8Array(input.length + 16).fill(0xee);
    withStream.set(input);
    expect(decodeXlHeader(withStream)).toStrictEqual({ header, size: input.length });
  });

  test.each(rows)("encode: $name", ({ bytes, header }) => {
    expect(encodeXlHeader(header)).toStrictEqual(hex(bytes));
  });

  test("a real-looking JSON config", () => {
    const json = '{"c_info":{"type":"hvm","name":"g"}}';
    const config = Uint8Array.from(`${json}\0`, (char) => char.charCodeAt(0));
    expect(config.length).toBe(37);
    // optional_data_len = 4 + 37 = 41 = 0x29; config_len = 0x25
    const bytes = new Uint8Array([...hex(`${MAGIC} 04 03 02 01 03 00 00 00 00 00 00 00 29 00 00 00 25 00 00 00`), ...config]);
    const { header, size } = decodeXlHeader(bytes);
    expect(size).toBe(89);
    expect(header.config).toStrictEqual(config);
    expect(encodeXlHeader(header)).toStrictEqual(bytes);
  });

  test.each([
    [0, false],
    [1, false],
    [2, true],
    [3, true],
  ])("isStreamV2 with mandatory flags %i -> %s", (mandatoryFlags, expected) => {
    expect(isStreamV2({ byteOrder: "little", mandatoryFlags, optionalFlags: 0 })).toBe(expected);
  });
});

// ---------------------------------------------------------------- errors

const GOOD_TAIL = "04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 00 00 00 00";

/** The good magic with byte `at` changed to `value`. */
function magicWith(at: number, value: number): string {
  const magic = hex(MAGIC);
  magic[at] = value;
  return Array.from(magic, (byte) => byte.toString(16).padStart(2, "0")).join(" ");
}

interface ErrorRow {
  name: string;
  bytes: string;
  code: XenStreamError["code"];
  offset: number;
}

const errorRows: ErrorRow[] = [
  { name: "magic byte 0", bytes: `${magicWith(0, 0x78)} ${GOOD_TAIL}`, code: "BAD_MAGIC", offset: 0 },
  { name: "magic byte 8 (after 'Xen save')", bytes: `${magicWith(8, 0x44)} ${GOOD_TAIL}`, code: "BAD_MAGIC", offset: 8 },
  { name: "magic byte 27 (LF)", bytes: `${magicWith(27, 0x0d)} ${GOOD_TAIL}`, code: "BAD_MAGIC", offset: 27 },
  { name: "magic byte 29 (the NUL)", bytes: `${magicWith(29, 0x20)} ${GOOD_TAIL}`, code: "BAD_MAGIC", offset: 29 },
  { name: "magic byte 31 (CR)", bytes: `${magicWith(31, 0x0a)} ${GOOD_TAIL}`, code: "BAD_MAGIC", offset: 31 },
  {
    name: "several wrong magic bytes: the first one",
    bytes: `58 65 6E 20 73 61 76 65 64 20 64 6F 6D 61 69 6E 2C 20 78 6C 20 66 6F 72 6D 61 74 0A 00 00 00 00 ${GOOD_TAIL}`,
    code: "BAD_MAGIC",
    offset: 28,
  },
  {
    name: "a libxl stream instead",
    bytes: `4C 69 62 78 6C 46 6D 74 00 00 00 02 00 00 00 00 ${"00 ".repeat(16)} ${GOOD_TAIL}`,
    code: "BAD_MAGIC",
    offset: 0,
  },
  {
    name: "byteorder 01 02 03 05",
    bytes: `${MAGIC} | 01 02 03 05 | 03 00 00 00 | 00 00 00 00 | 00 00 00 00`,
    code: "BAD_FIELD",
    offset: 32,
  },
  { name: "byteorder 0", bytes: `${MAGIC} | 00 00 00 00 | 03 00 00 00 | 00 00 00 00 | 00 00 00 00`, code: "BAD_FIELD", offset: 32 },
  {
    name: "byteorder 02 01 04 03 (16-bit swapped)",
    bytes: `${MAGIC} | 02 01 04 03 | 03 00 00 00 | 00 00 00 00 | 00 00 00 00`,
    code: "BAD_FIELD",
    offset: 32,
  },
  {
    name: "unknown mandatory flag 0x4",
    bytes: `${MAGIC} | 04 03 02 01 | 04 00 00 00 | 00 00 00 00 | 00 00 00 00`,
    code: "BAD_FIELD",
    offset: 36,
  },
  {
    name: "unknown mandatory flag 0x4 with the known ones",
    bytes: `${MAGIC} | 04 03 02 01 | 07 00 00 00 | 00 00 00 00 | 00 00 00 00`,
    code: "BAD_FIELD",
    offset: 36,
  },
  {
    name: "unknown mandatory flag 0x80000000, big-endian",
    bytes: `${MAGIC} | 01 02 03 04 | 80 00 00 03 | 00 00 00 00 | 00 00 00 00`,
    code: "BAD_FIELD",
    offset: 36,
  },
  {
    name: "flags 0x3 written big-endian in a little-endian header (0x03000000)",
    bytes: `${MAGIC} | 04 03 02 01 | 00 00 00 03 | 00 00 00 00 | 00 00 00 00`,
    code: "BAD_FIELD",
    offset: 36,
  },
  {
    name: "optional_data_len 1",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 01 00 00 00 | 00`,
    code: "BAD_LENGTH",
    offset: 44,
  },
  {
    name: "optional_data_len 2",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 02 00 00 00 | 00 00`,
    code: "BAD_LENGTH",
    offset: 44,
  },
  {
    name: "optional_data_len 3",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 03 00 00 00 | 00 00 00`,
    code: "BAD_LENGTH",
    offset: 44,
  },
  {
    name: "optional_data_len 3, big-endian",
    bytes: `${MAGIC} | 01 02 03 04 | 00 00 00 03 | 00 00 00 00 | 00 00 00 03 | 00 00 00`,
    code: "BAD_LENGTH",
    offset: 44,
  },
  {
    name: "config_len 1 with only config_len present",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 04 00 00 00 | 01 00 00 00`,
    code: "BAD_LENGTH",
    offset: 48,
  },
  {
    name: "config_len one more than the optional data holds",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 07 00 00 00 | 04 00 00 00 | 7B 7D 00`,
    code: "BAD_LENGTH",
    offset: 48,
  },
  {
    name: "config_len 0xFFFFFFFF",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 05 00 00 00 | FF FF FF FF | 00`,
    code: "BAD_LENGTH",
    offset: 48,
  },
  {
    name: "config_len too large, big-endian",
    bytes: `${MAGIC} | 01 02 03 04 | 00 00 00 03 | 00 00 00 00 | 00 00 00 06 | 00 00 00 03 | 7B 7D`,
    code: "BAD_LENGTH",
    offset: 48,
  },
  { name: "47 bytes", bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 00 00 00`, code: "TRUNCATED", offset: 47 },
  {
    name: "optional data shorter than optional_data_len",
    bytes: `${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 07 00 00 00 | 03 00 00 00 | 7B 7D`,
    code: "TRUNCATED",
    offset: 54,
  },
];

describe("malformed xl headers", () => {
  test.each(errorRows)("$name -> $code at $offset", ({ bytes, code, offset }) => {
    const error = thrown(() => decodeXlHeader(hex(bytes)));
    expect([error.code, error.offset, error.layer]).toStrictEqual([code, offset, "xl"]);
    const shifted = thrown(() => decodeXlHeader(hex(bytes), 500));
    expect([shifted.code, shifted.offset]).toStrictEqual([code, 500 + offset]);
  });

  test.each([
    { name: "unknown mandatory flag", header: { byteOrder: "little", mandatoryFlags: 4, optionalFlags: 0 } },
    { name: "optionalExtra without a config", header: { byteOrder: "little", mandatoryFlags: 2, optionalFlags: 0, optionalExtra: hex("00") } },
    { name: "optionalFlags beyond u32", header: { byteOrder: "big", mandatoryFlags: 3, optionalFlags: 2 ** 32 } },
  ] as Array<{ name: string; header: XlHeader }>)("encode refuses $name -> BAD_VALUE", ({ header }) => {
    expect(thrown(() => encodeXlHeader(header)).code).toBe("BAD_VALUE");
  });
});
