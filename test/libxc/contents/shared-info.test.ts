/**
 * SHARED_INFO contents (struct shared_info of xen.h for either guest
 * width, spec hvm-context-and-cpu.md §6): hand-built pages with values at
 * the table's offsets, the whole page kept, hostile sizes, round trips.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodeSharedInfo,
  encodeSharedInfo,
  sharedInfoFieldOffset,
  type SharedInfo32,
  type SharedInfo64,
} from "../../../src/libxc/contents/shared-info.js";
import { sharedInfoPage } from "../../../src/testing/pv-vcpu.js";
import { thrown } from "../../helpers/errors.js";
import { le32, le64, offsetCopy, pattern } from "../../helpers/hex.js";

function page(fields: [offset: number, bytes: Uint8Array][]): Uint8Array {
  const out = new Uint8Array(4096);
  for (const [offset, bytes] of fields) out.set(bytes, offset);
  return out;
}

const TAIL_64 = pattern(4096 - 3136, 3);
const PAGE_64 = page([
  // vcpu_info[0]
  [0, Uint8Array.of(1, 0, 0, 0x77)],
  [8, le64(0x8000_0000_0000_0001n)], // evtchn_pending_sel
  [16, le64(0x7f12_3456_7000n)], // arch.cr2
  [24, le64(0x99)], // arch.pad
  [32, le32(0x7c)], // time.version
  [36, le32(0x1)], // time.pad0
  [40, le64(0x3_8dbe_befen)], // tsc_timestamp
  [48, le64(0x6_627c_2555n)], // system_time
  [56, le32(0xc4ec_58b2)], // tsc_to_system_mul
  [60, Uint8Array.of(0xff, 0x01, 0x00, 0x42)], // tsc_shift -1, flags TSC_STABLE, pad1
  // vcpu_info[31] at 31 * 64 = 1984
  [1984, Uint8Array.of(0, 1)],
  [2016, le32(2)],
  // evtchn_pending[64] at 2048, evtchn_mask[64] at 2560
  [2048, le64(0x9)],
  [2056, le64(0x8000_0000_0000_0000n)],
  [3064, le64(0x1)],
  [3072, le32(2)], // wc_version
  [3076, le32(0x6b07_4921)], // wc_sec
  [3080, le32(0x1eb9_e123)], // wc_nsec
  [3084, le32(0x1)], // wc_sec_hi
  [3088, le64(0x8000)], // arch.max_pfn
  [3096, le64(0x3_a365)], // pfn_to_mfn_frame_list_list
  [3104, le64(0x2)], // nmi_reason
  [3112, le64(0x7b61_0000)], // p2m_cr3
  [3120, le64(0xffff_c900_0000_0000n)], // p2m_vaddr
  [3128, le64(0x4)], // p2m_generation
  [3136, TAIL_64],
]);

describe("64-bit shared_info", () => {
  const info = decodeSharedInfo(PAGE_64, { guestWidth: 8 }) as SharedInfo64;

  test("vcpu_info slots", () => {
    expect(info.vcpuInfo).toHaveLength(32);
    expect(info.vcpuInfo[0]).toEqual({
      evtchnUpcallPending: 1,
      evtchnUpcallMask: 0,
      pad: [0, 0x77, 0, 0, 0, 0],
      evtchnPendingSel: 0x8000_0000_0000_0001n,
      arch: { cr2: 0x7f12_3456_7000n, pad: 0x99n },
      time: {
        version: 0x7c,
        pad0: 1,
        tscTimestamp: 0x3_8dbe_befen,
        systemTime: 0x6_627c_2555n,
        tscToSystemMul: 0xc4ec_58b2,
        tscShift: -1,
        flags: 1,
        pad1: [0, 0x42],
      },
    });
    expect(info.vcpuInfo[31]?.evtchnUpcallMask).toBe(1);
    expect(info.vcpuInfo[31]?.time.version).toBe(2);
  });

  test("event channel bitmaps, as words and as ports", () => {
    expect(info.evtchnPending).toHaveLength(64);
    expect(info.evtchnPending[0]).toBe(9n);
    expect(info.evtchnPendingPorts).toEqual([0, 3, 127]);
    expect(info.evtchnMaskPorts).toEqual([63 * 64]);
  });

  test("wallclock and arch_shared_info", () => {
    expect([info.wcVersion, info.wcSec, info.wcNsec, info.wcSecHi]).toEqual([2, 0x6b07_4921, 0x1eb9_e123, 1]);
    expect(info.arch).toEqual({
      maxPfn: 0x8000n,
      pfnToMfnFrameListList: 0x3_a365n,
      nmiReason: 2n,
      p2mCr3: 0x7b61_0000n,
      p2mVaddr: 0xffff_c900_0000_0000n,
      p2mGeneration: 4n,
    });
    expect(info.tail).toEqual(TAIL_64);
  });

  test("encodes back to the page", () => {
    expect(encodeSharedInfo(info)).toEqual(PAGE_64);
    expect(decodeSharedInfo(offsetCopy(PAGE_64), { guestWidth: 8 })).toEqual(info);
  });
});

const TAIL_32 = pattern(4096 - 2344, 4);
const PAGE_32 = page([
  [0, Uint8Array.of(1, 1, 0x12, 0x34)], // pending, mask, 2 pad bytes
  [4, le32(0x8000_0001)], // evtchn_pending_sel
  [8, le32(0xb7f0_0000)], // arch.cr2
  [28, le32(0x55)], // arch.pad[4]
  [32, le32(0x9)], // time.version
  [56, le32(0x1234_5678)], // tsc_to_system_mul
  [60, Uint8Array.of(0x02, 0x02)], // tsc_shift 2, flags GUEST_STOPPED
  [2052, le32(0x8000_0000)], // evtchn_pending[1] bit 31: port 63
  [2176 + 124, le32(0x8000_0000)], // evtchn_mask[31] bit 31: port 1023
  [2304, le32(6)], // wc_version
  [2308, le32(0x6000_0000)], // wc_sec
  [2312, le32(999)], // wc_nsec
  [2316, le32(0x4_0000)], // arch.max_pfn
  [2320, le32(0x1234)], // pfn_to_mfn_frame_list_list
  [2324, le32(1)], // nmi_reason
  [2328, le32(0x2345_6001)], // p2m_cr3
  [2332, le32(0xc200_0000)], // p2m_vaddr
  [2336, le32(8)], // p2m_generation
  [2340, le32(0x2)], // arch.wc_sec_hi
  [2344, TAIL_32],
]);

describe("32-bit shared_info", () => {
  const info = decodeSharedInfo(PAGE_32, { guestWidth: 4 }) as SharedInfo32;

  test("fields at the 32-bit offsets", () => {
    expect(info.vcpuInfo[0]).toEqual({
      evtchnUpcallPending: 1,
      evtchnUpcallMask: 1,
      pad: [0x12, 0x34],
      evtchnPendingSel: 0x8000_0001,
      arch: { cr2: 0xb7f0_0000, pad: [0, 0, 0, 0, 0x55] },
      time: { version: 9, pad0: 0, tscTimestamp: 0n, systemTime: 0n, tscToSystemMul: 0x1234_5678, tscShift: 2, flags: 2, pad1: [0, 0] },
    });
    expect(info.evtchnPending).toHaveLength(32);
    expect(info.evtchnPendingPorts).toEqual([63]);
    expect(info.evtchnMaskPorts).toEqual([1023]);
    expect([info.wcVersion, info.wcSec, info.wcNsec]).toEqual([6, 0x6000_0000, 999]);
    expect(info.arch).toEqual({
      maxPfn: 0x4_0000,
      pfnToMfnFrameListList: 0x1234,
      nmiReason: 1,
      p2mCr3: 0x2345_6001,
      p2mVaddr: 0xc200_0000,
      p2mGeneration: 8,
      wcSecHi: 2,
    });
    expect("wcSecHi" in info).toBe(false);
    expect(info.tail).toEqual(TAIL_32);
  });

  test("encodes back to the page", () => {
    expect(encodeSharedInfo(info)).toEqual(PAGE_32);
  });
});

describe("offsets, hostile input, options", () => {
  test.each([
    [8, "arch.maxPfn", 3088],
    [8, "vcpuInfo[1].time.version", 96],
    [8, "evtchnMask", 2560],
    [4, "arch.wcSecHi", 2340],
    [4, "vcpuInfo[31].evtchnPendingSel", 1988],
    [4, "evtchnMask", 2176],
  ] as const)("width %i: %s at %i", (width, path, offset) => {
    expect(sharedInfoFieldOffset(width, path)).toBe(offset);
  });

  test("unknown fields", () => {
    expect(sharedInfoFieldOffset(8, "vcpuInfo[32]")).toBeUndefined();
    expect(sharedInfoFieldOffset(8, "arch.wcSecHi")).toBeUndefined();
  });

  test.each([0, 4095, 4097, 8192])("%i bytes: BAD_LENGTH at baseOffset", (size) => {
    const error = thrown(() => decodeSharedInfo(new Uint8Array(size), { guestWidth: 8, baseOffset: 123 }));
    expect([error.code, error.offset]).toEqual(["BAD_LENGTH", 123]);
  });

  test("guestWidth is required", () => {
    expect(thrown(() => decodeSharedInfo(PAGE_64, {} as { guestWidth: 8 })).code).toBe("USAGE");
    expect(thrown(() => decodeSharedInfo(PAGE_64, undefined as unknown as { guestWidth: 8 })).code).toBe("USAGE");
  });

  test("encoder errors at the field", () => {
    const info = decodeSharedInfo(PAGE_64, { guestWidth: 8 }) as SharedInfo64;
    const tail = thrown(() => encodeSharedInfo({ ...info, tail: new Uint8Array(1) }, { baseOffset: 10 }));
    expect([tail.code, tail.offset]).toEqual(["BAD_VALUE", 10 + 3136]);
    const slot = thrown(() =>
      encodeSharedInfo({ ...info, vcpuInfo: info.vcpuInfo.map((v, i) => (i === 2 ? { ...v, time: { ...v.time, tscShift: 128 } } : v)) }),
    );
    expect([slot.code, slot.offset]).toEqual(["BAD_VALUE", 2 * 64 + 60]);
    const slots = thrown(() => encodeSharedInfo({ ...info, vcpuInfo: info.vcpuInfo.slice(1) }));
    expect(slots.code).toBe("BAD_VALUE");
  });

  test("property: round trip both widths", () => {
    fc.assert(
      fc.property(sharedInfoPage(), ({ value, bytes }) => {
        expect(encodeSharedInfo(value)).toEqual(bytes);
        expect(decodeSharedInfo(encodeSharedInfo(value), { guestWidth: value.guestWidth })).toEqual(value);
      }),
      { numRuns: 40 },
    );
  });
});
