/**
 * checkHvmContext: what Xen's hvm_load() (xen/arch/x86/hvm/save.c) and
 * its loaders refuse, each case a hand-built blob with the exact finding
 * codes, severities and byte positions expected.
 */
import { describe, expect, test } from "vitest";
import { checkHvmContext, xsaveAreaSize, type HvmContextCheckOptions } from "../../../src/libxc/contents/hvm-context.js";
import { cat, le16, le32, le64, pattern, zeros } from "../../helpers/hex.js";
import { thrown } from "../../helpers/errors.js";

const desc = (typecode: number, instance: number, length: number): Uint8Array => cat(le16(typecode), le16(instance), le32(length));
const HEADER_BODY = cat(le32(0x5438_1286), le32(1), le64(0n), le32(0x0006_0fb1), le32(0));
const HEADER = cat(desc(1, 0, 24), HEADER_BODY);
const END = desc(0, 0, 0);
const entry = (typecode: number, instance: number, body: Uint8Array): Uint8Array => cat(desc(typecode, instance, body.length), body);
const blobOf = (...entries: Uint8Array[]): Uint8Array => cat(HEADER, ...entries, END);

/** A CPU body Xen loads: cr0 = PE|ET|PG (0x80000011), pad0 0, flags 1. */
function cpuBody(patch: (view: DataView) => void = () => {}): Uint8Array {
  const body = pattern(1032, 3);
  const view = new DataView(body.buffer);
  view.setBigUint64(656, 0x8000_0011n, true);
  view.setUint32(1024, 1, true);
  view.setUint32(1028, 0, true);
  patch(view);
  return body;
}

/** Position of the first entry after HEADER. */
const FIRST = 32;

type Row = [code: string, severity: "error" | "warning", pos: number];
const summary = (blob: Uint8Array, options?: HvmContextCheckOptions): Row[] =>
  checkHvmContext(blob, options).map((f) => [f.code, f.severity, f.pos]);

