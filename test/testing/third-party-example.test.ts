// The worked example of guides/fuzz-a-parser.md, run as a test: a small third-party
// parser of libxc streams fuzzed with the kit's arbitraries and mutators.
// The code blocks of guides/fuzz-a-parser.md's "Worked example" section are copied from
// this file (the last test checks that they still are).
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { BYTE_MUTATION_KINDS, STRUCTURAL_MUTATION_KINDS, libxcStream, mutation } from "../../src/testing/index.js";

// --- The parser under test -------------------------------------------------

/** One record as the toy parser sees it. */
interface ToyRecord {
  type: number;
  length: number;
}

// A third-party parser, written the quick way: it lists the records of a
// libxc stream, trusting every offset and length it reads.
function listRecordsQuick(bytes: Uint8Array): ToyRecord[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(8) !== 0x5845_4e46) throw new Error("not a libxc stream");
  const little = (view.getUint16(16) & 1) === 0;
  const records: ToyRecord[] = [];
  for (let at = 40; ; ) {
    const type = view.getUint32(at, little);
    const length = view.getUint32(at + 4, little);
    records.push({ type, length });
    if (type === 0) return records;
    at += 8 + length + ((8 - (length % 8)) % 8);
  }
}

// The same parser after fuzzing: every read is checked, and every way the
// framing can break is reported as a ParseError.
class ParseError extends Error {}

function listRecords(bytes: Uint8Array): ToyRecord[] {
  if (bytes.length < 40) throw new ParseError("truncated in the headers");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < 8; i++) if (bytes[i] !== 0xff) throw new ParseError("bad marker");
  if (view.getUint32(8) !== 0x5845_4e46) throw new ParseError("bad id");
  const version = view.getUint32(12);
  if (version !== 2 && version !== 3) throw new ParseError(`unknown version ${version}`);
  const little = (view.getUint16(16) & 1) === 0;
  const records: ToyRecord[] = [];
  for (let at = 40; ; ) {
    if (bytes.length - at < 8) throw new ParseError("truncated before END");
    const type = view.getUint32(at, little);
    const length = view.getUint32(at + 4, little);
    if (length > 128 * 1024 * 1024) throw new ParseError("record too large");
    const next = at + 8 + length + ((8 - (length % 8)) % 8);
    if (next > bytes.length) throw new ParseError("truncated record");
    records.push({ type, length });
    at = next;
    if (type === 0) {
      if (at !== bytes.length) throw new ParseError("bytes after END");
      return records;
    }
  }
}

// --- Fuzzing it -------------------------------------------------------------

describe("fuzzing a third-party parser", () => {
  test("the quick parser throws a RangeError on a truncated or overlong stream", () => {
    const result = fc.check(
      fc.property(mutation(libxcStream(), { kinds: STRUCTURAL_MUTATION_KINDS }), ({ bytes }) => {
        try {
          listRecordsQuick(bytes);
        } catch (error) {
          // Refusing bad input is fine; crashing on it is not.
          if (error instanceof RangeError) throw error;
        }
      }),
      { seed: 1 },
    );
    expect(result.failed).toBe(true);
    const [{ mutation: found }] = result.counterexample as [{ mutation: { kind: string } }];
    expect(found.kind).toMatch(/^(truncate-at-record|truncate-in-record|length-past-end|length-too-large|missing)$/);
    expect(result.errorInstance).toBeInstanceOf(RangeError);
  });

  test("the fixed parser throws nothing but ParseError", () => {
    fc.assert(
      fc.property(mutation(libxcStream({ byteOrder: "any", lenient: true })), ({ bytes }) => {
        try {
          listRecords(bytes);
        } catch (error) {
          if (!(error instanceof ParseError)) throw error;
        }
      }),
      { seed: 2, numRuns: 500 },
    );
  });

  test("the fixed parser refuses every framing fault xen-migration-stream refuses", () => {
    const framing = ["TRUNCATED", "TRAILING_DATA", "BAD_MAGIC", "BAD_VERSION", "RECORD_TOO_LARGE"];
    fc.assert(
      fc.property(mutation(libxcStream({ byteOrder: "any" }), { kinds: STRUCTURAL_MUTATION_KINDS }), ({ bytes, mutation: label }) => {
        const expected = label.expected?.decoder ?? "ok";
        if (!framing.includes(expected)) return;
        expect(() => listRecords(bytes), `${label.kind}: ${label.description}`).toThrow(ParseError);
      }),
      { seed: 3, numRuns: 500 },
    );
  });

  test("on valid streams it lists the records xen-migration-stream decodes", () => {
    fc.assert(
      fc.property(libxcStream({ byteOrder: "any", lenient: true }), ({ value, bytes }) => {
        expect(listRecords(bytes).length).toBe(value.records.length);
      }),
      { seed: 4, numRuns: 100 },
    );
  });

  test("byte-level mutations: ParseError or a record list, never anything else", () => {
    fc.assert(
      fc.property(mutation(libxcStream(), { kinds: BYTE_MUTATION_KINDS }), ({ bytes }) => {
        try {
          expect(Array.isArray(listRecords(bytes))).toBe(true);
        } catch (error) {
          if (!(error instanceof ParseError)) throw error;
        }
      }),
      { seed: 5, numRuns: 300 },
    );
  });
});

test("guides/fuzz-a-parser.md shows this file's code", () => {
  const doc = readFileSync(new URL("../../guides/fuzz-a-parser.md", import.meta.url), "utf8");
  const section = doc.slice(doc.indexOf("## Worked example"), doc.indexOf("\n## ", doc.indexOf("## Worked example") + 1));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] as string).filter((block) => !block.startsWith("import"));
  expect(blocks.length).toBeGreaterThanOrEqual(3);
  const source = readFileSync(new URL(import.meta.url), "utf8");
  for (const block of blocks) {
    for (const line of block.split("\n")) expect(source, `guides/fuzz-a-parser.md line not in the example test: ${line}`).toContain(line);
  }
});
