// The one source contract of every async entry point (issue #19 item 4):
// the same accepted source kinds (fileSource and readIntoSource included),
// USAGE naming the argument for chunks that are not Uint8Arrays and for
// sources that are none, options checked at the call, and an AbortSignal
// that abandons a source that never answers.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { convertLegacyStream, isXenStreamError, rewriteSavedConfig, verifyStream, XenStreamError } from "../../src/index.js";
import { decodeLibxcAsync, decodeLibxlAsync, decodeSaveFileAsync, readWantedChunks, type ByteSource } from "../../src/io/index.js";
import { fileSource } from "../../src/io/node.js";
import { collect, collectBytes, rejection, sourcesOf } from "./helpers.js";

const LIBXC = "spec-vectors/libxc/valid/big-endian-pv.bin";
const LIBXL = "spec-vectors/libxl/valid/big-endian.bin";
const XL = "spec-vectors/captured/xen-4.17-pv-save.skel.xl";
const LEGACY = "spec-vectors/legacy/valid/hvm32.bin";
const bytesOf = (path: string): Uint8Array => new Uint8Array(readFileSync(path));

/** What an entry point made of a source, comparable across source kinds. */
type Run = (source: ByteSource, options?: { signal?: AbortSignal; bufferSize?: number }) => Promise<unknown>;

const kindsOf = async (events: AsyncIterable<{ kind: string; layer: string }>): Promise<string[]> =>
  (await collect(events)).map((event) => `${event.layer}:${event.kind}`);

interface Entry {
  name: string;
  /** The argument USAGE messages name. */
  argument: RegExp;
  path: string;
  run: Run;
}

const entries: Entry[] = [
  { name: "decodeLibxcAsync", argument: /^source /, path: LIBXC, run: (s, o) => kindsOf(decodeLibxcAsync(s, o)) },
  { name: "decodeLibxlAsync", argument: /^source /, path: LIBXL, run: (s, o) => kindsOf(decodeLibxlAsync(s, o)) },
  { name: "decodeSaveFileAsync", argument: /^source /, path: XL, run: (s, o) => kindsOf(decodeSaveFileAsync(s, o)) },
  {
    name: "readWantedChunks",
    argument: /^source /,
    path: LIBXC,
    run: async (s, o) => (await collectBytes(readWantedChunks(s, { bytesWanted: 4096, bytesHeld: 0 }, o))).length,
  },
  {
    name: "verifyStream",
    argument: /^verifyStream input /,
    path: XL,
    run: async (s, o) => {
      const report = await verifyStream(s, o);
      return [report.ok, report.findings.map((f) => f.code), report.summary.bytes, report.summary.libxc?.domainType];
    },
  },
  {
    name: "convertLegacyStream",
    argument: /^convertLegacyStream source /,
    path: LEGACY,
    run: async (s, o) => Array.from(await collectBytes(convertLegacyStream(s, { ...o, width: 32, guest: "hvm" }))),
  },
  {
    name: "rewriteSavedConfig",
    argument: /^rewriteSavedConfig source /,
    path: XL,
    run: async (s, o) => Array.from(await collectBytes(rewriteSavedConfig(s, '{"name":"renamed"}', o))),
  },
];

async function usageOf(promise: Promise<unknown>): Promise<XenStreamError> {
  const error = await rejection(promise);
  if (!isXenStreamError(error)) throw new Error(`expected a XenStreamError, got ${String(error)}`);
  expect(error.code).toBe("USAGE");
  return error;
}

