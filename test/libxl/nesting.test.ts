/**
 * How the libxc stream nests inside a libxl stream, and how checkpointed
 * (Remus / COLO) streams interleave the two layers (libxl-stream.md §5-7;
 * Xen libxl_stream_read.c, libxl_remus.c, libxl_colo_restore.c).
 *
 * The streams are assembled from hand-written record bytes; the offset of
 * each piece is written next to it and asserted through the events.
 */
import { describe, expect, test } from "vitest";
import {
  LibxlDecoder,
  XenStreamError,
  decodeLibxlEvents,
  decodeLibxlStream,
  encodeLibxlStream,
  type LibxcRecord,
  type LibxlEvent,
  type LibxlItem,
  type LibxlRecord,
  type LibxlStream,
} from "../../src/index.js";
import { cat, hex } from "../helpers/hex.js";
import { decodeSplit } from "../helpers/decode.js";
import { thrown } from "../helpers/errors.js";

// ---------------------------------------------------------------- helpers


/** Decodes `bytes` pushed in the given chunks. */
function pushChunks(bytes: Uint8Array, cuts: readonly number[]): LibxlEvent[] {
  return decodeSplit(() => new LibxlDecoder(), bytes, cuts);
}

/** A short summary of an event: layer, kind, offset and record type. */
function summary(event: LibxlEvent): string {
  return event.kind === "record"
    ? `${event.layer} ${event.offset} #${event.index} ${event.record.type} ${event.bodyLength}`
    : `${event.layer} ${event.offset} ${event.kind}`;
}

// ---------------------------------------------------------------- hand-written pieces (little-endian)

/** libxl header: "LibxlFmt", version 2, options 0. */
const LIBXL_HEADER = hex("4C 69 62 78 6C 46 6D 74 | 00 00 00 02 | 00 00 00 00");
/** libxl LIBXC_CONTEXT (0x01), empty. */
const LIBXC_CONTEXT = hex("01 00 00 00 00 00 00 00");
/** libxc image header: marker, "XENF", version 3, options 0, reserved. */
const IMAGE_HEADER = hex("FF FF FF FF FF FF FF FF | 58 45 4E 46 | 00 00 00 03 | 00 00 | 00 00 | 00 00 00 00");
/** libxc domain header: HVM (2), page_shift 12, reserved, Xen 4.17. */
const DOMAIN_HVM = hex("02 00 00 00 | 0C 00 | 00 00 | 04 00 00 00 | 11 00 00 00");
/** libxc domain header: PV (1), page_shift 12, reserved, Xen 4.17. */
const DOMAIN_PV = hex("01 00 00 00 | 0C 00 | 00 00 | 04 00 00 00 | 11 00 00 00");
/** libxc STATIC_DATA_END (0x10), empty. */
const STATIC_DATA_END = hex("10 00 00 00 00 00 00 00");
/** libxc PAGE_DATA (0x01): count 1, reserved 0, pfn 0x1XX with type XTAB (0xF, no data). 24 bytes. */
function pageData(pfnLow: string): Uint8Array {
  return hex(`01 00 00 00 10 00 00 00 | 01 00 00 00 00 00 00 00 | ${pfnLow} 01 00 00 00 00 00 F0`);
}
/** libxc X86_TSC_INFO (0x08): mode 0, khz 2000000 (0x1E8480), nsec 0, incarnation 1, reserved 0. 32 bytes. */
const TSC_INFO = hex(`08 00 00 00 18 00 00 00 | 00 00 00 00 | 80 84 1E 00 | 00 00 00 00 00 00 00 00 | 01 00 00 00 | 00 00 00 00`);
/** libxc HVM_CONTEXT (0x09): 5 bytes + 3 padding. 16 bytes. */
const HVM_CONTEXT = hex("09 00 00 00 05 00 00 00 | 01 02 03 04 05 | 00 00 00");
/** libxc HVM_PARAMS (0x0A): count 1, reserved 0, {index 1, value 0xFF000}. 32 bytes. */
const HVM_PARAMS = hex(`0A 00 00 00 18 00 00 00 | 01 00 00 00 00 00 00 00 |
  01 00 00 00 00 00 00 00 | 00 F0 0F 00 00 00 00 00`);
/** libxc X86_PV_INFO (0x02): width 8, levels 4. 16 bytes. */
const PV_INFO = hex("02 00 00 00 08 00 00 00 | 08 04 00 00 00 00 00 00");
/** libxc X86_PV_VCPU_EXTENDED (0x05): vcpu 1, reserved 0, 8 context bytes. 24 bytes. */
const PV_VCPU_EXTENDED = hex("05 00 00 00 10 00 00 00 | 01 00 00 00 00 00 00 00 | 11 22 33 44 55 66 77 88");
/** libxc CHECKPOINT (0x0E), empty. */
const CHECKPOINT = hex("0E 00 00 00 00 00 00 00");
/** libxc or libxl END, empty. */
const END = hex("00 00 00 00 00 00 00 00");
/** libxl EMULATOR_XENSTORE_DATA: emulator 2, index 0, "a\0" "1\0". 24 bytes. */
const XENSTORE_DATA = hex("02 00 00 00 0C 00 00 00 | 02 00 00 00 00 00 00 00 | 61 00 31 00 | 00 00 00 00");
/** libxl EMULATOR_CONTEXT: emulator 2, index 0, "QEVM". 24 bytes. */
const EMULATOR_CONTEXT = hex("03 00 00 00 0C 00 00 00 | 02 00 00 00 00 00 00 00 | 51 45 56 4D | 00 00 00 00");
/** libxl CHECKPOINT_END (0x04), empty. */
const CHECKPOINT_END = hex("04 00 00 00 00 00 00 00");
/** libxl CHECKPOINT_STATE (0x05) CHECKPOINT_NEW as libxl writes it: body_length 4 + 4 padding. 16 bytes. */
const CHECKPOINT_STATE_NEW = hex("05 00 00 00 04 00 00 00 | 00 00 00 00 | 00 00 00 00");

