/**
 * A sparse map pfn -> position of the page's contents, sized by the pages
 * seen, never by the largest pfn.
 *
 * @module
 * @internal
 */

/** Pfns per directory slot: 512 positions of 8 bytes = one 4 KiB array. */
const SLOT_BITS = 9;
const SLOT_SIZE = 1 << SLOT_BITS;
const SLOT_MASK = SLOT_SIZE - 1;

/** A run of consecutive populated pfns. */
export interface PfnRun {
  /** First pfn of the run. */
  pfn: number;
  /** Number of pages in the run (>= 1). */
  count: number;
}

/**
 * pfn -> position (a non-negative safe integer, e.g. a byte offset in the
 * stream). Memory: one 4 KiB slot per 512-pfn window that holds a page, so
 * at most 4 KiB per page indexed (the page itself cost at least 4 KiB of
 * input) and 8 bytes per page for densely populated memory.
 *
 * Positions are stored plus one, so that the zero-filled slot means
 * "absent" without a second array.
 *
 * @internal
 */
export class PageIndex {
  private readonly slots = new Map<number, Float64Array>();
  private pages = 0;
  /** The slot keys in ascending order, computed when first needed. */
  private sortedKeys: number[] | undefined;
  /** The slot used last and its key: pfns come in runs, so most calls need no map lookup. */
  private lastKey = -1;
  private lastSlot: Float64Array | undefined;

  /** The slot of `key`, or undefined (remembered as the last one when found). */
  private slotOf(key: number): Float64Array | undefined {
    if (key === this.lastKey) return this.lastSlot;
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      this.lastKey = key;
      this.lastSlot = slot;
    }
    return slot;
  }

  /** Number of distinct pfns indexed. */
  get size(): number {
    return this.pages;
  }

  /** Bytes held by the slots (for memory bounds). */
  get bytesHeld(): number {
    return this.slots.size * SLOT_SIZE * 8;
  }

  /** Sets (or replaces: the last copy wins) the position of `pfn`. */
  set(pfn: number, position: number): void {
    const key = Math.floor(pfn / SLOT_SIZE);
    let slot = this.slotOf(key);
    if (slot === undefined) {
      slot = new Float64Array(SLOT_SIZE);
      this.slots.set(key, slot);
      this.sortedKeys = undefined;
      this.lastKey = key;
      this.lastSlot = slot;
    }
    const at = pfn - key * SLOT_SIZE;
    if (slot[at] === 0) this.pages++;
    slot[at] = position + 1;
  }

  /** The position of `pfn`, or undefined when it was never set. */
  get(pfn: number): number | undefined {
    const slot = this.slotOf(Math.floor(pfn / SLOT_SIZE));
    if (slot === undefined) return undefined;
    const stored = slot[pfn & SLOT_MASK] as number;
    // `pfn & SLOT_MASK` is exact: SLOT_MASK is below 2^31 and the low bits
    // of a pfn below 2^53 survive ToInt32.
    return stored === 0 ? undefined : stored - 1;
  }

  /** Every indexed pfn with its position, in ascending pfn order. */
  *entries(): Generator<[pfn: number, position: number]> {
    for (const key of this.keys()) {
      const slot = this.slots.get(key) as Float64Array;
      const base = key * SLOT_SIZE;
      for (let i = 0; i < SLOT_SIZE; i++) {
        const stored = slot[i] as number;
        if (stored !== 0) yield [base + i, stored - 1];
      }
    }
  }

  /** The populated pfns as maximal runs, in ascending order. */
  *runs(): Generator<PfnRun> {
    // A scan of the slots themselves (no pair per page: info, stats and
    // image maps walk every page of multi-GiB guests through here).
    let start = -1;
    let next = -1;
    for (const key of this.keys()) {
      const slot = this.slots.get(key) as Float64Array;
      const base = key * SLOT_SIZE;
      for (let i = 0; i < SLOT_SIZE; i++) {
        if (slot[i] === 0) continue;
        const pfn = base + i;
        if (pfn === next) {
          next++;
          continue;
        }
        if (start >= 0) yield { pfn: start, count: next - start };
        start = pfn;
        next = pfn + 1;
      }
    }
    if (start >= 0) yield { pfn: start, count: next - start };
  }

  /** Lowest and highest pfn indexed, or undefined when empty. */
  bounds(): { lowest: number; highest: number } | undefined {
    if (this.pages === 0) return undefined;
    let lowest = -1;
    let highest = -1;
    const keys = this.keys();
    const first = this.slots.get(keys[0] as number) as Float64Array;
    for (let i = 0; i < SLOT_SIZE && lowest < 0; i++) if (first[i] !== 0) lowest = (keys[0] as number) * SLOT_SIZE + i;
    const lastKey = keys[keys.length - 1] as number;
    const last = this.slots.get(lastKey) as Float64Array;
    for (let i = SLOT_SIZE - 1; i >= 0 && highest < 0; i--) if (last[i] !== 0) highest = lastKey * SLOT_SIZE + i;
    return { lowest, highest };
  }

  private keys(): number[] {
    this.sortedKeys ??= [...this.slots.keys()].sort((a, b) => a - b);
    return this.sortedKeys;
  }
}
