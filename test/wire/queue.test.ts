/**
 * ByteQueue: chunks are kept as pushed; a read inside one chunk is a view
 * into it, a read across chunks is assembled once into a buffer of exactly
 * the read size; offsets are absolute.
 */
import { describe, expect, test } from "vitest";
import { ByteQueue } from "../../src/wire/queue.js";
import { hex } from "../helpers/hex.js";

/** The queue's private chunk list, for checking that nothing was copied. */
function liveChunks(queue: ByteQueue): Uint8Array[] {
  const inside = queue as unknown as { chunks: Uint8Array[]; first: number };
  return inside.chunks.slice(inside.first);
}

describe("ByteQueue", () => {
  test("starts empty at its start offset", () => {
    const queue = new ByteQueue(40);
    expect(queue.available).toBe(0);
    expect(queue.offset).toBe(40);
    expect(queue.received).toBe(40);
    expect(queue.has(0)).toBe(true);
    expect(queue.has(1)).toBe(false);
    expect(new ByteQueue().offset).toBe(0);
  });

  test("push keeps the chunk itself (no copy) and ignores empty chunks", () => {
    const queue = new ByteQueue();
    const a = hex("01 02 03");
    const b = hex("04 05");
    queue.push(a);
    queue.push(new Uint8Array(0));
    queue.push(b);
    const chunks = liveChunks(queue);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]).toBe(a);
    expect(chunks[1]).toBe(b);
    expect(queue.available).toBe(5);
    expect(queue.received).toBe(5);
    expect(queue.has(5)).toBe(true);
    expect(queue.has(6)).toBe(false);
  });

  test("contiguous reads are views into the pushed chunk", () => {
    const backing = hex("ee 01 02 03 04 05 06 ee");
    const chunk = backing.subarray(1, 7);
    const queue = new ByteQueue(100);
    queue.push(chunk);
    const peeked = queue.peek(2);
    expect(peeked).toEqual(hex("01 02"));
    expect(peeked.buffer).toBe(backing.buffer);
    expect(peeked.byteOffset).toBe(1);
    expect(queue.offset).toBe(100); // peek consumes nothing
    const taken = queue.take(3);
    expect(taken).toEqual(hex("01 02 03"));
    expect(taken.buffer).toBe(backing.buffer);
    expect(taken.byteOffset).toBe(1);
    expect(queue.offset).toBe(103);
    const next = queue.take(3);
    expect(next).toEqual(hex("04 05 06"));
    expect(next.buffer).toBe(backing.buffer);
    expect(next.byteOffset).toBe(4);
    expect(queue.offset).toBe(106);
    expect(queue.available).toBe(0);
    expect(queue.received).toBe(106);
  });

  test("a read across chunks is assembled once, into exactly its size", () => {
    const a = hex("01 02 03");
    const b = hex("04");
    const c = hex("05 06 07 08");
    const queue = new ByteQueue(8);
    for (const chunk of [a, b, c]) queue.push(chunk);
    queue.skip(1);
    const peeked = queue.peek(5);
    expect(peeked).toEqual(hex("02 03 04 05 06"));
    expect(queue.offset).toBe(9);
    const taken = queue.take(5);
    expect(taken).toEqual(hex("02 03 04 05 06"));
    for (const chunk of [a, b, c]) expect(taken.buffer).not.toBe(chunk.buffer);
    expect(taken.byteOffset).toBe(0);
    expect(taken.buffer.byteLength).toBe(5);
    expect(queue.offset).toBe(14);
    expect(queue.available).toBe(2);
    // the rest of c is still served as a view into c
    const tail = queue.take(2);
    expect(tail).toEqual(hex("07 08"));
    expect(tail.buffer).toBe(c.buffer);
  });

  test("reads that end exactly on a chunk boundary", () => {
    const queue = new ByteQueue();
    const a = hex("01 02");
    const b = hex("03 04");
    queue.push(a);
    queue.push(b);
    const first = queue.take(2);
    expect(first.buffer).toBe(a.buffer);
    const second = queue.take(2);
    expect(second.buffer).toBe(b.buffer);
    expect(queue.available).toBe(0);
    expect(queue.offset).toBe(4);
  });

  test("zero-length reads return an empty array and consume nothing", () => {
    const queue = new ByteQueue(3);
    expect(queue.take(0)).toEqual(new Uint8Array(0));
    queue.push(hex("aa"));
    expect(queue.peek(0)).toEqual(new Uint8Array(0));
    expect(queue.offset).toBe(3);
    expect(queue.available).toBe(1);
  });

  test("skip across chunks", () => {
    const queue = new ByteQueue();
    queue.push(hex("01 02"));
    queue.push(hex("03 04 05"));
    queue.skip(3);
    expect(queue.offset).toBe(3);
    expect(queue.take(2)).toEqual(hex("04 05"));
  });

  test("reading more than available is an internal error (callers check has())", () => {
    const queue = new ByteQueue();
    queue.push(hex("01"));
    expect(() => queue.take(2)).toThrowError(Error);
    expect(queue.available).toBe(1);
  });

  test("many small chunks: values and offsets stay right through compaction", () => {
    const queue = new ByteQueue(1000);
    for (let i = 0; i < 300; i++) queue.push(Uint8Array.of(i & 0xff));
    for (let i = 0; i < 299; i += 1) {
      expect(queue.offset).toBe(1000 + i);
      expect(queue.take(1)[0]).toBe(i & 0xff);
    }
    expect(queue.available).toBe(1);
    expect(liveChunks(queue)).toHaveLength(1);
    queue.push(hex("aa bb"));
    expect(queue.take(3)).toEqual(hex("2b aa bb"));
    expect(queue.offset).toBe(1302);
    expect(queue.received).toBe(1302);
  });
});

