/**
 * X86_PV_VCPU_BASIC contents (vcpu_guest_context), 64-bit and 32-bit:
 * hand-built vectors whose bytes are placed at the offsets of the struct
 * tables (hvm-context-and-cpu.md §3.1/§3.2, Xen arch-x86/xen.h,
 * xen-x86_64.h, xen-x86_32.h) independently of the library's layout
 * tables; hostile sizes; encoder range errors; fast-check round trips.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  cr3ToPfn32,
  decodePvVcpuBasic,
  encodePvVcpuBasic,
  pfnToCr3For32,
  pvVcpuFieldOffset,
  VCPU_GUEST_CONTEXT_SIZE_32,
  VCPU_GUEST_CONTEXT_SIZE_64,
  type PvVcpuContext32,
  type PvVcpuContext64,
} from "../../../src/libxc/contents/pv-vcpu.js";
import { pvVcpuBasicContext } from "../../../src/testing/pv-vcpu.js";
import { thrown } from "../../helpers/errors.js";
import { le16, le32, le64, offsetCopy, pattern } from "../../helpers/hex.js";

/** A zeroed buffer with little-endian values placed at hand-written offsets. */
function build(size: number, fields: [offset: number, bytes: Uint8Array][]): Uint8Array {
  const out = new Uint8Array(size);
  for (const [offset, bytes] of fields) out.set(bytes, offset);
  return out;
}

const u8 = (value: number): Uint8Array => Uint8Array.of(value);

// ------------------------------------------------------------- 64-bit

// Offsets from the 64-bit column of §3.1 and the 200-byte cpu_user_regs of §3.2
// (user_regs at 520: r15 520, rbp 552, rbx 560, rax 600, rcx 608, rdx 616,
// rdi 632, error_code 640, entry_vector 644, rip 648, cs 656, _pad0 658,
// saved_upcall_mask 660, _pad1 661, rflags 664, rsp 672, ss 680, es 688,
// ds 696, fs 704, gs 712).
const FPU = pattern(512, 1);
const HAND_64 = build(VCPU_GUEST_CONTEXT_SIZE_64, [
  [0, FPU],
  [512, le64(0x125)], // flags: i387_valid | in_kernel | online | in_syscall
  [520, le64(0x1515_1515_1515_1515n)], // r15
  [552, le64(0xbbbb_0000_0000_0001n)], // rbp
  [560, le64(0x00bb)], // rbx
  [600, le64(0xaaaa)], // rax
  [608, le64(0xcccc)], // rcx
  [616, le64(0x4a00)], // rdx (start_info pfn for vCPU 0)
  [632, le64(0xd1d1)], // rdi
  [640, le32(0x1234_5678)], // error_code (u32 on 64-bit)
  [644, le32(0x100)], // entry_vector
  [648, le64(0xffff_ffff_8100_0000n)], // rip
  [656, le16(0xe033)], // cs
  [658, le16(0xabcd)], // _pad0[0]
  [660, u8(1)], // saved_upcall_mask
  [661, Uint8Array.of(7, 8, 9)], // _pad1[3]
  [664, le64(0x246)], // rflags
  [672, le64(0xffff_c900_0000_0ff8n)], // rsp
  [680, le16(0xe02b)], // ss
  [682, le16(0x1111)], // _pad2[0]
  [686, le16(0x3333)], // _pad2[2]
  [688, le16(0x2b)], // es
  [696, le16(0x2c)], // ds
  [704, le16(0x2d)], // fs
  [712, le16(0x2e)], // gs
  [718, le16(0x6666)], // _pad6[2]
  // trap_ctxt[14] at 720 + 14*16 = 944: vector, flags, cs, 4 pad bytes, address
  [944, Uint8Array.of(14, 0x04)],
  [946, le16(0xe033)],
  [948, le32(0xdead_beef)],
  [952, le64(0xffff_ffff_8100_1400n)],
  // trap_ctxt[255] at 720 + 255*16 = 4800
  [4800, u8(255)],
  [4808, le64(0xffff_ffff_8100_ff00n)],
  [4816, le64(0xffff_8880_0010_0000n)], // ldt_base
  [4824, le64(32)], // ldt_ents
  [4832, le64(0x7a0b)], // gdt_frames[0]
  [4952, le64(0x7f0f)], // gdt_frames[15]
  [4960, le64(16)], // gdt_ents
  [4968, le64(0xe02b)], // kernel_ss
  [4976, le64(0xffff_c900_4008_4000n)], // kernel_sp
  [4984, le64(0x8005_0033)], // ctrlreg[0]
  [4992, le64(0x510_6001)], // ctrlreg[1]: (0x5106 << 12) | 1
  [5000, le64(0x3dbe_5730)], // ctrlreg[2]
  [5008, le64(0x67e_e000)], // ctrlreg[3]: 0x67ee << 12
  [5016, le64(0x660)], // ctrlreg[4]
  [5040, le64(0x77)], // ctrlreg[7]
  [5048, le64(0xd0)], // debugreg[0]
  [5096, le64(0xffff_0ff0)], // debugreg[6]
  [5104, le64(0x400)], // debugreg[7]
  [5112, le64(0xffff_ffff_8102_7ef0n)], // event_callback_eip
  [5120, le64(0xffff_ffff_81c0_1310n)], // failsafe_callback_eip
  [5128, le64(0xffff_ffff_8102_7f30n)], // syscall_callback_eip
  [5136, le64(0x1_0000_002dn)], // vm_assist: 0, 2, 3, 5, 32
  [5144, le64(0x7f00_0000_1000n)], // fs_base
  [5152, le64(0xffff_8880_07a0_0000n)], // gs_base_kernel
  [5160, le64(0x7f00_0000_2000n)], // gs_base_user
]);

