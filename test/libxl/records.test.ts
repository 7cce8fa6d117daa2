/**
 * Hand-computed vectors for the libxl header and every libxl record type
 * (libxl-stream.md §1-4; Xen libxl_sr_stream_format.h,
 * libxl_stream_read.c, libxl_stream_write.c, libxl_dom_save.c).
 *
 * Every byte string below is written from the spec tables, never produced by
 * our encoder. Each record row is decoded through the real LibxlDecoder
 * behind a prefix that puts the parser in the state where that record is
 * legal, and encoded with encodeLibxlRecord; both byte orders.
 */
import { describe, expect, test } from "vitest";
import {
  LibxlDecoder,
  XenStreamError,
  decodeLibxlHeader,
  decodeLibxlStream,
  encodeLibxlHeader,
  encodeLibxlRecord,
  isBigEndianLibxl,
  type LibxlHeader,
  type LibxlRecord,
  type LibxlRecordEvent,
} from "../../src/index.js";
import { LIBXL_HDR_SIZE } from "../../src/constants.js";
import { cat, hex } from "../helpers/hex.js";
import { thrown } from "../helpers/errors.js";

// ---------------------------------------------------------------- helpers

/** ASCII text as bytes, one byte per character. */
function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}


type Endian = "le" | "be";
const ENDIANS: readonly Endian[] = ["le", "be"];

// ---------------------------------------------------------------- header

/** "LibxlFmt" */
const IDENT = "4C 69 62 78 6C 46 6D 74";

describe("libxl header (16 bytes, big-endian)", () => {
  const valid: Array<{ name: string; bytes: string; header: LibxlHeader; bigEndian: boolean }> = [
    { name: "as libxl writes it", bytes: `${IDENT} 00 00 00 02 00 00 00 00`, header: { version: 2, options: 0 }, bigEndian: false },
    { name: "BE bit", bytes: `${IDENT} 00 00 00 02 00 00 00 01`, header: { version: 2, options: 1 }, bigEndian: true },
    {
      name: "LEGACY bit (convert-legacy-stream --format libxl)",
      bytes: `${IDENT} 00 00 00 02 00 00 00 02`,
      header: { version: 2, options: 2 },
      bigEndian: false,
    },
    { name: "LEGACY + BE", bytes: `${IDENT} 00 00 00 02 00 00 00 03`, header: { version: 2, options: 3 }, bigEndian: true },
    { name: "reserved bit 2 kept", bytes: `${IDENT} 00 00 00 02 00 00 00 04`, header: { version: 2, options: 4 }, bigEndian: false },
    {
      name: "reserved bits 16-31 kept",
      bytes: `${IDENT} 00 00 00 02 80 01 00 00`,
      header: { version: 2, options: 0x8001_0000 },
      bigEndian: false,
    },
    {
      name: "every reserved bit kept",
      bytes: `${IDENT} 00 00 00 02 FF FF FF FC`,
      header: { version: 2, options: 0xffff_fffc },
      bigEndian: false,
    },
    {
      name: "all 32 option bits",
      bytes: `${IDENT} 00 00 00 02 FF FF FF FF`,
      header: { version: 2, options: 0xffff_ffff },
      bigEndian: true,
    },
  ];

  test.each(valid)("decode: $name", ({ bytes, header, bigEndian }) => {
    const decoded = decodeLibxlHeader(hex(bytes));
    expect(decoded).toStrictEqual(header);
    expect(isBigEndianLibxl(decoded)).toBe(bigEndian);
  });

  test.each(valid)("encode: $name", ({ bytes, header }) => {
    expect(encodeLibxlHeader(header)).toStrictEqual(hex(bytes));
  });

  test.each(valid)("decoder header event: $name", ({ bytes, header }) => {
    const decoder = new LibxlDecoder({}, 40);
    expect(decoder.push(hex(bytes))).toStrictEqual([{ layer: "libxl", kind: "header", offset: 40, header }]);
  });

  test("LIBXL_HDR_SIZE is 16", () => {
    expect(LIBXL_HDR_SIZE).toBe(16);
  });

  const invalid: Array<{ name: string; bytes: string; code: XenStreamError["code"]; offset: number }> = [
    { name: "ident byte 0", bytes: "4D 69 62 78 6C 46 6D 74 00 00 00 02 00 00 00 00", code: "BAD_MAGIC", offset: 0 },
    { name: "ident byte 7 (lower case t)", bytes: "4C 69 62 78 6C 46 6D 54 00 00 00 02 00 00 00 00", code: "BAD_MAGIC", offset: 0 },
    { name: "libxc image marker instead", bytes: "FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03", code: "BAD_MAGIC", offset: 0 },
    { name: "version 0", bytes: `${IDENT} 00 00 00 00 00 00 00 00`, code: "BAD_VERSION", offset: 8 },
    { name: "version 1", bytes: `${IDENT} 00 00 00 01 00 00 00 00`, code: "BAD_VERSION", offset: 8 },
    { name: "version 3", bytes: `${IDENT} 00 00 00 03 00 00 00 00`, code: "BAD_VERSION", offset: 8 },
    { name: "version 2 written little-endian", bytes: `${IDENT} 02 00 00 00 00 00 00 00`, code: "BAD_VERSION", offset: 8 },
  ];

  test.each(invalid)("decode error: $name -> $code at $offset", ({ bytes, code, offset }) => {
    const error = thrown(() => decodeLibxlHeader(hex(bytes)));
    expect([error.code, error.offset]).toStrictEqual([code, offset]);
    // At an absolute position: the offset moves with it.
    const shifted = thrown(() => decodeLibxlHeader(hex(bytes), 1000));
    expect([shifted.code, shifted.offset]).toStrictEqual([code, 1000 + offset]);
    // Through the decoder (layer libxl).
    const viaDecoder = thrown(() => new LibxlDecoder().push(hex(bytes)));
    expect([viaDecoder.code, viaDecoder.offset, viaDecoder.layer]).toStrictEqual([code, offset, "libxl"]);
  });

  test("decode error: 15 bytes -> TRUNCATED at 15", () => {
    const error = thrown(() => decodeLibxlHeader(hex(`${IDENT} 00 00 00 02 00 00 00`)));
    expect([error.code, error.offset]).toStrictEqual(["TRUNCATED", 15]);
  });

  test("decoder: 15 bytes then end() -> TRUNCATED at 15", () => {
    const decoder = new LibxlDecoder();
    expect(decoder.push(hex(`${IDENT} 00 00 00 02 00 00 00`))).toStrictEqual([]);
    const error = thrown(() => decoder.end());
    expect([error.code, error.offset, error.layer]).toStrictEqual(["TRUNCATED", 15, "libxl"]);
  });

  test.each([0, 1, 3])("encode error: version %i -> BAD_VALUE", (version) => {
    const error = thrown(() => encodeLibxlHeader({ version, options: 0 }));
    expect([error.code, error.offset]).toStrictEqual(["BAD_VALUE", 0]);
  });

  test("encode error: options beyond u32 -> BAD_VALUE", () => {
    expect(thrown(() => encodeLibxlHeader({ version: 2, options: 2 ** 32 })).code).toBe("BAD_VALUE");
    expect(thrown(() => encodeLibxlHeader({ version: 2, options: -1 })).code).toBe("BAD_VALUE");
  });
});

