/**
 * Node adapters: files as {@link ReadIntoSource}s (the fast decode path),
 * chunks into files and Node `Writable`s, chunks as a Node `Readable`.
 * The only part of the library that imports Node built-ins besides the CLI.
 *
 * (A Node `Readable` needs no adapter to be *decoded*: it is an
 * AsyncIterable of Buffers, which the async decoders take as it is.)
 *
 * @module
 */
import { closeSync, openSync, read, readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { Readable, type Writable } from "node:stream";
import { throwIfAborted, type AbortSignalLike, type ReadIntoSource } from "./source.js";

/** Options of {@link fileSource}. */
export interface FileSourceOptions {
  /**
   * Read with blocking `fs.readSync` calls instead of `FileHandle.read`.
   * Saves the thread-pool round trip of every read, but blocks the event
   * loop while the kernel copies: right for a CLI, wrong for a server.
   * @defaultValue false
   */
  sync?: boolean;
}

/**
 * A file as a {@link ReadIntoSource}: the async decoders read it straight
 * into their reused buffer, one read per record, without copying a page.
 * A path is opened at the first read and closed when decoding stops; a file
 * descriptor (e.g. 0 for a stdin pipe, as long as `process.stdin` was never
 * touched, so that it is still blocking) is read from its current position
 * and left open. Byte fields of events are then valid only until the next
 * event is requested (pass `copy: true` to the decoder to keep them).
 *
 * @param file - a path, or an open file descriptor
 * @param options - `sync`
 * @returns the source
 *
 * @example
 * ```ts
 * import { decodeSaveFileAsync } from "xen-migration-stream/io";
 * import { fileSource } from "xen-migration-stream/io/node";
 * for await (const event of decodeSaveFileAsync(fileSource("guest.save"))) console.log(event.kind);
 * ```
 */
export function fileSource(file: string | number, options: FileSourceOptions = {}): ReadIntoSource {
  const given = typeof file === "number" ? file : undefined;
  if (options.sync === true) {
    let fd = given;
    return {
      kind: "readInto",
      read(target) {
        fd ??= openSync(file as string, "r");
        return readSync(fd, target, 0, target.length, null);
      },
      close() {
        if (fd !== undefined && given === undefined) closeSync(fd);
        fd = undefined;
      },
    };
  }
  if (given !== undefined) {
    return {
      kind: "readInto",
      async read(target) {
        for (;;) {
          try {
            return await readAsync(given, target);
          } catch (error) {
            // A non-blocking pipe with nothing to read yet: wait and retry.
            if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }
      },
    };
  }
  let handle: Promise<FileHandle> | undefined;
  return {
    kind: "readInto",
    async read(target) {
      handle ??= open(file as string, "r");
      const { bytesRead } = await (await handle).read(target, 0, target.length, null);
      return bytesRead;
    },
    async close() {
      const opened = handle;
      handle = undefined;
      if (opened !== undefined) await (await opened).close();
    },
  };
}

function readAsync(fd: number, target: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, target, 0, target.length, null, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

/** Options of {@link writeToFile} and {@link writeToNodeWritable}. */
export interface NodeWriteOptions {
  /** Stops writing: rejects with `signal.reason`. */
  signal?: AbortSignalLike;
}

/**
 * Writes byte chunks to a file (created or truncated), one awaited write per
 * chunk, so chunks from an encoder with `reuseBuffer: true` are safe.
 *
 * @param chunks - the chunks, e.g. from {@link encodeSaveFileChunks}
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
