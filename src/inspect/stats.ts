/**
 * Stream statistics as a fold over the events: pages by type, pfn ranges
 * and holes, memory passes with the pages each sends and re-sends, XTAB
 * entries, the batch-size histogram and bytes by record type. Holds one
 * small entry per 512-pfn window that has a page, never the pages.
 *
 * @module
 */
import { PageType, pageTypeHasData } from "../libxc/constants.js";
import type { LibxcRecordEvent } from "../libxc/decoder.js";
import type { LibxlRecordEvent } from "../libxl/decoder.js";
import { PageIndex } from "../memory/page-index.js";
import { RECORD_HEADER_SIZE, paddedLength } from "../wire/frame.js";

/** Count and on-wire bytes (header, body, padding) of one record type. */
export interface RecordTypeStats {
  count: number;
  bytes: number;
}

/** One memory pass: a run of PAGE_DATA batches in ascending pfn order. */
export interface PassStats {
  /** 0-based pass number. */
  index: number;
  /** Offset of the pass's first PAGE_DATA record. */
  offset: number;
  /** PAGE_DATA records (batches). */
  batches: number;
  /** Pfn entries, all types. */
  entries: number;
  /** Pages sent with contents. */
  pages: number;
  /** Of those, pages an earlier pass had already sent (re-sent dirty pages). */
  resent: number;
  /** XTAB entries (pfns without memory behind them). */
  xtab: number;
  /** On-wire bytes of the pass's records. */
  bytes: number;
}

/** Statistics of a whole stream. */
export interface StreamStats {
  /** Bytes of all layers' records and headers seen (as accounted per record). */
  recordBytes: number;
  /** Records by layer and type name (`UNKNOWN` records by their hex type id). */
  records: { libxc: Record<string, RecordTypeStats>; libxl: Record<string, RecordTypeStats> };
  pages: {
    /** Pfn entries, all types. */
    entries: number;
    /** Entries that carried page contents. */
    withData: number;
    /** Entries by page-type name. */
    byType: Record<string, number>;
    /** Distinct pfns sent with contents. */
    distinct: number;
    /** Lowest and highest such pfn. */
    minPfn: number | undefined;
    maxPfn: number | undefined;
    /** Runs of consecutive populated pfns. */
    runs: number;
    /** Gaps between the runs: how many, how many pfns, and the largest. */
    holes: { count: number; pfns: number; largest: { pfn: number; count: number } | undefined };
  };
  /** Memory passes (live migrations send several; a save one). */
  passes: PassStats[];
  /** PAGE_DATA records by their pfn count. */
  batchSizes: Record<number, number>;
  /** libxc CHECKPOINT records. */
  checkpoints: number;
}

const PAGE_TYPE_NAME: Record<number, string> = /*@__PURE__*/ Object.fromEntries(Object.entries(PageType).map(([name, id]) => [id, name]));
const XTAB = PageType.XTAB;

function bump(table: Record<string, RecordTypeStats>, name: string, bytes: number): void {
  const entry = table[name];
  if (entry === undefined) table[name] = { count: 1, bytes };
  else {
    entry.count++;
    entry.bytes += bytes;
  }
}

/**
 * Folds stream events into {@link StreamStats}. A new memory pass starts
 * at the first PAGE_DATA after another record, and whenever a batch's
 * first pfn is not above the previous batch's last (the saver sends each
 * pass in ascending pfn order: Xen xg_sr_save.c send_dirty_pages()).
 */
export class StatsCollector {
  private readonly seen = new PageIndex();
  private readonly libxc: Record<string, RecordTypeStats> = {};
  private readonly libxl: Record<string, RecordTypeStats> = {};
  private readonly byType = new Array<number>(16).fill(0);
  private readonly batchSizes: Record<number, number> = {};
  private readonly passes: PassStats[] = [];
  private current: PassStats | undefined;
  private lastWasPageData = false;
  private previousLastPfn = -1;
  private recordBytes = 0;
  private entries = 0;
  private withData = 0;
  private checkpoints = 0;

  /**
   * Takes the next event of a stream (any layer).
   *
   * @param event - a decoder event, in stream order
   */
  add(event: { layer: string; kind: string }): void {
    if (event.kind !== "record") return;
    const { record, bodyLength } = event as LibxcRecordEvent | LibxlRecordEvent;
    const bytes = RECORD_HEADER_SIZE + paddedLength(bodyLength);
    this.recordBytes += bytes;
    const name = record.type === "UNKNOWN" ? `0x${record.typeId.toString(16).padStart(8, "0")}` : record.type;
    if (event.layer === "libxl") {
      bump(this.libxl, name, bytes);
      return;
    }
    bump(this.libxc, name, bytes);
    if (record.type === "CHECKPOINT") this.checkpoints++;
    if (record.type !== "PAGE_DATA") {
      this.lastWasPageData = false;
      return;
    }
    const { entries } = record;
    const first = entries[0];
    const last = entries[entries.length - 1];
    if (first === undefined || last === undefined) return;
    if (!this.lastWasPageData || first.pfn <= this.previousLastPfn || this.current === undefined) {
      this.current = { index: this.passes.length, offset: (event as LibxcRecordEvent).offset, batches: 0, entries: 0, pages: 0, resent: 0, xtab: 0, bytes: 0 };
      this.passes.push(this.current);
    }
    this.lastWasPageData = true;
    this.previousLastPfn = last.pfn;
    const pass = this.current;
    pass.batches++;
    pass.entries += entries.length;
    pass.bytes += bytes;
    this.batchSizes[entries.length] = (this.batchSizes[entries.length] ?? 0) + 1;
    this.entries += entries.length;
    for (let i = 0; i < entries.length; i++) {
      const { pfn, type } = entries[i] as { pfn: number; type: number };
      this.byType[type] = (this.byType[type] as number) + 1;
      if (type === XTAB) pass.xtab++;
      if (!pageTypeHasData(type)) continue;
      this.withData++;
      pass.pages++;
      // The index holds the pass that last sent each pfn, plus one.
      const sentIn = this.seen.get(pfn);
      if (sentIn !== undefined && sentIn !== pass.index) pass.resent++;
      this.seen.set(pfn, pass.index);
    }
  }

  /**
   * The statistics so far.
   *
   * @returns the statistics of the events added
   */
  finish(): StreamStats {
    const byType: Record<string, number> = {};
    this.byType.forEach((count, type) => {
      if (count > 0) byType[PAGE_TYPE_NAME[type] ?? String(type)] = count;
    });
    let runs = 0;
    let holeCount = 0;
    let holePfns = 0;
    let largest: { pfn: number; count: number } | undefined;
    let previousEnd: number | undefined;
    for (const run of this.seen.runs()) {
      runs++;
      if (previousEnd !== undefined) {
        const gap = run.pfn - previousEnd;
        holeCount++;
        holePfns += gap;
        if (largest === undefined || gap > largest.count) largest = { pfn: previousEnd, count: gap };
      }
      previousEnd = run.pfn + run.count;
    }
    const bounds = this.seen.bounds();
    return {
      recordBytes: this.recordBytes,
      records: { libxc: { ...this.libxc }, libxl: { ...this.libxl } },
      pages: {
        entries: this.entries,
        withData: this.withData,
        byType,
        distinct: this.seen.size,
        minPfn: bounds?.lowest,
        maxPfn: bounds?.highest,
        runs,
        holes: { count: holeCount, pfns: holePfns, largest },
      },
      passes: this.passes.map((pass) => ({ ...pass })),
      batchSizes: { ...this.batchSizes },
      checkpoints: this.checkpoints,
    };
  }
}
