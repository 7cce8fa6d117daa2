/**
 * Restore-profile checks of the PV vCPU blobs: each rule Xen's restore
 * (xg_sr_restore_x86_pv.c) or the hypervisor (domain.c
 * arch_set_info_guest(), domctl.c) enforces, triggered alone on an
 * otherwise valid blob, gives exactly one finding at the offending byte.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { decodeSaveFile, type LibxcRecord } from "../../../src/index.js";
import { checkPvVcpuContents, type PvVcpuCheckFacts } from "../../../src/libxc/contents/pv-vcpu-checks.js";
import {
  decodePvVcpuBasic,
  encodePvVcpuBasic,
  pfnToCr3For32,
  type PvVcpuContext32,
  type PvVcpuContext64,
} from "../../../src/libxc/contents/pv-vcpu.js";
import { thrown } from "../../helpers/errors.js";
import { cat, le32, le64, zeros } from "../../helpers/hex.js";

function realRecords(): LibxcRecord[] {
  const file = decodeSaveFile(new Uint8Array(readFileSync(new URL("../../../spec-vectors/captured/xen-4.17-pv-save.skel.xl", import.meta.url))));
  if (file.format !== "libxl") throw new Error("expected a libxl stream");
  const part = file.stream.items.find((item) => item.type === "LIBXC_STREAM");
  if (part === undefined || part.type !== "LIBXC_STREAM") throw new Error("no libxc stream");
  return part.stream.records;
}

const RECORDS = realRecords();
function blob(type: string, vcpuId: number): Uint8Array {
  const record = RECORDS.find((item) => item.type === type && "vcpuId" in item && item.vcpuId === vcpuId);
  if (record === undefined || !("context" in record)) throw new Error(`no ${type} for vcpu ${vcpuId}`);
  return record.context;
}

const BASE = 1000;
const FACTS_64: PvVcpuCheckFacts = { guestWidth: 8, ptLevels: 4, vcpuId: 0, maxVcpus: 2, maxPfn: 32767, baseOffset: BASE, recordIndex: 7 };

/** [severity, code, offset within the blob] of each finding. */
function summary(findings: ReturnType<typeof checkPvVcpuContents>): [string, string, number][] {
  for (const finding of findings) {
    expect(finding.recordIndex).toBe(7);
    expect(finding.layer).toBe("libxc");
  }
  return findings.map((finding) => [finding.severity, finding.code, finding.offset - BASE]);
}

