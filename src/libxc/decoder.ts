/**
 * The one libxc parser: an incremental, push-driven state machine
 * (image header -> domain header -> records), shared by the standalone
 * {@link LibxcDecoder}, the libxl decoder (which hands it the bytes after
 * LIBXC_CONTEXT) and every whole-buffer function.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";
import { REC_LENGTH_MAX } from "../wire/frame.js";
import type { ByteQueue } from "../wire/queue.js";
import { PushDecoder } from "../wire/push.js";
import { FrameReader } from "../wire/frame-reader.js";
import type { RecordLayerOptions } from "../wire/record.js";
import { libxcTable, type LibxcPlacement } from "./codec.js";
import { DHDR_SIZE, IHDR_SIZE } from "./constants.js";
import { decodeDomainHeader, decodeImageHeader, isBigEndianImage, pageSizeOf } from "./header.js";
import { chargeRecord, type DecodedBudget } from "./records/budget.js";
import type { LibxcCodecContext } from "./records/context.js";
import type { DomainHeader, ImageHeader, LibxcRecord } from "./types.js";
import { checkOptions } from "../wire/args.js";

/** Options of every decoder. */
export interface DecoderOptions {
  /**
   * Largest record body accepted; a longer length fails with
   * RECORD_TOO_LARGE as soon as the record header arrives.
   * @defaultValue 134217728 (128 MiB, Xen's REC_LENGTH_MAX)
   */
  maxRecordLength?: number;
  /**
   * Keep unknown mandatory records (type bit 31 clear) as `UNKNOWN` records
   * instead of failing with UNKNOWN_RECORD. Unknown optional records are
   * always kept.
   * @defaultValue false
   */
  keepUnknownMandatory?: boolean;
  /**
   * Most heap, in bytes, the decoded records may take (an estimate: per
   * record, and per entry of the array records, the size of the objects
   * built); a record that would take the total over it fails with
   * RECORD_TOO_LARGE, at its header, before its objects are built. One
   * EMULATOR_XENSTORE_DATA record of 4-byte `a\0b\0` pairs takes 67 times
   * its bytes as pairs, a PAGE_DATA record of pfn entries without page
   * data 9 times.
   *
   * The whole-stream functions (`decodeLibxcStream`, `decodeLibxlStream`,
   * `decodeSaveFile`, `decodeAnySaveFile`, `decode*Events`) default to 8
   * times the input plus 4 MiB: what every stream Xen writes stays far
   * under (a real 4 GiB HVM guest's 149 MB stream, a million pfn entries
   * without data among them, decodes to about 80 MB). The push decoders,
   * whose events need not be kept, have no limit unless given one.
   * `Infinity`: no limit.
   * @defaultValue 8 x input + 4 MiB (whole-stream functions); none (push decoders)
   */
  maxDecodedBytes?: number;
}

/**
 * Decoder options for the library's own single-pass consumers. @internal
 */
export interface InternalDecoderOptions extends DecoderOptions {
  /**
   * PAGE_DATA: refill one `entries` array and the same entry objects for
   * every record instead of allocating new ones (no garbage per page).
   * A record's entries then hold only until the decoder parses its next
   * record, so this is for `pushEach` consumers that are done with each
   * event when their callback returns (the verifier), never for `push`,
   * which parses every record of a chunk before returning.
   */
  reuseEntries?: boolean;
  /**
   * Decode the records made of arrays of entries (PAGE_DATA, HVM_PARAMS,
   * the CPU policies, X86_PV_P2M_FRAMES, CHECKPOINT_DIRTY_PFN_LIST,
   * EMULATOR_XENSTORE_DATA) shallow: validated as always, the array built
   * only when read (`libxc/records/lazy.ts`). For consumers that walk the
   * bytes (the verifier); overrides `reuseEntries`.
   */
  shallowEntries?: boolean;
  /**
   * The caller keeps every record (a whole-stream function): without
   * `maxDecodedBytes`, the default limit applies, 8x `inputLength` + 4 MiB
   * (the bytes read so far when the length is not known).
   */
  keepsRecords?: { inputLength?: number };
}

/** The libxc image header, as an event. */
export interface LibxcImageHeaderEvent {
  layer: "libxc";
  kind: "imageHeader";
  /** Absolute offset of the header. */
  offset: number;
  header: ImageHeader;
}