describe("64-bit vcpu_guest_context, hand-built", () => {
  const context = decodePvVcpuBasic(HAND_64, { guestWidth: 8 }) as PvVcpuContext64;

  test("top-level fields at their offsets", () => {
    expect(context.guestWidth).toBe(8);
    expect(context.fpuCtxt).toEqual(FPU);
    expect(context.flags).toBe(0x125n);
    expect(context.flagNames).toEqual(["VGCF_i387_valid", "VGCF_in_kernel", "VGCF_online", "VGCF_in_syscall"]);
    expect(context.ldtBase).toBe(0xffff_8880_0010_0000n);
    expect(context.ldtEnts).toBe(32n);
    expect(context.gdtFrames).toEqual([0x7a0bn, ...Array<bigint>(14).fill(0n), 0x7f0fn]);
    expect(context.gdtEnts).toBe(16n);
    expect(context.kernelSs).toBe(0xe02bn);
    expect(context.kernelSp).toBe(0xffff_c900_4008_4000n);
    expect(context.ctrlreg).toEqual([0x8005_0033n, 0x510_6001n, 0x3dbe_5730n, 0x67e_e000n, 0x660n, 0n, 0n, 0x77n]);
    expect(context.cr3Pfn).toBe(0x67een);
    expect(context.cr1Pfn).toBe(0x5106n);
    expect(context.debugreg).toEqual([0xd0n, 0n, 0n, 0n, 0n, 0n, 0xffff_0ff0n, 0x400n]);
    expect(context.eventCallbackEip).toBe(0xffff_ffff_8102_7ef0n);
    expect(context.failsafeCallbackEip).toBe(0xffff_ffff_81c0_1310n);
    expect(context.syscallCallbackEip).toBe(0xffff_ffff_8102_7f30n);
    expect(context.vmAssist).toBe(0x1_0000_002dn);
    expect(context.vmAssistNames).toEqual([
      "VMASST_TYPE_4gb_segments",
      "VMASST_TYPE_writable_pagetables",
      "VMASST_TYPE_pae_extended_cr3",
      "VMASST_TYPE_runstate_update_flag",
      "VMASST_TYPE_m2p_strict",
    ]);
    expect(context.fsBase).toBe(0x7f00_0000_1000n);
    expect(context.gsBaseKernel).toBe(0xffff_8880_07a0_0000n);
    expect(context.gsBaseUser).toBe(0x7f00_0000_2000n);
  });

  test("cpu_user_regs, pads included", () => {
    expect(context.userRegs).toEqual({
      r15: 0x1515_1515_1515_1515n,
      r14: 0n,
      r13: 0n,
      r12: 0n,
      rbp: 0xbbbb_0000_0000_0001n,
      rbx: 0xbbn,
      r11: 0n,
      r10: 0n,
      r9: 0n,
      r8: 0n,
      rax: 0xaaaan,
      rcx: 0xccccn,
      rdx: 0x4a00n,
      rsi: 0n,
      rdi: 0xd1d1n,
      errorCode: 0x1234_5678,
      entryVector: 0x100,
      rip: 0xffff_ffff_8100_0000n,
      cs: 0xe033,
      pad0: 0xabcd,
      savedUpcallMask: 1,
      pad1: [7, 8, 9],
      rflags: 0x246n,
      rsp: 0xffff_c900_0000_0ff8n,
      ss: 0xe02b,
      pad2: [0x1111, 0, 0x3333],
      es: 0x2b,
      pad3: [0, 0, 0],
      ds: 0x2c,
      pad4: [0, 0, 0],
      fs: 0x2d,
      pad5: [0, 0, 0],
      gs: 0x2e,
      pad6: [0, 0, 0x6666],
    });
  });

  test("trap_ctxt: 256 entries of 16 bytes with the alignment pad kept", () => {
    expect(context.trapCtxt).toHaveLength(256);
    expect(context.trapCtxt[14]).toEqual({ vector: 14, flags: 4, cs: 0xe033, pad: 0xdead_beef, address: 0xffff_ffff_8100_1400n });
    expect(context.trapCtxt[255]).toEqual({ vector: 255, flags: 0, cs: 0, pad: 0, address: 0xffff_ffff_8100_ff00n });
    expect(context.trapCtxt[0]).toEqual({ vector: 0, flags: 0, cs: 0, pad: 0, address: 0n });
  });

  test("encodes back to the same bytes; width inferred from the size", () => {
    expect(encodePvVcpuBasic(context)).toEqual(HAND_64);
    expect(decodePvVcpuBasic(HAND_64)).toEqual(context);
    expect(decodePvVcpuBasic(offsetCopy(HAND_64))).toEqual(context);
  });

  test("cr1Pfn is undefined when ctrlreg[1] bit 0 is clear", () => {
    const bytes = HAND_64.slice();
    bytes.set(le64(0x510_6000), 4992);
    expect((decodePvVcpuBasic(bytes) as PvVcpuContext64).cr1Pfn).toBeUndefined();
  });
});

