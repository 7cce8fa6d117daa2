/**
 * Files as {@link ReadIntoSource}s (the fast decode path), re-exported by
 * `xen-migration-stream/io/node`. Only `node:fs` (callbacks and sync
 * calls), so that the CLI loads no stream or promise modules to read a
 * file.
 *
 * @module
 */
import { close, closeSync, open, openSync, read, readSync } from "node:fs";
import type { ReadIntoSource } from "./source.js";

/** Options of {@link fileSource}. */
export interface FileSourceOptions {
  /**
   * Read with blocking `fs.readSync` calls instead of `fs.read` on the
   * thread pool. Saves a round trip per read, but blocks the event
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
  let opened: Promise<number> | undefined;
  return {
    kind: "readInto",
    async read(target) {
      opened ??= new Promise((resolve, reject) => open(file as string, "r", (error, fd) => (error ? reject(error) : resolve(fd))));
      return readAsync(await opened, target);
    },
    async close() {
      const closing = opened;
      opened = undefined;
      if (closing !== undefined) {
        const fd = await closing;
        await new Promise<void>((resolve, reject) => close(fd, (error) => (error ? reject(error) : resolve())));
      }
    },
  };
}

function readAsync(fd: number, target: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, target, 0, target.length, null, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}
