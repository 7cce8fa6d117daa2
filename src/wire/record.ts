/**
 * Record framing shared by the libxc and libxl layers: taking one whole
 * record from the input queue, decoding its body through a codec table,
 * and sizing and writing records.
 *
 * @module
 * @internal
 */
import { XenStreamError, type Layer } from "../errors.js";
import type { Fail, RecordCodec } from "./codec.js";
import { RECORD_HEADER_SIZE, hex32, isOptionalType, paddedLength, paddingLength } from "./frame.js";
import type { ByteQueue } from "./queue.js";
import { Reader, isAllZero, viewOf } from "./reader.js";
import { Writer } from "./writer.js";

/** Properties every record value may carry. */
export interface RecordCommon {
  /**
   * Non-zero record padding, exactly as received. Present only when some
   * padding byte was not zero (Xen's restore code never reads padding, so
   * the decoder keeps it rather than failing). The encoder writes it back;
   * when absent it writes zeros.
   */
  padding?: Uint8Array;
}

/**
 * Bytes after the fields a record defines. Present only when non-empty, on
 * records whose body Xen's restore code accepts longer than the spec says
 * (signalling records with a body, X86_PV_INFO longer than 8 bytes, ...).
 */
export interface RecordExtra {
  extra?: Uint8Array;
}

/**
 * A record the layer does not define: any optional record (type bit 31),
 * or a mandatory one when the decoder was told to keep them.
 */
export interface UnknownRecord extends RecordCommon {
  type: "UNKNOWN";
  /** The record type as found. */
  typeId: number;
  /** The body, as found. */
  body: Uint8Array;
}

/** A record as framed on the wire, before its body is interpreted. */
export interface RawFrame {
  /** Absolute offset of the record header. */
  offset: number;
  typeId: number;
  bodyLength: number;
  body: Uint8Array;
  padding: Uint8Array;
}

/** Options every record decoder takes. */
export interface RecordLayerOptions {
  /** Largest body accepted, checked when the header arrives. */
  maxRecordLength: number;
  /** Keep unknown mandatory records raw instead of failing. */
  keepUnknownMandatory: boolean;
  /** PAGE_DATA: one `entries` array and its objects, refilled for every record. */
  reuseEntries: boolean;
}

/** A type table for one layer. @internal */
export class CodecTable<R extends { type: string }, C> {
  readonly layer: Layer;
  private readonly byId = new Map<number, RecordCodec<R, C>>();
  private readonly byName = new Map<string, RecordCodec<R, C>>();

  constructor(layer: Layer, codecs: readonly RecordCodec<R, C>[]) {
    this.layer = layer;
    for (const codec of codecs) {
      this.byId.set(codec.typeId, codec);
      this.byName.set(codec.name, codec);
    }
  }

  /** The spec's name of a type id ("UNKNOWN" when the layer has none). */
  nameOf(typeId: number): string {
    return this.byId.get(typeId)?.name ?? "UNKNOWN";
  }

  /** The codec for a type id, if the layer defines it. */
  codecForId(typeId: number): RecordCodec<R, C> | undefined {
    return this.byId.get(typeId);
  }

  /** Interprets a frame's body through the table. */
  decode(frame: RawFrame, littleEndian: boolean, context: C, options: RecordLayerOptions, index: number): R {
    const codec = this.byId.get(frame.typeId);
    let record: R;
    if (codec === undefined) {
      if (!isOptionalType(frame.typeId) && !options.keepUnknownMandatory) {
        throw new XenStreamError(
          "UNKNOWN_RECORD",
          frame.offset,
          `unknown mandatory ${this.layer} record type ${hex32(frame.typeId)}`,
          { recordIndex: index, layer: this.layer },
        );
      }
      record = { type: "UNKNOWN", typeId: frame.typeId, body: frame.body } as unknown as R;
    } else {
      const reader = new Reader(frame.body, littleEndian, {
        base: frame.offset + RECORD_HEADER_SIZE,
        recordIndex: index,
        layer: this.layer,
        what: `${this.layer} record ${index} (${codec.name})`,
        lengthField: frame.offset + 4,
      });
      record = codec.decode(reader, context);
    }
    if (!isAllZero(frame.padding)) (record as RecordCommon).padding = frame.padding;
    return record;
  }

  private codecFor(record: R, fail: Fail): RecordCodec<R, C> | undefined {
    if (record.type === "UNKNOWN") return undefined;
    const codec = this.byName.get(record.type);
    if (codec === undefined) fail(`unknown ${this.layer} record type name ${JSON.stringify(record.type)}`);
    return codec;
  }

