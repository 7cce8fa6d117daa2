/**
 * Legacy (Xen <= 4.5) streams inside containers: libvirt version 1 (a
 * legacy libxl stream), xenopsd's Libxc_legacy chunk and its legacy
 * "XenSavedDomain\n" layout. The legacy bytes are delimited by the legacy
 * reader, kept byte exact, converted for verification and by `convert`.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import {
  SaveFileDecoder,
  StreamVerifier,
  XenStreamError,
  convertContainer,
  convertLegacy,
  decodeAnySaveFile,
  decodeSaveFile,
  encodeSaveFile,
  verifyStream,
  type SaveFileEvent,
} from "../src/index.js";
import { decodeSaveFileAsync, encodeEventChunks } from "../src/io/index.js";
import { cat, le32, le64, toHex } from "./helpers/hex.js";
import { thrown } from "./helpers/errors.js";
import { legacyVectors } from "./legacy/vectors.js";
import { generateLegacyStream } from "../src/testing/index.js";

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const LIBVIRT_MAGIC = cat(ascii("libvirt-xml\n "), new Uint8Array([0]), ascii(" \r"));
const XML = cat(ascii("<domain type='xen'><name>old</name></domain>"), new Uint8Array([0]));
const RECORD = ascii("((time 20150101T00:00:00Z)(word_size 64))");
const chunk = (type: number, length: number, body: Uint8Array = new Uint8Array(0)): Uint8Array => cat(le64(type), le64(length), body);

// Plain vectors (no xl header) converted by default options; libxl vectors for libvirt, libxc PV ones for xenopsd.
const vectors = legacyVectors().filter((vector) => vector.options.xl !== true && vector.options.skipQemu !== true);
const libxlVectors = vectors.filter((vector) => vector.options.format === "libxl");
const pvLibxcVectors = vectors.filter((vector) => vector.options.format === "libxc" && vector.options.guest === "pv");

describe("libvirt version 1: a legacy libxl stream", () => {
  test.each(libxlVectors.map((vector) => [vector.name, vector] as const))("%s", async (_name, vector) => {
    const bytes = cat(LIBVIRT_MAGIC, le32(1), le32(XML.length), new Uint8Array(40), XML, vector.input);
    const events = new SaveFileDecoder().push(bytes);
    expect(events[0]).toMatchObject({ layer: "libvirt", kind: "header", stream: "legacy" });
    expect(events.slice(1).every((event) => event.layer === "legacy" && event.kind === "payload" && event.convertsTo === "libxl")).toBe(true);
    const file = decodeAnySaveFile(bytes);
    expect(file.format).toBe("legacy");
    if (file.format !== "legacy") return;
    expect(toHex(file.bytes)).toBe(toHex(vector.input));
    expect(toHex(encodeSaveFile(file))).toBe(toHex(bytes));
    const streamed: Uint8Array[] = [];
    for await (const part of encodeEventChunks(decodeSaveFileAsync([bytes.subarray(0, 100), bytes.subarray(100)]))) streamed.push(part);
    expect(toHex(cat(...streamed))).toBe(toHex(bytes));
    // decodeSaveFile promises v2 streams only.
    const error = thrown(() => decodeSaveFile(bytes));
    expect([error.code, error.offset]).toEqual(["UNSUPPORTED", 64 + XML.length]);
    // convert: the converted stream in a libvirt version 2 image, the XML kept.
    const { file: moved, notes } = convertContainer(file, "libvirt");
    expect(notes[0]).toMatch(/converted the legacy/);
    const out = encodeSaveFile(moved);
    expect(toHex(out)).toBe(toHex(cat(LIBVIRT_MAGIC, le32(2), le32(XML.length), new Uint8Array(40), XML, convertLegacy(vector.input, { format: "libxl" }))));
    const report = verifyStream(bytes);
    expect(report.summary.container).toMatchObject({ kind: "libvirt", libvirt: { version: 1, stream: "legacy" }, legacyBytes: vector.input.length });
    expect(report.findings.find((f) => f.code === "CONTAINER")).toMatchObject({ severity: "info", layer: "legacy", offset: 64 + XML.length });
  });
});

describe("xenopsd: Libxc_legacy chunk and the legacy layout", () => {
  test.each(pvLibxcVectors.map((vector) => [vector.name, vector] as const))("%s in a Libxc_legacy chunk", (_name, vector) => {
    const bytes = cat(ascii("XenSavedDomv2-\n"), chunk(0x000f, RECORD.length, RECORD), chunk(0x00f2, 0), vector.input, chunk(0xffff, 0));
    const file = decodeAnySaveFile(bytes);
    if (file.format !== "legacy") throw new Error("not legacy");
    expect(toHex(file.bytes)).toBe(toHex(vector.input));
    expect(toHex(encodeSaveFile(file))).toBe(toHex(bytes));
    const { file: libxc } = convertContainer(file, "libxc");
    expect(toHex(encodeSaveFile(libxc))).toBe(toHex(vector.expected));
    expect(verifyStream(bytes).findings.filter((f) => f.severity === "error")).toEqual([]);
  });

  test.each(pvLibxcVectors.map((vector) => [vector.name, vector] as const))("%s in the legacy layout, with and without a QEMU record", (_name, vector) => {
    const plain = cat(ascii("XenSavedDomain\n"), vector.input);
    const file = decodeAnySaveFile(plain);
    expect(file.container).toEqual({ kind: "xenopsd", layout: "legacy" });
    expect(toHex(encodeSaveFile(file))).toBe(toHex(plain));
    const qemu = cat(ascii("QemuDeviceModelRecord\n"), new Uint8Array([0, 0, 0, 4]), ascii("QEVM"));
    const withQemu = cat(plain, qemu);
    const decoded = decodeAnySaveFile(withQemu);
    expect(decoded.container).toEqual({ kind: "xenopsd", layout: "legacy", qemu: { body: ascii("QEVM") } });
    expect(toHex(encodeSaveFile(decoded))).toBe(toHex(withQemu));
    const error = thrown(() => decodeAnySaveFile(cat(plain, ascii("QemuDeviceModelRecorX"), new Uint8Array(5))));
    expect([error.code, error.offset]).toEqual(["BAD_MAGIC", plain.length]);
    const huge = thrown(() => decodeAnySaveFile(cat(plain, ascii("QemuDeviceModelRecord\n"), new Uint8Array([0xff, 0xff, 0xff, 0xff]))));
    expect([huge.code, huge.offset]).toEqual(["RECORD_TOO_LARGE", plain.length + 22]);
    const cut = thrown(() => decodeAnySaveFile(withQemu.subarray(0, withQemu.length - 1)));
    expect([cut.code, cut.offset]).toEqual(["TRUNCATED", withQemu.length - 1]);
  });

  test("pushed as the verifier wants (bytesWanted) from one reused buffer: the whole-buffer report", () => {
    // The io adapters' contract (readWantedChunks): a chunk of exactly
    // bytesWanted bytes is done with when push returns, so its buffer is reused.
    const generated = generateLegacyStream({ seed: 7, width: 64, guest: "hvm", pages: 600, vcpus: 2 }).bytes;
    for (const input of [...libxlVectors.map((vector) => vector.input), generated]) {
      const bytes = cat(LIBVIRT_MAGIC, le32(1), le32(XML.length), new Uint8Array(40), XML, input);
      const whole = verifyStream(bytes);
      const verifier = new StreamVerifier();
      let buffer = new Uint8Array(bytes.length);
      let pos = 0;
      let pushes = 0;
      while (pos < bytes.length && verifier.bytesWanted > 0) {
        const part = bytes.subarray(pos, pos + verifier.bytesWanted);
        buffer.set(part);
        verifier.push(buffer.subarray(0, part.length));
        // Reused only when the verifier holds none of it (as readWantedChunks does).
        if (verifier.bytesHeld === 0) buffer.fill(0xee);
        else buffer = new Uint8Array(bytes.length);
        pos += part.length;
        pushes += 1;
      }
      expect(pushes).toBeGreaterThanOrEqual(2);
      expect(verifier.end().findings).toEqual(whole.findings);
    }
  });

  test("a legacy stream that does not convert is an error finding at its offset", () => {
    const broken = cat(ascii("XenSavedDomv2-\n"), chunk(0x000f, RECORD.length, RECORD), chunk(0x00f2, 0), new Uint8Array(16).fill(0xff));
    const report = verifyStream(broken);
    expect(report.ok).toBe(false);
    expect(report.findings.some((f) => f.severity === "error")).toBe(true);
  });
});

describe("convertLegacy: the decoder converts a legacy stream in a container on the fly", () => {
  /** Events of a decode with `convertLegacy`, the bytes pushed in pieces of the given sizes. */
  function convertedEvents(bytes: Uint8Array, sizes: readonly number[] = [bytes.length]): SaveFileEvent[] {
    const decoder = new SaveFileDecoder({ convertLegacy: true });
    const events: SaveFileEvent[] = [];
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const size = Math.max(1, sizes[i % sizes.length] as number);
      // A scratch copy of each piece, overwritten once the decoder holds none of it
      // (the io readers' contract): the conversion must not keep views of it.
      const piece = bytes.slice(at, at + size);
      decoder.pushEach(piece, (event) => events.push(structuredClone(event)));
      if (decoder.bytesHeld === 0) piece.fill(0xee);
      at += size;
    }
    decoder.endEach((event) => events.push(structuredClone(event)));
    return events;
  }

  test.each(libxlVectors.map((vector) => [vector.name, vector] as const))("libvirt version 1, %s: the header, then the converted libxl stream's events, whatever the chunking", (_name, vector) => {
    const bytes = cat(LIBVIRT_MAGIC, le32(1), le32(XML.length), new Uint8Array(40), XML, vector.input);
    const expected = new SaveFileDecoder({ format: "libxl" }).push(convertLegacy(vector.input, { format: "libxl" }));
    const events = convertedEvents(bytes);
    expect(events[0]).toMatchObject({ layer: "libvirt", kind: "header", stream: "legacy" });
    expect(events.slice(1)).toEqual(expected.map((event) => structuredClone(event)));
    expect(events.some((event) => event.layer === "legacy")).toBe(false);
    for (const sizes of [[1], [7, 100, 3], [4096]]) expect(convertedEvents(bytes, sizes)).toEqual(events);
  });

  test.each(pvLibxcVectors.map((vector) => [vector.name, vector] as const))("xenopsd, %s: the converted libxc events sit where the legacy stream was, before End_of_image", (_name, vector) => {
    const bytes = cat(ascii("XenSavedDomv2-\n"), chunk(0x000f, RECORD.length, RECORD), chunk(0x00f2, 0), vector.input, chunk(0xffff, 0));
    const events = convertedEvents(bytes, [13]);
    const names = events.map((event) => (event.layer === "xenopsd" && event.kind === "chunk" ? event.chunk.type : `${event.layer}:${event.kind}`));
    const libxc = new SaveFileDecoder({ format: "libxc" }).push(convertLegacy(vector.input, { format: "libxc" }));
    expect(names).toEqual(["xenopsd:signature", "Xenops", "Libxc_legacy", ...libxc.map((event) => `${event.layer}:${event.kind}`), "End_of_image"]);
    // The legacy layout: the QEMU record follows the converted stream.
    const qemu = cat(ascii("QemuDeviceModelRecord\n"), new Uint8Array([0, 0, 0, 4]), ascii("QEVM"));
    const layout = convertedEvents(cat(ascii("XenSavedDomain\n"), vector.input, qemu));
    expect(layout.map((event) => `${event.layer}:${event.kind}`)).toEqual(["xenopsd:signature", ...libxc.map((event) => `${event.layer}:${event.kind}`), "xenopsd:legacyQemu"]);
  });

  test("what the visitor throws reaches the caller unchanged; without the option the payload events stay", () => {
    const vector = libxlVectors[0];
    if (vector === undefined) throw new Error("no libxl legacy vector");
    const bytes = cat(LIBVIRT_MAGIC, le32(1), le32(XML.length), new Uint8Array(40), XML, vector.input);
    const mine = new XenStreamError("BAD_VALUE", 3, "the visitor's own");
    const decoder = new SaveFileDecoder({ convertLegacy: true });
    expect(() =>
      decoder.pushEach(bytes, (event) => {
        if (event.layer === "libxc") throw mine;
      }),
    ).toThrow(mine);
    expect(new SaveFileDecoder().push(bytes).slice(1).every((event) => event.layer === "legacy")).toBe(true);
  });

  test("the verifier's summary of a legacy stream in a container is the converted stream's", () => {
    const generated = generateLegacyStream({ seed: 3, width: 64, guest: "pv", pages: 300, vcpus: 2 }).bytes;
    const bytes = cat(LIBVIRT_MAGIC, le32(1), le32(XML.length), new Uint8Array(40), XML, generated);
    const inner = verifyStream(convertLegacy(generated, { format: "libxl" })).summary;
    const outer = verifyStream(bytes).summary;
    expect(inner.pages.withData).toBeGreaterThan(0);
    expect(outer.pages).toEqual(inner.pages);
    expect([outer.passes, outer.vcpus, outer.libxc, outer.libxl, outer.records]).toEqual([inner.passes, inner.vcpus, inner.libxc, inner.libxl, inner.records]);
    expect([outer.bytes, outer.container?.kind]).toEqual([bytes.length, "libvirt"]);
  });
});

