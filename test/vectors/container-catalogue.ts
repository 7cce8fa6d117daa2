/**
 * The container vectors of spec-vectors/libvirt/ and spec-vectors/xenopsd/:
 * libvirt's libxl-driver save image and XAPI/xenopsd suspend images (both
 * signatures, every chunk type), built byte by byte from the sources'
 * layouts with the independent byte layer of ./spec-bytes.ts (never with
 * the library), listed in spec-vectors/container-manifest.json.
 *
 * Sources (see guides/container-libvirt.md and guides/container-xapi.md for
 * the line-by-line account):
 * - libvirt src/libxl/libxl_conf.h (`LIBXL_SAVE_MAGIC`,
 *   `LIBXL_SAVE_VERSION`, `struct _libxlSavefileHeader`: magic[16],
 *   version u32, xmlLen u32, unused[10] u32), src/libxl/libxl_domain.c
 *   `libxlDomainSaveImageOpen` (the reader's checks), src/libxl/libxl_driver.c
 *   `libxlDoDomainSave` (the writer);
 * - xen-api ocaml/xenopsd/lib/suspend_image.ml (`save_signature`,
 *   `legacy_save_signature`, `header_type_of_int64`, `read_header` /
 *   `write_header`: type and length as little-endian int64,
 *   `legacy_qemu_save_signature` with a big-endian int32 length,
 *   `Xenops_record`), ocaml/xenopsd/xc/domain.ml `suspend` (the writer:
 *   Xenops, then `write_header main_fd (Libxc, 0L)`, Qemu_trad, then
 *   `End_of_image, 0L`) and `restore_common` (the reader).
 *
 * Valid vectors carry a value file (the AnySaveFile in the JSON form of
 * test/helpers/vector-json.ts); invalid ones an error code and an offset
 * computed here from the layout, never by running the decoder. A legacy
 * stream inside a container is one of the legacy converter's hand-built
 * inputs (test/legacy/vectors.ts), kept as bytes.
 *
 * @module
 */
import type { AnySaveFile, LibxcRecord, LibxcStream, LibxlStream, SaveFile, SaveFileContainer } from "../../src/index.js";
import { fromHexString, jsonText, saveFileFromJson, valueToJson, type Json } from "../helpers/vector-json.js";
import { hvmParts, pvVector } from "../legacy/vectors.js";
import { ascii, asciiz, cat, fillBytes, libxcStreamBytes, libxlStreamBytes, u32, u64, walkSaveFile, zeros } from "./spec-bytes.js";

// ------------------------------------------------------------------ model

/** The container a vector's file starts with (the decoder's `format` option). */
export type ContainerLayer = "libvirt" | "xenopsd";

/** The decoder's verdict: valid, or an error code at an absolute offset. */
export type ContainerExpect = "valid" | { code: string; offset: number };

/** One entry of spec-vectors/container-manifest.json. */
export interface ContainerManifestEntry {
  name: string;
  file: string;
  value?: string;
  layer: ContainerLayer;
  options: { maxRecordLength?: number };
  expect: ContainerExpect;
  source: "generated";
  description: string;
  /** Where the layout rule comes from (source file and symbol, guide section). */
  spec: string[];
}

/** The container manifest. */
export interface ContainerManifest {
  suite: string;
  version: number;
  vectors: ContainerManifestEntry[];
}

interface Def {
  name: string;
  layer: ContainerLayer;
  description: string;
  spec: string[];
  bytes: Uint8Array;
  /** Valid vectors: the value, and where the stream inside lies (for the walker's self-check). */
  value?: AnySaveFile;
  stream?: { at: number; length: number; layer: "libxl" | "libxc" | "legacy" };
  expect?: { code: string; offset: number };
}

const defs: Def[] = [];
const LE = true;
const BE = false;

const LIBVIRT_CONF = "libvirt src/libxl/libxl_conf.h struct _libxlSavefileHeader";
const LIBVIRT_OPEN = "libvirt src/libxl/libxl_domain.c libxlDomainSaveImageOpen";
const LIBVIRT_SAVE = "libvirt src/libxl/libxl_driver.c libxlDoDomainSave";
const SUSPEND_IMAGE = "xen-api ocaml/xenopsd/lib/suspend_image.ml";
const DOMAIN_SUSPEND = "xen-api ocaml/xenopsd/xc/domain.ml suspend";
const DOMAIN_RESTORE = "xen-api ocaml/xenopsd/xc/domain.ml restore_common";
const GUIDE_LIBVIRT = "guides/container-libvirt.md";
const GUIDE_XAPI = "guides/container-xapi.md";

// ------------------------------------------------------------- the streams

