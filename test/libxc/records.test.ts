/**
 * Every libxc record type 0x00-0x12 plus unknown optional and mandatory
 * types, against whole minimal streams written by hand from the spec
 * tables (libxc-stream.md §4-§6): 40 header bytes, the record, END. Each
 * case is decoded (exact value, reserved fields included) and the value is
 * encoded back to exactly the hand bytes, in little-endian and big-endian
 * (image header options bit 0), some with 8 KiB pages (page_shift 13).
 *
 * Record bodies are spelled out field by field; only the 8-byte record
 * header and the zero padding are built by the small `frame()` helper here
 * (type u32, body_length u32, body, zeros to a multiple of 8).
 */
import { describe, expect, test } from "vitest";
import {
  LibxcDecoder,
  XenStreamError,
  decodeLibxcEvents,
  decodeLibxcStream,
  encodeLibxcStream,
  type DecoderOptions,
  type LibxcRecord,
  type LibxcStream,
} from "../../src/index.js";
import { cat, filled, hex, pattern, u16, u32, zeros } from "../helpers/hex.js";
import { decodeSplit } from "../helpers/decode.js";
import { thrown } from "../helpers/errors.js";

// ---------------------------------------------------------------- helpers

const ENDIANNESS = [
  ["LE", true],
  ["BE", false],
] as const;

/** Image header, v3; options bit 0 set for big-endian. */
function imageHeaderBytes(littleEndian: boolean): Uint8Array {
  return hex(`ff ff ff ff ff ff ff ff | 58 45 4e 46 | 00 00 00 03 | 00 ${littleEndian ? "00" : "01"} | 00 00 | 00 00 00 00`);
}

/** Domain header: type, page_shift, reserved 0, Xen 4.17. */
function domainHeaderBytes(littleEndian: boolean, type: number, pageShift: number): Uint8Array {
  return cat(u32(type, littleEndian), u16(pageShift, littleEndian), hex("00 00"), u32(4, littleEndian), u32(17, littleEndian));
}

/** One record frame: type, body_length, body, padding (zeros to 8 unless given). */
function frame(littleEndian: boolean, typeId: number, body: Uint8Array, padding?: Uint8Array): Uint8Array {
  const pad = padding ?? zeros((8 - (body.length % 8)) % 8);
  return cat(u32(typeId, littleEndian), u32(body.length, littleEndian), body, pad);
}

/** END is all zeros in either byte order. */
const END_BYTES = hex("00 00 00 00 00 00 00 00");
const END: LibxcRecord = { type: "END" };

function headers(littleEndian: boolean, domainType = 1, pageShift = 12): Uint8Array {
  return cat(imageHeaderBytes(littleEndian), domainHeaderBytes(littleEndian, domainType, pageShift));
}

function streamValue(littleEndian: boolean, domainType: number, pageShift: number, records: LibxcRecord[]): LibxcStream {
  return {
    imageHeader: { version: 3, options: littleEndian ? 0 : 1, reserved1: 0, reserved2: 0 },
    domainHeader: { type: domainType, pageShift, reserved: 0, xenMajor: 4, xenMinor: 17 },
    records,
  };
}


/** Hex of a u64 in each byte order, written from its big-endian spelling. */
function u64hex(beHex: string, littleEndian: boolean): string {
  const bytes = beHex.trim().split(/\s+/);
  if (bytes.length !== 8) throw new Error(`not 8 bytes: ${beHex}`);
  return (littleEndian ? bytes.reverse() : bytes).join(" ");
}

// ---------------------------------------------------------------- page contents

const PAGE_A = pattern(4096, 1);
const PAGE_B = pattern(4096, 2);
const PAGE_C = pattern(4096, 3);
const PAGE_D = pattern(4096, 4);
const PAGE_E = pattern(4096, 5);
const BIG_PAGE = pattern(8192, 6);

// ---------------------------------------------------------------- cases

interface Case {
  name: string;
  typeId: number;
  /** The body, spelled out for the given byte order. */
  body: (littleEndian: boolean) => Uint8Array;
  /** Padding bytes when not zeros. */
  padding?: Uint8Array;
  value: LibxcRecord;
  domainType?: number;
  pageShift?: number;
  options?: DecoderOptions;
}

