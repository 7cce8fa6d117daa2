/**
 * What comes before the legacy stream's header: the optional xl header
 * (legacy-stream.md §1.1, §12.4) and the stream's layout, given or told
 * from its first bytes (§11).
 *
 * @module
 * @internal
 */
import { XenStreamError } from "../../errors.js";
import { XL_HEADER_SIZE, XlMandatoryFlag } from "../../xl/constants.js";
import { decodeXlHeader, isStreamV2, readXlFixedHeader } from "../../xl/header.js";
import { LEGACY_DETECT_WINDOW, checkNotV2, detectLegacyLayout } from "../detect.js";
import type { LegacyParser, Step } from "../parser.js";
import type { LegacyLayout } from "../types.js";

/** The xl header and the layout. @internal */
export class Start {
  private readonly p: LegacyParser;
  private xlDataLength = 0;
  /** Detection looks again only once twice as many bytes are queued: no quadratic re-scans. */
  private detectAt = 8;

  constructor(parser: LegacyParser) {
    this.p = parser;
  }

  /** The first step of the input. */
  first(): Step {
    return this.p.settings.xl ? this.xlFixed : this.detect;
  }

  /**
   * `-x`: the xl header's fixed part, looked at for its optional data
   * length (reference: skip_xl_header(), which never matches the magic
   * under Python 3 — B1).
   */
  private readonly xlFixed: Step = {
    reading: "the xl header",
    mode: "peek",
    need: () => XL_HEADER_SIZE,
    run: (bytes, offset) => {
      const { littleEndian, optionalDataLength } = readXlFixedHeader(bytes, offset);
      if (!littleEndian) this.p.fail("UNSUPPORTED", offset + 32, "xl header is big-endian; legacy streams are x86 (little-endian) only");
      const max = this.p.settings.maxRecordLength;
      if (optionalDataLength > max) {
        this.p.fail("RECORD_TOO_LARGE", offset + 44, `xl header: optional_data_len ${optionalDataLength} exceeds the maximum ${max}`);
      }
      this.xlDataLength = optionalDataLength;
      this.p.go(this.xlWhole);
    },
  };

  /** The whole xl header, copied to the output with STREAMv2 added for libxl output. */
  private readonly xlWhole: Step = {
    reading: "the xl header",
    need: () => XL_HEADER_SIZE + this.xlDataLength,
    run: (bytes, offset) => {
      const { header } = decodeXlHeader(bytes, offset);
      if (isStreamV2(header)) {
        throw new XenStreamError("BAD_FIELD", offset + 36, "xl header has the STREAMv2 flag: the stream after it is already migration v2", { layer: "xl" });
      }
      // Copied: the header's views must outlive the chunk it arrived in.
      const { header: output, size } = decodeXlHeader(bytes.slice(), offset);
      if (this.p.libxl) output.mandatoryFlags |= XlMandatoryFlag.STREAMV2;
      this.p.emit({ layer: "xl", kind: "header", offset, header: output, size });
      this.p.go(this.detect);
    },
  };

  /** Width and guest type: given, or told from the first bytes (legacy-stream.md §11). */
  private readonly detect: Step = {
    reading: "the first bytes of the legacy stream",
    mode: "peek",
    need: () => (this.given() === undefined ? Math.min(this.detectAt, LEGACY_DETECT_WINDOW) : 8),
    run: (bytes, offset) => this.detectFrom(bytes, offset, bytes.length >= LEGACY_DETECT_WINDOW),
    atEnd: (rest, offset) => this.detectFrom(rest, offset, true),
  };

  private given(): LegacyLayout | undefined {
    const { width, guest } = this.p.settings;
    return width !== "auto" && guest !== "auto" ? { width, guest } : undefined;
  }

  private detectFrom(bytes: Uint8Array, offset: number, final: boolean): void {
    const given = this.given();
    let layout = given;
    if (layout === undefined) {
      const { width, guest } = this.p.settings;
      // The detector looks at no more than its window: with a full window the answer is final.
      layout = detectLegacyLayout(bytes, { width, guest, final, offset });
      if (layout === undefined) {
        this.detectAt = 2 * bytes.length;
        return;
      }
    } else {
      checkNotV2(bytes, offset);
    }
    this.p.settle(layout, offset, given === undefined);
    this.p.go(this.p.header.first());
  }
}
