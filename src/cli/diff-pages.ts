/**
 * diff's memory comparison for two regular files, without hashing a page.
 *
 * Pass 1 (per file): the records are decoded through dump's reader
 * (src/cli/dump-read.ts), which reads record headers and PAGE_DATA pfn
 * arrays but not the page contents; what the digest needs of the other
 * records is read and folded as in a stream's digest, and each pfn's last
 * copy is recorded as its position in the file. A PAGE_DATA body is count
 * (u32), reserved (u32), count pfn words (u64), then the pages with data
 * in entry order (xg_sr_stream_format.h struct xc_sr_rec_page_data_header;
 * spec: libxc-stream.md PAGE_DATA), so the contents of the k-th page with
 * data start at record offset + 8 + 8 + 8 * count + k * page size.
 *
 * Pass 2: the pfns held by both files are walked in ascending order, in
 * groups whose last copies are contiguous in both files (a whole batch
 * for Xen's in-order streams), each group read from both files at once
 * on the thread pool (the next group read while this one is compared) and
 * compared page by page with memcmp. So a diff reads each page once, as a
 * copy of the page cache into a reused buffer, and compares it natively:
 * no JavaScript loop over page words. Where the last copies are scattered
 * (small groups: many small reads), the caller falls back to the hashing
 * digest instead.
 *
 * @module
 * @internal
 */
import { read } from "node:fs";
import { PAGE, pageAlignedBytes } from "../io/aligned.js";
import { DigestCollector } from "../inspect/digest.js";
import type { StreamDigest } from "../inspect/digest.js";
import { pageTypeHasData } from "../libxc/constants.js";
import type { LibxcRecordEvent } from "../libxc/decoder.js";
import type { InternalDecoderOptions } from "../libxc/decoder.js";
import { PageIndex } from "../memory/page-index.js";
import { SaveFileDecoder } from "../savefile.js";
import type { SaveFileDecoderOptions, SaveFileEvent } from "../savefile.js";
import { RECORD_HEADER_SIZE } from "../wire/frame.js";
import { DumpFileReader } from "./dump-read.js";
import type { Progress } from "./progress.js";

/** PAGE_DATA body: count u32, reserved u32 (xc_sr_rec_page_data_header). */
const PAGE_DATA_HEADER = 8;
/** One pfn word of the PAGE_DATA body. */
const PFN_ENTRY_SIZE = 8;
/** Most bytes of one group (read from each file at a time). */
const GROUP_BYTES = 4 * 1024 * 1024;
/** Fewest pages per group on average for the positioned comparison (else the caller hashes). */
const MIN_AVERAGE_GROUP = 64;

const NO_ENTRIES: never[] = [];
const NO_PAGES = new Uint8Array(0);

/** A stream's digest whose `pages` hold file positions of the last copies, not hashes. */
export interface PositionedDigest {
  digest: StreamDigest;
  /** Page size from the domain header (0 when there was none). */
  pageSize: number;
}

/** Thrown out of the visit when a container holds a legacy stream. */
const LEGACY_INSIDE = Symbol("legacy stream inside");

/**
 * Decodes the regular file open as `fd` without reading page contents;
 * returns its digest with each pfn's last copy as a file position, or
 * undefined for a container holding a legacy stream (the caller decodes it,
 * converted).
 *
 * @throws the decoder's XenStreamError, or the I/O error of a read
 * @internal
 */
export function digestPositions(fd: number, progress?: Progress): PositionedDigest | undefined {
  const collector = new DigestCollector();
  const positions = new PageIndex();
  let pageSize = 0;
  // The events are folded during the visit (entries refilled record after record).
  const options: SaveFileDecoderOptions & InternalDecoderOptions = { reuseEntries: true };
  const decoder = new SaveFileDecoder(options);
  let inLibxc = false;
  const visit = (event: SaveFileEvent): void => {
    // A legacy stream in a container is compared as the v2 stream it
    // converts to (convertLegacy): not from file positions.
    if (event.layer === "legacy") throw LEGACY_INSIDE;
    // The next record header is a libxc one after any libxc event but its END.
    inLibxc = event.layer === "libxc" && !(event.kind === "record" && event.record.type === "END");
    if (event.layer === "libxc" && event.kind === "domainHeader") pageSize = 2 ** event.header.pageShift;
    if (event.kind === "record" && event.record.type === "PAGE_DATA") {
      const { record, offset } = event as LibxcRecordEvent & { record: { type: "PAGE_DATA" } };
      const { entries } = record;
      let position = offset + RECORD_HEADER_SIZE + PAGE_DATA_HEADER + entries.length * PFN_ENTRY_SIZE;
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[i] as { pfn: number; type: number };
        if (!pageTypeHasData(entry.type)) continue;
        positions.set(entry.pfn, position);
        position += pageSize;
      }
      // The digest's part of the record (its place in the sequence), without its pages.
      const stripped = { ...event, record: { ...record, entries: NO_ENTRIES, pages: NO_PAGES } };
      collector.add(stripped as { layer: string; kind: string });
      return;
    }
    collector.add(event);
  };
  const reader = new DumpFileReader(fd, true);
  try {
    while (decoder.bytesWanted > 0) {
      const chunk = reader.next(decoder.bytesWanted, inLibxc, decoder.bytesHeld);
      if (chunk.length === 0) break;
      decoder.pushEach(chunk, visit);
      progress?.update(reader.offset);
    }
    decoder.endEach(visit);
  } catch (error) {
    if (error === LEGACY_INSIDE) return undefined;
    throw error;
  }
  progress?.done();
  const digest = collector.finish();
  digest.pages = positions;
  return { digest, pageSize };
}

