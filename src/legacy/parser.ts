/**
 * The legacy parser's core: the step driver, the events it makes and what
 * the sections share. Each section of the legacy format has its own file
 * (sections/*.ts, in stream order: start (xl header, layout), header,
 * chunks, page batches, PV tail, HVM tail, QEMU record); this file knows
 * none of their layouts.
 *
 * A step is one item of the format. It states its byte need once
 * (`need()`), and the driver runs it when that many bytes are queued,
 * handing it exactly those bytes; `needed()` (the decoder's bytesWanted)
 * is the same number minus what is queued. Nothing else reads the queue.
 *
 * @module
 * @internal
 */
import { XenStreamError, type ErrorCode } from "../errors.js";
import { DomainType } from "../libxc/constants.js";
import { LibxcEncoder } from "../libxc/stream.js";
import type { LibxcRecord } from "../libxc/types.js";
import { EmulatorId, LIBXL_OPT_LEGACY, LIBXL_VERSION } from "../libxl/constants.js";
import { NO_CONTEXT, libxlTable } from "../libxl/codec.js";
import { recordBodyLength } from "../wire/record-writer.js";
import type { LibxlRecord } from "../libxl/types.js";
import { REC_LENGTH_MAX } from "../wire/frame.js";
import type { ByteQueue } from "../wire/queue.js";
import { CONVERTED_LIBXC_VERSION, CONVERTED_XEN_MAJOR, CONVERTED_XEN_MINOR } from "./constants.js";
import { PageBatches } from "./sections/batch.js";
import { Chunks } from "./sections/chunks.js";
import { Header } from "./sections/header.js";
import { HvmTail } from "./sections/hvm-tail.js";
import { PvTail } from "./sections/pv-tail.js";
import { QemuRecord } from "./sections/qemu.js";
import { Start } from "./sections/start.js";
import type { LegacyEvent, LegacyGuest, LegacyLayout, LegacyOptions, LegacyOutputFormat, LegacyWidth } from "./types.js";
import { checkOptions } from "../wire/args.js";

/** One item of the legacy format, as the driver runs it. @internal */
export interface Step {
  /** What the step reads, for TRUNCATED messages ("the ..."). */
  readonly reading: string;
  /** The bytes the step reads: stated here and nowhere else. */
  need(): number;
  /**
   * How the bytes are handed over:
   * - "take" (default): exactly `need()` bytes, consumed (a view when they
   *   lie in one pushed chunk, else assembled once by the queue);
   * - "peek": exactly `need()` bytes, left queued (the step moves on);
   * - "piece": whatever of the next `need()` bytes has arrived, up to the
   *   end of one pushed chunk, consumed: for bytes streamed on or skipped,
   *   never waited for, held or assembled. `need()` 0 runs with no bytes.
   */
  readonly mode?: "take" | "peek" | "piece";
  /** Parses the step's bytes (at absolute input offset `offset`) and moves on. */
  run(bytes: Uint8Array, offset: number): void;
  /**
   * The input ended before the step had its bytes: `rest` are the bytes
   * left (not consumed). Must move on or throw. Without it, the stream is
   * TRUNCATED there.
   */
  atEnd?(rest: Uint8Array, offset: number): void;
}

/** Largest piece of skipped or passed-through bytes taken at once. @internal */
export const PIECE = 1 << 20;

/** Resolved options. @internal */
export interface Settings {
  width: LegacyWidth | "auto";
  guest: LegacyGuest | "auto";
  format: LegacyOutputFormat;
  xl: boolean;
  skipQemu: boolean;
  maxRecordLength: number;
  trailingData: "ignore" | "error";
  /** PAGE_DATA: refill one entries array and its entry objects from batch to batch (pushEach consumers). */
  reuseEntries: boolean;
}

/** Reader options for the library's own single-pass consumers. @internal */
export interface InternalLegacyOptions extends LegacyOptions {
  /**
   * PAGE_DATA: refill one `entries` array and the same entry objects for
   * every batch (no objects per page). A batch's entries then hold only
   * until the next batch is parsed: for `pushEach`/`endEach` consumers
   * that are done with each event when their callback returns (the
   * converter), never for `push`.
   */
  reuseEntries?: boolean;
}

