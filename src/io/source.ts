/**
 * Byte sources for the async decoders, and cancellation.
 *
 * Every source is normalised once into a {@link ChunkPuller}: pull one
 * chunk, or cancel. Nothing here uses Node built-ins: a Node `Readable` is
 * read through its async iterator, a WHATWG `ReadableStream` through its
 * reader, so the same code runs in browsers, Deno and Bun.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";

/**
 * The parts of a WHATWG `ReadableStream<Uint8Array>` the decoders use (a
 * structural type, so no DOM typings are needed).
 */
export interface ReadableStreamLike<T = Uint8Array> {
  /** Locks the stream to a reader and returns it. */
  getReader(): {
    /** The next chunk, or `done` at the end. */
    read(): Promise<{ done: boolean; value?: T | undefined }>;
    /** Gives up on the stream. */
    cancel(reason?: unknown): Promise<void>;
    /** Unlocks the stream. */
    releaseLock(): void;
  };
}

/**
 * The parts of an `AbortSignal` the async functions use (structural, so
 * any spec-conforming signal works).
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  /** Calls `listener` when the signal aborts. */
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  /** Removes a listener added with `addEventListener`. */
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * A source the decoder reads *into*: it owns one buffer, asks for bytes to
 * be written into it, and reuses it. This is the fast path for files (see
 * `fileSource` in `xen-migration-stream/io/node`) and for anything with a
 * `read(buffer)` call (a Deno `FsFile`, a socket wrapper, ...).
 *
 * Because the buffer is reused, byte fields of the events (PAGE_DATA
 * `pages`, vCPU `context`, ...) are views that stay valid only until the
 * next event is requested (as with every source of the async decoders);
 * pass `copy: true` to keep them longer.
 *
 * Build one with {@link readIntoSource}.
 */
export interface ReadIntoSource {
  /** Tag that tells this source from the others. */
  readonly kind: "readInto";
  /**
   * Reads up to `target.length` bytes into `target` and returns how many
   * were read; 0 or null at the end of the input.
   */
  read(target: Uint8Array): Promise<number | null> | number | null;
  /** Releases the input; called once when decoding stops for any reason. */
  close?(): Promise<void> | void;
}

/**
 * Anything the async decoders read from:
 * - an `AsyncIterable<Uint8Array>` (async generators, Node `Readable`s,
 *   Node 18+ and Deno `ReadableStream`s),
 * - a WHATWG `ReadableStream<Uint8Array>` (read with `getReader()`),
 * - a synchronous `Iterable<Uint8Array>` (arrays of chunks, generators),
 * - a {@link ReadIntoSource} (the decoder reads into one reused buffer),
 * - one `Uint8Array` (the whole stream).
 *
 * Chunks must be `Uint8Array`s (a Node `Buffer` is one; events then hold
 * plain Uint8Array views of it); a chunk must not be modified by the source
 * until the consumer has asked for the event after the last one it
 * completes, since events may be views into it.
 */
export type ByteSource =
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | ReadableStreamLike<Uint8Array>
  | ReadIntoSource
  | Uint8Array;

/**
 * Wraps a `read(buffer)`-style reader as a {@link ReadIntoSource}.
 *
 * @param reader - `read(target)` resolves the number of bytes written into
 * `target` (0 or null at the end); optional `close()`
 * @returns the source
 *
 * @example
 * ```ts
 * import { decodeSaveFileAsync, readIntoSource } from "xen-migration-stream/io";
 * const file = await Deno.open("guest.save");
 * for await (const event of decodeSaveFileAsync(readIntoSource(file))) console.log(event.kind);
 * ```
 */
export function readIntoSource(reader: {
  read(target: Uint8Array): Promise<number | null> | number | null;
  close?(): Promise<void> | void;
}): ReadIntoSource {
  const source: ReadIntoSource = { kind: "readInto", read: (target) => reader.read(target) };
  if (typeof reader.close === "function") return { ...source, close: () => reader.close?.() };
  return source;
}

/** True for a {@link ReadIntoSource}. */
export function isReadIntoSource(source: unknown): source is ReadIntoSource {
  return (
    typeof source === "object" &&
    source !== null &&
    (source as { kind?: unknown }).kind === "readInto" &&
    typeof (source as { read?: unknown }).read === "function"
  );
}

/** One pulled chunk, or the end. @internal */
export type Pulled = Uint8Array | null;

/**
 * A normalised chunk source: `pull()` returns the next chunk (or a promise
 * of it), null at the end; `cancel()` gives up early; `release()` after the
 * end. @internal
 */
export interface ChunkPuller {
  pull(): Pulled | Promise<Pulled>;
  /** Stops the source early (error, abort, consumer left). Never throws. */
  cancel(reason: unknown): Promise<void>;
  /** Called after the end was pulled. */
  release(): void;
}