// ---------------------------------------------------------------- records

/** The libxl header in each byte order (options 0 / options 1 = BE). */
const LIBXL_HEADER: Record<Endian, Uint8Array> = {
  le: hex(`${IDENT} 00 00 00 02 00 00 00 00`),
  be: hex(`${IDENT} 00 00 00 02 00 00 00 01`),
};

/**
 * LIBXC_CONTEXT, then a libxc image header (v3; options bit 0 = BE) and an
 * HVM domain header (type 2, page_shift 12, Xen 4.17), then libxc
 * CHECKPOINT (0x0E): the point where libxl reads checkpoint records.
 */
const INTO_CHECKPOINT: Record<Endian, Uint8Array> = {
  le: hex(`
    01 00 00 00 00 00 00 00
    FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03 00 00 00 00 00 00 00 00
    02 00 00 00 0C 00 00 00 04 00 00 00 11 00 00 00
    0E 00 00 00 00 00 00 00`),
  be: hex(`
    00 00 00 01 00 00 00 00
    FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03 00 01 00 00 00 00 00 00
    00 00 00 02 00 0C 00 00 00 00 00 04 00 00 00 11
    00 00 00 0E 00 00 00 00`),
};

/** CHECKPOINT_END (0x04), empty. */
const CHECKPOINT_END_BYTES: Record<Endian, Uint8Array> = {
  le: hex("04 00 00 00 00 00 00 00"),
  be: hex("00 00 00 04 00 00 00 00"),
};

/** Where in a stream a record is read. */
type Where = "records" | "checkpoint" | "checkpointEnd";

/** The bytes that bring the parser to `where`. */
function prefix(where: Where, endian: Endian): Uint8Array {
  switch (where) {
    case "records":
      return LIBXL_HEADER[endian];
    case "checkpoint":
      return cat(LIBXL_HEADER[endian], INTO_CHECKPOINT[endian]);
    case "checkpointEnd":
      return cat(LIBXL_HEADER[endian], INTO_CHECKPOINT[endian], CHECKPOINT_END_BYTES[endian]);
  }
}

test("prefix sizes", () => {
  for (const endian of ENDIANS) {
    expect(prefix("records", endian).length).toBe(16);
    expect(prefix("checkpoint", endian).length).toBe(16 + 8 + 24 + 16 + 8);
    expect(prefix("checkpointEnd", endian).length).toBe(80);
  }
});

interface RecordRow {
  name: string;
  where: Where;
  le: string;
  be: string;
  bodyLength: number;
  record: LibxlRecord;
  /** Set when the encoder does not reproduce the row (never, so far). */
  decodeOnly?: true;
}