describe("convertContainer of an HVM legacy stream in a xenopsd image", () => {
  const vector = (name: string): Uint8Array => new Uint8Array(readFileSync(fileURLToPath(new URL(`../spec-vectors/xenopsd/valid/${name}.bin`, import.meta.url))));

  test.each([
    ["libxc-legacy-hvm", /^dropped the 35 bytes after the legacy stream's HVM tail/],
    ["legacy-layout-hvm", /^dropped xenopsd's QEMU record \(21 bytes\)/],
  ] as const)("%s: the libxc stream ends with the HVM tail; what xenopsd keeps after it is named as dropped", (name, dropped) => {
    const file = decodeAnySaveFile(vector(name));
    if (file.format !== "legacy") throw new Error("not legacy");
    const { file: libxc, notes } = convertContainer(file, "libxc");
    const bytes = encodeSaveFile(libxc);
    // The HVM tail converted as xenopsd's restore reads it: convert-legacy-stream --skip-qemu.
    const tail = file.bytes.length - (name === "libxc-legacy-hvm" ? 35 : 0);
    expect(toHex(bytes)).toBe(toHex(convertLegacy(file.bytes.subarray(0, tail), { format: "libxc", skipQemu: true })));
    expect(verifyStream(bytes).ok).toBe(true);
    expect(notes.some((note) => dropped.test(note))).toBe(true);
  });
});

test("convert of a xenopsd image to a libxl-based target says why its QEMU record is dropped", () => {
  const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL("../spec-vectors/xenopsd/valid/hvm-libxc-qemu-trad.bin", import.meta.url))));
  const file = decodeAnySaveFile(bytes);
  expect(convertContainer(file, "libxl").notes[0]).toBe(
    "dropped xenopsd chunks Qemu_trad (300 bytes): xenopsd does not record which QEMU (traditional or upstream) wrote them, which a libxl EMULATOR_CONTEXT must name",
  );
  expect(convertContainer(file, "libxc").notes[0]).toBe("dropped xenopsd chunks Qemu_trad (300 bytes): the target has no place for them");
});
