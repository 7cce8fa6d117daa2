/**
 * X86_PV_VCPU_XSAVE contents (spec hvm-context-and-cpu.md §5; Xen
 * domctl.c XEN_DOMCTL_{get,set}vcpuextstate) and the FXSAVE image
 * (asm/xstate.h struct xsave_struct fpu_sse), built field by field.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodeFxsave,
  decodePvVcpuXsave,
  encodeFxsave,
  encodePvVcpuXsave,
  xcr0Names,
  type PvVcpuXsave,
} from "../../../src/libxc/contents/xsave.js";
import { pvVcpuXsaveBlob } from "../../../src/testing/pv-vcpu.js";
import { thrown } from "../../helpers/errors.js";
import { cat, le16, le32, le64, offsetCopy, pattern, zeros } from "../../helpers/hex.js";

// FXSAVE: fcw 0, fsw 2, ftw 4, rsvd1 5, fop 6, fip 8, fdp 16, mxcsr 24,
// mxcsr_mask 28, ST0-7 32..160, XMM0-15 160..416, rest 416..512.
const ST = Array.from({ length: 8 }, (_, i) => pattern(16, 10 + i));
const XMM = Array.from({ length: 16 }, (_, i) => pattern(16, 40 + i));
const REST = pattern(96, 99);
const FXSAVE = cat(
  le16(0x37f),
  le16(0x0020),
  Uint8Array.of(0x81),
  Uint8Array.of(0x00),
  le16(0x07df),
  le64(0xffff_ffff_8100_1234n),
  le64(0x0000_7fff_0000_5678n),
  le32(0x1f80),
  le32(0xffff),
  ...ST,
  ...XMM,
  REST,
);

const FXSAVE_VALUE = {
  fcw: 0x37f,
  fsw: 0x20,
  ftw: 0x81,
  rsvd1: 0,
  fop: 0x7df,
  fip: 0xffff_ffff_8100_1234n,
  fdp: 0x7fff_0000_5678n,
  mxcsr: 0x1f80,
  mxcsrMask: 0xffff,
  st: ST,
  xmm: XMM,
  rest: REST,
};

describe("FXSAVE image", () => {
  test("fields and registers", () => {
    expect(FXSAVE.length).toBe(512);
    expect(decodeFxsave(FXSAVE)).toEqual(FXSAVE_VALUE);
    expect(encodeFxsave(decodeFxsave(offsetCopy(FXSAVE)))).toEqual(FXSAVE);
  });

  test("wrong sizes and registers", () => {
    const error = thrown(() => decodeFxsave(new Uint8Array(511), { baseOffset: 16 }));
    expect([error.code, error.offset]).toEqual(["BAD_LENGTH", 16]);
    const register = thrown(() => encodeFxsave({ ...FXSAVE_VALUE, xmm: [...XMM.slice(0, 15), new Uint8Array(15)] }));
    expect([register.code, register.offset]).toEqual(["BAD_VALUE", 160 + 15 * 16]);
  });
});

// PV blob: xcr0 0, xcr0_accum 8, FXSAVE 16..528, xstate_bv 528, xcomp_bv 536,
// reserved[6] 544..592, components from 592.
const AVX = pattern(256, 5);
const XSAVE_BLOB = cat(le64(0x7), le64(0x7), FXSAVE, le64(0x7), le64(0), le64(0), le64(0), le64(0), le64(0), le64(0), le64(0x1234), AVX);

describe("X86_PV_VCPU_XSAVE", () => {
  test("a 16-byte blob: xcr0 and xcr0_accum only", () => {
    const value = decodePvVcpuXsave(cat(le64(0), le64(0)));
    expect(value).toEqual({ xcr0: 0n, xcr0Accum: 0n, xcr0Names: [] });
    expect(encodePvVcpuXsave(value)).toEqual(new Uint8Array(16));
  });

  test("xcr0, FXSAVE region, header, raw components", () => {
    expect(XSAVE_BLOB.length).toBe(592 + 256);
    const value = decodePvVcpuXsave(XSAVE_BLOB);
    expect(value).toEqual({
      xcr0: 7n,
      xcr0Accum: 7n,
      xcr0Names: ["X86_XCR0_FP", "X86_XCR0_SSE", "X86_XCR0_YMM"],
      legacy: FXSAVE_VALUE,
      header: { xstateBv: 7n, xcompBv: 0n, reserved: [0n, 0n, 0n, 0n, 0n, 0x1234n] },
      extended: AVX,
    });
    expect(encodePvVcpuXsave(value)).toEqual(XSAVE_BLOB);
    expect(decodePvVcpuXsave(offsetCopy(XSAVE_BLOB))).toEqual(value);
  });

  test("exactly 592 bytes: an empty component area", () => {
    const value = decodePvVcpuXsave(XSAVE_BLOB.subarray(0, 592));
    expect(value.extended).toEqual(new Uint8Array(0));
    expect(encodePvVcpuXsave(value)).toEqual(XSAVE_BLOB.subarray(0, 592));
  });

  test("xcr0 names", () => {
    expect(xcr0Names(0x2ffn | (1n << 62n))).toEqual([
      "X86_XCR0_FP",
      "X86_XCR0_SSE",
      "X86_XCR0_YMM",
      "X86_XCR0_BNDREGS",
      "X86_XCR0_BNDCSR",
      "X86_XCR0_OPMASK",
      "X86_XCR0_ZMM",
      "X86_XCR0_HI_ZMM",
      "X86_XCR0_PKRU",
      "X86_XCR0_LWP",
    ]);
  });

  test.each([0, 8, 15, 17, 24, 528, 591])("%i bytes: BAD_LENGTH at baseOffset", (size) => {
    const error = thrown(() => decodePvVcpuXsave(zeros(size), { baseOffset: 300 }));
    expect([error.code, error.offset]).toEqual(["BAD_LENGTH", 300]);
  });

  test("encoder: parts all or none, values in range", () => {
    const value = decodePvVcpuXsave(XSAVE_BLOB);
    const partial = { xcr0: 1n, xcr0Accum: 1n, xcr0Names: [], header: value.header } as PvVcpuXsave;
    expect(thrown(() => encodePvVcpuXsave(partial)).code).toBe("BAD_VALUE");
    const bad = thrown(() => encodePvVcpuXsave({ ...value, xcr0Accum: -1n }, { baseOffset: 1000 }));
    expect([bad.code, bad.offset]).toEqual(["BAD_VALUE", 1008]);
    const header = value.header ?? { xstateBv: 0n, xcompBv: 0n, reserved: [] };
    const reserved = thrown(() => encodePvVcpuXsave({ ...value, header: { ...header, reserved: [0n] } }));
    expect([reserved.code, reserved.offset]).toEqual(["BAD_VALUE", 544]);
  });

  test("property: round trip", () => {
    fc.assert(
      fc.property(pvVcpuXsaveBlob(), ({ value, bytes }) => {
        expect(encodePvVcpuXsave(value)).toEqual(bytes);
        expect(decodePvVcpuXsave(encodePvVcpuXsave(value))).toEqual(value);
      }),
      { numRuns: 60 },
    );
  });
});
