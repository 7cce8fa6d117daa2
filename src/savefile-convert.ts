/**
 * Moving a stream between containers: bare libxc, bare libxl, an xl save
 * file, a libvirt save image. Where a move loses something (libxl device
 * model records when only libxc is kept, xenopsd's blobs) the result says
 * so in `notes`; where it cannot be made (libvirt needs domain XML that
 * other files lack) it fails and says what is missing.
 *
 * @module
 */
import { XenStreamError } from "./errors.js";
import { containerLegacyConverter } from "./legacy/convert.js";
import { concatBytes } from "./wire/bytes.js";
import { LIBXL_OPT_BIG_ENDIAN, LIBXL_VERSION } from "./libxl/constants.js";
import { isBigEndianImage } from "./libxc/header.js";
import type { LibxcStream } from "./libxc/types.js";
import type { LibxlStream } from "./libxl/types.js";
import { libvirtHeaderFor, type LibvirtHeader } from "./libvirt/header.js";
import { LibvirtSaveVersion } from "./libvirt/constants.js";
import { decodeSaveFile, type AnySaveFile, type SaveFile } from "./savefile.js";
import { libvirtWithXml, xlWithConfig, type ConfigInput } from "./savefile-config.js";
import { XlMandatoryFlag } from "./xl/constants.js";
import type { XlHeader } from "./xl/header.js";
import type { XenopsdChunk } from "./xenopsd/chunk.js";
import { encodeXenopsRecord, type XenopsRecord } from "./xenopsd/record.js";

/** xenopsd's consume_qemu_record refuses a QEMU record over 1 MiB (domain.ml). */
const XENOPSD_QEMU_LIMIT = 1_048_576;

/** `Xapi_stdext_date.Date.to_string` of now: "20261203T07:00:00Z". */
function xenopsdNow(): string {
  return new Date().toISOString().replace(/-/g, "").replace(/\.\d{3}/, "");
}

/**
 * A structured xenopsd image around the libxc stream, as xenopsd's suspend
 * writes one (domain.ml suspend): Xenops record, Libxc (length 0) and the
 * stream, the blobs that followed it in a xenopsd input, or the device
 * model's EMULATOR_CONTEXT as Qemu_trad (xenopsd writes its QEMU state file
 * there for every HVM guest), End_of_image.
 */
function toXenopsd(file: AnySaveFile, v2: SaveFile, options: ConvertContainerOptions, notes: string[]): SaveFile {
  const source = file.container?.kind === "xenopsd" && file.container.layout === "structured" ? file.container : undefined;
  const emulators = v2.format === "libxl" ? v2.stream.items.filter((item) => item.type === "EMULATOR_CONTEXT") : [];
  const libxc = libxcInside(v2, notes, new Set(["EMULATOR_CONTEXT"]));
  const before: XenopsdChunk[] = [];
  const after: XenopsdChunk[] = [];
  if (source !== undefined) {
    source.chunks.forEach((chunk, index) => {
      if (chunk.type === "Xenops" || chunk.type === "End_of_image" || index === source.streamChunk) return;
      (index < source.streamChunk ? before : after).push(chunk);
    });
  }
  if (file.container?.kind === "xenopsd" && file.container.layout === "legacy" && file.container.qemu !== undefined) {
    const body = file.container.qemu.body;
    after.push({ type: "Qemu_trad", length: BigInt(body.length), body });
    notes.push(`carried the legacy layout's QEMU record (${body.length} bytes) as the Qemu_trad record`);
  }
  const sourceRecord = source?.chunks.find((chunk) => chunk.type === "Xenops");
  let record: XenopsdChunk;
  if (options.record !== undefined) {
    const body = encodeXenopsRecord(options.record);
    record = { type: "Xenops", length: BigInt(body.length), body };
  } else if (sourceRecord !== undefined) record = sourceRecord;
  else {
    const body = encodeXenopsRecord({ time: xenopsdNow(), wordSize: 64, xsSubtree: [] });
    record = { type: "Xenops", length: BigInt(body.length), body };
    notes.push("wrote a new Xenops record (time now, word_size 64)");
  }
  for (const emulator of emulators) {
    if (emulator.type !== "EMULATOR_CONTEXT") continue;
    if (emulators.length > 1 || emulator.index !== 0) {
      notes.push(`dropped EMULATOR_CONTEXT of emulator ${emulator.emulatorId} index ${emulator.index}: xenopsd has one QEMU record`);
      continue;
    }
    after.push({ type: "Qemu_trad", length: BigInt(emulator.data.length), body: emulator.data });
    notes.push(`carried the EMULATOR_CONTEXT (${emulator.data.length} bytes) as the Qemu_trad record`);
    if (emulator.data.length > XENOPSD_QEMU_LIMIT) notes.push("the Qemu_trad record exceeds the 1 MiB xenopsd's restore accepts");
  }
  const chunks: XenopsdChunk[] = [record, ...before, { type: "Libxc", length: 0n }, ...after, { type: "End_of_image", length: 0n }];
  return { format: "libxc", container: { kind: "xenopsd", layout: "structured", chunks, streamChunk: 1 + before.length }, stream: libxc };
}