const SDE: LibxcRecord = { type: "STATIC_DATA_END" };
const END: LibxcRecord = { type: "END" };
const tsc: LibxcRecord = { type: "X86_TSC_INFO", mode: 0, khz: 2599998, nsec: 1_000_000n, incarnation: 1, reserved: 0 };
const page: LibxcRecord = { type: "PAGE_DATA", reserved: 0, entries: [{ pfn: 0, type: 0, reserved: 0 }], pages: fillBytes({ kind: "mod251", seed: 901 }, 4096) };
const hvmContext: LibxcRecord = { type: "HVM_CONTEXT", data: fillBytes({ kind: "mod251", seed: 902 }, 40) };

/** A small HVM libxc v3 stream (what xenopsd's Libxc chunk carries). */
const HVM_LIBXC: LibxcStream = {
  imageHeader: { version: 3, options: 0, reserved1: 0, reserved2: 0 },
  domainHeader: { type: 2, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 },
  records: [SDE, page, tsc, hvmContext, END],
};
/** The same guest as libxl writes it (what libvirt's version 2 image carries). */
const HVM_LIBXL: LibxlStream = {
  header: { version: 2, options: 0 },
  items: [{ type: "LIBXC_CONTEXT" }, { type: "LIBXC_STREAM", stream: HVM_LIBXC }, { type: "EMULATOR_CONTEXT", emulatorId: 2, index: 0, data: fillBytes({ kind: "mod251", seed: 903 }, 24) }, { type: "END" }],
};
const LIBXC_BYTES = libxcStreamBytes(HVM_LIBXC);
const LIBXL_BYTES = libxlStreamBytes(HVM_LIBXL);

// Legacy (Xen <= 4.5) streams: the converter tests' hand-built inputs.
/** A 64-bit PV legacy stream as libxl wrote it (libvirt version 1). */
const LEGACY_PV_LIBXL = pvVector(64, 8, "libxl").input;
/**
 * A PV legacy stream of a 32-bit toolstack as xenguest wrote it (xenopsd's
 * legacy layout, Libxc_legacy): XenServer's dom0 was 32-bit, and xenopsd
 * runs convert-legacy-stream on these images with `--width 32`
 * (suspend_image.ml `with_conversion_script`).
 */
const LEGACY_PV_LIBXC = pvVector(32, 4, "libxc").input;
/** An HVM legacy stream of a 32-bit toolstack without any QEMU record (the legacy layout's QEMU record follows it). */
const LEGACY_HVM_BODY = hvmParts(32).body;
/** The same with libxc's own "DeviceModelRecord0002" QEMU tail (what a Libxc_legacy chunk carries for HVM). */
const LEGACY_HVM_WITH_QEMU = cat(hvmParts(32).body, hvmParts(32).qemuRecord);

// ------------------------------------------------------------ libvirt bytes

/** `LIBXL_SAVE_MAGIC` without its C terminator. */
const LIBVIRT_MAGIC = cat(ascii("libvirt-xml\n "), zeros(1), ascii(" \r"));
const DOMAIN_XML = asciiz("<domain type='xen'>\n  <name>vec-hvm</name>\n  <memory unit='KiB'>131072</memory>\n</domain>\n");

function libvirtHeader(version: number, xml: Uint8Array, le = LE, unused: number[] = new Array<number>(10).fill(0), xmlLen = xml.length): Uint8Array {
  return cat(LIBVIRT_MAGIC, u32(version, le), u32(xmlLen, le), ...unused.map((word) => u32(word, le)), xml);
}

function libvirtValue(version: number, xml: Uint8Array, byteOrder: "little" | "big" = "little", unused: number[] = new Array<number>(10).fill(0)): SaveFileContainer {
  return { kind: "libvirt", header: { byteOrder, version, xml, unused } };
}

function validLibvirt(name: string, description: string, spec: string[], header: Uint8Array, container: SaveFileContainer, inner: "libxl" | "legacy", streamBytes: Uint8Array): void {
  const value: AnySaveFile =
    inner === "libxl" ? { format: "libxl", container, stream: HVM_LIBXL } : { format: "legacy", container, bytes: streamBytes, convertsTo: "libxl" };
  defs.push({ name, layer: "libvirt", description, spec, bytes: cat(header, streamBytes), value, stream: { at: header.length, length: streamBytes.length, layer: inner } });
}

function invalid(name: string, layer: ContainerLayer, description: string, spec: string[], bytes: Uint8Array, code: string, offset: number): void {
  defs.push({ name, layer, description, spec, bytes, expect: { code, offset } });
}

// ========================================================== libvirt: valid

