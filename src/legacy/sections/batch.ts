/**
 * Page batches (legacy-stream.md §5.1, §12.3; reference: read_chunks(),
 * write_page_data()): a chunk id n > 0, n pfn entries of the toolstack's
 * word size, then the data of every entry whose type carries some. Each
 * batch becomes one PAGE_DATA record whose pages are the input bytes.
 *
 * @module
 * @internal
 */
import type { PfnEntry } from "../../libxc/types.js";
import { viewOf } from "../../wire/reader.js";
import { LEGACY_FIRST_DATALESS_TYPE, LEGACY_PAGE_SIZE, LEGACY_PFN_MASK, LEGACY_PFN_TYPE_SHIFT, LEGACY_XTAB_ENTRY } from "../constants.js";
import type { LegacyParser, Step } from "../parser.js";

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** Page batches. @internal */
export class PageBatches {
  private readonly p: LegacyParser;
  private count = 0;
  /** Input offset of the batch's chunk id (the PAGE_DATA's offset). */
  private offset = 0;
  private entries: PfnEntry[] = [];
  private dataPages = 0;
  /** With reuseEntries: every entry object made so far, refilled batch after batch. */
  private readonly objects: PfnEntry[] = [];
  private readonly seen = new BatchSet();

  constructor(parser: LegacyParser) {
    this.p = parser;
  }

  /** A batch of `count` entries starts (its chunk id was at `offset`). */
  start(count: number, offset: number): void {
    this.count = count;
    this.offset = offset;
    this.p.go(this.pfns);
  }

  /** The pfn list. */
  private readonly pfns: Step = {
    reading: "a page batch's pfn list",
    need: () => this.count * this.p.wordSize,
    run: (bytes, base) => {
      const p = this.p;
      const wordSize = p.wordSize;
      const view = viewOf(bytes);
      const seen = this.seen;
      seen.next();
      const objects = p.settings.reuseEntries ? this.objects : undefined;
      const entries: PfnEntry[] = objects === undefined ? [] : this.entries;
      entries.length = 0;
      let dataPages = 0;
      for (let i = 0, pos = 0; i < this.count; i++, pos += wordSize) {
        const low = view.getUint32(pos, true);
        if (wordSize === 8 && view.getUint32(pos + 4, true) !== 0) {
          // The reference silently drops bits 63-32; the restorer would take
          // them as part of the pfn and fail. Refuse.
          p.fail("BAD_FIELD", base + pos, `page batch entry ${i}: bits 63-32 are set (legacy pfn entries have 32 significant bits)`);
        }
        // The 4.5 saver's pfn-less XTAB entries are dropped.
        if (low === LEGACY_XTAB_ENTRY) continue;
        if (!seen.add(low)) p.fail("BAD_FIELD", base + pos, `page batch entry ${i}: duplicate pfn entry ${hex(low)} in batch`);
        const type = low >>> LEGACY_PFN_TYPE_SHIFT;
        if (type >= 0x5 && type <= 0x8) {
          // §12.7: the reference passes these through; v2 forbids them.
          p.fail("BAD_PAGE_TYPE", base + pos, `page batch entry ${i}: reserved page type ${hex(type)}`);
        }
        if (type < LEGACY_FIRST_DATALESS_TYPE) dataPages++;
        const pfn = low & LEGACY_PFN_MASK;
        const entry = objects?.[entries.length];
        if (entry === undefined) {
          const made = { pfn, type };
          objects?.push(made);
          entries.push(made);
        } else {
          entry.pfn = pfn;
          entry.type = type;
          entries.push(entry);
        }
      }
      this.entries = entries;
      this.dataPages = dataPages;
      p.go(this.pages);
    },
  };

  /** The page data. */
  private readonly pages: Step = {
    reading: "a page batch's page data",
    need: () => this.dataPages * LEGACY_PAGE_SIZE,
    run: (pages) => {
      const p = this.p;
      // B3: a batch of bare XTAB entries only becomes nothing (the
      // reference writes a PAGE_DATA with count 0, which v2 forbids).
      if (this.entries.length > 0) p.emitLibxc(this.offset, { type: "PAGE_DATA", entries: this.entries, pages });
      if (!p.settings.reuseEntries) this.entries = [];
      p.go(p.chunks.first());
    },
  };
}

/**
 * The set of entry values seen in the current batch (at most 1024): an
 * open-addressing table whose slots are stamped with a batch number, so
 * starting a new batch costs nothing and nothing is allocated per batch.
 */
class BatchSet {
  private static readonly SIZE = 4096; // 4 x MAX_BATCH: short probe runs
  private readonly values = new Uint32Array(BatchSet.SIZE);
  private readonly stamps = new Uint32Array(BatchSet.SIZE);
  private stamp = 0;

  /** Starts a new, empty set. */
  next(): void {
    this.stamp++;
    if (this.stamp === 0xffff_ffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  /** Adds `value`; false when it was already there. */
  add(value: number): boolean {
    const mask = BatchSet.SIZE - 1;
    let slot = Math.imul(value, 0x9e37_79b1) >>> 20;
    for (;;) {
      if (this.stamps[slot] !== this.stamp) {
        this.stamps[slot] = this.stamp;
        this.values[slot] = value;
        return true;
      }
      if (this.values[slot] === value) return false;
      slot = (slot + 1) & mask;
    }
  }
}