describe("checkHvmContext: hvm_load() rules", () => {
  const cases: Array<[name: string, blob: Uint8Array, options: HvmContextCheckOptions, expected: Row[]]> = [
    ["HEADER, CPU, END: loads", blobOf(entry(2, 0, cpuBody())), { vcpus: 1 }, []],
    ["empty blob", zeros(0), {}, [["NO_HEADER", "error", 0], ["NO_END", "error", 0]]],
    ["zero-length HEADER", cat(desc(1, 0, 0), END), {}, [["NO_HEADER", "error", 4]]],
    ["first entry CPU", cat(entry(2, 0, cpuBody()), END), {}, [["NO_HEADER", "error", 0]]],
    ["bad magic", cat(desc(1, 0, 24), le32(0xdead_beef), HEADER_BODY.subarray(4), END), {}, [["BAD_MAGIC", "error", 8]]],
    ["version 2", cat(desc(1, 0, 24), le32(0x5438_1286), le32(2), HEADER_BODY.subarray(8), END), {}, [["BAD_VERSION", "error", 12]]],
    ["a second HEADER has no loader", blobOf(HEADER), {}, [["UNKNOWN_TYPECODE", "error", FIRST]]],
    ["typecode 21", blobOf(entry(21, 0, zeros(4))), {}, [["UNKNOWN_TYPECODE", "error", FIRST]]],
    ["typecode 22 (Amazon range)", blobOf(entry(22, 0, zeros(0))), {}, [["UNKNOWN_TYPECODE", "error", FIRST]]],
    ["strict: PIC of 9 bytes", blobOf(entry(3, 0, zeros(9))), {}, [["BAD_LENGTH", "error", FIRST + 4]]],
    ["strict: TSC_ADJUST of 4 bytes", blobOf(entry(19, 0, zeros(4))), {}, [["BAD_LENGTH", "error", FIRST + 4]]],
    ["zero-extend: CPU of 1040 bytes", blobOf(entry(2, 0, cat(cpuBody(), zeros(8)))), {}, [["BAD_LENGTH", "error", FIRST + 4]]],
    ["zero-extend: CPU of 1024 bytes (Xen <= 4.6) loads", blobOf(entry(2, 0, cpuBody().subarray(0, 1024))), {}, []],
    ["zero-extend: CPU of 1016 bytes (Xen <= 3.4 layout) loads", blobOf(entry(2, 0, cpuBody().subarray(0, 1016))), {}, []],
    ["zero-extend: LAPIC of 32 bytes on Xen 4.17", blobOf(entry(5, 0, zeros(32))), { xenRelease: [4, 17] }, [["BAD_LENGTH", "error", FIRST + 4]]],
    ["zero-extend: LAPIC of 32 bytes on Xen 4.21", blobOf(entry(5, 0, zeros(32))), { xenRelease: [4, 21] }, []],
    ["zero-extend: RTC of 24 bytes on Xen 4.13", blobOf(entry(11, 0, zeros(24))), { xenRelease: [4, 13] }, [["BAD_LENGTH", "error", FIRST + 4]]],
    ["zero-extend: VIRIDIAN_VCPU of 16 bytes loads", blobOf(entry(17, 0, zeros(16))), {}, []],
    ["per-vCPU instance beyond the vCPU count", blobOf(entry(19, 2, zeros(8))), { vcpus: 2 }, [["BAD_INSTANCE", "error", FIRST + 2]]],
    ["per-vCPU instance unchecked without a vCPU count", blobOf(entry(19, 9, zeros(8))), {}, []],
    ["PIC instance 2", blobOf(entry(3, 2, zeros(8))), {}, [["BAD_INSTANCE", "error", FIRST + 2]]],
    ["PVH: a PIC entry (no vPIC)", blobOf(entry(3, 0, zeros(8))), { emulation: "pvh" }, [["NO_DEVICE", "error", FIRST]]],
    ["PVH: LAPIC and LAPIC_REGS load", blobOf(entry(5, 0, zeros(24)), entry(6, 0, zeros(1024))), { emulation: "pvh" }, []],
    ["HVM: every device loads", blobOf(entry(10, 0, zeros(56)), entry(13, 0, zeros(8))), { emulation: "hvm" }, []],
    ["per-domain instance is not checked (IOAPIC 5)", blobOf(entry(4, 5, zeros(400))), { vcpus: 1 }, []],
    ["duplicate entry: a warning", blobOf(entry(19, 0, zeros(8)), entry(19, 0, zeros(8))), {}, [["DUPLICATE_ENTRY", "warning", FIRST + 16]]],
    ["CPU pad0 non-zero", blobOf(entry(2, 0, cpuBody((v) => v.setUint32(1028, 1, true)))), {}, [["BAD_FIELD", "error", FIRST + 8 + 1028]]],
    ["CPU cr0 without ET", blobOf(entry(2, 0, cpuBody((v) => v.setBigUint64(656, 0x8000_0001n, true)))), {}, [["BAD_FIELD", "error", FIRST + 8 + 656]]],
    ["CPU cr0 PG without PE", blobOf(entry(2, 0, cpuBody((v) => v.setBigUint64(656, 0x8000_0010n, true)))), {}, [["BAD_FIELD", "error", FIRST + 8 + 656]]],
    ["CPU cr0 reserved bit 32", blobOf(entry(2, 0, cpuBody((v) => v.setBigUint64(656, 0x1_8000_0011n, true)))), {}, [["BAD_FIELD", "error", FIRST + 8 + 656]]],
    ["fields: false skips value checks", blobOf(entry(2, 0, cpuBody((v) => v.setUint32(1028, 1, true)))), { fields: false }, []],
    ["VIRIDIAN_VCPU _pad non-zero", blobOf(entry(17, 0, cat(le64(0n), Uint8Array.of(1, 0, 0, 5), zeros(4)))), {}, [["BAD_FIELD", "error", FIRST + 8 + 11]]],
    ["CPU_MSR with no entry", blobOf(entry(20, 0, cat(le32(0), le32(0)))), {}, [["BAD_LENGTH", "error", FIRST + 4]]],
    ["CPU_MSR count disagreeing with the length", blobOf(entry(20, 0, cat(le32(2), le32(0), le32(0x48), le32(0), le64(1n)))), {}, [["BAD_FIELD", "error", FIRST + 8]]],
    ["CPU_MSR _rsvd non-zero", blobOf(entry(20, 0, cat(le32(1), le32(0), le32(0x48), le32(1), le64(1n)))), {}, [["BAD_FIELD", "error", FIRST + 8 + 12]]],
    ["CPU_MSR of an MSR Xen does not restore", blobOf(entry(20, 0, cat(le32(1), le32(0), le32(0x10), le32(0), le64(1n)))), {}, [["BAD_FIELD", "error", FIRST + 8 + 8]]],
    ["CPU_MSR PKRS on Xen 4.17", blobOf(entry(20, 0, cat(le32(1), le32(0), le32(0x6e1), le32(0), le64(1n)))), { xenRelease: [4, 17] }, [["BAD_FIELD", "error", FIRST + 8 + 8]]],
    ["CPU_MSR PKRS on Xen 4.18", blobOf(entry(20, 0, cat(le32(1), le32(0), le32(0x6e1), le32(0), le64(1n)))), { xenRelease: [4, 18] }, []],
    ["descriptor cut short", cat(HEADER, zeros(5)), {}, [["FRAMING", "error", FIRST]]],
    ["entry past the blob", cat(HEADER, desc(19, 0, 0xffff_ffff)), {}, [["FRAMING", "error", FIRST + 4]]],
    ["no END", cat(HEADER, entry(19, 0, zeros(8))), {}, [["NO_END", "error", FIRST + 16]]],
    ["END with a length, bytes after END: warnings", cat(HEADER, desc(0, 0, 2), zeros(2), zeros(3)), {}, [["AFTER_END", "warning", FIRST + 4], ["AFTER_END", "warning", FIRST + 10]]],
  ];
  for (const [name, blob, options, expected] of cases) {
    test(name, () => expect(summary(blob, options)).toEqual(expected));
  }

  test("offset = pos + baseOffset; entryIndex names the entry", () => {
    const [finding] = checkHvmContext(blobOf(entry(19, 0, zeros(8)), entry(3, 0, zeros(7))), { baseOffset: 5000 });
    expect(finding).toEqual({
      severity: "error",
      code: "BAD_LENGTH",
      pos: FIRST + 16 + 4,
      offset: 5000 + FIRST + 16 + 4,
      entryIndex: 2,
      message: "entry 2 (typecode 3 PIC, instance 0): length must be 8 (hvm_load_entry(), strict), got 7",
    });
  });

  test("USAGE for bad options, never a throw for bad bytes", () => {
    expect(thrown(() => checkHvmContext(blobOf(), { vcpus: -1 })).code).toBe("USAGE");
    expect(thrown(() => checkHvmContext(blobOf(), { xenRelease: [4] as unknown as [number, number] })).code).toBe("USAGE");
    expect(thrown(() => checkHvmContext(null as unknown as Uint8Array)).code).toBe("USAGE");
    expect(thrown(() => checkHvmContext(blobOf(), { emulation: "pv" as "hvm" })).code).toBe("USAGE");
  });
});

