/**
 * What a libxc record codec needs to know about its stream.
 *
 * @module
 * @internal
 */
import type { PfnEntry } from "../types.js";
import type { DecodedBudget } from "./budget.js";

/** @internal */
export interface LibxcCodecContext {
  /** Page size in bytes, 2^page_shift from the domain header. */
  pageSize: number;
  /** With `reuseEntries`: the PAGE_DATA entries array and objects to refill. */
  entryPool?: PfnEntryPool;
  /**
   * Shallow decode (the verifier): validate the arrays of entries but build
   * them only when read (see lazy.ts). Takes precedence over `entryPool`.
   */
  shallow?: boolean;
  /** The decoded-size budget entries are charged to before they are built. */
  budget?: DecodedBudget;
}

/** @internal */
export interface PfnEntryPool {
  /** The array every PAGE_DATA record gets, resized to its count. */
  entries: PfnEntry[];
  /** Every entry object made so far, reused in order. */
  objects: PfnEntry[];
}