{
  const head = libvirtHeader(2, DOMAIN_XML);
  validLibvirt("libvirt/valid/v2-libxl-hvm", "libvirt's save image of an HVM guest: version 2, the domain XML with its NUL (xmlLen = strlen + 1), a libxl v2 stream.", [LIBVIRT_CONF, LIBVIRT_SAVE, `${GUIDE_LIBVIRT} §1, §2`], head, libvirtValue(2, DOMAIN_XML), "libxl", LIBXL_BYTES);
  const bigHead = libvirtHeader(2, DOMAIN_XML, BE);
  validLibvirt("libvirt/valid/v2-big-endian-host", "The header written on a big-endian host: libvirt writes the struct as it sits in memory, so version and xmlLen are big-endian.", [LIBVIRT_SAVE, `${GUIDE_LIBVIRT} §1`], bigHead, libvirtValue(2, DOMAIN_XML, "big"), "libxl", LIBXL_BYTES);
  const v1 = libvirtHeader(1, DOMAIN_XML);
  validLibvirt("libvirt/valid/v1-legacy-pv", "Version 1: a legacy (Xen <= 4.5) libxl stream of a 64-bit PV guest follows (libvirt without LIBXL_HAVE_SRM_V2); kept as bytes, converted with --format libxl.", [LIBVIRT_CONF, LIBVIRT_OPEN, `${GUIDE_LIBVIRT} §3`], v1, libvirtValue(1, DOMAIN_XML), "legacy", LEGACY_PV_LIBXL);
  const v0 = libvirtHeader(0, DOMAIN_XML);
  validLibvirt("libvirt/tolerated/v0-libxl", "Version 0: libvirt only refuses versions above 2, and libxl treats only stream version 1 as legacy, so a v2 stream is read.", [LIBVIRT_OPEN, `${GUIDE_LIBVIRT} §3`], v0, libvirtValue(0, DOMAIN_XML), "libxl", LIBXL_BYTES);
  const unused = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0xdeadbeef];
  const odd = libvirtHeader(2, DOMAIN_XML, LE, unused);
  validLibvirt("libvirt/tolerated/unused-nonzero", "Non-zero unused words (libvirt writes zeros and never reads them): kept as found.", [LIBVIRT_CONF, `${GUIDE_LIBVIRT} §1`], odd, libvirtValue(2, DOMAIN_XML, "little", unused), "libxl", LIBXL_BYTES);
  const noNul = ascii("<domain type='xen'><name>no-nul</name></domain>");
  const noNulHead = libvirtHeader(2, noNul);
  validLibvirt("libvirt/tolerated/xml-without-nul", "xmlLen bytes of XML without the terminating NUL libvirt writes: the framing holds (the decoder keeps the bytes), but libvirt's reader hands a buffer of xmlLen bytes with no terminator to virDomainDefParseString, so the verifier reports an error.", [LIBVIRT_OPEN, `${GUIDE_LIBVIRT} §2`], noNulHead, libvirtValue(2, noNul), "libxl", LIBXL_BYTES);
}

// ======================================================== libvirt: invalid

{
  const head = libvirtHeader(2, DOMAIN_XML);
  const good = cat(head, LIBXL_BYTES);
  const poke = (at: number, byte: number): Uint8Array => {
    const out = good.slice();
    out[at] = byte;
    return out;
  };
  const spec = [LIBVIRT_OPEN, `${GUIDE_LIBVIRT} §1`];
  invalid("libvirt/invalid/bad-magic-nul", "libvirt", "The magic's NUL (byte 13) turned into a space: libvirt compares all 16 bytes.", spec, poke(13, 0x20), "BAD_MAGIC", 13);
  invalid("libvirt/invalid/bad-magic-cr", "libvirt", "The magic ending in LF instead of CR (a text-mode copy).", spec, poke(15, 0x0a), "BAD_MAGIC", 15);
  invalid("libvirt/invalid/version-3", "libvirt", "Version 3: above LIBXL_SAVE_VERSION (2), \"image version is not supported\" (in either byte order).", spec, cat(libvirtHeader(3, DOMAIN_XML), LIBXL_BYTES), "BAD_VERSION", 16);
  invalid("libvirt/invalid/xml-length-0", "libvirt", "xmlLen 0: \"invalid XML length\".", spec, cat(libvirtHeader(2, new Uint8Array(0)), LIBXL_BYTES), "BAD_LENGTH", 20);
  invalid("libvirt/invalid/xml-length-too-large", "libvirt", "xmlLen above the 128 MiB record limit: refused before the XML is read.", spec, libvirtHeader(2, new Uint8Array(0), LE, undefined, 0x08000001), "RECORD_TOO_LARGE", 20);
  invalid("libvirt/invalid/truncated-header", "libvirt", "Stops 40 bytes into the 64-byte header.", spec, good.subarray(0, 40), "TRUNCATED", 40);
  invalid("libvirt/invalid/truncated-xml", "libvirt", "Stops inside the XML.", spec, good.subarray(0, 64 + 10), "TRUNCATED", 74);
  invalid("libvirt/invalid/header-only", "libvirt", "The header and XML, no stream.", spec, head, "TRUNCATED", head.length);
  invalid("libvirt/invalid/truncated-stream", "libvirt", "Stops inside the libxl stream.", spec, good.subarray(0, head.length + 20), "TRUNCATED", head.length + 20);
  invalid("libvirt/invalid/v2-with-libxc-stream", "libvirt", "Version 2 followed by a bare libxc stream: libxl's restore checks for the libxl ident first.", [LIBVIRT_CONF, `${GUIDE_LIBVIRT} §3`], cat(head, LIBXC_BYTES), "BAD_MAGIC", head.length);
  invalid("libvirt/invalid/trailing-data", "libvirt", "Bytes after the libxl END: nothing follows the stream in libvirt's image.", spec, cat(good, ascii("junk")), "TRAILING_DATA", good.length);
}

