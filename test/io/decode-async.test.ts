// The async decoders: the same events as the whole-buffer decoders from every
// kind of source and every chunking, errors at the same codes and offsets,
// pull-based reading, abort and cancellation, aliasing and the copy option.
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import fc from "fast-check";
import { describe, expect, test, vi } from "vitest";
import {
  LibxcDecoder,
  LibxlDecoder,
  SaveFileDecoder,
  XenStreamError,
  encodeRawRecord,
  type SaveFileEvent,
} from "../../src/index.js";
import {
  copyEventBytes,
  decodeLibxcAsync,
  decodeLibxlAsync,
  decodeSaveFileAsync,
  readIntoSource,
  readWantedChunks,
  type ByteSource,
} from "../../src/io/index.js";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";
import { libxcStream, libxlStream, xlSaveFile } from "../../src/testing/index.js";
import {
  asyncChunks,
  chunksOf,
  collect,
  concat,
  memoryReader,
  noisy,
  readableStreamOf,
  rejection,
  sameValue,
  sourcesOf,
  splitAt,
} from "./helpers.js";

const CAPTURED = ["pv", "hvm", "pvh"].map(
  (name) => [name, new Uint8Array(readFileSync(new URL(`../../spec-vectors/captured/xen-4.17-${name}-save.skel.xl`, import.meta.url)))] as const,
);

function generated(format: "libxc" | "libxl" | "xl", size = 40_000, batchPages = 3): Uint8Array {
  return concat(generatePvStream({ size, format, batchPages }));
}

function wholeEvents(bytes: Uint8Array): SaveFileEvent[] {
  const decoder = new SaveFileDecoder();
  const events = decoder.push(bytes);
  decoder.end();
  return events;
}

function wholeError(bytes: Uint8Array): XenStreamError {
  const decoder = new SaveFileDecoder();
  try {
    decoder.push(bytes);
    decoder.end();
  } catch (error) {
    return error as XenStreamError;
  }
  throw new Error("expected the whole-buffer decoder to fail");
}

/** Decodes and compares every event with the expected one when it arrives (views may be reused after). */
async function expectSameEvents(events: AsyncIterable<unknown>, expected: readonly unknown[]): Promise<void> {
  let index = 0;
  for await (const event of events) {
    if (!sameValue(event, expected[index])) expect(event).toEqual(expected[index]);
    index += 1;
  }
  expect(index).toBe(expected.length);
}