/** The libxc domain header, as an event. */
export interface LibxcDomainHeaderEvent {
  layer: "libxc";
  kind: "domainHeader";
  /** Absolute offset of the header. */
  offset: number;
  header: DomainHeader;
}

/** One libxc record, as an event. */
export interface LibxcRecordEvent {
  layer: "libxc";
  kind: "record";
  /** Absolute offset of the record header. */
  offset: number;
  /** Index of the record in the libxc stream (0 = first record). */
  index: number;
  /** The body_length field. */
  bodyLength: number;
  record: LibxcRecord;
}

/** Everything a libxc decoder emits. */
export type LibxcEvent = LibxcImageHeaderEvent | LibxcDomainHeaderEvent | LibxcRecordEvent;

/**
 * What the libxc parser runs with: the record layer's options and the
 * libxc-only `reuseEntries` (see {@link InternalDecoderOptions}). @internal
 */
export interface LibxcParserOptions extends RecordLayerOptions {
  reuseEntries: boolean;
  shallowEntries: boolean;
  /** The decoded-size budget, shared by nested parsers (none: no limit). */
  budget: DecodedBudget | undefined;
}

/** Checks and completes decoder options. @internal */
export function recordLayerOptions(options: InternalDecoderOptions): LibxcParserOptions {
  checkOptions(options, "decoder options");
  const maxRecordLength = options.maxRecordLength ?? REC_LENGTH_MAX;
  if (!Number.isInteger(maxRecordLength) || maxRecordLength < 0 || maxRecordLength > 0xffff_ffff) {
    throw new XenStreamError("USAGE", 0, `maxRecordLength must be an integer in 0..2^32-1, got ${describeValue(maxRecordLength)}`);
  }
  const maxDecodedBytes = options.maxDecodedBytes;
  if (maxDecodedBytes !== undefined && (typeof maxDecodedBytes !== "number" || Number.isNaN(maxDecodedBytes) || maxDecodedBytes < 0)) {
    throw new XenStreamError("USAGE", 0, `maxDecodedBytes must be a number >= 0 (Infinity: no limit), got ${describeValue(maxDecodedBytes)}`);
  }
  let budget: DecodedBudget | undefined;
  if (maxDecodedBytes !== undefined) {
    budget = maxDecodedBytes === Infinity ? undefined : { spent: 0, limit: maxDecodedBytes, inputLength: undefined };
  } else if (options.keepsRecords !== undefined) {
    budget = { spent: 0, limit: undefined, inputLength: options.keepsRecords.inputLength };
  }
  return {
    maxRecordLength,
    keepUnknownMandatory: options.keepUnknownMandatory ?? false,
    reuseEntries: options.reuseEntries ?? false,
    shallowEntries: options.shallowEntries ?? false,
    budget,
  };
}

type State = "imageHeader" | "domainHeader" | "records" | "ended";

/**
 * The libxc state machine over a shared queue. `next()` returns one event,
 * or null when more bytes are needed or the stream has ended.
 *
 * @internal
 */
export class LibxcParser {
  private state: State = "imageHeader";
  private readonly options: LibxcParserOptions;
  private littleEndian = true;
  private context: LibxcCodecContext;
  private recordIndex = 0;
  private readonly frames: FrameReader<LibxcRecord, LibxcCodecContext, LibxcPlacement>;
  /** The image header, once read. */
  imageHeader: ImageHeader | undefined;
  /** The domain header, once read. */
  domainHeader: DomainHeader | undefined;
  /** True once a CHECKPOINT record was seen: a checkpointed stream. */
  checkpointed = false;
  /** True right after a CHECKPOINT record, until the next record. */
  atCheckpoint = false;

  constructor(options: LibxcParserOptions) {
    this.options = options;
    if (options.shallowEntries) this.context = { pageSize: 4096, shallow: true };
    else this.context = options.reuseEntries ? { pageSize: 4096, entryPool: { entries: [], objects: [] } } : { pageSize: 4096 };
    if (options.budget !== undefined) this.context.budget = options.budget;
    this.frames = new FrameReader(libxcTable, options);
  }