// The xenstore data of the "several pairs" row: what libxl saves for one
// physmap entry (libxl_dom_save.c: libxl__save_emulator_xenstore_data()).
//   "physmap/f0000000/start_addr" 27 + NUL = 28
//   "f0000000"                     8 + NUL =  9
//   "physmap/f0000000/size"       21 + NUL = 22
//   "800000"                       6 + NUL =  7
//   "physmap/f0000000/name"       21 + NUL = 22
//   "vga.vram"                     8 + NUL =  9
// data 97 bytes, body 8 + 97 = 105 = 0x69, padding 7.
const PHYSMAP_DATA = cat(
  ascii("physmap/f0000000/start_addr\x00f0000000\x00"),
  ascii("physmap/f0000000/size\x00800000\x00"),
  ascii("physmap/f0000000/name\x00vga.vram\x00"),
);
const PHYSMAP_HEX = Array.from(PHYSMAP_DATA, (byte) => byte.toString(16).padStart(2, "0")).join(" ");

const recordRows: RecordRow[] = [
  {
    name: "END",
    where: "records",
    le: "00 00 00 00 00 00 00 00",
    be: "00 00 00 00 00 00 00 00",
    bodyLength: 0,
    record: { type: "END" },
  },
  {
    name: "END with a body (C ignores it; kept as extra)",
    where: "records",
    le: "00 00 00 00 03 00 00 00 | AA BB CC | 00 00 00 00 00",
    be: "00 00 00 00 00 00 00 03 | AA BB CC | 00 00 00 00 00",
    bodyLength: 3,
    record: { type: "END", extra: hex("AA BB CC") },
  },
  {
    name: "END with non-zero padding (kept)",
    where: "records",
    le: "00 00 00 00 01 00 00 00 | 01 | 00 00 00 00 00 00 07",
    be: "00 00 00 00 00 00 00 01 | 01 | 00 00 00 00 00 00 07",
    bodyLength: 1,
    record: { type: "END", extra: hex("01"), padding: hex("00 00 00 00 00 00 07") },
  },
  {
    name: "LIBXC_CONTEXT",
    where: "records",
    le: "01 00 00 00 00 00 00 00",
    be: "00 00 00 01 00 00 00 00",
    bodyLength: 0,
    record: { type: "LIBXC_CONTEXT" },
  },
  {
    name: "EMULATOR_XENSTORE_DATA, empty data (body_length 8)",
    where: "records",
    le: "02 00 00 00 08 00 00 00 | 02 00 00 00 00 00 00 00",
    be: "00 00 00 02 00 00 00 08 | 00 00 00 02 00 00 00 00",
    bodyLength: 8,
    record: { type: "EMULATOR_XENSTORE_DATA", emulatorId: 2, index: 0, entries: [] },
  },
  {
    name: "EMULATOR_XENSTORE_DATA, one pair a/b=1",
    where: "records",
    // body: 8 + "a/b\0" 4 + "1\0" 2 = 14 = 0x0E, padding 2
    le: "02 00 00 00 0E 00 00 00 | 02 00 00 00 00 00 00 00 | 61 2F 62 00 31 00 | 00 00",
    be: "00 00 00 02 00 00 00 0E | 00 00 00 02 00 00 00 00 | 61 2F 62 00 31 00 | 00 00",
    bodyLength: 14,
    record: { type: "EMULATOR_XENSTORE_DATA", emulatorId: 2, index: 0, entries: [[ascii("a/b"), ascii("1")]] },
  },
  {
    name: "EMULATOR_XENSTORE_DATA, several pairs (one physmap entry)",
    where: "records",
    le: `02 00 00 00 69 00 00 00 | 02 00 00 00 00 00 00 00 | ${PHYSMAP_HEX} | 00 00 00 00 00 00 00`,
    be: `00 00 00 02 00 00 00 69 | 00 00 00 02 00 00 00 00 | ${PHYSMAP_HEX} | 00 00 00 00 00 00 00`,
    bodyLength: 105,
    record: {
      type: "EMULATOR_XENSTORE_DATA",
      emulatorId: 2,
      index: 0,
      entries: [
        [ascii("physmap/f0000000/start_addr"), ascii("f0000000")],
        [ascii("physmap/f0000000/size"), ascii("800000")],
        [ascii("physmap/f0000000/name"), ascii("vga.vram")],
      ],
    },
  },
  {
    name: "EMULATOR_XENSTORE_DATA, keys and values as raw bytes (empty value, high bytes, empty key)",
    where: "records",
    // "\xFF\x01\0" "\0"  "k\0" "\x80\xFE\0"  "\0" "v\0"  -> 3+1+2+3+1+2 = 12; body 20 = 0x14, padding 4
    le: "02 00 00 00 14 00 00 00 | 01 00 00 00 07 00 00 00 | FF 01 00 00 6B 00 80 FE 00 00 76 00 | 00 00 00 00",
    be: "00 00 00 02 00 00 00 14 | 00 00 00 01 00 00 00 07 | FF 01 00 00 6B 00 80 FE 00 00 76 00 | 00 00 00 00",
    bodyLength: 20,
    record: {
      type: "EMULATOR_XENSTORE_DATA",
      emulatorId: 1,
      index: 7,
      entries: [
        [hex("FF 01"), hex("")],
        [ascii("k"), hex("80 FE")],
        [hex(""), ascii("v")],
      ],
    },
  },
  {
    name: "EMULATOR_XENSTORE_DATA, emulator id 0 (legacy-converted) and an absolute key (kept)",
    where: "records",
    // "/x\0" "y\0" -> 5; body 13 = 0x0D, padding 3
    le: "02 00 00 00 0D 00 00 00 | 00 00 00 00 00 00 00 00 | 2F 78 00 79 00 | 00 00 00",
    be: "00 00 00 02 00 00 00 0D | 00 00 00 00 00 00 00 00 | 2F 78 00 79 00 | 00 00 00",
    bodyLength: 13,
    record: { type: "EMULATOR_XENSTORE_DATA", emulatorId: 0, index: 0, entries: [[ascii("/x"), ascii("y")]] },
  },
  {
    name: "EMULATOR_CONTEXT, emulator 2 (qemu-xen), index 0, QEVM blob",
    where: "records",
    // body 8 + 8 = 16, no padding
    le: "03 00 00 00 10 00 00 00 | 02 00 00 00 00 00 00 00 | 51 45 56 4D 00 00 00 03",
    be: "00 00 00 03 00 00 00 10 | 00 00 00 02 00 00 00 00 | 51 45 56 4D 00 00 00 03",
    bodyLength: 16,
    record: { type: "EMULATOR_CONTEXT", emulatorId: 2, index: 0, data: hex("51 45 56 4D 00 00 00 03") },
  },
  {
    name: "EMULATOR_CONTEXT, emulator 1 (qemu-traditional), index 3, empty blob",
    where: "records",
    le: "03 00 00 00 08 00 00 00 | 01 00 00 00 03 00 00 00",
    be: "00 00 00 03 00 00 00 08 | 00 00 00 01 00 00 00 03",
    bodyLength: 8,
    record: { type: "EMULATOR_CONTEXT", emulatorId: 1, index: 3, data: hex("") },
  },
  {
    name: "EMULATOR_CONTEXT, emulator 0 (unknown), index 0x01020304, 1-byte blob",
    where: "records",
    le: "03 00 00 00 09 00 00 00 | 00 00 00 00 04 03 02 01 | AA | 00 00 00 00 00 00 00",
    be: "00 00 00 03 00 00 00 09 | 00 00 00 00 01 02 03 04 | AA | 00 00 00 00 00 00 00",
    bodyLength: 9,
    record: { type: "EMULATOR_CONTEXT", emulatorId: 0, index: 0x0102_0304, data: hex("AA") },
  },
  {
    name: "EMULATOR_CONTEXT, reserved emulator id 7 (the C reader ignores it)",
    where: "records",
    le: "03 00 00 00 0A 00 00 00 | 07 00 00 00 00 00 00 00 | 01 02 | 00 00 00 00 00 00",
    be: "00 00 00 03 00 00 00 0A | 00 00 00 07 00 00 00 00 | 01 02 | 00 00 00 00 00 00",
    bodyLength: 10,
    record: { type: "EMULATOR_CONTEXT", emulatorId: 7, index: 0, data: hex("01 02") },
  },
  {
    name: "EMULATOR_CONTEXT, non-zero padding (kept)",
    where: "records",
    le: "03 00 00 00 09 00 00 00 | 02 00 00 00 00 00 00 00 | 5A | 00 00 00 00 00 00 FF",
    be: "00 00 00 03 00 00 00 09 | 00 00 00 02 00 00 00 00 | 5A | 00 00 00 00 00 00 FF",
    bodyLength: 9,
    record: {
      type: "EMULATOR_CONTEXT",
      emulatorId: 2,
      index: 0,
      data: hex("5A"),
      padding: hex("00 00 00 00 00 00 FF"),
    },
  },
  {
    name: "EMULATOR_XENSTORE_DATA inside a checkpoint",
    where: "checkpoint",
    le: "02 00 00 00 0C 00 00 00 | 02 00 00 00 00 00 00 00 | 61 00 31 00 | 00 00 00 00",
    be: "00 00 00 02 00 00 00 0C | 00 00 00 02 00 00 00 00 | 61 00 31 00 | 00 00 00 00",
    bodyLength: 12,
    record: { type: "EMULATOR_XENSTORE_DATA", emulatorId: 2, index: 0, entries: [[ascii("a"), ascii("1")]] },
  },
  {
    name: "EMULATOR_CONTEXT inside a checkpoint",
    where: "checkpoint",
    le: "03 00 00 00 0C 00 00 00 | 02 00 00 00 00 00 00 00 | 51 45 56 4D | 00 00 00 00",
    be: "00 00 00 03 00 00 00 0C | 00 00 00 02 00 00 00 00 | 51 45 56 4D | 00 00 00 00",
    bodyLength: 12,
    record: { type: "EMULATOR_CONTEXT", emulatorId: 2, index: 0, data: ascii("QEVM") },
  },
  {
    name: "CHECKPOINT_END",
    where: "checkpoint",
    le: "04 00 00 00 00 00 00 00",
    be: "00 00 00 04 00 00 00 00",
    bodyLength: 0,
    record: { type: "CHECKPOINT_END" },
  },
  {
    name: "CHECKPOINT_END with a body (C ignores it; kept as extra)",
    where: "checkpoint",
    le: "04 00 00 00 02 00 00 00 | 12 34 | 00 00 00 00 00 00",
    be: "00 00 00 04 00 00 00 02 | 12 34 | 00 00 00 00 00 00",
    bodyLength: 2,
    record: { type: "CHECKPOINT_END", extra: hex("12 34") },
  },
  // CHECKPOINT_STATE as libxl writes it: body_length 4, then 4 padding bytes
  // (libxl_stream_write.c: libxl__stream_write_checkpoint_state()).
  ...[
    { id: 0, name: "CHECKPOINT_NEW" },
    { id: 1, name: "CHECKPOINT_SVM_SUSPENDED" },
    { id: 2, name: "CHECKPOINT_SVM_READY" },
    { id: 3, name: "CHECKPOINT_SVM_RESUMED" },
  ].map(
    ({ id, name }): RecordRow => ({
      name: `CHECKPOINT_STATE ${id} ${name}`,
      where: "checkpointEnd",
      le: `05 00 00 00 04 00 00 00 | 0${id} 00 00 00 | 00 00 00 00`,
      be: `00 00 00 05 00 00 00 04 | 00 00 00 0${id} | 00 00 00 00`,
      bodyLength: 4,
      record: { type: "CHECKPOINT_STATE", controlId: id },
    }),
  ),
  {
    name: "CHECKPOINT_STATE with the spec diagram's 8-byte body (padding kept as extra)",
    where: "checkpointEnd",
    le: "05 00 00 00 08 00 00 00 | 00 00 00 00 | 00 00 00 00",
    be: "00 00 00 05 00 00 00 08 | 00 00 00 00 | 00 00 00 00",
    bodyLength: 8,
    record: { type: "CHECKPOINT_STATE", controlId: 0, extra: hex("00 00 00 00") },
  },
  {
    name: "CHECKPOINT_STATE with an unknown control id (kept)",
    where: "checkpointEnd",
    le: "05 00 00 00 04 00 00 00 | 78 56 34 12 | 00 00 00 00",
    be: "00 00 00 05 00 00 00 04 | 12 34 56 78 | 00 00 00 00",
    bodyLength: 4,
    record: { type: "CHECKPOINT_STATE", controlId: 0x1234_5678 },
  },
  {
    name: "unknown optional type 0x80000000, empty (kept raw)",
    where: "records",
    le: "00 00 00 80 00 00 00 00",
    be: "80 00 00 00 00 00 00 00",
    bodyLength: 0,
    record: { type: "UNKNOWN", typeId: 0x8000_0000, body: hex("") },
  },
  {
    name: "unknown optional type 0x80000007 with a body (kept raw)",
    where: "records",
    le: "07 00 00 80 05 00 00 00 | DE AD BE EF 01 | 00 00 00",
    be: "80 00 00 07 00 00 00 05 | DE AD BE EF 01 | 00 00 00",
    bodyLength: 5,
    record: { type: "UNKNOWN", typeId: 0x8000_0007, body: hex("DE AD BE EF 01") },
  },
  {
    name: "unknown optional type 0xFFFFFFFF inside a checkpoint (kept raw)",
    where: "checkpoint",
    le: "FF FF FF FF 08 00 00 00 | 01 02 03 04 05 06 07 08",
    be: "FF FF FF FF 00 00 00 08 | 01 02 03 04 05 06 07 08",
    bodyLength: 8,
    record: { type: "UNKNOWN", typeId: 0xffff_ffff, body: hex("01 02 03 04 05 06 07 08") },
  },
];