/** Validates the options. @internal */
export function settingsOf(options: InternalLegacyOptions): Settings {
  checkOptions(options, "legacy options");
  const fail = (message: string): never => {
    throw new XenStreamError("USAGE", 0, `legacy options: ${message}`, { layer: "legacy" });
  };
  const width = options.width ?? "auto";
  if (width !== 32 && width !== 64 && width !== "auto") fail(`width must be 32, 64 or "auto", got ${String(width)}`);
  const guest = options.guest ?? "auto";
  if (guest !== "pv" && guest !== "hvm" && guest !== "auto") fail(`guest must be "pv", "hvm" or "auto", got ${String(guest)}`);
  const format = options.format ?? "libxc";
  if (format !== "libxc" && format !== "libxl") fail(`format must be "libxc" or "libxl", got ${String(format)}`);
  const maxRecordLength = options.maxRecordLength ?? REC_LENGTH_MAX;
  if (!Number.isInteger(maxRecordLength) || maxRecordLength < 0 || maxRecordLength > 0xffff_ffff) {
    fail(`maxRecordLength must be an integer in 0..2^32-1, got ${String(maxRecordLength)}`);
  }
  const trailingData = options.trailingData ?? "ignore";
  if (trailingData !== "ignore" && trailingData !== "error") fail(`trailingData must be "ignore" or "error", got ${String(trailingData)}`);
  return {
    width,
    guest,
    format,
    xl: options.xl ?? false,
    skipQemu: options.skipQemu ?? false,
    maxRecordLength,
    trailingData,
    reuseEntries: options.reuseEntries ?? false,
  };
}

/**
 * The legacy state machine: the step driver, and what the sections share
 * (settings, layout, the facts one section learns for a later one, event
 * emission, errors).
 *
 * @internal
 */
export class LegacyParser {
  readonly settings: Settings;
  /** libxl output (else libxc). */
  readonly libxl: boolean;

  // Layout.
  layout: LegacyLayout | undefined = undefined;
  /** Size of the toolstack's `unsigned long`. */
  wordSize: 4 | 8 = 8;
  pv = true;

  // Facts learnt by one section for a later one.
  /** PV: guest width from the `vcpu` extended-info block (0 until seen). */
  guestWidth = 0;
  /** PV: size of a basic vCPU context (the `vcpu` block's size). */
  vcpuContextSize = 0;
  /** PV: an `extv` block was seen: the tail has extended vCPU contexts. */
  extendedContexts = false;
  /** PV: the `xcnt` block's xsave size (0: no xsave in the tail). */
  xsaveLength = 0;
  /** The online vCPUs of the VCPU_INFO chunk (undefined until one is read). */
  onlineVcpus: number[] | undefined = undefined;
  /** libxl output: the xenstore pairs of the TOOLSTACK chunks. */
  xenstore: Array<[Uint8Array, Uint8Array]> = [];

  // Sections.
  readonly start: Start;
  readonly header: Header;
  readonly chunks: Chunks;
  readonly batches: PageBatches;
  readonly pvTail: PvTail;
  readonly hvmTail: HvmTail;
  readonly qemu: QemuRecord;

  private step: Step;
  private pending: LegacyEvent[] = [];
  private head = 0;
  private encoder: LibxcEncoder | undefined = undefined;
  private libxcIndex = 0;
  private libxlIndex = 0;
  /** Bytes after the end of the legacy stream. */
  trailing = 0;

  // Skipping.
  private skipLeft = 0;
  private afterSkip: Step;
  private readonly skipStep: Step = {
    reading: "skipped bytes",
    mode: "piece",
    need: () => Math.min(this.skipLeft, PIECE),
    run: (bytes) => {
      this.skipLeft -= bytes.length;
      if (this.skipLeft === 0) this.go(this.afterSkip);
    },
  };

  private readonly doneStep: Step = {
    reading: "nothing",
    need: () => 0,
    run: () => {},
  };

  constructor(settings: Settings) {
    this.settings = settings;
    this.libxl = settings.format === "libxl";
    this.start = new Start(this);
    this.header = new Header(this);
    this.chunks = new Chunks(this);
    this.batches = new PageBatches(this);
    this.pvTail = new PvTail(this);
    this.hvmTail = new HvmTail(this);
    this.qemu = new QemuRecord(this);
    this.step = this.start.first();
    this.afterSkip = this.doneStep;
  }

  /** True once the whole legacy stream was read. */
  get ended(): boolean {
    return this.step === this.doneStep;
  }

  /** Where the input may stop: only after the legacy stream's end. */
  get complete(): boolean {
    return this.ended;
  }

  /** Bytes still missing before the current step can run (0 once done). */
  needed(queue: ByteQueue): number {
    if (this.ended) return 0;
    return Math.max(0, this.step.need() - queue.available);
  }

  /** The TRUNCATED error for input that stopped at `received` bytes. */
  truncated(received: number): XenStreamError {
    return new XenStreamError("TRUNCATED", received, `legacy stream truncated: the input ended in ${this.step.reading}`, { layer: "legacy" });
  }

  /** The next event, or null when more bytes are needed (or the stream is done). */
  next(queue: ByteQueue, final: boolean): LegacyEvent | null {
    for (;;) {
      if (this.head < this.pending.length) {
        const event = this.pending[this.head] as LegacyEvent;
        this.head += 1;
        if (this.head === this.pending.length) {
          this.pending.length = 0;
          this.head = 0;
        }
        return event;
      }
      if (!this.advance(queue, final)) return null;
    }
  }

