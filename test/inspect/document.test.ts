/**
 * The lossless JSON stream document: encode(decode(s)) is s byte for byte
 * over the stream arbitraries (strict and lenient, both byte orders,
 * checkpointed, COLO, xl files with and without config, trailing bytes),
 * the captured Xen 4.17 files and every spec vector the decoders accept;
 * exact document text for a small stream; bad documents fail with
 * BAD_VALUE naming the JSON path, and only with XenStreamError.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it, test } from "vitest";
import { isXenStreamError, type SaveFileDecoderOptions } from "../../src/index.js";
import {
  DocumentWriter,
  documentToBytes,
  documentToStream,
  saveFileToDocument,
  type DocumentPiece,
} from "../../src/inspect/document.js";
import { base64ToBytes, bytesToBase64 } from "../../src/inspect/document-base64.js";
import { libxcStream, libxlStream, xlSaveFile } from "../../src/testing/index.js";
import { encodeLibxcStream } from "../../src/libxc/stream.js";
import { MIGRATE_PERMISSION_TO_GO } from "../../src/xl/migration.js";
import { thrown } from "../helpers/errors.js";
import { cat } from "../helpers/hex.js";

async function roundTrip(bytes: Uint8Array, options: SaveFileDecoderOptions & { pages?: "file" | "inline" } = {}): Promise<Uint8Array> {
  const { json, pages } = saveFileToDocument(bytes, options);
  return documentToBytes(JSON.parse(json), pages);
}

/** Bytes-equal, with the first differing offset in the failure. */
function expectSame(actual: Uint8Array, expected: Uint8Array): void {
  let at = -1;
  const length = Math.min(actual.length, expected.length);
  for (let i = 0; i < length && at < 0; i++) if (actual[i] !== expected[i]) at = i;
  if (at < 0 && actual.length !== expected.length) at = length;
  expect(at).toBe(-1);
}

const streams = fc.oneof(
  libxcStream({ byteOrder: "any" }).map((s) => s.bytes),
  libxcStream({ byteOrder: "any", lenient: true }).map((s) => s.bytes),
  libxcStream({ lenient: true, checkpoints: 2 }).map((s) => s.bytes),
  libxlStream({ byteOrder: "any", lenient: true }).map((s) => s.bytes),
  libxlStream({ lenient: true, checkpoints: 3 }).map((s) => s.bytes),
  libxlStream({ lenient: true, checkpoints: 2, colo: true }).map((s) => s.bytes),
  xlSaveFile({ byteOrder: "any", lenient: true }).map((s) => s.bytes),
  xlSaveFile({ checkpoints: 1 }).map((s) => s.bytes),
);

describe("encode(decode(stream)) is the stream", () => {
  it("over the stream arbitraries, pages in a side file and inline", async () => {
    await fc.assert(
      fc.asyncProperty(streams, fc.boolean(), async (bytes, inline) => {
        expectSame(await roundTrip(bytes, { pages: inline ? "inline" : "file" }), bytes);
      }),
      { numRuns: 150 },
    );
  });

  it("keeps the bytes after a stream's END: xl's migration message, or any data", async () => {
    const plain = fc.oneof(
      libxcStream({ lenient: true }).map((s) => s.bytes),
      libxlStream({ lenient: true }).map((s) => s.bytes),
      xlSaveFile({ lenient: true }).map((s) => s.bytes),
    );
    const trailer = fc.oneof(fc.constant(MIGRATE_PERMISSION_TO_GO), fc.uint8Array({ minLength: 1, maxLength: 70 }));
    await fc.assert(
      fc.asyncProperty(plain, trailer, fc.boolean(), async (stream, tail, inline) => {
        const bytes = cat(stream, tail);
        const { json, pages } = saveFileToDocument(bytes, { pages: inline ? "inline" : "file" });
        const document = JSON.parse(json) as { trailer: unknown };
        expect(document.trailer).toEqual(inline ? bytesToBase64(tail) : { offset: pages.length - tail.length, length: tail.length });
        expectSame(await documentToBytes(document, pages), bytes);
      }),
      { numRuns: 60 },
    );
  });

  const captured = ["xen-4.17-hvm-save.skel.xl", "xen-4.17-pv-save.skel.xl", "xen-4.17-pvh-save.skel.xl"];
  test.each(captured)("captured %s", async (name) => {
    const bytes = new Uint8Array(readFileSync(new URL(`../../spec-vectors/captured/${name}`, import.meta.url)));
    expectSame(await roundTrip(bytes), bytes);
    expectSame(await roundTrip(bytes, { pages: "inline" }), bytes);
  });

  interface Vector {
    name: string;
    file: string;
    layer: string;
    options: SaveFileDecoderOptions;
    expect: "valid" | { code: string; offset: number };
  }
  const manifest = JSON.parse(readFileSync(new URL("../../spec-vectors/manifest.json", import.meta.url), "utf8")) as { vectors: Vector[] };
  const vectors = manifest.vectors.filter((v) => v.layer !== "legacy");
  it("has the spec vectors to read", () => expect(vectors.length).toBeGreaterThan(150));
  test.each(vectors.map((v) => [v.name, v] as const))("spec vector %s", async (_name, vector) => {
    const bytes = new Uint8Array(readFileSync(new URL(`../../spec-vectors/${vector.file}`, import.meta.url)));
    const options = { ...vector.options, format: vector.layer as "xl" | "libxl" | "libxc" };
    if (vector.expect === "valid") {
      expectSame(await roundTrip(bytes, options), bytes);
      return;
    }
    const { code, offset } = vector.expect;
    if (code === "TRAILING_DATA") {
      // Bytes after the end are the document's trailer: kept, not an error.
      const { json, pages } = saveFileToDocument(bytes, options);
      const trailer = (JSON.parse(json) as { trailer: { offset: number; length: number } }).trailer;
      expect(trailer.length).toBe(bytes.length - offset);
      expectSame(await documentToBytes(JSON.parse(json), pages), bytes);
      return;
    }
    const error = thrown(() => saveFileToDocument(bytes, options));
    expect(isXenStreamError(error) && { code: error.code, offset: error.offset }).toEqual({ code, offset });
  });
});

