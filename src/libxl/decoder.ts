/**
 * The one libxl parser, with the libxc parser nested inside it.
 *
 * Nesting model (Xen libxl_stream_read.c, libxl_remus.c,
 * libxl_colo_restore.c): after a LIBXC_CONTEXT record the bytes belong to a
 * libxc stream, which has no length field. The libxc parser reads them, on
 * the same byte queue, up to and including its END; libxl records then
 * resume. In a checkpointed (Remus/COLO) stream the libxc stream instead
 * stops at each libxc CHECKPOINT and hands the bytes to libxl, which reads
 * its checkpoint records up to CHECKPOINT_END (COLO: then one
 * CHECKPOINT_STATE); the libxc record sequence then simply continues — no
 * new LIBXC_CONTEXT, no new headers — with the libxc parser's state (byte
 * order, page size, record count) kept across the libxl interlude.
 *
 * Which streams are COLO is a restore parameter in Xen, not something in
 * the stream. After CHECKPOINT_END this parser reads a type-5 record as
 * libxl CHECKPOINT_STATE when its body is shorter than 8 bytes (libxl
 * writes 4; libxc's type 5, X86_PV_VCPU_EXTENDED, needs at least 8) or when
 * the libxc domain is HVM (COLO is HVM-only and HVM streams carry no PV
 * vCPU records); otherwise the libxc stream resumes.
 *
 * A plain stream ends with the libxl END. A checkpointed stream has no END
 * (Xen's saver never writes one): it may end at a checkpoint boundary,
 * right after CHECKPOINT_END or CHECKPOINT_STATE. Ending anywhere else is
 * TRUNCATED.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { RECORD_HEADER_SIZE } from "../wire/frame.js";
import type { ByteQueue } from "../wire/queue.js";
import { PushDecoder } from "../wire/push.js";
import { viewOf } from "../wire/reader.js";
import { FrameReader } from "../wire/frame-reader.js";
import { DomainType } from "../libxc/constants.js";
import { LibxcParser, recordLayerOptions, type DecoderOptions, type LibxcEvent, type LibxcParserOptions } from "../libxc/decoder.js";
import { CHECKPOINT_STATE_SIZE, LIBXL_HDR_SIZE, LibxlRecordType } from "./constants.js";
import { decodeLibxlHeader, isBigEndianLibxl } from "./header.js";
import { NO_CONTEXT, SHALLOW_CONTEXT, libxlTable, type LibxlPlacement } from "./codec.js";
import type { NoContext } from "./records.js";
import { chargeRecord } from "../libxc/records/budget.js";
import type { LibxlHeader, LibxlRecord } from "./types.js";

/** The libxl header, as an event. */
export interface LibxlHeaderEvent {
  layer: "libxl";
  kind: "header";
  /** Absolute offset of the header. */
  offset: number;
  header: LibxlHeader;
}

/** One libxl record, as an event. */
export interface LibxlRecordEvent {
  layer: "libxl";
  kind: "record";
  /** Absolute offset of the record header. */
  offset: number;
  /** Index of the record among the libxl records (0 = first). */
  index: number;
  /** The body_length field. */
  bodyLength: number;
  record: LibxlRecord;
}

/** Everything a libxl decoder emits: its own events and the nested libxc ones. */
export type LibxlEvent = LibxlHeaderEvent | LibxlRecordEvent | LibxcEvent;

type State =
  | "header"
  /** libxl records, outside any checkpoint. */
  | "records"
  /** the nested libxc stream has the bytes. */
  | "libxc"
  /** libxl records after a libxc CHECKPOINT, up to CHECKPOINT_END. */
  | "checkpoint"
  /** after CHECKPOINT_END: a COLO CHECKPOINT_STATE, or libxc resumes. */
  | "checkpointEnd"
  /** reading the CHECKPOINT_STATE found after CHECKPOINT_END. */
  | "checkpointState"
  | "ended";

/** @internal */
export class LibxlParser {
  private state: State = "header";
  private readonly options: LibxcParserOptions;
  private littleEndian = true;
  private recordIndex = 0;
  private libxc: LibxcParser | undefined;
  private readonly frames: FrameReader<LibxlRecord, typeof NO_CONTEXT, LibxlPlacement>;
  /** True once the stream went through a checkpoint. */
  checkpointed = false;

  private readonly context: NoContext;

  constructor(options: LibxcParserOptions) {
    this.options = options;
    this.frames = new FrameReader(libxlTable, options);
    const base = options.shallowEntries ? SHALLOW_CONTEXT : NO_CONTEXT;
    this.context = options.budget === undefined ? base : { ...base, budget: options.budget };
  }

  /** Bytes still missing before the next event can be parsed (0 after END). */
  needed(queue: ByteQueue): number {
    switch (this.state) {
      case "header":
        return Math.max(0, LIBXL_HDR_SIZE - queue.available);
      case "libxc":
        return (this.libxc as LibxcParser).needed(queue);
      case "checkpointEnd":
        return Math.max(0, RECORD_HEADER_SIZE - queue.available);
      case "records":
      case "checkpoint":
      case "checkpointState":
        return this.frames.needed(queue);
      case "ended":
        return 0;
    }
  }

  get ended(): boolean {
    return this.state === "ended";
  }

