/**
 * The JSON stream document of files in containers: libvirt's save image
 * (around a libxl or a legacy stream) and xenopsd's suspend images (the
 * structured layout's chunks before and after the stream, the legacy
 * layout and its QEMU record). encode(decode(f)) is f byte for byte over
 * the container arbitraries, both storages, with bytes after the image;
 * the document's shape; container documents that no decoder could have
 * read fail with BAD_VALUE naming the JSON path.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isXenStreamError } from "../../src/index.js";
import { documentToBytes, saveFileToDocument } from "../../src/inspect/document.js";
import { encodeSaveFile, type SaveFile } from "../../src/savefile.js";
import { legacyContainerImage, libvirtSaveImage, libxcStream, libxlStream, xenopsdSuspendImage } from "../../src/testing/index.js";
import { encodeXenopsRecord } from "../../src/xenopsd/record.js";
import { MIGRATE_PERMISSION_TO_GO } from "../../src/xl/migration.js";
import { cat } from "../helpers/hex.js";

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : length;
}

async function roundTrip(bytes: Uint8Array, inline: boolean): Promise<Uint8Array> {
  const { json, pages } = saveFileToDocument(bytes, { pages: inline ? "inline" : "file" });
  return documentToBytes(JSON.parse(json), pages);
}

const images = fc.oneof(
  libvirtSaveImage({ lenient: true, lenientHeader: true }).map((image) => image.bytes),
  xenopsdSuspendImage({ lenient: true }).map((image) => image.bytes),
  legacyContainerImage().map((image) => image.bytes),
);

describe("containers in the stream document", () => {
  it("encode(decode(image)) is the image: libvirt, xenopsd structured and legacy, legacy streams inside, both storages", async () => {
    await fc.assert(
      fc.asyncProperty(images, fc.boolean(), async (bytes, inline) => {
        expect(firstDifference(await roundTrip(bytes, inline), bytes)).toBe(-1);
      }),
      { numRuns: 120 },
    );
  });

  it("keeps bytes after the image as the trailer", async () => {
    const trailer = fc.oneof(fc.constant(MIGRATE_PERMISSION_TO_GO), fc.uint8Array({ minLength: 1, maxLength: 40 }));
    const complete = fc.oneof(libvirtSaveImage().map((image) => image.bytes), xenopsdSuspendImage().map((image) => image.bytes));
    await fc.assert(
      fc.asyncProperty(complete, trailer, fc.boolean(), async (image, tail, inline) => {
        const bytes = cat(image, tail);
        const { json, pages } = saveFileToDocument(bytes, { pages: inline ? "inline" : "file" });
        expect((JSON.parse(json) as { trailer?: unknown }).trailer).toBeDefined();
        expect(firstDifference(await documentToBytes(JSON.parse(json), pages), bytes)).toBe(-1);
      }),
      { numRuns: 40 },
    );
  });

  it("writes the libvirt header's fields and XML, then the stream", async () => {
    const [image] = fc.sample(libvirtSaveImage(), { numRuns: 1, seed: 7 }) as [{ value: SaveFile; bytes: Uint8Array }];
    const document = JSON.parse(saveFileToDocument(image.bytes).json) as Record<string, unknown>;
    const container = image.value.container as { kind: "libvirt"; header: { xml: Uint8Array; version: number; unused: number[] } };
    let xml = "";
    for (const byte of container.header.xml) xml += String.fromCharCode(byte);
    expect(Object.keys(document)).toEqual(["document", "version", "pages", "container", "format", "stream", "pagesLength"]);
    expect(document.container).toEqual({ kind: "libvirt", header: { byteOrder: "little", version: container.header.version, xml: { ascii: xml }, unused: container.header.unused } });
    expect(document.format).toBe("libxl");
  });

  it("writes xenopsd chunks: before the stream up to its chunk, the Xenops record as text, blobs in the page file, the rest after the stream", async () => {
    const libxc = fc.sample(libxcStream(), { numRuns: 1, seed: 3 })[0] as { value: SaveFile["stream"] };
    const record = encodeXenopsRecord({ time: "20260101T00:00:00Z", wordSize: 64, vmStr: "(vm)", xsSubtree: [] });
    const qemu = Uint8Array.of(1, 2, 3, 4, 5);
    const image = encodeSaveFile({
      format: "libxc",
      stream: libxc.value,
      container: {
        kind: "xenopsd",
        layout: "structured",
        streamChunk: 1,
        chunks: [
          { type: "Xenops", length: BigInt(record.length), body: record },
          { type: "Libxc", length: 0n },
          { type: "Qemu_xen", length: 5n, body: qemu },
          { type: "End_of_image", length: 0n },
        ],
      },
    } as SaveFile);
    const { json, pages } = saveFileToDocument(image);
    const document = JSON.parse(json) as Record<string, unknown>;
    let text = "";
    for (const byte of record) text += String.fromCharCode(byte);
    expect(document.container).toEqual({
      kind: "xenopsd",
      layout: "structured",
      chunks: [
        { type: "Xenops", length: `0x${record.length.toString(16)}`, record: { ascii: text } },
        { type: "Libxc", length: "0x0" },
      ],
    });
    expect(document.format).toBe("libxc");
    expect(document.containerTail).toEqual([
      { type: "Qemu_xen", length: "0x5", body: { offset: pages.length - 5, length: 5 } },
      { type: "End_of_image", length: "0x0" },
    ]);
    expect([...pages.subarray(pages.length - 5)]).toEqual([...qemu]);
    expect(firstDifference(await documentToBytes(document, pages), image)).toBe(-1);
  });

  it("writes a legacy stream as its payload bytes, in the page file or inline", async () => {
    const [image] = fc.sample(legacyContainerImage({ container: "libvirt" }), { numRuns: 1, seed: 5 }) as unknown as [{ bytes: Uint8Array; value: { bytes: Uint8Array } }];
    const file = saveFileToDocument(image.bytes);
    const document = JSON.parse(file.json) as { format: string; stream: { convertsTo: string; payload: { offset: number; length: number } } };
    expect(document.format).toBe("legacy");
    expect(document.stream).toEqual({ convertsTo: "libxl", payload: { offset: 0, length: image.value.bytes.length } });
    expect(firstDifference(file.pages, image.value.bytes)).toBe(-1);
    const inline = JSON.parse(saveFileToDocument(image.bytes, { pages: "inline" }).json) as { stream: { payload: unknown } };
    expect(typeof inline.stream.payload).toBe("string");
  });
});

describe("bad container documents", () => {
  const libxl = fc.sample(libxlStream(), { numRuns: 1, seed: 11 })[0] as { value: SaveFile["stream"] };
  const xenopsd = encodeSaveFile({
    format: "libxl",
    stream: libxl.value,
    container: { kind: "xenopsd", layout: "structured", streamChunk: 0, chunks: [{ type: "Libxl", length: 0n }, { type: "End_of_image", length: 0n }] },
  } as SaveFile);
  const fresh = (): Record<string, unknown> & { container: { chunks: Array<Record<string, unknown>> }; containerTail: Array<Record<string, unknown>> } =>
    JSON.parse(saveFileToDocument(xenopsd, { pages: "inline" }).json);

  async function failure(doc: unknown): Promise<{ code: string; message: string }> {
    try {
      await documentToBytes(doc);
    } catch (error) {
      if (!isXenStreamError(error)) throw error;
      return { code: error.code, message: error.message };
    }
    throw new Error("no error");
  }

  it("round-trips unchanged", async () => {
    expect(firstDifference(await documentToBytes(fresh()), xenopsd)).toBe(-1);
  });

  it("names the JSON path of what no decoder could have read", async () => {
    const cases: Array<[(doc: ReturnType<typeof fresh>) => void, string]> = [
      [(doc) => ((doc.container.chunks[0] as Record<string, unknown>).type = "Libxc"), "document $.container.chunks: the last chunk before the stream must be Libxl for a libxl stream"],
      [(doc) => ((doc.container.chunks[0] as Record<string, unknown>).type = "Bogus"), "document $.container.chunks[0].type: not a xenopsd chunk type"],
      [(doc) => doc.containerTail.pop(), "document $.containerTail: a structured xenopsd container ends with one End_of_image chunk, after every other"],
      [(doc) => doc.containerTail.unshift({ type: "Libxc", length: "0x0" }), "document $.containerTail[0]: a Libxc chunk would need a second stream"],
      [(doc) => (doc.xl = { byteOrder: "little", mandatoryFlags: 1, optionalFlags: 0 }), "document $.xl: an xl header and a libvirt/xenopsd container exclude each other"],
      [(doc) => ((doc.container as Record<string, unknown>).kind = "qemu"), 'document $.container.kind: expected "libvirt" or "xenopsd"'],
      [(doc) => (doc.containerTail[0] = { type: "Xenops", length: "0x1", body: "AA==" }), 'document $.containerTail[0].body: a Xenops chunk\'s bytes are its "record"'],
      [(doc) => (doc.legacyQemu = "AA=="), "document $.legacyQemu: a structured xenopsd container has no legacy QEMU record"],
    ];
    for (const [edit, message] of cases) {
      const doc = fresh();
      edit(doc);
      const error = await failure(doc).catch((problem: unknown) => ({ code: "none", message: `${message}: ${String(problem)}` }));
      expect([error.code, error.message.slice(0, message.length)]).toEqual(["BAD_VALUE", message]);
    }
  });
});
