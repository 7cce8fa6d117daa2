import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { PageWriter, pipelineFile, writeFully } from "../../src/cli/pipeline.js";
import { copyEventBytes } from "../../src/io/copy.js";
import { MemoryImageBuilder } from "../../src/memory/image.js";
import { SaveFileDecoder, decodeSaveFile, encodeSaveFile, type SaveFile, type SaveFileEvent } from "../../src/savefile.js";
import { xlSaveFile } from "../../src/testing/arbitraries.js";
import { GuestPages, PAGE, libxcGuestStream } from "../memory/guest-builder.js";
import type { LibxcRecord } from "../../src/libxc/types.js";

const dir = mkdtempSync(join(tmpdir(), "pipeline-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function fileOf(bytes: Uint8Array): string {
  const path = join(dir, `in-${files++}`);
  writeFileSync(path, bytes);
  return path;
}

/** Runs pipelineFile over `bytes` in a file; returns the events (copied at visit time), the trailer bytes and the output file. */
async function pipeline(bytes: Uint8Array, onEvent?: (event: SaveFileEvent, writer: PageWriter) => void): Promise<{ events: SaveFileEvent[]; trailer: number[]; output: Uint8Array; read: number }> {
  const input = openSync(fileOf(bytes), "r");
  const outPath = join(dir, `out-${files++}`);
  const out = openSync(outPath, "w");
  const writer = new PageWriter(out);
  const events: SaveFileEvent[] = [];
  const trailer: number[] = [];
  try {
    const read = await pipelineFile(
      input,
      new SaveFileDecoder({}),
      (event) => {
        events.push(copyEventBytes(event));
        onEvent?.(event, writer);
      },
      writer,
      (chunk) => trailer.push(...chunk),
    );
    return { events, trailer, output: new Uint8Array(readFileSync(outPath)), read };
  } finally {
    closeSync(input);
    closeSync(out);
  }
}

/** The first index where `a` and `b` differ, or -1 when they are equal (toEqual on MiB of bytes is slow). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))) return -1;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function wholeEvents(bytes: Uint8Array): SaveFileEvent[] {
  const decoder = new SaveFileDecoder({});
  const events = decoder.push(bytes);
  decoder.end();
  return events;
}

/** The raw image MemoryImageBuilder places in memory (the reference for the file written through the pipeline). */
function imageInMemory(stream: Uint8Array): Uint8Array {
  const builder = new MemoryImageBuilder({ format: "raw" });
  const placed: [number, Uint8Array][] = [];
  const place = (position: number, bytes: Uint8Array): void => void placed.push([position, bytes.slice()]);
  const decoder = new SaveFileDecoder();
  decoder.pushEach(stream, (event) => builder.add(event, place));
  decoder.end();
  const map = builder.finish(place);
  const image = new Uint8Array(map.fileSize);
  for (const [position, bytes] of placed) image.set(bytes, position);
  return image;
}

/** An xl save file (no libxl layer: the xl header, then the libxc stream) with `config`. */
function encodeXlFile(config: Uint8Array, libxc: Uint8Array): Uint8Array {
  const decoded = decodeSaveFile(libxc);
  return encodeSaveFile({ ...decoded, xl: { byteOrder: "little", mandatoryFlags: 0, optionalFlags: 0, config } } as SaveFile);
}

/** PAGE_DATA records sending `batches` (lists of pfns) in order, each page's bytes derived from its pfn and its batch. */
function passes(batches: number[][]): LibxcRecord[] {
  return batches.map((pfns, b) => {
    const data = new Uint8Array(pfns.length * PAGE);
    pfns.forEach((pfn, k) => data.set(new GuestPages().fill(pfn, pfn * 7 + b), k * PAGE));
    return { type: "PAGE_DATA", entries: pfns.map((pfn) => ({ pfn, type: 0 })), pages: data };
  });
}

describe("pipelineFile", () => {
  test("yields the whole-buffer decoder's events and counts every byte", async () => {
    await fc.assert(
      fc.asyncProperty(xlSaveFile(), async ({ bytes }) => {
        const { events, trailer, read } = await pipeline(bytes);
        expect(events).toEqual(wholeEvents(bytes));
        expect(trailer).toEqual([]);
        expect(read).toBe(bytes.length);
      }),
      { numRuns: 25 },
    );
  });

  test("writes handed out land in order: pages re-sent over many records (more than the two read buffers), the last copy wins", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 0, max: 24 }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 14 }), async (batches) => {
        const stream = libxcGuestStream("hvm", passes(batches));
        const builder = new MemoryImageBuilder({ format: "raw" });
        const { output } = await pipeline(stream, (event, writer) => builder.add(event, (position, bytes) => writer.place(position, bytes)));
        const expected = imageInMemory(stream);
        // The file ends at the last page written (the CLI truncates it to the map's size afterwards).
        expect(firstDifference(output, expected.subarray(0, output.length))).toBe(-1);
        expect(expected.subarray(output.length).every((byte) => byte === 0)).toBe(true);
      }),
      { numRuns: 30 },
    );
  });

  test("pages are views on an 8-byte boundary after the first reads, whatever the file offset of the stream (an xl config of odd length)", async () => {
    const batches = Array.from({ length: 200 }, (_, b) => [b]);
    const libxc = libxcGuestStream("hvm", passes(batches));
    const config = Uint8Array.from("{ odd }\0", (c) => c.charCodeAt(0));
    const xl = encodeXlFile(config, libxc);
    expect(xl.length % 8).not.toBe(libxc.length % 8);
    const misaligned: number[] = [];
    let records = 0;
    const { events } = await pipeline(xl, (event) => {
      if (event.kind !== "record" || event.layer !== "libxc" || event.record.type !== "PAGE_DATA") return;
      records++;
      // The first two reads (64 KiB each) are placed before any record was seen.
      if (event.offset > 3 * 65536 && event.record.pages.byteOffset % 8 !== 0) misaligned.push(event.offset);
    });
    expect(events).toEqual(wholeEvents(xl));
    expect(records).toBe(200);
    expect(misaligned).toEqual([]);
  });

  test("a record larger than a read buffer is read whole", async () => {
    const pfns = Array.from({ length: 1100 }, (_, i) => i);
    const stream = libxcGuestStream("hvm", passes([pfns.slice(0, 3), pfns, pfns.slice(5, 9)]));
    const builder = new MemoryImageBuilder({ format: "raw" });
    const { output } = await pipeline(stream, (event, writer) => builder.add(event, (position, bytes) => writer.place(position, bytes)));
    const expected = imageInMemory(stream);
    expect(output.length).toBe(expected.length);
    expect(firstDifference(output, expected)).toBe(-1);
  });

  test("bytes after the end of the stream go to the trailer, in order", async () => {
    const stream = libxcGuestStream("hvm", passes([[1, 2]]));
    const extra = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 13) & 0xff);
    const bytes = new Uint8Array(stream.length + extra.length);
    bytes.set(stream);
    bytes.set(extra, stream.length);
    const { events, trailer, read } = await pipeline(bytes);
    expect(events).toEqual(wholeEvents(stream));
    expect(trailer).toEqual([...extra]);
    expect(read).toBe(bytes.length);
  });

  test("a truncated file: TRUNCATED as from the whole-buffer decoder, after the events before the cut", async () => {
    const stream = libxcGuestStream("hvm", passes([[1, 2], [3]]));
    for (const cut of [10, 24 + 8 + 3, stream.length - 9, stream.length - 1]) {
      const bytes = stream.subarray(0, cut);
      const decoder = new SaveFileDecoder({});
      const before = decoder.push(bytes);
      const expected = (() => {
        try {
          decoder.end();
        } catch (error) {
          return error;
        }
        throw new Error("no error");
      })() as { code: string; offset: number };
      const seen: SaveFileEvent[] = [];
      const input = openSync(fileOf(bytes), "r");
      const out = openSync(join(dir, `t-${files++}`), "w");
      try {
        await expect(pipelineFile(input, new SaveFileDecoder({}), (event) => seen.push(copyEventBytes(event)), new PageWriter(out), () => undefined)).rejects.toMatchObject({
          code: "TRUNCATED",
          offset: expected.offset,
        });
      } finally {
        closeSync(input);
        closeSync(out);
      }
      expect(seen).toEqual(before);
    }
  });

  test("a failed write rejects with its I/O error", async () => {
    const stream = libxcGuestStream("hvm", passes([[1, 2], [3]]));
    const input = openSync(fileOf(stream), "r");
    const readOnly = openSync(fileOf(new Uint8Array(0)), "r");
    const builder = new MemoryImageBuilder({ format: "raw" });
    const writer = new PageWriter(readOnly);
    try {
      await expect(pipelineFile(input, new SaveFileDecoder({}), (event) => builder.add(event, (p, b) => writer.place(p, b)), writer, () => undefined)).rejects.toMatchObject({ code: "EBADF" });
    } finally {
      closeSync(input);
      closeSync(readOnly);
    }
  });
});