describe.each(ENDIANS)("libxl records, %s", (endian) => {
  test.each(recordRows)("decode: $name", (row) => {
    const before = prefix(row.where, endian);
    const bytes = hex(row[endian]);
    const events = new LibxlDecoder().push(cat(before, bytes));
    const last = events[events.length - 1] as LibxlRecordEvent;
    expect(last.layer).toBe("libxl");
    expect(last.kind).toBe("record");
    expect(last.offset).toBe(before.length);
    expect(last.bodyLength).toBe(row.bodyLength);
    expect(last.record).toStrictEqual(row.record);
  });

  test.each(recordRows.filter((row) => row.decodeOnly === undefined))("encode: $name", (row) => {
    expect(encodeLibxlRecord(row.record, endian === "le")).toStrictEqual(hex(row[endian]));
  });

  test.each(recordRows)("record size is 8 + body + padding to 8: $name", (row) => {
    expect(hex(row[endian]).length).toBe(8 + Math.ceil(row.bodyLength / 8) * 8);
  });
});

test("encodeLibxlRecord defaults to little-endian", () => {
  expect(encodeLibxlRecord({ type: "CHECKPOINT_STATE", controlId: 2 })).toStrictEqual(
    hex("05 00 00 00 04 00 00 00 02 00 00 00 00 00 00 00"),
  );
});

