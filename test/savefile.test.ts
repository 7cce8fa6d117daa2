/**
 * Whole save files: format detection, every layer decoded with one event
 * sequence, the format option, and the encoder (xl-header.md §1-2,
 * libxl-stream.md §8; verify-stream-v2 --format xl for a bare libxc stream
 * after an xl header without STREAMv2).
 *
 * Files are assembled from hand-written header and record bytes.
 */
import { describe, expect, test } from "vitest";
import {
  SaveFileDecoder,
  XenStreamError,
  decodeSaveFile,
  detectFormat,
  encodeSaveFile,
  type LibxcStream,
  type LibxlStream,
  type SaveFile,
  type SaveFileEvent,
  type XlHeader,
} from "../src/index.js";
import { cat, hex } from "./helpers/hex.js";
import { thrown } from "./helpers/errors.js";

// ---------------------------------------------------------------- helpers


function summary(event: SaveFileEvent): string {
  return event.kind === "record" ? `${event.layer} ${event.offset} ${event.record.type}` : `${event.layer} ${event.offset} ${event.kind}`;
}

// ---------------------------------------------------------------- pieces

/** "Xen saved domain, xl format\n \0 \r" */
const MAGIC = `58 65 6E 20 73 61 76 65 64 20 64 6F 6D 61 69 6E 2C 20 78 6C 20 66 6F 72 6D 61 74 0A 20 00 20 0D`;

/** xl header, LE, flags JSON|STREAMv2, optional_data_len 7, config_len 3, "{}\0". 55 bytes. */
const XL_V2 = hex(`${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 07 00 00 00 | 03 00 00 00 | 7B 7D 00`);
const XL_V2_HEADER: XlHeader = { byteOrder: "little", mandatoryFlags: 3, optionalFlags: 0, config: hex("7B 7D 00") };
/** xl header as Xen 4.5 wrote it: JSON only (no STREAMv2), same config. 55 bytes. */
const XL_LEGACY = hex(`${MAGIC} | 04 03 02 01 | 01 00 00 00 | 00 00 00 00 | 07 00 00 00 | 03 00 00 00 | 7B 7D 00`);
const XL_LEGACY_HEADER: XlHeader = { byteOrder: "little", mandatoryFlags: 1, optionalFlags: 0, config: hex("7B 7D 00") };
/** Big-endian xl header, STREAMv2 only, no optional data. 48 bytes. */
const XL_BE = hex(`${MAGIC} | 01 02 03 04 | 00 00 00 02 | 00 00 00 00 | 00 00 00 00`);
const XL_BE_HEADER: XlHeader = { byteOrder: "big", mandatoryFlags: 2, optionalFlags: 0 };

// A minimal libxc stream (64 bytes):
//  0 image header (v3, LE) | 24 domain header (PV, 4.17) | 40 X86_PV_INFO (8, 4) | 56 END
const LIBXC = hex(`
  FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03 00 00 00 00 00 00 00 00
  01 00 00 00 0C 00 00 00 04 00 00 00 11 00 00 00
  02 00 00 00 08 00 00 00 08 04 00 00 00 00 00 00
  00 00 00 00 00 00 00 00`);
const LIBXC_STREAM: LibxcStream = {
  imageHeader: { version: 3, options: 0, reserved1: 0, reserved2: 0 },
  domainHeader: { type: 1, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 },
  records: [
    { type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: hex("00 00 00 00 00 00") },
    { type: "END" },
  ],
};

// A minimal libxl stream (96 bytes):
//  0 libxl header | 16 LIBXC_CONTEXT | 24..88 the libxc stream above | 88 END
const LIBXL = cat(hex("4C 69 62 78 6C 46 6D 74 00 00 00 02 00 00 00 00 | 01 00 00 00 00 00 00 00"), LIBXC, hex("00 00 00 00 00 00 00 00"));
const LIBXL_STREAM: LibxlStream = {
  header: { version: 2, options: 0 },
  items: [{ type: "LIBXC_CONTEXT" }, { type: "LIBXC_STREAM", stream: LIBXC_STREAM }, { type: "END" }],
};