// ---------------------------------------------------------------- the values of those pieces

const imageHeader = { version: 3, options: 0, reserved1: 0, reserved2: 0 };
const domainHvm = { type: 2, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 };
const domainPv = { type: 1, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 };
const staticDataEnd: LibxcRecord = { type: "STATIC_DATA_END" };
const pageDataValue = (pfn: number): LibxcRecord => ({
  type: "PAGE_DATA",
  reserved: 0,
  entries: [{ pfn, type: 0xf, reserved: 0 }],
  pages: new Uint8Array(0),
});
const tscInfo: LibxcRecord = { type: "X86_TSC_INFO", mode: 0, khz: 2_000_000, nsec: 0n, incarnation: 1, reserved: 0 };
const hvmContext: LibxcRecord = { type: "HVM_CONTEXT", data: hex("01 02 03 04 05") };
const hvmParams: LibxcRecord = { type: "HVM_PARAMS", reserved: 0, params: [{ index: 1n, value: 0xff000n }] };
const pvInfo: LibxcRecord = { type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: hex("00 00 00 00 00 00") };
const pvVcpuExtended: LibxcRecord = { type: "X86_PV_VCPU_EXTENDED", vcpuId: 1, reserved: 0, context: hex("11 22 33 44 55 66 77 88") };
const checkpoint: LibxcRecord = { type: "CHECKPOINT" };
const libxcEnd: LibxcRecord = { type: "END" };
const xenstoreData: LibxlRecord = { type: "EMULATOR_XENSTORE_DATA", emulatorId: 2, index: 0, entries: [[hex("61"), hex("31")]] };
const emulatorContext: LibxlRecord = { type: "EMULATOR_CONTEXT", emulatorId: 2, index: 0, data: hex("51 45 56 4D") };
const checkpointEnd: LibxlRecord = { type: "CHECKPOINT_END" };
const checkpointStateNew: LibxlRecord = { type: "CHECKPOINT_STATE", controlId: 0 };
const libxlEnd: LibxlRecord = { type: "END" };

const libxlRecordEvent = (offset: number, index: number, bodyLength: number, record: LibxlRecord): LibxlEvent => ({
  layer: "libxl",
  kind: "record",
  offset,
  index,
  bodyLength,
  record,
});
const libxcRecordEvent = (offset: number, index: number, bodyLength: number, record: LibxcRecord): LibxlEvent => ({
  layer: "libxc",
  kind: "record",
  offset,
  index,
  bodyLength,
  record,
});

// ---------------------------------------------------------------- plain stream (xl save of an HVM guest)

// offset  piece                       layer  index
//      0  libxl header (16)
//     16  LIBXC_CONTEXT                libxl  0
//     24  libxc image header (24)
//     48  libxc domain header (16)
//     64  STATIC_DATA_END              libxc  0
//     72  PAGE_DATA pfn 0x123 (24)     libxc  1
//     96  X86_TSC_INFO (32)            libxc  2
//    128  HVM_CONTEXT (16)             libxc  3
//    144  HVM_PARAMS (32)              libxc  4
//    176  END                          libxc  5
//    184  EMULATOR_XENSTORE_DATA (24)  libxl  1
//    208  EMULATOR_CONTEXT (24)        libxl  2
//    232  END                          libxl  3
//    240  (end)
const PLAIN = cat(
  LIBXL_HEADER,
  LIBXC_CONTEXT,
  IMAGE_HEADER,
  DOMAIN_HVM,
  STATIC_DATA_END,
  pageData("23"),
  TSC_INFO,
  HVM_CONTEXT,
  HVM_PARAMS,
  END,
  XENSTORE_DATA,
  EMULATOR_CONTEXT,
  END,
);

const PLAIN_EVENTS: LibxlEvent[] = [
  { layer: "libxl", kind: "header", offset: 0, header: { version: 2, options: 0 } },
  libxlRecordEvent(16, 0, 0, { type: "LIBXC_CONTEXT" }),
  { layer: "libxc", kind: "imageHeader", offset: 24, header: imageHeader },
  { layer: "libxc", kind: "domainHeader", offset: 48, header: domainHvm },
  libxcRecordEvent(64, 0, 0, staticDataEnd),
  libxcRecordEvent(72, 1, 16, pageDataValue(0x123)),
  libxcRecordEvent(96, 2, 24, tscInfo),
  libxcRecordEvent(128, 3, 5, hvmContext),
  libxcRecordEvent(144, 4, 24, hvmParams),
  libxcRecordEvent(176, 5, 0, libxcEnd),
  libxlRecordEvent(184, 1, 12, xenstoreData),
  libxlRecordEvent(208, 2, 12, emulatorContext),
  libxlRecordEvent(232, 3, 0, libxlEnd),
];