  /** Bytes still missing before the next event can be parsed (0 after END). */
  needed(queue: ByteQueue): number {
    switch (this.state) {
      case "imageHeader":
        return Math.max(0, IHDR_SIZE - queue.available);
      case "domainHeader":
        return Math.max(0, DHDR_SIZE - queue.available);
      case "records":
        return this.frames.needed(queue);
      case "ended":
        return 0;
    }
  }

  /** True after END. */
  get ended(): boolean {
    return this.state === "ended";
  }

  /** True where the stream may stop: after END, or at a checkpoint boundary. */
  get complete(): boolean {
    return this.state === "ended" || (this.atCheckpoint && this.frames.idle);
  }

  /** Parses the next event from `queue`, or returns null. */
  next(queue: ByteQueue): LibxcEvent | null {
    switch (this.state) {
      case "imageHeader": {
        if (!queue.has(IHDR_SIZE)) return null;
        const offset = queue.offset;
        const header = decodeImageHeader(queue.peek(IHDR_SIZE), offset);
        queue.skip(IHDR_SIZE);
        this.imageHeader = header;
        this.littleEndian = !isBigEndianImage(header);
        this.state = "domainHeader";
        return { layer: "libxc", kind: "imageHeader", offset, header };
      }
      case "domainHeader": {
        if (!queue.has(DHDR_SIZE)) return null;
        const offset = queue.offset;
        const header = decodeDomainHeader(queue.peek(DHDR_SIZE), this.littleEndian, offset);
        queue.skip(DHDR_SIZE);
        this.domainHeader = header;
        this.context = { ...this.context, pageSize: pageSizeOf(header) };
        this.state = "records";
        return { layer: "libxc", kind: "domainHeader", offset, header };
      }
      case "records": {
        const index = this.recordIndex;
        const frame = this.frames.take(queue, this.littleEndian, index);
        if (frame === null) return null;
        const record = libxcTable.decode(frame, this.littleEndian, this.context, this.options, index);
        chargeRecord(this.options.budget, frame.offset, frame.offset + 8 + frame.body.length + frame.padding.length, "libxc", index);
        this.recordIndex = index + 1;
        this.atCheckpoint = record.type === "CHECKPOINT";
        if (this.atCheckpoint) this.checkpointed = true;
        if (record.type === "END") this.state = "ended";
        return { layer: "libxc", kind: "record", offset: frame.offset, index, bodyLength: frame.bodyLength, record };
      }
      case "ended":
        return null;
    }
  }

  /** Where the stream stopped, in words, for TRUNCATED messages. */
  truncationPoint(): string {
    if (this.state === "imageHeader") return "in the image header";
    if (this.state === "domainHeader") return "in the domain header";
    return `before END (in or before record ${this.recordIndex})`;
  }

  /** The TRUNCATED error for a stream that stopped at `received` bytes. */
  truncated(received: number): XenStreamError {
    return new XenStreamError("TRUNCATED", received, `libxc stream truncated ${this.truncationPoint()}`, {
      layer: "libxc",
      ...(this.state === "records" ? { recordIndex: this.recordIndex } : {}),
    });
  }
}

/**
 * Incremental libxc decoder: push chunks as they arrive, get the events
 * completed so far; call `end()` when the input is exhausted.
 *
 * A record body that lies within one pushed chunk is a view into that
 * chunk (no copy); one that straddles chunks is assembled once. Memory held
 * is bounded by `maxRecordLength` plus one chunk.
 *
 * A plain stream ends with END; bytes after it fail with TRAILING_DATA. A
 * checkpointed stream (one with CHECKPOINT records) may also end right after
 * a CHECKPOINT.
 *
 * @example
 * ```ts
 * import { LibxcDecoder } from "xen-migration-stream";
 * const decoder = new LibxcDecoder();
 * for (const chunk of chunks) for (const event of decoder.push(chunk)) console.log(event.kind);
 * decoder.end();
 * ```
 */
export class LibxcDecoder extends PushDecoder<LibxcEvent, LibxcParser> {
  /**
   * Creates a decoder that expects the stream's first byte next.
   *
   * @param options - limits and tolerance
   * @param startOffset - absolute offset of the first byte pushed (default 0)
   */
  constructor(options: DecoderOptions = {}, startOffset = 0) {
    super(new LibxcParser(recordLayerOptions(options)), startOffset);
  }
}