// A checkpointed libxl stream ending at a checkpoint boundary (80 bytes):
//  0 header | 16 LIBXC_CONTEXT | 24 image | 48 domain (HVM) | 64 CHECKPOINT | 72 CHECKPOINT_END
const LIBXL_CHECKPOINTED = hex(`
  4C 69 62 78 6C 46 6D 74 00 00 00 02 00 00 00 00
  01 00 00 00 00 00 00 00
  FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03 00 00 00 00 00 00 00 00
  02 00 00 00 0C 00 00 00 04 00 00 00 11 00 00 00
  0E 00 00 00 00 00 00 00
  04 00 00 00 00 00 00 00`);

/** The start of a legacy (Xen <= 4.5) 64-bit PV stream: p2m_size 0x8000, then the extended-info marker ~0. */
const LEGACY = hex("00 80 00 00 00 00 00 00 | FF FF FF FF FF FF FF FF | 76 63 70 75 00 00 00 00");

// ---------------------------------------------------------------- detectFormat

describe("detectFormat", () => {
  test.each([
    { name: "xl header", bytes: XL_V2, format: "xl" },
    { name: "only 'Xen save'", bytes: hex("58 65 6E 20 73 61 76 65"), format: "xl" },
    { name: "libxl stream", bytes: LIBXL, format: "libxl" },
    { name: "only 'LibxlFmt'", bytes: hex("4C 69 62 78 6C 46 6D 74"), format: "libxl" },
    { name: "libxc stream", bytes: LIBXC, format: "libxc" },
    { name: "only the libxc marker", bytes: hex("FF FF FF FF FF FF FF FF"), format: "libxc" },
    { name: "legacy (p2m_size first)", bytes: LEGACY, format: "legacy" },
    { name: "'Xen savX'", bytes: hex("58 65 6E 20 73 61 76 58"), format: "legacy" },
    { name: "'libxlFmt' (lower case l)", bytes: hex("6C 69 62 78 6C 46 6D 74"), format: "legacy" },
    { name: "seven 0xFF then 0xFE", bytes: hex("FF FF FF FF FF FF FF FE"), format: "legacy" },
    { name: "eight zero bytes", bytes: hex("00 00 00 00 00 00 00 00"), format: "legacy" },
    { name: "7 bytes", bytes: hex("58 65 6E 20 73 61 76"), format: undefined },
    { name: "empty", bytes: hex(""), format: undefined },
  ])("$name -> $format", ({ bytes, format }) => {
    expect(detectFormat(bytes)).toBe(format);
  });

  test("looks only at the first 8 bytes of a subarray", () => {
    const noisy = cat(hex("AA BB"), LIBXL);
    expect(detectFormat(noisy.subarray(2))).toBe("libxl");
  });
});

// ---------------------------------------------------------------- decodeSaveFile

interface FileRow {
  name: string;
  bytes: Uint8Array;
  file: SaveFile;
  events: string[];
}

const fileRows: FileRow[] = [
  {
    name: "xl header + libxl stream",
    bytes: cat(XL_V2, LIBXL),
    file: { format: "libxl", xl: XL_V2_HEADER, stream: LIBXL_STREAM },
    // the libxl stream starts at 55, not 8-aligned
    events: [
      "xl 0 header",
      "libxl 55 header",
      "libxl 71 LIBXC_CONTEXT",
      "libxc 79 imageHeader",
      "libxc 103 domainHeader",
      "libxc 119 X86_PV_INFO",
      "libxc 135 END",
      "libxl 143 END",
    ],
  },
  {
    name: "big-endian xl header + libxl stream",
    bytes: cat(XL_BE, LIBXL),
    file: { format: "libxl", xl: XL_BE_HEADER, stream: LIBXL_STREAM },
    events: [
      "xl 0 header",
      "libxl 48 header",
      "libxl 64 LIBXC_CONTEXT",
      "libxc 72 imageHeader",
      "libxc 96 domainHeader",
      "libxc 112 X86_PV_INFO",
      "libxc 128 END",
      "libxl 136 END",
    ],
  },
  {
    name: "bare libxl stream",
    bytes: LIBXL,
    file: { format: "libxl", stream: LIBXL_STREAM },
    events: [
      "libxl 0 header",
      "libxl 16 LIBXC_CONTEXT",
      "libxc 24 imageHeader",
      "libxc 48 domainHeader",
      "libxc 64 X86_PV_INFO",
      "libxc 80 END",
      "libxl 88 END",
    ],
  },
  {
    name: "bare libxc stream",
    bytes: LIBXC,
    file: { format: "libxc", stream: LIBXC_STREAM },
    events: ["libxc 0 imageHeader", "libxc 24 domainHeader", "libxc 40 X86_PV_INFO", "libxc 56 END"],
  },
  {
    name: "xl header without STREAMv2 + bare libxc stream (format libxc with xl)",
    bytes: cat(XL_LEGACY, LIBXC),
    file: { format: "libxc", xl: XL_LEGACY_HEADER, stream: LIBXC_STREAM },
    events: ["xl 0 header", "libxc 55 imageHeader", "libxc 79 domainHeader", "libxc 95 X86_PV_INFO", "libxc 111 END"],
  },
  {
    name: "xl header + checkpointed libxl stream ending at a checkpoint boundary",
    bytes: cat(XL_V2, LIBXL_CHECKPOINTED),
    file: {
      format: "libxl",
      xl: XL_V2_HEADER,
      stream: {
        header: { version: 2, options: 0 },
        items: [
          { type: "LIBXC_CONTEXT" },
          {
            type: "LIBXC_STREAM",
            stream: {
              imageHeader: { version: 3, options: 0, reserved1: 0, reserved2: 0 },
              domainHeader: { type: 2, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 },
              records: [{ type: "CHECKPOINT" }],
            },
          },
          { type: "CHECKPOINT_END" },
        ],
      },
    },
    events: [
      "xl 0 header",
      "libxl 55 header",
      "libxl 71 LIBXC_CONTEXT",
      "libxc 79 imageHeader",
      "libxc 103 domainHeader",
      "libxc 119 CHECKPOINT",
      "libxl 127 CHECKPOINT_END",
    ],
  },
];