const cases: Case[] = [
  // 0x00 END: the stream is headers + this record only.
  { name: "END", typeId: 0x00, body: () => new Uint8Array(0), value: { type: "END" } },

  // 0x01 PAGE_DATA: count, reserved, pfn[] (type 63-60, reserved 59-52, pfn 51-0), pages.
  {
    name: "PAGE_DATA: types with and without data, reserved bits, pfn 2^52-1",
    typeId: 0x01,
    body: (le) =>
      cat(
        hex(le ? "08 00 00 00 | 44 33 22 11" : "00 00 00 08 | 11 22 33 44"), // count 8, reserved 0x11223344
        hex(u64hex("00 00 00 00 00 00 00 00", le)), // NOTAB pfn 0
        hex(u64hex("10 00 00 00 00 00 00 01", le)), // L1TAB pfn 1
        hex(u64hex("40 00 00 00 00 01 23 45", le)), // L4TAB pfn 0x12345
        hex(u64hex("90 00 00 0a bc de f0 12", le)), // L1TAB|LPINTAB pfn 0xabcdef012
        hex(u64hex("c0 0f ff ff ff ff ff ff", le)), // L4TAB|LPINTAB pfn 2^52-1
        hex(u64hex("da 50 00 01 00 00 00 00", le)), // BROKEN, reserved 0xa5, pfn 2^32
        hex(u64hex("e0 00 00 00 00 00 00 07", le)), // XALLOC pfn 7
        hex(u64hex("ff f0 00 00 ff ff ff ff", le)), // XTAB, reserved 0xff, pfn 2^32-1
        PAGE_A,
        PAGE_B,
        PAGE_C,
        PAGE_D,
        PAGE_E,
      ),
    value: {
      type: "PAGE_DATA",
      reserved: 0x11223344,
      entries: [
        { pfn: 0, type: 0x0, reserved: 0 },
        { pfn: 1, type: 0x1, reserved: 0 },
        { pfn: 0x12345, type: 0x4, reserved: 0 },
        { pfn: 0xabcdef012, type: 0x9, reserved: 0 },
        { pfn: 2 ** 52 - 1, type: 0xc, reserved: 0 },
        { pfn: 2 ** 32, type: 0xd, reserved: 0xa5 },
        { pfn: 7, type: 0xe, reserved: 0 },
        { pfn: 0xffffffff, type: 0xf, reserved: 0xff },
      ],
      pages: cat(PAGE_A, PAGE_B, PAGE_C, PAGE_D, PAGE_E),
    },
  },
  {
    name: "PAGE_DATA: types 2, 3, 0xa, 0xb carry data too",
    typeId: 0x01,
    body: (le) =>
      cat(
        hex(le ? "04 00 00 00 | 00 00 00 00" : "00 00 00 04 | 00 00 00 00"),
        hex(u64hex("20 00 00 00 00 00 00 10", le)),
        hex(u64hex("30 00 00 00 00 00 00 11", le)),
        hex(u64hex("a0 00 00 00 00 00 00 12", le)),
        hex(u64hex("b0 00 00 00 00 00 00 13", le)),
        PAGE_A,
        PAGE_B,
        PAGE_C,
        PAGE_D,
      ),
    value: {
      type: "PAGE_DATA",
      reserved: 0,
      entries: [
        { pfn: 0x10, type: 0x2, reserved: 0 },
        { pfn: 0x11, type: 0x3, reserved: 0 },
        { pfn: 0x12, type: 0xa, reserved: 0 },
        { pfn: 0x13, type: 0xb, reserved: 0 },
      ],
      pages: cat(PAGE_A, PAGE_B, PAGE_C, PAGE_D),
    },
  },
  {
    name: "PAGE_DATA: only BROKEN/XALLOC/XTAB, no page data",
    typeId: 0x01,
    body: (le) =>
      cat(
        hex(le ? "03 00 00 00 | 00 00 00 00" : "00 00 00 03 | 00 00 00 00"),
        hex(u64hex("d0 00 00 00 00 00 00 01", le)),
        hex(u64hex("e0 00 00 00 00 00 00 02", le)),
        hex(u64hex("f0 00 00 00 00 00 00 03", le)),
      ),
    value: {
      type: "PAGE_DATA",
      reserved: 0,
      entries: [
        { pfn: 1, type: 0xd, reserved: 0 },
        { pfn: 2, type: 0xe, reserved: 0 },
        { pfn: 3, type: 0xf, reserved: 0 },
      ],
      pages: new Uint8Array(0),
    },
  },
  {
    name: "PAGE_DATA: 8 KiB pages (page_shift 13)",
    typeId: 0x01,
    pageShift: 13,
    body: (le) =>
      cat(
        hex(le ? "02 00 00 00 | 00 00 00 00" : "00 00 00 02 | 00 00 00 00"),
        hex(u64hex("00 00 00 00 00 00 00 40", le)), // NOTAB pfn 0x40: one 8192-byte page
        hex(u64hex("f0 00 00 00 00 00 00 41", le)), // XTAB pfn 0x41: no data
        BIG_PAGE,
      ),
    value: {
      type: "PAGE_DATA",
      reserved: 0,
      entries: [
        { pfn: 0x40, type: 0x0, reserved: 0 },
        { pfn: 0x41, type: 0xf, reserved: 0 },
      ],
      pages: BIG_PAGE,
    },
  },

  // 0x02 X86_PV_INFO: guest_width u8, pt_levels u8, 6 reserved bytes.
  {
    name: "X86_PV_INFO 64-bit",
    typeId: 0x02,
    body: () => hex("08 | 04 | 00 00 00 00 00 00"),
    value: { type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: zeros(6) },
  },
  {
    name: "X86_PV_INFO 32-bit PAE, reserved bytes kept",
    typeId: 0x02,
    body: () => hex("04 | 03 | 01 02 03 04 05 06"),
    value: { type: "X86_PV_INFO", guestWidth: 4, ptLevels: 3, reserved: hex("01 02 03 04 05 06") },
  },
  {
    name: "X86_PV_INFO longer than 8 bytes keeps extra",
    typeId: 0x02,
    body: () => hex("08 | 04 | 00 00 00 00 00 00 | aa bb cc"),
    value: { type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: zeros(6), extra: hex("aa bb cc") },
  },

  // 0x03 X86_PV_P2M_FRAMES: start u32, end u32, u64 frame pfns.
  {
    name: "X86_PV_P2M_FRAMES",
    typeId: 0x03,
    body: (le) =>
      le
        ? hex("00 00 00 00 | ff 03 00 00 | 45 23 01 00 00 00 00 00 | 01 00 00 00 00 00 00 80")
        : hex("00 00 00 00 | 00 00 03 ff | 00 00 00 00 00 01 23 45 | 80 00 00 00 00 00 00 01"),
    value: { type: "X86_PV_P2M_FRAMES", startPfn: 0, endPfn: 0x3ff, frames: [0x12345n, 0x8000000000000001n] },
  },
  {
    name: "X86_PV_P2M_FRAMES with no frames, start = end",
    typeId: 0x03,
    body: (le) => (le ? hex("78 56 34 12 | 78 56 34 12") : hex("12 34 56 78 | 12 34 56 78")),
    value: { type: "X86_PV_P2M_FRAMES", startPfn: 0x12345678, endPfn: 0x12345678, frames: [] },
  },

  // 0x04/0x05/0x06/0x0C PV vCPU records: vcpu_id u32, reserved u32, blob.
  {
    name: "X86_PV_VCPU_BASIC (64-bit context size 5168)",
    typeId: 0x04,
    body: (le) => cat(hex(le ? "01 00 00 00 | be ba fe ca" : "00 00 00 01 | ca fe ba be"), pattern(5168, 7)),
    value: { type: "X86_PV_VCPU_BASIC", vcpuId: 1, reserved: 0xcafebabe, context: pattern(5168, 7) },
  },
  {
    name: "X86_PV_VCPU_EXTENDED (padded)",
    typeId: 0x05,
    body: (le) => cat(hex(le ? "03 00 00 00 | 00 00 00 00" : "00 00 00 03 | 00 00 00 00"), pattern(61, 8)),
    value: { type: "X86_PV_VCPU_EXTENDED", vcpuId: 3, reserved: 0, context: pattern(61, 8) },
  },
  {
    name: "X86_PV_VCPU_XSAVE",
    typeId: 0x06,
    body: (le) => cat(hex(le ? "04 03 02 01 | 00 00 00 00" : "01 02 03 04 | 00 00 00 00"), pattern(20, 9)),
    value: { type: "X86_PV_VCPU_XSAVE", vcpuId: 0x01020304, reserved: 0, context: pattern(20, 9) },
  },
  {
    name: "X86_PV_VCPU_MSRS",
    typeId: 0x0c,
    body: (le) => cat(hex(le ? "02 00 00 00 | 00 00 00 00" : "00 00 00 02 | 00 00 00 00"), pattern(32, 10)),
    value: { type: "X86_PV_VCPU_MSRS", vcpuId: 2, reserved: 0, context: pattern(32, 10) },
  },
  {
    name: "X86_PV_VCPU_BASIC with a zero-byte blob (errata: Xen skips it)",
    typeId: 0x04,
    body: (le) => hex(le ? "00 00 00 00 | 00 00 00 00" : "00 00 00 00 | 00 00 00 00"),
    value: { type: "X86_PV_VCPU_BASIC", vcpuId: 0, reserved: 0, context: new Uint8Array(0) },
  },
  {
    name: "X86_PV_VCPU_EXTENDED with a zero-byte blob",
    typeId: 0x05,
    body: (le) => hex(le ? "07 00 00 00 | 00 00 00 00" : "00 00 00 07 | 00 00 00 00"),
    value: { type: "X86_PV_VCPU_EXTENDED", vcpuId: 7, reserved: 0, context: new Uint8Array(0) },
  },

  // 0x07 SHARED_INFO: one page.
  { name: "SHARED_INFO", typeId: 0x07, body: () => PAGE_C, value: { type: "SHARED_INFO", data: PAGE_C } },
  {
    name: "SHARED_INFO with 8 KiB pages (page_shift 13)",
    typeId: 0x07,
    pageShift: 13,
    body: () => BIG_PAGE,
    value: { type: "SHARED_INFO", data: BIG_PAGE },
  },

  // 0x08 X86_TSC_INFO: mode, khz, nsec u64, incarnation, reserved.
  {
    name: "X86_TSC_INFO",
    typeId: 0x08,
    body: (le) =>
      le
        ? hex("01 00 00 00 | c0 c6 2d 00 | 08 07 06 05 04 03 02 01 | 05 00 00 00 | ef be ad de")
        : hex("00 00 00 01 | 00 2d c6 c0 | 01 02 03 04 05 06 07 08 | 00 00 00 05 | de ad be ef"),
    value: { type: "X86_TSC_INFO", mode: 1, khz: 3000000, nsec: 0x0102030405060708n, incarnation: 5, reserved: 0xdeadbeef },
  },

  // 0x09 HVM_CONTEXT: opaque blob.
  {
    name: "HVM_CONTEXT (padded)",
    typeId: 0x09,
    domainType: 2,
    body: () => pattern(13, 11),
    value: { type: "HVM_CONTEXT", data: pattern(13, 11) },
  },

  // 0x0A HVM_PARAMS: count, reserved, {index u64, value u64}[].
  {
    name: "HVM_PARAMS",
    typeId: 0x0a,
    domainType: 2,
    body: (le) =>
      le
        ? hex(`02 00 00 00 | 5a 00 00 00
               01 00 00 00 00 00 00 00 | fc ff 0f 00 00 00 00 00
               26 00 00 00 00 00 00 00 | 00 00 00 00 00 00 00 80`)
        : hex(`00 00 00 02 | 00 00 00 5a
               00 00 00 00 00 00 00 01 | 00 00 00 00 00 0f ff fc
               00 00 00 00 00 00 00 26 | 80 00 00 00 00 00 00 00`),
    value: {
      type: "HVM_PARAMS",
      reserved: 0x5a,
      params: [
        { index: 1n, value: 0xffffcn },
        { index: 38n, value: 0x8000000000000000n },
      ],
    },
  },
  {
    name: "HVM_PARAMS with count 0 (errata: Xen 4.6-4.8 wrote it)",
    typeId: 0x0a,
    domainType: 2,
    body: () => hex("00 00 00 00 | 00 00 00 00"),
    value: { type: "HVM_PARAMS", reserved: 0, params: [] },
  },

  // 0x0B TOOLSTACK: opaque.
  {
    name: "TOOLSTACK",
    typeId: 0x0b,
    body: () => hex("de ad be ef 01"),
    value: { type: "TOOLSTACK", data: hex("de ad be ef 01") },
  },

  // 0x0D VERIFY, 0x0E CHECKPOINT, 0x10 STATIC_DATA_END: empty.
  { name: "VERIFY", typeId: 0x0d, body: () => new Uint8Array(0), value: { type: "VERIFY" } },
  { name: "CHECKPOINT", typeId: 0x0e, body: () => new Uint8Array(0), value: { type: "CHECKPOINT" } },
  { name: "STATIC_DATA_END", typeId: 0x10, body: () => new Uint8Array(0), value: { type: "STATIC_DATA_END" } },

  // 0x0F CHECKPOINT_DIRTY_PFN_LIST: u64 pfns.
  {
    name: "CHECKPOINT_DIRTY_PFN_LIST",
    typeId: 0x0f,
    body: (le) =>
      le
        ? hex("10 00 00 00 00 00 00 00 | ff ff ff ff ff ff 0f 00 | 08 07 06 05 04 03 02 01")
        : hex("00 00 00 00 00 00 00 10 | 00 0f ff ff ff ff ff ff | 01 02 03 04 05 06 07 08"),
    value: { type: "CHECKPOINT_DIRTY_PFN_LIST", pfns: [0x10n, 0xfffffffffffffn, 0x0102030405060708n] },
  },
  {
    name: "CHECKPOINT_DIRTY_PFN_LIST, empty",
    typeId: 0x0f,
    body: () => new Uint8Array(0),
    value: { type: "CHECKPOINT_DIRTY_PFN_LIST", pfns: [] },
  },

  // 0x11 X86_CPUID_POLICY: {leaf, subleaf, a, b, c, d} u32 each.
  {
    name: "X86_CPUID_POLICY",
    typeId: 0x11,
    body: (le) =>
      le
        ? hex(`00 00 00 00 | ff ff ff ff | 0d 00 00 00 | 47 65 6e 75 | 6e 74 65 6c | 69 6e 65 49
               07 00 00 00 | 00 00 00 00 | 00 00 00 00 | bf 6f 9c 02 | 00 00 00 40 | 00 04 00 bc`)
        : hex(`00 00 00 00 | ff ff ff ff | 00 00 00 0d | 75 6e 65 47 | 6c 65 74 6e | 49 65 6e 69
               00 00 00 07 | 00 00 00 00 | 00 00 00 00 | 02 9c 6f bf | 40 00 00 00 | bc 00 04 00`),
    value: {
      type: "X86_CPUID_POLICY",
      entries: [
        { leaf: 0, subleaf: 0xffffffff, a: 0xd, b: 0x756e6547, c: 0x6c65746e, d: 0x49656e69 },
        { leaf: 7, subleaf: 0, a: 0, b: 0x029c6fbf, c: 0x40000000, d: 0xbc000400 },
      ],
    },
  },

  // 0x12 X86_MSR_POLICY: {idx u32, flags u32, val u64}.
  {
    name: "X86_MSR_POLICY",
    typeId: 0x12,
    body: (le) =>
      le
        ? hex(`ce 00 00 00 | 00 00 00 00 | 00 10 00 80 40 00 00 00
               0a 01 00 00 | 01 00 00 00 | 6b 0e 00 0c 00 00 00 00`)
        : hex(`00 00 00 ce | 00 00 00 00 | 00 00 00 40 80 00 10 00
               00 00 01 0a | 00 00 00 01 | 00 00 00 00 0c 00 0e 6b`),
    value: {
      type: "X86_MSR_POLICY",
      entries: [
        { index: 0xce, flags: 0, value: 0x0000004080001000n },
        { index: 0x10a, flags: 1, value: 0x0c000e6bn },
      ],
    },
  },

  // Unknown types.
  {
    name: "unknown optional 0x80000123",
    typeId: 0x80000123,
    body: () => hex("aa bb cc dd ee"),
    value: { type: "UNKNOWN", typeId: 0x80000123, body: hex("aa bb cc dd ee") },
  },
  {
    name: "unknown optional 0xffffffff, empty",
    typeId: 0xffffffff,
    body: () => new Uint8Array(0),
    value: { type: "UNKNOWN", typeId: 0xffffffff, body: new Uint8Array(0) },
  },
  {
    name: "unknown mandatory 0x13 kept with keepUnknownMandatory",
    typeId: 0x13,
    options: { keepUnknownMandatory: true },
    body: () => hex("01 02 03"),
    value: { type: "UNKNOWN", typeId: 0x13, body: hex("01 02 03") },
  },

  // Tolerance: non-zero padding kept; signalling records keep a body as extra.
  {
    name: "non-zero padding kept (TOOLSTACK)",
    typeId: 0x0b,
    body: () => hex("01 02 03 04 05"),
    padding: hex("00 00 01"),
    value: { type: "TOOLSTACK", data: hex("01 02 03 04 05"), padding: hex("00 00 01") },
  },
  {
    name: "non-zero padding kept (X86_PV_VCPU_EXTENDED)",
    typeId: 0x05,
    body: (le) => cat(hex(le ? "00 00 00 00 | 00 00 00 00" : "00 00 00 00 | 00 00 00 00"), hex("11")),
    padding: hex("ff ff ff ff ff ff ff"),
    value: { type: "X86_PV_VCPU_EXTENDED", vcpuId: 0, reserved: 0, context: hex("11"), padding: hex("ff ff ff ff ff ff ff") },
  },
  {
    name: "non-zero padding kept (unknown optional)",
    typeId: 0x80000000,
    body: () => hex("aa"),
    padding: hex("01 00 00 00 00 00 00"),
    value: { type: "UNKNOWN", typeId: 0x80000000, body: hex("aa"), padding: hex("01 00 00 00 00 00 00") },
  },
  {
    name: "VERIFY with a body keeps extra",
    typeId: 0x0d,
    body: () => hex("01 02 03 04 05 06 07 08 09"),
    value: { type: "VERIFY", extra: hex("01 02 03 04 05 06 07 08 09") },
  },
  {
    name: "CHECKPOINT with a body keeps extra",
    typeId: 0x0e,
    body: () => hex("ff"),
    value: { type: "CHECKPOINT", extra: hex("ff") },
  },
  {
    name: "STATIC_DATA_END with a body and non-zero padding",
    typeId: 0x10,
    body: () => hex("00 00 00 00 00 00 00 00 00 00"),
    padding: hex("00 00 00 00 00 07"),
    value: { type: "STATIC_DATA_END", extra: zeros(10), padding: hex("00 00 00 00 00 07") },
  },
  {
    name: "END with a body keeps extra",
    typeId: 0x00,
    body: () => hex("aa bb cc"),
    padding: hex("01 02 03 04 05"),
    value: { type: "END", extra: hex("aa bb cc"), padding: hex("01 02 03 04 05") },
  },
];

