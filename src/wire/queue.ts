/**
 * The input side of every incremental decoder: chunks as they were pushed,
 * consumed from the front.
 *
 * - No concatenation of "leftover + chunk" on push: chunks of
 *   {@link SMALL_CHUNK} bytes or more, and any chunk pushed into an empty
 *   queue, are kept as given.
 * - Memory stays within about twice the bytes held plus a constant, for any
 *   chunking (issue #19): a small chunk pushed while bytes are waiting is
 *   copied into the end of an appendable block the queue owns, so a record
 *   that arrives one byte at a time costs a byte per byte, not a typed
 *   array per byte. A block is sized by the bytes already waiting (so its
 *   spare room is at most what is held) and capped at {@link BLOCK_MAX};
 *   bytes written to a block are never rewritten, so views of it stay valid.
 * - `take(n)` returns a `subarray` view when the n bytes lie in one chunk
 *   (the common case, zero copy) and assembles a new buffer exactly once
 *   when they straddle chunks.
 * - Nothing is ever allocated from a length the queue has not received:
 *   callers ask `has(n)` first and wait otherwise.
 * - This is the one place where bytes that straddle pushed chunks are
 *   assembled. With `reuseAssembly` (io's drivers, whose events' byte
 *   fields are valid only until the next event is requested), large
 *   assemblies go into one reused buffer instead of fresh memory.
 *
 * @module
 * @internal
 */

const EMPTY: Uint8Array = new Uint8Array(0);
/** Assemblies at least this large (a page) reuse the buffer under `reuseAssembly`; smaller ones (headers) are fresh. */
const REUSE_MIN = 4096;
const REUSE_STEP = 64 * 1024;
/**
 * Chunks shorter than this are small: a typed array costs V8 some 150 to
 * 250 bytes besides its bytes, so below this size keeping one object per
 * chunk could cost more than the bytes themselves.
 * @internal
 */
export const SMALL_CHUNK = 512;
/** The largest block small chunks are copied into. @internal */
export const BLOCK_MAX = 64 * 1024;
const BLOCK_MIN = 1024;