const PLAIN_STREAM: LibxlStream = {
  header: { version: 2, options: 0 },
  items: [
    { type: "LIBXC_CONTEXT" },
    {
      type: "LIBXC_STREAM",
      stream: {
        imageHeader,
        domainHeader: domainHvm,
        records: [staticDataEnd, pageDataValue(0x123), tscInfo, hvmContext, hvmParams, libxcEnd],
      },
    },
    xenstoreData,
    emulatorContext,
    libxlEnd,
  ],
};

describe("plain stream: header, LIBXC_CONTEXT, libxc ... END, emulator records, END", () => {
  test("is 240 bytes", () => {
    expect(PLAIN.length).toBe(240);
  });

  test("events in order, each with its layer and absolute offset", () => {
    expect(decodeLibxlEvents(PLAIN)).toStrictEqual(PLAIN_EVENTS);
  });

  test("events at a start offset are shifted by it", () => {
    const decoder = new LibxlDecoder({}, 1000);
    const events = decoder.push(PLAIN);
    decoder.end();
    expect(events.map((event) => event.offset)).toStrictEqual(PLAIN_EVENTS.map((event) => event.offset + 1000));
  });

  test("decodeLibxlStream: LIBXC_STREAM part right after LIBXC_CONTEXT", () => {
    expect(decodeLibxlStream(PLAIN)).toStrictEqual(PLAIN_STREAM);
  });

  test("encodeLibxlStream of the hand value gives the hand bytes", () => {
    expect(encodeLibxlStream(PLAIN_STREAM)).toStrictEqual(PLAIN);
  });

  test("encode(decode(bytes)) is byte for byte", () => {
    expect(encodeLibxlStream(decodeLibxlStream(PLAIN))).toStrictEqual(PLAIN);
  });

  test("a PV stream gets no emulator records", () => {
    // header | LIBXC_CONTEXT | headers (PV) | X86_PV_INFO | STATIC_DATA_END | END | END
    const bytes = cat(LIBXL_HEADER, LIBXC_CONTEXT, IMAGE_HEADER, DOMAIN_PV, PV_INFO, STATIC_DATA_END, END, END);
    expect(decodeLibxlEvents(bytes).map(summary)).toStrictEqual([
      "libxl 0 header",
      "libxl 16 #0 LIBXC_CONTEXT 0",
      "libxc 24 imageHeader",
      "libxc 48 domainHeader",
      "libxc 64 #0 X86_PV_INFO 8",
      "libxc 80 #1 STATIC_DATA_END 0",
      "libxc 88 #2 END 0",
      "libxl 96 #1 END 0",
    ]);
    const stream = decodeLibxlStream(bytes);
    expect(stream.items).toStrictEqual([
      { type: "LIBXC_CONTEXT" },
      { type: "LIBXC_STREAM", stream: { imageHeader, domainHeader: domainPv, records: [pvInfo, staticDataEnd, libxcEnd] } },
      libxlEnd,
    ]);
    expect(encodeLibxlStream(stream)).toStrictEqual(bytes);
  });
});

// ---------------------------------------------------------------- Remus: three libxc parts

// offset  piece                       layer  index
//      0  libxl header
//     16  LIBXC_CONTEXT                libxl  0
//     24  libxc image header
//     48  libxc domain header (HVM)
//     64  STATIC_DATA_END              libxc  0
//     72  PAGE_DATA pfn 0x123          libxc  1
//     96  HVM_CONTEXT                  libxc  2
//    112  HVM_PARAMS                   libxc  3
//    144  CHECKPOINT                   libxc  4    -> libxl reads the checkpoint
//    152  EMULATOR_XENSTORE_DATA       libxl  1
//    176  EMULATOR_CONTEXT             libxl  2
//    200  CHECKPOINT_END               libxl  3    -> libxc resumes, no headers
//    208  PAGE_DATA pfn 0x124          libxc  5
//    232  HVM_CONTEXT                  libxc  6
//    248  HVM_PARAMS                   libxc  7
//    280  CHECKPOINT                   libxc  8
//    288  EMULATOR_CONTEXT             libxl  4
//    312  CHECKPOINT_END               libxl  5
//    320  PAGE_DATA pfn 0x125          libxc  9
//    344  HVM_CONTEXT                  libxc 10
//    360  HVM_PARAMS                   libxc 11
//    392  CHECKPOINT                   libxc 12
//    400  EMULATOR_CONTEXT             libxl  6
//    424  CHECKPOINT_END               libxl  7
//    432  (end: no END is ever written)
const REMUS = cat(
  LIBXL_HEADER,
  LIBXC_CONTEXT,
  IMAGE_HEADER,
  DOMAIN_HVM,
  STATIC_DATA_END,
  pageData("23"),
  HVM_CONTEXT,
  HVM_PARAMS,
  CHECKPOINT,
  XENSTORE_DATA,
  EMULATOR_CONTEXT,
  CHECKPOINT_END,
  pageData("24"),
  HVM_CONTEXT,
  HVM_PARAMS,
  CHECKPOINT,
  EMULATOR_CONTEXT,
  CHECKPOINT_END,
  pageData("25"),
  HVM_CONTEXT,
  HVM_PARAMS,
  CHECKPOINT,
  EMULATOR_CONTEXT,
  CHECKPOINT_END,
);

