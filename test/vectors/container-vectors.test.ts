/**
 * The container vectors (spec-vectors/libvirt/, spec-vectors/xenopsd/,
 * listed in spec-vectors/container-manifest.json) against this library:
 *
 * 1. the committed files are the generator's (the freshness test of
 *    ./vectors.test.ts covers them too; this one names the manifest);
 * 2. every vector decodes to the manifest's verdict — valid, or the stated
 *    error code at the stated offset — in one buffer and in small chunks;
 * 3. every valid vector's value equals its JSON file, and encoding it (whole
 *    and streamed) gives back the bytes;
 * 4. the vectors cover both containers, every xenopsd chunk type, both
 *    signatures, libvirt versions 0-2 and both byte orders, and each error
 *    the container layers raise.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { SaveFileDecoder, decodeAnySaveFile, encodeSaveFile, isXenStreamError, verifyStream, type SaveFileDecoderOptions } from "../../src/index.js";
import { encodeSaveFileChunks } from "../../src/io/index.js";
import { cutsEvery, decodeSplit } from "../helpers/decode.js";
import { valueToJson, type Json } from "../helpers/vector-json.js";
import { collectBytes } from "../io/helpers.js";
import { CONTAINER_MANIFEST, anySaveFileFromJson, generateContainerVectors, type ContainerManifest, type ContainerManifestEntry } from "./container-catalogue.js";

const VECTORS_DIR = fileURLToPath(new URL("../../spec-vectors/", import.meta.url));
const manifest = JSON.parse(readFileSync(join(VECTORS_DIR, CONTAINER_MANIFEST), "utf8")) as ContainerManifest;
const read = (path: string): Uint8Array => new Uint8Array(readFileSync(join(VECTORS_DIR, path)));
const readJson = (path: string): Json => JSON.parse(readFileSync(join(VECTORS_DIR, path), "utf8")) as Json;
const options = (entry: ContainerManifestEntry): SaveFileDecoderOptions => ({ format: entry.layer, ...entry.options });

function verdict(run: () => unknown): "valid" | { code: string; offset: number } {
  try {
    run();
    return "valid";
  } catch (error) {
    if (!isXenStreamError(error)) throw error;
    return { code: error.code, offset: error.offset };
  }
}

test("the committed container manifest is the generator's", () => {
  expect(readFileSync(join(VECTORS_DIR, CONTAINER_MANIFEST), "utf8")).toBe(new TextDecoder().decode(generateContainerVectors().files.get(CONTAINER_MANIFEST)));
});

describe("decoder verdict equals the container manifest's", () => {
  test.each(manifest.vectors.map((entry) => [entry.name, entry] as const))("%s", (_name, entry) => {
    const bytes = read(entry.file);
    expect(verdict(() => decodeAnySaveFile(bytes, options(entry)))).toEqual(entry.expect);
    // Detected from the first bytes, the same verdict.
    expect(verdict(() => decodeAnySaveFile(bytes))).toEqual(entry.expect);
    // The push decoder agrees, whatever the chunking (the legacy streams inside end at the input's end).
    const pushed = (chunk: number): void => void decodeSplit(() => new SaveFileDecoder(options(entry)), bytes, cutsEvery(bytes.length, chunk));
    expect(verdict(() => pushed(61))).toEqual(entry.expect);
    if (bytes.length <= 4096) expect(verdict(() => pushed(1))).toEqual(entry.expect);
  });
});

describe("valid container vectors: decoded value equals the JSON; the JSON encodes to the bytes, whole and streamed", () => {
  test.each(manifest.vectors.filter((entry) => entry.expect === "valid").map((entry) => [entry.name, entry] as const))("%s", async (_name, entry) => {
    const bytes = read(entry.file);
    const json = readJson(entry.value as string);
    const decoded = decodeAnySaveFile(bytes, options(entry));
    expect(valueToJson(decoded)).toStrictEqual(json);
    const rebuilt = anySaveFileFromJson(json);
    expect(Buffer.from(encodeSaveFile(rebuilt)).equals(Buffer.from(bytes)), "encode(fromJson(json)) === bytes").toBe(true);
    expect(Buffer.from(encodeSaveFile(decoded)).equals(Buffer.from(bytes)), "encode(decode(bytes)) === bytes").toBe(true);
    expect(Buffer.from(await collectBytes(encodeSaveFileChunks(rebuilt, { chunkSize: 37 }))).equals(Buffer.from(bytes)), "streamed").toBe(true);
  });
});

describe("valid container vectors cut short: TRUNCATED at the cut, in one buffer and pushed", () => {
  test.each(manifest.vectors.filter((entry) => entry.expect === "valid").map((entry) => [entry.name, entry] as const))("%s", (_name, entry) => {
    const bytes = read(entry.file);
    const json = readJson(entry.value as string) as { container: { layout?: string }; bytes?: string };
    // The legacy layout may end right after its legacy stream (a PV guest): that one prefix is complete.
    const streamEnd = json.container.layout === "legacy" ? 15 + (json.bytes ?? "").length / 2 : -1;
    // 40 cuts spread over the file, plus the first 80 bytes one by one (signature, headers, first chunks).
    const cuts = new Set<number>();
    for (let i = 1; i < 80 && i < bytes.length; i++) cuts.add(i);
    for (let i = 1; i < 40; i++) cuts.add(Math.floor((bytes.length * i) / 40));
    if (streamEnd > 0 && streamEnd < bytes.length) cuts.add(streamEnd);
    for (const cut of cuts) {
      const prefix = bytes.subarray(0, cut);
      const got = verdict(() => decodeAnySaveFile(prefix, options(entry)));
      if (cut === streamEnd) {
        expect(got).toBe("valid");
        continue;
      }
      expect({ cut, got }).toEqual({ cut, got: { code: "TRUNCATED", offset: cut } });
      expect(verdict(() => decodeSplit(() => new SaveFileDecoder(options(entry)), prefix, cutsEvery(prefix.length, 509)))).toEqual({ code: "TRUNCATED", offset: cut });
    }
  });
});

describe("the verifier on the valid container vectors (the stream inside verified too, a legacy one after conversion)", () => {
  // The one decodable vector libvirt's own reader would trip over: its XML is no C string.
  const verifierErrors: Record<string, string[]> = { "libvirt/tolerated/xml-without-nul": ["CONTAINER"] };
  test.each(manifest.vectors.filter((entry) => entry.expect === "valid").map((entry) => [entry.name, entry] as const))("%s", (name, entry) => {
    const report = verifyStream(read(entry.file));
    expect(report.findings.filter((finding) => finding.severity === "error").map((finding) => finding.code)).toEqual(verifierErrors[name] ?? []);
    expect(report.summary.container?.kind).toBe(entry.layer);
  });
});

describe("coverage", () => {
  const valid = manifest.vectors.filter((entry) => entry.expect === "valid").map((entry) => readJson(entry.value as string) as { format: string; container: Record<string, Json> });

  test("every xenopsd chunk type, both signatures, and every kind of stream inside", () => {
    const chunkTypes = new Set(valid.flatMap((file) => ((file.container.chunks ?? []) as Array<{ type: string }>).map((chunk) => chunk.type)));
    expect([...chunkTypes].sort()).toEqual(["Demu", "End_of_image", "Libxc", "Libxc_legacy", "Libxl", "Qemu_trad", "Qemu_xen", "Swtpm", "Swtpm0", "Varstored", "Xenops"].sort());
    const layouts = new Set(valid.filter((file) => file.container.kind === "xenopsd").map((file) => file.container.layout));
    expect(layouts).toEqual(new Set(["structured", "legacy"]));
    const legacyQemu = valid.some((file) => file.container.layout === "legacy" && file.container.qemu !== undefined);
    expect(legacyQemu).toBe(true);
    const kinds = new Set(valid.map((file) => `${String(file.container.kind)}:${file.format}`));
    expect(kinds).toEqual(new Set(["libvirt:libxl", "libvirt:legacy", "xenopsd:libxc", "xenopsd:libxl", "xenopsd:legacy"]));
  });

  test("libvirt versions 0, 1 and 2, both byte orders", () => {
    const headers = valid.filter((file) => file.container.kind === "libvirt").map((file) => file.container.header as { version: number; byteOrder: string });
    expect(new Set(headers.map((header) => header.version))).toEqual(new Set([0, 1, 2]));
    expect(new Set(headers.map((header) => header.byteOrder))).toEqual(new Set(["little", "big"]));
  });

  test("a negative vector for each error the container layers raise, in both containers", () => {
    const codes = (layer: string): string[] =>
      [...new Set(manifest.vectors.filter((entry) => entry.layer === layer && entry.expect !== "valid").map((entry) => (entry.expect as { code: string }).code))].sort();
    expect(codes("libvirt")).toEqual(["BAD_LENGTH", "BAD_MAGIC", "BAD_VERSION", "RECORD_TOO_LARGE", "TRAILING_DATA", "TRUNCATED"]);
    expect(codes("xenopsd")).toEqual(["BAD_MAGIC", "RECORD_TOO_LARGE", "TRAILING_DATA", "TRUNCATED", "UNKNOWN_RECORD", "UNSUPPORTED"]);
  });
});
