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
 * Memory: the reader holds at most one page batch (4 MiB + 8 KiB), the p2m
 * frame list (at most 4 MiB, see LEGACY_P2M_SIZE_MAX), or one item bounded
 * by `maxRecordLength`; skipped and passed-through bytes are never
 * buffered. Values hold views into the pushed chunks where a field lies
 * inside one chunk (so chunks must not be reused by the caller).
 *
 * @module
 */
import { concatBytes } from "../wire/bytes.js";
import { XenStreamError, type ErrorCode } from "../errors.js";
import { DomainType } from "../libxc/constants.js";
import type { HvmParam, LibxcRecord, PfnEntry } from "../libxc/types.js";
import { EmulatorId, LIBXL_OPT_LEGACY, LIBXL_VERSION } from "../libxl/constants.js";
import type { LibxlRecord } from "../libxl/types.js";
import { REC_LENGTH_MAX } from "../wire/frame.js";
import { ByteQueue } from "../wire/queue.js";
import { viewOf } from "../wire/reader.js";
import { XL_HEADER_SIZE, XlMandatoryFlag } from "../xl/constants.js";
import { decodeXlHeader, isStreamV2, readXlFixedHeader } from "../xl/header.js";
import {
  CONVERTED_LIBXC_VERSION,
  CONVERTED_XEN_MAJOR,
  CONVERTED_XEN_MINOR,
  ExtendedInfoBlock,
  HVM_PARAM_BUFIOREQ_PFN,
  HVM_PARAM_IOREQ_PFN,
  HVM_PARAM_STORE_PFN,
  LEGACY_EXTENDED_CONTEXT_SIZE,
  LEGACY_FIRST_DATALESS_TYPE,
  LEGACY_HVM_MAGIC_PFNS_SIZE,
  LEGACY_HVM_PARAM_CHUNKS,
  LEGACY_HVM_PARAM_PAYLOAD,
  LEGACY_MAX_BATCH,
  LEGACY_MAX_VCPU_ID,
  LEGACY_P2M_SIZE_MAX,
  LEGACY_PAGE_SIZE,
  LEGACY_PFN_MASK,
  LEGACY_PFN_TYPE_SHIFT,
  LEGACY_SHARED_INFO_SIZE,
  LEGACY_TSC_INFO_PAYLOAD,
  LEGACY_UNMAPPED_MAX,
  LEGACY_XSAVE_HEADER_SIZE,
  LEGACY_XTAB_ENTRY,
  LegacyChunkId,
  QEMU_SAVE_MAGIC,
  QEMU_SIGNATURE_SIZE,
  QemuSignature,
  VCPU_CONTEXT_SIZE_32,
  VCPU_CONTEXT_SIZE_64,
  legacyChunkName,
} from "./constants.js";
import { LEGACY_DETECT_WINDOW, checkNotV2, detectLegacyLayout } from "./detect.js";
import { physmapToXenstore } from "./toolstack.js";
import type { LegacyEvent, LegacyGuest, LegacyLayout, LegacyOptions, LegacyOutputFormat, LegacyWidth } from "./types.js";

type State =
  | "xlHeader"
  | "detect"
  | "p2mSize"
  | "extSignature"
  | "extTotal"
  | "extBlock"
  | "xcnt"
  | "p2mFrames"
  | "chunk"
  | "batchEntries"
  | "batchPages"
  | "vcpuInfo"
  | "hvmParam"
  | "tscInfo"
  | "toolstackSize"
  | "toolstackData"
  | "pvUnmapped"
  | "vcpuBasic"
  | "vcpuExtended"
  | "xsaveHeader"
  | "xsaveData"
  | "sharedInfo"
  | "hvmMagic"
  | "hvmContextLength"
  | "hvmContext"
  | "qemuSignature"
  | "qemuLength"
  | "qemuData"
  | "qemuMagic"
  | "qemuToEnd"
  | "skip"
  | "passthrough"
  | "done";

/** What each state is reading, for TRUNCATED messages. */
const READING: Record<State, string> = {
  xlHeader: "the xl header",
  detect: "the first bytes of the legacy stream",
  p2mSize: "p2m_size",
  extSignature: "the PV extended-info signature",
  extTotal: "the PV extended-info size",
  extBlock: "a PV extended-info block",
  xcnt: "the xcnt extended-info block",
  p2mFrames: "the p2m frame list",
  chunk: "a chunk id",
  batchEntries: "a page batch's pfn list",
  batchPages: "a page batch's page data",
  vcpuInfo: "a VCPU_INFO chunk",
  hvmParam: "an HVM parameter chunk",
  tscInfo: "a TSC_INFO chunk",
  toolstackSize: "a TOOLSTACK chunk's size",
  toolstackData: "a TOOLSTACK chunk's data",
  pvUnmapped: "the PV tail's unmapped pfn count",
  vcpuBasic: "a vCPU context in the PV tail",
  vcpuExtended: "an extended vCPU context in the PV tail",
  xsaveHeader: "an xsave header in the PV tail",
  xsaveData: "xsave data in the PV tail",
  sharedInfo: "the shared info page in the PV tail",
  hvmMagic: "the HVM tail's magic pfns",
  hvmContextLength: "the HVM context length",
  hvmContext: "the HVM context",
  qemuSignature: "the QEMU record signature",
  qemuLength: "the QEMU record length",
  qemuData: "the QEMU record data",
  qemuMagic: 'the QEMU state\'s "QEVM" magic',
  qemuToEnd: "the QEMU state",
  skip: "skipped bytes",
  passthrough: "the QEMU record data",
  done: "nothing",
};

/** Largest piece of pass-through bytes taken at once (bounds straddle copies). */
const PASSTHROUGH_PIECE = 1 << 20;

const EMPTY = new Uint8Array(0);

/** Resolved options. */
interface Settings {
  width: LegacyWidth | "auto";
  guest: LegacyGuest | "auto";
  format: LegacyOutputFormat;
  xl: boolean;
  skipQemu: boolean;
  maxRecordLength: number;
  trailingData: "ignore" | "error";
}