describe("same events as the whole-buffer decoders", () => {
  for (const [name, bytes] of CAPTURED) {
    const expected = wholeEvents(bytes);
    for (const size of [1, 3, 8, 61, 4096, 1 << 20]) {
      for (const [kind, make] of sourcesOf(bytes, size)) {
        test(`captured ${name}, ${kind}, chunks of ${size}`, async () => {
          await expectSameEvents(decodeSaveFileAsync(make()), expected);
        });
      }
    }
  }

  test("a Uint8Array source is the whole stream", async () => {
    for (const [, bytes] of CAPTURED) await expectSameEvents(decodeSaveFileAsync(noisy(bytes)), wholeEvents(bytes));
  });

  test("generated streams in every format, through the matching decoder", async () => {
    const libxc = generated("libxc");
    const libxcDecoder = new LibxcDecoder();
    const libxcEvents = libxcDecoder.push(libxc);
    libxcDecoder.end();
    const libxl = generated("libxl");
    const libxlDecoder = new LibxlDecoder();
    const libxlEvents = libxlDecoder.push(libxl);
    libxlDecoder.end();
    const xl = generated("xl");
    const xlEvents = wholeEvents(xl);
    for (const size of [13, 4099, 1 << 16]) {
      for (const [, make] of sourcesOf(libxc, size)) await expectSameEvents(decodeLibxcAsync(make()), libxcEvents);
      for (const [, make] of sourcesOf(libxl, size)) await expectSameEvents(decodeLibxlAsync(make()), libxlEvents);
      for (const [, make] of sourcesOf(xl, size)) await expectSameEvents(decodeSaveFileAsync(make()), xlEvents);
    }
  });

  test("property: any stream, any split, any source kind", async () => {
    const streams = fc.oneof(
      xlSaveFile(),
      xlSaveFile({ checkpoints: 2 }),
      xlSaveFile({ checkpoints: 2, colo: true, lenient: true }),
      libxlStream({ lenient: true }),
      libxcStream({ byteOrder: "any" }),
    );
    await fc.assert(
      fc.asyncProperty(
        streams,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 1, max: 5000 }),
        async ({ bytes }, fractions, kindIndex, readSize) => {
          const cuts = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
          const chunks = splitAt(bytes, cuts);
          const sources: ByteSource[] = [
            chunks,
            asyncChunks(chunks),
            readableStreamOf(chunks),
            Readable.from(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.length))),
            memoryReader(bytes, readSize, true),
            memoryReader(bytes, readSize, false),
          ];
          await expectSameEvents(decodeSaveFileAsync(sources[kindIndex] as ByteSource), wholeEvents(bytes));
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe("readWantedChunks: the fast path for any push decoder", () => {
  test("a plain SaveFileDecoder gets exactly bytesWanted bytes per push (chunk sources: cut there, never beyond), and the same events", async () => {
    for (const [, bytes] of CAPTURED) {
      for (const size of [1, 100, 1 << 20]) {
        for (const source of [memoryReader(bytes, size, false), chunksOf(bytes, size)] as ByteSource[]) {
          const decoder = new SaveFileDecoder();
          const events: SaveFileEvent[] = [];
          let pos = 0;
          for await (const chunk of readWantedChunks(source, decoder, { bufferSize: 64 })) {
            // A chunk source's piece ends at the unit's end or at the source chunk's
            // end (the decoder's queue assembles the rest): never past the unit.
            if (Array.isArray(source)) {
              expect(chunk.length).toBeLessThanOrEqual(decoder.bytesWanted);
              if (chunk.length < decoder.bytesWanted) expect((pos + chunk.length) % size === 0 || pos + chunk.length === bytes.length).toBe(true);
            } else {
              expect(chunk.length).toBe(decoder.bytesWanted);
            }
            pos += chunk.length;
            events.push(...decoder.push(chunk).map((event) => copyEventBytes(event)));
          }
          decoder.end();
          expect(sameValue(events, wholeEvents(bytes))).toBe(true);
        }
      }
    }
  });

  test("a consumer that holds every pushed byte: held bytes are never overwritten, a fresh buffer takes the next record", async () => {
    // 64-page batches (~262 KiB records) through a 300 KiB buffer: each
    // record after the first needs a fresh buffer.
    const bytes = generated("xl", 3_000_000, 64);
    const decoder = new SaveFileDecoder();
    const holding = { get bytesWanted() { return decoder.bytesWanted; }, bytesHeld: Number.MAX_SAFE_INTEGER };
    const source = memoryReader(bytes, 1 << 30, false);
    const kept: Array<[Uint8Array, Uint8Array]> = []; // each PAGE_DATA's pages, and a copy
    const buffers = new Set<ArrayBufferLike>();
    for await (const chunk of readWantedChunks(source, holding, { bufferSize: 300 * 1024 })) {
      for (const event of decoder.push(chunk)) {
        if (event.kind !== "record" || event.record.type !== "PAGE_DATA") continue;
        kept.push([event.record.pages, event.record.pages.slice()]);
        buffers.add(event.record.pages.buffer);
      }
    }
    decoder.end();
    expect(kept.length).toBeGreaterThan(8);
    // Nothing held was overwritten.
    for (const [view, copy] of kept) expect(Buffer.compare(view, copy)).toBe(0);
    expect(buffers.size).toBe(kept.length);
  });

  test("at the end of the input the rest is handed over, so truncation reaches the decoder", async () => {
    const bytes = (CAPTURED[0] as readonly [string, Uint8Array])[1].subarray(0, 5000);
    const decoder = new SaveFileDecoder();
    let pushed = 0;
    for await (const chunk of readWantedChunks(memoryReader(bytes, 999, true), decoder)) {
      decoder.push(chunk);
      pushed += chunk.length;
    }
    expect(pushed).toBe(5000);
    expect(() => decoder.end()).toThrow(expect.objectContaining({ code: "TRUNCATED", offset: 5000 }));
  });
});

describe("errors: the same codes and offsets as the whole-buffer decoder", () => {
  const pv = (CAPTURED[0] as readonly [string, Uint8Array])[1];

  test("truncation anywhere is TRUNCATED at the number of bytes received", async () => {
    const offsets = [0, 1, 7, 8, 47, 48, 500, 917, 918, 934, 942, 966, 982, 990, 5000, pv.length - 9, pv.length - 8, pv.length - 1];
    for (const length of offsets) {
      const prefix = pv.subarray(0, length);
      const expected = wholeError(prefix);
      expect(expected.code).toBe("TRUNCATED");
      for (const [kind, make] of sourcesOf(prefix, 7)) {
        const error = (await rejection(collect(decodeSaveFileAsync(make()))).catch((e: unknown) => e)) as XenStreamError;
        expect({ kind, code: error.code, offset: error.offset }).toEqual({ kind, code: "TRUNCATED", offset: length });
      }
    }
  });

  test("bytes after the end are TRAILING_DATA at their offset", async () => {
    const bytes = concat([pv, new Uint8Array([1, 2, 3])]);
    const expected = wholeError(bytes);
    expect(expected.code).toBe("TRAILING_DATA");
    for (const size of [1, 5, 1 << 20]) {
      for (const [, make] of sourcesOf(bytes, size)) {
        const error = (await rejection(collect(decodeSaveFileAsync(make())))) as XenStreamError;
        expect([error.code, error.offset]).toEqual(["TRAILING_DATA", expected.offset]);
      }
    }
  });

  test("a malformed header fails as in the whole-buffer decoder (BAD_MAGIC)", async () => {
    const bytes = pv.slice();
    bytes[3] = 0x21;
    const expected = wholeError(bytes);
    for (const [, make] of sourcesOf(bytes, 16)) {
      const error = (await rejection(collect(decodeSaveFileAsync(make())))) as XenStreamError;
      expect([error.code, error.offset]).toEqual([expected.code, expected.offset]);
    }
  });

  test("a hostile record length fails at the header, without pulling or allocating its body", async () => {
    // libxc image + domain headers, then a record header claiming 0xfffffff0 bytes.
    const headers = generated("libxc").subarray(0, 40);
    const hostile = encodeRawRecord({ typeId: 1, body: new Uint8Array(0), bodyLength: 0xffff_fff0 });
    let pulledAfter = false;
    function* source(): Generator<Uint8Array> {
      yield concat([headers, hostile]);
      pulledAfter = true;
      yield new Uint8Array(8);
    }
    const error = (await rejection(collect(decodeLibxcAsync(source())))) as XenStreamError;
    expect([error.code, error.offset]).toEqual(["RECORD_TOO_LARGE", 44]);
    expect(pulledAfter).toBe(false);
    const reader = memoryReader(concat([headers, hostile, new Uint8Array(4096)]), 48, false);
    const viaReader = (await rejection(collect(decodeLibxcAsync(reader)))) as XenStreamError;
    expect([viaReader.code, viaReader.offset]).toEqual(["RECORD_TOO_LARGE", 44]);
    expect(reader.closed).toBe(1);
  });

  test("a long length the limit allows makes a ReadIntoSource wait for bytes, never allocate them", async () => {
    const headers = generated("libxc").subarray(0, 40);
    const claim = encodeRawRecord({ typeId: 1, body: new Uint8Array(0), bodyLength: 100 << 20 }); // 100 MiB
    const bytes = concat([headers, claim, new Uint8Array(6_000_000)]); // more than the 4 MiB + 64 KiB start
    const inner = memoryReader(bytes, 1 << 30, false);
    let largest = 0;
    const spy = readIntoSource({
      read: (target) => {
        largest = Math.max(largest, target.buffer.byteLength);
        return inner.read(target);
      },
    });
    const error = (await rejection(collect(decodeLibxcAsync(spy)))) as XenStreamError;
    expect([error.code, error.offset]).toEqual(["TRUNCATED", bytes.length]);
    // The start, doubled once (plus a page of placement slack, in whole
    // 64 KiB WebAssembly pages): not 100 MiB.
    expect(largest).toBeLessThanOrEqual(2 * (4 * 2 ** 20 + 65536) + 65536);
    expect(largest).toBeGreaterThan(6_000_000);
  });

  test("chunks that are not bytes, and sources that are not sources, are USAGE errors", async () => {
    const strings = (await rejection(collect(decodeSaveFileAsync(["Xen saved"] as unknown as Uint8Array[])))) as XenStreamError;
    expect([strings.code, strings.offset]).toEqual(["USAGE", 0]);
    expect(strings.message).toMatch(/string/);
    const numbers = (await rejection(collect(decodeSaveFileAsync([new Uint8Array(3), 7] as unknown as Uint8Array[])))) as XenStreamError;
    expect([numbers.code, numbers.offset]).toEqual(["USAGE", 3]);
    const notSource = (await rejection(collect(decodeSaveFileAsync(42 as unknown as ByteSource)))) as XenStreamError;
    expect(notSource.code).toBe("USAGE");
    const badRead = (await rejection(collect(decodeSaveFileAsync(readIntoSource({ read: (t) => t.length + 1 }))))) as XenStreamError;
    expect([badRead.code, badRead.offset]).toEqual(["USAGE", 0]);
  });

  test("a failing source's error comes through, and the source is released", async () => {
    const boom = new Error("disk on fire");
    let finalized = false;
    async function* source(): AsyncGenerator<Uint8Array> {
      try {
        yield pv.subarray(0, 100);
        throw boom;
      } finally {
        finalized = true;
      }
    }
    expect(await rejection(collect(decodeSaveFileAsync(source())))).toBe(boom);
    expect(finalized).toBe(true);
    const reader = readIntoSource({
      read: () => Promise.reject(boom),
      close: () => undefined,
    });
    expect(await rejection(collect(decodeSaveFileAsync(reader)))).toBe(boom);
  });
});

describe("pull-based: nothing is read before it is needed", () => {
  test("a chunk is pulled only when the events of the previous ones are consumed", async () => {
    const chunks = [...generatePvStream({ size: 200_000, format: "xl", batchPages: 8 })];
    const ends: number[] = [];
    let total = 0;
    for (const chunk of chunks) ends.push((total += chunk.length));
    let pulls = 0;
    function* source(): Generator<Uint8Array> {
      for (const chunk of chunks) {
        pulls += 1;
        yield chunk;
      }
    }
    const events = await collectWithPulls(decodeSaveFileAsync(source()), () => pulls);
    // The event ending at byte e arrives after exactly the chunks up to the one holding byte e-1.
    events.forEach(({ end, pulls: seen }) => {
      expect(seen).toBe(ends.findIndex((chunkEnd) => chunkEnd >= end) + 1);
    });
  });

  test("a ReadIntoSource is read at most one record (+ 64 KiB) ahead", async () => {
    const bytes = generated("xl", 400_000, 16);
    let read = 0;
    const reader = memoryReader(bytes, 1 << 30, true);
    const counting = readIntoSource({
      read: async (target) => {
        const count = (await reader.read(target)) ?? 0;
        read += count;
        return count;
      },
    });
    const events = await collectWithPulls(decodeSaveFileAsync(counting), () => read);
    for (const { end, pulls: bytesRead } of events) expect(bytesRead).toBeLessThanOrEqual(Math.max(end, 0) + 8 + 65536);
  });
});

async function collectWithPulls(
  events: AsyncIterable<SaveFileEvent>,
  pulls: () => number,
): Promise<Array<{ end: number; pulls: number }>> {
  const seen: Array<{ offset: number; pulls: number }> = [];
  for await (const event of events) seen.push({ offset: event.offset, pulls: pulls() });
  // An event ends where the next begins (the stream has no gaps); the last one at the end.
  return seen.map((item, i) => ({ end: seen[i + 1]?.offset ?? Number.POSITIVE_INFINITY, pulls: item.pulls })).slice(0, -1);
}

describe("abort and cancellation", () => {
  const bytes = generated("xl", 60_000, 4);

  test("an aborted signal rejects at once with its reason, before pulling", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    controller.abort(reason);
    let pulled = false;
    function* source(): Generator<Uint8Array> {
      pulled = true;
      yield bytes;
    }
    expect(await rejection(collect(decodeSaveFileAsync(source(), { signal: controller.signal })))).toBe(reason);
    expect(pulled).toBe(false);
  });

  test("aborting between events rejects the next one and cancels every kind of source", async () => {
    const cleanups: Record<string, boolean> = {};
    const mark = (kind: string) => () => {
      cleanups[kind] = true;
    };
    async function* generator(): AsyncGenerator<Uint8Array> {
      try {
        yield* asyncChunks(chunksOf(bytes, 1000));
      } finally {
        mark("generator")();
      }
    }
    let index = 0;
    const chunks = chunksOf(bytes, 1000);
    const stream = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(chunks[index++] as Uint8Array),
      cancel: mark("ReadableStream"),
    });
    const readable = Readable.from(chunksOf(bytes, 1000).map((c) => Buffer.from(c)));
    readable.on("close", mark("Readable"));
    const reader = memoryReader(bytes, 1000, true);
    const sources: Array<[string, ByteSource]> = [
      ["generator", generator()],
      ["ReadableStream", stream],
      ["Readable", readable],
      ["ReadIntoSource", reader],
    ];
    for (const [kind, source] of sources) {
      const controller = new AbortController();
      const iterator = decodeSaveFileAsync(source, { signal: controller.signal });
      expect((await iterator.next()).done).toBe(false);
      controller.abort(new Error(`abort ${kind}`));
      expect(((await rejection(iterator.next())) as Error).message).toBe(`abort ${kind}`);
      await new Promise((resolve) => setImmediate(resolve));
      if (kind === "ReadIntoSource") expect(reader.closed).toBe(1);
      else expect(cleanups[kind]).toBe(true);
    }
  });

  test("aborting while a pull is pending rejects without waiting for the source", async () => {
    const controller = new AbortController();
    const never = {
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<Uint8Array>>(() => undefined) }),
    };
    const pending = collect(decodeSaveFileAsync(never, { signal: controller.signal }));
    setTimeout(() => controller.abort(new Error("late")), 5);
    expect(((await rejection(pending)) as Error).message).toBe("late");
    const stuckReader = readIntoSource({ read: () => new Promise<number>(() => undefined) });
    const controller2 = new AbortController();
    const pending2 = collect(decodeSaveFileAsync(stuckReader, { signal: controller2.signal }));
    setTimeout(() => controller2.abort(), 5);
    expect(((await rejection(pending2)) as Error).name).toBe("AbortError");
  });

  test("a consumer that stops early releases the source", async () => {
    let finalized = false;
    function* source(): Generator<Uint8Array> {
      try {
        yield* chunksOf(bytes, 500);
      } finally {
        finalized = true;
      }
    }
    let cancelled = false;
    const chunks = chunksOf(bytes, 500);
    let index = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull: (c) => c.enqueue(chunks[index++] as Uint8Array),
      cancel: () => {
        cancelled = true;
      },
    });
    const reader = memoryReader(bytes, 500, true);
    for (const src of [source(), stream, reader] as ByteSource[]) {
      for await (const event of decodeSaveFileAsync(src)) if (event.kind === "record") break;
    }
    expect(finalized).toBe(true);
    expect(cancelled).toBe(true);
    expect(reader.closed).toBe(1);
  });

  test("a stream decoded to the end releases its reader lock and closes a ReadIntoSource once", async () => {
    const stream = readableStreamOf(chunksOf(bytes, 777));
    await collect(decodeSaveFileAsync(stream));
    expect(stream.locked).toBe(false);
    const reader = memoryReader(bytes, 777, false);
    await collect(decodeSaveFileAsync(reader));
    expect(reader.closed).toBe(1);
  });
});

