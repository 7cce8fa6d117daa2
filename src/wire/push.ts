/**
 * The push-driven driver shared by every decoder class.
 *
 * @module
 * @internal
 */
import { XenStreamError } from "../errors.js";
import { ByteQueue } from "./queue.js";

/** What a format parser offers its driver. @internal */
export interface Parser<E> {
  /** One event from the queue, or null when more bytes are needed or the stream ended. */
  next(queue: ByteQueue): E | null;
  /** True once the stream's final record was read. */
  readonly ended: boolean;
  /** True where the input may stop. */
  readonly complete: boolean;
  /** The error for input that stopped at `received` bytes. */
  truncated(received: number): XenStreamError;
  /** Bytes still missing before the next event can be parsed (0 when ended). */
  needed(queue: ByteQueue): number;
}

/**
 * A push-driven driver around a parser: feeds chunks, collects events,
 * refuses bytes after the end, and turns an incomplete stream into
 * TRUNCATED at `end()`. Every decoder class is one of these.
 *
 * @internal
 */
export abstract class PushDecoder<E, P extends Parser<E>> {
  /** @internal */
  protected readonly queue: ByteQueue;
  /** @internal */
  protected readonly parser: P;
  private finished = false;
  private failure: unknown = undefined;

  /** @internal */
  protected constructor(parser: P, startOffset: number) {
    this.parser = parser;
    this.queue = new ByteQueue(startOffset);
  }

  /**
   * Adds bytes and returns every event they complete.
   *
   * @throws {@link XenStreamError} on malformed input (the decoder then
   * keeps failing with the same error)
   */
  push(chunk: Uint8Array): E[] {
    const events: E[] = [];
    this.pushEach(chunk, (event) => events.push(event));
    return events;
  }

  /**
   * Adds bytes and hands every event they complete to `visit` as soon as it
   * is parsed, so a consumer sees the events before a fault later in the
   * same chunk (`push` returns nothing when it throws).
   *
   * @param chunk - the next bytes
   * @param visit - called once per event, in order
   * @throws {@link XenStreamError} on malformed input (the decoder then
   * keeps failing with the same error)
   */
  pushEach(chunk: Uint8Array, visit: (event: E) => void): void {
    this.guard();
    try {
      this.queue.push(chunk);
      for (let event = this.parser.next(this.queue); event !== null; event = this.parser.next(this.queue)) visit(event);
      if (this.parser.ended && this.queue.available > 0) {
        throw new XenStreamError("TRAILING_DATA", this.queue.offset, `${this.queue.available} bytes after the end of the stream`);
      }
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  /**
   * How many more bytes the decoder needs before it can emit its next event
   * (a header, or one whole record); 0 once the stream has ended. A reader
   * that pushes exactly this many bytes at a time hands every record body
   * to the decoder as one chunk, so no record is ever assembled from
   * pieces (see the io adapters).
   */
  get bytesWanted(): number {
    if (this.parser.ended) return 0;
    return Math.max(1, this.parser.needed(this.queue));
  }

  /** Bytes pushed that the decoder still holds (an incomplete header or record). */
  get bytesHeld(): number {
    return this.queue.available;
  }

  /**
   * Declares the input complete.
   *
   * @throws {@link XenStreamError} TRUNCATED when the stream is incomplete
   */
  end(): void {
    this.guard();
    this.finished = true;
    if (!this.parser.complete || this.queue.available > 0) {
      this.failure = this.parser.truncated(this.queue.received);
      throw this.failure;
    }
  }

  private guard(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.finished) throw new XenStreamError("USAGE", this.queue.received, "decoder already ended");
  }
}

