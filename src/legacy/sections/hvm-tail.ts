/**
 * The HVM tail (legacy-stream.md §7.2; xc_domain_restore.c:
 * buffer_tail_hvm(); reference: read_hvm_tail()): the three magic pfns and
 * the HVM context; then the libxc END.
 *
 * @module
 * @internal
 */
import { viewOf } from "../../wire/reader.js";
import { HVM_PARAM_BUFIOREQ_PFN, HVM_PARAM_IOREQ_PFN, HVM_PARAM_STORE_PFN, LEGACY_HVM_MAGIC_PFNS_SIZE } from "../constants.js";
import type { LegacyParser, Step } from "../parser.js";

/** The HVM tail. @internal */
export class HvmTail {
  private readonly p: LegacyParser;
  private contextLength = 0;

  constructor(parser: LegacyParser) {
    this.p = parser;
  }

  /** The tail's first step. */
  first(): Step {
    return this.magicPfns;
  }

  private readonly magicPfns: Step = {
    reading: "the HVM tail's magic pfns",
    need: () => LEGACY_HVM_MAGIC_PFNS_SIZE,
    run: (bytes, offset) => {
      const view = viewOf(bytes);
      // Always written, even when zero, in this order (reference: read_hvm_tail()).
      this.p.emitLibxc(offset, {
        type: "HVM_PARAMS",
        params: [
          { index: BigInt(HVM_PARAM_IOREQ_PFN), value: view.getBigUint64(0, true) },
          { index: BigInt(HVM_PARAM_BUFIOREQ_PFN), value: view.getBigUint64(8, true) },
          { index: BigInt(HVM_PARAM_STORE_PFN), value: view.getBigUint64(16, true) },
        ],
      });
      this.p.go(this.contextLengthStep);
    },
  };

  private readonly contextLengthStep: Step = {
    reading: "the HVM context length",
    need: () => 4,
    run: (bytes, offset) => {
      const p = this.p;
      const length = viewOf(bytes).getUint32(0, true);
      // B10: the reference converts a zero length into an empty
      // HVM_CONTEXT, which v2 forbids and no restore accepts.
      if (length === 0) p.fail("BAD_LENGTH", offset, "HVM tail: HVM context length is 0");
      const max = p.settings.maxRecordLength;
      if (length > max) p.fail("RECORD_TOO_LARGE", offset, `HVM tail: HVM context of ${length} bytes exceeds the maximum ${max}`);
      this.contextLength = length;
      p.go(this.context);
    },
  };

  private readonly context: Step = {
    reading: "the HVM context",
    need: () => this.contextLength,
    run: (data, offset) => {
      const p = this.p;
      const end = offset + data.length;
      p.emitLibxc(offset, { type: "HVM_CONTEXT", data });
      p.emitLibxc(end, { type: "END" });
      p.afterLibxc(end);
    },
  };
}
