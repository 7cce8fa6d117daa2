/**
 * Signalling records with no defined body: END, VERIFY, CHECKPOINT,
 * STATIC_DATA_END (spec: body_length 0). Xen's restore code accepts and
 * ignores a body (libxc-stream.md §11), so the decoder keeps one as `extra`.
 *
 * @module
 * @internal
 */
import { extraLength, withExtra, type RecordCodec } from "../../wire/codec.js";
import { LibxcRecordType } from "../constants.js";
import type { CheckpointRecord, EndRecord, StaticDataEndRecord, VerifyRecord } from "../types.js";
import type { LibxcCodecContext } from "./context.js";

type SignalRecord = EndRecord | VerifyRecord | CheckpointRecord | StaticDataEndRecord;

function signalCodec<R extends SignalRecord>(name: R["type"]): RecordCodec<R, LibxcCodecContext> {
  return {
    name,
    typeId: LibxcRecordType[name],
    decode: (reader) => withExtra({ type: name } as R, reader),
    bodyLength: (record) => extraLength(record),
    encode: (writer, record) => {
      if (record.extra !== undefined) writer.raw(record.extra);
    },
  };
}

export const endCodec = signalCodec<EndRecord>("END");
export const verifyCodec = signalCodec<VerifyRecord>("VERIFY");
export const checkpointCodec = signalCodec<CheckpointRecord>("CHECKPOINT");
export const staticDataEndCodec = signalCodec<StaticDataEndRecord>("STATIC_DATA_END");
