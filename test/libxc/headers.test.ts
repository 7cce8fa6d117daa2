/**
 * libxc image header (24 bytes, always big-endian) and domain header
 * (16 bytes, stream byte order), against bytes written from the spec tables
 * (libxc-stream.md §2, §3; Xen xg_sr_restore.c: read_headers()).
 */
import { describe, expect, test } from "vitest";
import {
  LibxcDecoder,
  XenStreamError,
  decodeDomainHeader,
  decodeImageHeader,
  decodeLibxcEvents,
  decodeLibxcStream,
  encodeDomainHeader,
  encodeImageHeader,
  encodeLibxcStream,
  isBigEndianImage,
  pageSizeOf,
  type DomainHeader,
  type ImageHeader,
} from "../../src/index.js";
import { cat, hex, offsetCopy } from "../helpers/hex.js";
import { thrown } from "../helpers/errors.js";


const MARKER = "ff ff ff ff ff ff ff ff";
const XENF = "58 45 4e 46";
const END = hex("00 00 00 00 00 00 00 00");

describe("image header: decode and encode", () => {
  const rows: { name: string; bytes: string; header: ImageHeader; bigEndian: boolean }[] = [
    {
      name: "Xen >= 4.14 (v3, little-endian)",
      bytes: `${MARKER} ${XENF} 00 00 00 03 | 00 00 | 00 00 | 00 00 00 00`,
      header: { version: 3, options: 0, reserved1: 0, reserved2: 0 },
      bigEndian: false,
    },
    {
      name: "Xen 4.6-4.13 (v2)",
      bytes: `${MARKER} ${XENF} 00 00 00 02 | 00 00 | 00 00 | 00 00 00 00`,
      header: { version: 2, options: 0, reserved1: 0, reserved2: 0 },
      bigEndian: false,
    },
    {
      name: "big-endian option bit",
      bytes: `${MARKER} ${XENF} 00 00 00 03 | 00 01 | 00 00 | 00 00 00 00`,
      header: { version: 3, options: 1, reserved1: 0, reserved2: 0 },
      bigEndian: true,
    },
    {
      name: "reserved option bits and reserved fields kept",
      bytes: `${MARKER} ${XENF} 00 00 00 03 | ff fe | 12 34 | de ad be ef`,
      header: { version: 3, options: 0xfffe, reserved1: 0x1234, reserved2: 0xdeadbeef },
      bigEndian: false,
    },
    {
      name: "all option bits",
      bytes: `${MARKER} ${XENF} 00 00 00 02 | ff ff | 00 01 | 00 00 00 01`,
      header: { version: 2, options: 0xffff, reserved1: 1, reserved2: 1 },
      bigEndian: true,
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const bytes = hex(row.bytes);
      expect(bytes.length).toBe(24);
      const header = decodeImageHeader(offsetCopy(bytes));
      expect(header).toStrictEqual(row.header);
      expect(isBigEndianImage(header)).toBe(row.bigEndian);
      expect(encodeImageHeader(row.header)).toEqual(bytes);
    });
  }

  test("reads only the first 24 bytes", () => {
    const bytes = cat(hex(rows[0]?.bytes ?? ""), hex("01 02 03"));
    expect(decodeImageHeader(bytes)).toStrictEqual({ version: 3, options: 0, reserved1: 0, reserved2: 0 });
  });

  test("omitted reserved fields encode as zero", () => {
    expect(encodeImageHeader({ version: 3, options: 0 })).toEqual(
      hex(`${MARKER} ${XENF} 00 00 00 03 00 00 00 00 00 00 00 00`),
    );
  });
});

