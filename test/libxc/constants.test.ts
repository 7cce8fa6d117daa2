/**
 * Pins every libxc struct size and constant to the spec tables
 * (libxc-stream.md §2-§6; Xen xg_sr_stream_format.h), as Xen pins them with
 * BUILD_BUG_ON and tests.py test_format_sizes.
 */
import { describe, expect, test } from "vitest";
import { LibxcEncoder } from "../../src/index.js";
import {
  COUNT_HEADER_SIZE,
  CPUID_POLICY_ENTRY_SIZE,
  DHDR_SIZE,
  DomainType,
  HVM_PARAMS_ENTRY_SIZE,
  IHDR_ID,
  IHDR_MARKER,
  IHDR_OPT_BIG_ENDIAN,
  IHDR_OPT_RESERVED_MASK,
  IHDR_SIZE,
  IHDR_VERSION_MAX,
  IHDR_VERSION_MIN,
  LibxcRecordType,
  MAX_BATCH_SIZE,
  MSR_POLICY_ENTRY_SIZE,
  P2M_FRAMES_HEADER_SIZE,
  PAGE_DATA_PFN_MASK,
  PAGE_DATA_PFN_MAX,
  PAGE_DATA_TYPE_MASK,
  PAGE_SHIFT_MAX,
  PAGE_SHIFT_MIN,
  PAGE_TYPE_PINNED_FLAG,
  PageType,
  RECORD_HEADER_SIZE,
  REC_LENGTH_MAX,
  VCPU_HEADER_SIZE,
  XEN_CPUID_NO_SUBLEAF,
  X86_PV_INFO_SIZE,
  X86_TSC_INFO_SIZE,
  isKnownPageType,
  pageTypeHasData,
} from "../../src/constants.js";

test("struct sizes", () => {
  expect(IHDR_SIZE).toBe(24); // struct xc_sr_ihdr
  expect(DHDR_SIZE).toBe(16); // struct xc_sr_dhdr
  expect(RECORD_HEADER_SIZE).toBe(8); // struct xc_sr_rhdr
  expect(LibxcEncoder.headersSize).toBe(40);
  expect(COUNT_HEADER_SIZE).toBe(8); // xc_sr_rec_page_data_header / hvm_params header
  expect(X86_PV_INFO_SIZE).toBe(8); // xc_sr_rec_x86_pv_info
  expect(P2M_FRAMES_HEADER_SIZE).toBe(8); // xc_sr_rec_x86_pv_p2m_frames (without the array)
  expect(VCPU_HEADER_SIZE).toBe(8); // xc_sr_rec_x86_pv_vcpu_hdr
  expect(X86_TSC_INFO_SIZE).toBe(24); // xc_sr_rec_x86_tsc_info
  expect(HVM_PARAMS_ENTRY_SIZE).toBe(16); // xc_sr_rec_hvm_params_entry
  expect(CPUID_POLICY_ENTRY_SIZE).toBe(24); // xen_cpuid_leaf_t
  expect(MSR_POLICY_ENTRY_SIZE).toBe(16); // xen_msr_entry_t
});

test("header constants", () => {
  expect(IHDR_MARKER).toBe(0xffffffffffffffffn);
  expect(IHDR_ID).toBe(0x58454e46);
  expect(String.fromCharCode(0x58, 0x45, 0x4e, 0x46)).toBe("XENF");
  expect(IHDR_OPT_BIG_ENDIAN).toBe(0x0001);
  expect(IHDR_OPT_RESERVED_MASK).toBe(0xfffe);
  expect(IHDR_VERSION_MIN).toBe(2);
  expect(IHDR_VERSION_MAX).toBe(3);
  expect(DomainType).toStrictEqual({ X86_PV: 1, X86_HVM: 2 });
  expect(PAGE_SHIFT_MIN).toBe(12);
  expect(PAGE_SHIFT_MAX).toBe(24);
  expect(REC_LENGTH_MAX).toBe(0x08000000);
  expect(MAX_BATCH_SIZE).toBe(1024);
  expect(XEN_CPUID_NO_SUBLEAF).toBe(0xffffffff);
});

test("record type ids (spec record catalogue)", () => {
  expect(LibxcRecordType).toStrictEqual({
    END: 0x00,
    PAGE_DATA: 0x01,
    X86_PV_INFO: 0x02,
    X86_PV_P2M_FRAMES: 0x03,
    X86_PV_VCPU_BASIC: 0x04,
    X86_PV_VCPU_EXTENDED: 0x05,
    X86_PV_VCPU_XSAVE: 0x06,
    SHARED_INFO: 0x07,
    X86_TSC_INFO: 0x08,
    HVM_CONTEXT: 0x09,
    HVM_PARAMS: 0x0a,
    TOOLSTACK: 0x0b,
    X86_PV_VCPU_MSRS: 0x0c,
    VERIFY: 0x0d,
    CHECKPOINT: 0x0e,
    CHECKPOINT_DIRTY_PFN_LIST: 0x0f,
    STATIC_DATA_END: 0x10,
    X86_CPUID_POLICY: 0x11,
    X86_MSR_POLICY: 0x12,
  });
});

describe("PAGE_DATA entry layout", () => {
  test("masks", () => {
    expect(PAGE_DATA_PFN_MASK).toBe(0x000fffffffffffffn);
    expect(PAGE_DATA_TYPE_MASK).toBe(0xf000000000000000n);
    expect(PAGE_DATA_PFN_MAX).toBe(2 ** 52 - 1);
    expect(BigInt(PAGE_DATA_PFN_MAX)).toBe(PAGE_DATA_PFN_MASK);
    expect(PAGE_TYPE_PINNED_FLAG).toBe(0x8);
  });

  test("page type nibbles (XEN_DOMCTL_PFINFO_* >> 28)", () => {
    expect(PageType).toStrictEqual({
      NOTAB: 0x0,
      L1TAB: 0x1,
      L2TAB: 0x2,
      L3TAB: 0x3,
      L4TAB: 0x4,
      L1TAB_PINNED: 0x9,
      L2TAB_PINNED: 0xa,
      L3TAB_PINNED: 0xb,
      L4TAB_PINNED: 0xc,
      BROKEN: 0xd,
      XALLOC: 0xe,
      XTAB: 0xf,
    });
  });

  // nibble -> [known to Xen, carries a page of data] (libxc-stream.md §6.2 table)
  const table: [number, boolean, boolean][] = [
    [0x0, true, true],
    [0x1, true, true],
    [0x2, true, true],
    [0x3, true, true],
    [0x4, true, true],
    [0x5, false, false],
    [0x6, false, false],
    [0x7, false, false],
    [0x8, false, false],
    [0x9, true, true],
    [0xa, true, true],
    [0xb, true, true],
    [0xc, true, true],
    [0xd, true, false],
    [0xe, true, false],
    [0xf, true, false],
  ];
  for (const [nibble, known, data] of table) {
    test(`type 0x${nibble.toString(16)}`, () => {
      expect(isKnownPageType(nibble)).toBe(known);
      expect(pageTypeHasData(nibble)).toBe(data);
    });
  }

  test("isKnownPageType rejects non-nibbles", () => {
    for (const value of [-1, 16, 1.5, Number.NaN]) expect(isKnownPageType(value)).toBe(false);
  });
});
