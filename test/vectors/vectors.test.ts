/**
 * The conformance suite in spec-vectors/ against this library:
 *
 * 1. the committed files are exactly what the generator produces
 *    (`npm run vectors` regenerates them);
 * 2. every vector decodes to the manifest's verdict — valid, or the stated
 *    error code at the stated offset — in one buffer and in small chunks;
 * 3. every valid vector's decoded value equals its JSON value file, and
 *    encoding the value rebuilt from that JSON gives back the binary file;
 * 4. the manifest covers what the issue asks for (every record type of every
 *    layer, both versions, both guest types, both byte orders, a page size
 *    other than 4096, checkpointed streams, xl configs, every error code);
 * 5. every legacy vector converts, in every mode its entry lists, to exactly
 *    the expected v2 bytes, or fails with the stated error code and offset.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { SaveFileDecoder, convertLegacy, decodeSaveFile, encodeSaveFile, isXenStreamError, type SaveFileDecoderOptions } from "../../src/index.js";
import { cutsEvery, decodeSplit } from "../helpers/decode.js";
import { jsonText, saveFileFromJson, valueToJson, type Json } from "../helpers/vector-json.js";
import { generateVectors, ownedFilesOnDisk, type Manifest, type ManifestEntry } from "./catalogue.js";
import type { LegacyManifestEntry, LegacyMode, LegacyOutputEntry } from "./legacy-catalogue.js";

const VECTORS_DIR = fileURLToPath(new URL("../../spec-vectors/", import.meta.url));
const manifest = JSON.parse(readFileSync(join(VECTORS_DIR, "manifest.json"), "utf8")) as Manifest;
const isLegacy = (entry: ManifestEntry | LegacyManifestEntry): entry is LegacyManifestEntry => entry.layer === "legacy";
const decodable = manifest.vectors.filter((entry): entry is ManifestEntry => !isLegacy(entry));
const legacy = manifest.vectors.filter(isLegacy);

const read = (path: string): Uint8Array => new Uint8Array(readFileSync(join(VECTORS_DIR, path)));
const readJson = (path: string): Json => JSON.parse(readFileSync(join(VECTORS_DIR, path), "utf8")) as Json;

function decoderOptions(entry: ManifestEntry): SaveFileDecoderOptions {
  return { format: entry.layer as "xl" | "libxl" | "libxc", ...entry.options };
}

/** The decoder's verdict on `bytes`: "valid" or {code, offset}. */
function verdict(run: () => unknown): "valid" | { code: string; offset: number } {
  try {
    run();
    return "valid";
  } catch (error) {
    if (!isXenStreamError(error)) throw error;
    return { code: error.code, offset: error.offset };
  }
}

/** Decodes with the push decoder, `chunk` bytes at a time. */
function decodeChunked(bytes: Uint8Array, options: SaveFileDecoderOptions, chunk: number): void {
  decodeSplit(() => new SaveFileDecoder(options), bytes, cutsEvery(bytes.length, chunk));
}

describe("spec-vectors/ is what the generator produces", () => {
  test("every generated file is committed unchanged, and no stale file is left", () => {
    const { files } = generateVectors(VECTORS_DIR);
    const problems: string[] = [];
    for (const [path, bytes] of files) {
      const target = join(VECTORS_DIR, path);
      if (!existsSync(target)) problems.push(`missing: spec-vectors/${path}`);
      else if (Buffer.compare(Buffer.from(readFileSync(target)), Buffer.from(bytes)) !== 0) problems.push(`differs from the generator: spec-vectors/${path}`);
    }
    for (const path of ownedFilesOnDisk(VECTORS_DIR)) if (!files.has(path)) problems.push(`not produced by the generator: spec-vectors/${path}`);
    expect(problems, `${problems.join("\n")}\nrun \`npm run vectors\` to regenerate`).toEqual([]);
  });

  test("every manifest entry names files that exist", () => {
    for (const entry of decodable) {
      expect(existsSync(join(VECTORS_DIR, entry.file)), entry.file).toBe(true);
      if (entry.value !== undefined) expect(existsSync(join(VECTORS_DIR, entry.value)), entry.value).toBe(true);
      expect(entry.value !== undefined, `${entry.name}: a value file exactly when valid`).toBe(entry.expect === "valid");
    }
    for (const entry of legacy) {
      expect(existsSync(join(VECTORS_DIR, entry.file)), entry.file).toBe(true);
      expect(Object.keys(entry.outputs).length, `${entry.name}: at least one mode`).toBeGreaterThan(0);
      for (const output of Object.values(entry.outputs) as LegacyOutputEntry[]) {
        expect(output.file !== undefined, `${entry.name}: an output file exactly when valid`).toBe(entry.expect === "valid");
        if (output.file !== undefined) expect(existsSync(join(VECTORS_DIR, output.file)), output.file).toBe(true);
      }
    }
  });
});