describe("X86_PV_VCPU_BASIC, 64-bit", () => {
  const real = decodePvVcpuBasic(blob("X86_PV_VCPU_BASIC", 0)) as PvVcpuContext64;
  const check = (change: (c: PvVcpuContext64) => PvVcpuContext64, facts: Partial<PvVcpuCheckFacts> = {}) =>
    summary(checkPvVcpuContents("X86_PV_VCPU_BASIC", encodePvVcpuBasic(change(real)), { ...FACTS_64, ...facts }));
  const regs = (c: PvVcpuContext64, patch: Partial<PvVcpuContext64["userRegs"]>): PvVcpuContext64 => ({ ...c, userRegs: { ...c.userRegs, ...patch } });
  const ctrl = (c: PvVcpuContext64, index: number, value: bigint): PvVcpuContext64 => ({
    ...c,
    ctrlreg: c.ctrlreg.map((old, i) => (i === index ? value : old)),
  });
  const NON_CANONICAL = 0x0000_8000_0000_0000n;

  test("the real context passes", () => {
    expect(check((c) => c)).toEqual([]);
  });

  test.each([
    ["rip not canonical", (c: PvVcpuContext64) => regs(c, { rip: NON_CANONICAL }), 648],
    ["rsp not canonical", (c: PvVcpuContext64) => regs(c, { rsp: NON_CANONICAL }), 672],
    ["kernel_sp not canonical", (c: PvVcpuContext64) => ({ ...c, kernelSp: NON_CANONICAL }), 4976],
    ["fs_base not canonical", (c: PvVcpuContext64) => ({ ...c, fsBase: NON_CANONICAL }), 5144],
    ["syscall callback not canonical", (c: PvVcpuContext64) => ({ ...c, syscallCallbackEip: NON_CANONICAL }), 5128],
    [
      "trap 14 handler not canonical",
      (c: PvVcpuContext64) => ({ ...c, trapCtxt: c.trapCtxt.map((t, i) => (i === 14 ? { ...t, address: NON_CANONICAL } : t)) }),
      720 + 14 * 16 + 8,
    ],
    ["ldt_base in Xen's area", (c: PvVcpuContext64) => ({ ...c, ldtBase: 0xffff_8000_0000_0000n }), 4816],
    ["ldt_base not page aligned", (c: PvVcpuContext64) => ({ ...c, ldtBase: 0x1234n, ldtEnts: 1n }), 4816],
    ["ldt_ents above 8192", (c: PvVcpuContext64) => ({ ...c, ldtEnts: 8193n }), 4824],
    ["gdt_ents above FIRST_RESERVED_GDT_ENTRY", (c: PvVcpuContext64) => ({ ...c, gdtEnts: 7169n }), 4960],
    ["gdt frame above max_pfn", (c: PvVcpuContext64) => ({ ...c, gdtFrames: c.gdtFrames.map((f, i) => (i === 0 ? 32768n : f)) }), 4832],
    ["cr3 above max_pfn", (c: PvVcpuContext64) => ctrl(c, 3, 32768n << 12n), 5008],
    ["cr1 above max_pfn", (c: PvVcpuContext64) => ctrl(c, 1, (32768n << 12n) | 1n), 4992],
    ["start_info pfn above max_pfn", (c: PvVcpuContext64) => regs(c, { rdx: 32768n }), 616],
    ["vm_assist outside PV64_VM_ASSIST_MASK", (c: PvVcpuContext64) => ({ ...c, vmAssist: c.vmAssist | (1n << 6n) }), 5136],
    ["not in kernel mode without a user page table", (c: PvVcpuContext64) => ctrl({ ...c, flags: c.flags & ~4n }, 1, 0n), 512],
  ] as const)("%s", (_name, change, offset) => {
    expect(check(change)).toEqual([["error", "BAD_FIELD", offset]]);
  });

  test("max_pfn itself is allowed; vCPU-0-only rules skip other vCPUs; unknown facts skip pfn rules", () => {
    expect(check((c) => ctrl(c, 3, 32767n << 12n))).toEqual([]);
    expect(check((c) => ({ ...regs(c, { rdx: 32768n }), vmAssist: 1n << 6n }), { vcpuId: 1 })).toEqual([]);
    expect(check((c) => ctrl(c, 3, 32768n << 12n), { maxPfn: undefined as unknown as number })).toEqual([]);
    expect(check((c) => ctrl(c, 1, (32768n << 12n) | 1n), { ptLevels: 3 })).toEqual([]);
  });

  test("a blob of the wrong size and an empty blob give nothing (the size rule's business)", () => {
    expect(checkPvVcpuContents("X86_PV_VCPU_BASIC", zeros(2800), FACTS_64)).toEqual([]);
    expect(checkPvVcpuContents("X86_PV_VCPU_BASIC", zeros(0), FACTS_64)).toEqual([]);
  });
});

