/**
 * The real Xen 4.17 streams of spec-vectors/captured, taken out of their xl
 * save files and wrapped by hand (byte by byte from the sources' layouts,
 * not with the library's encoders) in each container they travel in:
 * libvirt's version 2 save image around the libxl stream (libvirt
 * src/libxl/libxl_conf.h, libxl_driver.c libxlDoDomainSave), and xenopsd's
 * structured suspend image with the libxc stream after a Libxc chunk (what
 * xen-api ocaml/xenopsd/xc/domain.ml `suspend` writes) or the libxl stream
 * after a Libxl chunk. Each wrapped file decodes to the captured stream,
 * verifies, re-encodes byte exact (whole and streamed, in any chunking),
 * and is exactly what `convertContainer` makes of the xl file.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import {
  SaveFileDecoder,
  convertContainer,
  decodeSaveFile,
  detectFormat,
  encodeSaveFile,
  verifyStream,
  type LibxlItem,
  type SaveFileEvent,
} from "../src/index.js";
import { encodeSaveFileChunks } from "../src/io/index.js";
import { cutsEvery, decodeSplit } from "./helpers/decode.js";
import { cat, le32, le64 } from "./helpers/hex.js";
import { collectBytes } from "./io/helpers.js";

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const u32le = (bytes: Uint8Array, at: number): number => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
const padded = (length: number): number => (length + 7) & ~7;

/** The parts of a captured xl save file, found by walking its framing (xl-header.md §1, libxl-stream.md §1-§2, libxc-stream.md §2-§4). */
function parts(xl: Uint8Array): { libxl: Uint8Array; libxc: Uint8Array; emulatorData: Uint8Array | undefined } {
  const libxl = xl.subarray(48 + u32le(xl, 44)); // the 48-byte header and optional_data_len bytes
  let at = 16; // the libxl header
  let libxc: Uint8Array | undefined;
  let emulatorData: Uint8Array | undefined;
  for (;;) {
    const type = u32le(libxl, at);
    const length = u32le(libxl, at + 4);
    if (type === 0) break; // libxl END
    if (type === 3) emulatorData = libxl.subarray(at + 16, at + 8 + length); // EMULATOR_CONTEXT: emulator id, index, then the state
    at += 8 + padded(length);
    if (type === 1) {
      // LIBXC_CONTEXT: the libxc stream follows; headers 24 + 16 bytes, records up to END (type 0).
      const start = at;
      at += 40;
      for (;;) {
        const recordType = u32le(libxl, at);
        at += 8 + padded(u32le(libxl, at + 4));
        if (recordType === 0) break;
      }
      libxc = libxl.subarray(start, at);
    }
  }
  if (libxc === undefined) throw new Error("no libxc stream");
  return { libxl, libxc, emulatorData };
}

const XML = "<domain type='xen'>\n  <name>captured</name>\n</domain>\n";
const RECORD_TEXT = "((time 20261203T07:00:00Z)(word_size 64)(xs_subtree()))";
const RECORD = { time: "20261203T07:00:00Z", wordSize: 64, xsSubtree: [] as Array<[string, string]> };
const chunk = (type: number, length: number): Uint8Array => cat(le64(type), le64(length));

const CAPTURED = ["pv", "hvm", "pvh"].map((guest) => {
  const xl = new Uint8Array(readFileSync(new URL(`../spec-vectors/captured/xen-4.17-${guest}-save.skel.xl`, import.meta.url)));
  const { libxl, libxc, emulatorData } = parts(xl);
  const xml = cat(ascii(XML), new Uint8Array(1));
  const libvirt = cat(ascii("libvirt-xml\n "), new Uint8Array([0]), ascii(" \r"), le32(2), le32(xml.length), new Uint8Array(40), xml, libxl);
  const record = ascii(RECORD_TEXT);
  const head = cat(ascii("XenSavedDomv2-\n"), chunk(0x000f, record.length), record);
  const qemu = emulatorData === undefined ? new Uint8Array(0) : cat(chunk(0x0f00, emulatorData.length), emulatorData);
  const xenopsdLibxc = cat(head, chunk(0x00f0, 0), libxc, qemu, chunk(0xffff, 0));
  const xenopsdLibxl = cat(head, chunk(0x00f1, 0), libxl, chunk(0xffff, 0));
  return { guest, xl, libxl, libxc, emulatorData, libvirt, xenopsdLibxc, xenopsdLibxl };
});

function comparable(events: readonly SaveFileEvent[]): string {
  return JSON.stringify(events, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString("hex") : typeof value === "bigint" ? `${value}n` : value));
}