// ----------------------------------------------------------- xenopsd bytes

const SIGNATURE = ascii("XenSavedDomv2-\n");
const LEGACY_SIGNATURE = ascii("XenSavedDomain\n");
const CHUNK = {
  Xenops: 0x000f,
  Libxc: 0x00f0,
  Libxl: 0x00f1,
  Libxc_legacy: 0x00f2,
  Qemu_trad: 0x0f00,
  Qemu_xen: 0x0f01,
  Demu: 0x0f10,
  Varstored: 0x0f11,
  Swtpm0: 0x0f12,
  Swtpm: 0x0f13,
  End_of_image: 0xffff,
} as const;
type ChunkName = keyof typeof CHUNK;

/** A chunk header: type and length, little-endian int64s (`write_header`). */
const header = (type: ChunkName | number, length: number | bigint): Uint8Array => cat(u64(typeof type === "number" ? type : CHUNK[type], LE), u64(length, LE));
const RECORD_TEXT = "((time 20261203T07:00:00Z)(word_size 64)(vm_str \"((uuid 5a1c)(name vec-hvm))\")(xs_subtree()))";
const RECORD = ascii(RECORD_TEXT);
const blob = (seed: number, length: number): Uint8Array => fillBytes({ kind: "mod251", seed }, length);

/** One part of a structured image: a chunk and, for a stream chunk, the stream after it. */
interface Part {
  type: ChunkName;
  length?: bigint;
  body?: Uint8Array;
  stream?: { bytes: Uint8Array; layer: "libxl" | "libxc" | "legacy" };
}

function validXenopsd(name: string, description: string, spec: string[], parts: Part[]): void {
  const bytes: Uint8Array[] = [SIGNATURE];
  const chunks: Array<{ type: ChunkName; length: bigint; body?: Uint8Array }> = [];
  let at = SIGNATURE.length;
  let stream: Def["stream"];
  let streamChunk = -1;
  for (const part of parts) {
    const length = part.length ?? BigInt(part.body?.length ?? 0);
    bytes.push(header(part.type, length));
    at += 16;
    chunks.push(part.body === undefined ? { type: part.type, length } : { type: part.type, length, body: part.body });
    if (part.body !== undefined) {
      bytes.push(part.body);
      at += part.body.length;
    }
    if (part.stream !== undefined) {
      stream = { at, length: part.stream.bytes.length, layer: part.stream.layer };
      streamChunk = chunks.length - 1;
      bytes.push(part.stream.bytes);
      at += part.stream.bytes.length;
    }
  }
  if (stream === undefined) throw new Error(`${name}: no stream chunk`);
  const container = { kind: "xenopsd" as const, layout: "structured" as const, chunks, streamChunk };
  const inner = parts[streamChunk]?.stream as NonNullable<Part["stream"]>;
  const value: AnySaveFile =
    inner.layer === "legacy"
      ? { format: "legacy", container, bytes: inner.bytes, convertsTo: "libxc" }
      : inner.layer === "libxl"
        ? { format: "libxl", container, stream: HVM_LIBXL }
        : { format: "libxc", container, stream: HVM_LIBXC };
  defs.push({ name, layer: "xenopsd", description, spec, bytes: cat(...bytes), value, stream });
}

// ========================================================== xenopsd: valid

const xenops: Part = { type: "Xenops", body: RECORD };
const libxc: Part = { type: "Libxc", length: 0n, stream: { bytes: LIBXC_BYTES, layer: "libxc" } };
const end: Part = { type: "End_of_image", length: 0n };
const SPEC_CHUNKS = [`${SUSPEND_IMAGE} header_type_of_int64, read_header`, `${GUIDE_XAPI} §2, §3`];