describe.each(entries)("$name", ({ name, argument, path, run }) => {
  const bytes = bytesOf(path);

  test("every source kind gives the same result: Uint8Array, iterables, ReadableStream, Node Readable, readIntoSource, fileSource", async () => {
    const expected = await run(bytes);
    for (const [kind, make] of sourcesOf(bytes, 777)) {
      expect(await run(make()), kind).toEqual(expected);
    }
    expect(await run(fileSource(path)), "fileSource").toEqual(expected);
    expect(await run(fileSource(path, { sync: true }), { bufferSize: 4096 }), "fileSource (sync, small buffer)").toEqual(expected);
  });

  test("a chunk that is not a Uint8Array is USAGE naming the argument, the chunk and its offset", async () => {
    const head = bytes.subarray(0, 40);
    const hostile: Array<[unknown, RegExp]> = [
      ["Xen", /a string/],
      [7, /yielded 7 as chunk 1/],
      [null, /yielded null as chunk 1/],
      [() => 1, /a function/],
      [new Uint16Array(4), /Uint16Array\(4\), not a Uint8Array/],
      [new DataView(new ArrayBuffer(8)), /DataView\(8\)/],
      [new ArrayBuffer(8), /an ArrayBuffer/],
      [{ length: 8 }, /an object/],
    ];
    for (const [chunk, message] of hostile) {
      for (const source of [[head, chunk], (async function* () { yield head; yield chunk; })()]) {
        const error = await usageOf(run(source as unknown as ByteSource));
        expect(error.offset).toBe(40);
        expect(error.message).toMatch(argument);
        expect(error.message).toMatch(message);
      }
    }
  });

  test("a readIntoSource whose read() returns no byte count in 0..target is USAGE at the bytes read so far, and is closed", async () => {
    for (const bad of [-1, 1.5, "8", 10n, Number.NaN, Infinity, "too many"] as const) {
      let reads = 0;
      let closes = 0;
      const source = {
        kind: "readInto",
        read(target: Uint8Array): number {
          reads += 1;
          if (reads === 1) {
            target.set(bytes.subarray(0, 24));
            return 24;
          }
          return (bad === "too many" ? target.length + 1 : bad) as number;
        },
        close(): void {
          closes += 1;
        },
      };
      const error = await usageOf(run(source as unknown as ByteSource));
      expect(error.offset).toBe(24);
      expect(error.message).toMatch(/ReadIntoSource\.read\(\) returned .* for a \d+-byte target/);
      expect(closes).toBe(1);
    }
  });

  test("an argument that is no source is USAGE naming it (null, numbers, ArrayBuffer, strings, objects)", async () => {
    for (const source of [null, undefined, 42, new ArrayBuffer(64), new Uint32Array(16), "bytes", {}, { kind: "readInto" }]) {
      const error = await usageOf(run(source as unknown as ByteSource));
      expect(error.message).toMatch(name === "verifyStream" ? /^verifyStream input must be/ : argument);
    }
  });

  test("options are checked at the call: options object, signal, bufferSize", async () => {
    const bad: unknown[] = [null, 5, { signal: {} }, { signal: "abort" }, { bufferSize: 2 ** 40 }, { bufferSize: 0 }, { bufferSize: 1.5 }, { bufferSize: 10n }];
    for (const options of bad) {
      let caught: unknown;
      try {
        // Thrown by the call itself, before any reading.
        callOnly(name, bytes, options);
      } catch (error) {
        caught = error;
      }
      expect(isXenStreamError(caught) && caught.code, `${name} ${JSON.stringify(options, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v))}`).toBe("USAGE");
      expect((caught as Error).message).toMatch(new RegExp(`^(${name}: )?(options|signal|bufferSize|options\\.)`));
    }
  });

  test("an aborted signal abandons a source that never answers (iterator, ReadableStream, readIntoSource) and cancels it", async () => {
    const never = new Promise<never>(() => undefined);
    let returned = 0;
    let cancelled = 0;
    let closed = 0;
    const stalled: Array<[string, () => ByteSource]> = [
      [
        "async iterator",
        () => ({
          [Symbol.asyncIterator]: () => ({
            next: () => never,
            return: () => {
              returned += 1;
              return Promise.resolve({ done: true as const, value: undefined });
            },
          }),
        }),
      ],
      [
        "ReadableStream",
        () =>
          new ReadableStream<Uint8Array>({
            pull: () => never,
            cancel: () => {
              cancelled += 1;
            },
          }),
      ],
      [
        "readIntoSource",
        () => ({
          kind: "readInto" as const,
          read: () => never,
          close: () => {
            closed += 1;
          },
        }),
      ],
    ];
    for (const [kind, make] of stalled) {
      const controller = new AbortController();
      const pending = rejection(run(make(), { signal: controller.signal }));
      setTimeout(() => controller.abort(new Error(`gave up on ${kind}`)), 1);
      expect(((await pending) as Error).message, kind).toBe(`gave up on ${kind}`);
    }
    expect([returned, cancelled, closed]).toEqual([1, 1, 1]);
    // Without a reason: the platform's AbortError.
    const controller = new AbortController();
    controller.abort();
    const error = (await rejection(run((stalled[0] as [string, () => ByteSource])[1](), { signal: controller.signal }))) as Error;
    expect(error.name).toBe("AbortError");
  });
});

/** Calls an entry point without consuming it: only what the call itself throws. */
function callOnly(name: string, bytes: Uint8Array, options: unknown): unknown {
  const o = options as never;
  switch (name) {
    case "decodeLibxcAsync":
      return decodeLibxcAsync(bytes, o);
    case "decodeLibxlAsync":
      return decodeLibxlAsync(bytes, o);
    case "decodeSaveFileAsync":
      return decodeSaveFileAsync(bytes, o);
    case "readWantedChunks":
      return readWantedChunks(bytes, { bytesWanted: 1, bytesHeld: 0 }, o);
    case "verifyStream":
      return verifyStream([bytes], o);
    case "convertLegacyStream":
      return convertLegacyStream(bytes, o);
    case "rewriteSavedConfig":
      return rewriteSavedConfig(bytes, "{}", o);
    default:
      throw new Error(`no entry ${name}`);
  }
}