// ------------------------------------------------------------- 32-bit

// 32-bit column of §3.1 and the 68-byte cpu_user_regs (user_regs at 516:
// ebx 516, ecx 520, edx 524, esi 528, edi 532, ebp 536, eax 540,
// error_code u16 544, entry_vector u16 546, eip 548, cs 552,
// saved_upcall_mask 554, _pad0 555, eflags 556, esp 560, ss 564, _pad1 566,
// es 568, ds 572, fs 576, gs 580, _pad5 582).
const HAND_32 = build(VCPU_GUEST_CONTEXT_SIZE_32, [
  [0, FPU],
  [512, le32(0x3d)], // flags
  [516, le32(0xb0b0)], // ebx
  [520, le32(0xc0c0)], // ecx
  [524, le32(0x1234)], // edx
  [528, le32(0x5151)], // esi
  [532, le32(0xd0d0)], // edi
  [536, le32(0xbeef)], // ebp
  [540, le32(0xa0a0)], // eax
  [544, le16(0xe0e0)], // error_code
  [546, le16(0x0102)], // entry_vector
  [548, le32(0xc010_0000)], // eip
  [552, le16(0xe019)], // cs (FLAT_RING1_CS)
  [554, u8(1)], // saved_upcall_mask
  [555, u8(0x55)], // _pad0
  [556, le32(0x202)], // eflags
  [560, le32(0xc1ff_fff0)], // esp
  [564, le16(0xe021)], // ss
  [566, le16(0x6666)], // _pad1
  [568, le16(0x7b)], // es
  [572, le16(0x7c)], // ds
  [576, le16(0xd8)], // fs
  [580, le16(0xe0)], // gs
  [582, le16(0x5555)], // _pad5
  // trap_ctxt[14] at 584 + 14*8 = 696: vector, flags, cs, address
  [696, Uint8Array.of(14, 0x01)],
  [698, le16(0xe019)],
  [700, le32(0xc010_1400)],
  [2624, Uint8Array.of(255, 3)], // trap_ctxt[255] at 584 + 255*8
  [2632, le32(0xc200_0000)], // ldt_base
  [2636, le32(8)], // ldt_ents
  [2640, le32(0x1111)], // gdt_frames[0]
  [2700, le32(0x2222)], // gdt_frames[15]
  [2704, le32(15)], // gdt_ents
  [2708, le32(0xe021)], // kernel_ss
  [2712, le32(0xc1ff_e000)], // kernel_sp
  [2716, le32(0x8005_003b)], // ctrlreg[0]
  [2728, le32(0x2345_6001)], // ctrlreg[3]: xen_pfn_to_cr3(0x123456)
  [2744, le32(0x7)], // ctrlreg[7]
  [2748, le32(0xd0)], // debugreg[0]
  [2776, le32(0x400)], // debugreg[7]
  [2780, le32(0xe019)], // event_callback_cs
  [2784, le32(0xc010_2000)], // event_callback_eip
  [2788, le32(0xe019)], // failsafe_callback_cs
  [2792, le32(0xc010_3000)], // failsafe_callback_eip
  [2796, le32(0x2d)], // vm_assist
]);

