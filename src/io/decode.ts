/**
 * Async decoders: any {@link ByteSource} in, the decoder's events out, one
 * at a time, pulled (back-pressure) and cancellable.
 *
 * They drive the one incremental parser of each format (LibxcDecoder,
 * LibxlDecoder, SaveFileDecoder): the bytes of each chunk are pushed as
 * they arrive and the events they complete are yielded, so the events are
 * exactly those of the whole-buffer decoders. Nothing is read ahead: the
 * next chunk is pulled only when the consumer asks for an event after the
 * last one of the current chunk.
 *
 * Events are yielded one at a time rather than in arrays per chunk: a
 * PAGE_DATA record carries 4 MiB, so the cost of one promise per event is
 * noise, and a consumer never has to know how the input was chunked.
 *
 * Memory and speed: the driver hands the decoder exactly what it wants next
 * (`bytesWanted`: a header, or one whole padded record body). A unit that
 * lies within one input chunk is pushed as a view of it; one that straddles
 * chunks is assembled in one reused staging buffer. The decoder therefore
 * never assembles a record in fresh memory, and memory is bounded by the
 * largest record (at most `maxRecordLength`) plus one input chunk, whatever
 * the stream's size. With a {@link ReadIntoSource} there is no copy at all:
 * the driver reads into one reused buffer sized to the largest record seen
 * (plus 64 KiB), one read per large record, and pushes views of it.
 *
 * Aliasing — byte fields of events (PAGE_DATA `pages`, vCPU `context`,
 * `data`, `body`, `extra`, `padding`, xenstore pairs, the xl config) are
 * views, valid until the next event is requested: they may point into the
 * staging buffer or the ReadIntoSource buffer, which are reused. (Views
 * into a source's own chunks happen to live as long as the chunk, but do
 * not rely on which kind you got.) Numbers, bigints and entry arrays are
 * never reused. A consumer that keeps records passes `copy: true`
 * ({@link copyEventBytes}: every byte field copied, at the cost of one copy
 * of the stream) or copies the fields it keeps.
 *
 * @module
 */
import { RECORD_HEADER_SIZE } from "../wire/frame.js";
import { LibxcDecoder, type DecoderOptions, type LibxcEvent } from "../libxc/decoder.js";
import { LibxlDecoder, type LibxlEvent } from "../libxl/decoder.js";
import { SaveFileDecoder, type SaveFileDecoderOptions, type SaveFileEvent } from "../savefile.js";
import { XenStreamError } from "../errors.js";
import { copyEventBytes } from "./copy.js";
import {
  chunkPuller,
  isPromiseLike,
  isReadIntoSource,
  throwIfAborted,
  unlessAborted,
  type AbortSignalLike,
  type ByteSource,
  type ReadIntoSource,
} from "./source.js";

/** Options of the async decoders. */
export interface AsyncDecodeOptions extends DecoderOptions {
  /**
   * Stops decoding: the iterator rejects with `signal.reason` and the
   * source is cancelled (ReadableStream `cancel()`, iterator `return()`,
   * Node Readable `destroy()`, ReadIntoSource `close()`).
   */
  signal?: AbortSignalLike;
  /**
   * Give every event its own copy of its byte fields, so that events stay
   * valid after the input chunk is gone or reused (see the module
   * documentation). Costs one copy of every byte of the stream.
   * @defaultValue false
   */
  copy?: boolean;
  /**
   * ReadIntoSource only: the starting size of the decoder's buffer. It
   * grows to hold the largest record seen.
   * @defaultValue 4259840 (4 MiB + 64 KiB: a full PAGE_DATA batch)
   */
  bufferSize?: number;
}

/** Options of {@link decodeSaveFileAsync}. */
export interface SaveFileAsyncDecodeOptions extends AsyncDecodeOptions, SaveFileDecoderOptions {}

/** A decoder whose wants and held bytes the driver can see. */
interface Tracked<E> {
  push(chunk: Uint8Array): E[];
  end(): void;
  /** Bytes of the decoder's next event it wants before it can parse it. */
  readonly bytesWanted: number;
  /** Bytes pushed but not consumed yet (a header being completed). */
  readonly bytesHeld: number;
}