const REMUS_EVENTS: LibxlEvent[] = [
  { layer: "libxl", kind: "header", offset: 0, header: { version: 2, options: 0 } },
  libxlRecordEvent(16, 0, 0, { type: "LIBXC_CONTEXT" }),
  { layer: "libxc", kind: "imageHeader", offset: 24, header: imageHeader },
  { layer: "libxc", kind: "domainHeader", offset: 48, header: domainHvm },
  libxcRecordEvent(64, 0, 0, staticDataEnd),
  libxcRecordEvent(72, 1, 16, pageDataValue(0x123)),
  libxcRecordEvent(96, 2, 5, hvmContext),
  libxcRecordEvent(112, 3, 24, hvmParams),
  libxcRecordEvent(144, 4, 0, checkpoint),
  libxlRecordEvent(152, 1, 12, xenstoreData),
  libxlRecordEvent(176, 2, 12, emulatorContext),
  libxlRecordEvent(200, 3, 0, checkpointEnd),
  libxcRecordEvent(208, 5, 16, pageDataValue(0x124)),
  libxcRecordEvent(232, 6, 5, hvmContext),
  libxcRecordEvent(248, 7, 24, hvmParams),
  libxcRecordEvent(280, 8, 0, checkpoint),
  libxlRecordEvent(288, 4, 12, emulatorContext),
  libxlRecordEvent(312, 5, 0, checkpointEnd),
  libxcRecordEvent(320, 9, 16, pageDataValue(0x125)),
  libxcRecordEvent(344, 10, 5, hvmContext),
  libxcRecordEvent(360, 11, 24, hvmParams),
  libxcRecordEvent(392, 12, 0, checkpoint),
  libxlRecordEvent(400, 6, 12, emulatorContext),
  libxlRecordEvent(424, 7, 0, checkpointEnd),
];

const REMUS_STREAM: LibxlStream = {
  header: { version: 2, options: 0 },
  items: [
    { type: "LIBXC_CONTEXT" },
    {
      type: "LIBXC_STREAM",
      stream: {
        imageHeader,
        domainHeader: domainHvm,
        records: [staticDataEnd, pageDataValue(0x123), hvmContext, hvmParams, checkpoint],
      },
    },
    xenstoreData,
    emulatorContext,
    checkpointEnd,
    { type: "LIBXC_RESUME", records: [pageDataValue(0x124), hvmContext, hvmParams, checkpoint] },
    emulatorContext,
    checkpointEnd,
    { type: "LIBXC_RESUME", records: [pageDataValue(0x125), hvmContext, hvmParams, checkpoint] },
    emulatorContext,
    checkpointEnd,
  ],
};

describe("Remus stream with three libxc parts", () => {
  test("is 432 bytes", () => {
    expect(REMUS.length).toBe(432);
  });

  test("events: libxc stops at each CHECKPOINT, libxl reads to CHECKPOINT_END, libxc resumes with no headers", () => {
    expect(decodeLibxlEvents(REMUS)).toStrictEqual(REMUS_EVENTS);
  });

  test("decodes to LIBXC_STREAM + two LIBXC_RESUME parts", () => {
    expect(decodeLibxlStream(REMUS)).toStrictEqual(REMUS_STREAM);
  });

  test("encodes the hand value to the hand bytes", () => {
    expect(encodeLibxlStream(REMUS_STREAM)).toStrictEqual(REMUS);
  });

  test("round-trips byte for byte", () => {
    expect(encodeLibxlStream(decodeLibxlStream(REMUS))).toStrictEqual(REMUS);
  });

  // The stream may stop at a checkpoint boundary (right after CHECKPOINT_END),
  // nowhere else: not between CHECKPOINT and CHECKPOINT_END (libxl is
  // buffering), not inside a libxc part, not inside a record.
  const boundaries = new Set([208, 320, 432]);
  test("end() succeeds exactly at the checkpoint boundaries 208, 320, 432", () => {
    for (let length = 0; length <= REMUS.length; length++) {
      const bytes = REMUS.subarray(0, length);
      if (boundaries.has(length)) {
        expect(() => decodeLibxlEvents(bytes), `length ${length}`).not.toThrow();
      } else {
        const error = thrown(() => decodeLibxlEvents(bytes));
        expect([error.code, error.offset], `length ${length}`).toStrictEqual(["TRUNCATED", length]);
      }
    }
  });

  test("a stream cut at the first boundary decodes to its first checkpoint", () => {
    expect(decodeLibxlStream(REMUS.subarray(0, 208))).toStrictEqual({
      header: REMUS_STREAM.header,
      items: REMUS_STREAM.items.slice(0, 5),
    });
    expect(decodeLibxlStream(REMUS.subarray(0, 320)).items).toStrictEqual(REMUS_STREAM.items.slice(0, 8));
  });

  test.each([
    { length: 152, layer: "libxl", what: "right after CHECKPOINT (libxl buffering)" },
    { length: 400, layer: "libxl", what: "right after the third CHECKPOINT" },
    { length: 424, layer: "libxl", what: "after EMULATOR_CONTEXT, before CHECKPOINT_END" },
    { length: 344, layer: "libxc", what: "inside a resumed libxc part" },
    { length: 100, layer: "libxc", what: "inside a libxc record of the first part" },
  ])("cut $what ($length) -> TRUNCATED at $length, layer $layer", ({ length, layer }) => {
    const error = thrown(() => decodeLibxlEvents(REMUS.subarray(0, length)));
    expect([error.code, error.offset, error.layer]).toStrictEqual(["TRUNCATED", length, layer]);
  });

  test("a checkpointed stream may still finish with libxc END and libxl END", () => {
    // ... CHECKPOINT_END (first checkpoint) | libxc END | libxl END
    const bytes = cat(REMUS.subarray(0, 208), END, END);
    const events = decodeLibxlEvents(bytes);
    expect(events.slice(-2)).toStrictEqual([libxcRecordEvent(208, 5, 0, libxcEnd), libxlRecordEvent(216, 4, 0, libxlEnd)]);
    const stream = decodeLibxlStream(bytes);
    expect(stream.items.slice(-2)).toStrictEqual([{ type: "LIBXC_RESUME", records: [libxcEnd] }, libxlEnd]);
    expect(encodeLibxlStream(stream)).toStrictEqual(bytes);
  });
});

