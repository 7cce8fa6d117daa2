// Stream adapters: WHATWG ReadableStream / WritableStream, Node Readable /
// Writable, files (paths and descriptors, async and sync reads).
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterAll, describe, expect, test } from "vitest";
import { SaveFileDecoder, type SaveFileEvent } from "../../src/index.js";
import {
  decodeSaveFileAsync,
  encodeEventChunks,
  encodeSaveFileChunks,
  toReadableStream,
  writeToWritableStream,
  type StreamingSaveFile,
} from "../../src/io/index.js";
import { fileSource, toNodeReadable, writeToFile, writeToNodeWritable } from "../../src/io/node.js";
import { generatePvStream, pvStreamHeaders, pvStreamRecords, type PvStreamOptions } from "../../src/testing/pv-stream-generator.js";
import { collect, concat, expectSameBytes, rejection, sameValue } from "./helpers.js";

const scratch = mkdtempSync(join(tmpdir(), "xen-io-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const options: PvStreamOptions = { size: 3_000_000, format: "xl", batchPages: 64 };
const bytes = concat(generatePvStream(options));

function file(): StreamingSaveFile {
  const { xl, libxl, imageHeader, domainHeader } = pvStreamHeaders(options);
  return {
    format: "libxl",
    ...(xl ? { xl } : {}),
    stream: {
      header: libxl ?? { version: 2, options: 0 },
      items: [
        { type: "LIBXC_CONTEXT" },
        { type: "LIBXC_STREAM", stream: { imageHeader, domainHeader, records: pvStreamRecords(options) } },
        { type: "END" },
      ],
    },
  };
}

function wholeEvents(input: Uint8Array): SaveFileEvent[] {
  const decoder = new SaveFileDecoder();
  const events = decoder.push(input);
  decoder.end();
  return events;
}

describe("WHATWG streams", () => {
  test("toReadableStream: pull-based, exact bytes, and decodable back", async () => {
    const stream = toReadableStream(encodeSaveFileChunks(file(), { chunkSize: 65536 }));
    const events = await collect(decodeSaveFileAsync(stream, { copy: true }));
    expect(sameValue(events, wholeEvents(bytes))).toBe(true);
    const chunks: Uint8Array[] = [];
    const reader = toReadableStream(encodeSaveFileChunks(file())).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    expectSameBytes(concat(chunks), bytes);
  });

  test("toReadableStream: cancelling the stream stops the iterator", async () => {
    let finalized = false;
    function* chunks(): Generator<Uint8Array> {
      try {
        for (;;) yield new Uint8Array(8);
      } finally {
        finalized = true;
      }
    }
    const reader = toReadableStream(chunks()).getReader();
    await reader.read();
    await reader.cancel();
    expect(finalized).toBe(true);
  });

  test("writeToWritableStream: waits for each write (safe with reuseBuffer) and closes", async () => {
    const received: Uint8Array[] = [];
    let closed = false;
    const sink = new WritableStream<Uint8Array>(
      {
        async write(chunk) {
          await new Promise((resolve) => setTimeout(resolve, 0));
          received.push(chunk.slice());
        },
        close() {
          closed = true;
        },
      },
      { highWaterMark: 4 },
    );
    const written = await writeToWritableStream(encodeSaveFileChunks(file(), { reuseBuffer: true, chunkSize: 4096 }), sink);
    expect(written).toBe(bytes.length);
    expect(closed).toBe(true);
    expectSameBytes(concat(received), bytes);
  });

  test("writeToWritableStream: abort aborts the sink", async () => {
    let aborted: unknown;
    const sink = new WritableStream<Uint8Array>({
      abort(reason) {
        aborted = reason;
      },
    });
    const controller = new AbortController();
    controller.abort(new Error("no more"));
    const error = await rejection(writeToWritableStream(encodeSaveFileChunks(file()), sink, { signal: controller.signal }));
    expect((error as Error).message).toBe("no more");
    expect(aborted).toBe(error);
  });
});

describe("Node streams and files", () => {
  test("writeToFile + fileSource (async, sync, descriptor): a byte-exact streaming copy", async () => {
    const path = join(scratch, "a.xl");
    const written = await writeToFile(encodeSaveFileChunks(file(), { reuseBuffer: true }), path);
    expect(written).toBe(bytes.length);
    expectSameBytes(new Uint8Array(readFileSync(path)), bytes);
    const expected = wholeEvents(bytes);
    for (const source of [fileSource(path), fileSource(path, { sync: true })]) {
      expect(sameValue(await collect(decodeSaveFileAsync(source, { copy: true })), expected)).toBe(true);
    }
    const fd = openSync(path, "r");
    try {
      expect(sameValue(await collect(decodeSaveFileAsync(fileSource(fd), { copy: true })), expected)).toBe(true);
    } finally {
      closeSync(fd); // a descriptor is left open by the source
    }
    const copy = join(scratch, "b.xl");
    await writeToFile(encodeEventChunks(decodeSaveFileAsync(fileSource(path)), { reuseBuffer: true }), copy);
    expectSameBytes(new Uint8Array(readFileSync(copy)), bytes);
  });

  test("fileSource of a missing file rejects with the fs error", async () => {
    const error = (await rejection(collect(decodeSaveFileAsync(fileSource(join(scratch, "missing")))))) as NodeJS.ErrnoException;
    expect(error.code).toBe("ENOENT");
  });

  test("writeToNodeWritable waits for each write's callback and ends the writable", async () => {
    const received: Uint8Array[] = [];
    let finished = false;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        setImmediate(() => {
          received.push(Uint8Array.from(chunk));
          callback();
        });
      },
      final(callback) {
        finished = true;
        callback();
      },
    });
    const written = await writeToNodeWritable(encodeSaveFileChunks(file(), { reuseBuffer: true, chunkSize: 1000 }), sink);
    expect(written).toBe(bytes.length);
    expect(finished).toBe(true);
    expectSameBytes(concat(received), bytes);
  });

  test("toNodeReadable gives the bytes in byte mode; a Readable decodes to plain Uint8Array fields", async () => {
    const readable = toNodeReadable(encodeSaveFileChunks(file(), { chunkSize: 100_000 }));
    expect(readable.readableObjectMode).toBe(false);
    const events = await collect(decodeSaveFileAsync(readable, { copy: true }));
    expect(sameValue(events, wholeEvents(bytes))).toBe(true);
    for (const event of events) if (event.kind === "record" && event.record.type === "PAGE_DATA") expect(event.record.pages.constructor).toBe(Uint8Array);
  });

  test("a Readable with an encoding (string chunks) is a USAGE error", async () => {
    const path = join(scratch, "c.xl");
    writeFileSync(path, bytes.subarray(0, 100));
    const { createReadStream } = await import("node:fs");
    const error = (await rejection(collect(decodeSaveFileAsync(createReadStream(path, { encoding: "latin1" }))))) as { code: string };
    expect(error.code).toBe("USAGE");
  });
});
