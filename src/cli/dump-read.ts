/**
 * dump's reader for a regular file: the units the decoder wants (its
 * `bytesWanted`), read with positioned reads, where PAGE_DATA page
 * contents that the dump does not show (no `--pages`) are not read at all.
 *
 * A PAGE_DATA body is count (u32), reserved (u32), count pfn words (u64)
 * and then the pages with data (xg_sr_stream_format.h struct
 * xc_sr_rec_page_data_header; spec: libxc-stream.md PAGE_DATA). Without
 * `--pages` a dump shows the header and the pfn words only (types, pfn
 * ranges, pages with data), so the reader reads those and the padding,
 * and hands the decoder zeros in place of the page contents: the decoder's
 * checks depend on lengths and pfn words, never on page contents, so the
 * dump is the same, without copying gigabytes from the page cache. Only
 * when the file holds the whole body (else it is read as it is, to its
 * truncation), and only for a libxc record header (the last event was a
 * libxc one, and not its END) of type PAGE_DATA.
 *
 * @module
 * @internal
 */
import { fstatSync, readSync } from "node:fs";

/** What the reader asks of the decoder. @internal */
export interface UnitConsumer {
  /** Bytes needed before the next event (0 once the stream has ended). */
  readonly bytesWanted: number;
}

/** Read ahead for small units (record headers, small records). */
const WINDOW = 1 << 16;
/** libxc record type PAGE_DATA (xg_sr_stream_format.h REC_TYPE_PAGE_DATA). */
const PAGE_DATA = 1;
/** A libxc record header: type u32, length u32. */
const HEADER = 8;

/**
 * Units of the file behind `fd`, each a view valid until the next is
 * asked for. `skipPages` says whether page contents may be skipped;
 * `inLibxc` whether the decoder's next header is a libxc record header.
 * @internal
 */
export class DumpFileReader {
  /** File position of the next byte to read from the file. */
  private position = 0;
  private readonly size: number;
  private window = Buffer.allocUnsafe(WINDOW);
  private start = 0;
  private end = 0;
  /** Body buffer for skipped PAGE_DATA: zero beyond `dirty`. */
  private body = Buffer.alloc(0);
  private dirty = 0;
  /** The last unit was exactly a record header: its bytes. */
  private lastHeader: { type: number; length: number } | undefined;
  /** Bytes handed out so far (the offset of the next unit). */
  offset = 0;
  /** Bytes of page contents not read. */
  skipped = 0;

  constructor(
    private readonly fd: number,
    private readonly skipPages: boolean,
  ) {
    this.size = fstatSync(fd).size;
  }

  /** Reads into `target[at..at+length)` from the file; returns the bytes read (fewer at the end of the file). */
  private readAt(target: Buffer, at: number, length: number): number {
    let done = 0;
    while (done < length) {
      const got = readSync(this.fd, target, at + done, length - done, this.position);
      if (got === 0) break;
      done += got;
      this.position += got;
    }
    return done;
  }

  /**
   * The next unit of `wanted` bytes (fewer at the end of the file, none
   * after it). `inLibxc`: the decoder's next record header is a libxc one.
   * `held`: bytes of earlier units the decoder still holds (its
   * `bytesHeld`, e.g. while it tells a legacy layout from the first bytes):
   * those stay as they were, as the units are views of buffers this reader
   * would otherwise reuse.
   */
  next(wanted: number, inLibxc: boolean, held = 0): Uint8Array {
    const header = this.lastHeader;
    this.lastHeader = undefined;
    if (
      held === 0 &&
      this.skipPages &&
      header !== undefined &&
      header.type === PAGE_DATA &&
      header.length >= HEADER &&
      wanted === ((header.length + 7) & ~7) &&
      this.offset + wanted <= this.size
    ) {
      return this.pageData(header.length, wanted);
    }
    const unit = this.take(wanted, held > 0);
    if (inLibxc && unit.length === HEADER && wanted === HEADER) {
      this.lastHeader = { type: unit.readUInt32LE(0), length: unit.readUInt32LE(4) };
    }
    this.offset += unit.length;
    return unit;
  }

  /**
   * `wanted` bytes through the read-ahead window; `keep`: the window's
   * earlier bytes are held, so a refill goes to a fresh window.
   */
  private take(wanted: number, keep: boolean): Buffer {
    let available = this.end - this.start;
    if (available < wanted) {
      const capacity = Math.max(wanted, WINDOW);
      if (keep || this.window.length < capacity) {
        const grown = Buffer.allocUnsafe(capacity);
        this.window.copy(grown, 0, this.start, this.end);
        this.window = grown;
      } else {
        this.window.copyWithin(0, this.start, this.end);
      }
      this.start = 0;
      this.end = available;
      // Small units read ahead to a full window; a large one exactly.
      const goal = wanted >= WINDOW ? wanted : this.window.length;
      this.end += this.readAt(this.window, this.end, goal - available);
      available = this.end;
    }
    const size = Math.min(wanted, available);
    const unit = this.window.subarray(this.start, this.start + size);
    this.start += size;
    return unit;
  }

  /** A PAGE_DATA body of `length` bytes (`padded` with its padding), its page contents zeros. */
  private pageData(length: number, padded: number): Uint8Array {
    if (this.body.length < padded) {
      this.body = Buffer.alloc(Math.max(padded, this.body.length * 2));
      this.dirty = 0;
    }
    const body = this.body;
    // What the window holds already (the header and maybe more), as read.
    let have = Math.min(this.end - this.start, padded);
    this.window.copy(body, 0, this.start, this.start + have);
    this.start += have;
    const fill = (upTo: number): void => {
      if (have < upTo) have += this.readAt(body, have, upTo - have);
    };
    fill(HEADER);
    const count = body.readUInt32LE(0);
    const pfnsEnd = Math.min(length, HEADER + 8 * count);
    fill(pfnsEnd);
    // Bytes that may be non-zero from now on: what was read into the body
    // now, and what an earlier body left past this one's page contents.
    let dirty = Math.max(have, this.dirty > length ? this.dirty : 0);
    if (have < length) {
      // The pages: zeros, not read (the file holds them: checked by the caller).
      body.fill(0, have, Math.min(this.dirty, length));
      this.skipped += length - have;
      this.position += length - have;
      have = length;
    }
    if (have < padded) {
      have += this.readAt(body, have, padded - have);
      dirty = Math.max(dirty, have);
    }
    this.dirty = dirty;
    this.offset += have;
    return body.subarray(0, have);
  }
}
