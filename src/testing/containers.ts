/**
 * Arbitraries of the containers a stream travels in: libvirt's libxl-driver
 * save image (version 2 around a libxl stream, version 1 around a legacy
 * stream) and XAPI/xenopsd suspend images (the structured layout around a
 * libxc or libxl stream with a Xenops record and blob chunks, the legacy
 * layout around a legacy PV stream). Each yields `{ value, bytes }`, with
 * the streams drawn by the stream arbitraries so they shrink.
 *
 * @module
 */
import fc from "fast-check";
import { encodeSaveFile, type AnySaveFile, type LegacySaveFile, type SaveFile } from "../savefile.js";
import type { LibvirtHeader } from "../libvirt/header.js";
import type { XenopsdChunk } from "../xenopsd/chunk.js";
import type { XenopsdChunkName } from "../xenopsd/constants.js";
import { encodeXenopsRecord, type XenopsRecord } from "../xenopsd/record.js";
import { libxcStream, libxlStream, type LibxlStreamConstraints } from "./arbitraries.js";
import { legacyStream } from "./legacy.js";
import { invalid, reserved, smallBytes, type Encoded } from "./records.js";

/** Constraints of {@link libvirtSaveImage}. */
export interface LibvirtImageConstraints extends LibxlStreamConstraints {
  /**
   * Draw what libvirt accepts but does not write: version 0, non-zero
   * unused words, bytes after the XML's NUL, a big-endian header.
   * @defaultValue false
   */
  lenientHeader?: boolean;
}

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

function domainXml(name: string, memory: number): string {
  return `<domain type='xen'>\n  <name>${name}</name>\n  <memory unit='KiB'>${memory}</memory>\n  <os>\n    <type>linux</type>\n  </os>\n</domain>\n`;
}

const xmlParts = fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/), memory: fc.integer({ min: 1024, max: 2 ** 24 }) });

function libvirtHeader(lenient: boolean, legacy: boolean): fc.Arbitrary<LibvirtHeader> {
  return fc
    .record({
      xml: xmlParts,
      tail: lenient ? fc.option(smallBytes(1, 8), { nil: undefined }) : fc.constant(undefined),
      version: legacy ? fc.constant(1) : lenient ? fc.constantFrom(2, 0) : fc.constant(2),
      byteOrder: lenient ? fc.constantFrom<"little" | "big">("little", "big") : fc.constant<"little" | "big">("little"),
      unused: fc.array(reserved(lenient, 0xffff_ffff), { minLength: 10, maxLength: 10 }),
    })
    .map(({ xml, tail, version, byteOrder, unused }) => {
      const text = ascii(domainXml(xml.name, xml.memory));
      const bytes = new Uint8Array(text.length + 1 + (tail?.length ?? 0));
      bytes.set(text);
      if (tail !== undefined) bytes.set(tail, text.length + 1);
      return { byteOrder, version, xml: bytes, unused };
    });
}

/**
 * A libvirt libxl-driver save image: the 64-byte header and domain XML,
 * then a libxl v2 stream (version 2).
 *
 * @param constraints - as {@link libxlStream}, plus `lenientHeader`
 * @returns an arbitrary of `{ value, bytes }`
 * @throws RangeError at once for a bad constraint
 */
export function libvirtSaveImage(constraints: LibvirtImageConstraints = {}): fc.Arbitrary<Encoded<SaveFile>> {
  const { lenientHeader, ...streamConstraints } = constraints;
  return fc.record({ header: libvirtHeader(lenientHeader ?? false, false), libxl: libxlStream(streamConstraints) }).map(({ header, libxl }) => {
    const value: SaveFile = { format: "libxl", container: { kind: "libvirt", header }, stream: libxl.value };
    return { value, bytes: encodeSaveFile(value) };
  });
}

/** Constraints of {@link xenopsdSuspendImage}. */
export interface XenopsdImageConstraints extends LibxlStreamConstraints {
  /**
   * The stream chunk: "Libxc" (what xenopsd writes), "Libxl" (defined,
   * never written), or "any".
   * @defaultValue "Libxc"
   */
  stream?: "Libxc" | "Libxl" | "any";
  /** Most blob chunks (Varstored, Swtpm, Swtpm0, Qemu_trad, Qemu_xen, Demu) drawn. @defaultValue 3 */
  maxBlobs?: number;
}

const BLOB_TYPES: readonly XenopsdChunkName[] = ["Varstored", "Swtpm", "Swtpm0", "Qemu_trad", "Qemu_xen", "Demu"];

function blob(type: XenopsdChunkName, body: Uint8Array): XenopsdChunk {
  return { type, length: BigInt(body.length), body };
}

/**
 * A Xenops record as xenopsd writes it (time, word_size 64, vm_str, an empty xs_subtree).
 *
 * @returns a fast-check arbitrary of records
 */
export function xenopsRecordArbitrary(): fc.Arbitrary<XenopsRecord> {
  return fc
    .record({
      date: fc.integer({ min: 0, max: 4_000_000_000 }),
      wordSize: fc.constantFrom(64, 32),
      vmStr: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      subtree: fc.array(fc.tuple(fc.stringMatching(/^[a-z/]{1,8}$/), fc.string({ maxLength: 8 })), { maxLength: 3 }),
    })
    .map(({ date, wordSize, vmStr, subtree }) => {
      const time = new Date(date * 1000).toISOString().replace(/[-]/g, "").replace(/\.\d{3}/, "");
      const record: XenopsRecord = { time, wordSize, xsSubtree: subtree };
      if (vmStr !== undefined) record.vmStr = vmStr;
      return record;
    });
}