  /** Runs one step; false when it waits for bytes (or the stream is done). */
  private advance(queue: ByteQueue, final: boolean): boolean {
    const step = this.step;
    if (step === this.doneStep) {
      if (queue.available > 0) this.trailingBytes(queue);
      return false;
    }
    const need = step.need();
    const offset = queue.offset;
    if (step.mode === "piece") {
      if (need > 0 && queue.available === 0) return this.atEnd(step, queue, final);
      step.run(queue.takeFront(need), offset);
      return true;
    }
    if (!queue.has(need)) return this.atEnd(step, queue, final);
    step.run(step.mode === "peek" ? queue.peek(need) : queue.take(need), offset);
    return true;
  }

  private atEnd(step: Step, queue: ByteQueue, final: boolean): boolean {
    if (!final || step.atEnd === undefined) return false;
    step.atEnd(queue.peek(queue.available), queue.offset);
    return true;
  }

  /** Bytes after the end: counted (and dropped) or TRAILING_DATA. */
  private trailingBytes(queue: ByteQueue): void {
    const offset = queue.offset;
    const length = queue.available;
    if (this.settings.trailingData === "error") {
      throw new XenStreamError("TRAILING_DATA", offset, `${length} bytes after the end of the legacy stream`, { layer: "legacy" });
    }
    queue.skip(length);
    this.trailing += length;
  }

  /** Makes `step` the current one. */
  go(step: Step): void {
    this.step = step;
  }

  /** Skips `size` bytes (never buffered), then goes to `then`. */
  skip(size: number, then: Step): void {
    this.skipLeft = size;
    this.afterSkip = then;
    this.step = this.skipStep;
  }

  fail(code: ErrorCode, offset: number, message: string): never {
    throw new XenStreamError(code, offset, message, { layer: "legacy" });
  }

  emit(event: LegacyEvent): void {
    this.pending.push(event);
  }

  /** A libxc record to write, converted from the input bytes at `offset`. */
  emitLibxc(offset: number, record: LibxcRecord): void {
    const encoder = this.encoder as LibxcEncoder;
    const { bodyLength } = encoder.recordSize(record, offset);
    this.emit({ layer: "libxc", kind: "record", offset, index: this.libxcIndex, bodyLength, record });
    this.libxcIndex += 1;
  }

  /** A libxl record to write, converted from the input bytes at `offset`. */
  emitLibxl(offset: number, record: LibxlRecord): void {
    const bodyLength = recordBodyLength(libxlTable, record, NO_CONTEXT, offset);
    this.emit({ layer: "libxl", kind: "record", offset, index: this.libxlIndex, bodyLength, record });
    this.libxlIndex += 1;
  }

  /** The layout is settled: the stream proper starts. */
  settle(layout: LegacyLayout, offset: number, detected: boolean): void {
    this.layout = layout;
    this.wordSize = layout.width === 64 ? 8 : 4;
    this.pv = layout.guest === "pv";
    this.emit({ layer: "legacy", kind: "layout", offset, layout, detected });
  }

  /** The headers convert-legacy-stream writes once p2m_size is read (legacy-stream.md §12.2). */
  startOutput(offset: number): void {
    if (this.libxl) {
      this.emit({ layer: "libxl", kind: "header", offset, header: { version: LIBXL_VERSION, options: LIBXL_OPT_LEGACY } });
      this.emitLibxl(offset, { type: "LIBXC_CONTEXT" });
    }
    const imageHeader = { version: CONVERTED_LIBXC_VERSION, options: 0 };
    const domainHeader = {
      type: this.pv ? DomainType.X86_PV : DomainType.X86_HVM,
      pageShift: 12,
      xenMajor: CONVERTED_XEN_MAJOR,
      xenMinor: CONVERTED_XEN_MINOR,
    };
    this.encoder = new LibxcEncoder(imageHeader, domainHeader);
    this.emit({ layer: "libxc", kind: "imageHeader", offset, header: imageHeader });
    this.emit({ layer: "libxc", kind: "domainHeader", offset, header: domainHeader });
  }

  /** After the libxc END: the libxl xenstore record, then the QEMU record or the end. */
  afterLibxc(offset: number): void {
    if (this.libxl && this.xenstore.length > 0) {
      this.emitLibxl(offset, { type: "EMULATOR_XENSTORE_DATA", emulatorId: EmulatorId.UNKNOWN, index: 0, entries: this.xenstore });
      this.xenstore = [];
    }
    if (!this.pv && (this.libxl || !this.settings.skipQemu)) this.go(this.qemu.first());
    else this.finish(offset);
  }

  /** The end of the legacy stream: libxl END, and the reader's own end event. */
  finish(offset: number): void {
    if (this.libxl) this.emitLibxl(offset, { type: "END" });
    this.emit({ layer: "legacy", kind: "end", offset });
    this.go(this.doneStep);
  }

  /** Reads a ulong of the toolstack's width as {low, high} u32 halves. */
  ulong(view: DataView, pos: number): { low: number; high: number } {
    const low = view.getUint32(pos, true);
    return { low, high: this.wordSize === 8 ? view.getUint32(pos + 4, true) : 0 };
  }
}
