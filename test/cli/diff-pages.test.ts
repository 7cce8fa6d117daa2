import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { comparePositioned, digestPositions } from "../../src/cli/diff-pages.js";
import { DigestCollector } from "../../src/inspect/digest.js";
import { diffDigests } from "../../src/inspect/diff.js";
import { encodeLibxcStream } from "../../src/libxc/stream.js";
import type { LibxcRecord } from "../../src/libxc/types.js";
import { SaveFileDecoder } from "../../src/savefile.js";
import type { SaveFileEvent } from "../../src/savefile.js";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";
import { runCli } from "../helpers/cli.js";
import { PAGE } from "../memory/guest-builder.js";
import { cat } from "../helpers/hex.js";

const dir = mkdtempSync(join(tmpdir(), "diff-pages-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function flip(bytes: Uint8Array, at: number, mask: number): void {
  bytes[at] = (bytes[at] as number) ^ mask;
}

/** The hashing digest of a whole stream (the path for standard input). */
function hashed(bytes: Uint8Array) {
  const collector = new DigestCollector();
  const decoder = new SaveFileDecoder();
  decoder.pushEach(bytes, (event) => collector.add(event));
  decoder.end();
  return collector.finish();
}

/** The positioned digests of two files, their pages compared (every group size accepted). */
async function positioned(a: Uint8Array, b: Uint8Array, minAverageGroup = 1) {
  const fileA = join(dir, "a.save");
  const fileB = join(dir, "b.save");
  writeFileSync(fileA, a);
  writeFileSync(fileB, b);
  const fdA = openSync(fileA, "r");
  const fdB = openSync(fileB, "r");
  try {
    const left = digestPositions(fdA);
    const right = digestPositions(fdB);
    if (left === undefined || right === undefined) throw new Error("a legacy stream inside: no positions");
    const compared = await comparePositioned(fdA, fdB, left, right, undefined, minAverageGroup);
    return { compared, a: left.digest, b: right.digest };
  } finally {
    closeSync(fdA);
    closeSync(fdB);
  }
}

/** One PAGE_DATA record: pfns with contents from a small set of seeds (so that pages repeat), type 0xf (XTAB: no data) for seed 0. */
type Batch = { pfn: number; seed: number }[];

function page(seed: number): Uint8Array {
  const bytes = new Uint8Array(PAGE);
  for (let i = 0; i < PAGE; i++) bytes[i] = (seed * 131 + i * 7 + (i >> 9)) & 0xff;
  return bytes;
}

function stream(batches: Batch[]): Uint8Array {
  const records: LibxcRecord[] = batches.map((batch) => {
    const withData = batch.filter((entry) => entry.seed !== 0);
    const pages = new Uint8Array(withData.length * PAGE);
    withData.forEach((entry, k) => pages.set(page(entry.seed), k * PAGE));
    return { type: "PAGE_DATA", entries: batch.map((entry) => ({ pfn: entry.pfn, type: entry.seed === 0 ? 0xf : 0 })), pages };
  });
  return encodeLibxcStream({
    imageHeader: { version: 3, options: 0 },
    domainHeader: { type: 2, pageShift: 12, xenMajor: 4, xenMinor: 17 },
    records: [...records, { type: "END" }],
  });
}

const batches = fc.array(fc.array(fc.record({ pfn: fc.integer({ min: 0, max: 40 }), seed: fc.integer({ min: 0, max: 3 }) }), { minLength: 1, maxLength: 12 }), {
  minLength: 0,
  maxLength: 6,
});

describe("diff of two files, pages compared from the files", () => {
  it("finds what the page hashes find: last copies, re-sent pages, pages without data, pfns on one side", async () => {
    await fc.assert(
      fc.asyncProperty(batches, batches, async (left, right) => {
        const a = stream(left);
        const b = stream(right);
        const result = await positioned(a, b);
        expect(result.compared).toBe(true);
        expect(diffDigests(result.a, result.b)).toEqual(diffDigests(hashed(a), hashed(b)));
      }),
      { numRuns: 60 },
    );
  });

  it("reads the pages of an xl save file at their file offsets (after the xl header and config)", async () => {
    const a = cat(...generatePvStream({ size: 600_000, format: "xl", batchPages: 32 }));
    const b = a.slice();
    // Change the 5th page near its start, the 40th at both ends (misplaced reads would blame a neighbour).
    const pageOffsets: number[] = [];
    const decoder = new SaveFileDecoder();
    decoder.pushEach(a, (event: SaveFileEvent) => {
      if (event.kind === "record" && event.record.type === "PAGE_DATA") {
        for (let at = 0; at < event.record.pages.length; at += PAGE) pageOffsets.push(event.record.pages.byteOffset - a.byteOffset + at);
      }
    });
    decoder.end();
    flip(b, (pageOffsets[4] as number) + 3, 1);
    flip(b, (pageOffsets[39] as number) + PAGE - 1, 0x80);
    flip(b, pageOffsets[39] as number, 0x40);
    const result = await positioned(a, b, 1);
    const diff = diffDigests(result.a, result.b);
    expect(diff).toEqual(diffDigests(hashed(a), hashed(b)));
    expect(diff.memory).toMatchObject({ same: pageOffsets.length - 2, differ: [{ pfn: 4, count: 1 }, { pfn: 39, count: 1 }], differPages: 2 });
  });

  it("leaves scattered last copies to the hashes (false, indexes untouched)", async () => {
    // Every other pfn re-sent later: groups of one page.
    const first: Batch = Array.from({ length: 20 }, (_, pfn) => ({ pfn, seed: 1 }));
    const again: Batch = Array.from({ length: 10 }, (_, k) => ({ pfn: 2 * k, seed: 2 }));
    const a = stream([first, again]);
    const result = await positioned(a, a, 2);
    expect(result.compared).toBe(false);
    expect(result.a.pages.get(0)).toBeGreaterThan(0);
    expect(result.a.pages.get(1)).toBeGreaterThan(0);
  });

  it("the CLI prints the same diff for two files as for one of them on standard input (hashed)", async () => {
    const a = cat(...generatePvStream({ size: 1_500_000, format: "xl", seed: 1 }));
    const b = a.slice();
    flip(b, b.length - 200_000, 1);
    const fileA = join(dir, "cli-a.xl");
    const fileB = join(dir, "cli-b.xl");
    writeFileSync(fileA, a);
    writeFileSync(fileB, b);
    const files = await runCli(["diff", fileA, fileB]);
    const piped = await runCli(["diff", "-", fileB], a);
    expect(files.code).toBe(piped.code);
    expect(files.stdout.split("\n").slice(2)).toEqual(piped.stdout.split("\n").slice(2));
    expect(files.stdout).toMatch(/memory: \d+ pages equal, 1 differ, 0 only in A, 0 only in B\n/);
    const json = await runCli(["diff", "--json", fileA, fileA]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).identical).toBe(true);
  });
});
