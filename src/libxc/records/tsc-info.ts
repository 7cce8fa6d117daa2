/**
 * X86_TSC_INFO (0x08): mode u32, khz u32, nsec u64, incarnation u32,
 * reserved u32; exactly 24 bytes (Xen xg_sr_common_x86.c:
 * handle_x86_tsc_info()).
 *
 * @module
 * @internal
 */
import type { BodyCodec } from "../../wire/codec.js";
import { X86_TSC_INFO_SIZE } from "../constants.js";
import type { X86TscInfoRecord } from "../types.js";
import type { LibxcCodecContext } from "./context.js";

export const tscInfoCodec: BodyCodec<X86TscInfoRecord, LibxcCodecContext> = {
  decode(reader) {
    if (reader.remaining !== X86_TSC_INFO_SIZE) {
      reader.failLength(`body must be ${X86_TSC_INFO_SIZE} bytes, got ${reader.remaining}`);
    }
    return {
      type: "X86_TSC_INFO",
      mode: reader.u32("mode"),
      khz: reader.u32("khz"),
      nsec: reader.u64("nsec"),
      incarnation: reader.u32("incarnation"),
      reserved: reader.u32("reserved"),
    };
  },
  bodyLength: () => X86_TSC_INFO_SIZE,
  encode(writer, record) {
    writer.u32(record.mode, "mode");
    writer.u32(record.khz, "khz");
    writer.u64(record.nsec, "nsec");
    writer.u32(record.incarnation, "incarnation");
    writer.u32(record.reserved ?? 0, "reserved");
  },
};
