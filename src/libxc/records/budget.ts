/**
 * The decoded-size budget of the whole-stream functions (issue #19): a
 * record's objects can outweigh its bytes many times (an
 * EMULATOR_XENSTORE_DATA record of 4-byte `a\0b\0` pairs: 67x), so a
 * decoder that keeps every record charges an estimate of each record's
 * heap before building it and refuses, naming `maxDecodedBytes`, a record
 * that would take the total over the limit. The default limit grows with
 * the input: 8 bytes of objects per byte read, plus 4 MiB.
 *
 * The estimates are V8's sizes (64-bit, no pointer compression: Node's
 * default) of the objects each codec builds, rounded up, measured with
 * `process.memoryUsage().heapUsed` over a million entries of each kind.
 *
 * @module
 * @internal
 */
import { XenStreamError, type Layer } from "../../errors.js";
import type { Reader } from "../../wire/reader.js";

/** Objects per byte read the default limit allows. @internal */
export const DECODED_BYTES_PER_BYTE = 8;
/** What the default limit allows on top (small streams, headers). @internal */
export const DECODED_BYTES_SLACK = 4 * 1024 * 1024;

/** Estimated heap bytes of one decoded object, by kind. @internal */
export const DECODED_COST = {
  /** A record and its event (event object, record object, array slots, a body view). */
  record: 256,
  /** An EMULATOR_XENSTORE_DATA pair: a 2-element array and two Uint8Array views. */
  xenstorePair: 272,
  /** A PAGE_DATA pfn entry `{ pfn, type, reserved }` with a boxed pfn, and its slot. */
  pfnEntry: 72,
  /** An HVM_PARAMS entry `{ index, value }` (two bigints) and its slot. */
  hvmParam: 88,
  /** A CPUID leaf (six numbers) and its slot. */
  cpuidLeaf: 80,
  /** An MSR entry (two numbers, a bigint) and its slot. */
  msrEntry: 72,
  /** A bigint (a P2M frame, a dirty pfn) and its slot. */
  bigint: 32,
} as const;

/** The budget of one decode, shared by its nested parsers. @internal */
export interface DecodedBudget {
  /** Estimated bytes charged so far. */
  spent: number;
  /** The caller's `maxDecodedBytes`, or undefined for the default. */
  readonly limit: number | undefined;
  /**
   * The default's input size: the whole input when known (a whole-buffer
   * decode), else undefined: the bytes read so far (a stream decoded as
   * it arrives).
   */
  readonly inputLength: number | undefined;
}

function limitAt(budget: DecodedBudget, endOffset: number): number {
  return budget.limit ?? DECODED_BYTES_PER_BYTE * (budget.inputLength ?? endOffset) + DECODED_BYTES_SLACK;
}

function refusal(budget: DecodedBudget, spent: number, limit: number, what: string): string {
  const input = budget.inputLength === undefined ? "byte read" : "input byte";
  const allowance = budget.limit === undefined ? `the default: ${DECODED_BYTES_PER_BYTE} per ${input} + 4 MiB` : "as given";
  return (
    `${what} would take the decoded objects to about ${spent} bytes, over maxDecodedBytes ${limit} (${allowance}); ` +
    "pass a larger maxDecodedBytes (Infinity: no limit) to decode it, or check it with verifyStream, which builds no object per entry"
  );
}

/**
 * Charges `count` entries of `cost` bytes for the record body `reader`
 * spans, before they are built; fails with RECORD_TOO_LARGE at the record
 * header when the total would exceed the limit.
 * @internal
 */
export function chargeEntries(reader: Reader, budget: DecodedBudget | undefined, count: number, cost: number, what: string): void {
  if (budget === undefined || count === 0) return;
  const spent = budget.spent + count * cost;
  const limit = limitAt(budget, reader.base + reader.bytes.length);
  if (spent > limit) reader.fail("RECORD_TOO_LARGE", -8, refusal(budget, spent, limit, `its ${count} ${what}`));
  budget.spent = spent;
}

/**
 * Charges one record (its object and event) whose frame ends at
 * `endOffset`; fails like {@link chargeEntries}.
 * @internal
 */
export function chargeRecord(budget: DecodedBudget | undefined, offset: number, endOffset: number, layer: Layer, recordIndex: number): void {
  if (budget === undefined) return;
  const spent = budget.spent + DECODED_COST.record;
  const limit = limitAt(budget, endOffset);
  if (spent > limit) {
    throw new XenStreamError("RECORD_TOO_LARGE", offset, `${layer} record ${recordIndex}: ${refusal(budget, spent, limit, "this record")}`, {
      recordIndex,
      layer,
    });
  }
  budget.spent = spent;
}