// ---------------------------------------------------------------- round trips

describe("every record type: hand bytes <-> value", () => {
  for (const c of cases) {
    for (const [tag, le] of ENDIANNESS) {
      test(`${c.name} ${tag}`, () => {
        const domainType = c.domainType ?? 1;
        const pageShift = c.pageShift ?? 12;
        const isEnd = c.value.type === "END";
        const record = frame(le, c.typeId, c.body(le), c.padding);
        expect(record.length % 8).toBe(0);
        const bytes = cat(headers(le, domainType, pageShift), record, isEnd ? new Uint8Array(0) : END_BYTES);
        const expected = streamValue(le, domainType, pageShift, isEnd ? [c.value] : [c.value, END]);

        expect(decodeLibxcStream(bytes, c.options)).toStrictEqual(expected);
        expect(encodeLibxcStream(expected)).toEqual(bytes);

        const events = decodeLibxcEvents(bytes, c.options);
        expect(events.map((event) => [event.kind, event.offset])).toStrictEqual(
          isEnd
            ? [["imageHeader", 0], ["domainHeader", 24], ["record", 40]]
            : [["imageHeader", 0], ["domainHeader", 24], ["record", 40], ["record", 40 + record.length]],
        );
        const first = events[2];
        expect(first?.kind === "record" ? [first.index, first.bodyLength] : undefined).toStrictEqual([0, c.body(le).length]);
      });
    }
  }

  test("a big-endian stream differs from the little-endian one after byte 16", () => {
    const le = encodeLibxcStream(streamValue(true, 1, 12, [{ type: "X86_PV_VCPU_MSRS", vcpuId: 1, context: zeros(16) }, END]));
    const be = encodeLibxcStream(streamValue(false, 1, 12, [{ type: "X86_PV_VCPU_MSRS", vcpuId: 1, context: zeros(16) }, END]));
    expect(le.subarray(0, 17)).toEqual(be.subarray(0, 17));
    expect(le[17]).toBe(0x00);
    expect(be[17]).toBe(0x01);
    // record header: type 0x0c, length 24; vcpu_id 1
    expect(le.subarray(40, 56)).toEqual(hex("0c 00 00 00 18 00 00 00 01 00 00 00 00 00 00 00"));
    expect(be.subarray(40, 56)).toEqual(hex("00 00 00 0c 00 00 00 18 00 00 00 01 00 00 00 00"));
  });

  test("pushed in pieces gives the same events (PAGE_DATA, split inside header, pfn array and page)", () => {
    const c = cases[1] as Case;
    const bytes = cat(headers(true), frame(true, c.typeId, c.body(true)), END_BYTES);
    const whole = decodeLibxcEvents(bytes);
    const events = decodeSplit(() => new LibxcDecoder(), bytes, [1, 30, 44, 60, 3000, 20000]);
    expect(events).toStrictEqual(whole);
  });

  test("decoded byte fields are views into the input, not copies", () => {
    const c = cases[1] as Case;
    const bytes = cat(headers(true), frame(true, c.typeId, c.body(true)), END_BYTES);
    const record = decodeLibxcStream(bytes).records[0];
    expect(record?.type).toBe("PAGE_DATA");
    if (record?.type === "PAGE_DATA") {
      expect(record.pages.buffer).toBe(bytes.buffer);
      expect(record.pages.byteOffset).toBe(40 + 8 + 8 + 64);
    }
  });

  test("a record value without reserved fields encodes them as zero", () => {
    const records: LibxcRecord[] = [
      { type: "PAGE_DATA", entries: [{ pfn: 5, type: 0xf }], pages: new Uint8Array(0) },
      { type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4 },
      { type: "X86_TSC_INFO", mode: 0, khz: 1, nsec: 2n, incarnation: 3 },
      END,
    ];
    const bytes = hex(`
      ff ff ff ff ff ff ff ff 58 45 4e 46 00 00 00 03 00 00 00 00 00 00 00 00
      01 00 00 00 0c 00 00 00 04 00 00 00 11 00 00 00
      01 00 00 00 10 00 00 00 | 01 00 00 00 00 00 00 00 | 05 00 00 00 00 00 00 f0
      02 00 00 00 08 00 00 00 | 08 04 00 00 00 00 00 00
      08 00 00 00 18 00 00 00 | 00 00 00 00 01 00 00 00 02 00 00 00 00 00 00 00 03 00 00 00 00 00 00 00
      00 00 00 00 00 00 00 00`);
    expect(encodeLibxcStream(streamValue(true, 1, 12, records))).toEqual(bytes);
  });
});