test("a big-endian libxl header makes every libxl record field big-endian", () => {
  // The same 16 record bytes read after an LE and a BE header.
  const record = hex("00 00 00 03 00 00 00 08 | 00 00 00 02 00 00 00 05");
  const be = new LibxlDecoder().push(cat(LIBXL_HEADER.be, record));
  expect(be[1]).toStrictEqual({
    layer: "libxl",
    kind: "record",
    offset: 16,
    index: 0,
    bodyLength: 8,
    record: { type: "EMULATOR_CONTEXT", emulatorId: 2, index: 5, data: hex("") },
  });
  // Read little-endian, body_length is 0x08000000 (128 MiB), type 0x03000000.
  const error = thrown(() => new LibxlDecoder({ maxRecordLength: 1024 }).push(cat(LIBXL_HEADER.le, record)));
  expect([error.code, error.offset]).toStrictEqual(["RECORD_TOO_LARGE", 20]);
  const unknown = thrown(() => new LibxlDecoder().push(cat(LIBXL_HEADER.le, hex("00 00 00 03 00 00 00 00"))));
  expect([unknown.code, unknown.offset]).toStrictEqual(["UNKNOWN_RECORD", 16]);
});

test("a reserved options bit does not change the byte order", () => {
  const header = hex(`${IDENT} 00 00 00 02 FF FF FF FE`);
  const record = hex("03 00 00 00 08 00 00 00 | 02 00 00 00 05 00 00 00");
  const events = new LibxlDecoder().push(cat(header, record));
  expect(events[0]).toStrictEqual({ layer: "libxl", kind: "header", offset: 0, header: { version: 2, options: 0xffff_fffe } });
  expect((events[1] as LibxlRecordEvent).record).toStrictEqual({ type: "EMULATOR_CONTEXT", emulatorId: 2, index: 5, data: hex("") });
});

