/**
 * In-process throughput of the legacy converter (no file I/O): a generated
 * 64 MiB legacy PV stream (64-bit toolstack, full 1024-page batches) and a
 * generated HVM stream, converted whole and pushed in 4 MiB chunks (width
 * and guest detected).
 * `npx vitest bench --run bench/legacy.bench.ts`. The comparison with Xen's
 * convert-legacy-stream, end to end through the CLI, is legacy-compare.ts.
 */
import { bench, describe } from "vitest";
import { LegacyConverter, convertLegacy } from "../src/legacy/index.js";
import { generateLegacyStream } from "../src/testing/legacy-generator.js";

const pv = generateLegacyStream({
  seed: 1,
  width: 64,
  guest: "pv",
  guestWidth: 8,
  pages: 16 * 1024,
  maxBatch: 1024,
  fullBatches: true,
  mixedTypes: false,
  pageFill: "pool",
}).bytes;
const hvm = generateLegacyStream({ seed: 2, width: 32, guest: "hvm", pages: 16 * 1024, maxBatch: 1024, mixedTypes: true, pageFill: "pool" }).bytes;

function pushed(bytes: Uint8Array, chunk: number, format: "libxc" | "libxl"): number {
  const converter = new LegacyConverter({ format });
  let out = 0;
  for (let pos = 0; pos < bytes.length; pos += chunk) for (const part of converter.push(bytes.subarray(pos, pos + chunk))) out += part.length;
  for (const part of converter.end()) out += part.length;
  return out;
}

describe(`legacy PV, ${(pv.length / 2 ** 20).toFixed(0)} MiB`, () => {
  bench("convertLegacy (whole buffer) -> libxc", () => {
    convertLegacy(pv, { width: 64, guest: "pv" });
  });
  bench("LegacyConverter, 4 MiB pushes -> libxc", () => {
    pushed(pv, 4 << 20, "libxc");
  });
  bench("LegacyConverter, 4 MiB pushes -> libxl", () => {
    pushed(pv, 4 << 20, "libxl");
  });
});

describe(`legacy HVM (mixed batches), ${(hvm.length / 2 ** 20).toFixed(0)} MiB`, () => {
  bench("LegacyConverter, 4 MiB pushes -> libxl", () => {
    pushed(hvm, 4 << 20, "libxl");
  });
});