validXenopsd("xenopsd/valid/hvm-libxc-qemu-trad", "What xenopsd's suspend writes for an HVM guest: the signature, the Xenops record, a Libxc chunk of length 0 with the libxc stream after it, the Qemu_trad record, End_of_image of length 0.",
  [DOMAIN_SUSPEND, ...SPEC_CHUNKS, `${GUIDE_XAPI} §4`], [xenops, libxc, { type: "Qemu_trad", body: blob(911, 300) }, end]);
validXenopsd("xenopsd/valid/libxc-only", "Xenops, Libxc and End_of_image only: the layout of a PV guest's image (suspend writes Qemu_trad for HVM guests only).", [DOMAIN_SUSPEND, ...SPEC_CHUNKS], [xenops, libxc, end]);
validXenopsd("xenopsd/valid/uefi-vtpm", "A UEFI guest with a vTPM: Varstored and Swtpm records after the memory image, then Qemu_trad.",
  [DOMAIN_SUSPEND, ...SPEC_CHUNKS], [xenops, libxc, { type: "Varstored", body: blob(921, 64) }, { type: "Swtpm", body: blob(922, 48) }, { type: "Qemu_trad", body: blob(923, 100) }, end]);
validXenopsd("xenopsd/valid/every-blob-chunk", "Every blob chunk type once, each an opaque body of its length: Qemu_trad, Qemu_xen, Demu (non-zero length), Varstored, Swtpm0, Swtpm. (restore refuses Qemu_xen; the framing is what is tested.)",
  [...SPEC_CHUNKS, DOMAIN_RESTORE], [
    xenops, libxc,
    { type: "Qemu_trad", body: blob(931, 17) }, { type: "Qemu_xen", body: blob(932, 9) }, { type: "Demu", body: blob(933, 5) },
    { type: "Varstored", body: blob(934, 1) }, { type: "Swtpm0", body: blob(935, 33) }, { type: "Swtpm", body: blob(936, 2) }, end,
  ]);
validXenopsd("xenopsd/valid/libxl-chunk", "A Libxl chunk (0x00f1, defined but never written by xenopsd; restore refuses it) of length 0 with a libxl v2 stream after it, ending at its END.",
  [`${SUSPEND_IMAGE} header_type_of_int64`, `${GUIDE_XAPI} §3`], [xenops, { type: "Libxl", length: 0n, stream: { bytes: LIBXL_BYTES, layer: "libxl" } }, end]);
validXenopsd("xenopsd/valid/libxc-legacy-pv", "A Libxc_legacy chunk (xenopsd of 2014-2015 on a pre-4.5 libxc) of length 0, a legacy PV libxc stream of a 32-bit toolstack after it.",
  [`${SUSPEND_IMAGE} header_type_of_int64`, `${GUIDE_XAPI} §3, §6`], [xenops, { type: "Libxc_legacy", length: 0n, stream: { bytes: LEGACY_PV_LIBXC, layer: "legacy" } }, end]);
validXenopsd("xenopsd/valid/libxc-legacy-hvm", "A Libxc_legacy chunk with a legacy HVM stream and libxc's own \"DeviceModelRecord0002\" QEMU record (little-endian length) inside it.",
  [`${SUSPEND_IMAGE} write_qemu_header_for_legacy_libxc`, `${GUIDE_XAPI} §6`], [xenops, { type: "Libxc_legacy", length: 0n, stream: { bytes: LEGACY_HVM_WITH_QEMU, layer: "legacy" } }, end]);
validXenopsd("xenopsd/valid/no-xenops-record", "No Xenops record: restore does not require one (the verifier warns); Libxc and End_of_image only.", [DOMAIN_RESTORE, `${GUIDE_XAPI} §3`], [libxc, end]);
validXenopsd("xenopsd/tolerated/stream-chunk-length", "A Libxc chunk whose length field is not 0: xenopsd writes 0 and restore never reads it (the stream ends at its END); kept as found.",
  [DOMAIN_SUSPEND, `${GUIDE_XAPI} §3`], [xenops, { ...libxc, length: 123456n }, end]);
validXenopsd("xenopsd/tolerated/footer-length", "An End_of_image footer with a non-zero length: restore stops at the type and never reads the length; kept as found.",
  [DOMAIN_RESTORE, `${GUIDE_XAPI} §3`], [xenops, libxc, { type: "End_of_image", length: 7n }]);

