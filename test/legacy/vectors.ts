/**
 * Hand-built legacy vectors: each legacy input is spelled field by field
 * from legacy-stream.md (§3 layout, §4 header, §5 chunks, §7 tails, §8
 * QEMU record, §9 physmap data), and each expected output from §12.2 and
 * the libxc/libxl record tables. vectors.test.ts checks our converter
 * against them; interop.test.ts checks Xen's convert-legacy-stream against
 * the same bytes (naming the reference bug where it cannot produce them).
 */
import { cat, hex, le32, le64, pattern, zeros } from "../helpers/hex.js";
import {
  END,
  IMAGE_HEADER,
  LIBXC_CONTEXT,
  LIBXL_HEADER,
  STATIC_DATA_END,
  ascii,
  domainHeader,
  i32,
  rec,
  ulong,
  xlHeader,
} from "./legacy-bytes.js";

/** Options a vector is converted with (the reference's, no "auto"). */
export interface VectorOptions {
  width: 32 | 64;
  guest: "pv" | "hvm";
  format: "libxc" | "libxl";
  xl?: boolean;
  skipQemu?: boolean;
}

/** One hand-built vector. */
export interface LegacyVector {
  name: string;
  input: Uint8Array;
  options: VectorOptions;
  expected: Uint8Array;
  /**
   * When Xen's convert-legacy-stream cannot produce `expected`: the
   * reference-tool-bugs.md id and how the interop test compares instead.
   */
  referenceBug?: "B1" | "B3" | "B11";
}

const TSC_CHUNK = cat(i32(-7), le32(2), le64(0x11_2233_4455n), le32(2_000_000), le32(3));
const TSC_RECORD = rec(8, le32(2), le32(2_000_000), le64(0x11_2233_4455n), le32(3), le32(0));

/** A PV stream: 2 vCPUs, extv + xcnt, one batch with a bare XTAB, an L1 page and an XTAB with a pfn. */
function pvVector(width: 32 | 64, guestWidth: 4 | 8, format: "libxc" | "libxl"): LegacyVector {
  const contextSize = guestWidth === 8 ? 0x1430 : 0xaf0;
  const xcnt = 16 + 64;
  const blocks = cat(ascii("vcpu"), le32(contextSize), pattern(contextSize, 1), ascii("extv"), le32(0), ascii("xcnt"), le32(4), le32(xcnt));
  const page0 = pattern(4096, 10);
  const page2 = pattern(4096, 11);
  const vcpu = (seed: number) => ({
    basic: pattern(contextSize, seed),
    extended: pattern(128, seed + 1),
    xsave: pattern(64, seed + 2),
  });
  const v0 = vcpu(20);
  const v1 = vcpu(30);
  const shared = pattern(4096, 40);
  const input = cat(
    ulong(3, width), // p2m_size
    ulong(width === 64 ? 0xffff_ffff_ffff_ffffn : 0xffff_ffff, width), // extended-info signature
    le32(blocks.length),
    blocks,
    ulong(0x123, width), // p2m frame list: ceil(3 / fpp) = 1 entry
    TSC_CHUNK,
    i32(4),
    ulong(0x0000_0000, width), // pfn 0, NOTAB
    ulong(0xf000_0000, width), // bare XTAB: dropped
    ulong(0x1000_0002, width), // pfn 2, L1TAB
    ulong(0xf000_0001, width), // pfn 1, XTAB: kept, no data
    page0,
    page2,
    i32(-2), i32(1), le64(0b11), // VCPU_INFO: max id 1, vCPUs 0 and 1
    i32(-18), le32(8), le32(1), le32(0), // TOOLSTACK: libxl v1, no physmap entries
    i32(-9), // LAST_CHECKPOINT
    i32(0),
    le32(2), ulong(7, width), ulong(8, width), // unmapped pfns (discarded)
    v0.basic, v0.extended, le64(7), le64(64), v0.xsave,
    v1.basic, v1.extended, le64(7), le64(64), v1.xsave,
    shared,
  );
  const libxc = cat(
    IMAGE_HEADER,
    domainHeader(1),
    rec(2, guestWidth === 8 ? hex("08 04") : hex("04 03"), zeros(6)),
    STATIC_DATA_END,
    rec(3, le32(0), le32(2), le64(0x123)),
    TSC_RECORD,
    rec(1, le32(3), le32(0), le64(0), le64(0x1000_0000_0000_0002n), le64(0xf000_0000_0000_0001n), page0, page2),
    rec(4, le32(0), le32(0), v0.basic),
    rec(5, le32(0), le32(0), v0.extended),
    rec(6, le32(0), le32(0), v0.xsave),
    rec(4, le32(1), le32(0), v1.basic),
    rec(5, le32(1), le32(0), v1.extended),
    rec(6, le32(1), le32(0), v1.xsave),
    rec(7, shared),
    END,
  );
  return {
    name: `PV ${width}-bit toolstack, ${guestWidth * 8}-bit guest, ${format}`,
    input,
    options: { width, guest: "pv", format },
    expected: format === "libxl" ? cat(LIBXL_HEADER, LIBXC_CONTEXT, libxc, END) : libxc,
  };
}

