/**
 * The read-into path of {@link readWantedChunks}: a ReadIntoSource reads
 * into one reused buffer, one read per large record, and the consumer gets
 * views of it cut to what it wants next. No byte is copied.
 *
 * @module
 * @internal
 */
import { RECORD_HEADER_SIZE } from "../wire/frame.js";
import { describeValue, XenStreamError } from "../errors.js";
import { PAGE, pageAlignedBytes } from "./aligned.js";
import { closeQuietly, isPromiseLike, MAX_BUFFER_SIZE, readCount, throwIfAborted, unlessAborted, type ReadIntoSource } from "./source.js";
import type { ReadWantedOptions, WantedConsumer, readWantedChunks } from "./wanted.js";

/** Bytes read at least per read, so that runs of small records take one read. */
const READ_AHEAD = 64 * 1024;
/**
 * One full PAGE_DATA batch (Xen sends 1024 pages of 4 KiB with their pfn
 * array) and the next headers: Xen's streams never make the buffer grow.
 */
const DEFAULT_BUFFER_SIZE = 4 * 1024 * 1024 + READ_AHEAD;
/** Growth granularity of the buffer. */
const GROWTH_STEP = 64 * 1024;

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}

/**
 * Where in a page the byte at stream offset 0 lands. read(2) copies from
 * the page cache (page-aligned file offsets) into our buffer; on the VMs
 * this was measured on, the copy ran at ~2 GB/s whenever the target address
 * was 8 to 24 bytes past the source's offset in its page (modulo the page
 * size), and at ~11 GB/s half a page away. So every byte sits half a page
 * from its stream offset modulo the page size: the relation holds for a
 * contiguous buffer, and is re-established whenever the buffer slides or
 * grows. It needs the buffer's address modulo the page size: see
 * {@link pageAlignedBytes}. Costs nothing where the effect does not exist.
 */
const READ_TARGET_OFFSET = PAGE / 2;

/**
 * The reused input buffer of a ReadIntoSource.
 *
 * Reading plan: the decoder says how many bytes its next event needs
 * (`bytesWanted`: a header, a record header, or a whole padded record
 * body); the buffer reads at least that many (plus the next record header,
 * and at least READ_AHEAD) and the driver pushes exactly `bytesWanted`
 * bytes at a time, so every record body reaches the decoder as one view:
 * one read per large record, no record ever assembled, no page copied.
 *
 * Invariant: bytes the decoder still holds (a header it is waiting to
 * complete: the `held` bytes before `pushed`) are never overwritten. Bytes
 * before them may be, once the consumer asks for the event after the last
 * one they belong to.
 */
class InputBuffer {
  /** The allocation: `capacity` bytes plus one page for placement. */
  private backing: Uint8Array;
  /** The window of `backing` in use, placed for the stream offset of its first byte. */
  bytes: Uint8Array;
  /** Index after the last byte read. */
  end = 0;
  /** Index after the last byte pushed. */
  pushed = 0;
  /** Stream offset of `bytes[0]`. */
  private origin = 0;

  constructor(capacity: number) {
    this.backing = pageAlignedBytes(capacity + PAGE);
    this.bytes = this.window(0);
  }

  /** The window of `backing` whose first byte is placed for stream offset `origin`. */
  private window(origin: number): Uint8Array {
    const shift = (origin + READ_TARGET_OFFSET) % PAGE;
    return this.backing.subarray(shift, shift + this.backing.length - PAGE);
  }

  /** Bytes read and not pushed yet. */
  get unpushed(): number {
    return this.end - this.pushed;
  }

  /** The next `size` unpushed bytes, marked pushed. */
  take(size: number): Uint8Array {
    const chunk = this.bytes.subarray(this.pushed, this.pushed + size);
    this.pushed += size;
    return chunk;
  }

  /**
   * The region to read into next, never empty, for a decoder that wants
   * `wanted` bytes and holds `held` bytes of this buffer. When the read
   * would not fit, the unpushed bytes (usually the next 8-byte record
   * header) move to the front: of this buffer when nothing pushed is held,
   * else of a fresh one of the same size (never a record read in two parts
   * and copied). Grows the buffer only when it is full.
   */
  target(wanted: number, held: number): Uint8Array {
    // The rest of the unit plus the next record header, so that the next
    // push ends on a unit boundary; at least READ_AHEAD, so that runs of
    // small records take one read.
    const length = Math.max(wanted - this.unpushed + RECORD_HEADER_SIZE, READ_AHEAD);
    if (this.end + length > this.bytes.length && this.pushed > 0) {
      if (held === 0) this.slide();
      else this.grow(0); // the same capacity: the decoder keeps the old buffer
    }
    if (this.end === this.bytes.length) this.grow(wanted + RECORD_HEADER_SIZE + READ_AHEAD);
    return this.bytes.subarray(this.end, Math.min(this.bytes.length, this.end + length));
  }

  /** Moves the unpushed bytes to the front of the backing (placed anew). */
  private slide(): void {
    const origin = this.origin + this.pushed;
    const from = this.bytes.byteOffset - this.backing.byteOffset;
    const bytes = this.window(origin);
    this.backing.copyWithin(bytes.byteOffset - this.backing.byteOffset, from + this.pushed, from + this.end);
    this.rebase(bytes, origin);
  }

  /**
   * Continues in a new buffer, at least as large as this one and large
   * enough for `required` bytes (the decoder may hold bytes of the old
   * one: it is left to it). At most doubles, so the buffer grows with the
   * bytes that arrive, never straight to what a length field claims: a
   * hostile length makes the reader wait for bytes, it never allocates.
   */
  private grow(required: number): void {
    const capacity = Math.max(this.bytes.length, Math.min(roundUp(required, GROWTH_STEP), 2 * this.bytes.length));
    const origin = this.origin + this.pushed;
    const old = this.bytes.subarray(this.pushed, this.end);
    this.backing = pageAlignedBytes(capacity + PAGE);
    const bytes = this.window(origin);
    bytes.set(old);
    this.rebase(bytes, origin);
  }

  private rebase(bytes: Uint8Array, origin: number): void {
    this.bytes = bytes;
    this.end -= this.pushed;
    this.pushed = 0;
    this.origin = origin;
  }
}

/** The read-into loop of readWantedChunks. @internal */
export async function* readIntoChunks(
  source: ReadIntoSource,
  consumer: WantedConsumer,
  options: ReadWantedOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = options;
  const size = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_BUFFER_SIZE) {
    throw new XenStreamError("USAGE", 0, `bufferSize must be an integer in 1..${MAX_BUFFER_SIZE}, got ${describeValue(size)}`);
  }
  const input = new InputBuffer(size);
  let eof = false;
  let closed = false;
  let received = 0;
  try {
    throwIfAborted(signal);
    for (;;) {
      // After the end, one more byte is wanted: any byte there is TRAILING_DATA.
      const wanted = Math.max(1, consumer.bytesWanted);
      if (input.unpushed >= wanted || (eof && input.unpushed > 0)) {
        yield input.take(Math.min(wanted, input.unpushed));
        continue;
      }
      if (eof) break;
      throwIfAborted(signal);
      const target = input.target(wanted, consumer.bytesHeld);
      const read = source.read(target);
      const count = readCount(isPromiseLike(read) ? await unlessAborted(read, signal) : read, target.length, received, "source");
      if (count === 0) {
        eof = true;
      } else {
        input.end += count;
        received += count;
      }
    }
    closed = true;
    await source.close?.();
  } finally {
    if (!closed) await closeQuietly(source);
  }
}

