/**
 * A layer's record table, built from its registry: interpreting a frame's
 * body by type id, and sizing and writing records by type name.
 *
 * @module
 * @internal
 */
import { describeValue, XenStreamError, type Layer } from "../errors.js";
import { bytesLength, type Fail, type RecordType, type RecordTypeEntry } from "./codec.js";
import type { RawFrame } from "./frame-reader.js";
import { RECORD_HEADER_SIZE, hex32, isOptionalType, paddedLength, paddingLength } from "./frame.js";
import { Reader, isAllZero } from "./reader.js";
import type { RecordCommon, UnknownRecord } from "./values.js";
import { Writer } from "./writer.js";

/** Options every record decoder takes. @internal */
export interface RecordLayerOptions {
  /** Largest body accepted, checked when the header arrives. */
  maxRecordLength: number;
  /** Keep unknown mandatory records raw instead of failing. */
  keepUnknownMandatory: boolean;
}

/** A record value of any layer: a defined one, or UNKNOWN. */
type AnyRecord = { type: string } | UnknownRecord;

/**
 * The decode/encode table of one layer. `R` is the layer's record union
 * (UNKNOWN included), `C` what its codecs need to know about the stream,
 * `P` its placement facts.
 *
 * @internal
 */
export class CodecTable<R extends AnyRecord, C, P> {
  readonly layer: Layer;
  /** Every record type of the layer, in type-id order. */
  readonly types: readonly RecordType<R, C, P>[];
  private readonly byId = new Map<number, RecordType<R, C, P>>();
  private readonly byName = new Map<string, RecordType<R, C, P>>();

  /**
   * @param layer - the layer, for messages
   * @param ids - the layer's record type ids by name (its constants)
   * @param registry - the layer's registry, keyed by the same names
   */
  constructor(layer: Layer, ids: Readonly<Record<string, number>>, registry: { readonly [name: string]: RecordTypeEntry<R, C, P> }) {
    this.layer = layer;
    const types: RecordType<R, C, P>[] = [];
    for (const name of Object.keys(ids)) {
      const entry = registry[name];
      const typeId = ids[name];
      if (entry === undefined || typeId === undefined) throw new Error(`${layer} record ${name}: no registry entry`);
      const type: RecordType<R, C, P> = { ...entry, name, typeId };
      types.push(type);
      this.byId.set(typeId, type);
      this.byName.set(name, type);
    }
    this.types = types.sort((a, b) => a.typeId - b.typeId);
  }

  /** The spec's name of a type id ("UNKNOWN" when the layer has none). */
  nameOf(typeId: number): string {
    return this.byId.get(typeId)?.name ?? "UNKNOWN";
  }

  /** The record type of a type id, if the layer defines it. */
  typeOf(typeId: number): RecordType<R, C, P> | undefined {
    return this.byId.get(typeId);
  }

  /** Interprets a frame's body through the table. */
  decode(frame: RawFrame, littleEndian: boolean, context: C, options: RecordLayerOptions, index: number): R {
    const type = this.byId.get(frame.typeId);
    let record: R;
    if (type === undefined) {
      if (!isOptionalType(frame.typeId) && !options.keepUnknownMandatory) {
        throw new XenStreamError(
          "UNKNOWN_RECORD",
          frame.offset,
          `unknown mandatory ${this.layer} record type ${hex32(frame.typeId)}`,
          { recordIndex: index, layer: this.layer },
        );
      }
      const unknown: UnknownRecord = { type: "UNKNOWN", typeId: frame.typeId, body: frame.body };
      record = unknown as R;
    } else {
      record = type.codec.decode(Reader.forRecord(frame.body, littleEndian, frame.offset, this.layer, index, type.name), context);
    }
    if (!isAllZero(frame.padding)) (record as RecordCommon).padding = frame.padding;
    return record;
  }

  /** The record type of a record value, or undefined for UNKNOWN; fails on a name the layer lacks. */
  private typeFor(record: R, fail: Fail): RecordType<R, C, P> | undefined {
    if (record.type === "UNKNOWN") return undefined;
    const type = this.byName.get(record.type);
    if (type === undefined) fail(`unknown ${this.layer} record type name ${describeValue(record.type)}`);
    return type;
  }

  /** Body length of a record; validates it (BAD_VALUE at `offset`). */
  bodyLength(record: R, context: C, offset: number): number {
    if (typeof record !== "object" || record === null || typeof record.type !== "string") {
      const value = record as unknown;
      const what =
        typeof value === "object" && value !== null ? `a record whose type is ${describeValue((value as { type?: unknown }).type)}` : describeValue(value);
      throw new XenStreamError("BAD_VALUE", offset, `${this.layer} record: expected a record object with a string type, got ${what}`, { layer: this.layer });
    }
    const fail: Fail = (message) => {
      throw new XenStreamError("BAD_VALUE", offset, `${this.layer} ${record.type}: ${message}`, { layer: this.layer });
    };
    const padding = (record as RecordCommon).padding;
    if (padding !== undefined) bytesLength(padding, "padding", fail);
    const length = this.typedBodyLength(record, context, fail);
    if (!Number.isSafeInteger(length) || length < 0 || length > 0xffff_ffff) {
      fail(`body length ${describeValue(length)} does not fit the u32 body_length field`);
    }
    return length;
  }

  private typedBodyLength(record: R, context: C, fail: Fail): number {
    const type = this.typeFor(record, fail);
    if (type === undefined) {
      const unknown = record as UnknownRecord;
      if (!Number.isInteger(unknown.typeId) || unknown.typeId < 0 || unknown.typeId > 0xffff_ffff) {
        fail(`typeId must be a u32, got ${describeValue(unknown.typeId)}`);
      }
      if (this.byId.has(unknown.typeId)) {
        fail(`typeId ${hex32(unknown.typeId)} is ${this.nameOf(unknown.typeId)}; encode it typed`);
      }
      return bytesLength(unknown.body, "body", fail);
    }
    return type.codec.bodyLength(record, context, fail);
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
    const type = record.type === "UNKNOWN" ? undefined : this.byName.get(record.type);
    writer.u32(type === undefined ? (record as UnknownRecord).typeId : type.typeId, "type");
    writer.u32(bodyLength, "body_length");
    if (type === undefined) writer.raw((record as UnknownRecord).body);
    else type.codec.encode(writer, record, context);
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