/**
 * Decodes a libxc stream from any byte source, yielding the same events as
 * `decodeLibxcEvents` on the whole input.
 *
 * @param source - the bytes (see {@link ByteSource})
 * @param options - limits, tolerance, `signal`, `copy`, `bufferSize`
 * @returns an async iterator of events
 * @throws {@link index!XenStreamError} as the whole-buffer decoder (TRUNCATED at
 * the end of an incomplete stream), USAGE for a chunk that is not a
 * Uint8Array; the abort reason when aborted
 *
 * @example
 * ```ts
 * import { decodeLibxcAsync } from "xen-migration-stream/io";
 * const response = await fetch(url);
 * for await (const event of decodeLibxcAsync(response.body!)) {
 *   if (event.kind === "record") console.log(event.record.type);
 * }
 * ```
 */
export function decodeLibxcAsync(source: ByteSource, options: AsyncDecodeOptions = {}): AsyncGenerator<LibxcEvent, void, undefined> {
  return drive(new LibxcDecoder(options), source, options);
}

/**
 * Decodes a libxl stream (nested libxc events included) from any byte
 * source, yielding the same events as `decodeLibxlEvents`.
 *
 * @param source - the bytes (see {@link ByteSource})
 * @param options - limits, tolerance, `signal`, `copy`, `bufferSize`
 * @returns an async iterator of events
 * @throws {@link index!XenStreamError} as {@link decodeLibxcAsync}, plus
 * UNEXPECTED_RECORD
 */
export function decodeLibxlAsync(source: ByteSource, options: AsyncDecodeOptions = {}): AsyncGenerator<LibxlEvent, void, undefined> {
  return drive(new LibxlDecoder(options), source, options);
}

/**
 * Decodes any v2 save file or stream (xl, libxl or libxc, detected from the
 * first bytes unless `format` says) from any byte source, yielding the same
 * events as a `SaveFileDecoder` given the whole input.
 *
 * @param source - the bytes (see {@link ByteSource})
 * @param options - format, limits, tolerance, `signal`, `copy`, `bufferSize`
 * @returns an async iterator of events
 * @throws {@link index!XenStreamError} as {@link decodeLibxlAsync}, plus
 * UNSUPPORTED for a legacy stream
 *
 * @example
 * ```ts
 * import { decodeSaveFileAsync } from "xen-migration-stream/io";
 * import { fileSource } from "xen-migration-stream/io/node";
 * let pages = 0;
 * for await (const event of decodeSaveFileAsync(fileSource("guest.save"))) {
 *   if (event.kind === "record" && event.record.type === "PAGE_DATA") pages += event.record.entries.length;
 * }
 * ```
 */
export function decodeSaveFileAsync(
  source: ByteSource,
  options: SaveFileAsyncDecodeOptions = {},
): AsyncGenerator<SaveFileEvent, void, undefined> {
  return drive(new SaveFileDecoder(options), source, options);
}

async function* drive<E extends { kind: string }>(
  decoder: Tracked<E>,
  source: ByteSource,
  options: AsyncDecodeOptions,
): AsyncGenerator<E, void, undefined> {
  const { signal } = options;
  const copy = options.copy === true;
  for await (const chunk of readWantedChunks(source, decoder, options)) {
    const events = decoder.push(chunk);
    for (let i = 0; i < events.length; i++) {
      throwIfAborted(signal);
      const event = events[i] as E;
      yield copy ? copyEventBytes(event) : event;
    }
  }
  decoder.end();
}

/** Bytes read at least per read, so that runs of small records take one read. */
const READ_AHEAD = 64 * 1024;
/**
 * One full PAGE_DATA batch (Xen sends 1024 pages of 4 KiB with their pfn
 * array) and the next headers: Xen's streams never make the buffer grow.
 */
const DEFAULT_BUFFER_SIZE = 4 * 1024 * 1024 + READ_AHEAD;
const GROWTH_STEP = 64 * 1024;

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}

const EMPTY = new Uint8Array(0);

/**
 * The reused buffer in which a header or record body that straddles source
 * chunks is assembled, so that the decoder always gets it as one chunk.
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
      const size = Math.min(roundUp(wanted, GROWTH_STEP), Math.max(roundUp(needed, GROWTH_STEP), 2 * this.bytes.length));
      const bytes = new Uint8Array(size);
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

  /** Gives the buffer up (the decoder still holds bytes of it). */
  release(): void {
    this.bytes = EMPTY;
  }
}

