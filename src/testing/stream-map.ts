/**
 * A map of where every header and record of a valid stream lies, built
 * from the decoder's own events. The structure-aware mutators work on it.
 *
 * @module
 */
import { libxcTable } from "../libxc/codec.js";
import { DomainType } from "../libxc/constants.js";
import { libxlTable } from "../libxl/codec.js";
import { SaveFileDecoder, detectFormat, type SaveFileEvent, type StreamFormat } from "../savefile.js";
import { RECORD_HEADER_SIZE, paddedLength } from "../wire/frame.js";

/** The v2 formats a stream map can describe. */
export type MappedFormat = Exclude<StreamFormat, "legacy">;

/** What a frame is. */
export type FrameKind = "xlHeader" | "libxlHeader" | "imageHeader" | "domainHeader" | "record";

/** One header or record of a stream, where it lies and what it is. */
export interface Frame {
  kind: FrameKind;
  layer: "xl" | "libxl" | "libxc";
  /** Absolute offset of the first byte. */
  offset: number;
  /** Bytes on the wire (records: header, body and padding). */
  size: number;
  /** Byte order of the frame's multi-byte fields (libxc image and libxl headers are always big-endian). */
  littleEndian: boolean;
  /** Records: index within the layer. */
  index?: number;
  /** Records: the type field. */
  typeId?: number;
  /** Records: the type name ("UNKNOWN" for unknown types). */
  type?: string;
  /** Records: the body_length field. */
  bodyLength?: number;
  /**
   * Records the decoder's state machine depends on (libxc END and
   * CHECKPOINT; libxl END, LIBXC_CONTEXT, CHECKPOINT_END, CHECKPOINT_STATE):
   * removing, moving or retyping them changes how every later byte is read.
   */
  structural?: boolean;
}

/** Where everything of a valid stream lies. */
export interface StreamMap {
  format: MappedFormat;
  /** Length of the stream. */
  length: number;
  frames: Frame[];
  /** Page size of the libxc stream. */
  pageSize: number;
  /** libxc domain type (1 PV, 2 HVM). */
  domainType: number;
  /** True when the stream is checkpointed (no END; may stop at checkpoint boundaries). */
  checkpointed: boolean;
  /** Offsets (lengths) at which a prefix of the stream is itself complete. */
  validEnds: Set<number>;
}

/** True for records the decoder's state machine turns on (the registries' `steersDecoder`). */
function steersDecoder(layer: "libxc" | "libxl", typeId: number): boolean {
  return (layer === "libxc" ? libxcTable : libxlTable).typeOf(typeId)?.appears.steersDecoder === true;
}

/**
 * Maps a valid v2 stream: decodes it (with default limits) and records the
 * offset and size of every header and record.
 *
 * @param bytes - a stream the decoder accepts
 * @param format - its format (default: detected from the first bytes)
 * @returns the map
 * @throws {@link index!XenStreamError} when the decoder refuses the stream
 */
export function streamMap(bytes: Uint8Array, format?: MappedFormat): StreamMap {
  const decoder = new SaveFileDecoder({ format: format ?? "auto" });
  const events: SaveFileEvent[] = [...decoder.push(bytes), ...decoder.end()];
  const detected = (format ?? detectFormat(bytes)) as MappedFormat;
  const frames: Frame[] = [];
  let libxlLittle = true;
  let libxcLittle = true;
  let pageSize = 4096;
  let domainType: number = DomainType.X86_PV;
  let checkpointed = false;
  const validEnds = new Set<number>([bytes.length]);
  for (const event of events) {
    // Container events (libvirt, xenopsd, legacy payloads) are not mapped here.
    if (event.layer === "libvirt" || event.layer === "xenopsd" || event.layer === "legacy") continue;
    if (event.layer === "xl") {
      frames.push({ kind: "xlHeader", layer: "xl", offset: event.offset, size: event.size, littleEndian: event.header.byteOrder === "little" });
    } else if (event.kind === "header") {
      libxlLittle = (event.header.options & 1) === 0;
      frames.push({ kind: "libxlHeader", layer: "libxl", offset: event.offset, size: 16, littleEndian: false });
    } else if (event.kind === "imageHeader") {
      libxcLittle = (event.header.options & 1) === 0;
      frames.push({ kind: "imageHeader", layer: "libxc", offset: event.offset, size: 24, littleEndian: false });
    } else if (event.kind === "domainHeader") {
      pageSize = 2 ** event.header.pageShift;
      domainType = event.header.type;
      frames.push({ kind: "domainHeader", layer: "libxc", offset: event.offset, size: 16, littleEndian: libxcLittle });
    } else {
      const littleEndian = event.layer === "libxc" ? libxcLittle : libxlLittle;
      const view = new DataView(bytes.buffer, bytes.byteOffset + event.offset, RECORD_HEADER_SIZE);
      const type = event.record.type;
      const typeId = view.getUint32(0, littleEndian);
      const size = RECORD_HEADER_SIZE + paddedLength(event.bodyLength);
      frames.push({
        kind: "record",
        layer: event.layer,
        offset: event.offset,
        size,
        littleEndian,
        index: event.index,
        typeId,
        type,
        bodyLength: event.bodyLength,
        structural: steersDecoder(event.layer, typeId),
      });
      const end = event.offset + size;
      if (event.layer === "libxc" && type === "CHECKPOINT") {
        checkpointed = true;
        if (detected === "libxc") validEnds.add(end);
      }
      if (event.layer === "libxl" && (type === "CHECKPOINT_END" || type === "CHECKPOINT_STATE")) validEnds.add(end);
    }
  }
  return { format: detected, length: bytes.length, frames, pageSize, domainType, checkpointed, validEnds };
}

/**
 * The frame holding byte `offset`, if any.
 *
 * @param map - a stream's frame map
 * @param offset - a byte offset in the stream
 * @returns the frame, or undefined past the frames
 */
export function frameAt(map: StreamMap, offset: number): Frame | undefined {
  return map.frames.find((frame) => offset >= frame.offset && offset < frame.offset + frame.size);
}

/**
 * A short human name of a frame: "libxc record 7 (PAGE_DATA)", "libxl header".
 *
 * @param frame - a frame of a stream map
 * @returns the name
 */
export function describeFrame(frame: Frame): string {
  switch (frame.kind) {
    case "xlHeader":
      return "xl header";
    case "libxlHeader":
      return "libxl header";
    case "imageHeader":
      return "libxc image header";
    case "domainHeader":
      return "libxc domain header";
    case "record":
      return `${frame.layer} record ${String(frame.index)} (${String(frame.type)})`;
  }
}