describe("unknown mandatory record", () => {
  for (const [tag, le] of ENDIANNESS) {
    for (const typeId of [0x13, 0x7fffffff]) {
      test(`0x${typeId.toString(16)} ${tag}: UNKNOWN_RECORD at the record header`, () => {
        const bytes = cat(headers(le), frame(le, typeId, hex("01 02 03")), END_BYTES);
        const error = thrown(() => decodeLibxcStream(bytes));
        expect(error.code).toBe("UNKNOWN_RECORD");
        expect(error.offset).toBe(40);
        expect(error.recordIndex).toBe(0);
        expect(error.layer).toBe("libxc");
      });
    }
    test(`after another record ${tag}: offset and index of the unknown one`, () => {
      const bytes = cat(headers(le), frame(le, 0x10, new Uint8Array(0)), frame(le, 0x13, hex("01")), END_BYTES);
      const error = thrown(() => decodeLibxcStream(bytes));
      expect(error.code).toBe("UNKNOWN_RECORD");
      expect(error.offset).toBe(48);
      expect(error.recordIndex).toBe(1);
    });
  }
});

// ---------------------------------------------------------------- error table

interface ErrorRow {
  name: string;
  typeId: number;
  body: (littleEndian: boolean) => Uint8Array;
  code: XenStreamError["code"];
  /** Offset relative to the start of the body. */
  at: number;
  pageShift?: number;
}