const PHYSMAP_TEXT =
  "physmap/f0000000/start_addr\x00f0000000\x00physmap/f0000000/size\x00800000\x00physmap/f0000000/name\x00vga.vram\x00";

/** An HVM stream: TSC, one batch with XALLOC, HVM parameter chunks, libxl physmap, DeviceModelRecord0002. */
function hvmParts(width: 32 | 64, signature = "DeviceModelRecord0002") {
  const page = pattern(4096, 50);
  const physmap = cat(
    le32(1), le32(1), // version 1, one entry
    le64(0xf000_0000), le64(0xf000_0000), le64(0x80_0000), le32(9), ascii("vga.vram\0"),
    width === 64 ? hex("de ad be ef") : new Uint8Array(0), // 64-bit: 4 bytes of struct padding after the name
  );
  // HVM context: HEADER descriptor (typecode 1, instance 0, length 24), magic 0x54381286,
  // version 1, changeset u64, cpuid u32, gtsc_khz u32; END descriptor.
  const context = cat(
    hex("01 00 00 00 18 00 00 00 | 86 12 38 54 | 01 00 00 00"),
    pattern(16, 51),
    hex("00 00 00 00 00 00 00 00"),
  );
  const qemu = pattern(10, 52);
  const body = cat(
    ulong(0x100, width), // p2m_size (read, ignored for HVM)
    TSC_CHUNK,
    i32(2), ulong(0x10, width), ulong(0xe000_0011, width), page, // pfn 0x10 NOTAB, pfn 0x11 XALLOC
    i32(-2), i32(0), le64(1), // VCPU_INFO
    i32(-14), le32(0), le64(0xfeffe), // generation id address -> param 34
    i32(-3), le32(0), le64(0xfeffd000), // ident pt -> 12
    i32(-11), le32(0), le64(1), // viridian -> 9
    i32(-18), le32(physmap.length), physmap,
    i32(-9),
    i32(0),
    le64(0xfeff0), le64(0xfeff1), le64(0xfeff2), // ioreq, bufioreq, store pfns
    le32(context.length), context,
  );
  const qemuRecord = cat(ascii(signature), le32(qemu.length), qemu);
  const libxc = cat(
    IMAGE_HEADER,
    domainHeader(2),
    STATIC_DATA_END,
    TSC_RECORD,
    rec(1, le32(2), le32(0), le64(0x10), le64(0xe000_0000_0000_0011n), page),
    rec(0xa, le32(3), le32(0), le64(34), le64(0xfeffe), le64(12), le64(0xfeffd000), le64(9), le64(1)),
    rec(0xa, le32(3), le32(0), le64(5), le64(0xfeff0), le64(6), le64(0xfeff1), le64(1), le64(0xfeff2)),
    rec(9, context),
    END,
  );
  const libxlTail = cat(rec(2, le32(0), le32(0), ascii(PHYSMAP_TEXT)), rec(3, le32(0), le32(0), qemu), END);
  return { body, qemuRecord, libxc, libxlTail, qemu };
}

function hvmVectors(width: 32 | 64): LegacyVector[] {
  const { body, qemuRecord, libxc, libxlTail } = hvmParts(width);
  const input = cat(body, qemuRecord);
  const base = { width, guest: "hvm" } as const;
  return [
    {
      name: `HVM ${width}-bit toolstack, libxc (QEMU record copied after END)`,
      input,
      options: { ...base, format: "libxc" },
      expected: cat(libxc, qemuRecord),
    },
    {
      name: `HVM ${width}-bit toolstack, libxc, skip QEMU`,
      input,
      options: { ...base, format: "libxc", skipQemu: true },
      expected: libxc,
    },
    {
      name: `HVM ${width}-bit toolstack, libxl (physmap -> EMULATOR_XENSTORE_DATA, QEMU -> EMULATOR_CONTEXT)`,
      input,
      options: { ...base, format: "libxl" },
      expected: cat(LIBXL_HEADER, LIBXC_CONTEXT, libxc, libxlTail),
    },
  ];
}