function isObject(value: unknown): value is object {
  return (typeof value === "object" || typeof value === "function") && value !== null;
}

/** Checks and normalises one chunk. @internal */
export function asChunk(value: unknown, offset: number): Uint8Array {
  // A plain Uint8Array view even of a Node Buffer, so that event fields are
  // the same type whatever the source (Buffer.subarray would give Buffers).
  if (value instanceof Uint8Array) return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  const what = typeof value === "string" ? "a string (is an encoding set on the stream?)" : typeof value;
  throw new XenStreamError("USAGE", offset, `source yielded ${what}; expected Uint8Array chunks`);
}

function ignore(): void {
  // a failure while cancelling is not the caller's error
}

/** True for promises and other thenables. @internal */
export function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return isObject(value) && typeof (value as { then?: unknown }).then === "function";
}

/** Settles `promise` and swallows a rejection (for abandoned pulls). */
function swallow(value: unknown): void {
  if (isPromiseLike(value)) {
    value.then(ignore, ignore);
  }
}

function fromIterator(
  iterator: Iterator<unknown> | AsyncIterator<unknown>,
  owner: unknown,
): ChunkPuller {
  let pending: Promise<unknown> | undefined;
  let received = 0;
  const take = (result: IteratorResult<unknown>): Pulled => {
    if (result.done === true) return null;
    const chunk = asChunk(result.value, received);
    received += chunk.length;
    return chunk;
  };
  return {
    pull() {
      const result = iterator.next();
      if (isPromiseLike(result)) {
        const promise = Promise.resolve(result).then(
          (r) => {
            pending = undefined;
            return take(r);
          },
          (error: unknown) => {
            pending = undefined;
            throw error;
          },
        );
        pending = promise;
        return promise;
      }
      return take(result as IteratorResult<unknown>);
    },
    async cancel() {
      if (pending !== undefined) {
        // A pull is still in flight (abort while waiting for bytes): an async
        // generator would queue return() behind it, so do not wait for it.
        swallow(pending);
        const destroy = (owner as { destroy?: unknown }).destroy;
        if (typeof destroy === "function") {
          try {
            (destroy as () => void).call(owner); // a Node Readable
          } catch {
            // already destroyed
          }
        }
        try {
          swallow(iterator.return?.());
        } catch {
          // a broken iterator
        }
        return;
      }
      try {
        await iterator.return?.();
      } catch {
        // the source failed while closing; the decoding error matters more
      }
    },
    release: ignore,
  };
}

function fromReadableStream(stream: ReadableStreamLike<unknown>): ChunkPuller {
  const reader = stream.getReader();
  let received = 0;
  return {
    pull() {
      return reader.read().then((result) => {
        if (result.done) return null;
        const chunk = asChunk(result.value, received);
        received += chunk.length;
        return chunk;
      });
    },
    async cancel(reason) {
      try {
        await reader.cancel(reason);
      } catch {
        // an errored stream rejects cancel()
      }
      try {
        reader.releaseLock();
      } catch {
        // a read still pending
      }
    },
    release() {
      reader.releaseLock();
    },
  };
}

/**
 * Normalises a chunk source. (ReadIntoSources are handled by the decode
 * driver itself.) @internal
 */
export function chunkPuller(source: unknown): ChunkPuller {
  if (source instanceof Uint8Array) return fromIterator([source][Symbol.iterator](), undefined);
  if (isObject(source)) {
    if (typeof (source as { getReader?: unknown }).getReader === "function") {
      return fromReadableStream(source as ReadableStreamLike<unknown>);
    }
    if (typeof (source as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function") {
      return fromIterator((source as AsyncIterable<unknown>)[Symbol.asyncIterator](), source);
    }
    if (typeof (source as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function") {
      return fromIterator((source as Iterable<unknown>)[Symbol.iterator](), source);
    }
  }
  throw new XenStreamError(
    "USAGE",
    0,
    "source must be an AsyncIterable or Iterable of Uint8Array, a ReadableStream, a ReadIntoSource or a Uint8Array",
  );
}

/** The error an aborted signal stands for: its reason, or an AbortError. @internal */
export function abortReason(signal: AbortSignalLike): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const error = new Error("The operation was aborted");
  error.name = "AbortError";
  return error;
}

/** Throws the abort reason when `signal` is aborted. @internal */
export function throwIfAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted === true) throw abortReason(signal);
}

/**
 * Waits for `value` unless `signal` aborts first (then rejects with the
 * abort reason). Values that are not promises pass straight through.
 * @internal
 */
export function unlessAborted<T>(value: T | PromiseLike<T>, signal: AbortSignalLike | undefined): T | PromiseLike<T> {
  if (signal === undefined || !isPromiseLike(value)) return value;
  if (signal.aborted) {
    swallow(value);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      swallow(value);
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    value.then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
