/**
 * WHATWG stream adapters for byte chunks: an async iterable of chunks as a
 * `ReadableStream`, and writing chunks into a `WritableStream`. No Node
 * built-ins: they use the global `ReadableStream`, present in browsers,
 * Deno, Bun and Node >= 18.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { throwIfAborted, unlessAborted, type AbortSignalLike } from "./source.js";

/** Options of {@link writeToWritableStream}. */
export interface WriteOptions {
  /** Stops writing: rejects with `signal.reason` and aborts the sink. */
  signal?: AbortSignalLike;
  /**
   * Close the sink after the last chunk.
   * @defaultValue true
   */
  close?: boolean;
}

/**
 * A pull-based `ReadableStream` over byte chunks: the next chunk is taken
 * from `chunks` only when the stream's reader asks for one (high-water mark
 * 0), and cancelling the stream stops the iterator.
 *
 * Not for chunks from an encoder with `reuseBuffer: true` when the reader
 * queues chunks (for example `pipeTo` into a WritableStream with a queue):
 * use {@link writeToWritableStream} for those.
 *
 * @param chunks - the chunks, e.g. from {@link encodeSaveFileChunks}
 * @returns a byte stream
 *
 * @example
 * ```ts
 * import { encodeSaveFileChunks, toReadableStream } from "xen-migration-stream/io";
 * await fetch(url, { method: "PUT", body: toReadableStream(encodeSaveFileChunks(file)), duplex: "half" });
 * ```
 */
export function toReadableStream(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): ReadableStream<Uint8Array> {
  const Stream = (globalThis as { ReadableStream?: typeof ReadableStream }).ReadableStream;
  if (Stream === undefined) throw new XenStreamError("USAGE", 0, "this runtime has no global ReadableStream");
  let iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array> | undefined;
  const open = (): AsyncIterator<Uint8Array> | Iterator<Uint8Array> => {
    if (iterator === undefined) {
      const asyncIterable = chunks as AsyncIterable<Uint8Array>;
      iterator =
        typeof asyncIterable[Symbol.asyncIterator] === "function"
          ? asyncIterable[Symbol.asyncIterator]()
          : (chunks as Iterable<Uint8Array>)[Symbol.iterator]();
    }
    return iterator;
  };
  return new Stream<Uint8Array>(
    {
      async pull(controller) {
        const result = await open().next();
        if (result.done === true) controller.close();
        else controller.enqueue(result.value);
      },
      async cancel() {
        await open().return?.();
      },
    },
    { highWaterMark: 0 },
  );
}

/**
 * Writes byte chunks into a WHATWG `WritableStream`, waiting for each write
 * to complete before taking the next chunk (so chunks from an encoder with
 * `reuseBuffer: true` are safe, and the sink's back-pressure holds).
 *
 * @param chunks - the chunks
 * @param sink - the stream to write to
 * @param options - `signal`, `close`
 * @returns the number of bytes written
 */
export async function writeToWritableStream(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sink: WritableStream<Uint8Array>,
  options: WriteOptions = {},
): Promise<number> {
  const { signal } = options;
  const writer = sink.getWriter();
  let written = 0;
  try {
    for await (const chunk of chunks) {
      throwIfAborted(signal);
      await unlessAborted(writer.ready, signal);
      await unlessAborted(writer.write(chunk), signal);
      written += chunk.length;
    }
    throwIfAborted(signal);
    if (options.close !== false) await writer.close();
    return written;
  } catch (error) {
    await writer.abort(error).catch(() => undefined);
    throw error;
  } finally {
    writer.releaseLock();
  }
}
