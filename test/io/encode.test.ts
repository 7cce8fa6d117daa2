// The streaming encoders: the same bytes as the whole-buffer encoders for
// every chunk size and both buffer modes, item-order rules, batching, abort,
// and decode -> encode as a byte-exact streaming pipe.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  decodeSaveFile,
  encodeLibxcStream,
  encodeLibxlStream,
  encodeSaveFile,
  type LibxcRecord,
  type LibxlItem,
  type LibxlStream,
  type SaveFile,
  XenStreamError,
} from "../../src/index.js";
import {
  decodeSaveFileAsync,
  encodeEventChunks,
  encodeLibxcStreamChunks,
  encodeLibxlStreamChunks,
  encodeSaveFileChunks,
  type ChunkEncodeOptions,
} from "../../src/io/index.js";
import { libxcStream, libxlStream, xlSaveFile } from "../../src/testing/index.js";
import { generatePvStream, pvStreamHeaders, pvStreamLayout, pvStreamRecords, type PvStreamOptions } from "../../src/testing/pv-stream-generator.js";
import { chunksOf, collect, collectBytes, concat, expectSameBytes, memoryReader, rejection } from "./helpers.js";

const CAPTURED = ["pv", "hvm", "pvh"].map(
  (name) => [name, new Uint8Array(readFileSync(new URL(`../../spec-vectors/captured/xen-4.17-${name}-save.skel.xl`, import.meta.url)))] as const,
);

const MODES: ChunkEncodeOptions[] = [
  {},
  { chunkSize: 1 },
  { chunkSize: 100 },
  { chunkSize: 4096, reuseBuffer: true },
  { chunkSize: 1, reuseBuffer: true },
];

async function* slowly<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

