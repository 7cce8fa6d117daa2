// The streaming encoder through the containers: libvirt save images and
// xenopsd suspend images (both layouts, the legacy streams inside them)
// come out of encodeSaveFileChunks byte-identical to encodeSaveFile, for
// every chunk size and both buffer modes, with records from arrays or
// async generators; the container rules fail the same way.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  convertContainer,
  decodeAnySaveFile,
  decodeSaveFile,
  encodeSaveFile,
  isXenStreamError,
  libvirtHeaderFor,
  type AnySaveFile,
  type LibxcStream,
  type LibxlStream,
  type SaveFile,
} from "../../src/index.js";
import { decodeSaveFileAsync, encodeEventChunks, encodeSaveFileChunks, type ChunkEncodeOptions, type StreamingLibxcStream, type StreamingSaveFile } from "../../src/io/index.js";
import { legacyContainerImage, libvirtSaveImage, xenopsdSuspendImage } from "../../src/testing/index.js";
import { chunksOf, collect, collectBytes, expectSameBytes, rejection } from "./helpers.js";

const CAPTURED = ["pv", "hvm", "pvh"].map(
  (name) => [name, new Uint8Array(readFileSync(new URL(`../../spec-vectors/captured/xen-4.17-${name}-save.skel.xl`, import.meta.url)))] as const,
);

const MODES: ChunkEncodeOptions[] = [{}, { chunkSize: 1 }, { chunkSize: 7 }, { chunkSize: 100 }, { chunkSize: 4096, reuseBuffer: true }, { chunkSize: 1, reuseBuffer: true }];

const RECORD = { time: "20261203T07:00:00Z", wordSize: 64, xsSubtree: [] as Array<[string, string]> };
const XML = "<domain type='xen'>\n  <name>streamed</name>\n</domain>\n";

async function* slowly<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

function libxcSlowly(stream: LibxcStream): StreamingLibxcStream {
  return { imageHeader: stream.imageHeader, domainHeader: stream.domainHeader, records: slowly(stream.records) };
}

/** The same file with every record list an async generator (the streaming encoder's intended input). */
function streaming(file: AnySaveFile): StreamingSaveFile {
  if (file.format === "legacy") return file;
  const around = file.container === undefined ? {} : { container: file.container };
  const xl = file.xl === undefined ? {} : { xl: file.xl };
  if (file.format === "libxc") return { format: "libxc", ...xl, ...around, stream: libxcSlowly(file.stream) };
  const stream: LibxlStream = file.stream;
  const items = stream.items.map((item) => {
    if (item.type === "LIBXC_STREAM") return { type: "LIBXC_STREAM" as const, stream: libxcSlowly(item.stream) };
    if (item.type === "LIBXC_RESUME") return { type: "LIBXC_RESUME" as const, records: slowly(item.records) };
    return item;
  });
  return { format: "libxl", ...xl, ...around, stream: { header: stream.header, items: slowly(items) } };
}

/** The captured streams in every container the converter makes. */
function wrapped(): Array<[string, SaveFile, Uint8Array]> {
  const out: Array<[string, SaveFile, Uint8Array]> = [];
  for (const [name, bytes] of CAPTURED) {
    const file = decodeSaveFile(bytes);
    for (const to of ["libvirt", "xenopsd", "libxl", "libxc"] as const) {
      const { file: moved } = convertContainer(file, to, { xml: XML, record: RECORD });
      out.push([`${name} in ${to}`, moved, encodeSaveFile(moved)]);
    }
  }
  return out;
}

