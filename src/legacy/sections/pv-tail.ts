/**
 * The PV tail (legacy-stream.md §7.1; xc_domain_restore.c:
 * buffer_tail_pv()): the unmapped pfn list, each online vCPU's basic,
 * extended and xsave contexts, and the shared info page; then the libxc
 * END.
 *
 * @module
 * @internal
 */
import { viewOf } from "../../wire/reader.js";
import { LEGACY_EXTENDED_CONTEXT_SIZE, LEGACY_SHARED_INFO_SIZE, LEGACY_UNMAPPED_MAX, LEGACY_XSAVE_HEADER_SIZE } from "../constants.js";
import type { LegacyParser, Step } from "../parser.js";

/** The PV tail. @internal */
export class PvTail {
  private readonly p: LegacyParser;
  private vcpuIndex = 0;
  private online: number[] = [];

  constructor(parser: LegacyParser) {
    this.p = parser;
  }

  /** The tail's first step. */
  first(): Step {
    return this.unmapped;
  }

  private vcpu(): number {
    return this.online[this.vcpuIndex] as number;
  }

  /** The next vCPU's contexts, or the shared info page after the last. */
  private nextVcpu(): void {
    this.p.go(this.vcpuIndex < this.online.length ? this.basic : this.sharedInfo);
  }

  private afterExtended(): void {
    if (this.p.xsaveLength !== 0) {
      this.p.go(this.xsaveHeader);
    } else {
      this.vcpuIndex++;
      this.nextVcpu();
    }
  }

  private readonly unmapped: Step = {
    reading: "the PV tail's unmapped pfn count",
    need: () => 4,
    run: (bytes, offset) => {
      const p = this.p;
      const count = viewOf(bytes).getUint32(0, true);
      if (count > LEGACY_UNMAPPED_MAX) p.fail("BAD_FIELD", offset, `PV tail: ${count} unmapped pfns exceed the restorer's limit of 2^28`);
      // §12.7: no VCPU_INFO chunk. The 4.5 restorer then assumed only
      // vCPU 0; the reference emits no vCPU at all and reads the first
      // vCPU context as the shared info page. Follow the restorer.
      this.online = p.onlineVcpus ?? [0];
      this.vcpuIndex = 0;
      // The "unmapped" pfns are bogus; skipped, as by the reference.
      p.skip(count * p.wordSize, this.vcpus);
    },
  };

  /** After the unmapped pfns: the first vCPU, or the shared info page. */
  private readonly vcpus: Step = {
    reading: "a vCPU context in the PV tail",
    need: () => 0,
    run: () => this.nextVcpu(),
  };

  private readonly basic: Step = {
    reading: "a vCPU context in the PV tail",
    need: () => this.p.vcpuContextSize,
    run: (context, offset) => {
      this.p.emitLibxc(offset, { type: "X86_PV_VCPU_BASIC", vcpuId: this.vcpu(), context });
      if (this.p.extendedContexts) this.p.go(this.extended);
      else this.afterExtended();
    },
  };

  private readonly extended: Step = {
    reading: "an extended vCPU context in the PV tail",
    need: () => LEGACY_EXTENDED_CONTEXT_SIZE,
    run: (context, offset) => {
      this.p.emitLibxc(offset, { type: "X86_PV_VCPU_EXTENDED", vcpuId: this.vcpu(), context });
      this.afterExtended();
    },
  };

  /** u64 xfeature_mask (dropped, as by the reference), u64 size. */
  private readonly xsaveHeader: Step = {
    reading: "an xsave header in the PV tail",
    need: () => LEGACY_XSAVE_HEADER_SIZE,
    run: (bytes, offset) => {
      const p = this.p;
      const view = viewOf(bytes);
      const sizeLow = view.getUint32(8, true);
      const sizeHigh = view.getUint32(12, true);
      const expected = p.xsaveLength - LEGACY_XSAVE_HEADER_SIZE;
      if (sizeHigh !== 0 || sizeLow !== expected) {
        // B7: the reference dies on a bare assert here.
        p.fail(
          "BAD_LENGTH",
          offset + 8,
          `PV tail, vCPU ${this.vcpu()}: xsave size ${sizeHigh !== 0 ? "above 2^32" : sizeLow} differs from the ${expected} announced by the xcnt block (${p.xsaveLength} - 16)`,
        );
      }
      p.go(this.xsaveData);
    },
  };

  private readonly xsaveData: Step = {
    reading: "xsave data in the PV tail",
    need: () => this.p.xsaveLength - LEGACY_XSAVE_HEADER_SIZE,
    run: (context, offset) => {
      this.p.emitLibxc(offset, { type: "X86_PV_VCPU_XSAVE", vcpuId: this.vcpu(), context });
      this.vcpuIndex++;
      this.nextVcpu();
    },
  };

  private readonly sharedInfo: Step = {
    reading: "the shared info page in the PV tail",
    need: () => LEGACY_SHARED_INFO_SIZE,
    run: (data, offset) => {
      const p = this.p;
      p.emitLibxc(offset, { type: "SHARED_INFO", data });
      p.emitLibxc(offset, { type: "END" });
      p.afterLibxc(offset + data.length);
    },
  };
}
