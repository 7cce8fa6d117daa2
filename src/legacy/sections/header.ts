/**
 * The legacy stream's header (legacy-stream.md §4): p2m_size, the PV
 * extended info (xc_domain_restore.c: load_p2m_frame_list()) and the PV
 * p2m frame list.
 *
 * @module
 * @internal
 */
import { viewOf } from "../../wire/reader.js";
import {
  ExtendedInfoBlock,
  LEGACY_P2M_SIZE_MAX,
  LEGACY_PAGE_SIZE,
  LEGACY_XSAVE_HEADER_SIZE,
  VCPU_CONTEXT_SIZE_32,
  VCPU_CONTEXT_SIZE_64,
} from "../constants.js";
import type { LegacyParser, Step } from "../parser.js";

/** p2m_size, PV extended info and p2m frame list. @internal */
export class Header {
  private readonly p: LegacyParser;
  private p2mSize = 0;
  private extTotal = 0;
  private extSoFar = 0;
  private xcntRest = 0;

  constructor(parser: LegacyParser) {
    this.p = parser;
  }

  /** The first step: p2m_size. */
  first(): Step {
    return this.p2mSizeStep;
  }

  /** p2m_size: the output headers follow it. */
  private readonly p2mSizeStep: Step = {
    reading: "p2m_size",
    need: () => this.p.wordSize,
    run: (bytes, offset) => {
      const p = this.p;
      const { low, high } = p.ulong(viewOf(bytes), 0);
      p.startOutput(offset);
      if (p.pv) {
        // B9: the reference dies on struct.error for p2m_size 0; a size
        // past 2^28 cannot be sent in 28-bit pfn fields (and would make
        // the frame list unbounded).
        if (high !== 0 || low === 0 || low > LEGACY_P2M_SIZE_MAX) {
          const value = high * 2 ** 32 + low;
          p.fail("BAD_FIELD", offset, `p2m_size ${value} of a PV stream is outside 1..2^28 (legacy pfn fields have 28 bits)`);
        }
        this.p2mSize = low;
        p.go(this.extSignature);
      } else {
        // Read and ignored for HVM, as by the reference.
        p.emitLibxc(offset, { type: "STATIC_DATA_END" });
        p.go(p.chunks.first());
      }
    },
  };

  private readonly extSignature: Step = {
    reading: "the PV extended-info signature",
    need: () => this.p.wordSize,
    run: (bytes, offset) => {
      if (!bytes.every((byte) => byte === 0xff)) {
        // Pre-3.0 streams without extended info: the reference refuses them too.
        this.p.fail("BAD_MAGIC", offset, "PV extended-info signature must be ~0 (all 0xFF); streams without extended info (Xen < 3.0) are not converted");
      }
      this.p.go(this.extTotalStep);
    },
  };

  private readonly extTotalStep: Step = {
    reading: "the PV extended-info size",
    need: () => 4,
    run: (bytes) => {
      this.extTotal = viewOf(bytes).getUint32(0, true);
      this.extSoFar = 0;
      this.p.go(this.extBlock);
    },
  };

  /** One extended-info block header, or the end of the extended info. */
  private readonly extBlock: Step = {
    reading: "a PV extended-info block",
    need: () => (this.extSoFar >= this.extTotal ? 0 : 8),
    run: (bytes, offset) => {
      if (bytes.length === 0) this.endOfExtendedInfo(offset);
      else this.block(bytes, offset);
    },
  };

  private endOfExtendedInfo(offset: number): void {
    // B8: the reference divides by zero without a vcpu block.
    if (this.p.guestWidth === 0) this.p.fail("BAD_FIELD", offset, "PV extended info has no vcpu block, so the guest width is unknown");
    this.p.emitLibxc(offset, { type: "STATIC_DATA_END" });
    this.p.go(this.p2mFrames);
  }

