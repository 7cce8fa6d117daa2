/**
 * Byte sources for every async entry point, and cancellation.
 *
 * One contract for `decodeLibxcAsync`, `decodeLibxlAsync`,
 * `decodeSaveFileAsync`, `readWantedChunks`, `verifyStream` (on anything
 * but one Uint8Array) and `convertLegacyStream`:
 *
 * - Sources: a `Uint8Array`, an `Iterable` or `AsyncIterable` of
 *   `Uint8Array` chunks (arrays, generators, Node `Readable`s), a WHATWG
 *   `ReadableStream`, or a {@link ReadIntoSource} (`readIntoSource()`,
 *   `fileSource()` of `xen-migration-stream/io/node`).
 * - Chunks must be `Uint8Array`s (a Node `Buffer` is one). Anything else
 *   (a string, a number, an `ArrayBuffer`, another typed array or a
 *   `DataView`) is refused with `USAGE` naming the argument and the
 *   chunk's index, at the offset of the bytes received before it: the
 *   bytes of a `Uint16Array` are in the platform's byte order, so wrap
 *   them yourself (`new Uint8Array(view.buffer, view.byteOffset,
 *   view.byteLength)`) when that is what you mean.
 * - Options are checked when the function is called (a bad `signal`,
 *   `bufferSize` or options object throws `USAGE` there); the source is
 *   checked when reading starts (the iterator or promise rejects).
 * - `signal` (an `AbortSignal`): when it aborts, the pending read is
 *   abandoned at once (a stalled source is not waited for), the source is
 *   cancelled (ReadableStream `cancel()`, iterator `return()`, Node
 *   Readable `destroy()`, ReadIntoSource `close()`), and the iterator or
 *   promise rejects with `signal.reason`, as `fetch` and the WHATWG
 *   streams do: by default a `DOMException` named `AbortError`
 *   (`error.name === "AbortError"`), not a XenStreamError, since the
 *   input is not at fault.
 *
 * Nothing here uses Node built-ins: a Node `Readable` is read through its
 * async iterator, a WHATWG `ReadableStream` through its reader, so the
 * same code runs in browsers, Deno and Bun.
 *
 * @module
 */
import { describeValue, XenStreamError } from "../errors.js";

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
  if (!isObject(reader) || typeof (reader as { read?: unknown }).read !== "function") {
    throw new XenStreamError("USAGE", 0, `readIntoSource: reader must have a read(target) method, got ${describeValue(reader)}`);
  }
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

/** What a refused chunk is, for the USAGE message (never calls its methods). */
function chunkKind(value: unknown): string {
  if (typeof value === "string") return "a string (is an encoding set on the stream?)";
  if (value instanceof ArrayBuffer) return "an ArrayBuffer (wrap it: new Uint8Array(buffer))";
  if (ArrayBuffer.isView(value)) {
    return `${describeValue(value)}, not a Uint8Array (its bytes are not taken: wrap them with new Uint8Array(view.buffer, view.byteOffset, view.byteLength))`;
  }
  return describeValue(value);
}

/**
 * Checks and normalises one chunk: a Uint8Array, anything else is USAGE.
 *
 * @param value - what the source yielded
 * @param offset - bytes received before it
 * @param index - its index among the chunks
 * @param name - the argument, for the message
 * @internal
 */