// ---------------------------------------------------------------- LIBXC_CONTEXT + nested libxc

describe.each(ENDIANS)("LIBXC_CONTEXT followed by a minimal libxc stream, %s", (endian) => {
  // header | LIBXC_CONTEXT | libxc image header | PV domain header | libxc END | libxl END
  const bytes = {
    le: hex(`
      ${IDENT} 00 00 00 02 00 00 00 00
      01 00 00 00 00 00 00 00
      FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03 00 00 00 00 00 00 00 00
      01 00 00 00 0C 00 00 00 04 00 00 00 11 00 00 00
      00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00`),
    be: hex(`
      ${IDENT} 00 00 00 02 00 00 00 01
      00 00 00 01 00 00 00 00
      FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03 00 01 00 00 00 00 00 00
      00 00 00 01 00 0C 00 00 00 00 00 04 00 00 00 11
      00 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00`),
  }[endian];
  const libxlOptions = endian === "le" ? 0 : 1;
  const imageHeader = { version: 3, options: endian === "le" ? 0 : 1, reserved1: 0, reserved2: 0 };
  const domainHeader = { type: 1, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 };

  test("events", () => {
    const decoder = new LibxlDecoder();
    expect(decoder.push(bytes)).toStrictEqual([
      { layer: "libxl", kind: "header", offset: 0, header: { version: 2, options: libxlOptions } },
      { layer: "libxl", kind: "record", offset: 16, index: 0, bodyLength: 0, record: { type: "LIBXC_CONTEXT" } },
      { layer: "libxc", kind: "imageHeader", offset: 24, header: imageHeader },
      { layer: "libxc", kind: "domainHeader", offset: 48, header: domainHeader },
      { layer: "libxc", kind: "record", offset: 64, index: 0, bodyLength: 0, record: { type: "END" } },
      { layer: "libxl", kind: "record", offset: 72, index: 1, bodyLength: 0, record: { type: "END" } },
    ]);
    decoder.end();
  });

  test("decodeLibxlStream", () => {
    expect(decodeLibxlStream(bytes)).toStrictEqual({
      header: { version: 2, options: libxlOptions },
      items: [
        { type: "LIBXC_CONTEXT" },
        { type: "LIBXC_STREAM", stream: { imageHeader, domainHeader, records: [{ type: "END" }] } },
        { type: "END" },
      ],
    });
  });
});

test("LIBXC_CONTEXT with a body: the body is skipped as a record body, then libxc starts", () => {
  // libxl_stream_read.c does not check the length; the spec says 0.
  const bytes = hex(`
    ${IDENT} 00 00 00 02 00 00 00 00
    01 00 00 00 02 00 00 00 | AB CD 00 00 00 00 00 00
    FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 02 00 00 00 00 00 00 00 00
    02 00 00 00 0C 00 00 00 04 00 00 00 06 00 00 00
    00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 00`);
  const events = new LibxlDecoder().push(bytes);
  expect(events.map((event) => [event.layer, event.kind, event.offset])).toStrictEqual([
    ["libxl", "header", 0],
    ["libxl", "record", 16],
    ["libxc", "imageHeader", 32],
    ["libxc", "domainHeader", 56],
    ["libxc", "record", 72],
    ["libxl", "record", 80],
  ]);
  expect((events[1] as LibxlRecordEvent).record).toStrictEqual({ type: "LIBXC_CONTEXT", extra: hex("AB CD") });
});

