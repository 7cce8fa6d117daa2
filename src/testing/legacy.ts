/**
 * Arbitraries of valid legacy (Xen <= 4.5) streams: the seeded legacy
 * generator (legacy-generator.ts) driven by fast-check. The shape that
 * matters for a small counterexample (pages, vCPUs, batch size, optional
 * parts) is drawn by fast-check, so it shrinks; the rest comes from the
 * seed.
 *
 * @module
 */
import fc from "fast-check";
import type { LegacyOptions } from "../legacy/types.js";
import { generateLegacyStream, type LegacyGeneratorOptions, type LegacyStreamSummary } from "./legacy-generator.js";
import { checkInteger, invalid, type Encoded } from "./records.js";

/** Constraints of {@link legacyStream}. */
export interface LegacyStreamConstraints {
  /** Toolstack width; default either. */
  width?: 32 | 64;
  /** Guest type; default either. */
  guest?: "pv" | "hvm";
  /** Put an xl header (Xen 4.5 style) in front; default false. */
  xl?: boolean;
  /** Most pages of data; default 16. */
  maxPages?: number;
  /** Most vCPUs; default 2. */
  maxVcpus?: number;
}

/** A generated legacy stream: how it was made, what it holds, how to convert it. */
export interface LegacyStreamValue {
  /** The generator options (seed included): `generateLegacyStream(options)` gives the same bytes. */
  options: LegacyGeneratorOptions;
  /** What the stream contains. */
  summary: LegacyStreamSummary;
  /** The converter options that read it (width, guest, xl header). */
  convert: LegacyOptions;
}

/**
 * A valid legacy stream, one that Xen's convert-legacy-stream converts and
 * whose output Xen restores, with its bytes.
 *
 * @param constraints - width, guest, xl header, size
 * @returns an arbitrary of `{ value, bytes }`
 * @throws RangeError at once for a bad constraint
 */
export function legacyStream(constraints: LegacyStreamConstraints = {}): fc.Arbitrary<Encoded<LegacyStreamValue>> {
  const name = "legacyStream";
  checkInteger(name, "maxPages", constraints.maxPages, 1, 4096);
  checkInteger(name, "maxVcpus", constraints.maxVcpus, 1, 64);
  if (constraints.width !== undefined && constraints.width !== 32 && constraints.width !== 64) {
    invalid(name, `width must be 32 or 64, got ${String(constraints.width)}`);
  }
  if (constraints.guest !== undefined && constraints.guest !== "pv" && constraints.guest !== "hvm") {
    invalid(name, `guest must be "pv" or "hvm", got ${JSON.stringify(constraints.guest)}`);
  }
  return fc
    .record({
      seed: fc.nat(),
      width: constraints.width === undefined ? fc.constantFrom<32 | 64>(64, 32) : fc.constant(constraints.width),
      guest: constraints.guest === undefined ? fc.constantFrom<"pv" | "hvm">("pv", "hvm") : fc.constant(constraints.guest),
      guestWidth: fc.constantFrom<4 | 8>(8, 4),
      pages: fc.integer({ min: 1, max: constraints.maxPages ?? 16 }),
      maxBatch: fc.integer({ min: 1, max: 64 }),
      vcpus: fc.integer({ min: 1, max: constraints.maxVcpus ?? 2 }),
      mixedTypes: fc.boolean(),
      tsc: fc.boolean(),
      verifyMode: fc.boolean(),
      toolstack: fc.boolean(),
      qemuLength: fc.integer({ min: 4, max: 256 }),
    })
    .map((drawn) => {
      const options: LegacyGeneratorOptions = { ...drawn, xl: constraints.xl ?? false };
      const { bytes, summary } = generateLegacyStream(options);
      const convert: LegacyOptions = { width: summary.width, guest: summary.guest, xl: options.xl ?? false };
      return { value: { options, summary, convert }, bytes };
    });
}