describe("32-bit vcpu_guest_context, hand-built", () => {
  const context = decodePvVcpuBasic(HAND_32, { guestWidth: 4 }) as PvVcpuContext32;

  test("fields at their offsets, PAE cr3 unpacked", () => {
    expect(context.guestWidth).toBe(4);
    expect(context.flags).toBe(0x3d);
    expect(context.flagNames).toEqual([
      "VGCF_i387_valid",
      "VGCF_in_kernel",
      "VGCF_failsafe_disables_events",
      "VGCF_syscall_disables_events",
      "VGCF_online",
    ]);
    expect(context.userRegs).toEqual({
      ebx: 0xb0b0,
      ecx: 0xc0c0,
      edx: 0x1234,
      esi: 0x5151,
      edi: 0xd0d0,
      ebp: 0xbeef,
      eax: 0xa0a0,
      errorCode: 0xe0e0,
      entryVector: 0x0102,
      eip: 0xc010_0000,
      cs: 0xe019,
      savedUpcallMask: 1,
      pad0: 0x55,
      eflags: 0x202,
      esp: 0xc1ff_fff0,
      ss: 0xe021,
      pad1: 0x6666,
      es: 0x7b,
      pad2: 0,
      ds: 0x7c,
      pad3: 0,
      fs: 0xd8,
      pad4: 0,
      gs: 0xe0,
      pad5: 0x5555,
    });
    expect(context.trapCtxt[14]).toEqual({ vector: 14, flags: 1, cs: 0xe019, address: 0xc010_1400 });
    expect(context.trapCtxt[255]).toEqual({ vector: 255, flags: 3, cs: 0, address: 0 });
    expect(context.ldtBase).toBe(0xc200_0000);
    expect(context.ldtEnts).toBe(8);
    expect(context.gdtFrames[0]).toBe(0x1111);
    expect(context.gdtFrames[15]).toBe(0x2222);
    expect(context.gdtEnts).toBe(15);
    expect(context.kernelSs).toBe(0xe021);
    expect(context.kernelSp).toBe(0xc1ff_e000);
    expect(context.ctrlreg).toEqual([0x8005_003b, 0, 0, 0x2345_6001, 0, 0, 0, 7]);
    expect(context.cr3Pfn).toBe(0x12_3456);
    expect(context.debugreg).toEqual([0xd0, 0, 0, 0, 0, 0, 0, 0x400]);
    expect(context.eventCallbackCs).toBe(0xe019);
    expect(context.eventCallbackEip).toBe(0xc010_2000);
    expect(context.failsafeCallbackCs).toBe(0xe019);
    expect(context.failsafeCallbackEip).toBe(0xc010_3000);
    expect(context.vmAssist).toBe(0x2d);
    expect(context.vmAssistNames).toEqual([
      "VMASST_TYPE_4gb_segments",
      "VMASST_TYPE_writable_pagetables",
      "VMASST_TYPE_pae_extended_cr3",
      "VMASST_TYPE_runstate_update_flag",
    ]);
    expect("fsBase" in context).toBe(false);
  });

  test("encodes back to the same bytes", () => {
    expect(encodePvVcpuBasic(context)).toEqual(HAND_32);
    expect(decodePvVcpuBasic(offsetCopy(HAND_32))).toEqual(context);
  });
});

