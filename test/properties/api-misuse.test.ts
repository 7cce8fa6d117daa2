// Issue #19 item 5: every public function of the codec API checks its
// arguments at entry. A hostile argument (null, a number, an ArrayBuffer,
// a string, an object, a typed array, a symbol, a bigint) is a
// XenStreamError USAGE or BAD_VALUE naming the argument — never a
// TypeError, never TRUNCATED at offset NaN, never a byte count read from
// something that is not a Uint8Array.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  convertLegacy,
  decodeAnySaveFile,
  decodeDomainHeader,
  decodeImageHeader,
  decodeLibvirtHeader,
  decodeLibxcEvents,
  decodeLibxcStream,
  decodeLibxlEvents,
  decodeLibxlHeader,
  decodeLibxlStream,
  decodeSaveFile,
  decodeXenopsdSignature,
  decodeXenopsRecord,
  decodeXlHeader,
  detectFormat,
  detectLegacyLayout,
  encodeDomainHeader,
  encodeImageHeader,
  encodeLibvirtHeader,
  encodeLibxcStream,
  encodeLibxlHeader,
  encodeLibxlRecord,
  encodeLibxlStream,
  encodeRawRecord,
  encodeSaveFile,
  encodeXenopsdChunk,
  encodeXenopsRecord,
  encodeXlHeader,
  isXenStreamError,
  LegacyConverter,
  LegacyReader,
  LibxcDecoder,
  LibxcEncoder,
  LibxlDecoder,
  SaveFileDecoder,
  StreamVerifier,
  verifyStream,
} from "../../src/index.js";

/** The kinds of argument a public function takes, each with the values that must be refused. */
const refused = {
  bytes: [null, undefined, 42, NaN, new ArrayBuffer(64), new Uint16Array(32), new DataView(new ArrayBuffer(16)), "Xen saved domain", {}, [0, 1], Symbol("s"), 5n, { toString: 0n }, () => 1],
  options: [null, 42, "auto", Symbol("s"), 5n, true],
  offset: [null, -1, 1.5, NaN, Infinity, "3", 5n, Symbol("s"), {}],
  boolean: [null, 1, "true", {}, Symbol("s")],
  object: [null, undefined, 42, "header", Symbol("s"), 5n, true, {}, new Uint8Array(4), [], { type: { toString: 0n } }],
} as const;
type Kind = keyof typeof refused;

const zeros = new Uint8Array(64);
/** Valid arguments of each kind, to fill the other slots. */
const valid: Record<Kind, unknown> = { bytes: zeros, options: {}, offset: 0, boolean: true, object: {} };

interface Entry {
  name: string;
  slots: Kind[];
  call: (...args: unknown[]) => unknown;
}

const fn =
  <A extends unknown[]>(f: (...args: A) => unknown) =>
  (...args: unknown[]): unknown =>
    f(...(args as A));

const entries: Entry[] = [
  { name: "decodeImageHeader", slots: ["bytes", "offset"], call: fn(decodeImageHeader) },
  { name: "decodeDomainHeader", slots: ["bytes", "boolean", "offset"], call: fn(decodeDomainHeader) },
  { name: "decodeLibxcEvents", slots: ["bytes", "options"], call: fn(decodeLibxcEvents) },
  { name: "decodeLibxcStream", slots: ["bytes", "options"], call: fn(decodeLibxcStream) },
  { name: "decodeLibxlHeader", slots: ["bytes", "offset"], call: fn(decodeLibxlHeader) },
  { name: "decodeLibxlEvents", slots: ["bytes", "options"], call: fn(decodeLibxlEvents) },
  { name: "decodeLibxlStream", slots: ["bytes", "options"], call: fn(decodeLibxlStream) },
  { name: "decodeXlHeader", slots: ["bytes", "offset"], call: fn(decodeXlHeader) },
  { name: "detectFormat", slots: ["bytes"], call: fn(detectFormat) },
  { name: "decodeSaveFile", slots: ["bytes", "options"], call: fn(decodeSaveFile) },
  { name: "decodeAnySaveFile", slots: ["bytes", "options"], call: fn(decodeAnySaveFile) },
  { name: "convertLegacy", slots: ["bytes", "options"], call: fn(convertLegacy) },
  { name: "detectLegacyLayout", slots: ["bytes", "options"], call: fn(detectLegacyLayout) },
  { name: "decodeLibvirtHeader", slots: ["bytes", "offset"], call: fn(decodeLibvirtHeader) },
  { name: "decodeXenopsdSignature", slots: ["bytes", "offset"], call: fn(decodeXenopsdSignature) },
  { name: "decodeXenopsRecord", slots: ["bytes", "offset"], call: fn(decodeXenopsRecord) },
  { name: "verifyStream (options)", slots: ["options"], call: (options) => verifyStream(zeros, options as never) },
  { name: "encodeImageHeader", slots: ["object"], call: fn(encodeImageHeader) },
  { name: "encodeDomainHeader", slots: ["object", "boolean"], call: fn(encodeDomainHeader) },
  { name: "encodeLibxlHeader", slots: ["object"], call: fn(encodeLibxlHeader) },
  { name: "encodeXlHeader", slots: ["object"], call: fn(encodeXlHeader) },
  { name: "encodeLibxcStream", slots: ["object"], call: fn(encodeLibxcStream) },
  { name: "encodeLibxlStream", slots: ["object"], call: fn(encodeLibxlStream) },
  { name: "encodeSaveFile", slots: ["object"], call: fn(encodeSaveFile) },
  { name: "encodeLibxlRecord", slots: ["object", "boolean"], call: fn(encodeLibxlRecord) },
  { name: "encodeRawRecord", slots: ["object", "boolean"], call: fn(encodeRawRecord) },
  { name: "encodeXenopsdChunk", slots: ["object"], call: fn(encodeXenopsdChunk) },
  { name: "encodeXenopsRecord", slots: ["object"], call: fn(encodeXenopsRecord) },
  { name: "encodeLibvirtHeader", slots: ["object"], call: fn(encodeLibvirtHeader) },
  { name: "new LibxcEncoder", slots: ["object", "object"], call: (a, b) => new LibxcEncoder(a as never, b as never) },
  { name: "new LibxcDecoder", slots: ["options", "offset"], call: (a, b) => new LibxcDecoder(a as never, b as never) },
  { name: "new LibxlDecoder", slots: ["options", "offset"], call: (a, b) => new LibxlDecoder(a as never, b as never) },
  { name: "new SaveFileDecoder", slots: ["options", "offset"], call: (a, b) => new SaveFileDecoder(a as never, b as never) },
  { name: "new LegacyReader", slots: ["options", "offset"], call: (a, b) => new LegacyReader(a as never, b as never) },
  { name: "new LegacyConverter", slots: ["options"], call: (a) => new LegacyConverter(a as never) },
  { name: "new StreamVerifier", slots: ["options"], call: (a) => new StreamVerifier(a as never) },
  { name: "LibxcDecoder.push", slots: ["bytes"], call: (a) => new LibxcDecoder().push(a as never) },
  { name: "LibxlDecoder.push", slots: ["bytes"], call: (a) => new LibxlDecoder().push(a as never) },
  { name: "SaveFileDecoder.push", slots: ["bytes"], call: (a) => new SaveFileDecoder().push(a as never) },
  { name: "LegacyReader.push", slots: ["bytes"], call: (a) => new LegacyReader().push(a as never) },
  { name: "LegacyConverter.push", slots: ["bytes"], call: (a) => new LegacyConverter().push(a as never) },
  { name: "StreamVerifier.push", slots: ["bytes"], call: (a) => new StreamVerifier().push(a as never) },
];

