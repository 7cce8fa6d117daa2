/**
 * Reading a save file and writing what it yields at the same time, for the
 * commands whose output is mostly the stream's own page bytes
 * (`extract-memory`, `decode`). The kernel's two copies (page cache ->
 * read buffer, read buffer -> the output's page cache) are where such a
 * command spends its time; done one after the other on one core they cost
 * ~1.6x `cp`, which does the second only. So the next unit is read on
 * libuv's thread pool while the main thread writes the bytes the current
 * one yielded (views of the read buffer, never copied) with blocking
 * writes: two cores, and no write ever waits for the event loop.
 *
 * Memory: two read buffers in turn, each as large as the largest unit read
 * so far (a full PAGE_DATA batch, 4 MiB + 8 KiB, for Xen's streams).
 *
 * @module
 * @internal
 */
import { closeSync, fstatSync, openSync, read, readSync, statSync, writeSync } from "node:fs";
import { PAGE, pageAlignedBytes } from "../io/aligned.js";
import type { SaveFileDecoder, SaveFileEvent } from "../savefile.js";
import { RECORD_HEADER_SIZE } from "../wire/frame.js";
import type { CliIO } from "./io.js";
import type { Progress } from "./progress.js";

/** Capacity of a fresh read buffer: one full PAGE_DATA batch and its pfn array, rounded up. */
const SLOT_CAPACITY = 4 * 1024 * 1024 + 64 * 1024;
/** Bytes read at a time once the stream has ended (the bytes after it). */
const TRAILER_READ = 64 * 1024;

/**
 * FILE opened for {@link pipelineFile} when it is a regular file, or fd 0
 * when standard input is redirected from one (`owned` false: not to be
 * closed); undefined for a pipe, a terminal or a device (read those as a
 * stream). Throws the open error for a FILE that cannot be opened.
 * @internal
 */
export function openRegularInput(file: string | undefined, io: CliIO | undefined): { fd: number; owned: boolean } | undefined {
  if (file !== undefined && file !== "-") {
    // Stat before opening: a named pipe is opened once, by the stream reader.
    let regular: boolean;
    try {
      regular = statSync(file).isFile();
    } catch {
      regular = true; // let open report the error
    }
    if (!regular) return undefined;
    const fd = openSync(file, "r");
    if (fstatSync(fd).isFile()) return { fd, owned: true };
    closeSync(fd);
    return undefined;
  }
  if (io === undefined || io.stdin !== process.stdin) return undefined;
  try {
    return fstatSync(0).isFile() ? { fd: 0, owned: false } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The most bytes one write(2) takes. The kernel sizes the page-cache folios
 * a buffered write allocates by the length of the write: one 4 MiB write
 * asks for 2 MiB folios, which come from the free blocks that the balloon
 * driver of a virtual machine reports to its host as free (Linux
 * mm/page_reporting.c reports blocks of pageblock order and up), so that
 * every page of them faults in the host when it is first written. Measured
 * on a 2-core Firecracker guest: the same 1 GiB written in 4 MiB writes took
 * 0.4 to 2.9 s of CPU from one run to the next, in 64 KiB writes 0.44 to
 * 0.5 s. 64 KiB is what `cp` writes too (copy_file_range moves a pipe's 16
 * pages at a time), and costs 16 syscalls per 1 MiB: noise beside the copy.
 */
const WRITE_PIECE = 64 * 1024;

/**
 * Writes all of `bytes` at `position` (null: the file's current position)
 * with blocking writes of at most {@link WRITE_PIECE} bytes, each ending on
 * a multiple of it in the file when the position is known (so that the
 * folios line up with the file's own 64 KiB boundaries).
 */
export function writeFully(fd: number, bytes: Uint8Array, position: number | null): void {
  let done = 0;
  while (done < bytes.length) {
    const at = position === null ? null : position + done;
    const limit = at === null ? WRITE_PIECE : WRITE_PIECE - (at % WRITE_PIECE);
    done += writeSync(fd, bytes, done, Math.min(limit, bytes.length - done), at);
  }
}

/**
 * Positional writes handed over while a unit is decoded and done, in the
 * order they were handed over (a later copy of a page lands after an
 * earlier one), by {@link PageWriter.flush}: {@link pipelineFile} flushes
 * once it has started reading the next unit, so the bytes (views of the
 * buffer just decoded) stay valid until they are written.
 * @internal
 */
export class PageWriter {
  private readonly fd: number;
  private queue: { position: number; bytes: Uint8Array }[] = [];
  /** Writes handed over so far. */
  count = 0;
  /** The end of the furthest byte handed over (the next append position). */
  length = 0;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** Writes `bytes` at `position` at the next flush. */
  place(position: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.count++;
    this.length = Math.max(this.length, position + bytes.length);
    this.queue.push({ position, bytes });
  }

  /** Writes `bytes` after everything handed over so far, at the next flush. */
  append(bytes: Uint8Array): void {
    this.place(this.length, bytes);
  }

  /** True when writes wait for a flush. */
  get pending(): boolean {
    return this.queue.length > 0;
  }

  /** Does the writes handed over, in order. */
  flush(): void {
    const queue = this.queue;
    this.queue = [];
    for (const { position, bytes } of queue) writeFully(this.fd, bytes, position);
  }
}

/**
 * Reads until `target` is full or the file ends, at `position` (null: the
 * file's current position), on the thread pool; resolves with the bytes
 * read.
 * @internal
 */
export async function readOnPool(fd: number, target: Uint8Array, position: number | null): Promise<number> {
  let done = 0;
  while (done < target.length) {
    const at = position === null ? null : position + done;
    const count = await new Promise<number>((resolve, reject) => {
      read(fd, target, done, target.length - done, at, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error)));
    });
    if (count === 0) break;
    done += count;
  }
  return done;
}

