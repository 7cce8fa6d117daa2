/**
 * Sizing and writing records through a layer's {@link CodecTable}: the
 * encode side of the table. Functions rather than methods of the table, so
 * that a bundle that only decodes (the table's `decode`) leaves them, the
 * Writer and the layer's value checks out.
 *
 * @module
 * @internal
 */
import { describeValue, XenStreamError } from "../errors.js";
import { bytesLength, type Fail, type RecordType } from "./codec.js";
import { RECORD_HEADER_SIZE, hex32, paddingLength } from "./frame.js";
import { CodecTable, type AnyRecord } from "./record.js";
import type { RecordCommon, UnknownRecord } from "./values.js";
import { Writer } from "./writer.js";

/** The record type of a record value, or undefined for UNKNOWN; fails on a name the layer lacks. */
function typeFor<R extends AnyRecord, C, P>(table: CodecTable<R, C, P>, record: R, fail: Fail): RecordType<R, C, P> | undefined {
  if (record.type === "UNKNOWN") return undefined;
  const type = table.typeNamed(record.type);
  if (type === undefined) fail(`unknown ${table.layer} record type name ${describeValue(record.type)}`);
  return type;
}

/**
 * Body length of a record; validates it.
 *
 * @param table - the record's layer
 * @param record - the record value (checked: it may come from anywhere)
 * @param context - what the layer's codecs need to know about the stream
 * @param offset - where the record would be written, for errors
 * @returns the body length, a u32
 * @throws {@link XenStreamError} BAD_VALUE at `offset`
 * @internal
 */
export function recordBodyLength<R extends AnyRecord, C, P>(table: CodecTable<R, C, P>, record: R, context: C, offset: number): number {
  const layer = table.layer;
  if (typeof record !== "object" || record === null || typeof record.type !== "string") {
    const value = record as unknown;
    const what =
      typeof value === "object" && value !== null ? `a record whose type is ${describeValue((value as { type?: unknown }).type)}` : describeValue(value);
    throw new XenStreamError("BAD_VALUE", offset, `${layer} record: expected a record object with a string type, got ${what}`, { layer });
  }
  const fail: Fail = (message) => {
    throw new XenStreamError("BAD_VALUE", offset, `${layer} ${record.type}: ${message}`, { layer });
  };
  const padding = (record as RecordCommon).padding;
  if (padding !== undefined) bytesLength(padding, "padding", fail);
  const length = typedBodyLength(table, record, context, fail);
  if (!Number.isSafeInteger(length) || length < 0 || length > 0xffff_ffff) {
    fail(`body length ${describeValue(length)} does not fit the u32 body_length field`);
  }
  return length;
}

function typedBodyLength<R extends AnyRecord, C, P>(table: CodecTable<R, C, P>, record: R, context: C, fail: Fail): number {
  const type = typeFor(table, record, fail);
  if (type === undefined) {
    const unknown = record as UnknownRecord;
    if (!Number.isInteger(unknown.typeId) || unknown.typeId < 0 || unknown.typeId > 0xffff_ffff) {
      fail(`typeId must be a u32, got ${describeValue(unknown.typeId)}`);
    }
    if (table.typeOf(unknown.typeId) !== undefined) {
      fail(`typeId ${hex32(unknown.typeId)} is ${table.nameOf(unknown.typeId)}; encode it typed`);
    }
    return bytesLength(unknown.body, "body", fail);
  }
  return type.codec.bodyLength(record, context, fail);
}

/**
 * Writes one whole record (header, body, padding) at the writer's cursor.
 *
 * @param table - the record's layer
 * @param writer - where to write (room for the whole frame)
 * @param record - a record sized by {@link recordBodyLength}
 * @param context - as given to {@link recordBodyLength}
 * @param bodyLength - what {@link recordBodyLength} returned
 * @throws {@link XenStreamError} BAD_PADDING for padding of the wrong size
 * @internal
 */
export function writeRecord<R extends AnyRecord, C, P>(table: CodecTable<R, C, P>, writer: Writer, record: R, context: C, bodyLength: number): void {
  const start = writer.pos;
  const padding = (record as RecordCommon).padding;
  const padLength = paddingLength(bodyLength);
  if (padding !== undefined && padding.length !== padLength) {
    throw new XenStreamError(
      "BAD_PADDING",
      writer.base + start,
      `${table.layer} ${record.type}: a ${bodyLength}-byte body takes ${padLength} padding bytes, got ${padding.length}`,
      { layer: table.layer },
    );
  }
  const type = record.type === "UNKNOWN" ? undefined : table.typeNamed(record.type);
  writer.u32(type === undefined ? (record as UnknownRecord).typeId : type.typeId, "type");
  writer.u32(bodyLength, "body_length");
  if (type === undefined) writer.raw((record as UnknownRecord).body);
  else type.codec.encode(writer, record, context);
  if (writer.pos !== start + RECORD_HEADER_SIZE + bodyLength) {
    throw new Error(`${table.layer} ${record.type}: encoder wrote ${writer.pos - start - 8} bytes, expected ${bodyLength}`);
  }
  if (padding !== undefined) writer.raw(padding);
  else writer.zeros(padLength);
}

/**
 * Encodes one record on its own: header, body, padding.
 *
 * @param table - the record's layer
 * @param record - the record value
 * @param context - what the layer's codecs need to know about the stream
 * @param littleEndian - byte order
 * @returns the record's bytes
 * @throws {@link XenStreamError} BAD_VALUE, BAD_PADDING
 * @internal
 */
export function encodeRecord<R extends AnyRecord, C, P>(table: CodecTable<R, C, P>, record: R, context: C, littleEndian: boolean): Uint8Array {
  const bodyLength = recordBodyLength(table, record, context, 0);
  const writer = new Writer(CodecTable.frameSize(bodyLength), littleEndian);
  writeRecord(table, writer, record, context, bodyLength);
  return writer.bytes;
}