/** The error of a call that must fail, or a description of what happened instead. */
function outcome(entry: Entry, slot: number, value: unknown): string {
  const args = entry.slots.map((kind, i) => (i === slot ? value : valid[kind]));
  try {
    entry.call(...args);
  } catch (error) {
    if (isXenStreamError(error)) return error.code === "USAGE" || error.code === "BAD_VALUE" ? "refused" : `${error.code}: ${error.message}`;
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
  return "accepted";
}

describe("hostile arguments to public functions", () => {
  test("property: any function, any argument slot, any refused value of its kind gives USAGE or BAD_VALUE", () => {
    const cases = entries.flatMap((entry) => entry.slots.map((kind, slot) => ({ entry, slot, kind })));
    fc.assert(
      fc.property(fc.constantFrom(...cases), fc.nat(), ({ entry, slot, kind }, pick) => {
        const values = refused[kind];
        const value = values[pick % values.length];
        expect(outcome(entry, slot, value), `${entry.name} argument ${slot}: ${kind} #${pick % values.length}`).toBe("refused");
      }),
      { numRuns: 400, seed: 1905 },
    );
  });

  test("every function and slot, exhaustively", () => {
    const failures: string[] = [];
    for (const entry of entries) {
      entry.slots.forEach((kind, slot) => {
        refused[kind].forEach((value, i) => {
          const result = outcome(entry, slot, value);
          if (result !== "refused") failures.push(`${entry.name} argument ${slot} (${kind} #${i}): ${result}`);
        });
      });
    }
    expect(failures).toEqual([]);
  });

  test("the messages name the function and the argument, and explain an ArrayBuffer or typed array", () => {
    const message = (run: () => unknown): string => {
      try {
        run();
      } catch (error) {
        return (error as Error).message;
      }
      return "no error";
    };
    expect(message(() => decodeSaveFile(null as never))).toBe("decodeSaveFile: bytes must be a Uint8Array, got null (at offset 0)");
    expect(message(() => decodeSaveFile(new ArrayBuffer(8) as never))).toBe(
      "decodeSaveFile: bytes must be a Uint8Array, got an ArrayBuffer (wrap it: new Uint8Array(buffer)) (at offset 0)",
    );
    expect(message(() => decodeLibxcStream(new Uint16Array(4) as never))).toMatch(/^decodeLibxcStream: bytes must be a Uint8Array, got Uint16Array\(4\), not a Uint8Array/);
    expect(message(() => decodeImageHeader(new Uint8Array(24), -1))).toBe("decodeImageHeader: offset must be a non-negative integer, got -1 (at offset 0)");
    expect(message(() => new SaveFileDecoder().push(42 as never))).toBe("push: chunk must be a Uint8Array, got 42 (at offset 0)");
  });

  test("a refused push leaves the decoder usable", () => {
    const decoder = new LibxlDecoder();
    expect(() => decoder.push("LibxlFmt" as never)).toThrow(expect.objectContaining({ code: "USAGE" }));
    const header = encodeLibxlHeader({ version: 2, options: 0 });
    expect(decoder.push(header).map((event) => event.kind)).toEqual(["header"]);
  });
});
