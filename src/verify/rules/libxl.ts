/**
 * The libxl layer's spec rules that Xen's verify-stream-v2 never checks:
 * CHECKPOINT_STATE, xenstore key/value encoding, emulator records for
 * guests without a device model.
 *
 * Sources: docs/specs/libxl-migration-stream.pandoc "EMULATOR_XENSTORE_DATA",
 * "CHECKPOINT_STATE"; libxl_stream_read.c.
 *
 * @module
 * @internal
 */
import { forEachXenstorePair } from "../entries.js";
import { CheckpointStateId, CHECKPOINT_STATE_SIZE } from "../../libxl/constants.js";
import { isAllZero } from "../../wire/reader.js";
import { BOTH_ERROR, EMULATOR_RECORD_KEYS, bodyOffset, type Rule } from "../rule.js";

/**
 * CHECKPOINT_STATE (disagreement 11): libxl writes body_length 4, the spec
 * diagram shows 8 (id + padding); both are accepted, anything else is not.
 * The forward stream only carries CHECKPOINT_NEW (0).
 */
const checkpointState: Rule = {
  name: "checkpoint-state",
  code: "BAD_FIELD",
  severity: BOTH_ERROR,
  description: "CHECKPOINT_STATE: body_length 4 (libxl) or 8 (spec diagram, zero-filled), control_id 0-3, and CHECKPOINT_NEW in a forward stream (warning; error in restore).",
  on: ["libxl:CHECKPOINT_STATE"],
  check(event, state, context) {
    if (event.kind !== "record" || event.record.type !== "CHECKPOINT_STATE") return;
    const { controlId, extra } = event.record;
    if (extra !== undefined) {
      if (extra.length !== CHECKPOINT_STATE_SIZE) {
        context.report(`CHECKPOINT_STATE body must be 4 or 8 bytes, got ${event.bodyLength}`, { code: "BAD_SIZE", offset: event.offset + 4 });
      } else if (!isAllZero(extra)) {
        context.report("CHECKPOINT_STATE bytes 4-7 are not zero", { code: "RESERVED_NONZERO", offset: bodyOffset(event) + 4 });
      }
    }
    if (controlId > CheckpointStateId.CHECKPOINT_SVM_RESUMED) {
      context.report(`unknown CHECKPOINT_STATE control_id ${controlId}`, { offset: bodyOffset(event) });
    } else if (controlId !== CheckpointStateId.CHECKPOINT_NEW) {
      context.report(`CHECKPOINT_STATE control_id ${controlId} is a back-channel (secondary to primary) message, not a forward-stream one`, {
        offset: bodyOffset(event),
        severity: state.profile === "restore" ? "error" : "warning",
      });
    }
  },
};

/** Xenstore key characters (libxl spec: "keys strictly as alphanumeric ASCII and -/_@"). */
function isKeyByte(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) ||
    (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) ||
    byte === 0x2d ||
    byte === 0x2f ||
    byte === 0x5f ||
    byte === 0x40
  );
}

function printable(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length && i < 64; i++) {
    const byte = bytes[i] as number;
    text += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return bytes.length > 64 ? `${text}...` : text;
}

/** EMULATOR_XENSTORE_DATA key/value encoding (libxl spec; libxl__restore_emulator_xenstore_data()). */
const xenstoreData: Rule = {
  name: "xenstore-data",
  code: "XENSTORE_KEY",
  severity: BOTH_ERROR,
  description: "EMULATOR_XENSTORE_DATA: keys non-empty, relative, alphanumeric ASCII and -/_@ (error); values printable ASCII (warning). NUL termination is checked by the decoder.",
  on: ["libxl:EMULATOR_XENSTORE_DATA"],
  check(event, _state, context) {
    if (event.kind !== "record" || event.record.type !== "EMULATOR_XENSTORE_DATA") return;
    let pos = bodyOffset(event) + 8;
    // Walks the body in place: no pair is built (issue #19).
    forEachXenstorePair(event.record, (keyBytes, keyStart, keyEnd, valueBytes, valueStart, valueEnd) => {
      const keyLength = keyEnd - keyStart;
      if (keyLength === 0) context.report("empty xenstore key", { offset: pos });
      else if (keyBytes[keyStart] === 0x2f) {
        context.report(`xenstore key "${printable(keyBytes.subarray(keyStart, keyEnd))}" is absolute; keys are relative`, { offset: pos });
      } else {
        let bad = keyStart;
        while (bad < keyEnd && isKeyByte(keyBytes[bad] as number)) bad++;
        if (bad < keyEnd) {
          context.report(`xenstore key "${printable(keyBytes.subarray(keyStart, keyEnd))}" has a character outside [A-Za-z0-9-/_@]`, {
            offset: pos + bad - keyStart,
          });
        }
      }
      const valuePos = pos + keyLength + 1;
      let badValue = valueStart;
      while (badValue < valueEnd && (valueBytes[badValue] as number) >= 0x20 && (valueBytes[badValue] as number) <= 0x7e) badValue++;
      if (badValue < valueEnd) {
        context.report(`xenstore value "${printable(valueBytes.subarray(valueStart, valueEnd))}" is not printable ASCII`, {
          code: "XENSTORE_VALUE",
          severity: "warning",
          offset: valuePos + badValue - valueStart,
        });
      }
      pos = valuePos + (valueEnd - valueStart) + 1;
    });
  },
};

/** Emulator records belong to HVM guests (libxl: "Received an emulator ... record when none was expected"). */
const emulatorGuest: Rule = {
  name: "emulator-guest-type",
  code: "WRONG_GUEST_TYPE",
  severity: { spec: "warning", restore: "error" },
  description: "EMULATOR_XENSTORE_DATA and EMULATOR_CONTEXT belong to HVM guests with a device model; libxl refuses them for PV and PVH guests.",
  on: EMULATOR_RECORD_KEYS,
  check(event, state, context) {
    if (event.kind !== "record") return;
    const xlType = state.xlGuestType;
    if (state.guest === "pv" || xlType === "pv") context.report(`${event.record.type} for a PV guest (no device model)`);
    else if (xlType === "pvh") context.report(`${event.record.type} for a PVH guest (no device model)`);
  },
};

/** The libxl spec rules. @internal */
export const libxlRules: readonly Rule[] = [checkpointState, xenstoreData, emulatorGuest];