describe("PageWriter", () => {
  test("writes nothing before flush, then everything in order; append continues after the furthest byte placed; empty writes are no writes", () => {
    const path = join(dir, `w-${files++}`);
    const fd = openSync(path, "w");
    const writer = new PageWriter(fd);
    writer.append(Uint8Array.of(1, 2));
    writer.place(5, Uint8Array.of(9));
    writer.append(new Uint8Array(0));
    writer.append(Uint8Array.of(7));
    writer.place(1, Uint8Array.of(3, 4));
    expect({ count: writer.count, pending: writer.pending, length: readFileSync(path).length }).toEqual({ count: 4, pending: true, length: 0 });
    writer.flush();
    expect(writer.pending).toBe(false);
    closeSync(fd);
    expect([...readFileSync(path)]).toEqual([1, 3, 4, 0, 0, 9, 7]);
  });
});

describe("writeFully", () => {
  test("writes in pieces that end on 64 KiB boundaries, byte-identical, at a position and appended", () => {
    const dir = mkdtempSync(join(tmpdir(), "xen-write-fully-"));
    try {
      const path = join(dir, "out");
      const bytes = new Uint8Array(200_000).map((_, i) => (i * 7 + 3) & 0xff);
      const fd = openSync(path, "w");
      writeFully(fd, bytes, 1000); // crosses 64 KiB boundaries from an unaligned start
      closeSync(fd);
      const written = new Uint8Array(readFileSync(path));
      expect(written.length).toBe(1000 + bytes.length);
      expect(written.subarray(0, 1000)).toEqual(new Uint8Array(1000));
      expect(written.subarray(1000)).toEqual(bytes);
      const appended = openSync(path, "a");
      writeFully(appended, bytes.subarray(0, 70_000), null);
      closeSync(appended);
      const after = new Uint8Array(readFileSync(path));
      expect(after.subarray(1000 + bytes.length)).toEqual(bytes.subarray(0, 70_000));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
