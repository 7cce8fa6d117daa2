/**
 * X86_PV_VCPU_MSRS contents (xen_domctl_vcpu_msr_t array, spec
 * hvm-context-and-cpu.md §5) and the MSR name table (Xen msr-index.h).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { decodePvVcpuMsrs, encodePvVcpuMsrs, PV_VCPU_MSRS_ACCEPTED } from "../../../src/libxc/contents/msrs.js";
import { MSR_NAME_COUNT, msrIndex, msrName, msrNames } from "../../../src/libxc/contents/msr-names.js";
import { pvVcpuMsrsBlob } from "../../../src/testing/pv-vcpu.js";
import { thrown } from "../../helpers/errors.js";
import { cat, le32, le64, offsetCopy } from "../../helpers/hex.js";

describe("MSR names", () => {
  test.each([
    [0x48, "MSR_SPEC_CTRL"],
    [0xce, "MSR_INTEL_PLATFORM_INFO"],
    [0x10a, "MSR_ARCH_CAPABILITIES"],
    [0x140, "MSR_INTEL_MISC_FEATURES_ENABLES"],
    [0x1b, "MSR_APIC_BASE"],
    [0xc0000080, "MSR_EFER"],
    [0xc0000082, "MSR_LSTAR"],
    [0xc0000103, "MSR_TSC_AUX"],
    [0xc0011027, "MSR_AMD64_DR0_ADDRESS_MASK"],
    [0xc001101b, "MSR_AMD64_DR3_ADDRESS_MASK"],
    [0x204, "MSR_IA32_MTRR_PHYSBASE(2)"],
    [0x401, "MSR_IA32_MC0_STATUS"],
    [0x405, "MSR_IA32_MCx_STATUS(1)"],
    [0x0, "MSR_P5_MC_ADDR"],
  ])("%i is %s", (index, name) => {
    expect(msrName(index)).toBe(name);
    expect(msrIndex(name)).toBe(index);
  });

  test("aliases, unknown indices", () => {
    expect(msrNames(0xc0000080)).toEqual(["MSR_EFER", "MSR_K6_EFER"]);
    expect(msrIndex("MSR_K6_EFER")).toBe(0xc0000080);
    expect(msrName(0x4000_0000)).toBeUndefined();
    expect(msrNames(0x4000_0000)).toEqual([]);
    expect(msrIndex("MSR_NOPE")).toBeUndefined();
    expect(MSR_NAME_COUNT).toBeGreaterThan(500);
  });

  test("every MSR Xen restores for PV vCPUs is named", () => {
    expect(PV_VCPU_MSRS_ACCEPTED.map(msrName)).toEqual([
      "MSR_SPEC_CTRL",
      "MSR_INTEL_MISC_FEATURES_ENABLES",
      "MSR_TSC_AUX",
      "MSR_AMD64_DR0_ADDRESS_MASK",
      "MSR_AMD64_DR1_ADDRESS_MASK",
      "MSR_AMD64_DR2_ADDRESS_MASK",
      "MSR_AMD64_DR3_ADDRESS_MASK",
    ]);
  });
});

// index u32 @0, reserved u32 @4, value u64 @8.
const BLOB = cat(le32(0x48), le32(0), le64(1), le32(0xc0000103), le32(0), le64(3), le32(0x4000_0001), le32(7), le64(0xffff_ffff_ffff_ffffn));

describe("X86_PV_VCPU_MSRS", () => {
  test("entries with names; unknown names undefined, reserved kept", () => {
    const entries = decodePvVcpuMsrs(BLOB);
    expect(entries).toEqual([
      { index: 0x48, reserved: 0, value: 1n, name: "MSR_SPEC_CTRL" },
      { index: 0xc0000103, reserved: 0, value: 3n, name: "MSR_TSC_AUX" },
      { index: 0x4000_0001, reserved: 7, value: 0xffff_ffff_ffff_ffffn, name: undefined },
    ]);
    expect(encodePvVcpuMsrs(entries)).toEqual(BLOB);
    expect(decodePvVcpuMsrs(offsetCopy(BLOB))).toEqual(entries);
    expect(decodePvVcpuMsrs(new Uint8Array(0))).toEqual([]);
  });

  test.each([
    [1, 0],
    [15, 0],
    [17, 16],
    [47, 32],
  ])("%i bytes: BAD_LENGTH at the partial entry (+%i)", (size, at) => {
    const error = thrown(() => decodePvVcpuMsrs(new Uint8Array(size), { baseOffset: 64 }));
    expect([error.code, error.offset]).toEqual(["BAD_LENGTH", 64 + at]);
  });

  test("encoder range errors at the entry's field", () => {
    const entries = decodePvVcpuMsrs(BLOB);
    const error = thrown(() =>
      encodePvVcpuMsrs(entries.map((entry, i) => (i === 2 ? { ...entry, value: 1n << 64n } : entry)), { baseOffset: 10 }),
    );
    expect([error.code, error.offset]).toEqual(["BAD_VALUE", 10 + 32 + 8]);
    const index = thrown(() => encodePvVcpuMsrs([{ index: -1, reserved: 0, value: 0n, name: undefined }]));
    expect([index.code, index.offset]).toEqual(["BAD_VALUE", 0]);
  });

  test("property: round trip", () => {
    fc.assert(
      fc.property(pvVcpuMsrsBlob(), ({ value, bytes }) => {
        expect(encodePvVcpuMsrs(value)).toEqual(bytes);
        expect(decodePvVcpuMsrs(bytes)).toEqual(value);
      }),
      { numRuns: 100 },
    );
  });
});