/** The legacy layout: signature, a legacy libxc stream, and for HVM the QEMU record with its big-endian length. */
function validLegacyLayout(name: string, description: string, spec: string[], legacy: Uint8Array, qemu: Uint8Array | undefined): void {
  const tail = qemu === undefined ? new Uint8Array(0) : cat(ascii("QemuDeviceModelRecord\n"), u32(qemu.length, BE), qemu);
  const container = qemu === undefined ? { kind: "xenopsd" as const, layout: "legacy" as const } : { kind: "xenopsd" as const, layout: "legacy" as const, qemu: { body: qemu } };
  defs.push({
    name, layer: "xenopsd", description, spec,
    bytes: cat(LEGACY_SIGNATURE, legacy, tail),
    value: { format: "legacy", container, bytes: legacy, convertsTo: "libxc" },
    stream: { at: LEGACY_SIGNATURE.length, length: legacy.length, layer: "legacy" },
  });
}

const SPEC_LEGACY = [`${SUSPEND_IMAGE} legacy_save_signature, legacy_qemu_save_signature, read_legacy_qemu_header`, `${GUIDE_XAPI} §5`];
validLegacyLayout("xenopsd/valid/legacy-layout-pv", "The pre-2014 layout of a PV guest: \"XenSavedDomain\\n\" and a legacy libxc stream of a 32-bit toolstack (xenopsd converts it with --width 32); no Xenops record, no footer.", SPEC_LEGACY, LEGACY_PV_LIBXC, undefined);
validLegacyLayout("xenopsd/valid/legacy-layout-hvm", "The pre-2014 layout of an HVM guest: the legacy libxc stream, then \"QemuDeviceModelRecord\\n\", a big-endian u32 length and the QEMU state.", SPEC_LEGACY, LEGACY_HVM_BODY, blob(941, 21));

// ======================================================== xenopsd: invalid

{
  const good = cat(SIGNATURE, header("Xenops", RECORD.length), RECORD, header("Libxc", 0), LIBXC_BYTES, header("End_of_image", 0));
  const afterRecord = 15 + 16 + RECORD.length; // the Libxc chunk
  const afterStream = afterRecord + 16 + LIBXC_BYTES.length; // the footer
  const spec = SPEC_CHUNKS;
  const withChunk = (chunk: Uint8Array): Uint8Array => cat(good.subarray(0, afterStream), chunk, header("End_of_image", 0));
  invalid("xenopsd/invalid/bad-signature", "xenopsd", "\"XenSavedDomv3-\\n\": neither signature (\"Not a valid signature\").", [`${SUSPEND_IMAGE} read_save_signature`, `${GUIDE_XAPI} §1`], cat(ascii("XenSavedDomv3-\n"), good.subarray(15)), "BAD_MAGIC", 0);
  invalid("xenopsd/invalid/truncated-signature", "xenopsd", "Stops 10 bytes into the 15-byte signature.", [`${SUSPEND_IMAGE} read_save_signature`], good.subarray(0, 10), "TRUNCATED", 10);
  invalid("xenopsd/invalid/signature-only", "xenopsd", "The signature and nothing else: no chunk, no footer.", spec, SIGNATURE, "TRUNCATED", 15);
  invalid("xenopsd/invalid/truncated-chunk-header", "xenopsd", "Stops 8 bytes into the first chunk header.", spec, good.subarray(0, 23), "TRUNCATED", 23);
  invalid("xenopsd/invalid/truncated-xenops-record", "xenopsd", "Stops inside the Xenops record.", spec, good.subarray(0, 31 + 20), "TRUNCATED", 51);
  invalid("xenopsd/invalid/unknown-chunk-type", "xenopsd", "Chunk type 0x000e: header_type_of_int64 fails (Invalid_header_type).", [`${SUSPEND_IMAGE} header_type_of_int64`, `${GUIDE_XAPI} §2`], withChunk(header(0x000e, 0)), "UNKNOWN_RECORD", afterStream);
  invalid("xenopsd/invalid/chunk-type-high-bits", "xenopsd", "Chunk type 0x1_0000_000f: the whole int64 names the type, so a high bit makes it unknown.", [`${SUSPEND_IMAGE} header_type_of_int64`], cat(SIGNATURE, u64(0x1_0000_000fn, LE), u64(RECORD.length, LE), RECORD), "UNKNOWN_RECORD", 15);
  invalid("xenopsd/invalid/demu-length-0", "xenopsd", "A Demu chunk of length 0, as written to the vGPU fd: the vGPU state after it is emu-manager's and not self-delimiting.", [DOMAIN_SUSPEND, `${GUIDE_XAPI} §3`], withChunk(header("Demu", 0)), "UNSUPPORTED", afterStream);
  invalid("xenopsd/invalid/blob-too-large", "xenopsd", "A Qemu_trad length above the 128 MiB record limit: refused before the body is read.", spec, withChunk(header("Qemu_trad", 0x08000001)), "RECORD_TOO_LARGE", afterStream + 8);
  invalid("xenopsd/invalid/truncated-blob", "xenopsd", "A Varstored record of 64 bytes cut after 10.", spec, cat(good.subarray(0, afterStream), header("Varstored", 64), blob(951, 10)), "TRUNCATED", afterStream + 26);
  invalid("xenopsd/invalid/truncated-stream", "xenopsd", "Stops inside the libxc stream.", spec, good.subarray(0, afterRecord + 16 + 30), "TRUNCATED", afterRecord + 46);
  invalid("xenopsd/invalid/no-footer", "xenopsd", "The image ends after the libxc stream: no End_of_image.", [DOMAIN_SUSPEND, `${GUIDE_XAPI} §3`], good.subarray(0, afterStream), "TRUNCATED", afterStream);
  invalid("xenopsd/invalid/trailing-data", "xenopsd", "Bytes after End_of_image: restore stops at the footer.", [DOMAIN_RESTORE, `${GUIDE_XAPI} §3`], cat(good, ascii("junk")), "TRAILING_DATA", good.length);
  invalid("xenopsd/invalid/libxc-chunk-with-libxl-stream", "xenopsd", "A Libxc chunk followed by a libxl stream: the libxc image header's marker is not there.", [`${GUIDE_XAPI} §3`], cat(good.subarray(0, afterRecord), header("Libxc", 0), LIBXL_BYTES, header("End_of_image", 0)), "BAD_MAGIC", afterRecord + 16);
  const legacyGood = cat(LEGACY_SIGNATURE, LEGACY_HVM_BODY);
  const qemuAt = legacyGood.length;
  invalid("xenopsd/invalid/legacy-qemu-signature", "xenopsd", "The legacy layout with \"DeviceModelRecord0002\" (libxc's own QEMU record) where xenopsd reads \"QemuDeviceModelRecord\\n\".", SPEC_LEGACY, cat(legacyGood, hvmParts(32).qemuRecord), "BAD_MAGIC", qemuAt);
  invalid("xenopsd/invalid/legacy-qemu-too-large", "xenopsd", "The legacy QEMU record's big-endian length above the 128 MiB limit.", SPEC_LEGACY, cat(legacyGood, ascii("QemuDeviceModelRecord\n"), u32(0x08000001, BE)), "RECORD_TOO_LARGE", qemuAt + 22);
  invalid("xenopsd/invalid/legacy-qemu-truncated", "xenopsd", "The legacy QEMU record cut 5 bytes into its 21-byte state.", SPEC_LEGACY, cat(legacyGood, ascii("QemuDeviceModelRecord\n"), u32(21, BE), blob(961, 5)), "TRUNCATED", qemuAt + 26 + 5);
}

