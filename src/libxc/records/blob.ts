/**
 * Records whose body is one opaque byte string: SHARED_INFO, HVM_CONTEXT,
 * TOOLSTACK. Each has its own length rule.
 *
 * @module
 * @internal
 */
import { bytesLength, type BodyCodec } from "../../wire/codec.js";
import type { HvmContextRecord, SharedInfoRecord, ToolstackRecord } from "../types.js";
import type { LibxcCodecContext } from "./context.js";

type BlobRecord = SharedInfoRecord | HvmContextRecord | ToolstackRecord;

/** Returns a complaint when `length` is not allowed, else undefined. */
type LengthCheck = (length: number, context: LibxcCodecContext) => string | undefined;

function blobCodec<R extends BlobRecord>(name: R["type"], rule: LengthCheck): BodyCodec<R, LibxcCodecContext> {
  return {
    decode: (reader, context) => {
      const complaint = rule(reader.remaining, context);
      if (complaint !== undefined) reader.failLength(complaint);
      return { type: name, data: reader.rest() } as R;
    },
    bodyLength: (record, context, fail) => {
      const length = bytesLength(record.data, "data", fail);
      const complaint = rule(length, context);
      if (complaint !== undefined) fail(`${name}: ${complaint}`);
      return length;
    },
    encode: (writer, record) => writer.raw(record.data),
  };
}

/** SHARED_INFO: exactly one page (Xen: "X86_PV_SHARED_INFO record wrong size"). */
export const sharedInfoCodec = blobCodec<SharedInfoRecord>("SHARED_INFO", (length, { pageSize }) =>
  length === pageSize ? undefined : `body must be one page (${pageSize} bytes), got ${length}`,
);

/** HVM_CONTEXT: any non-empty blob (Xen refuses an empty one). */
export const hvmContextCodec = blobCodec<HvmContextRecord>("HVM_CONTEXT", (length) =>
  length > 0 ? undefined : "zero-length HVM context",
);

/** TOOLSTACK: deprecated, opaque, any length. */
export const toolstackCodec = blobCodec<ToolstackRecord>("TOOLSTACK", () => undefined);
