/**
 * Node adapters: files as {@link io!ReadIntoSource}s (the fast decode path),
 * chunks into files and Node `Writable`s, chunks as a Node `Readable`.
 * The only part of the library that imports Node built-ins besides the CLI.
 *
 * (A Node `Readable` needs no adapter to be *decoded*: it is an
 * AsyncIterable of Buffers, which the async decoders take as it is.)
 *
 * @module
 */
import { open } from "node:fs/promises";
import { Readable, type Writable } from "node:stream";
import { throwIfAborted, type AbortSignalLike } from "./source.js";

export { fileSource, type FileSourceOptions } from "./file.js";
export { fileRandomAccess } from "./random-access.js";

/** Options of {@link writeToFile} and {@link writeToNodeWritable}. */
export interface NodeWriteOptions {
  /** Stops writing: rejects with `signal.reason`. */
  signal?: AbortSignalLike;
}

/**
 * Writes byte chunks to a file (created or truncated), one awaited write per
 * chunk, so chunks from an encoder with `reuseBuffer: true` are safe.
 *
 * @param chunks - the chunks, e.g. from {@link io!encodeSaveFileChunks}
 * @param path - the file
 * @param options - `signal`
 * @returns the number of bytes written
 */
export async function writeToFile(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  path: string,
  options: NodeWriteOptions = {},
): Promise<number> {
  const file = await open(path, "w");
  let written = 0;
  try {
    for await (const chunk of chunks) {
      throwIfAborted(options.signal);
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await file.write(chunk, done, chunk.length - done, null);
        done += bytesWritten;
      }
      written += chunk.length;
    }
    throwIfAborted(options.signal);
    return written;
  } finally {
    await file.close();
  }
}

/**
 * Writes byte chunks to a Node `Writable`, waiting for each write's
 * callback before taking the next chunk (safe with `reuseBuffer: true`;
 * back-pressure holds), then ends it.
 *
 * @param chunks - the chunks
 * @param sink - the writable (a socket, a file stream, `process.stdout`)
 * @param options - `signal`, and `end: false` to leave the writable open
 * @returns the number of bytes written
 */
export async function writeToNodeWritable(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  sink: Writable,
  options: NodeWriteOptions & { end?: boolean } = {},
): Promise<number> {
  let written = 0;
  const write = (chunk: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => {
      sink.write(chunk, (error) => (error ? reject(error) : resolve()));
    });
  for await (const chunk of chunks) {
    throwIfAborted(options.signal);
    await write(chunk);
    written += chunk.length;
  }
  throwIfAborted(options.signal);
  if (options.end !== false) {
    await new Promise<void>((resolve, reject) => {
      sink.once("error", reject);
      sink.end(() => {
        sink.off("error", reject);
        resolve();
      });
    });
  }
  return written;
}

/**
 * Byte chunks as a Node `Readable` (byte mode, pulled on demand). Not for
 * chunks from an encoder with `reuseBuffer: true`: a Readable buffers
 * chunks ahead of its reader; use {@link writeToNodeWritable} for those.
 *
 * @param chunks - the chunks
 * @returns a readable stream of the bytes
 */
export function toNodeReadable(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Readable {
  return Readable.from(chunks, { objectMode: false });
}