/** The containers a stream can be moved to. */
export type ContainerTarget = "xl" | "libvirt" | "libxl" | "libxc" | "xenopsd";

/** Every {@link ContainerTarget}, for argument checking. */
export const CONTAINER_TARGETS: readonly ContainerTarget[] = ["xl", "libvirt", "libxl", "libxc", "xenopsd"];

/** Options of {@link convertContainer}. */
export interface ConvertContainerOptions {
  /**
   * The domain XML for a libvirt target (text, stored with its NUL, or the
   * exact xmlLen bytes). Required unless the input is a libvirt image.
   */
  xml?: ConfigInput;
  /**
   * The libxl JSON config for an xl target. Default: the input's own xl
   * config; with neither, the xl header stores none (xl restore then needs
   * a config file on its command line).
   */
  config?: ConfigInput;
  /**
   * The Xenops record for a xenopsd target. Default: the input's own, else
   * what xenopsd's `Xenops_record.make` writes: now, word size 64, an
   * empty xs_subtree.
   */
  record?: XenopsRecord;
}

/** The result of {@link convertContainer}. */
export interface ContainerConversion {
  /** The file in its new container (encode it with {@link encodeSaveFile}). */
  file: SaveFile;
  /** What the move dropped, converted or could not carry, in words. */
  notes: string[];
}

function libxcInside(file: SaveFile, notes: string[], carried: ReadonlySet<string> = new Set()): LibxcStream {
  if (file.format === "libxc") return file.stream;
  const parts = file.stream.items.filter((item) => item.type === "LIBXC_STREAM");
  const first = parts[0];
  if (first === undefined || first.type !== "LIBXC_STREAM") {
    throw new XenStreamError("UNSUPPORTED", 0, "convert: the libxl stream holds no libxc stream (no LIBXC_CONTEXT) to extract", { layer: "libxl" });
  }
  if (file.stream.items.some((item) => item.type === "LIBXC_RESUME")) {
    throw new XenStreamError("UNSUPPORTED", 0, "convert: a checkpointed libxl stream's libxc part cannot stand alone as a bare libxc stream", {
      layer: "libxl",
    });
  }
  const dropped = file.stream.items
    .filter((item) => item.type !== "LIBXC_STREAM" && item.type !== "LIBXC_CONTEXT" && item.type !== "END" && !carried.has(item.type))
    .map((item) => item.type);
  if (dropped.length > 0) notes.push(`dropped the libxl records ${dropped.join(", ")} (a bare libxc stream has no place for them)`);
  return first.stream;
}

function libxlOf(file: SaveFile, notes: string[]): LibxlStream {
  if (file.format === "libxl") return file.stream;
  // What libxl's own save writes around a libxc stream (libxl_stream_write.c):
  // the header, LIBXC_CONTEXT, the libxc stream, END.
  const bigEndian = isBigEndianImage(file.stream.imageHeader);
  notes.push("wrapped the libxc stream in a libxl v2 stream (header, LIBXC_CONTEXT, END); it carries no device-model state");
  return {
    header: { version: LIBXL_VERSION, options: bigEndian ? LIBXL_OPT_BIG_ENDIAN : 0 },
    items: [{ type: "LIBXC_CONTEXT" }, { type: "LIBXC_STREAM", stream: file.stream }, { type: "END" }],
  };
}

function describeDropped(file: AnySaveFile, to: ContainerTarget, notes: string[]): void {
  const container = file.container;
  if (container?.kind !== "xenopsd") return;
  // A libxl stream could hold the QEMU state as EMULATOR_CONTEXT, but that
  // record names its emulator (QEMU traditional or upstream), which xenopsd
  // does not record: it writes Qemu_trad for every HVM guest.
  const why = to === "libxc" ? "the target has no place for" : "xenopsd does not record which QEMU (traditional or upstream) wrote";
  if (container.layout === "legacy") {
    if (container.qemu !== undefined) notes.push(`dropped xenopsd's QEMU record (${container.qemu.body.length} bytes): ${why} it`);
    return;
  }
  const blobs = container.chunks.filter((chunk) => chunk.body !== undefined && chunk.type !== "Xenops");
  if (blobs.length > 0) {
    const qemuOnly = blobs.every((chunk) => chunk.type === "Qemu_trad" || chunk.type === "Qemu_xen");
    const reason = to === "libxc" || !qemuOnly ? "the target has no place for them" : `${why} them, which a libxl EMULATOR_CONTEXT must name`;
    notes.push(`dropped xenopsd chunks ${blobs.map((chunk) => `${chunk.type} (${chunk.body?.length ?? 0} bytes)`).join(", ")}: ${reason}`);
  }
  if (container.chunks.some((chunk) => chunk.type === "Xenops")) notes.push("dropped the Xenops record (xenopsd's own metadata)");
}