const le32 = (value: number, le: boolean): Uint8Array => u32(value, le);
const entry = (beHex: string, le: boolean): Uint8Array => hex(u64hex(beHex, le));

const errorRows: ErrorRow[] = [
  // PAGE_DATA (xg_sr_restore.c: handle_page_data())
  { name: "PAGE_DATA empty body", typeId: 0x01, body: () => new Uint8Array(0), code: "BAD_LENGTH", at: -4 },
  { name: "PAGE_DATA 4-byte body", typeId: 0x01, body: (le) => le32(1, le), code: "BAD_LENGTH", at: -4 },
  { name: "PAGE_DATA 7-byte body", typeId: 0x01, body: () => hex("01 00 00 00 00 00 00"), code: "BAD_LENGTH", at: -4 },
  { name: "PAGE_DATA count 0", typeId: 0x01, body: () => zeros(8), code: "BAD_FIELD", at: 0 },
  {
    name: "PAGE_DATA count 0 with an entry and a page",
    typeId: 0x01,
    body: (le) => cat(le32(0, le), le32(0, le), entry("00 00 00 00 00 00 00 01", le), PAGE_A),
    code: "BAD_FIELD",
    at: 0,
  },
  {
    name: "PAGE_DATA count 2, one pfn",
    typeId: 0x01,
    body: (le) => cat(le32(2, le), le32(0, le), entry("f0 00 00 00 00 00 00 01", le)),
    code: "BAD_LENGTH",
    at: -4,
  },
  {
    name: "PAGE_DATA count 0xffffffff in 16 bytes",
    typeId: 0x01,
    body: (le) => cat(le32(0xffffffff, le), le32(0, le), entry("f0 00 00 00 00 00 00 01", le)),
    code: "BAD_LENGTH",
    at: -4,
  },
  ...[5, 6, 7, 8].map(
    (type): ErrorRow => ({
      name: `PAGE_DATA page type ${type} in entry 1`,
      typeId: 0x01,
      body: (le) =>
        cat(le32(2, le), le32(0, le), entry("f0 00 00 00 00 00 00 01", le), entry(`${type}0 00 00 00 00 00 00 02`, le), PAGE_A),
      code: "BAD_PAGE_TYPE",
      at: 16,
    }),
  ),
  {
    name: "PAGE_DATA reserved type in entry 2 wins over a wrong length (Xen checks entries first)",
    typeId: 0x01,
    body: (le) =>
      cat(
        le32(3, le),
        le32(0, le),
        entry("00 00 00 00 00 00 00 01", le),
        entry("00 00 00 00 00 00 00 02", le),
        entry("5f ff ff ff ff ff ff ff", le),
      ),
    code: "BAD_PAGE_TYPE",
    at: 24,
  },
  {
    name: "PAGE_DATA data type without its page",
    typeId: 0x01,
    body: (le) => cat(le32(1, le), le32(0, le), entry("00 00 00 00 00 00 00 01", le)),
    code: "BAD_LENGTH",
    at: -4,
  },
  {
    name: "PAGE_DATA page one byte short",
    typeId: 0x01,
    body: (le) => cat(le32(1, le), le32(0, le), entry("10 00 00 00 00 00 00 01", le), PAGE_A.subarray(0, 4095)),
    code: "BAD_LENGTH",
    at: -4,
  },
  {
    name: "PAGE_DATA one byte too many",
    typeId: 0x01,
    body: (le) => cat(le32(1, le), le32(0, le), entry("10 00 00 00 00 00 00 01", le), PAGE_A, hex("00")),
    code: "BAD_LENGTH",
    at: -4,
  },
  {
    name: "PAGE_DATA page after XTAB",
    typeId: 0x01,
    body: (le) => cat(le32(1, le), le32(0, le), entry("f0 00 00 00 00 00 00 01", le), PAGE_A),
    code: "BAD_LENGTH",
    at: -4,
  },
  {
    name: "PAGE_DATA 4096-byte page with page_shift 13",
    typeId: 0x01,
    pageShift: 13,
    body: (le) => cat(le32(1, le), le32(0, le), entry("00 00 00 00 00 00 00 01", le), PAGE_A),
    code: "BAD_LENGTH",
    at: -4,
  },
  {
    name: "PAGE_DATA 8192-byte page with page_shift 12",
    typeId: 0x01,
    body: (le) => cat(le32(1, le), le32(0, le), entry("00 00 00 00 00 00 00 01", le), BIG_PAGE),
    code: "BAD_LENGTH",
    at: -4,
  },

  // X86_PV_INFO (handle_x86_pv_info(): length < 8 rejected)
  { name: "X86_PV_INFO empty", typeId: 0x02, body: () => new Uint8Array(0), code: "BAD_LENGTH", at: -4 },
  { name: "X86_PV_INFO 7 bytes", typeId: 0x02, body: () => hex("08 04 00 00 00 00 00"), code: "BAD_LENGTH", at: -4 },

  // X86_PV_P2M_FRAMES (handle_x86_pv_p2m_frames(): length >= 8, whole u64s, start <= end)
  { name: "X86_PV_P2M_FRAMES empty", typeId: 0x03, body: () => new Uint8Array(0), code: "BAD_LENGTH", at: -4 },
  { name: "X86_PV_P2M_FRAMES 4 bytes", typeId: 0x03, body: () => zeros(4), code: "BAD_LENGTH", at: -4 },
  { name: "X86_PV_P2M_FRAMES 12 bytes", typeId: 0x03, body: () => zeros(12), code: "BAD_LENGTH", at: -4 },
  { name: "X86_PV_P2M_FRAMES 20 bytes", typeId: 0x03, body: () => zeros(20), code: "BAD_LENGTH", at: -4 },
  {
    name: "X86_PV_P2M_FRAMES start 2 > end 1",
    typeId: 0x03,
    body: (le) => cat(le32(2, le), le32(1, le), zeros(8)),
    code: "BAD_FIELD",
    at: 0,
  },
  {
    name: "X86_PV_P2M_FRAMES start 0xffffffff > end 0",
    typeId: 0x03,
    body: (le) => cat(le32(0xffffffff, le), le32(0, le)),
    code: "BAD_FIELD",
    at: 0,
  },

  // PV vCPU records (handle_x86_pv_vcpu_blob(): length < 8 rejected)
  ...[
    [0x04, "X86_PV_VCPU_BASIC"],
    [0x05, "X86_PV_VCPU_EXTENDED"],
    [0x06, "X86_PV_VCPU_XSAVE"],
    [0x0c, "X86_PV_VCPU_MSRS"],
  ].flatMap(([typeId, name]) =>
    [0, 4, 7].map(
      (length): ErrorRow => ({
        name: `${String(name)} ${length} bytes`,
        typeId: typeId as number,
        body: () => filled(length, 0x01),
        code: "BAD_LENGTH",
        at: -4,
      }),
    ),
  ),

  // SHARED_INFO (handle_shared_info(): exactly one page)
  ...[0, 4095, 4097, 8192].map(
    (length): ErrorRow => ({
      name: `SHARED_INFO ${length} bytes`,
      typeId: 0x07,
      body: () => pattern(length, 1),
      code: "BAD_LENGTH",
      at: -4,
    }),
  ),
  { name: "SHARED_INFO 4096 bytes with page_shift 13", typeId: 0x07, pageShift: 13, body: () => PAGE_A, code: "BAD_LENGTH", at: -4 },

  // X86_TSC_INFO (handle_x86_tsc_info(): exactly 24)
  ...[0, 8, 23, 25, 32].map(
    (length): ErrorRow => ({ name: `X86_TSC_INFO ${length} bytes`, typeId: 0x08, body: () => zeros(length), code: "BAD_LENGTH", at: -4 }),
  ),

  // HVM_CONTEXT (handle_hvm_context(): non-empty)
  { name: "HVM_CONTEXT empty", typeId: 0x09, body: () => new Uint8Array(0), code: "BAD_LENGTH", at: -4 },

  // HVM_PARAMS (handle_hvm_params(): length >= 8, exactly 8 + 16 * count)
  { name: "HVM_PARAMS empty", typeId: 0x0a, body: () => new Uint8Array(0), code: "BAD_LENGTH", at: -4 },
  { name: "HVM_PARAMS 4 bytes", typeId: 0x0a, body: () => zeros(4), code: "BAD_LENGTH", at: -4 },
  { name: "HVM_PARAMS 7 bytes", typeId: 0x0a, body: () => zeros(7), code: "BAD_LENGTH", at: -4 },
  { name: "HVM_PARAMS count 1, no entry", typeId: 0x0a, body: (le) => cat(le32(1, le), le32(0, le)), code: "BAD_LENGTH", at: -4 },
  {
    name: "HVM_PARAMS count 1, 15-byte entry",
    typeId: 0x0a,
    body: (le) => cat(le32(1, le), le32(0, le), zeros(15)),
    code: "BAD_LENGTH",
    at: -4,
  },
  {
    name: "HVM_PARAMS count 0, one entry (too long)",
    typeId: 0x0a,
    body: (le) => cat(le32(0, le), le32(0, le), zeros(16)),
    code: "BAD_LENGTH",
    at: -4,
  },
  {
    name: "HVM_PARAMS count 0xffffffff in 8 bytes",
    typeId: 0x0a,
    body: (le) => cat(le32(0xffffffff, le), le32(0, le)),
    code: "BAD_LENGTH",
    at: -4,
  },

  // CHECKPOINT_DIRTY_PFN_LIST (length % 8 == 0)
  ...[1, 7, 9].map(
    (length): ErrorRow => ({
      name: `CHECKPOINT_DIRTY_PFN_LIST ${length} bytes`,
      typeId: 0x0f,
      body: () => zeros(length),
      code: "BAD_LENGTH",
      at: -4,
    }),
  ),

  // X86_CPUID_POLICY / X86_MSR_POLICY (non-zero multiple of the entry size)
  ...[0, 8, 23, 25, 47].map(
    (length): ErrorRow => ({
      name: `X86_CPUID_POLICY ${length} bytes`,
      typeId: 0x11,
      body: () => zeros(length),
      code: "BAD_LENGTH",
      at: -4,
    }),
  ),
  ...[0, 8, 15, 24].map(
    (length): ErrorRow => ({
      name: `X86_MSR_POLICY ${length} bytes`,
      typeId: 0x12,
      body: () => zeros(length),
      code: "BAD_LENGTH",
      at: -4,
    }),
  ),
];

