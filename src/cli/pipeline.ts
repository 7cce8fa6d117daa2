/**
 * Reading a save file and writing what it yields at the same time, for the
 * commands whose output is mostly the stream's own page bytes
 * (`extract-memory`, `decode`): the main thread reads records into a small
 * ring of buffers and decodes them, while the writes of the bytes handed
 * out (views into those buffers, never copied) run one after another on
 * libuv's thread pool. The kernel's two copies (page cache -> buffer,
 * buffer -> page cache of the output) then run on two cores instead of one
 * after the other: that is where such a command spends its time.
 *
 * Memory: the ring holds {@link SLOTS} buffers, each as large as the
 * largest unit read so far (a full PAGE_DATA batch, 4 MiB + 8 KiB, for
 * Xen's streams): a few tens of MiB at most, whatever the stream's size.
 *
 * @module
 * @internal
 */
import { fstatSync, readSync, write } from "node:fs";
import { PAGE, pageAlignedBytes } from "../io/aligned.js";
import type { SaveFileDecoder, SaveFileEvent } from "../savefile.js";
import type { Progress } from "./progress.js";

/** Buffers in the ring: one being read and decoded, the others waiting for their writes. */
const SLOTS = 4;
/** Capacity of a fresh slot: one full PAGE_DATA batch and its pfn array, rounded up. */
const SLOT_CAPACITY = 4 * 1024 * 1024 + 64 * 1024;
/** Bytes read at a time once the stream has ended (the bytes after it). */
const TRAILER_READ = 64 * 1024;

/** Writes one whole range at `position` on the thread pool. */
function writeRange(fd: number, bytes: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const next = (): void => {
      write(fd, bytes, done, bytes.length - done, position + done, (error, written) => {
        if (error !== null) return reject(error);
        done += written;
        if (done < bytes.length) next();
        else resolve();
      });
    };
    next();
  });
}

/**
 * Positional writes run in the order they were handed over, one at a time
 * (a later copy of a page must land after an earlier one), off the main
 * thread. The bytes must stay unchanged until {@link OrderedWriter.tail}
 * settles after they were handed over; {@link pipelineFile} sees to that
 * for views of its buffers.
 * @internal
 */
export class OrderedWriter {
  private readonly fd: number;
  /** Settles after every write handed over so far. */
  tail: Promise<void> = Promise.resolve();
  /** Writes handed over so far. */
  count = 0;
  /** Bytes handed over so far (the next append position). */
  length = 0;

  constructor(fd: number) {
    this.fd = fd;
  }

  /** Writes `bytes` at `position` once the writes before have been done. */
  place(position: number, bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.count++;
    this.length = Math.max(this.length, position + bytes.length);
    const fd = this.fd;
    this.tail = this.tail.then(() => writeRange(fd, bytes, position));
    // Failure is reported by whoever awaits the tail; never unhandled.
    this.tail.catch(() => undefined);
  }

  /** Writes `bytes` after everything handed over so far. */
  append(bytes: Uint8Array): void {
    this.place(this.length, bytes);
  }

  /** Resolves once every write handed over has been done; rejects with the first failure. */
  drain(): Promise<void> {
    return this.tail;
  }
}

/** One buffer of the ring. */
interface Slot {
  backing: Uint8Array;
  /** Settles when the writes of bytes read into this slot are done. */
  pending: Promise<void> | undefined;
}

function newSlot(capacity: number): Slot {
  return { backing: pageAlignedBytes(capacity + PAGE), pending: undefined };
}

/**
 * The `length` bytes of `slot` to read the stream bytes at `offset` into.
 * read(2) copies from the page cache fastest when the target lies half a
 * page away from the source's place in its page (src/io/read-into.ts
 * measured it; the backing starts on a page boundary).
 */
function placed(slot: Slot, offset: number, length: number): Uint8Array {
  const shift = (offset + PAGE / 2) % PAGE;
  return slot.backing.subarray(shift, shift + length);
}

/** Reads until `target` is full or the file ends; returns the bytes read. */
function readFully(fd: number, target: Uint8Array): number {
  let done = 0;
  while (done < target.length) {
    const count = readSync(fd, target, done, target.length - done, null);
    if (count === 0) break;
    done += count;
  }
  return done;
}

/**
 * Decodes the regular file open as `fd` (from its current position) with
 * `decoder`, handing every event to `visit`, which may hand views of the
 * event's bytes to `writer` (they stay valid until written). Reads exactly
 * what the decoder wants next, so every record body is one read and one
 * view, never assembled. Bytes after the end of the stream go to
 * `trailer` in fresh chunks (the callee may keep them). Resolves with the
 * bytes read once the stream is decoded (`decoder.end` included) and every
 * write is done.
 *
 * @throws the decoder's XenStreamError, or the I/O error of a read or write
 * @internal
 */
export async function pipelineFile(
  fd: number,
  decoder: SaveFileDecoder,
  visit: (event: SaveFileEvent) => void,
  writer: OrderedWriter,
  trailer: (bytes: Uint8Array) => void,
  progress?: Progress,
): Promise<number> {
  const start = fstatSync(fd).size;
  // The file's size caps every read, so that a length field claiming more
  // than the file holds never makes a buffer that large.
  const remaining = (offset: number): number => Math.max(0, start - offset);
  const slots: Slot[] = [newSlot(SLOT_CAPACITY)];
  let current = 0;
  let offset = 0;
  for (;;) {
    const wanted = decoder.bytesWanted;
    if (wanted === 0) break;
    const length = Math.min(wanted, Math.max(1, remaining(offset)));
    let slot = slots[current] as Slot;
    if (slot.pending !== undefined) {
      current = (current + 1) % SLOTS;
      if (slots[current] === undefined) slots[current] = newSlot(SLOT_CAPACITY);
      slot = slots[current] as Slot;
      if (slot.pending !== undefined) await slot.pending;
      slot.pending = undefined;
    }
    if (slot.backing.length < length + PAGE) {
      slot.backing = pageAlignedBytes(Math.ceil(length / PAGE) * PAGE + PAGE);
    }
    const target = placed(slot, offset, length);
    const count = readFully(fd, target);
    if (count === 0) break;
    offset += count;
    const before = writer.count;
    decoder.pushEach(target.subarray(0, count), visit);
    if (writer.count !== before) slot.pending = writer.tail;
    // Bytes the decoder keeps (a unit it completes with the next push) are
    // left to it: the slot continues in a fresh buffer.
    if (decoder.bytesHeld > 0) slot.backing = pageAlignedBytes(slot.backing.length);
    progress?.update(offset);
    if (count < length) break;
  }
  if (decoder.bytesWanted === 0) {
    for (;;) {
      const chunk = new Uint8Array(TRAILER_READ);
      const count = readFully(fd, chunk);
      if (count === 0) break;
      offset += count;
      trailer(chunk.subarray(0, count));
      if (count < chunk.length) break;
    }
  }
  progress?.done();
  decoder.endEach(visit);
  await writer.drain();
  return offset;
}