describe("aliasing and the copy option", () => {
  const bytes = generated("xl", 100_000, 4);
  const expected = wholeEvents(bytes);

  test("without copy, a ReadIntoSource's byte fields are views into one reused buffer", async () => {
    const buffers = new Set<ArrayBufferLike>();
    for await (const event of decodeSaveFileAsync(memoryReader(bytes, 1 << 20, false))) {
      if (event.kind === "record" && event.record.type === "PAGE_DATA") buffers.add(event.record.pages.buffer);
    }
    expect(buffers.size).toBe(1);
  });

  test("a ReadIntoSource's reads land half a page from their stream offset, in whole pages of memory", async () => {
    const placements = async (): Promise<{ shifts: Set<number>; wasm: boolean }> => {
      const shifts = new Set<number>();
      let wasm = true;
      for await (const event of decodeSaveFileAsync(memoryReader(bytes, 1 << 20, false))) {
        if (event.kind !== "record" || event.record.type !== "PAGE_DATA") continue;
        const { pages, entries } = event.record;
        const streamOffset = event.offset + 8 + 8 + 8 * entries.length; // record header, count header, pfns
        shifts.add((((pages.byteOffset - streamOffset) % 4096) + 4096) % 4096);
        wasm &&= pages.buffer.byteLength % 65536 === 0;
      }
      return { shifts, wasm };
    };
    expect(await placements()).toEqual({ shifts: new Set([2048]), wasm: true });
    // Without WebAssembly: a plain buffer, the same placement within it.
    vi.stubGlobal("WebAssembly", undefined);
    try {
      expect((await placements()).shifts).toEqual(new Set([2048]));
      expect(sameValue(await collect(decodeSaveFileAsync(memoryReader(bytes, 1 << 20, false), { copy: true })), expected)).toBe(true);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  test("without copy, records that straddle chunks share the decoder's reused assembly buffer", async () => {
    const buffers = new Set<ArrayBufferLike>();
    for await (const event of decodeSaveFileAsync(chunksOf(bytes, 1000))) {
      if (event.kind === "record" && event.record.type === "PAGE_DATA") buffers.add(event.record.pages.buffer);
    }
    expect(buffers.size).toBe(1);
  });

  test("with copy, every event owns its bytes and stays equal after decoding goes on", async () => {
    for (const source of [memoryReader(bytes, 3000, true), chunksOf(bytes, 1000)] as ByteSource[]) {
      const events = await collect(decodeSaveFileAsync(source, { copy: true }));
      expect(sameValue(events, expected)).toBe(true);
      const buffers = new Set<ArrayBufferLike>();
      for (const event of events) if (event.kind === "record" && event.record.type === "PAGE_DATA") buffers.add(event.record.pages.buffer);
      expect(buffers.size).toBe(events.filter((e) => e.kind === "record" && e.record.type === "PAGE_DATA").length);
    }
  });

  test("copyEventBytes copies byte fields, pairs and the xl config; shares nothing else that is bytes", () => {
    const hvm = wholeEvents((CAPTURED[1] as readonly [string, Uint8Array])[1]);
    for (const event of hvm) {
      const copy = copyEventBytes(event);
      expect(copy).toEqual(event);
      const walk = (a: unknown, b: unknown): void => {
        if (a instanceof Uint8Array) {
          expect(b).not.toBe(a);
          expect((b as Uint8Array).buffer).not.toBe(a.buffer);
        } else if (Array.isArray(a)) a.forEach((item, i) => walk(item, (b as unknown[])[i]));
        else if (a !== null && typeof a === "object") for (const key of Object.keys(a)) walk((a as never)[key], (b as never)[key]);
      };
      walk(event, copy);
    }
  });
});