/** Pfns `pfn .. pfn+count-1`, contiguous in both files from `a` and `b`. */
interface Group {
  pfn: number;
  count: number;
  a: number;
  b: number;
}

/** The groups of pfns both indexes hold, ascending; undefined when they are too small on average. */
function groupsOf(a: PageIndex, b: PageIndex, pageSize: number, minAverage: number): Group[] | undefined {
  const most = Math.max(1, Math.floor(GROUP_BYTES / pageSize));
  const groups: Group[] = [];
  let common = 0;
  let group: Group | undefined;
  for (const run of a.runs()) {
    for (let pfn = run.pfn; pfn < run.pfn + run.count; pfn++) {
      const right = b.get(pfn);
      if (right === undefined) {
        group = undefined;
        continue;
      }
      const left = a.get(pfn) as number;
      common++;
      if (group !== undefined && group.pfn + group.count === pfn && group.count < most && group.a + group.count * pageSize === left && group.b + group.count * pageSize === right) {
        group.count++;
      } else {
        group = { pfn, count: 1, a: left, b: right };
        groups.push(group);
      }
    }
    group = undefined;
  }
  return groups.length * minAverage > common ? undefined : groups;
}

/** Reads exactly `target.length` bytes at `position` on the thread pool. */
async function readExactly(fd: number, target: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const count = await new Promise<number>((resolve, reject) => {
      read(fd, target, done, target.length - done, position + done, (error, bytesRead) => (error === null ? resolve(bytesRead) : reject(error)));
    });
    if (count === 0) throw new Error(`the file ended at byte ${position + done}, before the page contents it held when it was indexed (was it changed during the diff?)`);
    done += count;
  }
}

/** A read buffer for one file: one group, placed for fast copies from the page cache. */
class GroupBuffer {
  private readonly backing = pageAlignedBytes(GROUP_BYTES + PAGE);
  private readonly buffer = Buffer.from(this.backing.buffer, this.backing.byteOffset, this.backing.length);
  /** The view read into last. */
  view: Buffer = this.buffer.subarray(0, 0);

  /**
   * A view of `length` bytes for the file bytes at `position`: half a page
   * away from the source's place in its page (read(2) copies fastest so:
   * src/io/read-into.ts).
   */
  place(position: number, length: number): Buffer {
    const shift = (position + PAGE / 2) % PAGE;
    this.view = this.buffer.subarray(shift, shift + length);
    return this.view;
  }
}

/**
 * Compares the last copies of the pfns both digests hold, reading them
 * from `fdA` and `fdB` at the positions in the digests' `pages`, and turns
 * the two indexes into values {@link diffDigests} compares: 0 for every
 * pfn of A; for a pfn of B, 0 when its contents equal A's, else 1.
 * Returns false (indexes untouched) when the groups hold fewer than
 * `minAverageGroup` pages on average (scattered last copies: many small
 * reads): the caller then hashes.
 *
 * @throws the I/O error of a read
 * @internal
 */
export async function comparePositioned(
  fdA: number,
  fdB: number,
  a: PositionedDigest,
  b: PositionedDigest,
  progress?: Progress,
  minAverageGroup = MIN_AVERAGE_GROUP,
): Promise<boolean> {
  const pageSize = a.pageSize;
  const left = a.digest.pages;
  const right = b.digest.pages;
  if (pageSize !== b.pageSize || pageSize === 0) {
    // Different page sizes: no page compares equal; no page is read.
    for (const run of left.runs()) for (let pfn = run.pfn; pfn < run.pfn + run.count; pfn++) left.set(pfn, 0);
    for (const run of right.runs()) for (let pfn = run.pfn; pfn < run.pfn + run.count; pfn++) right.set(pfn, 1);
    return true;
  }
  const groups = groupsOf(left, right, pageSize, minAverageGroup);
  if (groups === undefined) return false;
  const buffers = [
    [new GroupBuffer(), new GroupBuffer()],
    [new GroupBuffer(), new GroupBuffer()],
  ] as const;
  const start = (index: number): Promise<unknown> => {
    const group = groups[index] as Group;
    const [bufferA, bufferB] = buffers[index % 2] as readonly [GroupBuffer, GroupBuffer];
    const length = group.count * pageSize;
    return Promise.all([readExactly(fdA, bufferA.place(group.a, length), group.a), readExactly(fdB, bufferB.place(group.b, length), group.b)]);
  };
  const verdicts = new Uint8Array(Math.floor(GROUP_BYTES / pageSize) + 1);
  let done = 0;
  let reading = groups.length > 0 ? start(0) : undefined;
  for (let index = 0; index < groups.length; index++) {
    await reading;
    // The next group is read while this one is compared.
    reading = index + 1 < groups.length ? start(index + 1) : undefined;
    reading?.catch(() => undefined); // reported when awaited
    const group = groups[index] as Group;
    const [bufferA, bufferB] = buffers[index % 2] as readonly [GroupBuffer, GroupBuffer];
    const viewA = bufferA.view;
    const viewB = bufferB.view;
    if (viewA.equals(viewB)) verdicts.fill(0, 0, group.count);
    else for (let i = 0, at = 0; i < group.count; i++, at += pageSize) verdicts[i] = viewA.compare(viewB, at, at + pageSize, at, at + pageSize) === 0 ? 0 : 1;
    for (let i = 0; i < group.count; i++) {
      left.set(group.pfn + i, 0);
      right.set(group.pfn + i, verdicts[i] as number);
    }
    done += 2 * group.count * pageSize;
    progress?.update(done);
  }
  progress?.done();
  return true;
}
