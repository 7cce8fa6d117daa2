/**
 * The shape of one record type's body codec. Each layer keeps a table
 * type id -> codec, so the frame loop never grows a `switch`.
 *
 * @module
 * @internal
 */
import type { Reader } from "./reader.js";
import type { Writer } from "./writer.js";

/** Reports an unencodable value; never returns. @internal */
export type Fail = (message: string) => never;

/** @internal */
export interface RecordCodec<R, C> {
  /** The spec's name of the record type. */
  readonly name: string;
  /** The record type id. */
  readonly typeId: number;
  /** Decodes a whole body (the reader spans exactly the body). */
  decode(reader: Reader, context: C): R;
  /** Body length the record encodes to; validates the value. */
  bodyLength(record: R, context: C, fail: Fail): number;
  /** Writes the body (exactly `bodyLength` bytes). */
  encode(writer: Writer, record: R, context: C): void;
}

/** Length of the record's `extra` bytes (0 when absent). @internal */
export function extraLength(record: { extra?: Uint8Array }): number {
  return record.extra === undefined ? 0 : record.extra.length;
}

/** Keeps non-empty trailing bytes as `extra`. @internal */
export function withExtra<R extends object>(record: R, reader: Reader): R & { extra?: Uint8Array } {
  if (reader.remaining === 0) return record;
  return { ...record, extra: reader.rest() };
}