  private block(header: Uint8Array, offset: number): void {
    const p = this.p;
    const id = String.fromCharCode(header[0] as number, header[1] as number, header[2] as number, header[3] as number);
    const size = viewOf(header).getUint32(4, true);
    const printable = /^[\x20-\x7e]{4}$/.test(id) ? `"${id}"` : `0x${Array.from(header.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("")}`;
    if (id === ExtendedInfoBlock.VCPU) {
      if (size !== VCPU_CONTEXT_SIZE_32 && size !== VCPU_CONTEXT_SIZE_64) {
        p.fail("BAD_LENGTH", offset + 4, `vcpu extended-info block of ${size} bytes: unable to determine guest width/levels (expected 0xaf0 or 0x1430)`);
      }
      // A second X86_PV_INFO would make the v2 restore fail.
      if (p.guestWidth !== 0) p.fail("BAD_FIELD", offset, "a second vcpu extended-info block");
    } else if (id === ExtendedInfoBlock.XCNT && size < 4) {
      // B12: the reference dies on struct.error.
      p.fail("BAD_LENGTH", offset + 4, `xcnt extended-info block of ${size} bytes is shorter than its u32`);
    }
    this.extSoFar += 8 + size;
    if (this.extSoFar > this.extTotal) {
      p.fail(
        "BAD_LENGTH",
        offset,
        `extended-info block ${printable} of ${size} bytes overshoots the announced total of ${this.extTotal} by ${this.extSoFar - this.extTotal} bytes`,
      );
    }
    if (id === ExtendedInfoBlock.VCPU) {
      const wide = size === VCPU_CONTEXT_SIZE_64;
      p.guestWidth = wide ? 8 : 4;
      p.vcpuContextSize = size;
      p.emitLibxc(offset, { type: "X86_PV_INFO", guestWidth: p.guestWidth, ptLevels: wide ? 4 : 3 });
    } else if (id === ExtendedInfoBlock.EXTV) {
      p.extendedContexts = true;
    } else if (id === ExtendedInfoBlock.XCNT) {
      this.xcntRest = size - 4;
      p.go(this.xcnt);
      return;
    }
    // §12.7: the reference refuses unknown blocks; the legacy restorer
    // skipped them, and so does this reader. Block data is never buffered.
    p.skip(size, this.extBlock);
  }

  /** The xcnt block's u32: the size of each vCPU's xsave area in the tail. */
  private readonly xcnt: Step = {
    reading: "the xcnt extended-info block",
    need: () => 4,
    run: (bytes, offset) => {
      const p = this.p;
      const xcnt = viewOf(bytes).getUint32(0, true);
      // B7: an xcnt below 16 can never match a vCPU's xsave size (the
      // reference asserts in the tail); 0 means no xsave.
      if (xcnt !== 0 && xcnt < LEGACY_XSAVE_HEADER_SIZE) p.fail("BAD_FIELD", offset, `xcnt ${xcnt} is smaller than the 16-byte xsave header`);
      const max = p.settings.maxRecordLength;
      if (xcnt - LEGACY_XSAVE_HEADER_SIZE > max) p.fail("RECORD_TOO_LARGE", offset, `xcnt ${xcnt}: xsave data exceeds the maximum ${max}`);
      p.xsaveLength = xcnt;
      p.skip(this.xcntRest, this.extBlock);
    },
  };

  /** The p2m frame list (legacy-stream.md §4.3): one ulong per p2m page. */
  private readonly p2mFrames: Step = {
    reading: "the p2m frame list",
    need: () => this.frameCount() * this.p.wordSize,
    run: (bytes, offset) => {
      const p = this.p;
      const count = this.frameCount();
      const view = viewOf(bytes);
      const frames = new Array<bigint>(count);
      if (p.wordSize === 8) for (let i = 0; i < count; i++) frames[i] = view.getBigUint64(8 * i, true);
      else for (let i = 0; i < count; i++) frames[i] = BigInt(view.getUint32(4 * i, true));
      p.emitLibxc(offset, { type: "X86_PV_P2M_FRAMES", startPfn: 0, endPfn: this.p2mSize - 1, frames });
      p.go(p.chunks.first());
    },
  };

  private frameCount(): number {
    return Math.floor((this.p2mSize - 1) / (LEGACY_PAGE_SIZE / this.p.guestWidth)) + 1;
  }
}