// ---------------------------------------------------------------- COLO (HVM): CHECKPOINT_STATE after CHECKPOINT_END

// offset  piece                       layer  index
//      0  libxl header
//     16  LIBXC_CONTEXT                libxl  0
//     24  libxc image header
//     48  libxc domain header (HVM)
//     64  STATIC_DATA_END              libxc  0
//     72  PAGE_DATA pfn 0x123          libxc  1
//     96  HVM_CONTEXT                  libxc  2
//    112  HVM_PARAMS                   libxc  3
//    144  CHECKPOINT                   libxc  4
//    152  EMULATOR_CONTEXT             libxl  1
//    176  CHECKPOINT_END               libxl  2
//    184  CHECKPOINT_STATE NEW (16)    libxl  3
//    200  PAGE_DATA pfn 0x124          libxc  5
//    224  HVM_CONTEXT                  libxc  6
//    240  HVM_PARAMS                   libxc  7
//    272  CHECKPOINT                   libxc  8
//    280  EMULATOR_XENSTORE_DATA       libxl  4
//    304  EMULATOR_CONTEXT             libxl  5
//    328  CHECKPOINT_END               libxl  6
//    336  CHECKPOINT_STATE NEW         libxl  7
//    352  (end)
const COLO = cat(
  LIBXL_HEADER,
  LIBXC_CONTEXT,
  IMAGE_HEADER,
  DOMAIN_HVM,
  STATIC_DATA_END,
  pageData("23"),
  HVM_CONTEXT,
  HVM_PARAMS,
  CHECKPOINT,
  EMULATOR_CONTEXT,
  CHECKPOINT_END,
  CHECKPOINT_STATE_NEW,
  pageData("24"),
  HVM_CONTEXT,
  HVM_PARAMS,
  CHECKPOINT,
  XENSTORE_DATA,
  EMULATOR_CONTEXT,
  CHECKPOINT_END,
  CHECKPOINT_STATE_NEW,
);

const COLO_STREAM: LibxlStream = {
  header: { version: 2, options: 0 },
  items: [
    { type: "LIBXC_CONTEXT" },
    {
      type: "LIBXC_STREAM",
      stream: {
        imageHeader,
        domainHeader: domainHvm,
        records: [staticDataEnd, pageDataValue(0x123), hvmContext, hvmParams, checkpoint],
      },
    },
    emulatorContext,
    checkpointEnd,
    checkpointStateNew,
    { type: "LIBXC_RESUME", records: [pageDataValue(0x124), hvmContext, hvmParams, checkpoint] },
    xenstoreData,
    emulatorContext,
    checkpointEnd,
    checkpointStateNew,
  ],
};

describe("COLO stream (HVM)", () => {
  test("events", () => {
    expect(decodeLibxlEvents(COLO).map(summary)).toStrictEqual([
      "libxl 0 header",
      "libxl 16 #0 LIBXC_CONTEXT 0",
      "libxc 24 imageHeader",
      "libxc 48 domainHeader",
      "libxc 64 #0 STATIC_DATA_END 0",
      "libxc 72 #1 PAGE_DATA 16",
      "libxc 96 #2 HVM_CONTEXT 5",
      "libxc 112 #3 HVM_PARAMS 24",
      "libxc 144 #4 CHECKPOINT 0",
      "libxl 152 #1 EMULATOR_CONTEXT 12",
      "libxl 176 #2 CHECKPOINT_END 0",
      "libxl 184 #3 CHECKPOINT_STATE 4",
      "libxc 200 #5 PAGE_DATA 16",
      "libxc 224 #6 HVM_CONTEXT 5",
      "libxc 240 #7 HVM_PARAMS 24",
      "libxc 272 #8 CHECKPOINT 0",
      "libxl 280 #4 EMULATOR_XENSTORE_DATA 12",
      "libxl 304 #5 EMULATOR_CONTEXT 12",
      "libxl 328 #6 CHECKPOINT_END 0",
      "libxl 336 #7 CHECKPOINT_STATE 4",
    ]);
  });

  test("decodes with CHECKPOINT_STATE items after CHECKPOINT_END", () => {
    expect(decodeLibxlStream(COLO)).toStrictEqual(COLO_STREAM);
  });

  test("encodes the hand value to the hand bytes, and round-trips", () => {
    expect(encodeLibxlStream(COLO_STREAM)).toStrictEqual(COLO);
    expect(encodeLibxlStream(decodeLibxlStream(COLO))).toStrictEqual(COLO);
  });

  test("may end after CHECKPOINT_END or after CHECKPOINT_STATE, not before CHECKPOINT_END", () => {
    for (const length of [184, 200, 336, 352]) {
      expect(() => decodeLibxlEvents(COLO.subarray(0, length)), `length ${length}`).not.toThrow();
    }
    for (const length of [152, 176, 192, 280, 328, 344]) {
      const error = thrown(() => decodeLibxlEvents(COLO.subarray(0, length)));
      expect([error.code, error.offset], `length ${length}`).toStrictEqual(["TRUNCATED", length]);
    }
  });

  test("HVM: a type-5 record after CHECKPOINT_END with the spec's 8-byte body is CHECKPOINT_STATE", () => {
    const bytes = cat(COLO.subarray(0, 184), hex("05 00 00 00 08 00 00 00 | 02 00 00 00 | 00 00 00 00"));
    expect(decodeLibxlEvents(bytes).at(-1)).toStrictEqual(
      libxlRecordEvent(184, 3, 8, { type: "CHECKPOINT_STATE", controlId: 2, extra: hex("00 00 00 00") }),
    );
  });
});

