/**
 * Ground truth: the real Xen 4.17 `xl save` of a 64-bit PV guest
 * (spec-vectors/captured/xen-4.17-pv-save.skel.xl, 128 MiB, 2 vCPUs, Linux
 * 6.1 kernel). Its X86_PV_VCPU_BASIC and _EXTENDED per vCPU and its
 * SHARED_INFO page decode with every field, re-encode byte for byte, and
 * hold the values a live 64-bit PV Linux guest has (kernel addresses,
 * FLAT_KERNEL_CS64 = 0xe033, VGCF_online, cr3 below max_pfn ...), asserted
 * exactly. The restore checks find nothing in them.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { SaveFileDecoder, type LibxcRecord } from "../../../src/index.js";
import { checkPvVcpuContents } from "../../../src/libxc/contents/pv-vcpu-checks.js";
import { decodePvVcpuBasic, encodePvVcpuBasic, type PvVcpuContext64 } from "../../../src/libxc/contents/pv-vcpu.js";
import { decodePvVcpuExtended, encodePvVcpuExtended } from "../../../src/libxc/contents/pv-vcpu-extended.js";
import { decodeSharedInfo, encodeSharedInfo, type SharedInfo64 } from "../../../src/libxc/contents/shared-info.js";
import { decodeFxsave } from "../../../src/libxc/contents/xsave.js";
import { thrown } from "../../helpers/errors.js";

interface Located {
  record: LibxcRecord;
  offset: number;
  index: number;
}

const FILE = new Uint8Array(readFileSync(new URL("../../../spec-vectors/captured/xen-4.17-pv-save.skel.xl", import.meta.url)));

function libxcRecords(): Located[] {
  const decoder = new SaveFileDecoder();
  const events = [...decoder.push(FILE)];
  decoder.end();
  const out: Located[] = [];
  for (const event of events) {
    if (event.layer === "libxc" && event.kind === "record") out.push({ record: event.record, offset: event.offset, index: event.index });
  }
  return out;
}

const RECORDS = libxcRecords();
const find = (type: string, vcpuId?: number): Located => {
  const found = RECORDS.find((item) => item.record.type === type && (vcpuId === undefined || ("vcpuId" in item.record && item.record.vcpuId === vcpuId)));
  if (found === undefined) throw new Error(`no ${type} ${vcpuId ?? ""} in the captured stream`);
  return found;
};
const vcpuContext = (item: Located): Uint8Array => {
  if (!("context" in item.record)) throw new Error("not a vCPU record");
  return item.record.context;
};

/** The stream's facts: X86_PV_INFO width 8, 4 levels; P2M frames end_pfn 32767 (restore's max_pfn). */
const FACTS = { guestWidth: 8, ptLevels: 4, maxVcpus: 2, maxPfn: 32767 } as const;

test("the stream's PV facts are as assumed", () => {
  expect(find("X86_PV_INFO").record).toMatchObject({ guestWidth: 8, ptLevels: 4 });
  expect(find("X86_PV_P2M_FRAMES").record).toMatchObject({ startPfn: 0, endPfn: 32767 });
});

const KERNEL_TEXT = [0xffff_ffff_8000_0000n, 0xffff_ffff_c000_0000n] as const;
const inKernelText = (address: bigint): boolean => address >= KERNEL_TEXT[0] && address < KERNEL_TEXT[1];