describe("X86_PV_VCPU_BASIC, 32-bit", () => {
  const zero = decodePvVcpuBasic(zeros(2800)) as PvVcpuContext32;
  const facts: PvVcpuCheckFacts = { guestWidth: 4, ptLevels: 3, vcpuId: 0, maxPfn: 0xf_ffff, baseOffset: BASE, recordIndex: 7 };
  const check = (change: (c: PvVcpuContext32) => PvVcpuContext32) =>
    summary(checkPvVcpuContents("X86_PV_VCPU_BASIC", encodePvVcpuBasic(change(zero)), facts));

  test("an all-zero context passes; 64-bit-only rules do not apply", () => {
    expect(check((c) => c)).toEqual([]);
  });

  test.each([
    ["cr3 (extended-cr3 packing) above max_pfn", (c: PvVcpuContext32) => ({ ...c, ctrlreg: c.ctrlreg.map((v, i) => (i === 3 ? pfnToCr3For32(0x12_3456) : v)) }), 2728],
    ["vm_assist outside PV32_VM_ASSIST_MASK", (c: PvVcpuContext32) => ({ ...c, vmAssist: 1 << 6 }), 2796],
    ["ldt_base not page aligned", (c: PvVcpuContext32) => ({ ...c, ldtBase: 0xc000_0010 }), 2632],
    ["start_info pfn above max_pfn", (c: PvVcpuContext32) => ({ ...c, userRegs: { ...c.userRegs, edx: 0x10_0000 } }), 524],
  ] as const)("%s", (_name, change, offset) => {
    expect(check(change)).toEqual([["error", "BAD_FIELD", offset]]);
  });
});

describe("X86_PV_VCPU_EXTENDED", () => {
  const real = blob("X86_PV_VCPU_EXTENDED", 0);
  const patched = (offset: number, bytes: Uint8Array): Uint8Array => {
    const out = real.slice();
    out.set(bytes, offset);
    return out;
  };
  const check = (bytes: Uint8Array, facts: Partial<PvVcpuCheckFacts> = {}) =>
    summary(checkPvVcpuContents("X86_PV_VCPU_EXTENDED", bytes, { ...FACTS_64, ...facts }));

  test("the real blob passes", () => {
    expect(check(real)).toEqual([]);
  });

  test.each([
    ["embedded vcpu differs from vcpu_id", patched(0, le32(1)), [["warning", "BAD_FIELD", 0]]],
    ["embedded vcpu not below max_vcpus", patched(0, le32(5)), [["error", "BAD_FIELD", 0]]],
    ["size below offsetof(vmce)", patched(4, le32(16)), [["error", "BAD_FIELD", 4]]],
    ["size past the blob", patched(4, le32(100)), [["warning", "BAD_SIZE", 4]]],
    ["sysenter callback not canonical", patched(16, le64(0x0000_8000_0000_0000n)), [["error", "BAD_FIELD", 16]]],
    ["syscall32 callback not canonical", patched(8, le64(0x1234_5678_9abc_def0n)), [["error", "BAD_FIELD", 8]]],
    ["no size field", real.subarray(0, 6), [["error", "BAD_SIZE", 0]]],
  ] as const)("%s", (_name, bytes, expected) => {
    expect(check(bytes)).toEqual(expected);
  });

  test("over 128 bytes: the size rule's business", () => {
    expect(check(zeros(129))).toEqual([]);
  });
});

