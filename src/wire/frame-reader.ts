/**
 * Taking whole record frames (header, body, padding) from the input queue.
 *
 * @module
 * @internal
 */
import { XenStreamError } from "../errors.js";
import { RECORD_HEADER_SIZE, hex32, paddedLength } from "./frame.js";
import type { ByteQueue } from "./queue.js";
import { viewOf } from "./reader.js";
import type { CodecTable, RecordLayerOptions } from "./record.js";

/** A record as framed on the wire, before its body is interpreted. */
export interface RawFrame {
  /** Absolute offset of the record header. */
  offset: number;
  typeId: number;
  bodyLength: number;
  body: Uint8Array;
  padding: Uint8Array;
}

/**
 * Reads record frames from a queue in two steps — the 8-byte header, then
 * the padded body — so that a body arriving as one chunk is one view, and
 * so that a reader can be told exactly how many bytes to fetch next
 * ({@link FrameReader.needed}). A length over the limit fails as soon as the
 * header is there: a hostile length never makes us wait for, or allocate,
 * its bytes.
 *
 * @internal
 */
export class FrameReader<R extends { type: string }, C, P> {
  private readonly table: CodecTable<R, C, P>;
  private readonly options: RecordLayerOptions;
  /** Offset of the pending record's header, or -1 when between records. */
  private offset = -1;
  private typeId = 0;
  private bodyLength = 0;

  constructor(table: CodecTable<R, C, P>, options: RecordLayerOptions) {
    this.table = table;
    this.options = options;
  }

  /** True between records (no header read yet). */
  get idle(): boolean {
    return this.offset < 0;
  }

  /** Bytes still missing before `take` can return the next frame. */
  needed(queue: ByteQueue): number {
    const unit = this.offset < 0 ? RECORD_HEADER_SIZE : paddedLength(this.bodyLength);
    return Math.max(0, unit - queue.available);
  }

  /** The next whole frame, or null (consuming at most its header) when it has not all arrived. */
  take(queue: ByteQueue, littleEndian: boolean, index: number): RawFrame | null {
    if (this.offset < 0) {
      if (!queue.has(RECORD_HEADER_SIZE)) return null;
      const offset = queue.offset;
      const header = viewOf(queue.peek(RECORD_HEADER_SIZE));
      const typeId = header.getUint32(0, littleEndian);
      const bodyLength = header.getUint32(4, littleEndian);
      if (bodyLength > this.options.maxRecordLength) {
        throw new XenStreamError(
          "RECORD_TOO_LARGE",
          offset + 4,
          `${this.table.layer} record ${hex32(typeId)} (${this.table.nameOf(typeId)}): body length ${bodyLength} exceeds the maximum ${this.options.maxRecordLength}`,
          { recordIndex: index, layer: this.table.layer },
        );
      }
      queue.skip(RECORD_HEADER_SIZE);
      this.offset = offset;
      this.typeId = typeId;
      this.bodyLength = bodyLength;
    }
    const padded = paddedLength(this.bodyLength);
    if (!queue.has(padded)) return null;
    const bytes = queue.take(padded);
    const frame: RawFrame = {
      offset: this.offset,
      typeId: this.typeId,
      bodyLength: this.bodyLength,
      body: bytes.subarray(0, this.bodyLength),
      padding: bytes.subarray(this.bodyLength),
    };
    this.offset = -1;
    return frame;
  }
}