describe("X86_PV_VCPU_BASIC, vCPU 0", () => {
  const item = find("X86_PV_VCPU_BASIC", 0);
  const bytes = vcpuContext(item);
  const context = decodePvVcpuBasic(bytes, { guestWidth: 8, baseOffset: item.offset + 16 }) as PvVcpuContext64;

  test("re-encodes byte for byte", () => {
    expect(bytes.length).toBe(5168);
    expect(encodePvVcpuBasic(context)).toEqual(bytes);
  });

  test("flags, registers, segments", () => {
    expect(context.flags).toBe(0x3dn);
    expect(context.flagNames).toEqual([
      "VGCF_i387_valid",
      "VGCF_in_kernel",
      "VGCF_failsafe_disables_events",
      "VGCF_syscall_disables_events",
      "VGCF_online",
    ]);
    const regs = context.userRegs;
    expect(regs.rip).toBe(0xffff_ffff_81a4_42b5n);
    expect(inKernelText(regs.rip)).toBe(true);
    expect(regs.cs).toBe(0xe033); // FLAT_KERNEL_CS64
    expect(regs.ss).toBe(0xe02b); // FLAT_KERNEL_SS64
    expect(regs.rflags).toBe(0x1206n);
    expect(regs.rsp).toBe(0xffff_c900_4008_3e30n);
    expect(regs.rdx).toBe(0x4a00n); // start_info pfn, below max_pfn
    expect(regs.rcx).toBe(regs.rip); // the hypercall's return address
    expect(regs.entryVector).toBe(0x100);
    expect([regs.es, regs.ds, regs.fs, regs.gs]).toEqual([0, 0, 0, 0]);
  });

  test("page tables: cr3 and the user cr1 are pfns below max_pfn", () => {
    expect(context.ctrlreg).toEqual([0x8005_0033n, 0x510_6001n, 0x3dbe_5730n, 0x67e_e000n, 0x660n, 0n, 0n, 0n]);
    expect(context.cr3Pfn).toBe(0x67een);
    expect(context.cr1Pfn).toBe(0x5106n);
    expect(context.cr3Pfn < BigInt(FACTS.maxPfn)).toBe(true);
  });

  test("GDT, LDT, kernel stack, callbacks, segment bases, vm_assist", () => {
    expect(context.gdtFrames[0]).toBe(0x7a0bn);
    expect(context.gdtFrames.slice(1).every((frame) => frame === 0n)).toBe(true);
    expect(context.gdtEnts).toBe(16n);
    expect([context.ldtBase, context.ldtEnts]).toEqual([0n, 0n]);
    expect(context.kernelSs).toBe(0x1bn);
    expect(context.kernelSp).toBe(0xffff_c900_4008_4000n);
    expect(context.eventCallbackEip).toBe(0xffff_ffff_8102_7ef0n);
    expect(context.failsafeCallbackEip).toBe(0xffff_ffff_81c0_1310n);
    expect(context.syscallCallbackEip).toBe(0xffff_ffff_8102_7f30n);
    for (const address of [context.eventCallbackEip, context.failsafeCallbackEip, context.syscallCallbackEip]) {
      expect(inKernelText(address)).toBe(true);
    }
    expect(context.debugreg).toEqual([0n, 0n, 0n, 0n, 0n, 0n, 0xffff_0ff0n, 0x400n]);
    expect([context.fsBase, context.gsBaseKernel, context.gsBaseUser]).toEqual([0n, 0xffff_8880_07a0_0000n, 0n]);
    expect(context.vmAssist).toBe(0x2dn);
  });

  test("virtual IDT: exception handlers in kernel text, int 0x80 with DPL 3", () => {
    expect(context.trapCtxt[0]).toEqual({ vector: 0, flags: 4, cs: 0x13, pad: 0, address: 0xffff_ffff_8102_7d90n });
    expect(context.trapCtxt[3]).toEqual({ vector: 3, flags: 7, cs: 0x13, pad: 0, address: 0xffff_ffff_8102_7db0n });
    expect(context.trapCtxt[128]).toEqual({ vector: 0x80, flags: 7, cs: 0x13, pad: 0, address: 0xffff_ffff_8102_7ed0n });
    for (let vector = 0; vector < 32; vector++) expect(context.trapCtxt[vector]?.vector).toBe(vector);
    expect(context.trapCtxt[32]).toEqual({ vector: 0, flags: 0, cs: 3, pad: 0, address: 0n });
  });

  test("the FPU image is FXSAVE with the reset control words", () => {
    const fpu = decodeFxsave(context.fpuCtxt);
    expect([fpu.fcw, fpu.mxcsr, fpu.mxcsrMask]).toEqual([0x37f, 0x1f80, 0xffff]);
  });

  test("a cut context reports BAD_LENGTH at its absolute offset", () => {
    const error = thrown(() => decodePvVcpuBasic(bytes.subarray(0, 5000), { guestWidth: 8, baseOffset: item.offset + 16 }));
    expect([error.code, error.offset]).toEqual(["BAD_LENGTH", item.offset + 16]);
  });
});