describe("decodeSaveFile / SaveFileDecoder / encodeSaveFile", () => {
  test.each(fileRows)("decode: $name", ({ bytes, file }) => {
    expect(decodeSaveFile(bytes)).toStrictEqual(file);
    expect(decodeSaveFile(bytes, { format: "auto" })).toStrictEqual(file);
  });

  test.each(fileRows)("events: $name", ({ bytes, events }) => {
    const decoder = new SaveFileDecoder();
    const got = decoder.push(bytes);
    decoder.end();
    expect(got.map(summary)).toStrictEqual(events);
  });

  test.each(fileRows)("events byte by byte equal one push: $name", ({ bytes }) => {
    const whole = new SaveFileDecoder();
    const expected = whole.push(bytes);
    whole.end();
    const decoder = new SaveFileDecoder();
    const got: SaveFileEvent[] = [];
    for (let i = 0; i < bytes.length; i++) got.push(...decoder.push(bytes.subarray(i, i + 1)));
    decoder.end();
    expect(got).toEqual(expected);
  });

  test.each(fileRows)("encode the hand value: $name", ({ bytes, file }) => {
    expect(encodeSaveFile(file)).toStrictEqual(bytes);
  });

  test.each(fileRows)("encode(decode(bytes)) round trip: $name", ({ bytes }) => {
    expect(encodeSaveFile(decodeSaveFile(bytes))).toStrictEqual(bytes);
  });

  test("the xl header event carries the header size", () => {
    const decoder = new SaveFileDecoder();
    const [first] = decoder.push(cat(XL_V2, LIBXL));
    expect(first).toStrictEqual({ layer: "xl", kind: "header", offset: 0, header: XL_V2_HEADER, size: 55 });
  });

  test("a start offset shifts every event", () => {
    const decoder = new SaveFileDecoder({}, 4096);
    const events = decoder.push(cat(XL_V2, LIBXL));
    decoder.end();
    expect(events.map((event) => event.offset)).toStrictEqual([0, 55, 71, 79, 103, 119, 135, 143].map((offset) => offset + 4096));
  });
});

// ---------------------------------------------------------------- legacy and errors

