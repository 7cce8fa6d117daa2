/**
 * Builds small libxc streams of a guest whose memory and page tables the
 * test lays out page by page, for every guest kind and width.
 */
import { encodeLibxcStream } from "../../src/libxc/stream.js";
import type { LibxcRecord } from "../../src/libxc/types.js";

export const PAGE = 4096;

/** Guest memory under construction: pfn -> page bytes. */
export class GuestPages {
  readonly pages = new Map<number, Uint8Array>();

  page(pfn: number): Uint8Array {
    let page = this.pages.get(pfn);
    if (page === undefined) {
      page = new Uint8Array(PAGE);
      this.pages.set(pfn, page);
    }
    return page;
  }

  /** Writes a u64 entry `index` of table page `pfn`. */
  entry64(pfn: number, index: number, value: bigint): void {
    new DataView(this.page(pfn).buffer).setBigUint64(index * 8, value, true);
  }

  /** Writes a u32 entry `index` of table page `pfn`. */
  entry32(pfn: number, index: number, value: number): void {
    new DataView(this.page(pfn).buffer).setUint32(index * 4, value >>> 0, true);
  }

  /** Fills page `pfn` with bytes derived from `seed`. */
  fill(pfn: number, seed: number): Uint8Array {
    const page = this.page(pfn);
    for (let i = 0; i < PAGE; i++) page[i] = (seed * 31 + i * 7 + (i >> 8)) & 0xff;
    return page;
  }

  /** PAGE_DATA records of at most `batch` pages each, in pfn order. */
  pageRecords(batch = 1024): LibxcRecord[] {
    const pfns = [...this.pages.keys()].sort((a, b) => a - b);
    const records: LibxcRecord[] = [];
    for (let i = 0; i < pfns.length; i += batch) {
      const chunk = pfns.slice(i, i + batch);
      const data = new Uint8Array(chunk.length * PAGE);
      chunk.forEach((pfn, k) => data.set(this.pages.get(pfn) as Uint8Array, k * PAGE));
      records.push({ type: "PAGE_DATA", entries: chunk.map((pfn) => ({ pfn, type: 0 })), pages: data });
    }
    return records;
  }
}

/** A 64-bit PV vcpu_guest_context with the given cr3 and rip/rsp (arch-x86/xen.h offsets). */
export function pv64Context(cr3: bigint, rip: bigint, rsp: bigint): Uint8Array {
  const context = new Uint8Array(5168);
  const view = new DataView(context.buffer);
  view.setBigUint64(512, 1n << 2n, true); // VGCF_in_kernel
  for (let i = 0; i < 15; i++) view.setBigUint64(520 + 8 * i, BigInt(0x1100 + i), true);
  view.setBigUint64(648, rip, true);
  view.setUint16(656, 0xe033, true);
  view.setBigUint64(664, 0x246n, true);
  view.setBigUint64(672, rsp, true);
  view.setUint16(680, 0xe02b, true);
  view.setBigUint64(4984 + 24, cr3, true);
  view.setBigUint64(5144, 0x7000n, true); // fs_base
  view.setBigUint64(5152, 0xffff_8880_0000_0000n, true); // gs_base_kernel
  view.setBigUint64(5160, 0x5000n, true); // gs_base_user
  return context;
}

/** A 32-bit PV vcpu_guest_context (xen-x86_32.h offsets). */
export function pv32Context(cr3: number, eip: number, esp: number): Uint8Array {
  const context = new Uint8Array(2800);
  const view = new DataView(context.buffer);
  view.setUint32(540, 0xaaaa, true); // eax
  view.setUint32(548, eip, true);
  view.setUint16(552, 0xe019, true);
  view.setUint32(560, esp, true);
  view.setUint32(2716 + 12, cr3 >>> 0, true);
  return context;
}

/** An HVM context blob: HEADER, one CPU record per vCPU (1032 bytes), END. */
export function hvmContextBlob(cpus: { id: number; cr0: bigint; cr3: bigint; cr4: bigint; efer: bigint; rip: bigint; rsp: bigint }[]): Uint8Array {
  const entries: Uint8Array[] = [];
  const descriptor = (code: number, instance: number, length: number): Uint8Array => {
    const d = new Uint8Array(8);
    const v = new DataView(d.buffer);
    v.setUint16(0, code, true);
    v.setUint16(2, instance, true);
    v.setUint32(4, length, true);
    return d;
  };
  const header = new Uint8Array(24);
  new DataView(header.buffer).setUint32(0, 0x5438_1286, true);
  new DataView(header.buffer).setUint32(4, 1, true);
  entries.push(descriptor(1, 0, 24), header);
  for (const cpu of cpus) {
    const body = new Uint8Array(1032);
    const v = new DataView(body.buffer);
    for (let i = 0; i < 16; i++) v.setBigUint64(512 + 8 * i, BigInt(0x2200 + i), true);
    v.setBigUint64(640, cpu.rip, true);
    v.setBigUint64(568, cpu.rsp, true);
    v.setBigUint64(648, 0x2n, true);
    v.setBigUint64(656, cpu.cr0, true);
    v.setBigUint64(672, cpu.cr3, true);
    v.setBigUint64(680, cpu.cr4, true);
    v.setUint32(736, 0x10, true); // cs_sel
    v.setUint32(756, 0x18, true); // ss_sel
    v.setBigUint64(840, 0xffff_8880_0700_0000n, true); // gs_base
    v.setBigUint64(944, 0x1234n, true); // shadow_gs
    v.setBigUint64(992, cpu.efer, true);
    v.setUint32(1024, 1, true); // flags: FPU initialised
    entries.push(descriptor(2, cpu.id, 1032), body);
  }
  entries.push(descriptor(0, 0, 0));
  const size = entries.reduce((sum, e) => sum + e.length, 0);
  const out = new Uint8Array(size);
  let at = 0;
  for (const e of entries) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** A whole libxc v3 stream of a PV or HVM guest. */
export function libxcGuestStream(guest: "pv" | "hvm", records: LibxcRecord[]): Uint8Array {
  return encodeLibxcStream({
    imageHeader: { version: 3, options: 0 },
    domainHeader: { type: guest === "pv" ? 1 : 2, pageShift: 12, xenMajor: 4, xenMinor: 17 },
    records: [...records, { type: "END" }],
  });
}

export function pvInfo(width: 4 | 8): LibxcRecord {
  return { type: "X86_PV_INFO", guestWidth: width, ptLevels: width === 8 ? 4 : 3 };
}

export function pvBasic(vcpuId: number, context: Uint8Array): LibxcRecord {
  return { type: "X86_PV_VCPU_BASIC", vcpuId, context };
}