describe("X86_PV_VCPU_BASIC, vCPU 1", () => {
  const bytes = vcpuContext(find("X86_PV_VCPU_BASIC", 1));
  const context = decodePvVcpuBasic(bytes) as PvVcpuContext64;

  test("values and byte-exact re-encoding", () => {
    expect(encodePvVcpuBasic(context)).toEqual(bytes);
    expect(context.guestWidth).toBe(8);
    expect(context.flags).toBe(0x35n);
    expect(context.flagNames).toContain("VGCF_online");
    expect(context.userRegs.rip).toBe(0xffff_ffff_8119_2872n);
    expect(context.userRegs.cs).toBe(0xe033);
    expect(context.userRegs.rsp).toBe(0xffff_c900_400a_be70n);
    expect(context.userRegs.rflags).toBe(0x1246n);
    expect(context.ctrlreg[3]).toBe(0x2a1_0000n);
    expect(context.cr3Pfn).toBe(0x2a10n);
    expect(context.ctrlreg[1]).toBe(0n);
    expect(context.cr1Pfn).toBeUndefined();
    expect(context.ctrlreg[2]).toBe(0x57_94a9n);
    expect(context.gdtFrames[0]).toBe(0x7b0bn);
    expect(context.kernelSp).toBe(0xffff_c900_400a_c000n);
    expect(context.gsBaseKernel).toBe(0xffff_8880_07b0_0000n);
  });
});

describe("X86_PV_VCPU_EXTENDED", () => {
  test.each([0, 1])("vCPU %i: the 64-byte struct of Xen 4.17", (vcpuId) => {
    const bytes = vcpuContext(find("X86_PV_VCPU_EXTENDED", vcpuId));
    const value = decodePvVcpuExtended(bytes);
    expect(value).toEqual({
      vcpu: vcpuId,
      size: 64,
      syscall32CallbackEip: 0xffff_ffff_8102_7f50n,
      sysenterCallbackEip: 0n,
      syscall32CallbackCs: 0,
      sysenterCallbackCs: 0,
      syscall32DisablesEvents: 1,
      sysenterDisablesEvents: 0,
      pad: 0,
      vmce: { caps: 2n, mciCtl2Bank0: 0n, mciCtl2Bank1: 0n, mcgExtCtl: 0n },
      tail: new Uint8Array(0),
    });
    expect(encodePvVcpuExtended(value)).toEqual(bytes);
  });
});

describe("SHARED_INFO", () => {
  const item = find("SHARED_INFO");
  if (item.record.type !== "SHARED_INFO") throw new Error("unreachable");
  const bytes = item.record.data;
  const info = decodeSharedInfo(bytes, { guestWidth: 8 }) as SharedInfo64;

  test("re-encodes byte for byte", () => {
    expect(encodeSharedInfo(info)).toEqual(bytes);
  });

  test("vcpu_info: upcalls masked in every slot, vCPU 0's time record live", () => {
    expect(info.vcpuInfo.every((slot) => slot.evtchnUpcallMask === 1 && slot.evtchnUpcallPending === 0)).toBe(true);
    expect(info.vcpuInfo[0]?.time).toEqual({
      version: 0x7c,
      pad0: 0,
      tscTimestamp: 0x3_8dbe_befen,
      systemTime: 0x6_627c_2555n,
      tscToSystemMul: 0xc4ec_58b2,
      tscShift: -1,
      flags: 0,
      pad1: [0, 0],
    });
    expect(info.vcpuInfo[1]?.time.version).toBe(0);
  });

  test("event channels, wallclock, arch", () => {
    expect(info.evtchnPendingPorts).toEqual([]);
    expect(info.evtchnMaskPorts).toEqual([]);
    expect([info.wcVersion, info.wcSec, info.wcNsec, info.wcSecHi]).toEqual([2, 0x6b07_4921, 0x1eb9_e123, 0]);
    expect(info.arch).toEqual({
      maxPfn: 0x8000n, // 32768 entries = 128 MiB, end_pfn 32767 + 1
      pfnToMfnFrameListList: 0x3_a365n, // an mfn of the saving host
      nmiReason: 0n,
      p2mCr3: 0x7b61_0000n,
      p2mVaddr: 0xffff_c900_0000_0000n,
      p2mGeneration: 0n,
    });
    expect(info.arch.maxPfn).toBe(BigInt(FACTS.maxPfn + 1));
    expect(info.tail.every((byte) => byte === 0)).toBe(true);
  });
});

test("Xen's restore checks find nothing in the real vCPU records", () => {
  let checked = 0;
  for (const item of RECORDS) {
    if (!("vcpuId" in item.record)) continue;
    checked++;
    const findings = checkPvVcpuContents(item.record.type, item.record.context, {
      ...FACTS,
      vcpuId: item.record.vcpuId,
      baseOffset: item.offset + 16,
      recordIndex: item.index,
    });
    expect(findings).toEqual([]);
  }
  expect(checked).toBe(4);
});