describe("ByteQueue.takeFront", () => {
  test("hands out at most the rest of the first chunk, as a view, consumed; never assembles", () => {
    const queue = new ByteQueue(100);
    const a = hex("01 02 03");
    const b = hex("04 05 06 07");
    queue.push(a);
    queue.push(b);
    const first = queue.takeFront(10);
    expect(first).toEqual(hex("01 02 03"));
    expect(first.buffer).toBe(a.buffer);
    expect(queue.offset).toBe(103);
    const second = queue.takeFront(2);
    expect(second).toEqual(hex("04 05"));
    expect(second.buffer).toBe(b.buffer);
    expect(queue.takeFront(0)).toHaveLength(0);
    expect(queue.takeFront(9)).toEqual(hex("06 07"));
    expect(queue.available).toBe(0);
    expect(queue.takeFront(5)).toHaveLength(0);
    expect(queue.offset).toBe(107);
  });
});

describe("ByteQueue.reuseAssembly", () => {
  const page = (fill: number): Uint8Array => new Uint8Array(4096).fill(fill);

  test("off: every straddling read is a fresh buffer", () => {
    const queue = new ByteQueue();
    for (const fill of [1, 2, 3, 4]) queue.push(page(fill));
    const x = queue.take(6000);
    const y = queue.take(6000);
    expect(x.buffer).not.toBe(y.buffer);
    expect(x[0]).toBe(1);
    expect(x[5999]).toBe(2);
  });

  test("on: straddling reads of a page or more share one buffer; smaller ones stay fresh; views stay views", () => {
    const queue = new ByteQueue();
    queue.reuseAssembly = true;
    for (const fill of [1, 2, 3, 4, 5]) queue.push(page(fill));
    const x = queue.take(6000);
    expect([x[0], x[4095], x[4096], x[5999]]).toEqual([1, 1, 2, 2]);
    const y = queue.take(6000);
    expect(y.buffer).toBe(x.buffer); // reused: x is no longer valid
    expect([y[0], y[2191], y[2192], y[5999]]).toEqual([2, 2, 3, 3]);
    const small = queue.take(200); // 3 x 4096 - 12000 = 288 bytes left in the third chunk: a view
    expect(small.buffer).not.toBe(x.buffer);
    const header = queue.take(100); // straddles the third and fourth chunks, below a page: fresh
    expect(header.buffer).not.toBe(x.buffer);
    expect(header.length).toBe(100);
    expect([header[0], header[87], header[88]]).toEqual([3, 3, 4]);
  });
});
