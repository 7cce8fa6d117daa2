/**
 * What differs between two streams, from their {@link StreamDigest}s:
 * headers, config, record sequence, state records field by field, and
 * memory as pfn ranges whose final contents differ (the last copy of each
 * pfn counts, whatever the record order of either stream).
 *
 * @module
 */
import type { PfnRun } from "../memory/page-index.js";
import type { StreamDigest } from "./digest.js";

/** One differing value, by its path (`headers.xl.mandatoryFlags`, `state.HVM_CONTEXT.data`). */
export interface FieldDifference {
  path: string;
  a: unknown;
  b: unknown;
}

/** A byte field that differs: how many bytes, from where. */
export interface BytesDifference {
  path: string;
  /** Lengths of the two fields. */
  lengthA: number;
  lengthB: number;
  /** Differing byte positions among the common length. */
  differing: number;
  /** First differing position. */
  first: number;
}

/** The memory part of a diff. */
export interface MemoryDifference {
  /** Pfns whose last copies are equal. */
  same: number;
  /** Runs of pfns in both streams whose last copies differ. */
  differ: PfnRun[];
  /** Runs of pfns only the first stream holds. */
  onlyInA: PfnRun[];
  /** Runs of pfns only the second stream holds. */
  onlyInB: PfnRun[];
  /** Page counts of the three kinds. */
  differPages: number;
  onlyInAPages: number;
  onlyInBPages: number;
}

/** The whole answer. */
export interface StreamDiff {
  /** True when nothing below differs. */
  identical: boolean;
  fields: FieldDifference[];
  bytes: BytesDifference[];
  /**
   * The config texts' line diff (longest common subsequence): lines only in
   * A (`-`) and only in B (`+`), with their 1-based line numbers.
   */
  config: { op: "-" | "+"; line: number; text: string }[];
  /** The record sequences, when they differ (PAGE_DATA runs squashed). */
  sequence: { a: string[]; b: string[] } | undefined;
  memory: MemoryDifference;
}

/** Options of {@link diffDigests}. */
export interface DiffOptions {
  /**
   * Turns a state record into the value compared (for example its decoded
   * insides, so that differences are named by Xen's fields).
   * @defaultValue the record as decoded
   */
  expandState?: (key: string, record: unknown) => unknown;
}

function compareValues(path: string, a: unknown, b: unknown, fields: FieldDifference[], bytes: BytesDifference[]): void {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    const common = Math.min(a.length, b.length);
    let differing = 0;
    let first = -1;
    for (let i = 0; i < common; i++) {
      if (a[i] !== b[i]) {
        differing++;
        if (first < 0) first = i;
      }
    }
    if (differing > 0 || a.length !== b.length) bytes.push({ path, lengthA: a.length, lengthB: b.length, differing, first: first < 0 ? common : first });
    return;
  }
  const objectA = typeof a === "object" && a !== null && !(a instanceof Uint8Array);
  const objectB = typeof b === "object" && b !== null && !(b instanceof Uint8Array);
  if (objectA && objectB && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      compareValues(Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`, (a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], fields, bytes);
    }
    return;
  }
  if (a !== b) fields.push({ path, a, b });
}

function squash(sequence: StreamDigest["sequence"]): string[] {
  return sequence.map((entry) => `${entry.layer} ${entry.type}${entry.count > 1 ? ` x${entry.count}` : ""}`);
}

/** Appends `pfn` to a run list, extending the last run when contiguous. */
function extend(runs: PfnRun[], pfn: number): void {
  const last = runs[runs.length - 1];
  if (last !== undefined && last.pfn + last.count === pfn) last.count++;
  else runs.push({ pfn, count: 1 });
}

function compareMemory(a: StreamDigest, b: StreamDigest): MemoryDifference {
  const out: MemoryDifference = { same: 0, differ: [], onlyInA: [], onlyInB: [], differPages: 0, onlyInAPages: 0, onlyInBPages: 0 };
  // Run by run, each list in ascending order: no pair per page.
  for (const run of a.pages.runs()) {
    for (let pfn = run.pfn; pfn < run.pfn + run.count; pfn++) {
      const right = b.pages.get(pfn);
      if (right === undefined) {
        extend(out.onlyInA, pfn);
        out.onlyInAPages++;
      } else if (right === a.pages.get(pfn)) out.same++;
      else {
        extend(out.differ, pfn);
        out.differPages++;
      }
    }
  }
  for (const run of b.pages.runs()) {
    for (let pfn = run.pfn; pfn < run.pfn + run.count; pfn++) {
      if (a.pages.get(pfn) === undefined) {
        extend(out.onlyInB, pfn);
        out.onlyInBPages++;
      }
    }
  }
  return out;
}

/** Most config lines diffed line by line (the table is lines x lines). */
const LINE_DIFF_MAX = 4000;

/**
 * A line diff by longest common subsequence (configs are small; above
 * 4000 lines on a side, every line of `a` is removed and every line of `b`
 * added).
 *
 * @param a - the old lines
 * @param b - the new lines
 * @returns the removed (`-`) and added (`+`) lines with their line numbers
 */
export function lineDiff(a: string[], b: string[]): StreamDiff["config"] {
  if (a.length > LINE_DIFF_MAX || b.length > LINE_DIFF_MAX) {
    return [...a.map((text, i) => ({ op: "-" as const, line: i + 1, text })), ...b.map((text, i) => ({ op: "+" as const, line: i + 1, text }))];
  }
  const width = b.length + 1;
  const table = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * width + j] = a[i] === b[j] ? (table[(i + 1) * width + j + 1] as number) + 1 : Math.max(table[(i + 1) * width + j] as number, table[i * width + j + 1] as number);
    }
  }
  const out: StreamDiff["config"] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j >= b.length || (i < a.length && (table[(i + 1) * width + j] as number) >= (table[i * width + j + 1] as number))) {
      out.push({ op: "-", line: i + 1, text: a[i] as string });
      i++;
    } else {
      out.push({ op: "+", line: j + 1, text: b[j] as string });
      j++;
    }
  }
  return out;
}

/**
 * Compares two digests.
 *
 * @param a - the first stream's digest
 * @param b - the second's
 * @param options - how state records are expanded before comparing
 * @returns every difference found
 */
export function diffDigests(a: StreamDigest, b: StreamDigest, options: DiffOptions = {}): StreamDiff {
  const fields: FieldDifference[] = [];
  const bytes: BytesDifference[] = [];
  compareValues("headers", a.headers, b.headers, fields, bytes);
  const expand = options.expandState ?? ((_key: string, record: unknown) => record);
  const keys = [...new Set([...a.state.keys(), ...b.state.keys()])];
  for (const key of keys) {
    const left = a.state.get(key);
    const right = b.state.get(key);
    compareValues(`state.${key}`, left === undefined ? undefined : expand(key, left), right === undefined ? undefined : expand(key, right), fields, bytes);
  }
  const config = a.config === b.config ? [] : lineDiff(a.config?.split("\n") ?? [], b.config?.split("\n") ?? []);
  const seqA = squash(a.sequence);
  const seqB = squash(b.sequence);
  const sequence = seqA.length === seqB.length && seqA.every((entry, i) => entry === seqB[i]) ? undefined : { a: seqA, b: seqB };
  const memory = compareMemory(a, b);
  const identical =
    fields.length === 0 && bytes.length === 0 && config.length === 0 && sequence === undefined && memory.differPages + memory.onlyInAPages + memory.onlyInBPages === 0;
  return { identical, fields, bytes, config, sequence, memory };
}