/** Reads until `target` is full or the file ends, with blocking reads. */
function readBlocking(fd: number, target: Uint8Array): number {
  let done = 0;
  while (done < target.length) {
    const count = readSync(fd, target, done, target.length - done, null);
    if (count === 0) break;
    done += count;
  }
  return done;
}

/** One read buffer. */
interface Slot {
  backing: Uint8Array;
  /** The decoder may hold views of it (a unit it completes with a later push): not to be overwritten. */
  held: boolean;
}

/**
 * The `length` bytes of `slot` to read the stream bytes at `offset` into
 * (a fresh buffer when the decoder may hold views of the old one, or it is
 * too small). read(2) copies from the page cache fastest when the target
 * lies half a page away from the source's place in its page
 * (src/io/read-into.ts measured it; the backing starts on a page
 * boundary), moved by less than 8 bytes so that stream offsets congruent
 * to `phase` modulo 8 land on 8-byte boundaries: `phase` is where the
 * consumer's units (records: 8-byte aligned from the stream's start) begin,
 * whatever the file offset of the stream (an xl config of any length
 * before it), so that the pages in a record body can be read as words.
 */
function placed(slot: Slot, offset: number, length: number, phase: number, fileSize = Number.POSITIVE_INFINITY): Uint8Array {
  if (slot.held || slot.backing.length < length + PAGE) {
    // No larger than the file needs: a small file costs no 4 MiB buffers.
    const capacity = Math.min(SLOT_CAPACITY, Math.ceil((fileSize - offset) / PAGE) * PAGE);
    slot.backing = pageAlignedBytes(Math.max(capacity, Math.ceil(length / PAGE) * PAGE) + PAGE);
    slot.held = false;
  }
  const half = (offset + PAGE / 2) % PAGE; // congruent to offset modulo 8
  const shift = half - phase + (half >= phase ? 0 : 8);
  return slot.backing.subarray(shift, shift + length);
}

/** What {@link pipelineUnits} feeds: a decoder or a verifier. */
export interface UnitConsumer {
  /** Bytes of the next unit (0: the stream has ended, or the consumer stopped). */
  readonly bytesWanted: number;
  /** Bytes pushed that the consumer still holds (views it keeps). */
  readonly bytesHeld: number;
  /** Takes the next bytes (at most `bytesWanted`); false: stop reading (a fatal fault). */
  push(bytes: Uint8Array): unknown;
}

/**
 * Feeds the regular file open as `fd` (from its current position) to
 * `consumer`, exactly the unit it wants at a time, each unit one view of a
 * read buffer (never assembled). While the consumer takes the bytes read
 * (its visits, and the writes they hand to `writer`, done right after), the
 * next stretch of the file is read on the thread pool into the other
 * buffer: as long as the last unit (a record body and the next header:
 * Xen's PAGE_DATA records are all alike), read whole by default, and more
 * with a blocking read when the unit turns out longer. Bytes after the end
 * of the stream (the consumer wants 0) go to `trailer` in fresh chunks
 * (the callee may keep them). Resolves with the bytes read once every unit
 * is taken and every write done; stops early when `push` returns false.
 *
 * @throws the consumer's XenStreamError, or the I/O error of a read or write
 * @internal
 */