function settingsOf(options: LegacyOptions): Settings {
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
  return { width, guest, format, xl: options.xl ?? false, skipQemu: options.skipQemu ?? false, maxRecordLength, trailingData };
}

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/**
 * Incremental legacy stream reader. Push chunks as they arrive and get the
 * v2 events they complete; call `end()` when the input is exhausted.
 *
 * @example
 * ```ts
 * import { LegacyReader } from "xen-migration-stream";
 * const reader = new LegacyReader({ width: 64, guest: "pv" });
 * for (const chunk of chunks) for (const event of reader.push(chunk)) console.log(event.layer, event.kind);
 * reader.end();
 * ```
 */
export class LegacyReader {
  private readonly settings: Settings;
  private readonly queue: ByteQueue;
  private events: LegacyEvent[] = [];
  private state: State;
  private failure: unknown = undefined;
  private ended = false;

  // Layout.
  private layoutValue: LegacyLayout | undefined = undefined;
  private wordSize: 4 | 8 = 8;
  private pv = true;
  private libxl: boolean;
  private nextDetectAt = 8;
  private p2mSize = 0;

  // PV extended info.
  private extTotal = 0;
  private extSoFar = 0;
  private guestWidth = 0;
  private basicLength = 0;
  private extended = false;
  private xsaveLength = 0;

  // Chunks.
  private chunkOffset = 0;
  private batchCount = 0;
  private batchEntries: PfnEntry[] = [];
  private batchDataPages = 0;
  /** With a sink: every entry object made so far, refilled batch after batch. */
  private readonly entryObjects: PfnEntry[] = [];
  private sink: ((event: LegacyEvent) => void) | undefined = undefined;
  private readonly batchSeen = new BatchSet();
  private chunkId = 0;
  private toolstackLength = 0;
  private hvmParams: HvmParam[] = [];
  private onlineVcpus: number[] | undefined = undefined;
  private xenstore: Array<[Uint8Array, Uint8Array]> = [];

  // PV tail.
  private vcpuIndex = 0;
  private xsaveSize = 0;

  // HVM tail and QEMU.
  private hvmContextLength = 0;
  private qemuLength = 0;
  private qemuParts: Uint8Array[] = [];
  private qemuTotal = 0;
  private qemuStart = 0;

  // Skipping and pass-through.
  private remaining = 0;
  private afterSkip: () => void = () => {};

  private trailing = 0;

  /**
   * @param options - width, guest, output format and limits
   * @param startOffset - absolute offset of the first byte pushed (default 0)
   * @throws {@link XenStreamError} USAGE for invalid options
   */
  constructor(options: LegacyOptions = {}, startOffset = 0) {
    this.settings = settingsOf(options);
    this.queue = new ByteQueue(startOffset);
    this.libxl = this.settings.format === "libxl";
    this.state = this.settings.xl ? "xlHeader" : "detect";
  }

  /** The layout, once given or detected. */
  get layout(): LegacyLayout | undefined {
    return this.layoutValue;
  }

  /**
   * Hands every event to `sink` the moment it is made, instead of returning
   * it from push() and end(). A sink that is done with each event when it
   * returns (the converter encodes it) lets the reader refill one PAGE_DATA
   * entries array and its entry objects for every batch: no objects per
   * page. @internal
   */
  deliverTo(sink: (event: LegacyEvent) => void): void {
    this.sink = sink;
  }

  /** True once the whole legacy stream was read. */
  get done(): boolean {
    return this.state === "done";
  }

  /** Bytes received after the end of the legacy stream (left unconverted). */
  get trailingBytes(): number {
    return this.trailing;
  }

  /** Absolute offset of the next byte the reader will look at. */
  get offset(): number {
    return this.queue.offset;
  }

  /** Bytes pushed but not yet consumed (held by the reader). */
  get buffered(): number {
    return this.queue.available;
  }

  /**
   * How many more bytes the reader needs before it can make progress: the
   * rest of the item it is reading (a page batch's data, a context...);
   * for skipped, copied or read-to-the-end bytes, at most 1 MiB. 0 once
   * done. A caller that pushes exactly this many bytes in one contiguous
   * chunk gets every item as a view, never an assembled copy; and once it
   * has consumed the events, the reader holds no reference to bytes before
   * `offset` (values it keeps past an event are copies).
   */
  get needed(): number {
    const target = this.target();
    return Math.max(0, target - this.queue.available);
  }

  /** Bytes the current state waits for (see `needed`). */
  private target(): number {
    const queue = this.queue;
    switch (this.state) {
      case "xlHeader":
        if (!queue.has(XL_HEADER_SIZE)) return XL_HEADER_SIZE;
        return XL_HEADER_SIZE + viewOf(queue.peek(XL_HEADER_SIZE)).getUint32(44, true);
      case "detect":
        return this.settings.width !== "auto" && this.settings.guest !== "auto" ? 8 : Math.min(this.nextDetectAt, LEGACY_DETECT_WINDOW);
      case "p2mSize":
      case "extSignature":
        return this.wordSize;
      case "extBlock":
        return this.extSoFar >= this.extTotal ? 0 : 8;
      case "p2mFrames":
        return (Math.floor((this.p2mSize - 1) / (LEGACY_PAGE_SIZE / this.guestWidth)) + 1) * this.wordSize;
      case "batchEntries":
        return this.batchCount * this.wordSize;
      case "batchPages":
        return this.batchDataPages * LEGACY_PAGE_SIZE;
      case "vcpuInfo": {
        if (!queue.has(4)) return 4;
        const maxId = viewOf(queue.peek(4)).getInt32(0, true);
        return maxId < 0 ? 4 : 4 + 8 * (Math.floor(maxId / 64) + 1);
      }
      case "hvmParam":
        return LEGACY_HVM_PARAM_PAYLOAD;
      case "tscInfo":
        return LEGACY_TSC_INFO_PAYLOAD;
      case "toolstackData":
        return this.toolstackLength;
      case "vcpuBasic":
        return this.basicLength;
      case "vcpuExtended":
        return LEGACY_EXTENDED_CONTEXT_SIZE;
      case "xsaveHeader":
        return LEGACY_XSAVE_HEADER_SIZE;
      case "xsaveData":
        return this.xsaveSize;
      case "sharedInfo":
        return LEGACY_SHARED_INFO_SIZE;
      case "hvmMagic":
        return LEGACY_HVM_MAGIC_PFNS_SIZE;
      case "hvmContext":
        return this.hvmContextLength;
      case "qemuSignature":
        return QEMU_SIGNATURE_SIZE;
      case "qemuData":
        return this.qemuLength;
      case "qemuMagic":
        return QEMU_SAVE_MAGIC.length;
      case "qemuToEnd":
        return queue.available + PASSTHROUGH_PIECE;
      case "skip":
      case "passthrough":
        return Math.min(this.remaining, PASSTHROUGH_PIECE);
      case "done":
        return 0;
      default:
        // extTotal, xcnt, chunk, toolstackSize, pvUnmapped, hvmContextLength, qemuLength
        return 4;
    }
  }

