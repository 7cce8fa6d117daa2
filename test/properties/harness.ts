// Shared drivers for the property tests: every codec gets the same five
// properties (round trip both ways, chunking invariance, truncation,
// mutation), so they are written once here.
import fc from "fast-check";
import { expect } from "vitest";
import { XenStreamError, isXenStreamError } from "../../src/index.js";

import { decodeSplit, type PushDecoderLike } from "../helpers/decode.js";

export { decodeSplit };

/** Sorted distinct cut points inside [0, length]. */
export function cutsArbitrary(maxCuts = 12): fc.Arbitrary<(length: number) => number[]> {
  return fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: maxCuts }).map(
    (fractions) => (length: number) => [...new Set(fractions.map((f) => Math.floor(f * length)))].sort((a, b) => a - b),
  );
}

/** Copies `bytes` into a larger buffer at an odd offset: catches byteOffset bugs. */
export function noisy(bytes: Uint8Array): Uint8Array {
  const buffer = new Uint8Array(bytes.length + 13);
  buffer.fill(0xa5);
  buffer.set(bytes, 7);
  return buffer.subarray(7, 7 + bytes.length);
}

/**
 * Asserts that every strict prefix of `bytes` (every one, or a sample of
 * `sample` of them when given) fails with TRUNCATED at the prefix length,
 * except the lengths listed in `validEnds` (checkpoint boundaries).
 */
export function assertTruncation<E>(
  make: () => PushDecoderLike<E>,
  bytes: Uint8Array,
  options: { validEnds?: Set<number>; offsets?: number[] } = {},
): void {
  const offsets = options.offsets ?? Array.from({ length: bytes.length }, (_, i) => i);
  for (const length of offsets) {
    if (options.validEnds?.has(length)) continue;
    const decoder = make();
    let error: unknown;
    try {
      decoder.push(bytes.subarray(0, length));
      decoder.end();
    } catch (caught) {
      error = caught;
    }
    if (!isXenStreamError(error) || error.code !== "TRUNCATED" || error.offset !== length) {
      throw new Error(`prefix of ${length}/${bytes.length} bytes: expected TRUNCATED at ${length}, got ${String(error)}`);
    }
  }
}

/** A mutation: flips, sets, inserts or deletes bytes. */
export type Mutation =
  | { kind: "set"; at: number; value: number }
  | { kind: "xor"; at: number; mask: number }
  | { kind: "insert"; at: number; bytes: number[] }
  | { kind: "delete"; at: number; count: number }
  | { kind: "word"; at: number; value: number };

export const mutationArbitrary: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant("set" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.nat({ max: 255 }) }),
    fc.record({ kind: fc.constant("xor" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant("insert" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 9 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), count: fc.integer({ min: 1, max: 9 }) }),
    fc.record({ kind: fc.constant("word" as const), at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.constantFrom(0, 1, 7, 8, 9, 0x7fffffff, 0x80000000, 0xfffffff8, 0xffffffff) }),
  ).map((m) => m as unknown as Mutation),
  { minLength: 1, maxLength: 4 },
);

/** Applies mutations (positions are fractions of the current length, word writes 8-aligned). */
export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = Array.from(bytes);
  for (const m of mutations) {
    const at = Math.min(out.length, Math.floor((m.at as unknown as number) * out.length));
    switch (m.kind) {
      case "set":
        if (at < out.length) out[at] = m.value;
        break;
      case "xor":
        if (at < out.length) out[at] = (out[at] as number) ^ m.mask;
        break;
      case "insert":
        out.splice(at, 0, ...m.bytes);
        break;
      case "delete":
        out.splice(at, m.count);
        break;
      case "word": {
        const aligned = at - (at % 4);
        for (let i = 0; i < 4 && aligned + i < out.length; i++) out[aligned + i] = (m.value >>> (8 * i)) & 0xff;
        break;
      }
    }
  }
  return Uint8Array.from(out);
}

/** Runs `decode`; anything thrown must be a XenStreamError with a sane offset. */
export function expectValueOrXenStreamError(decode: () => unknown, inputLength: number): void {
  try {
    decode();
  } catch (error) {
    if (!(error instanceof XenStreamError)) throw error;
    expect(Number.isInteger(error.offset)).toBe(true);
    expect(error.offset).toBeGreaterThanOrEqual(0);
    expect(error.offset).toBeLessThanOrEqual(inputLength);
  }
}

/** Fast-check run parameters: seed from FC_SEED to replay. */
export function runs(numRuns: number): fc.Parameters<unknown> {
  const seed = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
  return seed === undefined ? { numRuns } : { numRuns, seed };
}

/**
 * Replaces every Uint8Array by a base64 string (native speed), so deep
 * comparisons of values holding pages stay fast; everything else is kept.
 */
export function canon(value: unknown): unknown {
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64")}`;
  if (Array.isArray(value)) return value.map(canon);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = canon(item);
    return out;
  }
  return value;
}

/** Byte equality at native speed, with a useful message on failure. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const same = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(
    Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
  );
  if (!same) {
    let at = 0;
    while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
    throw new Error(`bytes differ at ${at} (lengths ${actual.length} vs ${expected.length})`);
  }
}