describe("legacy streams -> UNSUPPORTED", () => {
  test("xl header without STREAMv2 followed by legacy bytes", () => {
    const error = thrown(() => decodeSaveFile(cat(XL_LEGACY, LEGACY)));
    expect([error.code, error.offset, error.layer]).toStrictEqual(["UNSUPPORTED", 55, "legacy"]);
  });

  test("an xl header with no flags at all (Xen < 4.5) followed by legacy bytes", () => {
    const header = hex(`${MAGIC} | 04 03 02 01 | 00 00 00 00 | 00 00 00 00 | 00 00 00 00`);
    const error = thrown(() => decodeSaveFile(cat(header, LEGACY)));
    expect([error.code, error.offset, error.layer]).toStrictEqual(["UNSUPPORTED", 48, "legacy"]);
  });

  test("a bare legacy stream", () => {
    const error = thrown(() => decodeSaveFile(LEGACY));
    expect([error.code, error.offset, error.layer]).toStrictEqual(["UNSUPPORTED", 0, "legacy"]);
  });

  test("xl header without STREAMv2 followed by a libxl stream is not read as libxl", () => {
    const error = thrown(() => decodeSaveFile(cat(XL_LEGACY, LIBXL)));
    expect([error.code, error.offset]).toStrictEqual(["UNSUPPORTED", 55]);
  });
});

describe("errors", () => {
  test.each([
    { name: "empty", bytes: hex(""), code: "TRUNCATED", offset: 0 },
    { name: "5 bytes", bytes: hex("58 65 6E 20 73"), code: "TRUNCATED", offset: 5 },
    { name: "xl header cut at 30", bytes: XL_V2.subarray(0, 30), code: "TRUNCATED", offset: 30, layer: "xl" },
    { name: "xl optional data cut at 50", bytes: XL_V2.subarray(0, 50), code: "TRUNCATED", offset: 50, layer: "xl" },
    { name: "xl header alone (STREAMv2)", bytes: XL_V2, code: "TRUNCATED", offset: 55, layer: "libxl" },
    { name: "xl header alone (no STREAMv2)", bytes: XL_LEGACY, code: "TRUNCATED", offset: 55 },
    { name: "xl + libxl cut inside the nested libxc stream", bytes: cat(XL_V2, LIBXL).subarray(0, 120), code: "TRUNCATED", offset: 120, layer: "libxc" },
    { name: "xl + libxl without its END", bytes: cat(XL_V2, LIBXL).subarray(0, 143), code: "TRUNCATED", offset: 143, layer: "libxl" },
    { name: "bytes after the libxl END", bytes: cat(XL_V2, LIBXL, hex("00")), code: "TRAILING_DATA", offset: 151 },
    { name: "bytes after the libxc END", bytes: cat(LIBXC, hex("00 00 00 00 00 00 00 00")), code: "TRAILING_DATA", offset: 64 },
    {
      name: "xl magic wrong at byte 21 (detected as xl from its first 8 bytes)",
      bytes: cat(hex(MAGIC.replace("20 66 6F 72", "20 46 6F 72")), XL_V2.subarray(32), LIBXL),
      code: "BAD_MAGIC",
      offset: 21,
      layer: "xl",
    },
    { name: "xl header with STREAMv2 followed by a bare libxc stream", bytes: cat(XL_V2, LIBXC), code: "BAD_MAGIC", offset: 55, layer: "libxl" },
    {
      name: "xl header with a bad byteorder",
      bytes: cat(hex(`${MAGIC} | 04 03 02 00 | 03 00 00 00 | 00 00 00 00 | 00 00 00 00`), LIBXL),
      code: "BAD_FIELD",
      offset: 32,
      layer: "xl",
    },
    {
      name: "xl header with unknown mandatory flag 0x4",
      bytes: cat(hex(`${MAGIC} | 04 03 02 01 | 06 00 00 00 | 00 00 00 00 | 00 00 00 00`), LIBXL),
      code: "BAD_FIELD",
      offset: 36,
      layer: "xl",
    },
  ] as Array<{ name: string; bytes: Uint8Array; code: XenStreamError["code"]; offset: number; layer?: string }>)(
    "$name -> $code at $offset",
    ({ bytes, code, offset, layer }) => {
      const error = thrown(() => decodeSaveFile(bytes));
      expect([error.code, error.offset]).toStrictEqual([code, offset]);
      if (layer !== undefined) expect(error.layer).toBe(layer);
    },
  );

  test("optional_data_len above maxRecordLength -> RECORD_TOO_LARGE at 44 before the data arrives", () => {
    const header = hex(`${MAGIC} | 04 03 02 01 | 03 00 00 00 | 00 00 00 00 | 00 00 01 00`);
    const error = thrown(() => new SaveFileDecoder({ maxRecordLength: 0xffff }).push(header));
    expect([error.code, error.offset, error.layer]).toStrictEqual(["RECORD_TOO_LARGE", 44, "xl"]);
  });
});

