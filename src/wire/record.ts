/**
 * A layer's record table, built from its registry: the record types by id
 * and by name, and interpreting a frame's body by type id. Sizing and
 * writing records by type name is in record-writer.ts, outside the class,
 * so that a bundle that only decodes leaves the encoders and the Writer
 * out (a class's methods cannot be tree-shaken one by one).
 *
 * @module
 * @internal
 */
import { XenStreamError, type Layer } from "../errors.js";
import type { RecordType, RecordTypeEntry } from "./codec.js";
import type { RawFrame } from "./frame-reader.js";
import { RECORD_HEADER_SIZE, hex32, isOptionalType, paddedLength } from "./frame.js";
import { Reader, isAllZero } from "./reader.js";
import type { RecordCommon, UnknownRecord } from "./values.js";

/** Options every record decoder takes. @internal */
export interface RecordLayerOptions {
  /** Largest body accepted, checked when the header arrives. */
  maxRecordLength: number;
  /** Keep unknown mandatory records raw instead of failing. */
  keepUnknownMandatory: boolean;
}

/** A record value of any layer: a defined one, or UNKNOWN. @internal */
export type AnyRecord = { type: string } | UnknownRecord;

/**
 * The record table of one layer. `R` is the layer's record union
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

  /** The record type of a spec name, if the layer defines it. */
  typeNamed(name: string): RecordType<R, C, P> | undefined {
    return this.byName.get(name);
  }

  /** Size on the wire of a record whose body is `bodyLength` bytes. */
  static frameSize(bodyLength: number): number {
    return RECORD_HEADER_SIZE + paddedLength(bodyLength);
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
}
