/**
 * x86 PV records: X86_PV_INFO, X86_PV_P2M_FRAMES and the four vCPU kinds
 * (spec "X86_PV_INFO", "X86_PV_P2M_FRAMES", "X86_PV_VCPU_*"; Xen
 * xg_sr_restore_x86_pv.c).
 *
 * @module
 * @internal
 */
import { describeValue } from "../../errors.js";
import { bytesLength, withExtra, extraLength, uintField, type BodyCodec } from "../../wire/codec.js";
import {
  P2M_FRAMES_HEADER_SIZE,
  VCPU_HEADER_SIZE,
  X86_PV_INFO_SIZE,
} from "../constants.js";
import type { VcpuRecordTypeName, X86PvInfoRecord, X86PvP2mFramesRecord, X86PvVcpuRecord } from "../types.js";
import type { LibxcCodecContext } from "./context.js";
import { chargeEntries, DECODED_COST } from "./budget.js";
import { lazyMember } from "./lazy.js";

const PV_INFO_RESERVED_SIZE = 6;
const ZERO_RESERVED = new Uint8Array(PV_INFO_RESERVED_SIZE);

/**
 * X86_PV_INFO: guest_width u8, pt_levels u8, 6 reserved bytes. Xen's restore
 * accepts a longer body and ignores the rest (kept as `extra`); width and
 * levels are judged by the verifier, not here.
 */
export const x86PvInfoCodec: BodyCodec<X86PvInfoRecord, LibxcCodecContext> = {
  decode(reader) {
    if (reader.remaining < X86_PV_INFO_SIZE) {
      reader.failLength(`body must be at least ${X86_PV_INFO_SIZE} bytes, got ${reader.remaining}`);
    }
    const guestWidth = reader.u8("guest_width");
    const ptLevels = reader.u8("pt_levels");
    const reserved = reader.bytesView(PV_INFO_RESERVED_SIZE, "reserved");
    return withExtra({ type: "X86_PV_INFO", guestWidth, ptLevels, reserved }, reader);
  },
  bodyLength(record, _context, fail) {
    if (record.reserved !== undefined && bytesLength(record.reserved, "reserved", fail) !== PV_INFO_RESERVED_SIZE) {
      fail(`X86_PV_INFO: reserved must be ${PV_INFO_RESERVED_SIZE} bytes, got ${record.reserved.length}`);
    }
    return X86_PV_INFO_SIZE + extraLength(record, fail);
  },
  encode(writer, record) {
    writer.u8(record.guestWidth, "guestWidth");
    writer.u8(record.ptLevels, "ptLevels");
    writer.raw(record.reserved ?? ZERO_RESERVED);
    if (record.extra !== undefined) writer.raw(record.extra);
  },
};

/**
 * X86_PV_P2M_FRAMES: start u32, end u32, u64 frame pfns. The frame count
 * depends on the guest width (X86_PV_INFO), so it is the verifier's check;
 * the decoder requires whole u64 entries and start <= end, as Xen does.
 */
export const x86PvP2mFramesCodec: BodyCodec<X86PvP2mFramesRecord, LibxcCodecContext> = {
  decode(reader, context) {
    const length = reader.remaining;
    if (length < P2M_FRAMES_HEADER_SIZE || length % 8 !== 0) {
      reader.failLength(`body must be 8 + 8*n bytes, got ${length}`);
    }
    const startPfn = reader.u32("p2m_start_pfn");
    const endPfn = reader.u32("p2m_end_pfn");
    if (startPfn > endPfn) reader.fail("BAD_FIELD", 0, `p2m_start_pfn ${startPfn} is above p2m_end_pfn ${endPfn}`);
    const count = (length - P2M_FRAMES_HEADER_SIZE) / 8;
    const read = (body: typeof reader): bigint[] => {
      const frames = new Array<bigint>(count);
      for (let i = 0; i < count; i++) frames[i] = body.u64("p2m_pfn");
      return frames;
    };
    if (context.shallow === true) {
      const record = { type: "X86_PV_P2M_FRAMES", startPfn, endPfn } as X86PvP2mFramesRecord;
      return lazyMember(record, "frames", reader, P2M_FRAMES_HEADER_SIZE, read);
    }
    chargeEntries(reader, context.budget, count, DECODED_COST.bigint, "P2M frames");
    return { type: "X86_PV_P2M_FRAMES", startPfn, endPfn, frames: read(reader) };
  },
  bodyLength(record, _context, fail) {
    const startPfn = uintField(record.startPfn, 0xffff_ffff, "startPfn", fail);
    const endPfn = uintField(record.endPfn, 0xffff_ffff, "endPfn", fail);
    if (startPfn > endPfn) fail(`X86_PV_P2M_FRAMES: startPfn ${startPfn} is above endPfn ${endPfn}`);
    if (!Array.isArray(record.frames)) fail(`frames must be an array of bigints, got ${describeValue(record.frames)}`);
    return P2M_FRAMES_HEADER_SIZE + 8 * record.frames.length;
  },
  encode(writer, record) {
    writer.u32(record.startPfn, "startPfn");
    writer.u32(record.endPfn, "endPfn");
    for (const frame of record.frames) writer.u64(frame, "frames[]");
  },
};

/**
 * The PV vCPU records: vcpu_id u32, reserved u32, context blob. Blob sizes
 * and the vcpu_id range depend on the domain, so they are verifier checks.
 */
export function vcpuCodec(name: VcpuRecordTypeName): BodyCodec<X86PvVcpuRecord, LibxcCodecContext> {
  return {
    decode(reader) {
      if (reader.remaining < VCPU_HEADER_SIZE) {
        reader.failLength(`body must be at least ${VCPU_HEADER_SIZE} bytes, got ${reader.remaining}`);
      }
      const vcpuId = reader.u32("vcpu_id");
      const reserved = reader.u32("reserved");
      return { type: name, vcpuId, reserved, context: reader.rest() };
    },
    bodyLength: (record, _context, fail) => VCPU_HEADER_SIZE + bytesLength(record.context, "context", fail),
    encode(writer, record) {
      writer.u32(record.vcpuId, "vcpuId");
      writer.u32(record.reserved ?? 0, "reserved");
      writer.raw(record.context);
    },
  };
}