/** @internal */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  /** Index of the first live chunk in `chunks`. */
  private first = 0;
  /** Bytes of `chunks[first]` already consumed. */
  private head = 0;
  /** Bytes received and not yet consumed. */
  available = 0;
  /** Absolute offset of the next unconsumed byte. */
  offset: number;
  /** Total bytes ever pushed (plus the starting offset). */
  received: number;
  /**
   * Assemble reads of at least 4 KiB that straddle chunks into one reused
   * buffer: each such result is then valid only until the next one. For
   * consumers done with a record's bytes before they push the next record.
   */
  reuseAssembly = false;
  private scratch: Uint8Array = EMPTY;
  /** The block small chunks are appended to; bytes below `blockFill` are never rewritten. */
  private block: Uint8Array = EMPTY;
  private blockFill = 0;
  /** Where the block's bytes in the last entry of `chunks` begin, when `lastInBlock`. */
  private blockStart = 0;
  /** True when the last entry of `chunks` is the view `block[blockStart, blockFill)`. */
  private lastInBlock = false;
  /** The buffers of every block, so that reads from them can be told from views of pushed chunks. */
  private readonly blocks = new WeakSet<ArrayBufferLike>();

  constructor(startOffset = 0) {
    this.offset = startOffset;
    this.received = startOffset;
  }

  push(chunk: Uint8Array): void {
    const size = chunk.length;
    if (size === 0) return;
    if (size >= SMALL_CHUNK || this.available === 0) {
      this.chunks.push(chunk);
      this.lastInBlock = false;
    } else this.append(chunk);
    this.available += size;
    this.received += size;
  }

  /** Copies a small chunk to the end of the block (a new one when it is full). */
  private append(chunk: Uint8Array): void {
    const size = chunk.length;
    if (this.blockFill + size > this.block.length) {
      // Sized by what is waiting: the spare room never exceeds the bytes held (+ BLOCK_MIN).
      this.block = new Uint8Array(Math.min(BLOCK_MAX, Math.max(BLOCK_MIN, this.available + size)));
      this.blocks.add(this.block.buffer);
      this.blockFill = 0;
      this.lastInBlock = false;
    }
    this.block.set(chunk, this.blockFill);
    if (!this.lastInBlock) {
      this.blockStart = this.blockFill;
      this.blockFill += size;
      this.chunks.push(this.block.subarray(this.blockStart, this.blockFill));
      this.lastInBlock = true;
    } else {
      // The view grows at its end; `head` (when it is also the first) still counts from its start.
      this.blockFill += size;
      this.chunks[this.chunks.length - 1] = this.block.subarray(this.blockStart, this.blockFill);
    }
  }

  /** True when at least `size` bytes are waiting. */
  has(size: number): boolean {
    return this.available >= size;
  }

  /**
   * The next `size` bytes without consuming them (a view if contiguous, else
   * a copy). Caller must have checked `has(size)`.
   */
  peek(size: number): Uint8Array {
    return this.read(size, false);
  }

  /** The next `size` bytes, consumed. Caller must have checked `has(size)`. */
  take(size: number): Uint8Array {
    return this.read(size, true);
  }

  /**
   * Up to `max` of the next bytes, consumed, without ever assembling: a
   * view of the rest of the first chunk (empty when nothing is queued).
   * For bytes that are streamed on rather than parsed (pass-through,
   * skipped data), which need no particular piece size.
   */
  takeFront(max: number): Uint8Array {
    if (this.available === 0 || max <= 0) return EMPTY;
    const firstChunk = this.chunks[this.first] as Uint8Array;
    const size = Math.min(max, firstChunk.length - this.head);
    const result = firstChunk.subarray(this.head, this.head + size);
    this.advance(size);
    return result;
  }

  /** Consumes `size` bytes. Caller must have checked `has(size)`. */
  skip(size: number): void {
    this.read(size, true, false);
  }

  private read(size: number, consume: boolean, wanted = true): Uint8Array {
    if (size > this.available) throw new Error(`ByteQueue: read of ${size} with ${this.available} available`);
    if (size === 0) return EMPTY;
    const firstChunk = this.chunks[this.first] as Uint8Array;
    const inFirst = firstChunk.length - this.head;
    let result: Uint8Array = EMPTY;
    if (size <= inFirst && !(wanted && this.reuseAssembly && size >= REUSE_MIN && this.blocks.has(firstChunk.buffer))) {
      // Fast path: the bytes lie in one chunk; hand out a view. (Under
      // reuseAssembly, bytes of a block, which came as small chunks, are
      // assembled like bytes that straddle chunks: one aliasing contract
      // whatever the chunking.)
      if (wanted) result = firstChunk.subarray(this.head, this.head + size);
      if (consume) this.advance(size);
      return result;
    }
    // Straddles chunks: assemble once.
    if (wanted) {
      result = this.reuseAssembly && size >= REUSE_MIN ? this.scratchOf(size) : new Uint8Array(size);
      let filled = 0;
      let index = this.first;
      let start = this.head;
      while (filled < size) {
        const chunk = this.chunks[index] as Uint8Array;
        const part = Math.min(chunk.length - start, size - filled);
        result.set(chunk.subarray(start, start + part), filled);
        filled += part;
        index += 1;
        start = 0;
      }
    }
    if (consume) this.advance(size);
    return result;
  }

  /** `size` bytes of the reused assembly buffer (grown to what has arrived, never to a claimed length). */
  private scratchOf(size: number): Uint8Array {
    if (this.scratch.length < size) this.scratch = new Uint8Array(Math.ceil(size / REUSE_STEP) * REUSE_STEP);
    return this.scratch.subarray(0, size);
  }

  private advance(size: number): void {
    this.available -= size;
    this.offset += size;
    let left = size;
    while (left > 0) {
      const chunk = this.chunks[this.first] as Uint8Array;
      const inChunk = chunk.length - this.head;
      if (left < inChunk) {
        this.head += left;
        return;
      }
      left -= inChunk;
      this.chunks[this.first] = EMPTY; // release the chunk for GC
      this.first += 1;
      this.head = 0;
    }
    if (this.first === this.chunks.length) this.lastInBlock = false;
    if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}