export function asChunk(value: unknown, offset: number, index = 0, name = "source"): Uint8Array {
  // A plain Uint8Array view even of a Node Buffer, so that event fields are
  // the same type whatever the source (Buffer.subarray would give Buffers).
  if (value instanceof Uint8Array) return value.constructor === Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  throw new XenStreamError("USAGE", offset, `${name} yielded ${chunkKind(value)} as chunk ${index}; expected Uint8Array chunks`);
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
  name: string,
): ChunkPuller {
  let pending: Promise<unknown> | undefined;
  let received = 0;
  let index = 0;
  const take = (result: IteratorResult<unknown>): Pulled => {
    if (typeof result !== "object" || result === null) {
      throw new XenStreamError("USAGE", received, `${name}: its iterator's next() returned ${describeValue(result)}, not an iterator result`);
    }
    if (result.done === true) return null;
    const chunk = asChunk(result.value, received, index++, name);
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

function fromReadableStream(stream: ReadableStreamLike<unknown>, name: string): ChunkPuller {
  const reader = stream.getReader();
  let received = 0;
  let index = 0;
  return {
    pull() {
      return reader.read().then((result) => {
        if (result.done) return null;
        const chunk = asChunk(result.value, received, index++, name);
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
export function chunkPuller(source: unknown, name = "source"): ChunkPuller {
  if (source instanceof Uint8Array) return fromIterator([source][Symbol.iterator](), undefined, name);
  // A typed array is iterable, but of numbers: never read it as chunks.
  if (isObject(source) && !ArrayBuffer.isView(source)) {
    if (typeof (source as { getReader?: unknown }).getReader === "function") {
      return fromReadableStream(source as ReadableStreamLike<unknown>, name);
    }
    if (typeof (source as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function") {
      return fromIterator((source as AsyncIterable<unknown>)[Symbol.asyncIterator](), source, name);
    }
    if (typeof (source as { [Symbol.iterator]?: unknown })[Symbol.iterator] === "function") {
      return fromIterator((source as Iterable<unknown>)[Symbol.iterator](), source, name);
    }
  }
  throw new XenStreamError("USAGE", 0, `${name} must be ${SOURCE_KINDS}, got ${sourceKind(source)}`);
}

const SOURCE_KINDS = "a Uint8Array, an Iterable or AsyncIterable of Uint8Array chunks, a ReadableStream or a ReadIntoSource";

function sourceKind(value: unknown): string {
  if (value instanceof ArrayBuffer) return "an ArrayBuffer (wrap it: new Uint8Array(buffer))";
  if (ArrayBuffer.isView(value)) return `${describeValue(value)}, not a Uint8Array`;
  return describeValue(value);
}

/** Largest `bufferSize` of the async entry points (1 GiB; a buffer grows past it for a larger record). @internal */
export const MAX_BUFFER_SIZE = 2 ** 30;

/**
 * Checks the options every async entry point shares, at the call: the
 * options object itself, `signal` (an AbortSignal) and `bufferSize`.
 *
 * @param options - what the caller passed (undefined: no options)
 * @param name - the function, for messages
 * @returns the options, or an empty object
 * @throws {@link XenStreamError} USAGE naming the option
 * @internal
 */
export function checkSourceOptions<T extends object>(options: T | undefined, name: string): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null) {
    throw new XenStreamError("USAGE", 0, `${name}: options must be an object, got ${describeValue(options)}`);
  }
  const { signal, bufferSize } = options as { signal?: unknown; bufferSize?: unknown };
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw new XenStreamError("USAGE", 0, `${name}: options.signal must be an AbortSignal, got ${describeValue(signal)}`);
  }
  if (bufferSize !== undefined && (typeof bufferSize !== "number" || !Number.isSafeInteger(bufferSize) || bufferSize < 1 || bufferSize > MAX_BUFFER_SIZE)) {
    throw new XenStreamError("USAGE", 0, `${name}: options.bufferSize must be an integer in 1..${MAX_BUFFER_SIZE}, got ${describeValue(bufferSize)}`);
  }
  return options;
}

function isAbortSignal(value: unknown): value is AbortSignalLike {
  return (
    isObject(value) &&
    typeof (value as { aborted?: unknown }).aborted === "boolean" &&
    typeof (value as { addEventListener?: unknown }).addEventListener === "function" &&
    typeof (value as { removeEventListener?: unknown }).removeEventListener === "function"
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

/** Options of {@link sourceChunks}. @internal */
export interface SourceChunkOptions {
  signal?: AbortSignalLike | undefined;
  /** ReadIntoSource: size of each fresh buffer read into. */
  bufferSize?: number | undefined;
}

/** Default size of the buffers a ReadIntoSource is read into by {@link sourceChunks}: 1 MiB. */
const FRESH_BUFFER_SIZE = 1 << 20;

/**
 * Any {@link ByteSource} as chunks that stay valid (for consumers that
 * keep views of their input, such as the legacy converter, whose output
 * borrows the page data): chunk sources as they come; a ReadIntoSource
 * read into buffers that are filled once and never reused. The source is
 * released when the iteration stops, for any reason; `signal` as in the
 * module documentation.
 *
 * @param source - the bytes
 * @param options - `signal`, `bufferSize` (checked by the caller with {@link checkSourceOptions})
 * @param name - the argument, for USAGE messages
 * @returns the chunks
 * @internal
 */
export async function* sourceChunks(source: unknown, options: SourceChunkOptions, name: string): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = options;
  throwIfAborted(signal);
  if (isReadIntoSource(source)) {
    yield* freshReads(source, options.bufferSize ?? FRESH_BUFFER_SIZE, signal, name);
    return;
  }
  const puller = chunkPuller(source, name);
  let finished = false;
  let failure: unknown;
  try {
    for (;;) {
      throwIfAborted(signal);
      const pulled = puller.pull();
      const chunk = isPromiseLike(pulled) ? await unlessAborted(pulled, signal) : pulled;
      if (chunk === null) break;
      yield chunk;
    }
    finished = true;
    puller.release();
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    if (!finished) await puller.cancel(failure);
  }
}

async function* freshReads(
  source: ReadIntoSource,
  size: number,
  signal: AbortSignalLike | undefined,
  name: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  let closed = false;
  let received = 0;
  let buffer = new Uint8Array(size);
  let pos = 0;
  try {
    for (;;) {
      throwIfAborted(signal);
      // Each read fills the rest of the buffer, which earlier chunks never share.
      if (pos === buffer.length) {
        buffer = new Uint8Array(size);
        pos = 0;
      }
      const target = buffer.subarray(pos);
      const read = source.read(target);
      const count = readCount(isPromiseLike(read) ? await unlessAborted(read, signal) : read, target.length, received, name);
      if (count === 0) break;
      pos += count;
      received += count;
      yield target.subarray(0, count);
    }
    closed = true;
    await source.close?.();
  } finally {
    if (!closed) await closeQuietly(source);
  }
}

/**
 * The byte count a ReadIntoSource's read() gave for a `length`-byte
 * target: 0 at the end (it returned 0 or null).
 * @throws XenStreamError USAGE (at `received`) when it is no integer in 0..length.
 * @internal
 */
export function readCount(count: unknown, length: number, received: number, name: string): number {
  if (count === null) return 0;
  if (typeof count !== "number" || !Number.isInteger(count) || count < 0 || count > length) {
    throw new XenStreamError("USAGE", received, `${name}: ReadIntoSource.read() returned ${describeValue(count)} for a ${length}-byte target`);
  }
  return count;
}

/**
 * Closes a ReadIntoSource after an error or an early exit of its reader;
 * an error from close() is dropped, as the one that ended the reading (or
 * the consumer leaving) matters more.
 * @internal
 */
export async function closeQuietly(source: ReadIntoSource): Promise<void> {
  try {
    await source.close?.();
  } catch {
    // see above
  }
}
