// Sources of every kind the async decoders accept, built over one byte
// array, plus helpers to collect events and chunks.
import { Readable } from "node:stream";
import type { ByteSource, ReadIntoSource } from "../../src/io/index.js";

/** `bytes` cut into chunks of `size` (the last one shorter), each a noisy subarray (byteOffset != 0). */
export function chunksOf(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += size) chunks.push(noisy(bytes.subarray(start, Math.min(bytes.length, start + size))));
  return chunks;
}

/** `bytes` cut at the given sorted offsets. */
export function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    chunks.push(noisy(bytes.subarray(start, cut)));
    start = cut;
  }
  return chunks;
}

/** A copy of `bytes` at an odd offset inside a larger buffer. */
export function noisy(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(bytes.length + 11);
  buffer.fill(0x5a);
  buffer.set(bytes, 5);
  return buffer.subarray(5, 5 + bytes.length);
}

export async function* asyncChunks(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const chunk of chunks) {
    await Promise.resolve();
    yield chunk;
  }
}

export function readableStreamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

/** A ReadIntoSource over `bytes` that returns at most `maxRead` bytes per read, sync or async. */
export function memoryReader(bytes: Uint8Array, maxRead: number, async = true): ReadIntoSource & { reads: number; closed: number } {
  let pos = 0;
  const state = { reads: 0, closed: 0 };
  const read = (target: Uint8Array): number => {
    state.reads += 1;
    const count = Math.min(target.length, maxRead, bytes.length - pos);
    target.set(bytes.subarray(pos, pos + count));
    pos += count;
    return count;
  };
  return {
    kind: "readInto",
    read: (target) => (async ? Promise.resolve().then(() => read(target)) : read(target)),
    close: () => {
      state.closed += 1;
    },
    get reads() {
      return state.reads;
    },
    get closed() {
      return state.closed;
    },
  };
}

/** Every kind of source over `bytes`, for chunk size `size`. */
export function sourcesOf(bytes: Uint8Array, size: number): Array<[string, () => ByteSource]> {
  return [
    ["sync iterable", () => chunksOf(bytes, size)],
    ["async generator", () => asyncChunks(chunksOf(bytes, size))],
    ["ReadableStream", () => readableStreamOf(chunksOf(bytes, size))],
    ["Node Readable", () => Readable.from(chunksOf(bytes, size).map((c) => Buffer.from(c.buffer, c.byteOffset, c.length)))],
    ["ReadIntoSource (async)", () => memoryReader(bytes, size, true)],
    ["ReadIntoSource (sync)", () => memoryReader(bytes, size, false)],
  ];
}

/** Collects an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

/** Collects chunks, copying each as it arrives (safe for reused buffers). */
export async function collectBytes(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of chunks) {
    parts.push(chunk.slice());
    length += chunk.length;
  }
  return concat(parts, length);
}

export function concat(parts: Iterable<Uint8Array>, length?: number): Uint8Array {
  const list = [...parts];
  const out = new Uint8Array(length ?? list.reduce((sum, part) => sum + part.length, 0));
  let pos = 0;
  for (const part of list) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** Fast byte comparison with a useful failure: the first differing offset. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let first = 0;
  while (first < Math.min(a.length, b.length) && a[first] === b[first]) first++;
  throw new Error(`bytes differ: lengths ${a.length} vs ${b.length}, first difference at offset ${first}`);
}

/** Deep equality with fast byte comparison (Uint8Arrays compared by content, any subclass). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return false;
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((item, i) => sameValue(item, b[i]));
  }
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object") {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    return keys.every((key) => sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
  }
  return Object.is(a, b);
}
