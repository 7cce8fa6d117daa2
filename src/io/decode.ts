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
 * (`bytesWanted`: a header, or one whole padded record body; see
 * {@link readWantedChunks}). A unit that lies within one input chunk is
 * pushed as a view of it; one that straddles chunks is assembled once by
 * the decoder's queue, in one reused buffer (the events' byte fields are
 * valid only until the next event is requested, below). Memory is bounded
 * by the largest record (at most `maxRecordLength`) plus one input chunk,
 * whatever the stream's size. With a {@link ReadIntoSource} there is no
 * copy at all: the driver reads into one reused buffer sized to the
 * largest record seen (plus 64 KiB), one read per large record, and pushes
 * views of it.
 *
 * Aliasing — byte fields of events (PAGE_DATA `pages`, vCPU `context`,
 * `data`, `body`, `extra`, `padding`, xenstore pairs, the xl config) are
 * views, valid until the next event is requested: they may point into the
 * decoder's assembly buffer or the ReadIntoSource buffer, which are reused. (Views
 * into a source's own chunks happen to live as long as the chunk, but do
 * not rely on which kind you got.) Numbers, bigints and entry arrays are
 * never reused. A consumer that keeps records passes `copy: true`
 * ({@link copyEventBytes}: every byte field copied, at the cost of one copy
 * of the stream) or copies the fields it keeps.
 *
 * @module
 */
import { LibxcDecoder, type DecoderOptions, type LibxcEvent } from "../libxc/decoder.js";
import { LibxlDecoder, type LibxlEvent } from "../libxl/decoder.js";
import { SaveFileDecoder, type SaveFileDecoderOptions, type SaveFileEvent } from "../savefile.js";
import { copyEventBytes } from "./copy.js";
import { checkSourceOptions, throwIfAborted, type AbortSignalLike, type ByteSource, type ReadIntoSource } from "./source.js";
import { wantedChunks } from "./wanted.js";

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
   * ReadIntoSource only: the starting size of the decoder's buffer, in
   * 1..2^30 (USAGE otherwise). It grows to hold the largest record seen.
   * @defaultValue 4259840 (4 MiB + 64 KiB: a full PAGE_DATA batch)
   */
  bufferSize?: number;
}

/** Options of {@link decodeSaveFileAsync}. */
export interface SaveFileAsyncDecodeOptions extends AsyncDecodeOptions, SaveFileDecoderOptions {}

/** A decoder whose wants and held bytes the driver can see. */
interface Tracked<E> {
  push(chunk: Uint8Array): E[];
  end(): E[];
  /** Bytes of the decoder's next event it wants before it can parse it. */
  readonly bytesWanted: number;
  /** Bytes pushed but not consumed yet (a header being completed). */
  readonly bytesHeld: number;
  /** Assemble straddling records in one reused buffer (our events are valid until the next is requested). */
  reuseAssemblyBuffer(): void;
}

/**
 * Decodes a libxc stream from any byte source, yielding the same events as
 * `decodeLibxcEvents` on the whole input.
 *
 * @param source - the bytes (see {@link ByteSource})
 * @param options - limits, tolerance, `signal`, `copy`, `bufferSize`
 * @returns an async iterator of events
 * @throws {@link index!XenStreamError} USAGE for bad options (at the call:
 * the options object, `signal`, `bufferSize`, the decoder's limits); from
 * the iterator: as the whole-buffer decoder (TRUNCATED at the end of an
 * incomplete stream), USAGE for a source that is none or a chunk that is
 * not a Uint8Array (see {@link ByteSource}); `signal.reason` when aborted
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
export function decodeLibxcAsync(source: ByteSource, options?: AsyncDecodeOptions): AsyncGenerator<LibxcEvent, void, undefined> {
  const checked = checkSourceOptions(options, "decodeLibxcAsync");
  return drive(new LibxcDecoder(checked), source, checked);
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
export function decodeLibxlAsync(source: ByteSource, options?: AsyncDecodeOptions): AsyncGenerator<LibxlEvent, void, undefined> {
  const checked = checkSourceOptions(options, "decodeLibxlAsync");
  return drive(new LibxlDecoder(checked), source, checked);
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
  options?: SaveFileAsyncDecodeOptions,
): AsyncGenerator<SaveFileEvent, void, undefined> {
  const checked = checkSourceOptions(options, "decodeSaveFileAsync");
  return drive(new SaveFileDecoder(checked), source, checked);
}

async function* drive<E extends { kind: string }>(
  decoder: Tracked<E>,
  source: ByteSource,
  options: AsyncDecodeOptions,
): AsyncGenerator<E, void, undefined> {
  const { signal } = options;
  const copy = options.copy === true;
  decoder.reuseAssemblyBuffer();
  for await (const chunk of wantedChunks(source, decoder, options, "source")) {
    const events = decoder.push(chunk);
    for (let i = 0; i < events.length; i++) {
      throwIfAborted(signal);
      const event = events[i] as E;
      yield copy ? copyEventBytes(event) : event;
    }
  }
  // A legacy stream in a container may complete only with the input.
  for (const event of decoder.end()) {
    throwIfAborted(signal);
    yield copy ? copyEventBytes(event) : event;
  }
}