// ------------------------------------------------------------------ walker

/** Reads the container framing back from the bytes alone (the generator's self-check). */
function walkContainer(def: Def): AnySaveFile {
  const { bytes } = def;
  const stream = def.stream as NonNullable<Def["stream"]>;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const inner = bytes.subarray(stream.at, stream.at + stream.length);
  const streamValue = (convertsTo: "libxl" | "libxc", container: SaveFileContainer): AnySaveFile => {
    if (stream.layer === "legacy") return { format: "legacy", container, bytes: inner, convertsTo };
    const walked = walkSaveFile(inner, stream.layer);
    return walked.format === "libxl" ? { format: "libxl", container, stream: walked.stream } : { format: "libxc", container, stream: walked.stream };
  };
  if (def.layer === "libvirt") {
    const big = view.getUint32(16, true) > 2;
    const le = !big;
    const version = view.getUint32(16, le);
    const xmlLen = view.getUint32(20, le);
    const unused = Array.from({ length: 10 }, (_, i) => view.getUint32(24 + 4 * i, le));
    if (64 + xmlLen !== stream.at || stream.at + stream.length !== bytes.length) throw new Error(`${def.name}: libvirt layout does not add up`);
    return streamValue("libxl", { kind: "libvirt", header: { byteOrder: big ? "big" : "little", version, xml: bytes.subarray(64, 64 + xmlLen), unused } });
  }
  const signature = String.fromCharCode(...bytes.subarray(0, 15));
  if (signature === "XenSavedDomain\n") {
    const rest = bytes.subarray(stream.at + stream.length);
    const container = rest.length === 0 ? { kind: "xenopsd" as const, layout: "legacy" as const } : { kind: "xenopsd" as const, layout: "legacy" as const, qemu: { body: rest.subarray(26, 26 + view.getUint32(stream.at + stream.length + 22, false)) } };
    return streamValue("libxc", container);
  }
  const names = new Map<number, ChunkName>(Object.entries(CHUNK).map(([name, id]): [number, ChunkName] => [id, name as ChunkName]));
  const chunks: Array<{ type: ChunkName; length: bigint; body?: Uint8Array }> = [];
  let at = 15;
  let streamChunk = -1;
  while (at < bytes.length) {
    const type = names.get(Number(view.getBigUint64(at, true)));
    const length = view.getBigUint64(at + 8, true);
    if (type === undefined) throw new Error(`${def.name}: unknown chunk at ${at}`);
    at += 16;
    if (type === "Libxc" || type === "Libxl" || type === "Libxc_legacy") {
      if (at !== stream.at) throw new Error(`${def.name}: the stream is not after chunk ${chunks.length}`);
      chunks.push({ type, length });
      streamChunk = chunks.length - 1;
      at += stream.length;
    } else if (type === "End_of_image") {
      chunks.push({ type, length });
    } else {
      chunks.push({ type, length, body: bytes.subarray(at, at + Number(length)) });
      at += Number(length);
    }
  }
  return streamValue("libxc", { kind: "xenopsd", layout: "structured", chunks, streamChunk });
}