// ---------------------------------------------------------------- the format option

describe("format option", () => {
  test.each([
    { format: "xl", bytes: cat(XL_V2, LIBXL), decoded: "libxl" },
    { format: "xl", bytes: cat(XL_LEGACY, LIBXC), decoded: "libxc" },
    { format: "libxl", bytes: LIBXL, decoded: "libxl" },
    { format: "libxc", bytes: LIBXC, decoded: "libxc" },
  ] as const)("forcing $format on a matching input decodes it ($decoded)", ({ format, bytes, decoded }) => {
    const file = decodeSaveFile(bytes, { format });
    expect(file.format).toBe(decoded);
    expect(file).toStrictEqual(decodeSaveFile(bytes));
  });

  test.each([
    { format: "libxl", name: "an xl file", bytes: cat(XL_V2, LIBXL), offset: 0 },
    { format: "libxl", name: "a libxc stream", bytes: LIBXC, offset: 0 },
    { format: "libxc", name: "an xl file", bytes: cat(XL_V2, LIBXL), offset: 0 },
    { format: "libxc", name: "a libxl stream", bytes: LIBXL, offset: 0 },
    { format: "libxc", name: "a legacy stream (BAD_MAGIC, not UNSUPPORTED)", bytes: LEGACY, offset: 0 },
    { format: "xl", name: "a libxl stream", bytes: LIBXL, offset: 0 },
    { format: "xl", name: "a libxc stream", bytes: LIBXC, offset: 0 },
    // "Xen save" and a byte differing at 8: auto would also read it as xl.
    { format: "xl", name: "a magic wrong at byte 8", bytes: cat(hex(MAGIC.replace("64 20 64", "44 20 64")), XL_V2.subarray(32), LIBXL), offset: 8 },
  ] as const)("forcing $format on $name -> BAD_MAGIC at $offset", ({ format, bytes, offset }) => {
    const error = thrown(() => decodeSaveFile(bytes, { format }));
    expect([error.code, error.offset]).toStrictEqual(["BAD_MAGIC", offset]);
  });

  test("forcing xl on a stream shorter than the header -> TRUNCATED", () => {
    const error = thrown(() => decodeSaveFile(hex("58 65 6E"), { format: "xl" }));
    expect([error.code, error.offset]).toStrictEqual(["TRUNCATED", 3]);
  });
});

// ---------------------------------------------------------------- encoder checks

describe("encodeSaveFile refuses a STREAMv2 flag that does not match the stream", () => {
  test.each([
    { name: "libxl stream, xl header without STREAMv2", file: { format: "libxl", xl: XL_LEGACY_HEADER, stream: LIBXL_STREAM } },
    { name: "libxl stream, xl header with no flags", file: { format: "libxl", xl: { ...XL_BE_HEADER, mandatoryFlags: 0 }, stream: LIBXL_STREAM } },
    { name: "libxc stream, xl header with STREAMv2", file: { format: "libxc", xl: XL_V2_HEADER, stream: LIBXC_STREAM } },
  ] as Array<{ name: string; file: SaveFile }>)("$name -> BAD_VALUE at 36", ({ file }) => {
    const error = thrown(() => encodeSaveFile(file));
    expect([error.code, error.offset, error.layer]).toStrictEqual(["BAD_VALUE", 36, "xl"]);
  });

  test("an unknown mandatory flag in the xl header -> BAD_VALUE", () => {
    const file: SaveFile = { format: "libxl", xl: { ...XL_V2_HEADER, mandatoryFlags: 6 }, stream: LIBXL_STREAM };
    expect(thrown(() => encodeSaveFile(file)).code).toBe("BAD_VALUE");
  });

  test("a record error is located at the absolute offset of its field in the file", () => {
    // In cat(XL_V2, LIBXL) the libxl END record sits at 143; put a CHECKPOINT_STATE
    // with an unencodable controlId there: its controlId field is at 143 + 8.
    const stream: LibxlStream = {
      ...LIBXL_STREAM,
      items: [...LIBXL_STREAM.items.slice(0, 2), { type: "CHECKPOINT_STATE", controlId: -1 }, { type: "END" }],
    };
    const error = thrown(() => encodeSaveFile({ format: "libxl", xl: XL_V2_HEADER, stream }));
    expect([error.code, error.offset]).toStrictEqual(["BAD_VALUE", 151]);
  });
});