/**
 * Moves a save file's stream into another container:
 *
 * - `libxc`: the bare libxc stream (extracted from a libxl stream; libxl's
 *   own records are dropped, and listed in `notes`);
 * - `libxl`: the bare libxl stream (a bare libxc stream is wrapped in one);
 * - `xl`: an xl save file (STREAMv2, plus JSON when a config is known);
 * - `libvirt`: a libvirt version 2 image, which needs the domain XML;
 * - `xenopsd`: a structured XAPI/xenopsd image (Xenops record, Libxc
 *   chunk and the libxc stream, a libxl EMULATOR_CONTEXT as Qemu_trad, a
 *   xenopsd input's blobs, End_of_image).
 *
 * A legacy stream inside a container (libvirt version 1, xenopsd) is
 * converted to v2 first, as libxl and xenopsd would.
 *
 * @param file - a decoded file ({@link decodeAnySaveFile})
 * @param to - the target container
 * @param options - XML, config and Xenops record for the targets that store one
 * @returns the new file and notes on what the move changed
 * @throws {@link XenStreamError} USAGE for an unknown target or a libvirt
 * target without XML; UNSUPPORTED where the stream cannot be moved (a
 * libxl stream with no or a checkpointed libxc part to a bare libxc
 * stream); the legacy converter's codes for a bad legacy stream
 *
 * @example
 * ```ts
 * import { convertContainer, decodeAnySaveFile, encodeSaveFile } from "xen-migration-stream";
 * const { file, notes } = convertContainer(decodeAnySaveFile(xlBytes), "libvirt", { xml: domainXml });
 * const image = encodeSaveFile(file);
 * ```
 */
export function convertContainer(file: AnySaveFile, to: ContainerTarget, options: ConvertContainerOptions = {}): ContainerConversion {
  if (!CONTAINER_TARGETS.includes(to)) {
    throw new XenStreamError("USAGE", 0, `convert: to must be one of ${CONTAINER_TARGETS.join(", ")}, got ${JSON.stringify(to)}`);
  }
  const notes: string[] = [];
  let v2: SaveFile;
  if (file.format === "legacy") {
    const converter = containerLegacyConverter(file.convertsTo);
    const parts = [...converter.push(file.bytes), ...converter.end()];
    v2 = decodeSaveFile(concatBytes(parts));
    notes.push(`converted the legacy (Xen <= 4.5) stream to a ${file.convertsTo} v2 stream`);
    if (converter.trailingBytes > 0) {
      notes.push(`dropped the ${converter.trailingBytes} bytes after the legacy stream's HVM tail (the QEMU record xenopsd appends): a libxc v2 stream has no place for them`);
    }
  } else v2 = file;
  const sourceXl: XlHeader | undefined = file.format !== "legacy" ? file.xl : undefined;
  const sourceLibvirt: LibvirtHeader | undefined = file.container?.kind === "libvirt" ? file.container.header : undefined;
  if (to === "libvirt" && options.xml === undefined && sourceLibvirt === undefined) {
    throw new XenStreamError(
      "USAGE",
      0,
      "convert: a libvirt image stores the domain XML, which this file does not have; pass it (--xml FILE / options.xml)",
    );
  }
  if (to !== "xenopsd") describeDropped(file, to, notes);
  if (sourceXl?.config !== undefined && to !== "xl") notes.push("dropped the xl header and its config");
  if (sourceLibvirt !== undefined && to !== "libvirt") notes.push("dropped the libvirt header and its domain XML");
  switch (to) {
    case "libxc":
      return { file: { format: "libxc", stream: libxcInside(v2, notes) }, notes };
    case "libxl":
      return { file: { format: "libxl", stream: libxlOf(v2, notes) }, notes };
    case "xl": {
      const stream = libxlOf(v2, notes);
      let header: XlHeader =
        sourceXl !== undefined
          ? { ...sourceXl, mandatoryFlags: sourceXl.mandatoryFlags | XlMandatoryFlag.STREAMV2 }
          : { byteOrder: "little", mandatoryFlags: XlMandatoryFlag.STREAMV2, optionalFlags: 0 };
      if (options.config !== undefined) header = xlWithConfig({ ...header, mandatoryFlags: header.mandatoryFlags | XlMandatoryFlag.JSON }, options.config);
      if (header.config === undefined) notes.push("the xl header stores no config: xl restore needs one on its command line");
      return { file: { format: "libxl", xl: header, stream }, notes };
    }
    case "xenopsd":
      return { file: toXenopsd(file, v2, options, notes), notes };
    case "libvirt": {
      const stream = libxlOf(v2, notes);
      const base: LibvirtHeader = sourceLibvirt !== undefined ? { ...sourceLibvirt, version: LibvirtSaveVersion.V2 } : libvirtHeaderFor("x");
      const header = options.xml !== undefined ? libvirtWithXml(base, options.xml) : base;
      return { file: { format: "libxl", container: { kind: "libvirt", header }, stream }, notes };
    }
  }
}
