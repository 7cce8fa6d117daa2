/**
 * A file as a {@link RandomAccessSource} for `AsyncGuestMemory` (positional
 * reads with `node:fs`), re-exported by `xen-migration-stream/io/node`.
 *
 * @module
 */
import { close, open, read } from "node:fs";
import type { RandomAccessSource } from "../memory/guest-memory.js";

/**
 * Opens `path` for positional reads. The file is opened at the first read
 * and closed by `close()`.
 *
 * @param path - the save file
 * @returns the source
 *
 * @example
 * ```ts
 * import { AsyncGuestMemory } from "xen-migration-stream";
 * import { fileRandomAccess } from "xen-migration-stream/io/node";
 * const memory = await AsyncGuestMemory.open(fileRandomAccess("guest.save"));
 * ```
 */
export function fileRandomAccess(path: string): RandomAccessSource {
  let opened: Promise<number> | undefined;
  const fd = (): Promise<number> =>
    (opened ??= new Promise((resolve, reject) => open(path, "r", (error, descriptor) => (error ? reject(error) : resolve(descriptor)))));
  return {
    async read(position, length) {
      const target = new Uint8Array(length);
      const descriptor = await fd();
      let filled = 0;
      while (filled < length) {
        const got = await new Promise<number>((resolve, reject) =>
          read(descriptor, target, filled, length - filled, position + filled, (error, bytes) => (error ? reject(error) : resolve(bytes))),
        );
        if (got === 0) break;
        filled += got;
      }
      return filled === length ? target : target.subarray(0, filled);
    },
    async close() {
      const closing = opened;
      opened = undefined;
      if (closing === undefined) return;
      const descriptor = await closing;
      await new Promise<void>((resolve, reject) => close(descriptor, (error) => (error ? reject(error) : resolve())));
    },
  };
}