/** The pieces of a chunk source, cut and staged to what `consumer` wants. */
async function* stagedChunks(
  source: ByteSource,
  consumer: WantedConsumer,
  signal: AbortSignalLike | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const puller = chunkPuller(source);
  const stage = new Stage();
  let finished = false;
  let failure: unknown;
  try {
    for (;;) {
      throwIfAborted(signal);
      const pulled = puller.pull();
      const chunk = isPromiseLike(pulled) ? await unlessAborted(pulled, signal) : pulled;
      if (chunk === null) break;
      // Hand the consumer exactly what it wants next (a header, or one whole
      // record body): a view of the chunk when the chunk holds all of it,
      // else assembled in the stage. Never a part of a record, so the
      // decoder never assembles one in fresh memory.
      let pos = 0;
      while (pos < chunk.length) {
        // After the end, one more byte is wanted: any byte there is TRAILING_DATA.
        const wanted = Math.max(1, consumer.bytesWanted);
        const available = chunk.length - pos;
        if (stage.length > 0 || available < wanted) {
          const part = Math.min(wanted - stage.length, available);
          stage.add(chunk.subarray(pos, pos + part), wanted);
          pos += part;
          if (stage.length < wanted) break;
          yield stage.take();
          // The consumer keeps bytes of the stage (a header it waits to
          // complete): leave that buffer to it.
          if ((consumer.bytesHeld ?? 1) > 0) stage.release();
        } else {
          yield chunk.subarray(pos, pos + wanted);
          pos += wanted;
        }
      }
    }
    if (stage.length > 0) yield stage.take(); // an incomplete unit: the consumer's end() reports it
    finished = true;
    puller.release();
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    if (!finished) await puller.cancel(failure);
  }
}

const PAGE = 4096;

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

const WASM_PAGE = 65536;
type WasmMemory = new (size: { initial: number; maximum: number }) => { buffer: ArrayBuffer };

/**
 * `size` zeroed bytes starting on a page boundary when the platform allows
 * it. A WebAssembly memory is mapped whole pages at a time; an ArrayBuffer
 * comes from malloc, whose address within a page depends on the heap's
 * history (16 bytes past a page boundary for a fresh mmap, anything after
 * the allocator has raised its mmap threshold). Without WebAssembly, or when
 * its address space is exhausted, a plain Uint8Array is as good as it gets.
 */
function pageAlignedBytes(size: number): Uint8Array {
  const pages = Math.ceil(size / WASM_PAGE);
  const Memory = (globalThis as { WebAssembly?: { Memory?: WasmMemory } }).WebAssembly?.Memory;
  if (Memory !== undefined && pages <= 65536) {
    try {
      return new Uint8Array(new Memory({ initial: pages, maximum: pages }).buffer, 0, size);
    } catch {
      // no address space for another wasm memory: a plain buffer below
    }
  }
  return new Uint8Array(size);
}

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
   * to complete). When absent, every pushed byte is assumed held until the
   * consumer next reports 0 held, which costs a new buffer per relocation.
   */
  readonly bytesHeld?: number;
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
 * - Chunk sources: a unit inside one chunk is a view of it; a unit that
 *   straddles chunks is assembled once in a reused staging buffer.
 *
 * Each piece may be a view of a reused buffer, valid until the next piece
 * is requested: push it into `consumer` before asking for the next. At the
 * end of the input the rest is yielded whatever its size (so that a
 * truncated stream reaches the consumer's `end()`). The source is
 * released when the iteration stops, for any reason.
 *
 * @param source - where the bytes come from
 * @param consumer - the decoder the pieces are pushed into
 * @param options - `signal`, `bufferSize`
 * @returns an async iterator of pieces
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
  options: ReadWantedOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  if (isReadIntoSource(source)) return readIntoChunks(source, consumer, options);
  return stagedChunks(source, consumer, options.signal);
}

async function* readIntoChunks(
  source: ReadIntoSource,
  consumer: WantedConsumer,
  options: ReadWantedOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal } = options;
  const size = options.bufferSize ?? DEFAULT_BUFFER_SIZE;
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new XenStreamError("USAGE", 0, `bufferSize must be a positive integer, got ${String(size)}`);
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
      const target = input.target(wanted, consumer.bytesHeld ?? input.pushed);
      const read = source.read(target);
      const count = isPromiseLike(read) ? await unlessAborted(read, signal) : read;
      if (count === null || count === 0) {
        eof = true;
      } else {
        if (!Number.isInteger(count) || count < 0 || count > target.length) {
          throw new XenStreamError("USAGE", received, `ReadIntoSource.read() returned ${String(count)} for a ${target.length}-byte target`);
        }
        input.end += count;
        received += count;
      }
    }
    closed = true;
    await source.close?.();
  } finally {
    if (!closed) {
      closed = true;
      try {
        await source.close?.();
      } catch {
        // the decoding error (or the consumer leaving) matters more
      }
    }
  }
}