describe("xen_cr3_to_pfn / xen_pfn_to_cr3 of 32-bit guests", () => {
  test.each([
    [0, 0],
    [0x1000, 0x0100_0000],
    [0xf_ffff, 0xffff_f000],
    [0x10_0000, 0x0000_0001],
    [0x12_3456, 0x2345_6001],
    [0xffff_ffff, 0xffff_ffff],
  ])("pfn %i <-> cr3 %i", (pfn, cr3) => {
    expect(pfnToCr3For32(pfn)).toBe(cr3);
    expect(cr3ToPfn32(cr3)).toBe(pfn);
  });
});

describe("field offsets", () => {
  test.each([
    [8, "userRegs.rip", 648],
    [8, "userRegs.rdx", 616],
    [8, "ctrlreg[3]", 5008],
    [8, "trapCtxt[14].address", 952],
    [8, "gsBaseUser", 5160],
    [4, "userRegs.edx", 524],
    [4, "ctrlreg[3]", 2728],
    [4, "trapCtxt[255]", 2624],
    [4, "vmAssist", 2796],
  ] as const)("%i-byte width: %s at %i", (width, path, offset) => {
    expect(pvVcpuFieldOffset(width, path)).toBe(offset);
  });

  test.each([
    [8, "userRegs.eip"],
    [4, "fsBase"],
    [8, "ctrlreg[8]"],
    [8, "trapCtxt[256]"],
    [8, "nonsense"],
  ] as const)("%i-byte width: %s is USAGE", (width, path) => {
    expect(thrown(() => pvVcpuFieldOffset(width, path)).code).toBe("USAGE");
  });
});

describe("hostile sizes and bad options", () => {
  test.each([0, 1, 2799, 2801, 5167, 5169, 8192])("%i bytes, width inferred: BAD_LENGTH at baseOffset", (size) => {
    const error = thrown(() => decodePvVcpuBasic(new Uint8Array(size), { baseOffset: 1000 }));
    expect(error.code).toBe("BAD_LENGTH");
    expect(error.offset).toBe(1000);
  });

  test.each([
    [8, VCPU_GUEST_CONTEXT_SIZE_32],
    [4, VCPU_GUEST_CONTEXT_SIZE_64],
  ] as const)("width %i given, %i bytes: BAD_LENGTH", (guestWidth, size) => {
    const error = thrown(() => decodePvVcpuBasic(new Uint8Array(size), { guestWidth, baseOffset: 77 }));
    expect(error.code).toBe("BAD_LENGTH");
    expect(error.offset).toBe(77);
    expect(error.message).toContain(`${guestWidth * 8}-bit`);
  });

  test("bad options and arguments are USAGE", () => {
    expect(thrown(() => decodePvVcpuBasic(HAND_64, { guestWidth: 2 as 4 })).code).toBe("USAGE");
    expect(thrown(() => decodePvVcpuBasic(HAND_64, { baseOffset: -1 })).code).toBe("USAGE");
    expect(thrown(() => decodePvVcpuBasic("x" as unknown as Uint8Array)).code).toBe("USAGE");
    expect(thrown(() => encodePvVcpuBasic(null as unknown as PvVcpuContext64)).code).toBe("USAGE");
  });
});