/**
 * A structured xenopsd suspend image ("XenSavedDomv2-\n"): a Xenops
 * record, blob chunks before and after, the stream chunk (length 0) with
 * its stream, and the End_of_image footer, as xenopsd's suspend writes it.
 *
 * @param constraints - as {@link libxlStream}, plus the stream chunk and blob count
 * @returns an arbitrary of `{ value, bytes }`
 * @throws RangeError at once for a bad constraint
 */
export function xenopsdSuspendImage(constraints: XenopsdImageConstraints = {}): fc.Arbitrary<Encoded<SaveFile>> {
  const { stream = "Libxc", maxBlobs = 3, ...streamConstraints } = constraints;
  if (stream !== "Libxc" && stream !== "Libxl" && stream !== "any") invalid("xenopsdSuspendImage", `stream must be "Libxc", "Libxl" or "any", got ${String(stream)}`);
  if (!Number.isInteger(maxBlobs) || maxBlobs < 0 || maxBlobs > 16) invalid("xenopsdSuspendImage", `maxBlobs must be an integer in 0..16, got ${String(maxBlobs)}`);
  const blobArb = fc.tuple(fc.constantFrom(...BLOB_TYPES), smallBytes(1, 48)).map(([type, body]) => blob(type, body));
  const payload: fc.Arbitrary<{ format: "libxc" | "libxl"; value: SaveFile["stream"] }> =
    stream === "Libxl"
      ? libxlStream(streamConstraints).map((s) => ({ format: "libxl" as const, value: s.value }))
      : stream === "Libxc"
        ? libxcStream(streamConstraints).map((s) => ({ format: "libxc" as const, value: s.value }))
        : fc.oneof(
            libxcStream(streamConstraints).map((s) => ({ format: "libxc" as const, value: s.value })),
            libxlStream(streamConstraints).map((s) => ({ format: "libxl" as const, value: s.value })),
          );
  return fc
    .record({
      record: xenopsRecordArbitrary(),
      before: fc.array(blobArb, { maxLength: Math.min(maxBlobs, 1) }),
      after: fc.array(blobArb, { maxLength: maxBlobs }),
      payload,
    })
    .map(({ record, before, after, payload: inner }) => {
      const body = encodeXenopsRecord(record);
      const chunks: XenopsdChunk[] = [
        { type: "Xenops", length: BigInt(body.length), body },
        ...before,
        { type: inner.format === "libxl" ? "Libxl" : "Libxc", length: 0n },
        ...after,
        { type: "End_of_image", length: 0n },
      ];
      const container = { kind: "xenopsd" as const, layout: "structured" as const, chunks, streamChunk: 1 + before.length };
      const value = (inner.format === "libxl"
        ? { format: "libxl", container, stream: inner.value }
        : { format: "libxc", container, stream: inner.value }) as SaveFile;
      return { value, bytes: encodeSaveFile(value) };
    });
}

/** Constraints of {@link legacyContainerImage}. */
export interface LegacyContainerConstraints {
  /** The container: libvirt version 1, xenopsd Libxc_legacy, xenopsd legacy layout, or any. @defaultValue "any" */
  container?: "libvirt" | "xenopsd-chunk" | "xenopsd-legacy" | "any";
  /** Most pages of data in the legacy stream. @defaultValue 8 */
  maxPages?: number;
}

/**
 * A container around a legacy (Xen <= 4.5) stream: libvirt version 1,
 * a structured xenopsd image with a Libxc_legacy chunk, or xenopsd's legacy
 * layout ("XenSavedDomain\n", PV guests: no QEMU record).
 *
 * @param constraints - which container, stream size
 * @returns an arbitrary of `{ value, bytes }`
 * @throws RangeError at once for a bad constraint
 */
export function legacyContainerImage(constraints: LegacyContainerConstraints = {}): fc.Arbitrary<Encoded<AnySaveFile>> {
  const which = constraints.container ?? "any";
  if (!["libvirt", "xenopsd-chunk", "xenopsd-legacy", "any"].includes(which)) {
    invalid("legacyContainerImage", `container must be libvirt, xenopsd-chunk, xenopsd-legacy or any, got ${String(which)}`);
  }
  const kinds = which === "any" ? (["libvirt", "xenopsd-chunk", "xenopsd-legacy"] as const) : ([which] as const);
  return fc
    .constantFrom(...kinds)
    .chain((kind) =>
      fc.record({
        kind: fc.constant(kind),
        legacy: legacyStream({ maxPages: constraints.maxPages ?? 8, ...(kind === "xenopsd-legacy" ? { guest: "pv" as const } : {}) }),
        header: libvirtHeader(false, true),
        record: xenopsRecordArbitrary(),
      }),
    )
    .map(({ kind, legacy, header, record }) => {
      let value: LegacySaveFile;
      if (kind === "libvirt") value = { format: "legacy", container: { kind: "libvirt", header }, bytes: legacy.bytes, convertsTo: "libxl" };
      else if (kind === "xenopsd-legacy") value = { format: "legacy", container: { kind: "xenopsd", layout: "legacy" }, bytes: legacy.bytes, convertsTo: "libxc" };
      else {
        const body = encodeXenopsRecord(record);
        value = {
          format: "legacy",
          container: {
            kind: "xenopsd",
            layout: "structured",
            chunks: [{ type: "Xenops", length: BigInt(body.length), body }, { type: "Libxc_legacy", length: 0n }, { type: "End_of_image", length: 0n }],
            streamChunk: 1,
          },
          bytes: legacy.bytes,
          convertsTo: "libxc",
        };
      }
      return { value, bytes: encodeSaveFile(value) };
    });
}