describe("record errors: code and absolute offset", () => {
  // The bad record either comes first (record header at 40, body at 48) or
  // after a 16-byte optional record (header at 56, body at 64).
  const positions = [
    { where: "first", lead: (_le: boolean) => new Uint8Array(0), recordOffset: 40, index: 0 },
    { where: "second", lead: (le: boolean) => frame(le, 0x80000001, hex("01 02 03 04 05")), recordOffset: 56, index: 1 },
  ];
  for (const row of errorRows) {
    for (const [tag, le] of ENDIANNESS) {
      for (const position of positions) {
        test(`${row.name} ${tag} (${position.where})`, () => {
          const bytes = cat(
            headers(le, 1, row.pageShift ?? 12),
            position.lead(le),
            frame(le, row.typeId, row.body(le)),
            END_BYTES,
          );
          const error = thrown(() => decodeLibxcStream(bytes));
          expect(error.code).toBe(row.code);
          expect(error.offset).toBe(position.recordOffset + 8 + row.at);
          expect(error.recordIndex).toBe(position.index);
          expect(error.layer).toBe("libxc");
        });
      }
    }
  }
});

// ---------------------------------------------------------------- end of stream

describe("end of stream", () => {
  test("a checkpointed stream may end right after CHECKPOINT", () => {
    for (const [, le] of ENDIANNESS) {
      const bytes = cat(headers(le), frame(le, 0x10, new Uint8Array(0)), frame(le, 0x0e, new Uint8Array(0)));
      const stream = streamValue(le, 1, 12, [{ type: "STATIC_DATA_END" }, { type: "CHECKPOINT" }]);
      expect(decodeLibxcStream(bytes)).toStrictEqual(stream);
      expect(encodeLibxcStream(stream)).toEqual(bytes);
      const decoder = new LibxcDecoder();
      expect(decoder.push(bytes)).toHaveLength(4);
      expect(() => decoder.end()).not.toThrow();
    }
  });

  test("...but not part-way into the record after a CHECKPOINT", () => {
    const bytes = cat(headers(true), frame(true, 0x0e, new Uint8Array(0)), hex("08 00 00 00"));
    const error = thrown(() => decodeLibxcStream(bytes));
    expect(error.code).toBe("TRUNCATED");
    expect(error.offset).toBe(52);
  });

  test("...nor after a record that follows a CHECKPOINT", () => {
    const bytes = cat(headers(true), frame(true, 0x0e, new Uint8Array(0)), frame(true, 0x10, new Uint8Array(0)));
    const error = thrown(() => decodeLibxcStream(bytes));
    expect(error.code).toBe("TRUNCATED");
    expect(error.offset).toBe(56);
  });

  const trailing: { name: string; after: Uint8Array; offset: number }[] = [
    { name: "one byte", after: hex("00"), offset: 48 },
    { name: "a second END", after: END_BYTES, offset: 48 },
    { name: "a whole record", after: frame(true, 0x0d, new Uint8Array(0)), offset: 48 },
  ];
  for (const row of trailing) {
    test(`bytes after END (${row.name}): TRAILING_DATA at the first of them`, () => {
      const error = thrown(() => decodeLibxcStream(cat(headers(true), END_BYTES, row.after)));
      expect(error.code).toBe("TRAILING_DATA");
      expect(error.offset).toBe(row.offset);
    });
  }

  test("TRAILING_DATA after a longer stream, pushed as a separate chunk", () => {
    const bytes = cat(headers(false), frame(false, 0x0b, hex("01 02 03")), END_BYTES);
    const decoder = new LibxcDecoder();
    expect(decoder.push(bytes)).toHaveLength(4);
    const error = thrown(() => decoder.push(hex("ff")));
    expect(error.code).toBe("TRAILING_DATA");
    expect(error.offset).toBe(64);
    expect(thrown(() => decoder.end())).toBe(error); // sticky
  });

  // headers (40) + X86_TSC_INFO (8 + 24) + END (8) = 80 bytes
  const full = cat(
    headers(true),
    frame(true, 0x08, hex("01 00 00 00 c0 c6 2d 00 08 07 06 05 04 03 02 01 05 00 00 00 00 00 00 00")),
    END_BYTES,
  );
  for (const cut of [0, 1, 8, 23, 24, 30, 39, 40, 41, 47, 48, 71, 72, 73, 79]) {
    test(`truncated at ${cut} of 80: TRUNCATED at ${cut}`, () => {
      const error = thrown(() => decodeLibxcStream(full.subarray(0, cut)));
      expect(error.code).toBe("TRUNCATED");
      expect(error.offset).toBe(cut);
      expect(error.layer).toBe("libxc");
    });
  }

  test("truncated, fed byte by byte: no error until end(), then TRUNCATED at bytes received", () => {
    const decoder = new LibxcDecoder();
    let events = 0;
    for (let i = 0; i < 75; i++) events += decoder.push(full.subarray(i, i + 1)).length;
    expect(events).toBe(3); // two headers and the TSC record
    const error = thrown(() => decoder.end());
    expect(error.code).toBe("TRUNCATED");
    expect(error.offset).toBe(75);
    expect(error.recordIndex).toBe(1);
  });

  test("decoder with a start offset reports absolute offsets", () => {
    const decoder = new LibxcDecoder({}, 1000);
    decoder.push(full.subarray(0, 50));
    const error = thrown(() => decoder.end());
    expect(error.code).toBe("TRUNCATED");
    expect(error.offset).toBe(1050);
  });

  test("push after end() is USAGE", () => {
    const decoder = new LibxcDecoder();
    decoder.push(full);
    decoder.end();
    expect(thrown(() => decoder.push(hex("00"))).code).toBe("USAGE");
  });
});

