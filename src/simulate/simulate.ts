/**
 * simulateMigration(): the live loop's passes turned into a complete
 * migration stream (xl header, libxl, libxc) for the streaming encoder.
 *
 * Record order, as Xen 4.17 writes a live migration (xg_sr_save.c save():
 * write_headers(), ops.static_data(), write_static_data_end_record(),
 * ops.start_of_stream(), the memory passes, ops.end_of_checkpoint(),
 * write_end_record(); libxl_stream_write.c: libxl header, LIBXC_CONTEXT,
 * the libxc stream, emulator records, END): the guest's records before its
 * memory, every pass's PAGE_DATA records, the guest's records after it.
 *
 * Batches are cut as send_dirty_pages()/add_to_batch()/write_batch() cut
 * them: the pass's pfns in ascending order, MAX_BATCH_SIZE (1024) pfns per
 * PAGE_DATA record, the last one short; each entry's type is the page's
 * (XTAB for a pfn without a page, which carries no data), except a PV
 * guest's deferred pfns, XTAB in the live passes and sent in the
 * stop-and-copy pass with their own type (loop.ts).
 *
 * Records are generated when the encoder asks for them, so memory is one
 * batch (4 MiB of pages) plus the loop's pfn lists.
 *
 * @module
 */
import { XenStreamError } from "../errors.js";
import { pageTypeHasData } from "../libxc/constants.js";
import type { LibxcRecord, PageDataRecord, PfnEntry } from "../libxc/types.js";
import type { StreamingLibxlItem, StreamingSaveFile } from "../io/encode.js";
import { encodeSaveFileChunks } from "../io/encode.js";
import { MIGRATE_PERMISSION_TO_GO } from "../xl/migration.js";
import { BATCH_SIZE, type GuestImage } from "./guest.js";
import { passEntryType, populatedPfns, runLiveLoop, type LoopOptions, type SimulationReport } from "./loop.js";

/** Options of {@link simulateMigration}. */
export interface SimulationOptions extends LoopOptions {
  /**
   * Write every PAGE_DATA record's pages into one reused buffer: a record
   * is then valid only until the next one is requested (fine for the
   * streaming encoder, which is done with a record before it asks for the
   * next; wrong for code that keeps records).
   * @defaultValue false
   */
  reusePageBuffers?: boolean;
  /**
   * After the stream, write xl's migrate_permission_to_go message, "domain
   * is yours, you are cleared to unpause" and its NUL (44 bytes,
   * tools/xl/xl.h `migrate_permission_to_go`), as `xl migrate`
   * does on the forward channel (xl_migrate.c migrate_domain()).
   * `xl migrate-receive` needs it: after the stream it reads exactly
   * these bytes before it unpauses the domain, and destroys the domain
   * without them (xl_migrate.c migrate_receive()). `xl restore FILE` takes
   * the stream without it. The bytes are not part of the stream: the
   * report's byte counts leave them out. Only for a stream with an xl
   * header (what migrate-receive reads first).
   * @defaultValue false
   */
  migrateTrailer?: boolean;
}

/** Options of {@link SimulatedMigration.chunks} (those of the streaming encoder, `encodeSaveFileChunks`). */
export interface SimulationChunkOptions {
  /**
   * Target size of an output chunk; a larger record is a chunk of its own.
   * @defaultValue 1048576 (1 MiB)
   */
  chunkSize?: number;
  /**
   * Write every chunk into one reused buffer: a chunk is then valid only
   * until the next one is requested.
   * @defaultValue false
   */
  reuseBuffer?: boolean;
}

/** A simulated migration: its report and its stream. */
export interface SimulatedMigration {
  /** What the migration does: passes, bytes, downtime. */
  report: SimulationReport;
  /**
   * The stream as a save file for the streaming encoder; its record
   * iterables can be iterated more than once (each time anew).
   */
  saveFile: StreamingSaveFile;
  /**
   * The stream's bytes, through the streaming encoder
   * (`encodeSaveFileChunks`), then, with `migrateTrailer`, xl's 44-byte
   * migrate_permission_to_go message as a chunk of its own.
   *
   * @param options - chunk size, buffer reuse
   * @returns the chunks
   */
  chunks(options?: SimulationChunkOptions): AsyncGenerator<Uint8Array, void, undefined>;
}

/** An iterable that starts a fresh generator each time it is iterated. */
function reiterable<T>(make: () => Generator<T, void, undefined>): Iterable<T> {
  return { [Symbol.iterator]: make };
}

/**
 * The PAGE_DATA records of one pass; `liveXtab` (live passes of a guest
 * with deferred pfns) turns the deferred pfns into XTAB entries without
 * data, as write_batch() writes them (xg_sr_save.c: INVALID_MFN, or
 * normalise_page() EAGAIN, sets `types[i] = XEN_DOMCTL_PFINFO_XTAB`; for a
 * ballooned pfn xc_get_pfn_type_batch() already said XTAB).
 */
