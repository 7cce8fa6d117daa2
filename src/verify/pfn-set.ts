/**
 * The verifier's set of pfns seen (for `distinctPfns`), sized by the pages
 * seen, never by the largest pfn alone (issue #19 item 3).
 *
 * Modelled on the sparse PageIndex (src/memory/page-index.ts), but a set
 * of bits: windows of 512 pfns (16 words) are allocated as pfns arrive,
 * from one pooled word array, found through a Map from window number to
 * pool slot. Once the windows would cost more than a dense bitmap up to
 * the highest pfn seen, the set turns into that dense bitmap. Memory is
 * therefore at most about min(96 bytes per distinct window, highest pfn / 8)
 * (times two for growth), and at most `maxTrackedPfn / 8` however hostile
 * the input.
 *
 * @module
 * @internal
 */

const WINDOW_BITS = 9;
const WINDOW_WORDS = (1 << WINDOW_BITS) / 32;
/** Bytes a window costs in sparse form: its 64 bytes plus the Map entry (a conservative estimate). */
const WINDOW_COST = 96;
/** Windows kept sparse at most, whatever the dense size (stays far below the Map size limit). */
const MAX_WINDOWS = 1 << 21;

/** @internal */
export class PfnSet {
  /** Number of distinct pfns added. */
  size = 0;
  private readonly windows = new Map<number, number>();
  private pool = new Uint32Array(0);
  private dense: Uint32Array | undefined = undefined;
  private highest = -1;
  /** The window last looked up and its pool slot (consecutive pfns share windows). */
  private lastWindow = -1;
  private lastSlot = 0;
  private readonly maxPfn: number;

  /** @param maxPfn - the largest pfn that will be added (the caller refuses larger ones) */
  constructor(maxPfn: number) {
    this.maxPfn = maxPfn;
  }

  /** Bytes held by the set's storage (for memory bounds and tests). */
  get bytesHeld(): number {
    return this.dense !== undefined ? this.dense.byteLength : this.pool.byteLength + this.windows.size * (WINDOW_COST - WINDOW_WORDS * 4);
  }

  /** Adds `pfn` (0..maxPfn); counts it when it is new. */
  add(pfn: number): void {
    if (pfn > this.highest) this.highest = pfn;
    const word = Math.floor(pfn / 32);
    const bit = 1 << (pfn & 31);
    let words: Uint32Array;
    let at: number;
    if (this.dense !== undefined) {
      if (word >= this.dense.length) this.growDense(word);
      words = this.dense;
      at = word;
    } else {
      const window = Math.floor(pfn / (1 << WINDOW_BITS));
      let slot = window === this.lastWindow ? this.lastSlot : this.windows.get(window);
      if (slot === undefined) {
        if (this.shouldGoDense()) {
          this.goDense();
          this.add(pfn);
          return;
        }
        slot = this.windows.size * WINDOW_WORDS;
        if (slot + WINDOW_WORDS > this.pool.length) {
          const grown = new Uint32Array(Math.max(WINDOW_WORDS * 16, this.pool.length * 2));
          grown.set(this.pool);
          this.pool = grown;
        }
        this.windows.set(window, slot);
      }
      this.lastWindow = window;
      this.lastSlot = slot;
      words = this.pool;
      at = slot + (word & (WINDOW_WORDS - 1));
    }
    const current = words[at] as number;
    if ((current & bit) === 0) {
      words[at] = current | bit;
      this.size += 1;
    }
  }

  /** True when one more window would cost more than a dense bitmap up to the highest pfn seen. */
  private shouldGoDense(): boolean {
    const windows = this.windows.size + 1;
    return windows >= MAX_WINDOWS || windows * WINDOW_COST > this.denseBytesFor(Math.floor(this.highest / 32));
  }

  private denseBytesFor(word: number): number {
    return (word + 1) * 4;
  }

  private goDense(): void {
    const dense = new Uint32Array(Math.floor(this.highest / 32) + 1);
    for (const [window, slot] of this.windows) {
      // The last window may reach past the highest pfn: copy only what the bitmap covers.
      const words = Math.min(WINDOW_WORDS, dense.length - window * WINDOW_WORDS);
      dense.set(this.pool.subarray(slot, slot + words), window * WINDOW_WORDS);
    }
    this.dense = dense;
    this.windows.clear();
    this.pool = new Uint32Array(0);
    this.lastWindow = -1;
  }

  private growDense(word: number): void {
    const dense = this.dense as Uint32Array;
    const limit = Math.floor(this.maxPfn / 32) + 1;
    let size = Math.max(1024, dense.length * 2);
    while (size <= word) size *= 2;
    const grown = new Uint32Array(Math.min(size, limit));
    grown.set(dense);
    this.dense = grown;
  }
}