describe("encoder range errors point at the field", () => {
  const base = decodePvVcpuBasic(HAND_64) as PvVcpuContext64;
  test.each([
    ["userRegs.cs", (c: PvVcpuContext64) => ({ ...c, userRegs: { ...c.userRegs, cs: 0x1_0000 } }), 656],
    ["userRegs.rip", (c: PvVcpuContext64) => ({ ...c, userRegs: { ...c.userRegs, rip: -1n } }), 648],
    ["ctrlreg[3]", (c: PvVcpuContext64) => ({ ...c, ctrlreg: c.ctrlreg.map((v, i) => (i === 3 ? 1n << 64n : v)) }), 5008],
    ["trapCtxt[2].flags", (c: PvVcpuContext64) => ({ ...c, trapCtxt: c.trapCtxt.map((t, i) => (i === 2 ? { ...t, flags: 256 } : t)) }), 720 + 32 + 1],
    ["gdtFrames length", (c: PvVcpuContext64) => ({ ...c, gdtFrames: c.gdtFrames.slice(1) }), 4832],
    ["fpuCtxt size", (c: PvVcpuContext64) => ({ ...c, fpuCtxt: new Uint8Array(511) }), 0],
    ["trapCtxt length", (c: PvVcpuContext64) => ({ ...c, trapCtxt: c.trapCtxt.slice(1) }), 720],
  ] as const)("%s", (_name, mutate, offset) => {
    const error = thrown(() => encodePvVcpuBasic(mutate(base), { baseOffset: 5000 }));
    expect(error.code).toBe("BAD_VALUE");
    expect(error.offset).toBe(5000 + offset);
  });
});

describe("properties", () => {
  test("bytes -> decode -> encode is the identity, and decode(encode(value)) is value", () => {
    fc.assert(
      fc.property(pvVcpuBasicContext(), ({ value, bytes }) => {
        expect(encodePvVcpuBasic(value)).toEqual(bytes);
        expect(decodePvVcpuBasic(encodePvVcpuBasic(value))).toEqual(value);
        expect(decodePvVcpuBasic(offsetCopy(bytes), { guestWidth: value.guestWidth })).toEqual(value);
      }),
      { numRuns: 60 },
    );
  });

  test("derived fields follow the raw ones", () => {
    fc.assert(
      fc.property(pvVcpuBasicContext(), ({ value }) => {
        if (value.guestWidth === 8) {
          expect(value.cr3Pfn).toBe((value.ctrlreg[3] ?? 0n) >> 12n);
        } else {
          expect(pfnToCr3For32(value.cr3Pfn)).toBe(value.ctrlreg[3]);
        }
        expect(value.flagNames.includes("VGCF_online")).toBe((BigInt(value.flags) & 0x20n) !== 0n);
      }),
      { numRuns: 40 },
    );
  });

  test("any other size is BAD_LENGTH, never another error", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6000 }), fc.nat({ max: 1 << 30 }), (size, baseOffset) => {
        fc.pre(size !== VCPU_GUEST_CONTEXT_SIZE_32 && size !== VCPU_GUEST_CONTEXT_SIZE_64);
        const error = thrown(() => decodePvVcpuBasic(new Uint8Array(size), { baseOffset }));
        expect([error.code, error.offset]).toEqual(["BAD_LENGTH", baseOffset]);
      }),
      { numRuns: 100 },
    );
  });
});