// ---------------------------------------------------------------- PV checkpoints: record type 5 is ambiguous

describe("PV checkpointed stream: type 5 after CHECKPOINT_END", () => {
  // offset  piece                              layer  index
  //      0  libxl header
  //     16  LIBXC_CONTEXT                       libxl  0
  //     24  image header, 48 domain header (PV)
  //     64  X86_PV_INFO (16)                    libxc  0
  //     80  STATIC_DATA_END                     libxc  1
  //     88  CHECKPOINT                          libxc  2
  //     96  CHECKPOINT_END                      libxl  1   (PV: no emulator records)
  //    104  X86_PV_VCPU_EXTENDED, body 16 (24)  libxc  3   (type 5, body >= 8: libxc)
  //    128  CHECKPOINT                          libxc  4
  //    136  CHECKPOINT_END                      libxl  2
  //    144  CHECKPOINT_STATE, body 4 (16)       libxl  3   (type 5, body < 8: libxl)
  //    160  (end)
  const bytes = cat(
    LIBXL_HEADER,
    LIBXC_CONTEXT,
    IMAGE_HEADER,
    DOMAIN_PV,
    PV_INFO,
    STATIC_DATA_END,
    CHECKPOINT,
    CHECKPOINT_END,
    PV_VCPU_EXTENDED,
    CHECKPOINT,
    CHECKPOINT_END,
    CHECKPOINT_STATE_NEW,
  );

  test("a body of 8+ bytes resumes libxc, a 4-byte body is libxl CHECKPOINT_STATE", () => {
    expect(decodeLibxlEvents(bytes).map(summary)).toStrictEqual([
      "libxl 0 header",
      "libxl 16 #0 LIBXC_CONTEXT 0",
      "libxc 24 imageHeader",
      "libxc 48 domainHeader",
      "libxc 64 #0 X86_PV_INFO 8",
      "libxc 80 #1 STATIC_DATA_END 0",
      "libxc 88 #2 CHECKPOINT 0",
      "libxl 96 #1 CHECKPOINT_END 0",
      "libxc 104 #3 X86_PV_VCPU_EXTENDED 16",
      "libxc 128 #4 CHECKPOINT 0",
      "libxl 136 #2 CHECKPOINT_END 0",
      "libxl 144 #3 CHECKPOINT_STATE 4",
    ]);
    const stream = decodeLibxlStream(bytes);
    expect(stream.items).toStrictEqual([
      { type: "LIBXC_CONTEXT" },
      { type: "LIBXC_STREAM", stream: { imageHeader, domainHeader: domainPv, records: [pvInfo, staticDataEnd, checkpoint] } },
      checkpointEnd,
      { type: "LIBXC_RESUME", records: [pvVcpuExtended, checkpoint] },
      checkpointEnd,
      checkpointStateNew,
    ]);
    expect(encodeLibxlStream(stream)).toStrictEqual(bytes);
  });
});

// ---------------------------------------------------------------- byte order per layer