// ---------------------------------------------------------------- malformed records

interface ErrorRow {
  name: string;
  where: Where;
  le: string;
  be: string;
  code: XenStreamError["code"];
  /** Offset relative to the record's first byte (4: its body_length field). */
  at: number;
  options?: { keepUnknownMandatory?: boolean; maxRecordLength?: number };
}

const errorRows: ErrorRow[] = [
  {
    name: "EMULATOR_XENSTORE_DATA: key not NUL-terminated (no NUL at all)",
    where: "records",
    le: "02 00 00 00 0A 00 00 00 | 02 00 00 00 00 00 00 00 | 61 62 | 00 00 00 00 00 00",
    be: "00 00 00 02 00 00 00 0A | 00 00 00 02 00 00 00 00 | 61 62 | 00 00 00 00 00 00",
    code: "BAD_FIELD",
    at: 16, // the key "ab" at body offset 8
  },
  {
    name: "EMULATOR_XENSTORE_DATA: value not NUL-terminated",
    where: "records",
    le: "02 00 00 00 0B 00 00 00 | 02 00 00 00 00 00 00 00 | 61 00 62 | 00 00 00 00 00",
    be: "00 00 00 02 00 00 00 0B | 00 00 00 02 00 00 00 00 | 61 00 62 | 00 00 00 00 00",
    code: "BAD_FIELD",
    at: 18, // the value "b" after "a\0"
  },
  {
    name: "EMULATOR_XENSTORE_DATA: second key not NUL-terminated",
    where: "records",
    le: "02 00 00 00 0D 00 00 00 | 02 00 00 00 00 00 00 00 | 61 00 31 00 62 | 00 00 00",
    be: "00 00 00 02 00 00 00 0D | 00 00 00 02 00 00 00 00 | 61 00 31 00 62 | 00 00 00",
    code: "BAD_FIELD",
    at: 20, // the key "b" after "a\01\0"
  },
  {
    name: "EMULATOR_XENSTORE_DATA: odd number of strings (key without value)",
    where: "records",
    le: "02 00 00 00 0E 00 00 00 | 02 00 00 00 00 00 00 00 | 61 00 31 00 63 00 | 00 00",
    be: "00 00 00 02 00 00 00 0E | 00 00 00 02 00 00 00 00 | 61 00 31 00 63 00 | 00 00",
    code: "BAD_FIELD",
    at: 22, // where the value of "c" would start: the end of the data
  },
  {
    name: "EMULATOR_XENSTORE_DATA: a single key, no value",
    where: "records",
    le: "02 00 00 00 0A 00 00 00 | 02 00 00 00 00 00 00 00 | 6B 00 | 00 00 00 00 00 00",
    be: "00 00 00 02 00 00 00 0A | 00 00 00 02 00 00 00 00 | 6B 00 | 00 00 00 00 00 00",
    code: "BAD_FIELD",
    at: 18,
  },
  {
    name: "EMULATOR_XENSTORE_DATA: body_length 7, too short for the emulator header",
    where: "records",
    le: "02 00 00 00 07 00 00 00 | 02 00 00 00 00 00 00 | 00",
    be: "00 00 00 02 00 00 00 07 | 00 00 00 02 00 00 00 | 00",
    code: "BAD_LENGTH",
    at: 4, // BAD_LENGTH points at the body_length field (errors.ts)
  },
  {
    name: "EMULATOR_XENSTORE_DATA: body_length 0",
    where: "records",
    le: "02 00 00 00 00 00 00 00",
    be: "00 00 00 02 00 00 00 00",
    code: "BAD_LENGTH",
    at: 4, // BAD_LENGTH points at the body_length field (errors.ts)
  },
  {
    name: "EMULATOR_CONTEXT: body_length 4",
    where: "records",
    le: "03 00 00 00 04 00 00 00 | 02 00 00 00 | 00 00 00 00",
    be: "00 00 00 03 00 00 00 04 | 00 00 00 02 | 00 00 00 00",
    code: "BAD_LENGTH",
    at: 4, // BAD_LENGTH points at the body_length field (errors.ts)
  },
  {
    name: "CHECKPOINT_STATE: body_length 0 (Xen would dereference NULL)",
    where: "checkpointEnd",
    le: "05 00 00 00 00 00 00 00",
    be: "00 00 00 05 00 00 00 00",
    code: "BAD_LENGTH",
    at: 4, // BAD_LENGTH points at the body_length field (errors.ts)
  },
  {
    name: "CHECKPOINT_STATE: body_length 3",
    where: "checkpointEnd",
    le: "05 00 00 00 03 00 00 00 | 01 00 00 | 00 00 00 00 00",
    be: "00 00 00 05 00 00 00 03 | 00 00 00 | 00 00 00 00 00",
    code: "BAD_LENGTH",
    at: 4, // BAD_LENGTH points at the body_length field (errors.ts)
  },
  {
    name: "unknown mandatory type 6",
    where: "records",
    le: "06 00 00 00 00 00 00 00",
    be: "00 00 00 06 00 00 00 00",
    code: "UNKNOWN_RECORD",
    at: 0,
  },
  {
    name: "unknown mandatory type 0x7FFFFFFF with a body",
    where: "records",
    le: "FF FF FF 7F 04 00 00 00 | 01 02 03 04 | 00 00 00 00",
    be: "7F FF FF FF 00 00 00 04 | 01 02 03 04 | 00 00 00 00",
    code: "UNKNOWN_RECORD",
    at: 0,
  },
  {
    name: "unknown mandatory type 6 inside a checkpoint",
    where: "checkpoint",
    le: "06 00 00 00 00 00 00 00",
    be: "00 00 00 06 00 00 00 00",
    code: "UNKNOWN_RECORD",
    at: 0,
  },
  {
    name: "body_length above maxRecordLength (checked when the header arrives)",
    where: "records",
    le: "03 00 00 00 11 00 00 00",
    be: "00 00 00 03 00 00 00 11",
    code: "RECORD_TOO_LARGE",
    at: 4,
    options: { maxRecordLength: 16 },
  },
  {
    name: "body_length 0xFFFFFFFF (default limit 128 MiB)",
    where: "records",
    le: "02 00 00 00 FF FF FF FF",
    be: "00 00 00 02 FF FF FF FF",
    code: "RECORD_TOO_LARGE",
    at: 4,
  },
];

