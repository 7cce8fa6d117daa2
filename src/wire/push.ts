/**
 * The push-driven driver shared by every decoder class.
 *
 * @module
 * @internal
 */
import { describeValue, XenStreamError } from "../errors.js";
import { ByteQueue } from "./queue.js";
import { checkBytes, checkOffset } from "./args.js";

/** What a format parser offers its driver. @internal */
export interface Parser<E> {
  /**
   * One event from the queue, or null when more bytes are needed or the
   * stream ended. `final` is true once the input is complete (from
   * `end()`): a parser whose last item runs to the end of the input (the
   * legacy QEMU state) completes it then.
   */
  next(queue: ByteQueue, final: boolean): E | null;
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
    checkOffset(startOffset, "decoder startOffset");
    this.parser = parser;
    this.queue = new ByteQueue(startOffset);
  }

  /**
   * Adds bytes and returns every event they complete.
   *
   * @param chunk - the next bytes (byte fields of the events may be views into it)
   * @returns the events, in stream order (empty while a record is incomplete)
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
    // Misuse throws before anything changes: the decoder stays usable.
    if (!(chunk instanceof Uint8Array)) checkBytes(chunk, "push: chunk");
    if (typeof visit !== "function") throw new XenStreamError("USAGE", this.queue.offset, `pushEach: visit must be a function, got ${describeValue(visit)}`);
    this.guard();
    try {
      this.queue.push(chunk);
      this.drain(false, visit);
      if (this.parser.ended && this.queue.available > 0) {
        throw new XenStreamError("TRAILING_DATA", this.queue.offset, `${this.queue.available} bytes after the end of the stream`);
      }
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  private drain(final: boolean, visit: (event: E) => void): void {
    const { parser, queue } = this;
    for (let event = parser.next(queue, final); event !== null; event = parser.next(queue, final)) visit(event);
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

  /**
   * Bytes pushed that the decoder still holds (an incomplete header or
   * record): a reader that reuses its buffers must keep these bytes
   * unchanged; every byte pushed before them it may overwrite once it has
   * consumed the events.
   */
  get bytesHeld(): number {
    return this.queue.available;
  }

  /**
   * Lets the decoder assemble large items that straddle pushed chunks in
   * one reused buffer (see ByteQueue): byte fields of an assembled item
   * are then valid only until the next chunk is pushed. For drivers that
   * cut their input to `bytesWanted` and are done with each event before
   * the next push (io's async decoders, the verifier).
   * @internal
   */
  reuseAssemblyBuffer(): void {
    this.queue.reuseAssembly = true;
  }

  /**
   * Declares the input complete and returns the events that completes
   * (none for the v2 decoders; a legacy QEMU state read to the end of the
   * input completes here).
   *
   * @returns the last events
   * @throws {@link XenStreamError} TRUNCATED when the stream is incomplete
   */
  end(): E[] {
    const events: E[] = [];
    this.endEach((event) => events.push(event));
    return events;
  }

  /**
   * `end()`, handing each last event to `visit` as it is made (see
   * `pushEach`).
   *
   * @param visit - called once per event, in order
   * @throws {@link XenStreamError} TRUNCATED when the stream is incomplete
   */
  endEach(visit: (event: E) => void): void {
    this.guard();
    this.finished = true;
    try {
      this.drain(true, visit);
      if (!this.parser.complete || this.queue.available > 0) throw this.parser.truncated(this.queue.received);
    } catch (error) {
      this.failure = error;
      throw error;
    }
  }

  private guard(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.finished) throw new XenStreamError("USAGE", this.queue.received, "decoder already ended");
  }
}

