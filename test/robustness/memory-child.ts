/**
 * Child process for the memory tests (memory.test.ts): runs one hostile
 * input named by argv[2] under a small --max-old-space-size and prints
 * `{"held": bytes the decoder holds, "grown": heap + array buffers grown}`
 * as JSON. Run with --expose-gc.
 */
import {
  LibxcDecoder,
  LibxlDecoder,
  SaveFileDecoder,
  StreamVerifier,
  LegacyConverter,
  verifyStream,
  convertLegacyStream,
} from "../../src/index.js";
import { generateLegacyStream } from "../../src/testing/legacy-generator.js";
import { hex } from "../helpers/hex.js";

const gc = (globalThis as { gc?: () => void }).gc as () => void;
const used = (): number => {
  gc();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

/** Image header, domain header (x86 HVM), then a PAGE_DATA record header announcing a 128 MiB body (issue #19). */
const LIBXC_PREFIX = hex("ffffffffffffffff 58454e46 00000003 0000 0000 00000000 01000000 0c000000 04000000 11000000 01000000 00000008");
/** A libxl v2 header, then a LIBXC_CONTEXT record (type 1, length 0): the libxc stream follows. */
const LIBXL_PREFIX = hex("4c6962786c466d74 00000002 00000000 01000000 00000000");
/** An xl header (v2 stream, no config) before the libxl stream. */
const XL_PREFIX = (() => {
  const magic = new TextEncoder().encode("Xen saved domain, xl format\n \0 \r");
  const rest = hex("04030201 02000000 00000000 00000000"); // byteorder, mandatory STREAMv2, optional, optional data length
  const out = new Uint8Array(magic.length + rest.length);
  out.set(magic);
  out.set(rest, magic.length);
  return out;
})();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const TINY = Number(process.argv[3] ?? 1024 * 1024);

interface Pushable {
  push(chunk: Uint8Array): unknown;
  readonly bytesHeld: number;
}

/** Pushes `prefix`, then TINY fresh 1-byte chunks (beyond `prefix` when `body` is given, bytes of `body`). */
function pushTiny(target: Pushable, prefix: Uint8Array, body?: Uint8Array): void {
  target.push(prefix);
  const before = used();
  for (let i = 0; i < TINY; i++) target.push(Uint8Array.of(body === undefined ? 0 : (body[i] as number)));
  const grown = used() - before;
  console.log(JSON.stringify({ held: target.bytesHeld, grown }));
}

function legacyBatch(): { prefix: Uint8Array; body: Uint8Array } {
  // One full batch of 1024 pages (4 MiB): the reader holds it until complete.
  const { bytes } = generateLegacyStream({ seed: 7, guest: "pv", pages: 1024, maxBatch: 1024, fullBatches: true, pageFill: "pool" });
  return { prefix: bytes.subarray(0, 64), body: bytes.subarray(64) };
}

const cases: Record<string, () => void | Promise<void>> = {
  libxc: () => pushTiny(new LibxcDecoder(), LIBXC_PREFIX),
  libxl: () => pushTiny(new LibxlDecoder(), concat(LIBXL_PREFIX, LIBXC_PREFIX)),
  savefile: () => pushTiny(new SaveFileDecoder(), concat(XL_PREFIX, LIBXL_PREFIX, LIBXC_PREFIX)),
  verifier: () => {
    const verifier = new StreamVerifier();
    pushTiny({ push: (chunk) => verifier.push(chunk), get bytesHeld() { return verifier.bytesHeld; } }, LIBXC_PREFIX);
  },
  legacy: () => {
    const { prefix, body } = legacyBatch();
    const converter = new LegacyConverter();
    let held = 0;
    pushTiny({ push: (chunk) => { held += chunk.length; for (const out of converter.push(chunk)) held -= out.length; }, get bytesHeld() { return held; } }, prefix, body);
  },
  "verify-async": async () => {
    let before = 0;
    let grown = 0;
    const report = await verifyStream(
      (async function* () {
        yield LIBXC_PREFIX;
        before = used();
        for (let i = 0; i < TINY; i++) yield Uint8Array.of(0);
        grown = used() - before;
      })(),
    );
    if (report.ok) throw new Error("a truncated stream verified");
    console.log(JSON.stringify({ held: TINY, grown }));
  },
  "convert-async": async () => {
    const { prefix, body } = legacyBatch();
    let before = 0;
    let grown = 0;
    let out = 0;
    const source = (async function* () {
      yield prefix;
      before = used();
      for (let i = 0; i < TINY; i++) yield Uint8Array.of(body[i] as number);
      grown = used() - before;
    })();
    try {
      for await (const part of convertLegacyStream(source)) out += part.length;
    } catch {
      // truncated: expected
    }
    console.log(JSON.stringify({ held: TINY, grown }));
  },
};

const run = cases[process.argv[2] as string];
if (run === undefined) throw new Error(`unknown case ${process.argv[2]}`);
await run();