/** xl header vectors: the header is copied; libxl output adds STREAMv2 (0x2). B1: the reference never matches the magic. */
function xlVectors(): LegacyVector[] {
  const config = ascii('{"c_info":{"type":"hvm"}}\0');
  const { body, qemuRecord, libxc, libxlTail } = hvmParts(32);
  const pv = pvVector(64, 8, "libxc");
  return [
    {
      name: "xl header + HVM 32-bit, libxl (mandatory flags 0x1 -> 0x3)",
      input: cat(xlHeader(1, config), body, qemuRecord),
      options: { width: 32, guest: "hvm", format: "libxl", xl: true },
      expected: cat(xlHeader(3, config), LIBXL_HEADER, LIBXC_CONTEXT, libxc, libxlTail),
      referenceBug: "B1",
    },
    {
      name: "xl header + PV 64-bit, libxc (header copied unchanged)",
      input: cat(xlHeader(1, config), pv.input),
      options: { width: 64, guest: "pv", format: "libxc", xl: true },
      expected: cat(xlHeader(1, config), pv.expected),
      referenceBug: "B1",
    },
    {
      name: "xl header (Xen < 4.5: xl config text, no flags) + PV 64-bit, libxl",
      input: cat(xlHeader(0, ascii("name='x'\n")), pvVector(64, 8, "libxl").input),
      options: { width: 64, guest: "pv", format: "libxl", xl: true },
      expected: cat(xlHeader(2, ascii("name='x'\n")), pvVector(64, 8, "libxl").expected),
      referenceBug: "B1",
    },
  ];
}

/** Cases the reference gets wrong or gives up on, converted as the spec / the legacy restorer say. */
function beyondReference(): LegacyVector[] {
  const out: LegacyVector[] = [];
  // B3: a batch of bare XTAB entries only: no PAGE_DATA at all.
  {
    const { body, qemuRecord, libxc } = hvmParts(64);
    const insertAt = 8 + TSC_CHUNK.length; // after p2m_size and the TSC chunk
    const input = cat(body.subarray(0, insertAt), i32(2), le64(0xf000_0000), le64(0xf000_0000), body.subarray(insertAt), qemuRecord);
    out.push({
      name: "B3: all-XTAB batch dropped (HVM 64-bit, libxc)",
      input,
      options: { width: 64, guest: "hvm", format: "libxc" },
      expected: cat(libxc, qemuRecord),
      referenceBug: "B3",
    });
  }
  // B11: QemuDeviceModelRecord (xend): QEMU state to the end of the stream, "QEVM" first.
  {
    const { body, libxc } = hvmParts(64);
    const state = cat(ascii("QEVM"), pattern(300, 60));
    const record = cat(ascii("QemuDeviceModelRecord"), state);
    out.push({
      name: "B11: QemuDeviceModelRecord, libxc (copied raw to the end)",
      input: cat(body, record),
      options: { width: 64, guest: "hvm", format: "libxc" },
      expected: cat(libxc, record),
      referenceBug: "B11",
    });
    out.push({
      name: "B11: QemuDeviceModelRecord, libxl (EMULATOR_CONTEXT of the state to the end)",
      input: cat(body, record),
      options: { width: 64, guest: "hvm", format: "libxl" },
      expected: cat(LIBXL_HEADER, LIBXC_CONTEXT, libxc, rec(2, le32(0), le32(0), ascii(PHYSMAP_TEXT)), rec(3, le32(0), le32(0), state), END),
      referenceBug: "B11",
    });
  }
  // B11: RemusDeviceModelState: u32 length + data, like DeviceModelRecord0002.
  {
    const { body, libxc, qemu } = hvmParts(32, "RemusDeviceModelState");
    const record = cat(ascii("RemusDeviceModelState"), le32(qemu.length), qemu);
    out.push({
      name: "B11: RemusDeviceModelState, libxl (EMULATOR_CONTEXT)",
      input: cat(body, record),
      options: { width: 32, guest: "hvm", format: "libxl" },
      expected: cat(LIBXL_HEADER, LIBXC_CONTEXT, libxc, rec(2, le32(0), le32(0), ascii(PHYSMAP_TEXT)), rec(3, le32(0), le32(0), qemu), END),
      referenceBug: "B11",
    });
    out.push({
      name: "B11: RemusDeviceModelState, libxc (copied raw)",
      input: cat(body, record),
      options: { width: 32, guest: "hvm", format: "libxc" },
      expected: cat(libxc, record),
      referenceBug: "B11",
    });
  }
  return out;
}

/** Every hand-built vector. */
export function legacyVectors(): LegacyVector[] {
  return [
    pvVector(64, 8, "libxc"),
    pvVector(64, 8, "libxl"),
    pvVector(64, 4, "libxc"),
    pvVector(32, 4, "libxc"),
    pvVector(32, 8, "libxl"),
    ...hvmVectors(64),
    ...hvmVectors(32),
    ...xlVectors(),
    ...beyondReference(),
  ];
}

export { hvmParts, pvVector, TSC_CHUNK };