// ---------------------------------------------------------------- encoder errors

describe("encoder refuses values it cannot write", () => {
  const rows: { name: string; record: LibxcRecord; code: XenStreamError["code"]; offset: number }[] = [
    {
      name: "padding of the wrong size",
      record: { type: "TOOLSTACK", data: hex("01 02 03"), padding: hex("00") },
      code: "BAD_PADDING",
      offset: 40,
    },
    {
      name: "PAGE_DATA with no entries",
      record: { type: "PAGE_DATA", entries: [], pages: new Uint8Array(0) },
      code: "BAD_VALUE",
      offset: 40,
    },
    {
      name: "PAGE_DATA pages not matching the entries",
      record: { type: "PAGE_DATA", entries: [{ pfn: 1, type: 0 }], pages: new Uint8Array(0) },
      code: "BAD_VALUE",
      offset: 40,
    },
    {
      name: "PAGE_DATA reserved page type",
      record: { type: "PAGE_DATA", entries: [{ pfn: 1, type: 5 }], pages: new Uint8Array(0) },
      code: "BAD_VALUE",
      offset: 40,
    },
    {
      name: "PAGE_DATA pfn 2^52",
      record: { type: "PAGE_DATA", entries: [{ pfn: 2 ** 52, type: 0xf }], pages: new Uint8Array(0) },
      code: "BAD_VALUE",
      offset: 40,
    },
    {
      name: "PAGE_DATA reserved bits 256",
      record: { type: "PAGE_DATA", entries: [{ pfn: 1, type: 0xf, reserved: 256 }], pages: new Uint8Array(0) },
      code: "BAD_VALUE",
      offset: 40,
    },
    { name: "SHARED_INFO not one page", record: { type: "SHARED_INFO", data: zeros(4095) }, code: "BAD_VALUE", offset: 40 },
    { name: "HVM_CONTEXT empty", record: { type: "HVM_CONTEXT", data: new Uint8Array(0) }, code: "BAD_VALUE", offset: 40 },
    { name: "X86_CPUID_POLICY empty", record: { type: "X86_CPUID_POLICY", entries: [] }, code: "BAD_VALUE", offset: 40 },
    { name: "X86_MSR_POLICY empty", record: { type: "X86_MSR_POLICY", entries: [] }, code: "BAD_VALUE", offset: 40 },
    {
      name: "X86_PV_P2M_FRAMES start > end",
      record: { type: "X86_PV_P2M_FRAMES", startPfn: 2, endPfn: 1, frames: [] },
      code: "BAD_VALUE",
      offset: 40,
    },
    {
      name: "X86_PV_INFO reserved of 5 bytes",
      record: { type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: zeros(5) },
      code: "BAD_VALUE",
      offset: 40,
    },
    {
      name: "UNKNOWN with a known type id",
      record: { type: "UNKNOWN", typeId: 0x08, body: zeros(24) },
      code: "BAD_VALUE",
      offset: 40,
    },
    // Field range errors are located at the field itself.
    {
      name: "X86_TSC_INFO khz 2^32 (at the khz field)",
      record: { type: "X86_TSC_INFO", mode: 0, khz: 2 ** 32, nsec: 0n, incarnation: 0 },
      code: "BAD_VALUE",
      offset: 52,
    },
    {
      name: "X86_PV_VCPU_BASIC vcpuId -1 (at vcpu_id)",
      record: { type: "X86_PV_VCPU_BASIC", vcpuId: -1, context: zeros(8) },
      code: "BAD_VALUE",
      offset: 48,
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      const error = thrown(() => encodeLibxcStream(streamValue(true, 1, 12, [row.record, END])));
      expect(error.code).toBe(row.code);
      expect(error.offset).toBe(row.offset);
    });
  }
});