describe("image header: failures", () => {
  const v3 = `${XENF} 00 00 00 03 00 00 00 00 00 00 00 00`;
  const rows: { name: string; bytes: string; code: string; at: number }[] = [
    { name: "marker first byte", bytes: `fe ff ff ff ff ff ff ff ${v3}`, code: "BAD_MAGIC", at: 0 },
    { name: "marker last byte", bytes: `ff ff ff ff ff ff ff 7f ${v3}`, code: "BAD_MAGIC", at: 0 },
    { name: "marker zero (a legacy stream)", bytes: `00 00 00 00 00 00 00 00 ${v3}`, code: "BAD_MAGIC", at: 0 },
    { name: "id XENG", bytes: `${MARKER} 58 45 4e 47 00 00 00 03 00 00 00 00 00 00 00 00`, code: "BAD_MAGIC", at: 8 },
    { name: "id byte-swapped", bytes: `${MARKER} 46 4e 45 58 00 00 00 03 00 00 00 00 00 00 00 00`, code: "BAD_MAGIC", at: 8 },
    { name: "version 0", bytes: `${MARKER} ${XENF} 00 00 00 00 00 00 00 00 00 00 00 00`, code: "BAD_VERSION", at: 12 },
    { name: "version 1", bytes: `${MARKER} ${XENF} 00 00 00 01 00 00 00 00 00 00 00 00`, code: "BAD_VERSION", at: 12 },
    { name: "version 4", bytes: `${MARKER} ${XENF} 00 00 00 04 00 00 00 00 00 00 00 00`, code: "BAD_VERSION", at: 12 },
    {
      name: "version 3 written little-endian",
      bytes: `${MARKER} ${XENF} 03 00 00 00 00 00 00 00 00 00 00 00`,
      code: "BAD_VERSION",
      at: 12,
    },
    { name: "version 0xffffffff", bytes: `${MARKER} ${XENF} ff ff ff ff 00 00 00 00 00 00 00 00`, code: "BAD_VERSION", at: 12 },
  ];
  for (const row of rows) {
    test(`${row.name}: decodeImageHeader`, () => {
      const error = thrown(() => decodeImageHeader(hex(row.bytes), 1000));
      expect(error.code).toBe(row.code);
      expect(error.offset).toBe(1000 + row.at);
      expect(error.layer).toBe("libxc");
    });
    test(`${row.name}: whole stream`, () => {
      const stream = cat(hex(row.bytes), hex("01 00 00 00 0c 00 00 00 04 00 00 00 11 00 00 00"), END);
      const error = thrown(() => decodeLibxcStream(stream));
      expect(error.code).toBe(row.code);
      expect(error.offset).toBe(row.at);
    });
  }

  test("fails as soon as the 24 bytes are there, before the domain header", () => {
    const decoder = new LibxcDecoder();
    const error = thrown(() => decoder.push(hex(`${MARKER} ${XENF} 00 00 00 01 00 00 00 00 00 00 00 00`)));
    expect(error.code).toBe("BAD_VERSION");
    expect(error.offset).toBe(12);
  });

  test("short input to decodeImageHeader is TRUNCATED at the bytes given", () => {
    const error = thrown(() => decodeImageHeader(hex(`${MARKER} ${XENF}`), 100));
    expect(error.code).toBe("TRUNCATED");
    expect(error.offset).toBe(112);
  });

  const encodeRows: { name: string; header: ImageHeader }[] = [
    { name: "version 1", header: { version: 1, options: 0 } },
    { name: "version 4", header: { version: 4, options: 0 } },
    { name: "options 0x10000", header: { version: 3, options: 0x10000 } },
    { name: "reserved1 -1", header: { version: 3, options: 0, reserved1: -1 } },
    { name: "reserved2 2^32", header: { version: 3, options: 0, reserved2: 2 ** 32 } },
  ];
  for (const row of encodeRows) {
    test(`encode ${row.name}: BAD_VALUE`, () => {
      expect(thrown(() => encodeImageHeader(row.header)).code).toBe("BAD_VALUE");
    });
  }
});

