/**
 * The legacy (Xen <= 4.5) stream reader: an incremental, push-driven state
 * machine that turns legacy bytes into the migration v2 values
 * convert-legacy-stream writes, in output order — libxl/libxc headers and
 * records ({@link LibxcRecord}, {@link LibxlRecord}), plus raw pass-through
 * bytes for the QEMU record of libxc output. The ordinary v2 encoders write
 * them (see convert.ts); this module writes no bytes.
 *
 * Order and content follow convert-legacy-stream (Xen tools/python/scripts,
 * legacy-stream.md §12): an optional xl header; after p2m_size, the libxl
 * header and LIBXC_CONTEXT (libxl output), the libxc image header (v3) and
 * domain header (xen 0.1); PV: X86_PV_INFO at the `vcpu` extended-info
 * block, STATIC_DATA_END, X86_PV_P2M_FRAMES; HVM: STATIC_DATA_END; one
 * PAGE_DATA per page batch and X86_TSC_INFO per TSC chunk, in input order;
 * HVM_PARAMS from the HVM-parameter chunks at the chunk terminator; the PV
 * tail (vCPU BASIC/EXTENDED/XSAVE, SHARED_INFO, END) or the HVM tail
 * (HVM_PARAMS of the magic pfns, HVM_CONTEXT, END); for libxl output
 * EMULATOR_XENSTORE_DATA from the physmap data; the QEMU record
 * (EMULATOR_CONTEXT, or copied raw after the libxc END); libxl END.
 *
 * Where the reference breaks or converts into a stream that cannot be
 * restored, this reader follows the legacy restorer
 * (xc_domain_restore.c) or refuses the input with a {@link XenStreamError}
 * (layer "legacy", absolute input offset); each case is named at the code
 * that handles it (reference-tool-bugs.md B1, B3, B4, B7-B12 and
 * legacy-stream.md §12.7).
 *
 * It is a push decoder with the v2 decoders' contract (push / pushEach /
 * end / bytesWanted / bytesHeld, on the same chunk queue); the format's
 * sections are parsed in sections/*.ts, driven by parser.ts.
 *
 * Memory: the reader holds at most one page batch (4 MiB + 8 KiB), the p2m
 * frame list (at most 4 MiB, see LEGACY_P2M_SIZE_MAX), or one item bounded
 * by `maxRecordLength`; skipped and passed-through bytes are never
 * buffered. Values hold views into the pushed chunks where a field lies
 * inside one chunk (so chunks must not be reused by the caller).
 *
 * @module
 */
import { PushDecoder } from "../wire/push.js";
import { LegacyParser, settingsOf, type InternalLegacyOptions } from "./parser.js";
import type { LegacyEvent, LegacyLayout, LegacyOptions } from "./types.js";

/**
 * Incremental legacy stream reader. Push chunks as they arrive and get the
 * v2 events they complete; call `end()` when the input is exhausted (it
 * returns the last events: a QEMU state read to the end of the input
 * completes there).
 *
 * The contract is the v2 decoders' (`LibxcDecoder`): `push` / `pushEach`,
 * `end` / `endEach`, `bytesWanted` (push exactly that many bytes at a time
 * and every item — a 4 MiB page batch in particular — arrives as one view
 * of one chunk, never assembled), `bytesHeld` (pushed bytes the reader
 * still holds; a caller may reuse any buffer before them once it has
 * consumed the events). After the end of the legacy stream `bytesWanted`
 * is 0, and bytes pushed are counted as {@link LegacyReader.trailingBytes}
 * (or fail with TRAILING_DATA, see `trailingData`).
 *
 * @example
 * ```ts
 * import { LegacyReader } from "xen-migration-stream";
 * const reader = new LegacyReader({ width: 64, guest: "pv" });
 * for (const chunk of chunks) for (const event of reader.push(chunk)) console.log(event.layer, event.kind);
 * for (const event of reader.end()) console.log(event.layer, event.kind);
 * ```
 */
export class LegacyReader extends PushDecoder<LegacyEvent, LegacyParser> {
  /**
   * @param options - width, guest, output format and limits
   * @param startOffset - absolute offset of the first byte pushed (default 0)
   * @throws {@link XenStreamError} USAGE for invalid options
   */
  constructor(options: LegacyOptions = {}, startOffset = 0) {
    super(new LegacyParser(settingsOf(options as InternalLegacyOptions)), startOffset);
  }

  /** The layout, once given or detected. */
  get layout(): LegacyLayout | undefined {
    return this.parser.layout;
  }

  /** True once the whole legacy stream was read. */
  get done(): boolean {
    return this.parser.ended;
  }

  /** Bytes received after the end of the legacy stream (left unconverted). */
  get trailingBytes(): number {
    return this.parser.trailing;
  }

  /** Absolute offset of the next byte the reader will look at. */
  get offset(): number {
    return this.queue.offset;
  }
}
