/**
 * Robustness of every PV vCPU / shared-info contents decoder and of the
 * restore checks: arbitrary bytes of any length give a value that
 * re-encodes to the same bytes, or a XenStreamError (BAD_LENGTH at the
 * base offset or at the partial MSR entry), never another exception; the
 * checks never throw. Also the by-type dispatcher.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { isXenStreamError } from "../../../src/index.js";
import { decodePvVcpuContents, encodePvVcpuContents } from "../../../src/libxc/contents/pv-contents.js";
import { checkPvVcpuContents } from "../../../src/libxc/contents/pv-vcpu-checks.js";
import { decodeSharedInfo, encodeSharedInfo } from "../../../src/libxc/contents/shared-info.js";
import type { VcpuRecordTypeName } from "../../../src/libxc/types.js";
import { thrown } from "../../helpers/errors.js";

const TYPES: VcpuRecordTypeName[] = ["X86_PV_VCPU_BASIC", "X86_PV_VCPU_EXTENDED", "X86_PV_VCPU_XSAVE", "X86_PV_VCPU_MSRS"];

/** Lengths around every boundary the decoders know, and anything else. */
const length = fc.oneof(
  fc.constantFrom(0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 591, 592, 593, 2799, 2800, 2801, 4095, 4096, 4097, 5167, 5168, 5169),
  fc.integer({ min: 0, max: 6000 }),
);
const blob = length.chain((size) => fc.uint8Array({ minLength: size, maxLength: size }));

describe("arbitrary bytes", () => {
  test("each vCPU record decoder: a lossless value or BAD_LENGTH", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), blob, fc.constantFrom<4 | 8 | undefined>(4, 8, undefined), fc.nat({ max: 1 << 20 }), (type, bytes, guestWidth, baseOffset) => {
        const options = guestWidth === undefined ? { baseOffset } : { baseOffset, guestWidth };
        let contents;
        try {
          contents = decodePvVcpuContents(type, bytes, options);
        } catch (error) {
          expect(isXenStreamError(error)).toBe(true);
          if (!isXenStreamError(error)) return;
          expect(error.code).toBe("BAD_LENGTH");
          expect(error.offset).toBe(type === "X86_PV_VCPU_MSRS" ? baseOffset + bytes.length - (bytes.length % 16) : baseOffset);
          return;
        }
        expect(contents.type).toBe(type);
        expect(encodePvVcpuContents(contents)).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  test("the restore checks never throw and point inside the blob", () => {
    fc.assert(
      fc.property(fc.constantFrom(...TYPES), blob, fc.constantFrom<4 | 8>(4, 8), fc.nat({ max: 3 }), (type, bytes, guestWidth, vcpuId) => {
        const findings = checkPvVcpuContents(type, bytes, { guestWidth, vcpuId, maxVcpus: 2, maxPfn: 0x8000, ptLevels: 4, baseOffset: 100 });
        for (const finding of findings) {
          expect(finding.offset).toBeGreaterThanOrEqual(100);
          expect(finding.offset).toBeLessThan(100 + Math.max(bytes.length, 1));
        }
      }),
      { numRuns: 300 },
    );
  });

  test("shared info: a lossless value or BAD_LENGTH", () => {
    fc.assert(
      fc.property(fc.oneof(blob, fc.uint8Array({ minLength: 4096, maxLength: 4096 })), fc.constantFrom<4 | 8>(4, 8), (bytes, guestWidth) => {
        try {
          expect(encodeSharedInfo(decodeSharedInfo(bytes, { guestWidth }))).toEqual(bytes);
        } catch (error) {
          expect(isXenStreamError(error) && error.code === "BAD_LENGTH" && bytes.length !== 4096).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe("dispatcher", () => {
  test("an unknown record type is USAGE", () => {
    expect(thrown(() => decodePvVcpuContents("PAGE_DATA" as VcpuRecordTypeName, new Uint8Array(0))).code).toBe("USAGE");
    expect(thrown(() => encodePvVcpuContents({ type: "NOPE" } as never)).code).toBe("USAGE");
  });

  test("BASIC with an explicit width", () => {
    const contents = decodePvVcpuContents("X86_PV_VCPU_BASIC", new Uint8Array(2800), { guestWidth: 4 });
    expect(contents.type === "X86_PV_VCPU_BASIC" && contents.basic.guestWidth).toBe(4);
    expect(thrown(() => decodePvVcpuContents("X86_PV_VCPU_BASIC", new Uint8Array(2800), { guestWidth: 8, baseOffset: 9 })).offset).toBe(9);
  });
});