export async function pipelineUnits(fd: number, consumer: UnitConsumer, writer: PageWriter, trailer: (bytes: Uint8Array) => void, progress?: Progress): Promise<number> {
  // The file's size caps every read, so that a length field claiming more
  // than the file holds never makes a buffer that large.
  const size = fstatSync(fd).size;
  const slots: Slot[] = [
    { backing: new Uint8Array(0), held: false },
    { backing: new Uint8Array(0), held: false },
  ];
  let current = 0;
  /** Bytes of slots[current] read and not pushed yet. */
  let unpushed: Uint8Array = new Uint8Array(0);
  /** Bytes read so far (the offset of the next byte to read). */
  let offset = 0;
  let eof = false;
  let stopped = false;
  /** The read ahead running into slots[1 - current], from `offset`. */
  let ahead: { view: Uint8Array; reading: Promise<number> } | undefined;
  const cap = (length: number): number => Math.min(length, Math.max(1, size - offset));
  /** Offset of the last unit start seen, modulo 8 (see {@link placed}). */
  let phase = 0;
  const push = (bytes: Uint8Array): void => {
    if (consumer.push(bytes) === false) stopped = true;
    if (consumer.bytesHeld > 0) (slots[current] as Slot).held = true;
    else phase = (offset - unpushed.length) % 8;
  };
  let failed = true;
  try {
    for (;;) {
      let wanted = consumer.bytesWanted;
      while (!stopped && wanted > 0 && unpushed.length >= wanted) {
        const piece = unpushed.subarray(0, wanted);
        unpushed = unpushed.subarray(wanted);
        push(piece);
        wanted = consumer.bytesWanted;
      }
      if (!stopped && wanted > 0 && unpushed.length > 0) {
        push(unpushed);
        unpushed = new Uint8Array(0);
        wanted = consumer.bytesWanted;
      }
      // The writes of what was just taken, while the read ahead runs.
      writer.flush();
      if (stopped || wanted === 0 || eof) break;
      // The rest of the unit plus the next record header, from the read
      // ahead when one runs (it starts at `offset`), else read now.
      let view: Uint8Array;
      let count: number;
      if (ahead === undefined) {
        // At least TRAILER_READ: a small file is read whole, without the thread pool.
        view = placed(slots[1 - current] as Slot, offset, cap(Math.max(wanted + RECORD_HEADER_SIZE, TRAILER_READ)), offset % 8, size);
        count = readBlocking(fd, view);
      } else {
        view = ahead.view;
        const reading = ahead.reading;
        ahead = undefined;
        count = await reading;
      }
      current = 1 - current;
      if (count < view.length) eof = true;
      else if (count < wanted && !eof) {
        // The unit is longer than the read ahead guessed: the rest, after it in the same buffer.
        const slot = slots[current] as Slot;
        const start = view.byteOffset - slot.backing.byteOffset;
        const longer = cap(wanted + RECORD_HEADER_SIZE);
        if (start + longer > slot.backing.length) {
          const copy = placed({ backing: new Uint8Array(0), held: false }, offset, longer, phase);
          copy.set(view.subarray(0, count));
          slot.backing = new Uint8Array(copy.buffer, 0, copy.buffer.byteLength);
          view = copy;
        } else view = slot.backing.subarray(start, start + longer);
        const more = readBlocking(fd, view.subarray(count));
        if (count + more < view.length) eof = true;
        count += more;
      }
      offset += count;
      unpushed = view.subarray(0, count);
      progress?.update(offset);
      if (!eof) {
        // Read ahead as much again, into the other buffer (whose bytes were
        // all taken and written), while this stretch is taken.
        const next = placed(slots[1 - current] as Slot, offset, cap(Math.max(wanted + RECORD_HEADER_SIZE, TRAILER_READ)), phase, size);
        if (offset >= size) {
          // All of the file's size is read: one blocking read sees its end
          // (or bytes appended since), with nothing to overlap it with.
          let count: number | undefined;
          let error: unknown;
          try {
            count = readBlocking(fd, next);
          } catch (caught) {
            error = caught;
          }
          ahead = { view: next, reading: count === undefined ? Promise.reject(error) : Promise.resolve(count) };
        } else ahead = { view: next, reading: readOnPool(fd, next, null) };
        ahead.reading.catch(() => undefined); // reported when awaited
      }
    }
    failed = false;
  } finally {
    // Never leave a read running into a buffer (or past this call).
    if (ahead !== undefined) {
      const { reading, view } = ahead;
      ahead = undefined;
      const count = failed ? await reading.catch(() => 0) : await reading;
      // Bytes read ahead past the end of the stream belong to the trailer.
      if (!failed && !stopped && consumer.bytesWanted === 0) {
        offset += count;
        if (unpushed.length > 0) trailer(unpushed.slice());
        unpushed = view.subarray(0, count);
        if (count < view.length) eof = true;
      }
    }
  }
  if (!stopped && consumer.bytesWanted === 0) {
    if (unpushed.length > 0) trailer(unpushed.slice());
    while (!eof) {
      const chunk = new Uint8Array(TRAILER_READ);
      const count = readBlocking(fd, chunk);
      if (count < chunk.length) eof = true;
      if (count === 0) break;
      offset += count;
      trailer(chunk.subarray(0, count));
    }
  }
  progress?.done();
  return offset;
}

/**
 * Decodes the regular file open as `fd` with `decoder` through
 * {@link pipelineUnits}, handing every event to `visit` (which may hand
 * views of the event's bytes to `writer`: they are written before the
 * buffer is read into again), then ends the decoder.
 *
 * @throws the decoder's XenStreamError, or the I/O error of a read or write
 * @internal
 */
export async function pipelineFile(
  fd: number,
  decoder: SaveFileDecoder,
  visit: (event: SaveFileEvent) => void,
  writer: PageWriter,
  trailer: (bytes: Uint8Array) => void,
  progress?: Progress,
): Promise<number> {
  const consumer: UnitConsumer = {
    get bytesWanted() {
      return decoder.bytesWanted;
    },
    get bytesHeld() {
      return decoder.bytesHeld;
    },
    push: (bytes) => decoder.pushEach(bytes, visit),
  };
  const bytes = await pipelineUnits(fd, consumer, writer, trailer, progress);
  decoder.endEach(visit);
  writer.flush();
  return bytes;
}
