/**
 * libxl record body codecs (spec "Record Types"; Xen libxl_stream_read.c,
 * libxl_dom_save.c). The signalling records use the shared signal codec;
 * the registry (codec.ts) lists them all.
 *
 * @module
 * @internal
 */
import { describeValue } from "../errors.js";
import { bytesLength, extraLength, withExtra, type BodyCodec } from "../wire/codec.js";
import type { Reader } from "../wire/reader.js";
import { lazyMember } from "../libxc/records/lazy.js";
import { chargeEntries, DECODED_COST, type DecodedBudget } from "../libxc/records/budget.js";
import { CHECKPOINT_STATE_SIZE, EMULATOR_HEADER_SIZE } from "./constants.js";
import type { CheckpointStateRecord, EmulatorContextRecord, EmulatorXenstoreDataRecord } from "./types.js";

/**
 * What libxl codecs are told: nothing from the stream, only whether to
 * decode shallow (see `libxc/records/lazy.ts`) and the decoded-size
 * budget (`libxc/records/budget.ts`). @internal
 */
export interface NoContext {
  /** Validate EMULATOR_XENSTORE_DATA's pairs but build them only when read. */
  readonly shallow?: boolean;
  /** The decoded-size budget pairs are charged to before they are built. */
  readonly budget?: DecodedBudget;
}

function readEmulatorHeader(reader: Reader): { emulatorId: number; index: number } {
  if (reader.remaining < EMULATOR_HEADER_SIZE) {
    reader.failLength(`body of ${reader.remaining} bytes is too short for the 8-byte emulator header`);
  }
  return { emulatorId: reader.u32("emulator_id"), index: reader.u32("index") };
}

const NUL = 0;

/**
 * Splits `key NUL value NUL ...` into pairs. Xen's reader demands that every
 * key and value is NUL-terminated inside the data; an odd number of strings
 * or unterminated bytes cannot be represented as pairs and fail here.
 * Empty or absolute keys, which Xen's reader also refuses, are kept for the
 * verifier to report.
 */
function splitPairs(reader: Reader, entries: Array<[Uint8Array, Uint8Array]> | undefined): number {
  const start = reader.pos;
  const data = reader.rest();
  let pos = 0;
  let count = 0;
  while (pos < data.length) {
    const keyEnd = data.indexOf(NUL, pos);
    if (keyEnd < 0) reader.fail("BAD_FIELD", start + pos, "xenstore key is not NUL terminated");
    const valueEnd = data.indexOf(NUL, keyEnd + 1);
    if (valueEnd < 0) reader.fail("BAD_FIELD", start + keyEnd + 1, "xenstore value missing or not NUL terminated");
    entries?.push([data.subarray(pos, keyEnd), data.subarray(keyEnd + 1, valueEnd)]);
    pos = valueEnd + 1;
    count++;
  }
  return count;
}

function readPairs(reader: Reader): Array<[Uint8Array, Uint8Array]> {
  const entries: Array<[Uint8Array, Uint8Array]> = [];
  splitPairs(reader, entries);
  return entries;
}

export const xenstoreDataCodec: BodyCodec<EmulatorXenstoreDataRecord, NoContext> = {
  decode(reader, context) {
    const header = readEmulatorHeader(reader);
    if (context.shallow === true) {
      const from = reader.pos;
      // Validated now (same faults, same offsets), built when read.
      splitPairs(reader, undefined);
      const record = { type: "EMULATOR_XENSTORE_DATA", ...header } as EmulatorXenstoreDataRecord;
      return lazyMember(record, "entries", reader, from, readPairs);
    }
    if (context.budget !== undefined) {
      // Counted (and validated) before the pairs are built.
      const from = reader.pos;
      chargeEntries(reader, context.budget, splitPairs(reader, undefined), DECODED_COST.xenstorePair, "xenstore pairs");
      reader.pos = from;
    }
    return { type: "EMULATOR_XENSTORE_DATA", ...header, entries: readPairs(reader) };
  },
  bodyLength(record, _context, fail) {
    let length = EMULATOR_HEADER_SIZE;
    const entries = record.entries as unknown;
    if (!Array.isArray(entries)) return fail(`entries must be an array of [key, value] pairs, got ${describeValue(entries)}`);
    for (let i = 0; i < entries.length; i++) {
      const pair: unknown = entries[i];
      if (!Array.isArray(pair) || pair.length !== 2) fail(`entries[${i}] must be a [key, value] pair, got ${describeValue(pair)}`);
      const [key, value] = pair as unknown[];
      length += bytesLength(key, `entries[${i}][0]`, fail) + bytesLength(value, `entries[${i}][1]`, fail) + 2;
      if ((key as Uint8Array).includes(NUL) || (value as Uint8Array).includes(NUL)) fail(`entries[${i}] contains a NUL byte`);
    }
    return length;
  },
  encode(writer, record) {
    writer.u32(record.emulatorId, "emulatorId");
    writer.u32(record.index, "index");
    for (const [key, value] of record.entries) {
      writer.raw(key);
      writer.u8(NUL, "NUL");
      writer.raw(value);
      writer.u8(NUL, "NUL");
    }
  },
};

export const emulatorContextCodec: BodyCodec<EmulatorContextRecord, NoContext> = {
  decode(reader) {
    const header = readEmulatorHeader(reader);
    return { type: "EMULATOR_CONTEXT", ...header, data: reader.rest() };
  },
  bodyLength: (record, _context, fail) => EMULATOR_HEADER_SIZE + bytesLength(record.data, "data", fail),
  encode(writer, record) {
    writer.u32(record.emulatorId, "emulatorId");
    writer.u32(record.index, "index");
    writer.raw(record.data);
  },
};

/**
 * CHECKPOINT_STATE: control_id u32. libxl writes body_length 4 (the spec's
 * diagram shows 8 with padding); a longer body is kept as `extra`.
 */
export const checkpointStateCodec: BodyCodec<CheckpointStateRecord, NoContext> = {
  decode(reader) {
    if (reader.remaining < CHECKPOINT_STATE_SIZE) {
      reader.failLength(`body must be at least ${CHECKPOINT_STATE_SIZE} bytes, got ${reader.remaining}`);
    }
    return withExtra({ type: "CHECKPOINT_STATE", controlId: reader.u32("control_id") }, reader);
  },
  bodyLength: (record, _context, fail) => CHECKPOINT_STATE_SIZE + extraLength(record, fail),
  encode(writer, record) {
    writer.u32(record.controlId, "controlId");
    if (record.extra !== undefined) writer.raw(record.extra);
  },
};

/** @internal */
export const NO_CONTEXT: NoContext = {};

/** The context of a shallow decode (the verifier). @internal */
export const SHALLOW_CONTEXT: NoContext = { shallow: true };