describe.each(ENDIANS)("malformed libxl records, %s", (endian) => {
  test.each(errorRows)("$name -> $code", (row) => {
    const before = prefix(row.where, endian);
    const decoder = new LibxlDecoder(row.options ?? {});
    const error = thrown(() => decoder.push(cat(before, hex(row[endian]))));
    expect([error.code, error.offset, error.layer]).toStrictEqual([row.code, before.length + row.at, "libxl"]);
    // The decoder keeps failing with the same error.
    expect(thrown(() => decoder.push(hex("00")))).toBe(error);
  });
});

describe.each(ENDIANS)("keepUnknownMandatory, %s", (endian) => {
  test("an unknown mandatory type is kept raw", () => {
    const bytes = {
      le: "FF FF FF 7F 04 00 00 00 | 01 02 03 04 | 00 00 00 00",
      be: "7F FF FF FF 00 00 00 04 | 01 02 03 04 | 00 00 00 00",
    }[endian];
    const events = new LibxlDecoder({ keepUnknownMandatory: true }).push(cat(LIBXL_HEADER[endian], hex(bytes)));
    expect(events[1]).toStrictEqual({
      layer: "libxl",
      kind: "record",
      offset: 16,
      index: 0,
      bodyLength: 4,
      record: { type: "UNKNOWN", typeId: 0x7fff_ffff, body: hex("01 02 03 04") },
    });
    expect(encodeLibxlRecord({ type: "UNKNOWN", typeId: 0x7fff_ffff, body: hex("01 02 03 04") }, endian === "le")).toStrictEqual(
      hex(bytes),
    );
  });
});

describe("encoder refusals", () => {
  const rows: Array<{ name: string; record: LibxlRecord }> = [
    {
      name: "xenstore key containing NUL",
      record: { type: "EMULATOR_XENSTORE_DATA", emulatorId: 2, index: 0, entries: [[hex("61 00 62"), ascii("1")]] },
    },
    {
      name: "xenstore value containing NUL",
      record: { type: "EMULATOR_XENSTORE_DATA", emulatorId: 2, index: 0, entries: [[ascii("a"), hex("31 00")]] },
    },
    { name: "emulatorId beyond u32", record: { type: "EMULATOR_CONTEXT", emulatorId: 2 ** 32, index: 0, data: hex("") } },
    { name: "negative index", record: { type: "EMULATOR_CONTEXT", emulatorId: 2, index: -1, data: hex("") } },
    { name: "controlId beyond u32", record: { type: "CHECKPOINT_STATE", controlId: 2 ** 32 } },
    { name: "UNKNOWN with a known type id", record: { type: "UNKNOWN", typeId: 4, body: hex("") } },
    { name: "UNKNOWN with a typeId beyond u32", record: { type: "UNKNOWN", typeId: 2 ** 32, body: hex("") } },
    { name: "an unknown type name", record: { type: "NOPE" } as unknown as LibxlRecord },
  ];
  test.each(rows)("$name -> BAD_VALUE", ({ record }) => {
    expect(thrown(() => encodeLibxlRecord(record)).code).toBe("BAD_VALUE");
  });

  test("padding of the wrong size -> BAD_PADDING", () => {
    const record: LibxlRecord = { type: "CHECKPOINT_STATE", controlId: 0, padding: hex("00 00 00 00 00") };
    expect(thrown(() => encodeLibxlRecord(record)).code).toBe("BAD_PADDING");
  });
});