  /** Body length of a record; validates it (BAD_VALUE at `offset`). */
  bodyLength(record: R, context: C, offset: number): number {
    const fail: Fail = (message) => {
      throw new XenStreamError("BAD_VALUE", offset, `${this.layer} ${record.type}: ${message}`, { layer: this.layer });
    };
    const codec = this.codecFor(record, fail);
    if (codec === undefined) {
      const unknown = record as unknown as UnknownRecord;
      if (!Number.isInteger(unknown.typeId) || unknown.typeId < 0 || unknown.typeId > 0xffff_ffff) {
        fail(`typeId must be a u32, got ${String(unknown.typeId)}`);
      }
      if (this.byId.has(unknown.typeId)) {
        fail(`typeId ${hex32(unknown.typeId)} is ${this.nameOf(unknown.typeId)}; encode it typed`);
      }
      return unknown.body.length;
    }
    return codec.bodyLength(record, context, fail);
  }

  /** Size on the wire of a record whose body is `bodyLength` bytes. */
  static frameSize(bodyLength: number): number {
    return RECORD_HEADER_SIZE + paddedLength(bodyLength);
  }

  /** Writes one whole record (header, body, padding) at the writer's cursor. */
  write(writer: Writer, record: R, context: C, bodyLength: number): void {
    const start = writer.pos;
    const padding = (record as RecordCommon).padding;
    const padLength = paddingLength(bodyLength);
    if (padding !== undefined && padding.length !== padLength) {
      throw new XenStreamError(
        "BAD_PADDING",
        writer.base + start,
        `${this.layer} ${record.type}: a ${bodyLength}-byte body takes ${padLength} padding bytes, got ${padding.length}`,
        { layer: this.layer },
      );
    }
    const codec = this.byName.get(record.type);
    writer.u32(codec === undefined ? (record as unknown as UnknownRecord).typeId : codec.typeId, "type");
    writer.u32(bodyLength, "body_length");
    if (codec === undefined) writer.raw((record as unknown as UnknownRecord).body);
    else codec.encode(writer, record, context);
    if (writer.pos !== start + RECORD_HEADER_SIZE + bodyLength) {
      throw new Error(`${this.layer} ${record.type}: encoder wrote ${writer.pos - start - 8} bytes, expected ${bodyLength}`);
    }
    if (padding !== undefined) writer.raw(padding);
    else writer.zeros(padLength);
  }

  /** Encodes one record on its own: header, body, padding. */
  encodeOne(record: R, context: C, littleEndian: boolean): Uint8Array {
    const bodyLength = this.bodyLength(record, context, 0);
    const writer = new Writer(CodecTable.frameSize(bodyLength), littleEndian);
    this.write(writer, record, context, bodyLength);
    return writer.bytes;
  }
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
export class FrameReader<R extends { type: string }, C> {
  private readonly table: CodecTable<R, C>;
  private readonly options: RecordLayerOptions;
  /** Offset of the pending record's header, or -1 when between records. */
  private offset = -1;
  private typeId = 0;
  private bodyLength = 0;

  constructor(table: CodecTable<R, C>, options: RecordLayerOptions) {
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

/** A record given as raw parts, for building deliberately malformed streams. */
export interface RawRecordInput {
  /** Record type id (any u32). */
  typeId: number;
  /** The body. */
  body: Uint8Array;
  /** Value written in the length field (default: body.length). */
  bodyLength?: number;
  /** Padding bytes written after the body (default: zeros to a multiple of 8). */
  padding?: Uint8Array;
}

/**
 * Encodes a record from raw parts with no validation: any type, any length
 * field, any padding. For tests and fuzzers that need malformed input.
 *
 * @param input - type, body, optional length field and padding
 * @param littleEndian - byte order of the type and length fields
 * @returns the record bytes
 */
export function encodeRawRecord(input: RawRecordInput, littleEndian = true): Uint8Array {
  const padding = input.padding ?? new Uint8Array(paddingLength(input.body.length));
  const bytes = new Uint8Array(RECORD_HEADER_SIZE + input.body.length + padding.length);
  const view = viewOf(bytes);
  view.setUint32(0, input.typeId >>> 0, littleEndian);
  view.setUint32(4, (input.bodyLength ?? input.body.length) >>> 0, littleEndian);
  bytes.set(input.body, RECORD_HEADER_SIZE);
  bytes.set(padding, RECORD_HEADER_SIZE + input.body.length);
  return bytes;
}