describe.each([
  { libxl: "le", libxc: "be" },
  { libxl: "be", libxc: "le" },
  { libxl: "be", libxc: "be" },
] as const)("libxl $libxl, nested libxc $libxc: each layer uses its own header's byte order", ({ libxl, libxc }) => {
  const pieces = {
    libxlHeader: { le: "4C 69 62 78 6C 46 6D 74 00 00 00 02 00 00 00 00", be: "4C 69 62 78 6C 46 6D 74 00 00 00 02 00 00 00 01" },
    libxcContext: { le: "01 00 00 00 00 00 00 00", be: "00 00 00 01 00 00 00 00" },
    imageHeader: {
      le: "FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03 00 00 00 00 00 00 00 00",
      be: "FF FF FF FF FF FF FF FF 58 45 4E 46 00 00 00 03 00 01 00 00 00 00 00 00",
    },
    domainHeader: { le: "02 00 00 00 0C 00 00 00 04 00 00 00 11 00 00 00", be: "00 00 00 02 00 0C 00 00 00 00 00 04 00 00 00 11" },
    hvmContext: { le: "09 00 00 00 05 00 00 00 01 02 03 04 05 00 00 00", be: "00 00 00 09 00 00 00 05 01 02 03 04 05 00 00 00" },
    checkpoint: { le: "0E 00 00 00 00 00 00 00", be: "00 00 00 0E 00 00 00 00" },
    emulatorContext: {
      le: "03 00 00 00 0C 00 00 00 02 00 00 00 00 00 00 00 51 45 56 4D 00 00 00 00",
      be: "00 00 00 03 00 00 00 0C 00 00 00 02 00 00 00 00 51 45 56 4D 00 00 00 00",
    },
    checkpointEnd: { le: "04 00 00 00 00 00 00 00", be: "00 00 00 04 00 00 00 00" },
    checkpointState: { le: "05 00 00 00 04 00 00 00 00 00 00 00 00 00 00 00", be: "00 00 00 05 00 00 00 04 00 00 00 00 00 00 00 00" },
  };
  // 0 header | 16 LIBXC_CONTEXT | 24 image | 48 domain | 64 HVM_CONTEXT | 80 CHECKPOINT
  // | 88 EMULATOR_CONTEXT | 112 CHECKPOINT_END | 120 CHECKPOINT_STATE | 136 HVM_CONTEXT
  // | 152 CHECKPOINT | 160 CHECKPOINT_END | 168
  const bytes = hex(
    [
      pieces.libxlHeader[libxl],
      pieces.libxcContext[libxl],
      pieces.imageHeader[libxc],
      pieces.domainHeader[libxc],
      pieces.hvmContext[libxc],
      pieces.checkpoint[libxc],
      pieces.emulatorContext[libxl],
      pieces.checkpointEnd[libxl],
      pieces.checkpointState[libxl],
      pieces.hvmContext[libxc],
      pieces.checkpoint[libxc],
      pieces.checkpointEnd[libxl],
    ].join(" "),
  );
  const stream: LibxlStream = {
    header: { version: 2, options: libxl === "be" ? 1 : 0 },
    items: [
      { type: "LIBXC_CONTEXT" },
      {
        type: "LIBXC_STREAM",
        stream: {
          imageHeader: { ...imageHeader, options: libxc === "be" ? 1 : 0 },
          domainHeader: domainHvm,
          records: [hvmContext, checkpoint],
        },
      },
      emulatorContext,
      checkpointEnd,
      checkpointStateNew,
      { type: "LIBXC_RESUME", records: [hvmContext, checkpoint] },
      checkpointEnd,
    ],
  };

  test("decode", () => {
    expect(decodeLibxlEvents(bytes).map(summary)).toStrictEqual([
      "libxl 0 header",
      "libxl 16 #0 LIBXC_CONTEXT 0",
      "libxc 24 imageHeader",
      "libxc 48 domainHeader",
      "libxc 64 #0 HVM_CONTEXT 5",
      "libxc 80 #1 CHECKPOINT 0",
      "libxl 88 #1 EMULATOR_CONTEXT 12",
      "libxl 112 #2 CHECKPOINT_END 0",
      "libxl 120 #3 CHECKPOINT_STATE 4",
      "libxc 136 #2 HVM_CONTEXT 5",
      "libxc 152 #3 CHECKPOINT 0",
      "libxl 160 #4 CHECKPOINT_END 0",
    ]);
    expect(decodeLibxlStream(bytes)).toStrictEqual(stream);
  });

  test("encode", () => {
    expect(encodeLibxlStream(stream)).toStrictEqual(bytes);
  });
});

// ---------------------------------------------------------------- errors

describe("records out of place -> UNEXPECTED_RECORD at the record offset", () => {
  const rows: Array<{ name: string; bytes: Uint8Array; offset: number; recordIndex: number }> = [
    { name: "CHECKPOINT_END right after the header", bytes: cat(LIBXL_HEADER, CHECKPOINT_END), offset: 16, recordIndex: 0 },
    {
      name: "CHECKPOINT_END after a plain libxc END (no libxc CHECKPOINT)",
      bytes: cat(PLAIN.subarray(0, 184), CHECKPOINT_END),
      offset: 184,
      recordIndex: 1,
    },
    { name: "CHECKPOINT_END instead of the final END", bytes: cat(PLAIN.subarray(0, 232), CHECKPOINT_END), offset: 232, recordIndex: 3 },
    { name: "END inside a checkpoint (before CHECKPOINT_END)", bytes: cat(REMUS.subarray(0, 152), END), offset: 152, recordIndex: 1 },
    {
      name: "END inside a checkpoint, after its emulator records",
      bytes: cat(REMUS.subarray(0, 200), END),
      offset: 200,
      recordIndex: 3,
    },
    {
      name: "CHECKPOINT_STATE inside a checkpoint, before CHECKPOINT_END",
      bytes: cat(REMUS.subarray(0, 152), CHECKPOINT_STATE_NEW),
      offset: 152,
      recordIndex: 1,
    },
    {
      name: "CHECKPOINT_STATE outside any checkpoint",
      bytes: cat(PLAIN.subarray(0, 232), CHECKPOINT_STATE_NEW),
      offset: 232,
      recordIndex: 3,
    },
    { name: "CHECKPOINT_STATE right after the header", bytes: cat(LIBXL_HEADER, CHECKPOINT_STATE_NEW), offset: 16, recordIndex: 0 },
    { name: "LIBXC_CONTEXT inside a checkpoint", bytes: cat(REMUS.subarray(0, 152), LIBXC_CONTEXT), offset: 152, recordIndex: 1 },
  ];

  test.each(rows)("$name", ({ bytes, offset, recordIndex }) => {
    const error = thrown(() => new LibxlDecoder().push(bytes));
    expect([error.code, error.offset, error.recordIndex, error.layer]).toStrictEqual([
      "UNEXPECTED_RECORD",
      offset,
      recordIndex,
      "libxl",
    ]);
    // Byte by byte, the same error.
    const decoder = new LibxlDecoder();
    const byByte = thrown(() => {
      for (let i = 0; i < bytes.length; i++) decoder.push(bytes.subarray(i, i + 1));
    });
    expect([byByte.code, byByte.offset]).toStrictEqual(["UNEXPECTED_RECORD", offset]);
  });
});