// A small libxc stream: every field kind once.
const SMALL = encodeLibxcStream({
  imageHeader: { version: 3, options: 0, reserved1: 0, reserved2: 0 },
  domainHeader: { type: 1, pageShift: 12, reserved: 0, xenMajor: 4, xenMinor: 17 },
  records: [
    { type: "X86_PV_INFO", guestWidth: 8, ptLevels: 4, reserved: new Uint8Array(6) },
    { type: "PAGE_DATA", reserved: 0, entries: [{ pfn: 5, type: 0, reserved: 0 }, { pfn: 6, type: 0xf, reserved: 0 }], pages: new Uint8Array(4096).fill(7) },
    { type: "X86_TSC_INFO", mode: 0, khz: 2000000, nsec: 0xffff_ffff_ffff_ffffn, incarnation: 1, reserved: 0 },
    { type: "HVM_CONTEXT", data: Uint8Array.of(1, 2, 3), padding: Uint8Array.of(0, 0, 9, 0, 0) },
    { type: "END" },
  ],
});

describe("document text", () => {
  it("is the decoder's values, 64-bit values as 0x strings, bytes as base64, pages by reference", () => {
    const { json, pages } = saveFileToDocument(SMALL, { pagesFile: "small.pages" });
    expect(json).toBe(
      `{
  "document": "xen-stream-document",
  "version": 1,
  "pages": {"storage":"file","file":"small.pages"},
  "format": "libxc",
  "stream": {
    "imageHeader": {"version":3,"options":0,"reserved1":0,"reserved2":0},
    "domainHeader": {"type":1,"pageShift":12,"reserved":0,"xenMajor":4,"xenMinor":17},
    "records": [
      {"type":"X86_PV_INFO","guestWidth":8,"ptLevels":4,"reserved":"AAAAAAAA"},
      {"type":"PAGE_DATA","reserved":0,"entries":[{"pfn":5,"type":0,"reserved":0},{"pfn":6,"type":15,"reserved":0}],"pages":{"offset":0,"length":4096}},
      {"type":"X86_TSC_INFO","mode":0,"khz":2000000,"nsec":"0xffffffffffffffff","incarnation":1,"reserved":0},
      {"type":"HVM_CONTEXT","data":"AQID","padding":"AAAJAAA="},
      {"type":"END"}
    ]
  },
  "pagesLength": 4096
}
`,
    );
    expect(pages).toEqual(new Uint8Array(4096).fill(7));
  });

  it("is the same whatever the chunking of the events' input", async () => {
    const { json } = saveFileToDocument(SMALL);
    const { SaveFileDecoder } = await import("../../src/index.js");
    const decoder = new SaveFileDecoder();
    const writer = new DocumentWriter();
    let text = "";
    const take = (pieces: DocumentPiece[]): void => {
      for (const piece of pieces) if (piece.kind === "json") text += piece.text;
    };
    for (let i = 0; i < SMALL.length; i += 5) decoder.pushEach(SMALL.subarray(i, i + 5), (event) => take(writer.add(event)));
    decoder.end();
    take(writer.finish());
    expect(text).toBe(json);
  });

  it("writes text-like bytes (xl config, xenstore entries) as {ascii}, other bytes as base64", () => {
    const file = fc.sample(xlSaveFile({ guest: "hvm" }), { numRuns: 30, seed: 4 }).find((s) => s.value.xl?.config !== undefined);
    if (file === undefined) throw new Error("no sample with a config");
    const document = JSON.parse(saveFileToDocument(file.bytes).json) as { xl: { config: { ascii: string } } };
    expect(document.xl.config.ascii).toMatch(/^\{\n {4}"c_info": \{[^]*\}\n\0$/);
  });
});

describe("DocumentWriter misuse", () => {
  it("fails with USAGE for events out of order and for a document without a stream", async () => {
    const { SaveFileDecoder } = await import("../../src/index.js");
    const events = new SaveFileDecoder().push(SMALL);
    const writer = new DocumentWriter();
    const record = events[2] as Parameters<DocumentWriter["add"]>[0];
    const early = thrown(() => writer.add(record));
    expect({ code: early.code, offset: early.offset, message: early.message }).toEqual({
      code: "USAGE",
      offset: 40,
      message: "DocumentWriter: libxc record event out of order (writer at start) (at offset 40)",
    });
    const empty = thrown(() => new DocumentWriter().finish());
    expect(empty.message).toBe("DocumentWriter: finish with the writer at start (no whole stream was added) (at offset 0)");
    expect(thrown(() => new DocumentWriter({ pages: "disk" as "file" })).code).toBe("USAGE");
  });
});

describe("bad documents", () => {
  const good = (): Record<string, unknown> => JSON.parse(saveFileToDocument(SMALL).json) as Record<string, unknown>;
  const pages = saveFileToDocument(SMALL).pages;
  const records = (doc: Record<string, unknown>): Array<Record<string, unknown>> => (doc.stream as { records: Array<Record<string, unknown>> }).records;

  async function failure(doc: unknown, pageFile: Uint8Array = pages): Promise<{ code: string; offset: number; message: string }> {
    try {
      await documentToBytes(doc, pageFile);
    } catch (error) {
      if (!isXenStreamError(error)) throw error;
      return { code: error.code, offset: error.offset, message: error.message };
    }
    throw new Error("no error");
  }

  it("names the JSON path of what is wrong", async () => {
    const cases: Array<[(doc: Record<string, unknown>) => void, string]> = [
      [(d) => (d.document = "crit"), 'document $.document: expected "xen-stream-document", got string "crit"'],
      [(d) => (d.version = 2), "document $.version: this library reads version 1, got number 2"],
      [(d) => (d.extra = 1), 'document $: unknown key "extra"'],
      [(d) => delete (records(d)[2] as Record<string, unknown>).nsec, 'document $.stream.records[2]: missing key "nsec"'],
      [(d) => ((records(d)[2] as Record<string, unknown>).nsec = "18446744073709551615"), 'document $.stream.records[2].nsec: expected a 64-bit value as "0x" and lower-case hex without leading zeros, got string "18446744073709551615"'],
      [(d) => ((records(d)[2] as Record<string, unknown>).nsec = "0x0001"), 'document $.stream.records[2].nsec: expected a 64-bit value as "0x" and lower-case hex without leading zeros, got string "0x0001"'],
      [(d) => ((records(d)[3] as Record<string, unknown>).data = "AQI"), "document $.stream.records[3].data: not base64 (length 3 is not a multiple of 4)"],
      [(d) => ((records(d)[3] as Record<string, unknown>).data = "AQJ="), "document $.stream.records[3].data: not base64 (non-zero bits in the last group)"],
      [(d) => ((records(d)[3] as Record<string, unknown>).data = { ascii: "é" }), "document $.stream.records[3].data.ascii: character U+00e9 at 0 is not ASCII (use base64 for other bytes)"],
      [(d) => ((records(d)[0] as Record<string, unknown>).type = "X86_PV_INFOS"), 'document $.stream.records[0].type: not a libxc record type: "X86_PV_INFOS" (records of unknown type are "UNKNOWN" with typeId and body)'],
      [(d) => ((records(d)[0] as Record<string, unknown>).guestWidth = -8), "document $.stream.records[0].guestWidth: expected a non-negative integer, got number -8"],
      [(d) => ((records(d)[1] as Record<string, unknown>).pages = { offset: 8, length: 4096 }), "document $.stream.records[1].pages: offset 8 is not where the page file continues (0)"],
      [(d) => (d.pagesLength = 4095), "document $.pagesLength: the document's page file has 4095 bytes, the one given has 4096"],
      [(d) => (((records(d)[0] as Record<string, unknown>)["toString"] = 1)), 'document $.stream.records[0]: unknown key "toString"'],
      [(d) => ((records(d)[0] as Record<string, unknown>).type = "constructor"), 'document $.stream.records[0].type: not a libxc record type: "constructor" (records of unknown type are "UNKNOWN" with typeId and body)'],
      [(d) => delete ((records(d)[1] as { entries: Array<Record<string, unknown>> }).entries[1] as Record<string, unknown>).pfn, 'document $.stream.records[1].entries[1]: missing key "pfn"'],
      [(d) => (((records(d)[1] as { entries: Array<Record<string, unknown>> }).entries[0] as Record<string, unknown>).pfm = 1), 'document $.stream.records[1].entries[0]: unknown key "pfm"'],
      [(d) => (((records(d)[1] as { entries: Array<Record<string, unknown>> }).entries[0] as Record<string, unknown>).type = 1.5), "document $.stream.records[1].entries[0].type: expected a non-negative integer, got number 1.5"],
      [(d) => (d.format = "qemu"), 'document $.format: expected "libxl", "libxc" or "legacy", got string "qemu"'],
    ];
    for (const [edit, message] of cases) {
      const doc = good();
      edit(doc);
      expect(await failure(doc)).toEqual({ code: "BAD_VALUE", offset: 0, message: `${message} (at offset 0)` });
    }
    expect(await failure(good(), pages.subarray(0, 100))).toEqual({
      code: "BAD_VALUE",
      offset: 0,
      message: "document $.pagesLength: the document's page file has 4096 bytes, the one given has 100 (at offset 0)",
    });
  });

  it("lets the encoders refuse values they cannot write, at the output offset", async () => {
    const doc = good();
    (records(doc)[0] as Record<string, unknown>).guestWidth = 256;
    expect(await failure(doc)).toEqual({ code: "BAD_VALUE", offset: 48, message: "guestWidth must be an integer in 0..255, got 256 (at offset 48)" });
  });

  it("fails only with XenStreamError for any mutation of the JSON", async () => {
    const text = saveFileToDocument(SMALL).json;
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: text.length - 1 }), fc.string({ maxLength: 3 }), fc.nat({ max: 3 }), async (at, insert, remove) => {
        const mutated = text.slice(0, at) + insert + text.slice(at + remove);
        let doc: unknown;
        try {
          doc = JSON.parse(mutated);
        } catch {
          return;
        }
        try {
          await documentToBytes(doc, pages);
        } catch (error) {
          if (!isXenStreamError(error)) throw error;
        }
      }),
      { numRuns: 400 },
    );
  });

  it("documentToStream reads pages one record at a time, in file order", async () => {
    const reads: Array<[number, number]> = [];
    const { json, pages: file } = saveFileToDocument(SMALL);
    const chunks: Uint8Array[] = [];
    for await (const chunk of documentToStream(JSON.parse(json), { read: (offset, length) => (reads.push([offset, length]), file.subarray(offset, offset + length)) })) chunks.push(chunk);
    expect(reads).toEqual([[0, 4096]]);
    expectSame(cat(...chunks), SMALL);
  });
});

describe("base64", () => {
  it("is RFC 4648 base64 both ways", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = bytesToBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString("base64"));
        expect(base64ToBytes(text, "x")).toEqual(bytes);
      }),
    );
  });
  it("rejects what is not canonical base64", () => {
    for (const [text, why] of [
      ["A===", "character \"=\" at 1"],
      ["AB=C", "character \"=\" at 2"],
      ["AB-_", 'character "-" at 2'],
      ["QR==", "non-zero bits in the last group"],
    ] as const) {
      const error = thrown(() => base64ToBytes(text, "$.x"));
      expect(isXenStreamError(error) && error.message).toBe(`document $.x: not base64 (${why}) (at offset 0)`);
    }
  });
});