describe("domain header: decode and encode", () => {
  const rows: { name: string; le: string; be: string; header: DomainHeader }[] = [
    {
      name: "x86 PV, Xen 4.17",
      le: "01 00 00 00 | 0c 00 | 00 00 | 04 00 00 00 | 11 00 00 00",
      be: "00 00 00 01 | 00 0c | 00 00 | 00 00 00 04 | 00 00 00 11",
      header: { type: 1, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 },
    },
    {
      name: "x86 HVM, converted from a legacy stream (major 0, converter 1)",
      le: "02 00 00 00 | 0c 00 | 00 00 | 00 00 00 00 | 01 00 00 00",
      be: "00 00 00 02 | 00 0c | 00 00 | 00 00 00 00 | 00 00 00 01",
      header: { type: 2, pageShift: 12, reserved: 0, xenMajor: 0, xenMinor: 1 },
    },
    {
      name: "8 KiB pages, reserved kept",
      le: "02 00 00 00 | 0d 00 | 34 12 | ff ff 00 00 | fe ff ff ff",
      be: "00 00 00 02 | 00 0d | 12 34 | 00 00 ff ff | ff ff ff fe",
      header: { type: 2, pageShift: 13, reserved: 0x1234, xenMajor: 0xffff, xenMinor: 0xfffffffe },
    },
    {
      name: "largest page_shift (24)",
      le: "01 00 00 00 | 18 00 | 00 00 | 04 00 00 00 | 06 00 00 00",
      be: "00 00 00 01 | 00 18 | 00 00 | 00 00 00 04 | 00 00 00 06",
      header: { type: 1, pageShift: 24, reserved: 0, xenMajor: 4, xenMinor: 6 },
    },
  ];
  for (const row of rows) {
    for (const littleEndian of [true, false]) {
      test(`${row.name} ${littleEndian ? "LE" : "BE"}`, () => {
        const bytes = hex(littleEndian ? row.le : row.be);
        expect(bytes.length).toBe(16);
        expect(decodeDomainHeader(offsetCopy(bytes), littleEndian)).toStrictEqual(row.header);
        expect(encodeDomainHeader(row.header, littleEndian)).toEqual(bytes);
        expect(pageSizeOf(row.header)).toBe(2 ** row.header.pageShift);
      });
    }
  }

  test("encodeDomainHeader defaults to little-endian, reserved to 0", () => {
    expect(encodeDomainHeader({ type: 1, pageShift: 12, xenMajor: 4, xenMinor: 17 })).toEqual(hex(rows[0]?.le ?? ""));
  });

  test("pageSizeOf", () => {
    expect(pageSizeOf({ type: 1, pageShift: 12, xenMajor: 0, xenMinor: 0 })).toBe(4096);
    expect(pageSizeOf({ type: 1, pageShift: 13, xenMajor: 0, xenMinor: 0 })).toBe(8192);
  });
});

describe("domain header: failures", () => {
  // [name, LE bytes, BE bytes, offset within the domain header]
  const rows: [string, string, string, number][] = [
    ["type 0", "00 00 00 00 0c 00 00 00 04 00 00 00 11 00 00 00", "00 00 00 00 00 0c 00 00 00 00 00 04 00 00 00 11", 0],
    ["type 3", "03 00 00 00 0c 00 00 00 04 00 00 00 11 00 00 00", "00 00 00 03 00 0c 00 00 00 00 00 04 00 00 00 11", 0],
    ["type 0xffffffff", "ff ff ff ff 0c 00 00 00 04 00 00 00 11 00 00 00", "ff ff ff ff 00 0c 00 00 00 00 00 04 00 00 00 11", 0],
    // type 1 written in the other byte order reads as 0x01000000
    ["type in the wrong byte order", "00 00 00 01 0c 00 00 00 04 00 00 00 11 00 00 00", "01 00 00 00 00 0c 00 00 00 00 00 04 00 00 00 11", 0],
    ["page_shift 0", "01 00 00 00 00 00 00 00 04 00 00 00 11 00 00 00", "00 00 00 01 00 00 00 00 00 00 00 04 00 00 00 11", 4],
    ["page_shift 11", "01 00 00 00 0b 00 00 00 04 00 00 00 11 00 00 00", "00 00 00 01 00 0b 00 00 00 00 00 04 00 00 00 11", 4],
    ["page_shift 25", "01 00 00 00 19 00 00 00 04 00 00 00 11 00 00 00", "00 00 00 01 00 19 00 00 00 00 00 04 00 00 00 11", 4],
    ["page_shift 0xffff", "02 00 00 00 ff ff 00 00 04 00 00 00 11 00 00 00", "00 00 00 02 ff ff 00 00 00 00 00 04 00 00 00 11", 4],
  ];
  for (const [name, le, be, at] of rows) {
    for (const littleEndian of [true, false]) {
      const tag = littleEndian ? "LE" : "BE";
      test(`${name} ${tag}: decodeDomainHeader`, () => {
        const error = thrown(() => decodeDomainHeader(hex(littleEndian ? le : be), littleEndian, 24));
        expect(error.code).toBe("BAD_FIELD");
        expect(error.offset).toBe(24 + at);
        expect(error.layer).toBe("libxc");
      });
      test(`${name} ${tag}: whole stream, absolute offset`, () => {
        const ihdr = hex(`${MARKER} ${XENF} 00 00 00 03 00 ${littleEndian ? "00" : "01"} 00 00 00 00 00 00`);
        const error = thrown(() => decodeLibxcStream(cat(ihdr, hex(littleEndian ? le : be), END)));
        expect(error.code).toBe("BAD_FIELD");
        expect(error.offset).toBe(24 + at);
      });
    }
  }

  test("short input to decodeDomainHeader is TRUNCATED", () => {
    const error = thrown(() => decodeDomainHeader(hex("01 00 00 00 0c 00"), true, 24));
    expect(error.code).toBe("TRUNCATED");
    expect(error.offset).toBe(30);
  });

  const encodeRows: { name: string; header: DomainHeader }[] = [
    { name: "type 0", header: { type: 0, pageShift: 12, xenMajor: 4, xenMinor: 17 } },
    { name: "type 3", header: { type: 3, pageShift: 12, xenMajor: 4, xenMinor: 17 } },
    { name: "pageShift 11", header: { type: 1, pageShift: 11, xenMajor: 4, xenMinor: 17 } },
    { name: "pageShift 25", header: { type: 1, pageShift: 25, xenMajor: 4, xenMinor: 17 } },
    { name: "xenMinor 2^32", header: { type: 1, pageShift: 12, xenMajor: 4, xenMinor: 2 ** 32 } },
    { name: "reserved 0x10000", header: { type: 1, pageShift: 12, reserved: 0x10000, xenMajor: 4, xenMinor: 17 } },
  ];
  for (const row of encodeRows) {
    test(`encode ${row.name}: BAD_VALUE`, () => {
      expect(thrown(() => encodeDomainHeader(row.header)).code).toBe("BAD_VALUE");
    });
  }
});

