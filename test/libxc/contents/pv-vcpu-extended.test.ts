/**
 * X86_PV_VCPU_EXTENDED contents (xen_domctl_ext_vcpucontext, spec
 * hvm-context-and-cpu.md §4): every size Xen's restore accepts (0-128
 * bytes), fields present while whole, the rest kept as the tail.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodePvVcpuExtended,
  encodePvVcpuExtended,
  pvVcpuExtendedFieldOffset,
  type PvVcpuExtended,
} from "../../../src/libxc/contents/pv-vcpu-extended.js";
import { pvVcpuExtendedBlob } from "../../../src/testing/pv-vcpu.js";
import { thrown } from "../../helpers/errors.js";
import { cat, le16, le32, le64, offsetCopy, pattern } from "../../helpers/hex.js";

// §4 table, field by field.
const FULL_64 = cat(
  le32(1), // vcpu
  le32(64), // size
  le64(0xffff_ffff_8102_7f50n), // syscall32_callback_eip
  le64(0xffff_ffff_8102_7f60n), // sysenter_callback_eip
  le16(0xe023), // syscall32_callback_cs
  le16(0xe019), // sysenter_callback_cs
  Uint8Array.of(1), // syscall32_disables_events
  Uint8Array.of(0), // sysenter_disables_events
  le16(0xa5a5), // 2 bytes of alignment padding
  le64(0x0902), // vmce.caps
  le64(0x11), // vmce.mci_ctl2_bank0
  le64(0x22), // vmce.mci_ctl2_bank1
  le64(0x33), // vmce.mcg_ext_ctl
);

const FULL_VALUE: PvVcpuExtended = {
  vcpu: 1,
  size: 64,
  syscall32CallbackEip: 0xffff_ffff_8102_7f50n,
  sysenterCallbackEip: 0xffff_ffff_8102_7f60n,
  syscall32CallbackCs: 0xe023,
  sysenterCallbackCs: 0xe019,
  syscall32DisablesEvents: 1,
  sysenterDisablesEvents: 0,
  pad: 0xa5a5,
  vmce: { caps: 0x902n, mciCtl2Bank0: 0x11n, mciCtl2Bank1: 0x22n, mcgExtCtl: 0x33n },
  tail: new Uint8Array(0),
};

describe("xen_domctl_ext_vcpucontext", () => {
  test("the 64-byte struct of Xen >= 4.10", () => {
    expect(FULL_64.length).toBe(64);
    expect(decodePvVcpuExtended(FULL_64)).toEqual(FULL_VALUE);
    expect(encodePvVcpuExtended(FULL_VALUE)).toEqual(FULL_64);
    expect(decodePvVcpuExtended(offsetCopy(FULL_64))).toEqual(FULL_VALUE);
  });

  test("a legacy 128-byte slice keeps the slack as the tail", () => {
    const slack = pattern(64, 9);
    const bytes = cat(FULL_64, slack);
    const value = decodePvVcpuExtended(bytes);
    expect(value).toEqual({ ...FULL_VALUE, tail: slack });
    expect(encodePvVcpuExtended(value)).toEqual(bytes);
  });

  test("56 bytes (Xen 4.3-4.9): no mcg_ext_ctl", () => {
    const value = decodePvVcpuExtended(FULL_64.subarray(0, 56));
    expect(value.vmce).toEqual({ caps: 0x902n, mciCtl2Bank0: 0x11n, mciCtl2Bank1: 0x22n });
    expect(value.tail).toEqual(new Uint8Array(0));
    expect(encodePvVcpuExtended(value)).toEqual(FULL_64.subarray(0, 56));
  });

  test("40 bytes: mcg_cap only", () => {
    const value = decodePvVcpuExtended(FULL_64.subarray(0, 40));
    expect(value.vmce).toEqual({ caps: 0x902n });
  });

  test("a field cut by the end of the blob goes to the tail", () => {
    const value = decodePvVcpuExtended(FULL_64.subarray(0, 12));
    expect(value).toEqual({ vcpu: 1, size: 64, tail: FULL_64.subarray(8, 12) });
    expect(encodePvVcpuExtended(value)).toEqual(FULL_64.subarray(0, 12));
  });

  test("empty and 1-byte blobs", () => {
    expect(decodePvVcpuExtended(new Uint8Array(0))).toEqual({ tail: new Uint8Array(0) });
    expect(decodePvVcpuExtended(Uint8Array.of(7))).toEqual({ tail: Uint8Array.of(7) });
  });

  test("field offsets", () => {
    expect(pvVcpuExtendedFieldOffset("size")).toBe(4);
    expect(pvVcpuExtendedFieldOffset("syscall32DisablesEvents")).toBe(28);
    expect(pvVcpuExtendedFieldOffset("vmce.mcgExtCtl")).toBe(56);
    expect(pvVcpuExtendedFieldOffset("nope")).toBeUndefined();
  });
});

describe("hostile input", () => {
  test.each([129, 256, 4096])("%i bytes: BAD_LENGTH at baseOffset", (size) => {
    const error = thrown(() => decodePvVcpuExtended(new Uint8Array(size), { baseOffset: 40 }));
    expect([error.code, error.offset]).toEqual(["BAD_LENGTH", 40]);
  });

  test("encoder: a gap in the fields, an oversized tail, a bad value", () => {
    const gap = thrown(() => encodePvVcpuExtended({ vcpu: 0, vmce: { caps: 1n }, tail: new Uint8Array(0) }, { baseOffset: 100 }));
    expect([gap.code, gap.offset]).toEqual(["BAD_VALUE", 132]);
    const big = thrown(() => encodePvVcpuExtended({ ...FULL_VALUE, tail: new Uint8Array(65) }));
    expect([big.code, big.offset]).toEqual(["BAD_VALUE", 0]);
    const value = thrown(() => encodePvVcpuExtended({ ...FULL_VALUE, sysenterCallbackCs: 0x1_0000 }, { baseOffset: 8 }));
    expect([value.code, value.offset]).toEqual(["BAD_VALUE", 8 + 26]);
    const tail = thrown(() => encodePvVcpuExtended({ vcpu: 0 } as unknown as PvVcpuExtended));
    expect([tail.code, tail.offset]).toEqual(["BAD_VALUE", 4]);
  });
});

describe("properties", () => {
  test("round trip over every accepted size", () => {
    fc.assert(
      fc.property(pvVcpuExtendedBlob(), ({ value, bytes }) => {
        expect(encodePvVcpuExtended(value)).toEqual(bytes);
        expect(decodePvVcpuExtended(encodePvVcpuExtended(value))).toEqual(value);
      }),
      { numRuns: 200 },
    );
  });
});