describe("X86_PV_VCPU_XSAVE", () => {
  const header = (xstateBv: bigint, xcompBv = 0n, reserved: bigint[] = [0n, 0n, 0n, 0n, 0n, 0n]): Uint8Array =>
    cat(le64(xstateBv), le64(xcompBv), ...reserved.map(le64));
  const area = (xcr0: bigint, accum: bigint, head: Uint8Array, extra = 256): Uint8Array =>
    cat(le64(xcr0), le64(accum), zeros(512), head, zeros(extra));
  const check = (bytes: Uint8Array, facts: Partial<PvVcpuCheckFacts> = {}) =>
    summary(checkPvVcpuContents("X86_PV_VCPU_XSAVE", bytes, { ...FACTS_64, ...facts }));

  test("valid blobs pass", () => {
    expect(check(area(7n, 7n, header(7n)))).toEqual([]);
    expect(check(cat(le64(0n), le64(0n)))).toEqual([]);
    expect(check(area(7n, 7n, header(3n)), { xstateSize: () => 576 + 256 })).toEqual([]);
  });

  test.each([
    ["xstate_bv outside xcr0_accum", area(7n, 7n, header(0xfn)), [["error", "BAD_FIELD", 528]]],
    ["xcr0 outside xcr0_accum", area(0xfn, 7n, header(7n)), [["error", "BAD_FIELD", 0], ["error", "BAD_FIELD", 0]]],
    ["xcr0 YMM without SSE", area(5n, 7n, header(5n)), [["error", "BAD_FIELD", 0]]],
    ["xcr0_accum BNDREGS without BNDCSR", area(3n, 0xbn, header(3n)), [["error", "BAD_FIELD", 8]]],
    ["compacted area", area(7n, 7n, header(7n, 1n << 63n)), [["error", "BAD_FIELD", 536]]],
    ["reserved header word", area(7n, 7n, header(7n, 0n, [0n, 0n, 9n, 0n, 0n, 0n])), [["error", "RESERVED_NONZERO", 560]]],
    ["xcr0 without xcr0_accum", cat(le64(1n), le64(0n)), [["error", "BAD_FIELD", 0]]],
    ["a size between 16 and 592", zeros(100), [["error", "BAD_SIZE", 0]]],
  ] as const)("%s", (_name, bytes, expected) => {
    expect(check(bytes)).toEqual(expected);
  });

  test("the exact size for xcr0_accum, when the CPU policy says it", () => {
    expect(check(area(7n, 7n, header(7n), 0), { xstateSize: () => 576 + 256 })).toEqual([["error", "BAD_SIZE", 0]]);
  });
});

describe("X86_PV_VCPU_MSRS", () => {
  const entry = (index: number, reserved = 0, value = 1n): Uint8Array => cat(le32(index), le32(reserved), le64(value));
  const check = (bytes: Uint8Array) => summary(checkPvVcpuContents("X86_PV_VCPU_MSRS", bytes, FACTS_64));

  test("accepted MSRs pass", () => {
    expect(check(cat(entry(0x48), entry(0xc0000103), entry(0xc0011019)))).toEqual([]);
  });

  test.each([
    ["reserved not zero", cat(entry(0x48), entry(0x140, 1)), [["error", "RESERVED_NONZERO", 20]]],
    ["an MSR Xen does not restore", cat(entry(0x48), entry(0xc0000080)), [["error", "BAD_FIELD", 16]]],
    ["8 MSRs: too many without DBEXT", cat(...Array.from({ length: 8 }, () => entry(0x48))), [["warning", "BAD_SIZE", 0]]],
    ["12 MSRs: too many", cat(...Array.from({ length: 12 }, () => entry(0x48))), [["error", "BAD_SIZE", 0]]],
  ] as const)("%s", (_name, bytes, expected) => {
    expect(check(bytes)).toEqual(expected);
  });

  test("a partial entry: the size rule's business", () => {
    expect(check(zeros(17))).toEqual([]);
  });
});

describe("API misuse", () => {
  test.each([
    ["guest width 2", () => checkPvVcpuContents("X86_PV_VCPU_BASIC", zeros(5168), { guestWidth: 2 as 8, vcpuId: 0 })],
    ["negative vcpu id", () => checkPvVcpuContents("X86_PV_VCPU_MSRS", zeros(16), { guestWidth: 8, vcpuId: -1 })],
    ["not a vCPU record", () => checkPvVcpuContents("SHARED_INFO" as "X86_PV_VCPU_MSRS", zeros(16), { guestWidth: 8, vcpuId: 0 })],
    ["context not bytes", () => checkPvVcpuContents("X86_PV_VCPU_MSRS", [] as unknown as Uint8Array, { guestWidth: 8, vcpuId: 0 })],
    ["bad base offset", () => checkPvVcpuContents("X86_PV_VCPU_MSRS", zeros(16), { guestWidth: 8, vcpuId: 0, baseOffset: 0.5 })],
  ])("%s is USAGE", (_name, call) => {
    expect(thrown(call).code).toBe("USAGE");
  });
});