describe("same bytes as the whole-buffer encoders", () => {
  test("captured save files, as values and as decoded events", async () => {
    for (const [, bytes] of CAPTURED) {
      const file = decodeSaveFile(bytes);
      for (const options of MODES) {
        expectSameBytes(await collectBytes(encodeSaveFileChunks(file, options)), bytes);
        expectSameBytes(await collectBytes(encodeEventChunks(decodeSaveFileAsync(chunksOf(bytes, 333)), options)), bytes);
      }
    }
  });

  test("property: libxc, libxl (plain, Remus, COLO) and xl streams, records from arrays or async generators", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          libxcStream({ byteOrder: "any", lenient: true }).map(({ value, bytes }) => ({ kind: "libxc" as const, value, bytes })),
          libxlStream({ lenient: true, checkpoints: 2 }).map(({ value, bytes }) => ({ kind: "libxl" as const, value, bytes })),
          libxlStream({ colo: true, checkpoints: 3 }).map(({ value, bytes }) => ({ kind: "libxl" as const, value, bytes })),
          xlSaveFile({ lenient: true }).map(({ value, bytes }) => ({ kind: "xl" as const, value, bytes })),
        ),
        fc.constantFrom(...MODES),
        fc.boolean(),
        async (stream, options, asyncRecords) => {
          let chunks: AsyncIterable<Uint8Array>;
          if (stream.kind === "libxc") {
            const { imageHeader, domainHeader, records } = stream.value;
            chunks = encodeLibxcStreamChunks({ imageHeader, domainHeader }, asyncRecords ? slowly(records) : records, options);
            expectSameBytes(encodeLibxcStream(stream.value), stream.bytes);
          } else if (stream.kind === "libxl") {
            const items = stream.value.items.map((item) =>
              asyncRecords && item.type === "LIBXC_RESUME" ? { ...item, records: slowly(item.records) } : item,
            );
            chunks = encodeLibxlStreamChunks(stream.value.header, asyncRecords ? slowly(items) : items, options);
          } else {
            chunks = encodeSaveFileChunks(stream.value, options);
          }
          expectSameBytes(await collectBytes(chunks), stream.bytes);
          // And through the events of the async decoder.
          expectSameBytes(await collectBytes(encodeEventChunks(decodeSaveFileAsync(memoryReader(stream.bytes, 97, false)), options)), stream.bytes);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("a generated PV stream: encoding its record values gives the generator's bytes, in every format", async () => {
    for (const format of ["libxc", "libxl", "xl"] as const) {
      const options: PvStreamOptions = { size: 300_000, format, batchPages: 9 };
      const expected = concat(generatePvStream(options));
      const { xl, libxl, imageHeader, domainHeader } = pvStreamHeaders(options);
      const libxc = { imageHeader, domainHeader, records: pvStreamRecords(options) };
      let chunks: AsyncIterable<Uint8Array>;
      if (format === "libxc") chunks = encodeLibxcStreamChunks(libxc, libxc.records);
      else {
        const items = [{ type: "LIBXC_CONTEXT" } as const, { type: "LIBXC_STREAM" as const, stream: libxc }, { type: "END" } as const];
        const stream = { header: libxl ?? { version: 2, options: 0 }, items };
        chunks = format === "libxl" ? encodeLibxlStreamChunks(stream.header, items) : encodeSaveFileChunks({ format: "libxl", ...(xl ? { xl } : {}), stream });
      }
      expectSameBytes(await collectBytes(chunks), expected);
    }
  });
});

describe("chunking", () => {
  const options: PvStreamOptions = { size: 2_000_000, format: "libxc", batchPages: 64 };
  const headers = pvStreamHeaders(options);

  test("small records are batched up to chunkSize; a large record is one chunk of its own", async () => {
    const chunks = await collect(encodeLibxcStreamChunks(headers, pvStreamRecords(options), { chunkSize: 64 * 1024 }));
    const pageData = 8 + 8 + 64 * (8 + 4096);
    // head (headers + 5 small records) batched in one chunk; every full PAGE_DATA alone.
    expect(chunks[0]?.length).toBe(pvStreamLayout(options).pageDataOffset);
    expect(chunks.filter((c) => c.length === pageData).length).toBeGreaterThan(5);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(Math.max(64 * 1024, pageData));
    // The tail records after the last PAGE_DATA are batched too.
    expect(chunks.length).toBeLessThan([...pvStreamRecords(options)].length);
  });

  test("fresh mode: chunks are never reused (a consumer may keep them)", async () => {
    const kept = await collect(encodeLibxcStreamChunks(headers, pvStreamRecords(options), { chunkSize: 8192 }));
    expectSameBytes(concat(kept), concat(generatePvStream(options)));
  });

  test("reuseBuffer: chunks share two buffers, each valid until the next is requested; page data is borrowed, not copied", async () => {
    const pages = new Set<Uint8Array>();
    function* records(): Generator<LibxcRecord> {
      for (const record of pvStreamRecords(options)) {
        if (record.type === "PAGE_DATA" && record.pages.length > 0) pages.add(record.pages);
        yield record;
      }
    }
    const buffers = new Set<ArrayBufferLike>();
    const copies: Uint8Array[] = [];
    let borrowed = 0;
    for await (const chunk of encodeLibxcStreamChunks(headers, records(), { chunkSize: 8192, reuseBuffer: true })) {
      // A page-data chunk is the record's own pages array (no copy).
      if (pages.has(chunk)) borrowed += 1;
      else buffers.add(chunk.buffer);
      copies.push(chunk.slice());
    }
    expectSameBytes(concat(copies), concat(generatePvStream(options)));
    expect(buffers.size).toBeLessThanOrEqual(4); // two in turn, each grown at most once
    expect(pages.size).toBeGreaterThan(1);
    expect(borrowed).toBe(pages.size);
  });

  test("chunkSize must be a positive integer", async () => {
    const error = (await rejection(collect(encodeLibxcStreamChunks(headers, [], { chunkSize: 0 })))) as XenStreamError;
    expect(error.code).toBe("USAGE");
  });
});

describe("errors", () => {
  const stream = (decodeSaveFile((CAPTURED[0] as readonly [string, Uint8Array])[1]) as SaveFile & { format: "libxl" }).stream;

  /** The error of the whole-buffer encoder and of the streaming one, for the same items. */
  async function bothErrors(items: LibxlItem[]): Promise<[XenStreamError, XenStreamError]> {
    const value: LibxlStream = { header: stream.header, items };
    let whole: unknown;
    try {
      encodeLibxlStream(value);
    } catch (error) {
      whole = error;
    }
    const streaming = await rejection(collect(encodeLibxlStreamChunks(value.header, value.items)));
    return [whole as XenStreamError, streaming as XenStreamError];
  }

  test("item order: the same code, offset and message as encodeLibxlStream", async () => {
    const part = stream.items[1] as LibxlItem;
    const cases: LibxlItem[][] = [
      [part], // LIBXC_STREAM without LIBXC_CONTEXT
      [{ type: "LIBXC_CONTEXT" }, { type: "END" }], // LIBXC_CONTEXT not followed by its part
      [{ type: "END" }, { type: "LIBXC_CONTEXT" }], // ... nor at the end
      [{ type: "LIBXC_RESUME", records: [] }], // resume before any stream
    ];
    for (const items of cases) {
      const [whole, streaming] = await bothErrors(items);
      expect(whole).toBeInstanceOf(XenStreamError);
      expect([streaming.code, streaming.offset, streaming.message]).toEqual([whole.code, whole.offset, whole.message]);
    }
  });

  test("a record that cannot be encoded fails with BAD_VALUE at its offset in the output", async () => {
    const part = stream.items[1] as LibxlItem & { type: "LIBXC_STREAM" };
    const bad = { type: "SHARED_INFO", data: new Uint8Array(10) } as LibxcRecord;
    const records = [...part.stream.records.slice(0, 2), bad];
    const whole = (() => {
      try {
        encodeLibxcStream({ ...part.stream, records });
      } catch (error) {
        return error as XenStreamError;
      }
      throw new Error("expected an error");
    })();
    const streaming = (await rejection(collect(encodeLibxcStreamChunks(part.stream, records)))) as XenStreamError;
    expect([streaming.code, streaming.offset]).toEqual(["BAD_VALUE", whole.offset]);
  });

  test("an xl header whose STREAMv2 flag does not match the stream fails like encodeSaveFile", async () => {
    const file = decodeSaveFile((CAPTURED[0] as readonly [string, Uint8Array])[1]);
    const bad = { ...file, xl: { ...(file.xl as NonNullable<SaveFile["xl"]>), mandatoryFlags: 1 } } as SaveFile;
    expect(() => encodeSaveFile(bad)).toThrow(XenStreamError);
    const error = (await rejection(collect(encodeSaveFileChunks(bad)))) as XenStreamError;
    expect([error.code, error.offset]).toEqual(["BAD_VALUE", 36]);
  });

  test("events out of order: a libxc record before the libxc headers", async () => {
    const events = [{ layer: "libxc", kind: "record", offset: 0, index: 0, bodyLength: 0, record: { type: "END" } }] as const;
    const error = (await rejection(collect(encodeEventChunks(events)))) as XenStreamError;
    expect([error.code, error.offset]).toEqual(["BAD_VALUE", 0]);
  });

  test("abort stops the encoder with the signal's reason", async () => {
    const controller = new AbortController();
    const options: PvStreamOptions = { size: 1_000_000, batchPages: 8 };
    const iterator = encodeLibxcStreamChunks(pvStreamHeaders(options), pvStreamRecords(options), { signal: controller.signal, chunkSize: 1 });
    expect((await iterator.next()).done).toBe(false);
    controller.abort(new Error("enough"));
    expect(((await rejection(iterator.next())) as Error).message).toBe("enough");
  });
});