// ------------------------------------------------------------- JSON inverse

/** Rebuilds a container vector's value from its JSON (the inverse of valueToJson for AnySaveFile). */
export function anySaveFileFromJson(json: Json): AnySaveFile {
  const object = json as { [key: string]: Json };
  const container = object.container as { [key: string]: Json } | undefined;
  if (container === undefined) return saveFileFromJson(json);
  let value: SaveFileContainer;
  if (container.kind === "libvirt") {
    const header = container.header as { byteOrder: "little" | "big"; version: number; xml: string; unused: number[] };
    value = { kind: "libvirt", header: { byteOrder: header.byteOrder, version: header.version, xml: fromHexString(header.xml), unused: header.unused } };
  } else if (container.layout === "legacy") {
    const qemu = container.qemu as { body: string } | undefined;
    value = qemu === undefined ? { kind: "xenopsd", layout: "legacy" } : { kind: "xenopsd", layout: "legacy", qemu: { body: fromHexString(qemu.body) } };
  } else {
    const chunks = (container.chunks as Array<{ type: ChunkName; length: string; body?: string }>).map((chunk) =>
      chunk.body === undefined ? { type: chunk.type, length: BigInt(chunk.length) } : { type: chunk.type, length: BigInt(chunk.length), body: fromHexString(chunk.body) },
    );
    value = { kind: "xenopsd", layout: "structured", chunks, streamChunk: container.streamChunk as number };
  }
  if (object.format === "legacy") return { format: "legacy", container: value, bytes: fromHexString(object.bytes as string), convertsTo: object.convertsTo as "libxl" | "libxc" };
  const { container: _dropped, ...rest } = object;
  return { ...saveFileFromJson(rest), container: value } as SaveFile;
}

// -------------------------------------------------------------- generation

/** Directories (relative to spec-vectors/) whose every file this catalogue writes. */
export const CONTAINER_DIRS = ["libvirt", "xenopsd"] as const;
/** The container manifest's file name (relative to spec-vectors/). */
export const CONTAINER_MANIFEST = "container-manifest.json";

const text = (value: string): Uint8Array => new TextEncoder().encode(value);

/** Builds every container vector file and the container manifest in memory. */
export function generateContainerVectors(): { files: Map<string, Uint8Array>; manifest: ContainerManifest } {
  const files = new Map<string, Uint8Array>();
  const vectors: ContainerManifestEntry[] = [];
  const seen = new Set<string>();
  for (const def of defs) {
    if (seen.has(def.name)) throw new Error(`duplicate vector name ${def.name}`);
    seen.add(def.name);
    const file = `${def.name}.bin`;
    files.set(file, def.bytes);
    const entry: ContainerManifestEntry = { name: def.name, file, layer: def.layer, options: {}, expect: "valid", source: "generated", description: def.description, spec: def.spec };
    if (def.value !== undefined) {
      const json = jsonText(valueToJson(def.value));
      if (jsonText(valueToJson(walkContainer(def))) !== json) throw new Error(`${def.name}: the walker does not read back the built value`);
      const valueFile = `${def.name}.json`;
      files.set(valueFile, text(json));
      vectors.push({ name: entry.name, file, value: valueFile, layer: entry.layer, options: entry.options, expect: "valid", source: entry.source, description: entry.description, spec: entry.spec });
    } else {
      entry.expect = def.expect as { code: string; offset: number };
      vectors.push(entry);
    }
  }
  const manifest: ContainerManifest = { suite: "xen-migration-stream spec-vectors: containers", version: 1, vectors };
  files.set(CONTAINER_MANIFEST, text(jsonText(manifest as unknown as Json)));
  return { files, manifest };
}
