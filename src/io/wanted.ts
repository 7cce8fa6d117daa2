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
 *   is assembled once, part by part as the chunks arrive, in one reused
 *   buffer (grown with the bytes that arrived, never to a claimed length).
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


const EMPTY = new Uint8Array(0);
/** Stage sizes are multiples of this. */
const STAGE_STEP = 64 * 1024;

/**
 * The reused buffer in which a unit (a header or a record body) that
 * straddles source chunks is assembled as its parts arrive, so that the
 * consumer gets it as one piece.
 */
class Stage {
  private bytes: Uint8Array = EMPTY;
  /** Bytes staged. */
  length = 0;

  /**
   * Appends `part` to a unit of `wanted` bytes. Grows with the bytes that
   * arrived (at most doubling), never straight to `wanted`: a hostile
   * length makes us wait for bytes, it never allocates.
   */
  add(part: Uint8Array, wanted: number): void {
    const needed = this.length + part.length;
    if (this.bytes.length < needed) {
      const step = (value: number): number => Math.ceil(value / STAGE_STEP) * STAGE_STEP;
      const bytes = new Uint8Array(Math.min(step(wanted), Math.max(step(needed), 2 * this.bytes.length)));
      bytes.set(this.bytes.subarray(0, this.length));
      this.bytes = bytes;
    }
    this.bytes.set(part, this.length);
    this.length = needed;
  }

  /** The staged bytes, as one view; the stage is then empty. */
  take(): Uint8Array {
    const bytes = this.bytes.subarray(0, this.length);
    this.length = 0;
    return bytes;
  }

  /** Gives the buffer up (the consumer still holds bytes of it). */
  release(): void {
    this.bytes = EMPTY;
  }
}

/**
 * The pieces of a chunk source, cut at `consumer`'s unit boundaries: a
 * unit inside one chunk is a view of it; a unit that goes on into the
 * next chunk is copied into the stage part by part as the chunks arrive
 * (each chunk is let go as soon as it is taken, while it is still in the
 * CPU's cache) and handed over whole, a view of the reused stage, valid
 * until the next piece is requested.
 */
async function* cutChunks(
  source: ByteSource,
  consumer: WantedConsumer,
  signal: AbortSignalLike | undefined,
  name: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  const stage = new Stage();
  for await (const chunk of sourceChunks(source, { signal }, name)) {
    let pos = 0;
    while (pos < chunk.length) {
      // After the end, one more byte is wanted: any byte there is TRAILING_DATA.
      const wanted = Math.max(1, consumer.bytesWanted);
      const available = chunk.length - pos;
      if (stage.length === 0 && available >= wanted) {
        yield chunk.subarray(pos, pos + wanted);
        pos += wanted;
        continue;
      }
      const part = Math.min(wanted - stage.length, available);
      stage.add(chunk.subarray(pos, pos + part), wanted);
      pos += part;
      if (stage.length < wanted) break;
      yield stage.take();
      // The consumer keeps bytes of the stage (a header it waits to
      // complete): leave that buffer to it.
      if (consumer.bytesHeld > 0) stage.release();
    }
  }
  // An incomplete unit: the consumer's end() reports it.
  if (stage.length > 0) yield stage.take();
}
