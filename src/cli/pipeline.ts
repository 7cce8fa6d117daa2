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

/** Writes all of `bytes` at `position` (null: the file's current position) with blocking writes. */
export function writeFully(fd: number, bytes: Uint8Array, position: number | null): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, position === null ? null : position + done);
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

/** Visits of one unit slower than this (ms) are overlapped with the next read. */
const SLOW_VISIT_MS = 0.1;

/** How long `work` takes, in milliseconds. */
function timed(work: () => void): number {
  const start = performance.now();
  work();
  return performance.now() - start;
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
 * boundary); the start is rounded down to 8 bytes, so that a read that
 * starts at a record body (they all do) puts the body, and the pages in
 * it, on an 8-byte boundary whatever the file offset of the stream (an xl
 * config of any length before it): word views of the pages need that.
 */
function placed(slot: Slot, offset: number, length: number): Uint8Array {
  if (slot.held || slot.backing.length < length + PAGE) {
    slot.backing = pageAlignedBytes(Math.max(SLOT_CAPACITY, Math.ceil(length / PAGE) * PAGE) + PAGE);
    slot.held = false;
  }
  const shift = ((offset + PAGE / 2) % PAGE) & ~7;
  return slot.backing.subarray(shift, shift + length);
}

/**
 * Decodes the regular file open as `fd` (from its current position) with
 * `decoder`, handing every event to `visit`, which may hand views of the
 * event's bytes to `writer`. Each read takes the rest of the unit the
 * decoder wants plus the next record header, so that every record body is
 * one read and one view, never assembled; it runs on the thread pool while
 * the writes of the unit before are done. Bytes after the end of the
 * stream go to `trailer` in fresh chunks (the callee may keep them).
 * Resolves with the bytes read once the stream is decoded
 * (`decoder.end` included) and every write is done.
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
  let offset = 0;
  let eof = false;
  // Events are collected while bytes are pushed and visited once the next
  // read is running: the visits (JSON text, image placement) and the
  // writes they hand over overlap the read. Their views stay valid: they
  // point into the buffer just pushed, not the one being read into.
  let events: SaveFileEvent[] = [];
  const collect = (event: SaveFileEvent): void => void events.push(event);
  const deliver = (): void => {
    const ready = events;
    events = [];
    for (const event of ready) visit(event);
  };
  /** How long the last visits took (ms); slow ones make the next read go to the pool. */
  let visitMs = SLOW_VISIT_MS;
  const push = (bytes: Uint8Array): void => {
    try {
      decoder.pushEach(bytes, collect);
    } catch (error) {
      deliver(); // the events before a fault are seen, as with pushEach
      throw error;
    }
    if (decoder.bytesHeld > 0) (slots[current] as Slot).held = true;
  };
  for (;;) {
    let wanted = decoder.bytesWanted;
    while (wanted > 0 && unpushed.length >= wanted) {
      const piece = unpushed.subarray(0, wanted);
      unpushed = unpushed.subarray(wanted);
      push(piece);
      wanted = decoder.bytesWanted;
    }
    if (wanted === 0) break;
    if (unpushed.length > 0) {
      push(unpushed);
      unpushed = new Uint8Array(0);
      wanted = decoder.bytesWanted;
      if (wanted === 0) break;
    }
    if (eof) break;
    const next = 1 - current;
    const target = placed(slots[next] as Slot, offset, Math.min(wanted + RECORD_HEADER_SIZE, Math.max(1, size - offset)));
    let count: number;
    // A read on the pool costs a round trip through the event loop: worth
    // it when there is work to overlap (writes, or visits that took long
    // last time: hashing pages), not for visits that only count.
    const overlap = writer.pending || (events.length > 0 && visitMs >= SLOW_VISIT_MS);
    if (!overlap && events.length > 0) visitMs = timed(deliver);
    if (overlap || writer.pending) {
      const reading = readOnPool(fd, target, null);
      try {
        if (events.length > 0) visitMs = timed(deliver);
        writer.flush();
      } finally {
        // Never leave a read running into a buffer after a failure.
        count = await reading;
      }
    } else count = readBlocking(fd, target);
    current = next;
    if (count < target.length) eof = true;
    offset += count;
    unpushed = target.subarray(0, count);
    progress?.update(offset);
  }
  deliver();
  writer.flush();
  if (decoder.bytesWanted === 0) {
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
  decoder.endEach(visit);
  writer.flush();
  return offset;
}