function* passRecords(
  guest: GuestImage,
  pfns: Uint32Array | undefined,
  liveXtab: Uint8Array | undefined,
  reuse: boolean,
  scratch: { pages: Uint8Array | undefined; entries: PfnEntry[] | undefined },
): Generator<PageDataRecord, void, undefined> {
  const { pageSize } = guest;
  const count = pfns === undefined ? guest.p2mSize : pfns.length;
  for (let start = 0; start < count; start += BATCH_SIZE) {
    const n = Math.min(BATCH_SIZE, count - start);
    let withData = 0;
    for (let i = 0; i < n; i++) {
      const pfn = pfns === undefined ? start + i : (pfns[start + i] as number);
      if (pageTypeHasData(passEntryType(guest, pfn, liveXtab))) withData++;
    }
    let pages: Uint8Array;
    let entries: PfnEntry[];
    if (reuse) {
      scratch.pages ??= new Uint8Array(BATCH_SIZE * pageSize);
      scratch.entries ??= Array.from({ length: BATCH_SIZE }, () => ({ pfn: 0, type: 0 }));
      pages = scratch.pages.subarray(0, withData * pageSize);
      entries = scratch.entries;
      entries.length = n;
    } else {
      pages = new Uint8Array(withData * pageSize);
      entries = new Array<PfnEntry>(n);
    }
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const pfn = pfns === undefined ? start + i : (pfns[start + i] as number);
      const type = passEntryType(guest, pfn, liveXtab);
      if (reuse) {
        const entry = entries[i];
        if (entry === undefined) entries[i] = { pfn, type };
        else {
          entry.pfn = pfn;
          entry.type = type;
        }
      } else entries[i] = { pfn, type };
      if (pageTypeHasData(type)) {
        guest.copyPage(pfn, pages, pos);
        pos += pageSize;
      }
    }
    yield { type: "PAGE_DATA", entries, pages };
    if (reuse) entries.length = BATCH_SIZE;
  }
}

/**
 * Simulates a live migration of a guest: runs Xen 4.17's live loop over
 * the dirty model and returns its report and the stream it writes (xl
 * header, libxl, libxc, as the guest's template has them; for a source in
 * a libvirt or xenopsd container, the same container around it, with its
 * XML, Xenops record and device-model blobs as found). For a guest
 * read from a save file, the last copy of every pfn in the stream is the
 * save file's page: restoring the stream gives the save file's memory.
 *
 * @param options - guest, dirty model, bandwidth, policy, seed
 * @returns the report, the save file and its chunks
 * @throws {@link XenStreamError} `USAGE` for options out of range
 *   (`migrateTrailer` for a stream without an xl header);
 *   `UNSUPPORTED` when the policy aborts (Xen writes no complete stream)
 *
 * @example
 * ```ts
 * import { simulateMigration, syntheticGuest } from "xen-migration-stream";
 * const run = simulateMigration({
 *   guest: syntheticGuest({ memoryMiB: 128, guest: "hvm" }),
 *   dirty: { kind: "uniform", pagesPerSecond: 20000 },
 * });
 * run.report.passes.length; //=> 6 (5 live passes, then stop-and-copy)
 * for await (const chunk of run.chunks()) send(chunk);
 * ```
 */
export function simulateMigration(options: SimulationOptions): SimulatedMigration {
  const { guest } = options;
  const trailer = options.migrateTrailer ?? false;
  if (typeof trailer !== "boolean") throw new XenStreamError("USAGE", 0, `migrateTrailer must be a boolean, got ${String(trailer)}`);
  if (trailer && guest.template.xl === undefined) {
    throw new XenStreamError(
      "USAGE",
      0,
      "migrateTrailer: xl migrate-receive reads an xl save-file header first, and this guest's stream has none (a bare or container source); drop migrateTrailer",
    );
  }
  const populated = populatedPfns(guest);
  const { report, passPfns, liveXtab } = runLiveLoop(options, populated);
  if (report.aborted) throw new XenStreamError("UNSUPPORTED", 0, "the precopy policy aborted the migration (XGS_POLICY_ABORT): Xen writes no complete stream");
  const reuse = options.reusePageBuffers === true;
  const t = guest.template;
  const libxcRecords = reiterable<LibxcRecord>(function* () {
    const scratch = { pages: undefined, entries: undefined };
    yield* t.head;
    // Every pass but the last is live: deferred pfns are XTAB there, sent for real in the last.
    for (const [i, pfns] of passPfns.entries()) yield* passRecords(guest, pfns, i < passPfns.length - 1 ? liveXtab : undefined, reuse, scratch);
    yield* t.tail;
  });
  const libxc = { imageHeader: t.imageHeader, domainHeader: t.domainHeader, records: libxcRecords };
  let saveFile: StreamingSaveFile;
  if (t.format === "libxl") {
    const items = reiterable<StreamingLibxlItem>(function* () {
      yield* t.libxlBefore;
      yield { type: "LIBXC_CONTEXT" };
      yield { type: "LIBXC_STREAM", stream: libxc };
      yield* t.libxlAfter;
    });
    saveFile = { format: "libxl", stream: { header: t.libxlHeader ?? { version: 2, options: 0 }, items } };
  } else {
    saveFile = { format: "libxc", stream: libxc };
  }
  if (t.xl !== undefined) saveFile.xl = t.xl;
  // A container source's container, as found: the stream goes in its stream chunk's place.
  if (t.container !== undefined) saveFile.container = t.container;
  return {
    report,
    saveFile,
    chunks: trailer ? (chunkOptions) => withTrailer(encodeSaveFileChunks(saveFile, chunkOptions)) : (chunkOptions) => encodeSaveFileChunks(saveFile, chunkOptions),
  };
}

/** The stream's chunks, then xl's migrate_permission_to_go message (a fresh copy: chunks may be kept). */
async function* withTrailer(chunks: AsyncGenerator<Uint8Array, void, undefined>): AsyncGenerator<Uint8Array, void, undefined> {
  yield* chunks;
  yield MIGRATE_PERMISSION_TO_GO.slice();
}
