/**
 * The verifier's HVM_CONTEXT helpers (src/verify/hvm-context.ts) delegate
 * to the HVM context module: the first error finding (framing, HEADER,
 * END, typecodes, lengths, instances; not field values) and the vCPU count
 * from the CPU entries.
 */
import { describe, expect, test } from "vitest";
import { hvmContextProblem, hvmContextVcpus } from "../../../src/verify/hvm-context.js";
import { cat, le16, le32, le64, zeros } from "../../helpers/hex.js";

const desc = (typecode: number, instance: number, length: number): Uint8Array => cat(le16(typecode), le16(instance), le32(length));
const HEADER = cat(desc(1, 0, 24), le32(0x5438_1286), le32(1), le64(0n), le32(0), le32(0));
const END = desc(0, 0, 0);
const cpu = (instance: number): Uint8Array => cat(desc(2, instance, 1032), zeros(1032));

describe("verify/hvm-context.ts over the HVM context module", () => {
  test("a blob Xen loads: no problem; vCPUs counted from CPU entries", () => {
    const blob = cat(HEADER, cpu(0), cpu(3), END);
    expect(hvmContextProblem(blob)).toBeUndefined();
    expect(hvmContextVcpus(blob)).toBe(2);
  });

  test("the first error, with its position in the blob", () => {
    expect(hvmContextProblem(cat(HEADER.subarray(0, 8), le32(0x1234_5678), HEADER.subarray(12), END))).toEqual({
      pos: 8,
      message: "HEADER magic must be 0x54381286, got 0x12345678 (arch_hvm_load())",
    });
    expect(hvmContextProblem(cat(HEADER, desc(3, 0, 9), zeros(9), END))?.pos).toBe(36);
    expect(hvmContextProblem(cat(HEADER, desc(21, 0, 0), END))?.pos).toBe(32);
    expect(hvmContextProblem(cat(HEADER, cpu(0)))?.pos).toBe(32 + 8 + 1032);
  });

  test("field values and warnings are not reported here", () => {
    const badPad = cat(HEADER, desc(2, 0, 1032), zeros(1028), le32(1), END);
    expect(hvmContextProblem(badPad)).toBeUndefined();
    expect(hvmContextProblem(cat(HEADER, cpu(0), cpu(0), END, zeros(3)))).toBeUndefined();
  });

  test("the vCPU count stops at an entry that does not fit", () => {
    expect(hvmContextVcpus(cat(HEADER, cpu(0), desc(2, 1, 5000), zeros(8)))).toBe(1);
  });
});