describe("headers in a whole stream", () => {
  test("little-endian v3 PV stream: headers + END", () => {
    const bytes = hex(`
      ${MARKER} ${XENF} 00 00 00 03 00 00 00 00 00 00 00 00
      01 00 00 00 0c 00 00 00 04 00 00 00 11 00 00 00
      00 00 00 00 00 00 00 00`);
    const stream = {
      imageHeader: { version: 3, options: 0, reserved1: 0, reserved2: 0 },
      domainHeader: { type: 1, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 },
      records: [{ type: "END" }],
    };
    expect(decodeLibxcStream(bytes)).toStrictEqual(stream);
    expect(encodeLibxcStream(stream as Parameters<typeof encodeLibxcStream>[0])).toEqual(bytes);
    expect(decodeLibxcEvents(bytes).map((event) => [event.kind, event.offset])).toStrictEqual([
      ["imageHeader", 0],
      ["domainHeader", 24],
      ["record", 40],
    ]);
  });

  test("big-endian option: image header stays big-endian, domain header and records flip", () => {
    const bytes = hex(`
      ${MARKER} ${XENF} 00 00 00 03 00 01 00 00 00 00 00 00
      00 00 00 02 00 0c 00 00 00 00 00 04 00 00 00 11
      00 00 00 10 00 00 00 00
      00 00 00 00 00 00 00 00`);
    const stream = {
      imageHeader: { version: 3, options: 1, reserved1: 0, reserved2: 0 },
      domainHeader: { type: 2, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 },
      records: [{ type: "STATIC_DATA_END" }, { type: "END" }],
    };
    expect(decodeLibxcStream(bytes)).toStrictEqual(stream);
    expect(encodeLibxcStream(stream as Parameters<typeof encodeLibxcStream>[0])).toEqual(bytes);
  });

  test("reserved image and domain header fields survive a round trip", () => {
    const bytes = hex(`
      ${MARKER} ${XENF} 00 00 00 02 ab cc 11 22 33 44 55 66
      02 00 00 00 0c 00 77 88 04 00 00 00 0d 00 00 00
      00 00 00 00 00 00 00 00`);
    const stream = decodeLibxcStream(bytes);
    expect(stream.imageHeader).toStrictEqual({ version: 2, options: 0xabcc, reserved1: 0x1122, reserved2: 0x33445566 });
    expect(stream.domainHeader).toStrictEqual({ type: 2, pageShift: 12, reserved: 0x8877, xenMajor: 4, xenMinor: 13 });
    expect(encodeLibxcStream(stream)).toEqual(bytes);
  });

  test("decoder startOffset shifts header error offsets", () => {
    const decoder = new LibxcDecoder({}, 1000);
    const error = thrown(() => decoder.push(hex(`${MARKER} 58 45 4e 00 00 00 00 03 00 00 00 00 00 00 00 00`)));
    expect(error.code).toBe("BAD_MAGIC");
    expect(error.offset).toBe(1008);
  });
});