describe("CPU_XSAVE (hvm_load_cpu_xsave_states(), validate_xstate())", () => {
  /** xfeature_mask, xcr0, xcr0_accum, 512 legacy bytes, xstate_bv, xcomp_bv, 6 reserved, then `extra`. */
  const xsave = (xcr0: bigint, accum: bigint, bv: bigint, comp: bigint, extra: Uint8Array): Uint8Array =>
    cat(le64(accum), le64(xcr0), le64(accum), zeros(512), le64(bv), le64(comp), zeros(48), extra);
  const at = FIRST + 8;

  test("xsaveAreaSize: CPUID.0xD.0.EBX for the standard components", () => {
    expect([0x1n, 0x3n, 0x7n, 0x1fn, 0xe7n, 0x2e7n, 0x60007n, 0x4000_0000_0000_0007n].map(xsaveAreaSize)).toEqual([576, 576, 832, 1088, 2688, 2696, 11008, 960]);
    expect(xsaveAreaSize(1n << 8n)).toBeUndefined();
  });

  const cases: Array<[name: string, body: Uint8Array, expected: Row[]]> = [
    ["x87+SSE+AVX, 856 bytes: loads", xsave(7n, 7n, 7n, 0n, zeros(256)), []],
    ["over-long with zero excess (Xen <= 4.3.0): loads", xsave(7n, 7n, 7n, 0n, zeros(264)), []],
    ["over-long with non-zero excess", xsave(7n, 7n, 7n, 0n, cat(zeros(256), zeros(7), Uint8Array.of(1))), [["BAD_LENGTH", "error", FIRST + 4]]],
    ["too short for xcr0_accum", xsave(7n, 7n, 7n, 0n, zeros(0)), [["BAD_LENGTH", "error", FIRST + 4]]],
    ["under 600 bytes", zeros(599), [["BAD_LENGTH", "error", FIRST + 4]]],
    ["compressed format", xsave(3n, 3n, 3n, 0x8000_0000_0000_0003n, zeros(0)), [["BAD_FIELD", "error", at + 544]]],
    ["xstate_bv outside xcr0_accum", xsave(3n, 3n, 7n, 0n, zeros(0)), [["BAD_FIELD", "error", at + 536]]],
    ["xcr0 outside xcr0_accum", xsave(7n, 3n, 3n, 0n, zeros(0)), [["BAD_FIELD", "error", at + 8]]],
    ["xcr0 without x87", xsave(2n, 3n, 3n, 0n, zeros(0)), [["BAD_FIELD", "error", at + 8]]],
    ["YMM without SSE in xcr0_accum", xsave(1n, 5n, 1n, 0n, zeros(256)), [["BAD_FIELD", "error", at + 16]]],
  ];
  for (const [name, body, expected] of cases) test(name, () => expect(summary(blobOf(entry(16, 0, body)))).toEqual(expected));

  test("a reserved header word", () => {
    const body = xsave(3n, 3n, 3n, 0n, zeros(0));
    body[552 + 8 * 5] = 1;
    expect(summary(blobOf(entry(16, 0, body)))).toEqual([["BAD_FIELD", "error", at + 552 + 40]]);
  });
});