describe("decoder verdict equals the manifest's", () => {
  test.each(decodable.map((entry) => [entry.name, entry] as const))("%s", (_name, entry) => {
    const bytes = read(entry.file);
    const options = decoderOptions(entry);
    expect(verdict(() => decodeSaveFile(bytes, options))).toEqual(entry.expect);
    // The push decoder agrees, whatever the chunking.
    expect(verdict(() => decodeChunked(bytes, options, 61))).toEqual(entry.expect);
    if (bytes.length <= 4096) expect(verdict(() => decodeChunked(bytes, options, 1))).toEqual(entry.expect);
  });
});

describe("valid vectors: decoded value equals the JSON; the JSON encodes to the bytes", () => {
  test.each(decodable.filter((entry) => entry.expect === "valid").map((entry) => [entry.name, entry] as const))("%s", (_name, entry) => {
    const bytes = read(entry.file);
    const json = readJson(entry.value as string);
    const decoded = decodeSaveFile(bytes, decoderOptions(entry));
    expect(valueToJson(decoded)).toStrictEqual(json);
    const rebuilt = saveFileFromJson(json);
    expect(Buffer.from(encodeSaveFile(rebuilt)).equals(Buffer.from(bytes)), "encode(fromJson(json)) === bytes").toBe(true);
    expect(Buffer.from(encodeSaveFile(decoded)).equals(Buffer.from(bytes)), "encode(decode(bytes)) === bytes").toBe(true);
    // The JSON file is in canonical form.
    expect(readFileSync(join(VECTORS_DIR, entry.value as string), "utf8")).toBe(jsonText(json));
  });
});

describe("legacy vectors: convertLegacy gives the expected v2 bytes, or the expected error, in every listed mode", () => {
  const runs = legacy.flatMap((entry) => (Object.entries(entry.outputs) as Array<[LegacyMode, LegacyOutputEntry]>).map(([mode, output]) => [`${entry.name} (${mode})`, entry, output] as const));
  test.each(runs)("%s", (_name, entry, output) => {
    const input = read(entry.file);
    const options = { ...entry.options, format: output.format, skipQemu: output.skipQemu };
    if (entry.expect !== "valid") {
      expect(verdict(() => convertLegacy(input, options))).toEqual(entry.expect);
      return;
    }
    const expected = read(output.file as string);
    const actual = convertLegacy(input, options);
    let at = 0;
    while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
    expect({ firstDifference: at, length: actual.length }, "converted bytes against the expected output").toEqual({ firstDifference: expected.length, length: expected.length });
  });

  test("cover PV 64 and 32, HVM with and without physmap and QEMU record, xl headers, every mode, the broken-reference cases and rejections", () => {
    const names = legacy.map((entry) => entry.name);
    for (const name of ["pv64", "pv32", "hvm64", "hvm32", "hvm64-no-physmap", "hvm64-no-qemu", "xl-hvm32", "xl-pv64-pre45", "hvm64-xtab-batch", "hvm64-qemu-xend"]) expect(names).toContain(`legacy/valid/${name}`);
    const modes = new Set(legacy.flatMap((entry) => Object.keys(entry.outputs)));
    expect([...modes].sort()).toEqual(["libxc", "libxc-skip-qemu", "libxl"]);
    const outputs = legacy.flatMap((entry) => Object.values(entry.outputs) as LegacyOutputEntry[]);
    expect(new Set(outputs.map((output) => output.referenceBug).filter((bug) => bug !== undefined))).toEqual(new Set(["B1", "B3", "B11"]));
    for (const output of outputs) if (output.file !== undefined) expect(output.expected === "intent", output.file).toBe(output.referenceBug !== undefined);
    expect(outputs.filter((output) => output.expected === "convert-legacy-stream").length).toBeGreaterThan(0);
    expect(legacy.some((entry) => entry.options.xl)).toBe(true);
    expect(legacy.filter((entry) => entry.expect !== "valid").length).toBeGreaterThan(0);
  });
});

// ------------------------------------------------------------------ coverage

interface Seen {
  libxcTypes: Set<string>;
  libxlTypes: Set<string>;
  versions: Set<number>;
  domainTypes: Set<number>;
  pageShifts: Set<number>;
  libxcBigEndian: Set<boolean>;
  libxlBigEndian: Set<boolean>;
  xlByteOrders: Set<string>;
  xlWithConfig: boolean;
  checkpointed: boolean;
}

