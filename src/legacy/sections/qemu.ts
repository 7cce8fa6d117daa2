/**
 * The QEMU record after the HVM tail (legacy-stream.md §8;
 * xc_domain_restore.c: buffer_qemu(), compat_buffer_qemu()): a signature,
 * then a length and the data, or (xend's QemuDeviceModelRecord) the QEMU
 * state to the end of the input. libxl output makes it an
 * EMULATOR_CONTEXT record; libxc output copies it after the libxc END as
 * found (pass-through events, never buffered).
 *
 * @module
 * @internal
 */
import { concatBytes } from "../../wire/bytes.js";
import { viewOf } from "../../wire/reader.js";
import { EmulatorId } from "../../libxl/constants.js";
import { QEMU_SAVE_MAGIC, QEMU_SIGNATURE_SIZE, QemuSignature } from "../constants.js";
import { PIECE, type LegacyParser, type Step } from "../parser.js";

/** The QEMU record. @internal */
export class QemuRecord {
  private readonly p: LegacyParser;
  private length = 0;
  /** Pass-through bytes still to copy. */
  private left = 0;
  /** Input offset of the QEMU state read to the end. */
  private start = 0;
  private parts: Uint8Array[] = [];
  private total = 0;

  constructor(parser: LegacyParser) {
    this.p = parser;
  }

  /** The record's first step. */
  first(): Step {
    return this.signature;
  }

  private readonly signature: Step = {
    reading: "the QEMU record signature",
    need: () => QEMU_SIGNATURE_SIZE,
    run: (raw, offset) => {
      const p = this.p;
      const signature = String.fromCharCode(...raw);
      if (signature === QemuSignature.DEVICE_MODEL_RECORD_0002 || signature === QemuSignature.REMUS_DEVICE_MODEL_STATE) {
        // RemusDeviceModelState: same body (xc_domain_restore.c:
        // buffer_qemu()); only the first checkpoint of a Remus stream is
        // converted, later ones are trailing data (§12.7).
        if (!p.libxl) p.emit({ layer: "legacy", kind: "passthrough", offset, bytes: raw.slice() });
        p.go(this.lengthStep);
        return;
      }
      if (signature === QemuSignature.QEMU_DEVICE_MODEL_RECORD) {
        // xend: QEMU state with no length, to the end of the stream
        // (xc_domain_restore.c: compat_buffer_qemu()).
        this.start = offset + raw.length;
        if (!p.libxl) p.emit({ layer: "legacy", kind: "passthrough", offset, bytes: raw.slice() });
        p.go(this.magic);
        return;
      }
      const printable = Array.from(raw, (byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : ".")).join("");
      p.fail(
        "BAD_MAGIC",
        offset,
        `unrecognised QEMU record signature "${printable}" (expected DeviceModelRecord0002, QemuDeviceModelRecord or RemusDeviceModelState)`,
      );
    },
  };

  private readonly lengthStep: Step = {
    reading: "the QEMU record length",
    need: () => 4,
    run: (bytes, offset) => {
      const p = this.p;
      const length = viewOf(bytes).getUint32(0, true);
      if (!p.libxl) {
        // libxc output: the record is copied after the libxc END as found.
        p.emit({ layer: "legacy", kind: "passthrough", offset, bytes });
        this.left = length;
        p.go(this.passthrough);
        return;
      }
      const max = p.settings.maxRecordLength;
      if (length > max) p.fail("RECORD_TOO_LARGE", offset, `QEMU record of ${length} bytes exceeds the maximum ${max}`);
      this.length = length;
      p.go(this.data);
    },
  };

  /** libxl output: the data, whole. */
  private readonly data: Step = {
    reading: "the QEMU record data",
    need: () => this.length,
    run: (data, offset) => {
      this.p.emitLibxl(offset, { type: "EMULATOR_CONTEXT", emulatorId: EmulatorId.UNKNOWN, index: 0, data });
      this.p.finish(offset + data.length);
    },
  };

  /** libxc output: the data, copied on as it arrives. */
  private readonly passthrough: Step = {
    reading: "the QEMU record data",
    mode: "piece",
    need: () => Math.min(this.left, PIECE),
    run: (bytes, offset) => {
      if (bytes.length > 0) this.p.emit({ layer: "legacy", kind: "passthrough", offset, bytes });
      this.left -= bytes.length;
      if (this.left === 0) this.p.finish(offset + bytes.length);
    },
  };

  /** The legacy restorer requires a read-to-end QEMU state to start "QEVM". */
  private readonly magic: Step = {
    reading: 'the QEMU state\'s "QEVM" magic',
    mode: "peek",
    need: () => QEMU_SAVE_MAGIC.length,
    run: (bytes) => {
      if (String.fromCharCode(...bytes) !== QEMU_SAVE_MAGIC) this.p.fail("BAD_MAGIC", this.start, 'QemuDeviceModelRecord: QEMU state does not start with "QEVM"');
      this.p.go(this.toEnd);
    },
    atEnd: (rest) => {
      this.p.fail("BAD_MAGIC", this.start, `QemuDeviceModelRecord: ${rest.length} bytes of QEMU state, too short for its "QEVM" magic`);
    },
  };

  /** The QEMU state, to the end of the input. */
  private readonly toEnd: Step = {
    reading: "the QEMU state",
    mode: "piece",
    need: () => PIECE,
    run: (bytes, offset) => {
      const p = this.p;
      if (!p.libxl) {
        p.emit({ layer: "legacy", kind: "passthrough", offset, bytes });
        return;
      }
      const max = p.settings.maxRecordLength;
      if (this.total + bytes.length > max) {
        p.fail("RECORD_TOO_LARGE", this.start, `QEMU state read to the end of the stream exceeds the maximum ${max} bytes`);
      }
      // Copied: the parts are kept until the end of the input.
      this.parts.push(bytes.slice());
      this.total += bytes.length;
    },
    atEnd: (_rest, offset) => {
      const p = this.p;
      if (p.libxl) {
        const data = this.parts.length === 1 ? (this.parts[0] as Uint8Array) : concatBytes(this.parts);
        this.parts = [];
        p.emitLibxl(this.start, { type: "EMULATOR_CONTEXT", emulatorId: EmulatorId.UNKNOWN, index: 0, data });
      }
      p.finish(offset);
    },
  };
}