  /**
   * Adds bytes and returns every event they complete.
   *
   * @throws {@link XenStreamError} on malformed input (the reader then keeps
   * failing with the same error)
   */
  push(chunk: Uint8Array): LegacyEvent[] {
    this.guard();
    try {
      if (this.state === "done") {
        this.addTrailing(this.queue.received, chunk.length);
        return [];
      }
      this.queue.push(chunk);
      this.run();
      return this.take();
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  /**
   * Declares the input complete and returns the last events (a QEMU record
   * read to the end of the stream completes here).
   *
   * @throws {@link XenStreamError} TRUNCATED when the legacy stream is
   * incomplete
   */
  end(): LegacyEvent[] {
    this.guard();
    this.ended = true;
    try {
      if (this.state === "detect") this.detect(true);
      this.run();
      if (this.state === "qemuMagic") {
        this.qemuMagic(true);
        this.run();
      }
      if (this.state === "qemuToEnd") this.finishQemuToEnd();
      if (this.state !== "done") {
        throw new XenStreamError(
          "TRUNCATED",
          this.queue.received,
          `legacy stream truncated: the input ended in ${READING[this.state]}`,
          { layer: "legacy" },
        );
      }
      return this.take();
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  private guard(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new XenStreamError("USAGE", this.queue.received, "legacy reader already ended", { layer: "legacy" });
  }

  private take(): LegacyEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  private addTrailing(offset: number, length: number): void {
    if (length === 0) return;
    if (this.settings.trailingData === "error") {
      throw new XenStreamError("TRAILING_DATA", offset, `${length} bytes after the end of the legacy stream`, { layer: "legacy" });
    }
    this.trailing += length;
  }

  private fail(code: ErrorCode, offset: number, message: string): never {
    throw new XenStreamError(code, offset, message, { layer: "legacy" });
  }

  private chunkFail(code: ErrorCode, message: string): never {
    this.fail(code, this.chunkOffset, `${legacyChunkName(this.chunkId)} chunk (id ${this.chunkId}): ${message}`);
  }

  private emitEvent(event: LegacyEvent): void {
    if (this.sink === undefined) this.events.push(event);
    else this.sink(event);
  }

  private emitLibxc(offset: number, record: LibxcRecord): void {
    this.emitEvent({ layer: "libxc", kind: "record", offset, record });
  }

  private emitLibxl(offset: number, record: LibxlRecord): void {
    this.emitEvent({ layer: "libxl", kind: "record", offset, record });
  }

  /** Reads a ulong of the toolstack's width as {low, high} u32 halves. */
  private ulong(view: DataView, pos: number): { low: number; high: number } {
    const low = view.getUint32(pos, true);
    return { low, high: this.wordSize === 8 ? view.getUint32(pos + 4, true) : 0 };
  }

  /** Runs the state machine until it needs more bytes or is done. */
  private run(): void {
    while (this.step()) {
      // keep going
    }
    if (this.state === "done" && this.queue.available > 0) {
      const offset = this.queue.offset;
      const length = this.queue.available;
      this.queue.skip(length);
      this.addTrailing(offset, length);
    }
  }

  /** One step; false when more bytes are needed (or the stream is done). */
  private step(): boolean {
    const queue = this.queue;
    switch (this.state) {
      case "xlHeader":
        return this.xlHeader();
      case "detect":
        return this.detect(false);
      case "p2mSize": {
        if (!queue.has(this.wordSize)) return false;
        const offset = queue.offset;
        const { low, high } = this.ulong(viewOf(queue.take(this.wordSize)), 0);
        this.startOutput(offset);
        if (this.pv) {
          // B9: the reference dies on struct.error for p2m_size 0; a size
          // past 2^28 cannot be sent in 28-bit pfn fields (and would make
          // the frame list unbounded).
          if (high !== 0 || low === 0 || low > LEGACY_P2M_SIZE_MAX) {
            const value = high * 2 ** 32 + low;
            this.fail("BAD_FIELD", offset, `p2m_size ${value} of a PV stream is outside 1..2^28 (legacy pfn fields have 28 bits)`);
          }
          this.p2mSize = low;
          this.state = "extSignature";
        } else {
          // Read and ignored for HVM, as by the reference.
          this.emitLibxc(offset, { type: "STATIC_DATA_END" });
          this.state = "chunk";
        }
        return true;
      }
      case "extSignature": {
        if (!queue.has(this.wordSize)) return false;
        const offset = queue.offset;
        const bytes = queue.take(this.wordSize);
        if (!bytes.every((byte) => byte === 0xff)) {
          // Pre-3.0 streams without extended info: the reference refuses them too.
          this.fail("BAD_MAGIC", offset, "PV extended-info signature must be ~0 (all 0xFF); streams without extended info (Xen < 3.0) are not converted");
        }
        this.state = "extTotal";
        return true;
      }
      case "extTotal": {
        if (!queue.has(4)) return false;
        this.extTotal = viewOf(queue.take(4)).getUint32(0, true);
        this.extSoFar = 0;
        this.state = "extBlock";
        return true;
      }
      case "extBlock":
        return this.extBlock();
      case "xcnt": {
        if (!queue.has(4)) return false;
        const offset = queue.offset;
        const xcnt = viewOf(queue.take(4)).getUint32(0, true);
        // B7: an xcnt below 16 can never match a vCPU's xsave size (the
        // reference asserts in the tail); 0 means no xsave.
        if (xcnt !== 0 && xcnt < LEGACY_XSAVE_HEADER_SIZE) {
          this.fail("BAD_FIELD", offset, `xcnt ${xcnt} is smaller than the 16-byte xsave header`);
        }
        if (xcnt - LEGACY_XSAVE_HEADER_SIZE > this.settings.maxRecordLength) {
          this.fail("RECORD_TOO_LARGE", offset, `xcnt ${xcnt}: xsave data exceeds the maximum ${this.settings.maxRecordLength}`);
        }
        this.xsaveLength = xcnt;
        this.skipThen(this.remaining, () => (this.state = "extBlock"));
        return true;
      }
      case "p2mFrames": {
        const framesPerPage = LEGACY_PAGE_SIZE / this.guestWidth;
        const count = Math.floor((this.p2mSize - 1) / framesPerPage) + 1;
        const size = count * this.wordSize;
        if (!queue.has(size)) return false;
        const offset = queue.offset;
        const view = viewOf(queue.take(size));
        const frames = new Array<bigint>(count);
        if (this.wordSize === 8) for (let i = 0; i < count; i++) frames[i] = view.getBigUint64(8 * i, true);
        else for (let i = 0; i < count; i++) frames[i] = BigInt(view.getUint32(4 * i, true));
        this.emitLibxc(offset, { type: "X86_PV_P2M_FRAMES", startPfn: 0, endPfn: this.p2mSize - 1, frames });
        this.state = "chunk";
        return true;
      }
      case "chunk":
        return this.chunk();
      case "batchEntries":
        return this.batchEntriesStep();
      case "batchPages": {
        const size = this.batchDataPages * LEGACY_PAGE_SIZE;
        if (!queue.has(size)) return false;
        const pages = queue.take(size);
        // B3: a batch of bare XTAB entries only becomes nothing (the
        // reference writes a PAGE_DATA with count 0, which v2 forbids).
        if (this.batchEntries.length > 0) {
          this.emitLibxc(this.chunkOffset, { type: "PAGE_DATA", entries: this.batchEntries, pages });
        }
        if (this.sink === undefined) this.batchEntries = [];
        this.state = "chunk";
        return true;
      }
      case "vcpuInfo":
        return this.vcpuInfo();
      case "hvmParam": {
        if (!queue.has(LEGACY_HVM_PARAM_PAYLOAD)) return false;
        // u32 pad (ignored, as by the reference and the restorer), u64 value.
        const value = viewOf(queue.take(LEGACY_HVM_PARAM_PAYLOAD)).getBigUint64(4, true);
        this.hvmParams.push({ index: BigInt(LEGACY_HVM_PARAM_CHUNKS.get(this.chunkId) as number), value });
        this.state = "chunk";
        return true;
      }
      case "tscInfo": {
        if (!queue.has(LEGACY_TSC_INFO_PAYLOAD)) return false;
        // Legacy order: mode u32, nsec u64, khz u32, incarnation u32.
        const view = viewOf(queue.take(LEGACY_TSC_INFO_PAYLOAD));
        this.emitLibxc(this.chunkOffset, {
          type: "X86_TSC_INFO",
          mode: view.getUint32(0, true),
          khz: view.getUint32(12, true),
          nsec: view.getBigUint64(4, true),
          incarnation: view.getUint32(16, true),
        });
        this.state = "chunk";
        return true;
      }
      case "toolstackSize": {
        if (!queue.has(4)) return false;
        const offset = queue.offset;
        const size = viewOf(queue.take(4)).getUint32(0, true);
        if (size === 0 || !this.libxl) {
          // libxc output discards the data unread, as the reference does.
          this.skipThen(size, () => (this.state = "chunk"));
          return true;
        }
        if (size > this.settings.maxRecordLength) {
          this.fail("RECORD_TOO_LARGE", offset, `TOOLSTACK chunk: ${size} bytes of data exceed the maximum ${this.settings.maxRecordLength}`);
        }
        this.toolstackLength = size;
        this.state = "toolstackData";
        return true;
      }
      case "toolstackData": {
        if (!queue.has(this.toolstackLength)) return false;
        const offset = queue.offset;
        // Copied: the pairs live until after the tail.
        const data = queue.take(this.toolstackLength).slice();
        this.xenstore.push(...physmapToXenstore(data, this.layoutValue?.width ?? 64, offset));
        this.state = "chunk";
        return true;
      }
      case "pvUnmapped": {
        if (!queue.has(4)) return false;
        const offset = queue.offset;
        const count = viewOf(queue.take(4)).getUint32(0, true);
        if (count > LEGACY_UNMAPPED_MAX) {
          this.fail("BAD_FIELD", offset, `PV tail: ${count} unmapped pfns exceed the restorer's limit of 2^28`);
        }
        if (this.onlineVcpus === undefined) {
          // §12.7: no VCPU_INFO chunk. The 4.5 restorer then assumed only
          // vCPU 0; the reference emits no vCPU at all and reads the first
          // vCPU context as the shared info page. Follow the restorer.
          this.onlineVcpus = [0];
        }
        this.vcpuIndex = 0;
        // The "unmapped" pfns are bogus; skipped, as by the reference.
        this.skipThen(count * this.wordSize, () => this.nextVcpu());
        return true;
      }
      case "vcpuBasic": {
        if (!queue.has(this.basicLength)) return false;
        const offset = queue.offset;
        const context = queue.take(this.basicLength);
        this.emitLibxc(offset, { type: "X86_PV_VCPU_BASIC", vcpuId: this.currentVcpu(), context });
        if (this.extended) this.state = "vcpuExtended";
        else this.afterExtended();
        return true;
      }
      case "vcpuExtended": {
        if (!queue.has(LEGACY_EXTENDED_CONTEXT_SIZE)) return false;
        const offset = queue.offset;
        const context = queue.take(LEGACY_EXTENDED_CONTEXT_SIZE);
        this.emitLibxc(offset, { type: "X86_PV_VCPU_EXTENDED", vcpuId: this.currentVcpu(), context });
        this.afterExtended();
        return true;
      }
      case "xsaveHeader": {
        if (!queue.has(LEGACY_XSAVE_HEADER_SIZE)) return false;
        const offset = queue.offset;
        const view = viewOf(queue.take(LEGACY_XSAVE_HEADER_SIZE));
        // u64 xfeature_mask (dropped, as by the reference), u64 size.
        const sizeLow = view.getUint32(8, true);
        const sizeHigh = view.getUint32(12, true);
        const expected = this.xsaveLength - LEGACY_XSAVE_HEADER_SIZE;
        if (sizeHigh !== 0 || sizeLow !== expected) {
          // B7: the reference dies on a bare assert here.
          this.fail(
            "BAD_LENGTH",
            offset + 8,
            `PV tail, vCPU ${this.currentVcpu()}: xsave size ${sizeHigh !== 0 ? "above 2^32" : sizeLow} differs from the ${expected} announced by the xcnt block (${this.xsaveLength} - 16)`,
          );
        }
        this.xsaveSize = expected;
        this.state = "xsaveData";
        return true;
      }
      case "xsaveData": {
        if (!queue.has(this.xsaveSize)) return false;
        const offset = queue.offset;
        const context = queue.take(this.xsaveSize);
        this.emitLibxc(offset, { type: "X86_PV_VCPU_XSAVE", vcpuId: this.currentVcpu(), context });
        this.vcpuIndex++;
        this.nextVcpu();
        return true;
      }
      case "sharedInfo": {
        if (!queue.has(LEGACY_SHARED_INFO_SIZE)) return false;
        const offset = queue.offset;
        this.emitLibxc(offset, { type: "SHARED_INFO", data: queue.take(LEGACY_SHARED_INFO_SIZE) });
        this.emitLibxc(offset, { type: "END" });
        this.afterLibxc(queue.offset);
        return true;
      }
      case "hvmMagic": {
        if (!queue.has(LEGACY_HVM_MAGIC_PFNS_SIZE)) return false;
        const offset = queue.offset;
        const view = viewOf(queue.take(LEGACY_HVM_MAGIC_PFNS_SIZE));
        // Always written, even when zero, in this order (reference: read_hvm_tail()).
        this.emitLibxc(offset, {
          type: "HVM_PARAMS",
          params: [
            { index: BigInt(HVM_PARAM_IOREQ_PFN), value: view.getBigUint64(0, true) },
            { index: BigInt(HVM_PARAM_BUFIOREQ_PFN), value: view.getBigUint64(8, true) },
            { index: BigInt(HVM_PARAM_STORE_PFN), value: view.getBigUint64(16, true) },
          ],
        });
        this.state = "hvmContextLength";
        return true;
      }
      case "hvmContextLength": {
        if (!queue.has(4)) return false;
        const offset = queue.offset;
        const length = viewOf(queue.take(4)).getUint32(0, true);
        // B10: the reference converts a zero length into an empty
        // HVM_CONTEXT, which v2 forbids and no restore accepts.
        if (length === 0) this.fail("BAD_LENGTH", offset, "HVM tail: HVM context length is 0");
        if (length > this.settings.maxRecordLength) {
          this.fail("RECORD_TOO_LARGE", offset, `HVM tail: HVM context of ${length} bytes exceeds the maximum ${this.settings.maxRecordLength}`);
        }
        this.hvmContextLength = length;
        this.state = "hvmContext";
        return true;
      }
      case "hvmContext": {
        if (!queue.has(this.hvmContextLength)) return false;
        const offset = queue.offset;
        this.emitLibxc(offset, { type: "HVM_CONTEXT", data: queue.take(this.hvmContextLength) });
        this.emitLibxc(queue.offset, { type: "END" });
        this.afterLibxc(queue.offset);
        return true;
      }
      case "qemuSignature":
        return this.qemuSignature();
      case "qemuLength": {
        if (!queue.has(4)) return false;
        const offset = queue.offset;
        const lengthBytes = queue.take(4);
        const length = viewOf(lengthBytes).getUint32(0, true);
        if (!this.libxl) {
          // libxc output: the record is copied after the libxc END as found.
          this.emitEvent({ layer: "legacy", kind: "passthrough", offset, bytes: lengthBytes });
          this.remaining = length;
          this.state = "passthrough";
          return true;
        }
        if (length > this.settings.maxRecordLength) {
          this.fail("RECORD_TOO_LARGE", offset, `QEMU record of ${length} bytes exceeds the maximum ${this.settings.maxRecordLength}`);
        }
        this.qemuLength = length;
        this.state = "qemuData";
        return true;
      }
      case "qemuData": {
        if (!queue.has(this.qemuLength)) return false;
        const offset = queue.offset;
        const data = queue.take(this.qemuLength);
        this.emitLibxl(offset, { type: "EMULATOR_CONTEXT", emulatorId: EmulatorId.UNKNOWN, index: 0, data });
        this.finish(queue.offset);
        return true;
      }
      case "qemuMagic":
        return this.qemuMagic(false);
      case "qemuToEnd": {
        if (queue.available === 0) return false;
        const offset = queue.offset;
        const length = queue.available;
        if (!this.libxl) {
          this.emitEvent({ layer: "legacy", kind: "passthrough", offset, bytes: queue.take(Math.min(length, PASSTHROUGH_PIECE)) });
          return true;
        }
        if (this.qemuTotal + length > this.settings.maxRecordLength) {
          this.fail("RECORD_TOO_LARGE", offset, `QEMU state read to the end of the stream exceeds the maximum ${this.settings.maxRecordLength} bytes`);
        }
        // Copied: the parts are kept until the end of the input.
        this.qemuParts.push(queue.take(length).slice());
        this.qemuTotal += length;
        return true;
      }
      case "skip": {
        if (this.remaining > 0) {
          const size = Math.min(this.remaining, queue.available);
          if (size === 0) return false;
          queue.skip(size);
          this.remaining -= size;
          if (this.remaining > 0) return false;
        }
        this.afterSkip();
        return true;
      }
      case "passthrough": {
        if (this.remaining > 0) {
          const size = Math.min(this.remaining, queue.available, PASSTHROUGH_PIECE);
          if (size === 0) return false;
          const offset = queue.offset;
          this.emitEvent({ layer: "legacy", kind: "passthrough", offset, bytes: queue.take(size) });
          this.remaining -= size;
          if (this.remaining > 0) return true;
        }
        this.finish(queue.offset);
        return true;
      }
      case "done":
        return false;
    }
  }

  private skipThen(size: number, then: () => void): void {
    this.remaining = size;
    this.afterSkip = then;
    this.state = "skip";
  }

  /**
   * `-x`: the xl header, copied to the output with STREAMv2 added for libxl
   * output (reference: skip_xl_header(), which never matches the magic under
   * Python 3 — B1).
   */
  private xlHeader(): boolean {
    const queue = this.queue;
    if (!queue.has(XL_HEADER_SIZE)) return false;
    const offset = queue.offset;
    const { littleEndian, optionalDataLength } = readXlFixedHeader(queue.peek(XL_HEADER_SIZE), offset);
    if (!littleEndian) this.fail("UNSUPPORTED", offset + 32, "xl header is big-endian; legacy streams are x86 (little-endian) only");
    if (optionalDataLength > this.settings.maxRecordLength) {
      this.fail("RECORD_TOO_LARGE", offset + 44, `xl header: optional_data_len ${optionalDataLength} exceeds the maximum ${this.settings.maxRecordLength}`);
    }
    if (!queue.has(XL_HEADER_SIZE + optionalDataLength)) return false;
    const { header, size } = decodeXlHeader(queue.peek(XL_HEADER_SIZE + optionalDataLength), offset);
    if (isStreamV2(header)) {
      throw new XenStreamError("BAD_FIELD", offset + 36, "xl header has the STREAMv2 flag: the stream after it is already migration v2", { layer: "xl" });
    }
    // Copied: the header's views must outlive the chunk it arrived in.
    const copy = queue.take(size).slice();
    const { header: output } = decodeXlHeader(copy, offset);
    if (this.libxl) output.mandatoryFlags |= XlMandatoryFlag.STREAMV2;
    this.emitEvent({ layer: "xl", kind: "header", offset, header: output });
    this.state = "detect";
    return true;
  }

  private detect(final: boolean): boolean {
    const queue = this.queue;
    const { width, guest } = this.settings;
    let layout: LegacyLayout | undefined;
    const offset = queue.offset;
    if (width !== "auto" && guest !== "auto") {
      if (!queue.has(8) && !final) return false;
      checkNotV2(queue.peek(Math.min(8, queue.available)), offset);
      layout = { width, guest };
    } else {
      if (!final && queue.available < Math.min(this.nextDetectAt, LEGACY_DETECT_WINDOW)) return false;
      const bytes = queue.peek(Math.min(queue.available, LEGACY_DETECT_WINDOW));
      layout = detectLegacyLayout(bytes, { width, guest, final, offset });
      if (layout === undefined) {
        // Look again once there are twice as many bytes: no quadratic re-scans.
        this.nextDetectAt = Math.max(8, 2 * queue.available);
        return false;
      }
    }
    this.layoutValue = layout;
    this.wordSize = layout.width === 64 ? 8 : 4;
    this.pv = layout.guest === "pv";
    this.emitEvent({ layer: "legacy", kind: "layout", offset, layout, detected: width === "auto" || guest === "auto" });
    this.state = "p2mSize";
    return true;
  }

  /** The headers convert-legacy-stream writes once p2m_size is read. */
  private startOutput(offset: number): void {
    if (this.libxl) {
      this.emitEvent({ layer: "libxl", kind: "header", offset, header: { version: LIBXL_VERSION, options: LIBXL_OPT_LEGACY } });
      this.emitLibxl(offset, { type: "LIBXC_CONTEXT" });
    }
    this.emitEvent({ layer: "libxc", kind: "imageHeader", offset, header: { version: CONVERTED_LIBXC_VERSION, options: 0 } });
    this.emitEvent({
      layer: "libxc",
      kind: "domainHeader",
      offset,
      header: {
        type: this.pv ? DomainType.X86_PV : DomainType.X86_HVM,
        pageShift: 12,
        xenMajor: CONVERTED_XEN_MAJOR,
        xenMinor: CONVERTED_XEN_MINOR,
      },
    });
  }

  /** One extended-info block header (xc_domain_restore.c: load_p2m_frame_list()). */
  private extBlock(): boolean {
    const queue = this.queue;
    if (this.extSoFar >= this.extTotal) {
      // B8: the reference divides by zero without a vcpu block.
      if (this.guestWidth === 0) {
        this.fail("BAD_FIELD", queue.offset, "PV extended info has no vcpu block, so the guest width is unknown");
      }
      this.emitLibxc(queue.offset, { type: "STATIC_DATA_END" });
      this.state = "p2mFrames";
      return true;
    }
    if (!queue.has(8)) return false;
    const offset = queue.offset;
    const header = queue.take(8);
    const id = String.fromCharCode(header[0] as number, header[1] as number, header[2] as number, header[3] as number);
    const size = viewOf(header).getUint32(4, true);
    const printable = /^[\x20-\x7e]{4}$/.test(id) ? `"${id}"` : `0x${Array.from(header.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join("")}`;
    if (id === ExtendedInfoBlock.VCPU) {
      if (size !== VCPU_CONTEXT_SIZE_32 && size !== VCPU_CONTEXT_SIZE_64) {
        this.fail("BAD_LENGTH", offset + 4, `vcpu extended-info block of ${size} bytes: unable to determine guest width/levels (expected 0xaf0 or 0x1430)`);
      }
      if (this.guestWidth !== 0) {
        // A second X86_PV_INFO would make the v2 restore fail.
        this.fail("BAD_FIELD", offset, "a second vcpu extended-info block");
      }
    } else if (id === ExtendedInfoBlock.XCNT && size < 4) {
      // B12: the reference dies on struct.error.
      this.fail("BAD_LENGTH", offset + 4, `xcnt extended-info block of ${size} bytes is shorter than its u32`);
    }
    this.extSoFar += 8 + size;
    if (this.extSoFar > this.extTotal) {
      this.fail("BAD_LENGTH", offset, `extended-info block ${printable} of ${size} bytes overshoots the announced total of ${this.extTotal} by ${this.extSoFar - this.extTotal} bytes`);
    }
    if (id === ExtendedInfoBlock.VCPU) {
      const wide = size === VCPU_CONTEXT_SIZE_64;
      this.guestWidth = wide ? 8 : 4;
      this.basicLength = size;
      this.emitLibxc(offset, { type: "X86_PV_INFO", guestWidth: this.guestWidth, ptLevels: wide ? 4 : 3 });
    } else if (id === ExtendedInfoBlock.EXTV) {
      this.extended = true;
    } else if (id === ExtendedInfoBlock.XCNT) {
      this.remaining = size - 4;
      this.state = "xcnt";
      return true;
    }
    // §12.7: the reference refuses unknown blocks; the legacy restorer
    // skipped them, and so does this reader. Block data is never buffered.
    this.skipThen(size, () => (this.state = "extBlock"));
    return true;
  }

  private chunk(): boolean {
    const queue = this.queue;
    if (!queue.has(4)) return false;
    this.chunkOffset = queue.offset;
    const id = viewOf(queue.take(4)).getInt32(0, true);
    this.chunkId = id;
    if (id > 0) {
      if (id > LEGACY_MAX_BATCH) this.chunkFail("BAD_FIELD", `page batch of ${id} entries exceeds MAX_BATCH (${LEGACY_MAX_BATCH})`);
      this.batchCount = id;
      this.state = "batchEntries";
      return true;
    }
    if (LEGACY_HVM_PARAM_CHUNKS.has(id)) {
      if (this.pv) this.chunkFail("UNEXPECTED_RECORD", "HVM-only parameter chunk in a PV stream");
      this.state = "hvmParam";
      return true;
    }
    switch (id) {
      case LegacyChunkId.END:
        if (this.hvmParams.length > 0) {
          this.emitLibxc(this.chunkOffset, { type: "HVM_PARAMS", params: this.hvmParams });
          this.hvmParams = [];
        }
        this.state = this.pv ? "pvUnmapped" : "hvmMagic";
        return true;
      case LegacyChunkId.ENABLE_VERIFY_MODE:
        // The verification batches that follow become ordinary PAGE_DATA.
        return true;
      case LegacyChunkId.LAST_CHECKPOINT:
        return true;
      case LegacyChunkId.VCPU_INFO:
        this.state = "vcpuInfo";
        return true;
      case LegacyChunkId.TSC_INFO:
        this.state = "tscInfo";
        return true;
      case LegacyChunkId.TOOLSTACK:
        this.state = "toolstackSize";
        return true;
      // B11: the reference gives up with "todo" on these four.
      case LegacyChunkId.TMEM:
      case LegacyChunkId.TMEM_EXTRA:
        return this.chunkFail("UNSUPPORTED", "transcendent memory (tmem) cannot be converted: migration v2 has no tmem records");
      case LegacyChunkId.COMPRESSED_DATA:
        return this.chunkFail(
          "UNSUPPORTED",
          "Remus compressed page data cannot be converted: expanding it needs the receiver's previous page contents",
        );
      case LegacyChunkId.ENABLE_COMPRESSION:
        return this.chunkFail("UNSUPPORTED", "Remus checkpoint compression is not converted (checkpointed legacy streams are not supported)");
      default:
        return this.chunkFail("UNKNOWN_RECORD", "unrecognised chunk id");
    }
  }

  /** Page batch pfn list (reference: read_chunks(), write_page_data()). */
  private batchEntriesStep(): boolean {
    const queue = this.queue;
    const wordSize = this.wordSize;
    const size = this.batchCount * wordSize;
    if (!queue.has(size)) return false;
    const base = queue.offset;
    const view = viewOf(queue.take(size));
    const seen = this.batchSeen;
    seen.next();
    // Refilled when a sink encodes each batch before the next is read.
    const objects = this.sink === undefined ? undefined : this.entryObjects;
    const entries: PfnEntry[] = objects === undefined ? [] : this.batchEntries;
    entries.length = 0;
    let dataPages = 0;
    for (let i = 0, pos = 0; i < this.batchCount; i++, pos += wordSize) {
      const low = view.getUint32(pos, true);
      if (wordSize === 8 && view.getUint32(pos + 4, true) !== 0) {
        // The reference silently drops bits 63-32; the restorer would take
        // them as part of the pfn and fail. Refuse.
        this.fail("BAD_FIELD", base + pos, `page batch entry ${i}: bits 63-32 are set (legacy pfn entries have 32 significant bits)`);
      }
      // The 4.5 saver's pfn-less XTAB entries are dropped.
      if (low === LEGACY_XTAB_ENTRY) continue;
      if (!seen.add(low)) this.fail("BAD_FIELD", base + pos, `page batch entry ${i}: duplicate pfn entry ${hex(low)} in batch`);
      const type = low >>> LEGACY_PFN_TYPE_SHIFT;
      if (type >= 0x5 && type <= 0x8) {
        // §12.7: the reference passes these through; v2 forbids them.
        this.fail("BAD_PAGE_TYPE", base + pos, `page batch entry ${i}: reserved page type ${hex(type)}`);
      }
      if (type < LEGACY_FIRST_DATALESS_TYPE) dataPages++;
      const pfn = low & LEGACY_PFN_MASK;
      const entry = objects?.[entries.length];
      if (entry === undefined) {
        const made = { pfn, type };
        objects?.push(made);
        entries.push(made);
      } else {
        entry.pfn = pfn;
        entry.type = type;
        entries.push(entry);
      }
    }
    this.batchEntries = entries;
    this.batchDataPages = dataPages;
    this.state = "batchPages";
    return true;
  }

  /** VCPU_INFO: int max_vcpu_id, u64 bitmap[max_vcpu_id / 64 + 1]. */
  private vcpuInfo(): boolean {
    const queue = this.queue;
    if (!queue.has(4)) return false;
    const maxId = viewOf(queue.peek(4)).getInt32(0, true);
    if (maxId > LEGACY_MAX_VCPU_ID) this.chunkFail("BAD_FIELD", `max_vcpu_id ${maxId} exceeds ${LEGACY_MAX_VCPU_ID}`);
    // C and Python disagree on the bitmap size of a negative id (truncating
    // vs flooring division); no writer produces one.
    if (maxId < 0) this.chunkFail("BAD_FIELD", `max_vcpu_id ${maxId} is negative`);
    if (this.onlineVcpus !== undefined) this.chunkFail("UNEXPECTED_RECORD", "a second VCPU_INFO chunk");
    const words = Math.floor(maxId / 64) + 1;
    if (!queue.has(4 + 8 * words)) return false;
    const view = viewOf(queue.take(4 + 8 * words));
    const online: number[] = [];
    for (let word = 0; word < words; word++) {
      for (let half = 0; half < 2; half++) {
        let bits = view.getUint32(4 + 8 * word + 4 * half, true);
        for (let bit = 0; bits !== 0; bit++, bits >>>= 1) {
          if ((bits & 1) === 0) continue;
          const id = 64 * word + 32 * half + bit;
          // The reference would take such a bit as an online vCPU, the
          // restorer would ignore it: the two read different tails.
          if (id > maxId) this.chunkFail("BAD_FIELD", `vCPU ${id} is marked online above max_vcpu_id ${maxId}`);
          online.push(id);
        }
      }
    }
    this.onlineVcpus = online;
    this.state = "chunk";
    return true;
  }

  private currentVcpu(): number {
    return (this.onlineVcpus as number[])[this.vcpuIndex] as number;
  }

  private nextVcpu(): void {
    this.state = this.vcpuIndex < (this.onlineVcpus as number[]).length ? "vcpuBasic" : "sharedInfo";
  }

  private afterExtended(): void {
    if (this.xsaveLength !== 0) {
      this.state = "xsaveHeader";
    } else {
      this.vcpuIndex++;
      this.nextVcpu();
    }
  }

  /** After the libxc END: the libxl xenstore record, then the QEMU record or the end. */
  private afterLibxc(offset: number): void {
    if (this.libxl && this.xenstore.length > 0) {
      this.emitLibxl(offset, { type: "EMULATOR_XENSTORE_DATA", emulatorId: EmulatorId.UNKNOWN, index: 0, entries: this.xenstore });
      this.xenstore = [];
    }
    if (!this.pv && (this.libxl || !this.settings.skipQemu)) this.state = "qemuSignature";
    else this.finish(offset);
  }

  private finish(offset: number): void {
    if (this.libxl) this.emitLibxl(offset, { type: "END" });
    this.emitEvent({ layer: "legacy", kind: "end", offset });
    this.state = "done";
  }

  /** The QEMU record after the HVM tail (legacy-stream.md §8). */
  private qemuSignature(): boolean {
    const queue = this.queue;
    if (!queue.has(QEMU_SIGNATURE_SIZE)) return false;
    const offset = queue.offset;
    const raw = queue.take(QEMU_SIGNATURE_SIZE);
    const signature = String.fromCharCode(...raw);
    if (signature === QemuSignature.DEVICE_MODEL_RECORD_0002 || signature === QemuSignature.REMUS_DEVICE_MODEL_STATE) {
      // RemusDeviceModelState: same body (xc_domain_restore.c:
      // buffer_qemu()); only the first checkpoint of a Remus stream is
      // converted, later ones are trailing data (§12.7).
      if (!this.libxl) this.emitEvent({ layer: "legacy", kind: "passthrough", offset, bytes: raw.slice() });
      this.state = "qemuLength";
      return true;
    }
    if (signature === QemuSignature.QEMU_DEVICE_MODEL_RECORD) {
      // xend: QEMU state with no length, to the end of the stream
      // (xc_domain_restore.c: compat_buffer_qemu()).
      this.qemuStart = queue.offset;
      if (!this.libxl) this.emitEvent({ layer: "legacy", kind: "passthrough", offset, bytes: raw.slice() });
      this.state = "qemuMagic";
      return true;
    }
    const printable = Array.from(raw, (byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : ".")).join("");
    return this.fail(
      "BAD_MAGIC",
      offset,
      `unrecognised QEMU record signature "${printable}" (expected DeviceModelRecord0002, QemuDeviceModelRecord or RemusDeviceModelState)`,
    );
  }

  /** The legacy restorer requires a read-to-end QEMU state to start "QEVM". */
  private qemuMagic(final: boolean): boolean {
    const queue = this.queue;
    if (!queue.has(QEMU_SAVE_MAGIC.length)) {
      if (!final) return false;
      this.fail("BAD_MAGIC", this.qemuStart, `QemuDeviceModelRecord: ${queue.available} bytes of QEMU state, too short for its "QEVM" magic`);
    }
    const magic = String.fromCharCode(...queue.peek(QEMU_SAVE_MAGIC.length));
    if (magic !== QEMU_SAVE_MAGIC) this.fail("BAD_MAGIC", this.qemuStart, 'QemuDeviceModelRecord: QEMU state does not start with "QEVM"');
    this.state = "qemuToEnd";
    return true;
  }

  private finishQemuToEnd(): void {
    const offset = this.queue.offset;
    if (this.libxl) {
      const data = this.qemuParts.length === 1 ? (this.qemuParts[0] as Uint8Array) : concatBytes(this.qemuParts);
      this.qemuParts = [];
      this.emitLibxl(this.qemuStart, { type: "EMULATOR_CONTEXT", emulatorId: EmulatorId.UNKNOWN, index: 0, data });
    }
    this.finish(offset);
  }
}

/**
 * The set of entry values seen in the current batch (at most 1024): an
 * open-addressing table whose slots are stamped with a batch number, so
 * starting a new batch costs nothing and nothing is allocated per batch.
 */
class BatchSet {
  private static readonly SIZE = 4096; // 4 x MAX_BATCH: short probe runs
  private readonly values = new Uint32Array(BatchSet.SIZE);
  private readonly stamps = new Uint32Array(BatchSet.SIZE);
  private stamp = 0;

  /** Starts a new, empty set. */
  next(): void {
    this.stamp++;
    if (this.stamp === 0xffff_ffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  /** Adds `value`; false when it was already there. */
  add(value: number): boolean {
    const mask = BatchSet.SIZE - 1;
    let slot = Math.imul(value, 0x9e37_79b1) >>> 20;
    for (;;) {
      if (this.stamps[slot] !== this.stamp) {
        this.stamps[slot] = this.stamp;
        this.values[slot] = value;
        return true;
      }
      if (this.values[slot] === value) return false;
      slot = (slot + 1) & mask;
    }
  }
}