function collect(seen: Seen, json: Json): void {
  const file = json as { xl?: { byteOrder: string; config?: string }; format: string; stream: Record<string, Json> };
  if (file.xl !== undefined) {
    seen.xlByteOrders.add(file.xl.byteOrder);
    if (file.xl.config !== undefined && file.xl.config.length > 0) seen.xlWithConfig = true;
  }
  const libxcStream = (stream: { imageHeader: { version: number; options: number }; domainHeader: { type: number; pageShift: number }; records: Array<{ type: string }> }): void => {
    seen.versions.add(stream.imageHeader.version);
    seen.libxcBigEndian.add((stream.imageHeader.options & 1) === 1);
    seen.domainTypes.add(stream.domainHeader.type);
    seen.pageShifts.add(stream.domainHeader.pageShift);
    for (const record of stream.records) libxcRecord(record);
  };
  const libxcRecord = (record: { type: string }): void => {
    seen.libxcTypes.add(record.type);
    if (record.type === "CHECKPOINT") seen.checkpointed = true;
  };
  if (file.format === "libxc") {
    libxcStream(file.stream as never);
    return;
  }
  const stream = file.stream as unknown as { header: { options: number }; items: Array<{ type: string; stream?: never; records?: Array<{ type: string }> }> };
  seen.libxlBigEndian.add((stream.header.options & 1) === 1);
  for (const item of stream.items) {
    if (item.type === "LIBXC_STREAM") libxcStream(item.stream as never);
    else if (item.type === "LIBXC_RESUME") (item.records ?? []).forEach(libxcRecord);
    else seen.libxlTypes.add(item.type);
  }
}

describe("coverage", () => {
  const seen: Seen = {
    libxcTypes: new Set(),
    libxlTypes: new Set(),
    versions: new Set(),
    domainTypes: new Set(),
    pageShifts: new Set(),
    libxcBigEndian: new Set(),
    libxlBigEndian: new Set(),
    xlByteOrders: new Set(),
    xlWithConfig: false,
    checkpointed: false,
  };
  for (const entry of decodable) if (entry.value !== undefined) collect(seen, readJson(entry.value));

  test("every record type of every layer, and unknown optional records, appear in valid vectors", () => {
    expect([...seen.libxcTypes].sort()).toEqual(
      [
        "END", "PAGE_DATA", "X86_PV_INFO", "X86_PV_P2M_FRAMES", "X86_PV_VCPU_BASIC", "X86_PV_VCPU_EXTENDED", "X86_PV_VCPU_XSAVE",
        "SHARED_INFO", "X86_TSC_INFO", "HVM_CONTEXT", "HVM_PARAMS", "TOOLSTACK", "X86_PV_VCPU_MSRS", "VERIFY", "CHECKPOINT",
        "CHECKPOINT_DIRTY_PFN_LIST", "STATIC_DATA_END", "X86_CPUID_POLICY", "X86_MSR_POLICY", "UNKNOWN",
      ].sort(),
    );
    expect([...seen.libxlTypes].sort()).toEqual(["END", "LIBXC_CONTEXT", "EMULATOR_XENSTORE_DATA", "EMULATOR_CONTEXT", "CHECKPOINT_END", "CHECKPOINT_STATE", "UNKNOWN"].sort());
  });

  test("libxc versions 2 and 3, PV and HVM, both byte orders at every layer, a page size other than 4096, checkpoints, xl configs", () => {
    expect([...seen.versions].sort()).toEqual([2, 3]);
    expect([...seen.domainTypes].sort()).toEqual([1, 2]);
    expect(seen.libxcBigEndian).toEqual(new Set([false, true]));
    expect(seen.libxlBigEndian).toEqual(new Set([false, true]));
    expect(seen.xlByteOrders).toEqual(new Set(["little", "big"]));
    expect([...seen.pageShifts].some((shift) => shift !== 12)).toBe(true);
    expect(seen.checkpointed).toBe(true);
    expect(seen.xlWithConfig).toBe(true);
    for (const layer of ["xl", "libxl", "libxc"]) expect(decodable.some((e) => e.layer === layer && e.source === "generated" && e.expect === "valid"), layer).toBe(true);
    expect(decodable.filter((e) => e.source === "captured").length).toBe(3);
  });

  test("a negative vector for every error code the decoder raises on bytes", () => {
    const codes = new Set(decodable.flatMap((entry) => (entry.expect === "valid" ? [] : [entry.expect.code])));
    expect([...codes].sort()).toEqual(
      ["TRUNCATED", "BAD_MAGIC", "BAD_VERSION", "RECORD_TOO_LARGE", "BAD_LENGTH", "TRAILING_DATA", "BAD_FIELD", "BAD_PAGE_TYPE", "UNKNOWN_RECORD", "UNEXPECTED_RECORD", "UNSUPPORTED"].sort(),
    );
  });
});
