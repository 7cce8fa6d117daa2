/**
 * ByteQueue: chunks of SMALL_CHUNK bytes or more (and a chunk pushed into an
 * empty queue) are kept as pushed, smaller ones are copied into an owned
 * block; a read inside one chunk is a view into it, a read across chunks is
 * assembled once into a buffer of exactly the read size; offsets are
 * absolute.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { BLOCK_MAX, ByteQueue, SMALL_CHUNK } from "../../src/wire/queue.js";
import { hex } from "../helpers/hex.js";

/** `size` bytes counting up from `start` (mod 256). */
function counting(size: number, start = 0): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (start + i) & 0xff);
}

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

  test("push keeps a chunk of SMALL_CHUNK bytes or more, and a small chunk into an empty queue, itself (no copy); ignores empty chunks", () => {
    const queue = new ByteQueue();
    const a = hex("01 02 03");
    const b = counting(SMALL_CHUNK);
    queue.push(a);
    queue.push(new Uint8Array(0));
    queue.push(b);
    const chunks = liveChunks(queue);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]).toBe(a);
    expect(chunks[1]).toBe(b);
    expect(queue.available).toBe(3 + SMALL_CHUNK);
    expect(queue.received).toBe(3 + SMALL_CHUNK);
    expect(queue.has(3 + SMALL_CHUNK)).toBe(true);
    expect(queue.has(4 + SMALL_CHUNK)).toBe(false);
  });

  test("small chunks pushed while bytes wait are copied into one block, one view that grows", () => {
    const queue = new ByteQueue(10);
    const first = hex("aa");
    queue.push(first);
    const small = [hex("01 02"), hex("03"), counting(SMALL_CHUNK - 1, 4)];
    for (const chunk of small) queue.push(chunk);
    const chunks = liveChunks(queue);
    expect(chunks).toHaveLength(2);
    expect(chunks[0]).toBe(first);
    for (const chunk of small) expect((chunks[1] as Uint8Array).buffer).not.toBe(chunk.buffer);
    expect(chunks[1]).toEqual(counting(SMALL_CHUNK + 2, 1));
    // A large chunk ends the view; the next small one is a new view of the same block.
    const large = counting(SMALL_CHUNK, 7);
    queue.push(large);
    queue.push(hex("fe"));
    const after = liveChunks(queue);
    expect(after).toHaveLength(4);
    expect(after[2]).toBe(large);
    expect((after[3] as Uint8Array).buffer).toBe((after[1] as Uint8Array).buffer);
    expect(queue.available).toBe(1 + SMALL_CHUNK + 2 + SMALL_CHUNK + 1);
    expect(queue.take(1)).toEqual(hex("aa"));
    expect(queue.take(SMALL_CHUNK + 2)).toEqual(counting(SMALL_CHUNK + 2, 1));
    expect(queue.take(SMALL_CHUNK + 1)).toEqual(Uint8Array.from([...large, 0xfe]));
    expect(queue.offset).toBe(10 + 2 * SMALL_CHUNK + 4);
  });

  test("bytes of a block are never rewritten: views taken stay equal while more small chunks arrive", () => {
    const queue = new ByteQueue();
    queue.push(hex("00"));
    const views: Uint8Array[] = [];
    for (let i = 1; i < 5000; i++) {
      queue.push(Uint8Array.of(i & 0xff, (i >> 8) & 0xff));
      views.push(queue.take(2));
    }
    // exact values: the stream is 00, then (i, i >> 8) for i = 1..4999; view k holds stream bytes 2k, 2k + 1
    const stream = [0];
    for (let i = 1; i < 5000; i++) stream.push(i & 0xff, (i >> 8) & 0xff);
    views.forEach((view, k) => expect([...view]).toEqual(stream.slice(2 * k, 2 * k + 2)));
  });

  test("memory: 1-byte chunks cost at most about a byte per byte held (blocks sized by what waits, capped)", () => {
    const queue = new ByteQueue();
    const total = 100_000;
    for (let i = 0; i < total; i++) queue.push(Uint8Array.of(i & 0xff));
    const buffers = new Set(liveChunks(queue).map((chunk) => chunk.buffer));
    let bytes = 0;
    for (const buffer of buffers) {
      expect(buffer.byteLength).toBeLessThanOrEqual(BLOCK_MAX);
      bytes += buffer.byteLength;
    }
    expect(bytes).toBeLessThanOrEqual(2 * total + BLOCK_MAX);
    // the first byte, blocks doubling from 1 KiB to BLOCK_MAX, then full blocks
    expect(liveChunks(queue).length).toBeLessThanOrEqual(2 + Math.log2(BLOCK_MAX / 1024) + Math.ceil(total / BLOCK_MAX));
    const all = queue.take(total);
    let wrong = 0;
    for (let i = 0; i < total; i++) if (all[i] !== (i & 0xff)) wrong += 1;
    expect(wrong).toBe(0);
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
    const S = SMALL_CHUNK;
    const a = counting(S, 1);
    const b = counting(S, 1 + S);
    const c = counting(S, 1 + 2 * S);
    const queue = new ByteQueue(8);
    for (const chunk of [a, b, c]) queue.push(chunk);
    queue.skip(S - 2);
    const peeked = queue.peek(S + 5);
    expect(peeked).toEqual(counting(S + 5, S - 1));
    expect(queue.offset).toBe(8 + S - 2);
    const taken = queue.take(S + 5);
    expect(taken).toEqual(counting(S + 5, S - 1));
    for (const chunk of [a, b, c]) expect(taken.buffer).not.toBe(chunk.buffer);
    expect(taken.byteOffset).toBe(0);
    expect(taken.buffer.byteLength).toBe(S + 5);
    expect(queue.offset).toBe(8 + 2 * S + 3);
    expect(queue.available).toBe(S - 3);
    // the rest of c is still served as a view into c
    const tail = queue.take(S - 3);
    expect(tail).toEqual(c.subarray(3));
    expect(tail.buffer).toBe(c.buffer);
  });

  test("reads that end exactly on a chunk boundary", () => {
    const queue = new ByteQueue();
    const a = counting(SMALL_CHUNK, 1);
    const b = counting(SMALL_CHUNK, 2);
    queue.push(a);
    queue.push(b);
    const first = queue.take(SMALL_CHUNK);
    expect(first.buffer).toBe(a.buffer);
    const second = queue.take(SMALL_CHUNK);
    expect(second.buffer).toBe(b.buffer);
    expect(queue.available).toBe(0);
    expect(queue.offset).toBe(2 * SMALL_CHUNK);
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
    const S = SMALL_CHUNK;
    const a = counting(S, 1);
    const b = counting(S, 7);
    queue.push(a);
    queue.push(b);
    const first = queue.takeFront(S + 10);
    expect(first).toEqual(a);
    expect(first.buffer).toBe(a.buffer);
    expect(queue.offset).toBe(100 + S);
    const second = queue.takeFront(2);
    expect(second).toEqual(hex("07 08"));
    expect(second.buffer).toBe(b.buffer);
    expect(queue.takeFront(0)).toHaveLength(0);
    expect(queue.takeFront(S + 9)).toEqual(b.subarray(2));
    expect(queue.available).toBe(0);
    expect(queue.takeFront(5)).toHaveLength(0);
    expect(queue.offset).toBe(100 + 2 * S);
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

describe("ByteQueue.reuseAssembly over coalesced small chunks", () => {
  test("a read of a page or more from bytes that came as small chunks goes into the reused buffer too", () => {
    const queue = new ByteQueue();
    queue.reuseAssembly = true;
    const stream = counting(3 * 8192, 5);
    for (let i = 0; i < stream.length; i += 100) queue.push(stream.slice(i, i + 100));
    const x = queue.take(8192);
    expect(x).toEqual(stream.subarray(0, 8192));
    const y = queue.take(8192);
    expect(y.buffer).toBe(x.buffer);
    expect(y).toEqual(stream.subarray(8192, 16384));
    const small = queue.take(100); // below a page: a view of the block, not the reused buffer
    expect(small.buffer).not.toBe(x.buffer);
    expect(small).toEqual(stream.subarray(16384, 16484));
  });
});

describe("ByteQueue: chunking invariance (property)", () => {
  type Op = { kind: "take" | "peek" | "skip" | "front"; size: number };
  const chunkSize = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 2 * SMALL_CHUNK }), fc.integer({ min: 4000, max: 9000 }));
  const op: fc.Arbitrary<Op> = fc.record({ kind: fc.constantFrom("take", "peek", "skip", "front"), size: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 10_000 })) });

  test("any chunking and any reads see the bytes and offsets of the flat input; results stay equal while reading goes on (reuse on: except reused assemblies)", () => {
    fc.assert(
      fc.property(fc.array(chunkSize, { minLength: 1, maxLength: 40 }), fc.array(op, { maxLength: 60 }), fc.boolean(), (sizes, ops, reuse) => {
        const total = sizes.reduce((sum, n) => sum + n, 0);
        const flat = counting(total, 3);
        const queue = new ByteQueue(50);
        queue.reuseAssembly = reuse;
        let pushed = 0;
        let sizeIndex = 0;
        let at = 0;
        const kept: Array<[Uint8Array, number]> = [];
        for (const { kind, size } of ops) {
          // Push until the read can be served (or everything is pushed).
          while (!queue.has(size) && sizeIndex < sizes.length) {
            const n = sizes[sizeIndex++] as number;
            queue.push(flat.slice(pushed, pushed + n));
            pushed += n;
          }
          expect(queue.available).toBe(pushed - at);
          expect(queue.received).toBe(50 + pushed);
          if (!queue.has(size)) continue;
          expect(queue.offset).toBe(50 + at);
          if (kind === "skip") queue.skip(size);
          else if (kind === "front") {
            const got = queue.takeFront(size);
            expect(got.length).toBeLessThanOrEqual(size);
            if (size > 0 && pushed > at) expect(got.length).toBeGreaterThan(0);
            expect(got).toEqual(flat.subarray(at, at + got.length));
            kept.push([got, at]);
            at += got.length;
            continue;
          } else {
            const got = kind === "take" ? queue.take(size) : queue.peek(size);
            expect(got).toEqual(flat.subarray(at, at + size));
            if (!reuse || size < 4096) kept.push([got, at]);
          }
          if (kind !== "peek") at += size;
        }
        for (const [bytes, offset] of kept) expect(bytes).toEqual(flat.subarray(offset, offset + bytes.length));
      }),
      { numRuns: 100 },
    );
  });
});
