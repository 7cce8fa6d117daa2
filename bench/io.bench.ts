// vitest bench: the io layer on a generated PV stream (256 MiB by default,
// BENCH_SIZE to change), beside the plain copy and plain read baselines.
// Run with `npx vitest bench --run bench/io.bench.ts`. For the one-table
// comparison with Xen's verify-stream-v2 and the targets, see compare.ts.
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bench, describe } from "vitest";
import { SaveFileDecoder, decodeSaveFile } from "../src/index.js";
import { decodeSaveFileAsync, encodeSaveFileChunks } from "../src/io/index.js";
import { fileSource } from "../src/io/node.js";
import { generatePvStream } from "../src/testing/pv-stream-generator.js";

const SIZE = Number(process.env.BENCH_SIZE ?? 256 * 2 ** 20);
const dir = mkdtempSync(join(tmpdir(), "xen-io-bench-"));
const path = join(dir, "pv.xl");
const chunks = [...generatePvStream({ size: SIZE, format: "xl" })];
const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
const bytes = new Uint8Array(total);
{
  let pos = 0;
  const fd = openSync(path, "w");
  for (const chunk of chunks) {
    bytes.set(chunk, pos);
    pos += chunk.length;
    writeSync(fd, chunk);
  }
  closeSync(fd);
}
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const target = new Uint8Array(total).fill(1);
const file = decodeSaveFile(bytes);
const options = { time: 2000, warmupTime: 200 };

async function drain(events: AsyncIterable<unknown>): Promise<void> {
  for await (const event of events) void event;
}

async function sink(chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of chunks) void chunk;
}

describe(`decode ${(total / 2 ** 20).toFixed(0)} MiB PV stream`, () => {
  bench("baseline: plain copy (Uint8Array.prototype.set)", () => target.set(bytes), options);
  bench(
    "baseline: plain read, reused 4 MiB buffer",
    () => {
      const fd = openSync(path, "r");
      const buffer = new Uint8Array(4 << 20);
      while (readSync(fd, buffer, 0, buffer.length, null) > 0);
      closeSync(fd);
    },
    options,
  );
  bench(
    "whole buffer (SaveFileDecoder.push)",
    () => {
      const decoder = new SaveFileDecoder();
      decoder.push(bytes);
      decoder.end();
    },
    options,
  );
  bench("async, Uint8Array source", () => drain(decodeSaveFileAsync(bytes)), options);
  bench("async, fileSource", () => drain(decodeSaveFileAsync(fileSource(path))), options);
  bench("async, fileSource sync", () => drain(decodeSaveFileAsync(fileSource(path, { sync: true }))), options);
  bench("async, generator source", () => drain(decodeSaveFileAsync(generatePvStream({ size: SIZE, format: "xl" }))), options);
});

describe(`encode ${(total / 2 ** 20).toFixed(0)} MiB PV stream to a sink`, () => {
  bench("baseline: plain copy (Uint8Array.prototype.set)", () => target.set(bytes), options);
  bench("encodeSaveFileChunks, reuseBuffer", () => sink(encodeSaveFileChunks(file, { reuseBuffer: true })), options);
  bench("encodeSaveFileChunks, fresh chunks", () => sink(encodeSaveFileChunks(file)), options);
});