async function roundTrips(bytes: Uint8Array): Promise<void> {
  const decoded = decodeSaveFile(bytes);
  expect(Buffer.from(encodeSaveFile(decoded)).equals(Buffer.from(bytes)), "encodeSaveFile(decodeSaveFile(b)) === b").toBe(true);
  for (const options of [{}, { chunkSize: 4096, reuseBuffer: true }, { chunkSize: 333 }]) {
    expect(Buffer.from(await collectBytes(encodeSaveFileChunks(decoded, options))).equals(Buffer.from(bytes)), `streamed ${JSON.stringify(options)}`).toBe(true);
  }
  const whole = comparable(decodeSplit(() => new SaveFileDecoder(), bytes, []));
  for (const size of [1013, 4096, 7]) expect(comparable(decodeSplit(() => new SaveFileDecoder(), bytes, cutsEvery(bytes.length, size))), `pushed in ${size}-byte pieces`).toBe(whole);
}

describe.each(CAPTURED)("captured $guest stream", ({ guest, xl, libxc, emulatorData, libvirt, xenopsdLibxc, xenopsdLibxl }) => {
  const original = decodeSaveFile(xl);
  if (original.format !== "libxl") throw new Error("the captured files hold libxl streams");
  const libxcPart = original.stream.items.find((item): item is Extract<LibxlItem, { type: "LIBXC_STREAM" }> => item.type === "LIBXC_STREAM");

  test("found by hand: the libxc stream starts with its 0xff marker, and HVM alone has an EMULATOR_CONTEXT", () => {
    expect([...libxc.subarray(0, 8)]).toEqual(new Array(8).fill(0xff));
    expect(emulatorData !== undefined).toBe(guest === "hvm");
  });

  test("in a libvirt version 2 image: decodes to the captured libxl stream, verifies, round-trips, is what convert writes", async () => {
    expect(detectFormat(libvirt)).toBe("libvirt");
    const file = decodeSaveFile(libvirt);
    expect(file.format).toBe("libxl");
    expect(file.container?.kind === "libvirt" && { version: file.container.header.version, byteOrder: file.container.header.byteOrder, xmlLength: file.container.header.xml.length }).toEqual({
      version: 2,
      byteOrder: "little",
      xmlLength: XML.length + 1,
    });
    expect(comparable([file.stream as never])).toBe(comparable([original.stream as never]));
    const report = verifyStream(libvirt);
    expect(report.findings.filter((finding) => finding.severity === "error")).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.summary.container).toMatchObject({ kind: "libvirt", libvirt: { version: 2, domainName: "captured", stream: "libxl" } });
    await roundTrips(libvirt);
    expect(Buffer.from(encodeSaveFile(convertContainer(original, "libvirt", { xml: XML }).file)).equals(Buffer.from(libvirt))).toBe(true);
  });

  test("in a xenopsd image after a Libxc chunk: decodes to the captured libxc stream, verifies, round-trips, is what convert writes", async () => {
    expect(detectFormat(xenopsdLibxc)).toBe("xenopsd");
    const file = decodeSaveFile(xenopsdLibxc);
    expect(file.format).toBe("libxc");
    expect(comparable([file.stream as never])).toBe(comparable([libxcPart?.stream as never]));
    if (file.container?.kind !== "xenopsd" || file.container.layout !== "structured") throw new Error("expected a structured xenopsd container");
    expect(file.container.chunks.map((c) => [c.type, c.length])).toEqual([
      ["Xenops", BigInt(RECORD_TEXT.length)],
      ["Libxc", 0n],
      ...(emulatorData === undefined ? [] : [["Qemu_trad", BigInt(emulatorData.length)]]),
      ["End_of_image", 0n],
    ]);
    const report = verifyStream(xenopsdLibxc);
    expect(report.findings.filter((finding) => finding.severity === "error")).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.summary.container?.xenopsd?.record).toEqual({ time: RECORD.time, wordSize: 64, xsSubtreeEntries: 0 });
    await roundTrips(xenopsdLibxc);
    expect(Buffer.from(encodeSaveFile(convertContainer(original, "xenopsd", { record: RECORD }).file)).equals(Buffer.from(xenopsdLibxc))).toBe(true);
  });

  test("in a xenopsd image after a Libxl chunk: decodes to the captured libxl stream and round-trips; the verifier warns (xenopsd's restore refuses Libxl)", async () => {
    const file = decodeSaveFile(xenopsdLibxl);
    expect(file.format).toBe("libxl");
    expect(comparable([file.stream as never])).toBe(comparable([original.stream as never]));
    const report = verifyStream(xenopsdLibxl);
    expect(report.findings.filter((finding) => finding.severity === "error")).toEqual([]);
    expect(report.findings.some((finding) => finding.severity === "warning" && /Libxl/.test(finding.message))).toBe(true);
    expect(verifyStream(xenopsdLibxl, { profile: "restore" }).ok).toBe(false);
    await roundTrips(xenopsdLibxl);
  });
});
