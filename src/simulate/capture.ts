/**
 * The pass structure of a live-migration stream: which PAGE_DATA records
 * form which memory pass, with their batch sizes, XTAB runs and dirty
 * pfns. Used to replay a real capture's dirty sets and to compare
 * simulated streams with real ones.
 *
 * Pass boundaries follow how xg_sr_save.c writes them: send_dirty_pages()
 * walks the dirty bitmap from pfn 0 upwards and add_to_batch() flushes a
 * batch only when it holds MAX_BATCH_SIZE pfns, with one final
 * flush_batch() per pass. So within a pass pfns only grow and only the
 * last batch may be short: a batch that is short, or whose successor
 * starts at or below its last pfn, ends a pass. (A pass of an exact
 * multiple of 1024 pfns followed by a pass starting above its last pfn is
 * indistinguishable from one pass: Xen's framing does not record it.)
 *
 * @module
 */
import { MIGRATE_PERMISSION_TO_GO, classifyTrailer } from "../xl/migration.js";
import { MAX_BATCH_SIZE, PageType, pageTypeHasData } from "../libxc/constants.js";
import type { PageDataRecord } from "../libxc/types.js";
import type { SaveFileEvent } from "../savefile.js";

/** One memory pass of a stream. */
export interface CapturePass {
  /** pfn count of each PAGE_DATA record of the pass, in order. */
  batchSizes: number[];
  /** pfns in the pass (the sum of batchSizes). */
  pfns: number;
  /** Pages with data in the pass. */
  dataPages: number;
  /** Runs of consecutive XTAB entries within batches: [first pfn, length]. */
  xtabRuns: Array<[number, number]>;
  /** The pfns with data sent in this pass, ascending (kept for passes after the first). */
  dirtyPfns: Uint32Array | undefined;
}

/** The structure of a stream: its record order and memory passes. */
export interface CaptureProfile {
  /**
   * Record types in stream order, layer-prefixed (`libxc:X86_TSC_INFO`),
   * each run of PAGE_DATA records of one pass written once as
   * `libxc:PAGE_DATA*`.
   */
  recordOrder: string[];
  /** The memory passes in order. */
  passes: CapturePass[];
  /** Highest pfn in any PAGE_DATA + 1. */
  p2mSize: number;
}

/**
 * Folds save-file events (in stream order) into a {@link CaptureProfile}.
 * Memory: the pfn lists of the passes after the first, a few bytes a page.
 */
export class CaptureProfiler {
  private readonly recordOrder: string[] = [];
  private readonly passes: CapturePass[] = [];
  private current: CapturePass | undefined = undefined;
  private currentPfns: number[] = [];
  private lastPfn = -1;
  private lastCount = 0;
  private p2mSize = 0;

  /** Adds the next event. */
  add(event: SaveFileEvent): void {
    if (event.kind !== "record") return;
    const record = event.record;
    if (event.layer === "libxc" && record.type === "PAGE_DATA") {
      this.page(record as PageDataRecord);
      return;
    }
    this.close();
    this.recordOrder.push(`${event.layer}:${record.type}`);
  }

  private page(record: PageDataRecord): void {
    const entries = record.entries;
    const first = entries[0]?.pfn ?? 0;
    if (this.current !== undefined && (this.lastCount < MAX_BATCH_SIZE || first <= this.lastPfn)) this.close();
    let pass = this.current;
    if (pass === undefined) {
      pass = { batchSizes: [], pfns: 0, dataPages: 0, xtabRuns: [], dirtyPfns: undefined };
      this.current = pass;
      this.currentPfns = [];
      this.recordOrder.push("libxc:PAGE_DATA*");
    }
    pass.batchSizes.push(entries.length);
    pass.pfns += entries.length;
    let run: [number, number] | undefined = undefined;
    for (const entry of entries) {
      if (entry.pfn + 1 > this.p2mSize) this.p2mSize = entry.pfn + 1;
      if (pageTypeHasData(entry.type)) {
        pass.dataPages++;
        if (this.passes.length > 0) this.currentPfns.push(entry.pfn);
      }
      if (entry.type === PageType.XTAB) {
        if (run !== undefined && run[0] + run[1] === entry.pfn) run[1]++;
        else {
          run = [entry.pfn, 1];
          pass.xtabRuns.push(run);
        }
      } else run = undefined;
    }
    this.lastPfn = entries[entries.length - 1]?.pfn ?? this.lastPfn;
    this.lastCount = entries.length;
  }

  private close(): void {
    const pass = this.current;
    if (pass === undefined) return;
    if (this.passes.length > 0) pass.dirtyPfns = Uint32Array.from(this.currentPfns);
    this.passes.push(pass);
    this.current = undefined;
    this.currentPfns = [];
    this.lastPfn = -1;
    this.lastCount = 0;
  }

  /** The profile of the events added so far. */
  result(): CaptureProfile {
    this.close();
    return { recordOrder: [...this.recordOrder], passes: [...this.passes], p2mSize: this.p2mSize };
  }
}

/**
 * The pass structure of a stream from its decoded events.
 *
 * @param events - save-file events in stream order (sync or async)
 * @returns the profile
 */
export async function captureProfile(events: Iterable<SaveFileEvent> | AsyncIterable<SaveFileEvent>): Promise<CaptureProfile> {
  const profiler = new CaptureProfiler();
  for await (const event of events) profiler.add(event);
  return profiler.result();
}

/**
 * The bytes of a captured `xl migrate` stream without xl's trailing
 * permission-to-go message (unchanged when it does not end with it).
 *
 * @param bytes - a save file or a capture of a migration
 * @returns a view of the stream part
 */
export function withoutMigrateTrailer(bytes: Uint8Array): Uint8Array {
  const n = MIGRATE_PERMISSION_TO_GO.length;
  if (bytes.length < n) return bytes;
  const tail = bytes.subarray(bytes.length - n);
  return classifyTrailer(tail, n).kind === "permission-to-go" ? bytes.subarray(0, bytes.length - n) : bytes;
}