  /** True where the stream may stop. */
  get complete(): boolean {
    return (
      this.state === "ended" ||
      this.state === "checkpointEnd" ||
      // libxc resumed after a checkpoint and has read nothing yet
      (this.state === "libxc" && this.checkpointed && this.libxc !== undefined && this.libxc.complete)
    );
  }

  next(queue: ByteQueue): LibxlEvent | null {
    switch (this.state) {
      case "header": {
        if (!queue.has(LIBXL_HDR_SIZE)) return null;
        const offset = queue.offset;
        const header = decodeLibxlHeader(queue.peek(LIBXL_HDR_SIZE), offset);
        queue.skip(LIBXL_HDR_SIZE);
        this.littleEndian = !isBigEndianLibxl(header);
        this.state = "records";
        return { layer: "libxl", kind: "header", offset, header };
      }
      case "libxc": {
        const libxc = this.libxc as LibxcParser;
        const event = libxc.next(queue);
        if (event === null) return null;
        if (event.kind === "record") {
          if (event.record.type === "END") this.state = "records";
          else if (event.record.type === "CHECKPOINT") {
            this.state = "checkpoint";
            this.checkpointed = true;
          }
        }
        return event;
      }
      case "checkpointEnd": {
        if (!queue.has(RECORD_HEADER_SIZE)) return null;
        this.state = this.nextIsCheckpointState(queue) ? "checkpointState" : "libxc";
        return this.next(queue);
      }
      case "records":
      case "checkpoint":
      case "checkpointState":
        return this.libxlRecord(queue);
      case "ended":
        return null;
    }
  }

  private nextIsCheckpointState(queue: ByteQueue): boolean {
    const header = viewOf(queue.peek(RECORD_HEADER_SIZE));
    if (header.getUint32(0, this.littleEndian) !== LibxlRecordType.CHECKPOINT_STATE) return false;
    const bodyLength = header.getUint32(4, this.littleEndian);
    return bodyLength < 2 * CHECKPOINT_STATE_SIZE || this.libxc?.domainHeader?.type === DomainType.X86_HVM;
  }

  private libxlRecord(queue: ByteQueue): LibxlEvent | null {
    const index = this.recordIndex;
    const frame = this.frames.take(queue, this.littleEndian, index);
    if (frame === null) return null;
    const record = libxlTable.decode(frame, this.littleEndian, this.context, this.options, index);
    chargeRecord(this.options.budget, frame.offset, frame.offset + 8 + frame.body.length + frame.padding.length, "libxl", index);
    this.recordIndex = index + 1;
    const unexpected = (why: string): never => {
      throw new XenStreamError("UNEXPECTED_RECORD", frame.offset, `libxl record ${index} (${record.type}): ${why}`, {
        recordIndex: index,
        layer: "libxl",
      });
    };
    const inCheckpoint = this.state === "checkpoint";
    switch (record.type) {
      case "LIBXC_CONTEXT":
        if (this.state !== "records") unexpected("LIBXC_CONTEXT inside a checkpoint");
        this.libxc = new LibxcParser(this.options);
        this.state = "libxc";
        break;
      case "END":
        if (this.state !== "records") unexpected("END inside a checkpoint");
        this.state = "ended";
        break;
      case "CHECKPOINT_END":
        if (!inCheckpoint) unexpected("CHECKPOINT_END outside a checkpoint (no libxc CHECKPOINT before it)");
        this.state = "checkpointEnd";
        break;
      case "CHECKPOINT_STATE":
        if (this.state !== "checkpointState") unexpected("CHECKPOINT_STATE is only read right after CHECKPOINT_END");
        this.state = "libxc";
        break;
      default:
        if (this.state === "checkpointState") unexpected("only CHECKPOINT_STATE or libxc records follow CHECKPOINT_END");
    }
    return { layer: "libxl", kind: "record", offset: frame.offset, index, bodyLength: frame.bodyLength, record };
  }

  truncated(received: number): XenStreamError {
    if (this.state === "libxc" && this.libxc !== undefined) {
      return new XenStreamError("TRUNCATED", received, `libxl stream truncated inside its libxc stream, ${this.libxc.truncationPoint()}`, {
        layer: "libxc",
      });
    }
    const where =
      this.state === "header"
        ? "in the libxl header"
        : this.state === "checkpoint"
          ? `inside a checkpoint (before CHECKPOINT_END, in or before libxl record ${this.recordIndex})`
          : `before END (in or before libxl record ${this.recordIndex})`;
    return new XenStreamError("TRUNCATED", received, `libxl stream truncated ${where}`, { layer: "libxl" });
  }
}

/**
 * Incremental libxl decoder: one event sequence for both layers (each event
 * names its `layer`), every event at its absolute offset. See the module
 * documentation for how nesting and checkpoints are followed.
 */
export class LibxlDecoder extends PushDecoder<LibxlEvent, LibxlParser> {
  /**
   * Creates a decoder that expects the stream's first byte next.
   *
   * @param options - limits and tolerance (apply to both layers)
   * @param startOffset - absolute offset of the first byte pushed (default 0)
   */
  constructor(options: DecoderOptions = {}, startOffset = 0) {
    super(new LibxlParser(recordLayerOptions(options)), startOffset);
  }
}
