/**
 * The libxl record registry: everything the code knows about each libxl
 * record type, one entry per type (body codec, display name, length rule,
 * where it may appear, reserved fields). Keyed by
 * {@link LibxlRecordTypeName}, so a type without an entry is a compile
 * error; the decoder and encoder ({@link libxlTable}), the verifier and
 * the test generators read it. See CONTRIBUTING.md, "How to add a record
 * type".
 *
 * Sources: docs/specs/libxl-migration-stream.pandoc ("Record Types");
 * tools/xl verify-stream-v2 (libxl.py) for the display names; Xen
 * libxl_stream_read.c for where records may appear.
 *
 * @module
 * @internal
 */
import {
  ANY_LENGTH,
  atLeast,
  signalCodec,
  type GuestKind,
  type Placement,
  type RecordTypeEntry,
  type Registry,
  type SameUnion,
} from "../wire/codec.js";
import { CodecTable } from "../wire/record.js";
import { CHECKPOINT_STATE_SIZE, EMULATOR_HEADER_SIZE, LibxlRecordType, type LibxlRecordTypeName } from "./constants.js";
import { checkpointStateCodec, emulatorContextCodec, xenstoreDataCodec, type NoContext } from "./records.js";
import type { LibxlRecord } from "./types.js";

export { NO_CONTEXT, SHALLOW_CONTEXT } from "./records.js";

/**
 * Where in a libxl stream a record belongs:
 * - `stream`: the plain record sequence (END, LIBXC_CONTEXT);
 * - `checkpoint`: the records between a libxc CHECKPOINT and the resumed
 *   libxc stream (CHECKPOINT_END, COLO's CHECKPOINT_STATE);
 * - `any`: either (the emulator records, which Remus resends per checkpoint).
 * @internal
 */
export type LibxlPhase = "stream" | "checkpoint" | "any";

/** Where a libxl record may appear. @internal */
export interface LibxlPlacement extends Placement {
  readonly phase: LibxlPhase;
  /** The device model's (QEMU's) state: only guests with one (HVM) carry it. */
  readonly deviceModel?: true;
}

/** The registry entry of one libxl record type. @internal */
export type LibxlTypeEntry<R extends LibxlRecord = LibxlRecord> = RecordTypeEntry<R, NoContext, LibxlPlacement>;

/** The shape of the registry: one entry per record name. @internal */
export type LibxlRegistry = Registry<LibxlRecordTypeName, LibxlRecord, NoContext, LibxlPlacement>;

// Every name of the constants has a record interface, and the other way round.
const namesMatch: SameUnion<LibxlRecordTypeName, Exclude<LibxlRecord["type"], "UNKNOWN">> = true;
void namesMatch;

const BOTH: readonly GuestKind[] = ["pv", "hvm"];

/** The libxl record registry. @internal */
export const LIBXL_REGISTRY: LibxlRegistry = {
  END: {
    display: "End",
    codec: signalCodec("END"),
    length: ANY_LENGTH,
    appears: { phase: "stream", guests: BOTH, steersDecoder: true },
    reserved: [],
  },
  LIBXC_CONTEXT: {
    display: "Libxc context",
    codec: signalCodec("LIBXC_CONTEXT"),
    length: ANY_LENGTH,
    appears: { phase: "stream", guests: BOTH, once: true, steersDecoder: true },
    reserved: [],
  },
  EMULATOR_XENSTORE_DATA: {
    display: "Emulator xenstore data",
    codec: xenstoreDataCodec,
    length: atLeast(EMULATOR_HEADER_SIZE),
    appears: { phase: "any", guests: ["hvm"], deviceModel: true },
    reserved: [],
  },
  EMULATOR_CONTEXT: {
    display: "Emulator context",
    codec: emulatorContextCodec,
    length: atLeast(EMULATOR_HEADER_SIZE),
    appears: { phase: "any", guests: ["hvm"], deviceModel: true },
    reserved: [],
  },
  CHECKPOINT_END: {
    display: "Checkpoint end",
    codec: signalCodec("CHECKPOINT_END"),
    length: ANY_LENGTH,
    appears: { phase: "checkpoint", guests: BOTH, steersDecoder: true },
    reserved: [],
  },
  CHECKPOINT_STATE: {
    display: "Checkpoint state",
    codec: checkpointStateCodec,
    length: atLeast(CHECKPOINT_STATE_SIZE),
    appears: { phase: "checkpoint", guests: ["hvm"], steersDecoder: true },
    reserved: [],
  },
};

/** Every libxl record name, in type-id order. @internal */
export const LIBXL_RECORD_NAMES: readonly LibxlRecordTypeName[] = /*@__PURE__*/ (
  Object.keys(LibxlRecordType) as LibxlRecordTypeName[]
).sort((a, b) => LibxlRecordType[a] - LibxlRecordType[b]);

/** The libxl decode/encode table, built from the registry. @internal */
export const libxlTable = /*@__PURE__*/ new CodecTable<LibxlRecord, NoContext, LibxlPlacement>("libxl", LibxlRecordType, LIBXL_REGISTRY);