describe("encodeSaveFileChunks writes the containers as encodeSaveFile does", () => {
  test.each(wrapped())("captured %s: every mode, values and async records, and the decoder's events", async (_name, file, bytes) => {
    for (const options of MODES) {
      expectSameBytes(await collectBytes(encodeSaveFileChunks(file, options)), bytes);
      expectSameBytes(await collectBytes(encodeSaveFileChunks(streaming(file), options)), bytes);
    }
    expectSameBytes(await collectBytes(encodeEventChunks(decodeSaveFileAsync(chunksOf(bytes, 333)), { chunkSize: 64 })), bytes);
  });

  test("a xenopsd image of the captured HVM stream: signature, Xenops, Libxc with length 0, the stream, Qemu_trad, End_of_image", async () => {
    const [, , bytes] = wrapped().find(([name]) => name === "hvm in xenopsd") as [string, SaveFile, Uint8Array];
    const chunks = await collect(encodeSaveFileChunks(decodeSaveFile(bytes), { chunkSize: 16 }));
    const image = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk)));
    const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
    expect(image.subarray(0, 15).toString("latin1")).toBe("XenSavedDomv2-\n");
    const record = "((time 20261203T07:00:00Z)(word_size 64)(xs_subtree()))";
    expect([view.getBigUint64(15, true), view.getBigUint64(23, true)]).toEqual([0x000fn, BigInt(record.length)]);
    expect(image.subarray(31, 31 + record.length).toString("latin1")).toBe(record);
    const libxc = 31 + record.length;
    // The Libxc chunk as xenopsd writes it (`write_header main_fd (Libxc, 0L)`): length 0, the stream right after.
    expect([view.getBigUint64(libxc, true), view.getBigUint64(libxc + 8, true)]).toEqual([0x00f0n, 0n]);
    expect([...image.subarray(libxc + 16, libxc + 24)]).toEqual(new Array(8).fill(0xff));
    // The footer: End_of_image with length 0, the last 16 bytes.
    expect([view.getBigUint64(image.length - 16, true), view.getBigUint64(image.length - 8, true)]).toEqual([0xffffn, 0n]);
    const qemu = image.length - 16 - 16 - 7777;
    expect([view.getBigUint64(qemu, true), view.getBigUint64(qemu + 8, true)]).toEqual([0x0f00n, 7777n]);
  });

  test("a Libxl chunk keeps the length field the value has (xenopsd never writes one; 0 and another value both round-trip)", async () => {
    const [, hvm] = CAPTURED[1] as readonly [string, Uint8Array];
    const { file } = convertContainer(decodeSaveFile(hvm), "xenopsd", { record: RECORD });
    if (file.container?.kind !== "xenopsd" || file.container.layout !== "structured") throw new Error("expected a structured xenopsd container");
    const libxlFile = convertContainer(decodeSaveFile(hvm), "libxl").file;
    if (libxlFile.format !== "libxl") throw new Error("expected libxl");
    for (const length of [0n, 12345n]) {
      const chunks = file.container.chunks.filter((chunk) => chunk.type !== "Qemu_trad").map((chunk) => (chunk.type === "Libxc" ? { type: "Libxl" as const, length } : chunk));
      const value: SaveFile = { format: "libxl", container: { kind: "xenopsd", layout: "structured", chunks, streamChunk: 1 }, stream: libxlFile.stream };
      const whole = encodeSaveFile(value);
      const streamed = await collectBytes(encodeSaveFileChunks(streaming(value), { chunkSize: 50 }));
      expectSameBytes(streamed, whole);
      const at = 15 + 16 + 55;
      expect(Buffer.from(streamed).readBigUInt64LE(at + 8)).toBe(length);
      expectSameBytes(encodeSaveFile(decodeSaveFile(streamed)), streamed);
    }
  });

  test("property: generated libvirt, xenopsd and legacy-in-container images, every mode, arrays or async generators", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          libvirtSaveImage({ maxPageRecords: 2, maxPagesPerRecord: 2, byteOrder: "any" }) as fc.Arbitrary<{ value: AnySaveFile; bytes: Uint8Array }>,
          xenopsdSuspendImage({ stream: "any", maxBlobs: 4, maxPageRecords: 2 }) as fc.Arbitrary<{ value: AnySaveFile; bytes: Uint8Array }>,
          legacyContainerImage({ maxPages: 4 }),
        ),
        fc.constantFrom(...MODES),
        fc.boolean(),
        async ({ value, bytes }, options, asyncRecords) => {
          expectSameBytes(encodeSaveFile(value), bytes);
          expectSameBytes(await collectBytes(encodeSaveFileChunks(asyncRecords ? streaming(value) : value, options)), bytes);
          // Decoded again and streamed out: the same bytes (the decoders are lossless).
          expectSameBytes(await collectBytes(encodeSaveFileChunks(decodeAnySaveFile(bytes), options)), bytes);
        },
      ),
      { numRuns: 40 },
    );
  });

  test("property: chunking invariance: every chunk size gives the same bytes, no chunk is empty, reuse mode copies nothing it should not", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(libvirtSaveImage({ maxPageRecords: 2 }), xenopsdSuspendImage({ stream: "any", maxBlobs: 3, maxPageRecords: 2 })),
        fc.integer({ min: 1, max: 300 }),
        async ({ value, bytes }, chunkSize) => {
          for (const reuseBuffer of [false, true]) {
            const chunks = await collect(encodeSaveFileChunks(value, { chunkSize, reuseBuffer }));
            // Taken one at a time as they come, copied for reuse mode: concatenation is the file.
            expect(chunks.every((chunk) => chunk.length > 0)).toBe(true);
            if (!reuseBuffer) expectSameBytes(Buffer.concat(chunks.map((chunk) => Buffer.from(chunk))), bytes);
          }
          expectSameBytes(await collectBytes(encodeSaveFileChunks(value, { chunkSize, reuseBuffer: true })), bytes);
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("the container rules, as encodeSaveFile applies them", () => {
  const [, pv] = CAPTURED[0] as readonly [string, Uint8Array];
  const libxl = decodeSaveFile(pv);
  const libxc = convertContainer(libxl, "libxc").file;

  async function sameFailure(file: AnySaveFile): Promise<{ code: string; offset: number; message: string }> {
    let whole: unknown;
    try {
      encodeSaveFile(file);
    } catch (error) {
      whole = error;
    }
    const streamed = await rejection(collectBytes(encodeSaveFileChunks(file)));
    if (!isXenStreamError(whole) || !isXenStreamError(streamed)) throw new Error(`expected XenStreamErrors, got ${String(whole)} and ${String(streamed)}`);
    expect({ code: streamed.code, offset: streamed.offset, message: streamed.message }).toEqual({ code: whole.code, offset: whole.offset, message: whole.message });
    return streamed;
  }

  test("a libvirt container around a bare libxc stream", async () => {
    const file: SaveFile = { format: "libxc", container: { kind: "libvirt", header: libvirtHeaderFor(XML) }, stream: libxc.stream as LibxcStream };
    expect(await sameFailure(file)).toMatchObject({ code: "BAD_VALUE", offset: 0, message: expect.stringContaining("not a bare libxc stream") });
  });

  test("an xl header beside a container", async () => {
    const file = { ...convertContainer(libxl, "libvirt", { xml: XML }).file, xl: libxl.xl } as SaveFile;
    expect(await sameFailure(file)).toMatchObject({ code: "BAD_VALUE", message: expect.stringContaining("exclude each other") });
  });

  test("a xenopsd image without End_of_image, and one whose stream chunk does not match the stream", async () => {
    const { file } = convertContainer(libxl, "xenopsd", { record: RECORD });
    if (file.container?.kind !== "xenopsd" || file.container.layout !== "structured") throw new Error("expected a structured xenopsd container");
    const chunks = file.container.chunks;
    expect(await sameFailure({ ...file, container: { ...file.container, chunks: chunks.slice(0, -1) } })).toMatchObject({ code: "BAD_VALUE", message: expect.stringContaining("must be End_of_image") });
    const asLibxl = { ...file, format: "libxl", stream: libxl.stream } as SaveFile;
    expect(await sameFailure(asLibxl)).toMatchObject({ code: "BAD_VALUE", message: expect.stringContaining("must be a Libxl chunk") });
  });

  test("a blob chunk after the stream whose length disagrees with its body fails at its absolute offset", async () => {
    const [, hvm] = CAPTURED[1] as readonly [string, Uint8Array];
    const { file } = convertContainer(decodeSaveFile(hvm), "xenopsd", { record: RECORD });
    if (file.container?.kind !== "xenopsd" || file.container.layout !== "structured") throw new Error("expected a structured xenopsd container");
    const chunks = file.container.chunks.map((chunk) => (chunk.type === "Qemu_trad" ? { ...chunk, length: chunk.length + 1n } : chunk));
    const failure = await sameFailure({ ...file, container: { ...file.container, chunks } });
    expect(failure.code).toBe("BAD_VALUE");
    expect(failure.offset).toBe(encodeSaveFile(file).length - 16 - 16 - 7777);
  });
});
