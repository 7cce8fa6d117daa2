/**
 * {@link readWantedChunks}: any byte source, read in the pieces a push
 * decoder wants next (its `bytesWanted`), so that no record is assembled
 * where it need not be. The chunk-source path is here; the read-into path
 * is read-into.ts.
 *
 * @module
 */
import { checkSourceOptions, isReadIntoSource, sourceChunks, type AbortSignalLike, type ByteSource } from "./source.js";
import { readIntoChunks } from "./read-into.js";
import { describeValue, XenStreamError } from "../errors.js";

/**
 * What {@link readWantedChunks} asks of the consumer of its chunks: how
 * many bytes its next unit needs, and how many pushed bytes it still holds.
 * Every incremental decoder of the library has `bytesWanted`.
 */
export interface WantedConsumer {
  /** Bytes the consumer needs before its next event (0 once it has ended). */
  readonly bytesWanted: number;
  /**
   * Bytes already pushed that the consumer still holds (a header it waits
   * to complete): the reader never overwrites them. Every push decoder of
   * the library reports it.
   */
  readonly bytesHeld: number;
}

/** Options of {@link readWantedChunks}. */
export interface ReadWantedOptions {
  /** Stops reading: the iterator rejects with `signal.reason`; the source is closed. */
  signal?: AbortSignalLike;
  /**
   * Starting size of the reused buffer (it grows to the largest unit).
   * @defaultValue 4259840 (4 MiB + 64 KiB: a full PAGE_DATA batch)
   */
  bufferSize?: number;
}

/**
 * Reads any {@link ByteSource} in exactly the pieces `consumer` wants next
 * (its `bytesWanted` after each push: a header, or one whole record body),
 * so that the consumer never assembles a record from pieces. This is the
 * reading loop under the async decoders, exported for code that pushes
 * bytes into a decoder of its own (a verifier, a converter).
 *
 * - ReadIntoSource: read into one reused buffer, one read per large record
 *   (reading ahead only to the next record header, or 64 KiB); no copy.
 * - Chunk sources: each chunk is cut at the consumer's unit boundaries;
 *   a unit inside one chunk is a view of it, a unit that straddles chunks
 *   reaches the consumer in pieces and is assembled once by the
 *   consumer's own queue (the one layer that assembles).
 *
 * Each piece may be a view of a reused buffer, valid until the next piece
 * is requested: push it into `consumer` before asking for the next. At the
 * end of the input the rest is yielded whatever its size (so that a
 * truncated stream reaches the consumer's `end()`). The source is
 * released when the iteration stops, for any reason.
 *
 * @param source - where the bytes come from
 * @param consumer - the decoder the pieces are pushed into
 * @param options - `signal`, `bufferSize` (see the source contract in
 * {@link ByteSource})
 * @returns an async iterator of pieces
 * @throws {@link index!XenStreamError} USAGE for bad options (at the
 * call) and, from the iterator, for a source that is not a ByteSource or a
 * chunk that is not a Uint8Array; the iterator rejects with
 * `signal.reason` when the signal aborts
 *
 * @example
 * ```ts
 * import { readWantedChunks } from "xen-migration-stream/io";
 * import { fileSource } from "xen-migration-stream/io/node";
 * const decoder = new SaveFileDecoder();
 * for await (const chunk of readWantedChunks(fileSource(path, { sync: true }), decoder)) handle(decoder.push(chunk));
 * decoder.end();
 * ```
 */
export function readWantedChunks(
  source: ByteSource,
  consumer: WantedConsumer,
  options?: ReadWantedOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (typeof consumer !== "object" || consumer === null || typeof consumer.bytesWanted !== "number" || typeof consumer.bytesHeld !== "number") {
    throw new XenStreamError("USAGE", 0, `readWantedChunks: consumer must have numeric bytesWanted and bytesHeld, got ${describeValue(consumer)}`);
  }
  return wantedChunks(source, consumer, checkSourceOptions(options, "readWantedChunks"), "source");
}

/**
 * {@link readWantedChunks} with checked options, naming the source
 * argument `name` in USAGE messages. @internal
 */
export function wantedChunks(
  source: ByteSource,
  consumer: WantedConsumer,
  options: ReadWantedOptions,
  name: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (isReadIntoSource(source)) return readIntoChunks(source, consumer, options);
  return cutChunks(source, consumer, options.signal, name);
}


/**
 * The pieces of a chunk source, cut at `consumer`'s unit boundaries: a
 * view of each chunk up to what the consumer wants next, never a copy.
 */
async function* cutChunks(
  source: ByteSource,
  consumer: WantedConsumer,
  signal: AbortSignalLike | undefined,
  name: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  for await (const chunk of sourceChunks(source, { signal }, name)) {
    // A unit ends a piece, so that the consumer completes at most one
    // unit per piece (and stops at the end of the stream); a unit that
    // goes on into the next chunk is assembled by the consumer's queue.
    for (let pos = 0; pos < chunk.length; ) {
      // After the end, one more byte is wanted: any byte there is TRAILING_DATA.
      const size = Math.min(Math.max(1, consumer.bytesWanted), chunk.length - pos);
      yield chunk.subarray(pos, pos + size);
      pos += size;
    }
  }
}