describe("trailing bytes after END -> TRAILING_DATA", () => {
  test.each([1, 7, 8, 24])("%i trailing bytes in the same push", (count) => {
    const error = thrown(() => new LibxlDecoder().push(cat(PLAIN, new Uint8Array(count))));
    expect([error.code, error.offset]).toStrictEqual(["TRAILING_DATA", 240]);
  });

  test("a trailing byte in a later push", () => {
    const decoder = new LibxlDecoder();
    expect(decoder.push(PLAIN)).toHaveLength(PLAIN_EVENTS.length);
    const error = thrown(() => decoder.push(hex("00")));
    expect([error.code, error.offset]).toStrictEqual(["TRAILING_DATA", 240]);
  });

  test("a whole second stream after END", () => {
    const error = thrown(() => decodeLibxlStream(cat(PLAIN, PLAIN)));
    expect([error.code, error.offset]).toStrictEqual(["TRAILING_DATA", 240]);
  });
});

describe("truncation -> TRUNCATED at the number of bytes received", () => {
  test("every cut of the plain stream", () => {
    for (let length = 0; length < PLAIN.length; length++) {
      const error = thrown(() => decodeLibxlEvents(PLAIN.subarray(0, length)));
      // The nested libxc stream owns the bytes from after LIBXC_CONTEXT (24)
      // up to its END (ends at 184).
      const layer = length >= 24 && length < 184 ? "libxc" : "libxl";
      expect([error.code, error.offset, error.layer], `length ${length}`).toStrictEqual(["TRUNCATED", length, layer]);
    }
  });

  test.each([
    { length: 24, what: "right after LIBXC_CONTEXT" },
    { length: 40, what: "inside the libxc image header" },
    { length: 64, what: "after the libxc domain header" },
    { length: 100, what: "inside X86_TSC_INFO" },
    { length: 176, what: "before the libxc END" },
    { length: 183, what: "inside the libxc END" },
  ])("inside the nested libxc stream: $what ($length)", ({ length }) => {
    const decoder = new LibxlDecoder();
    decoder.push(PLAIN.subarray(0, length));
    const error = thrown(() => decoder.end());
    expect([error.code, error.offset, error.layer]).toStrictEqual(["TRUNCATED", length, "libxc"]);
  });
});

// ---------------------------------------------------------------- splits

describe.each([
  { name: "plain", bytes: PLAIN, libxc: [24, 184] },
  { name: "Remus", bytes: REMUS, libxc: [24, 152] },
  { name: "COLO", bytes: COLO, libxc: [24, 152] },
])("$name stream pushed in pieces gives the same events as one push", ({ bytes, libxc }) => {
  const whole = decodeLibxlEvents(bytes);

  test("one byte at a time", () => {
    const cuts = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    expect(pushChunks(bytes, cuts)).toEqual(whole);
  });

  test("two pieces, at every split point", () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(pushChunks(bytes, [cut]), `cut at ${cut}`).toEqual(whole);
    }
  });

  test("three pieces, both cuts inside the nested libxc part", () => {
    const [from, to] = libxc as [number, number];
    for (let first = from; first <= to; first++) {
      for (let second = first; second <= to; second += 3) {
        expect(pushChunks(bytes, [first, second]), `cuts at ${first}, ${second}`).toEqual(whole);
      }
    }
  });
});

// ---------------------------------------------------------------- encoder item order

describe("encodeLibxlStream refuses item orders it cannot write -> BAD_VALUE", () => {
  const libxcPart: LibxlItem = {
    type: "LIBXC_STREAM",
    stream: { imageHeader, domainHeader: domainHvm, records: [libxcEnd] },
  };
  test.each([
    { name: "LIBXC_STREAM without LIBXC_CONTEXT", items: [libxcPart, libxlEnd], offset: 16 },
    { name: "LIBXC_CONTEXT not followed by LIBXC_STREAM", items: [{ type: "LIBXC_CONTEXT" }, libxlEnd], offset: 16 },
    { name: "LIBXC_RESUME before any LIBXC_STREAM", items: [{ type: "LIBXC_RESUME", records: [libxcEnd] }], offset: 16 },
    {
      name: "LIBXC_RESUME after a libxl record only",
      items: [checkpointEnd, { type: "LIBXC_RESUME", records: [checkpoint] }],
      offset: 24,
    },
  ] as Array<{ name: string; items: LibxlItem[]; offset: number }>)("$name", ({ items, offset }) => {
    const error = thrown(() => encodeLibxlStream({ header: { version: 2, options: 0 }, items }));
    expect([error.code, error.offset]).toStrictEqual(["BAD_VALUE", offset]);
  });
});
