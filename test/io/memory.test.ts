// Bounded memory: an 8 GiB generated PV stream (xl save file) is decoded
// from a generator source, and decoded then re-encoded, in a child process
// whose peak RSS (getrusage ru_maxrss, via process.resourceUsage().maxRSS)
// must stay under 128 MiB.
//
// The child is bundled with esbuild and run on plain node, so that the
// number is the library's and not a TypeScript loader's (tsx alone adds
// about 50 MiB). Size: XEN_STREAM_MEMORY_TEST_SIZE bytes (default 8 GiB).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pvStreamLayout } from "../../src/testing/pv-stream-generator.js";

const SIZE = Number(process.env.XEN_STREAM_MEMORY_TEST_SIZE ?? 8 * 2 ** 30);
const LIMIT = 128 * 2 ** 20;
const MiB = 2 ** 20;

interface ChildResult {
  job: string;
  events: number;
  pages: number;
  bytes: number;
  seconds: number;
  maxRss: number;
}

const scratch = mkdtempSync(join(tmpdir(), "xen-memory-"));
const child = join(scratch, "stream-child.mjs");

beforeAll(async () => {
  await build({
    entryPoints: [fileURLToPath(new URL("./fixtures/stream-child.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node18",
    outfile: child,
    logLevel: "warning",
  });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(job: string, size: number): ChildResult {
  const output = execFileSync(process.execPath, [child, job, String(size)], { encoding: "utf8", timeout: 180_000 });
  return JSON.parse(output) as ChildResult;
}

function report(result: ChildResult, size: number): string {
  return `${result.job}: ${(size / 2 ** 30).toFixed(2)} GiB in ${result.seconds.toFixed(2)} s (${(size / result.seconds / 1e9).toFixed(2)} GB/s), peak RSS ${(result.maxRss / MiB).toFixed(1)} MiB`;
}

describe(`bounded memory on a ${(SIZE / 2 ** 30).toFixed(2)} GiB stream`, () => {
  const layout = pvStreamLayout({ size: SIZE, format: "xl" });
  // xl header, libxl header, LIBXC_CONTEXT, image header, domain header, libxc records, libxl END.
  const events = 5 + layout.libxcRecords + 1;

  test("the baseline: the same child on a one-page stream", () => {
    const result = run("decode-generator", 0);
    console.log(`baseline ${report(result, 0)}`);
    expect(result.maxRss).toBeLessThan(LIMIT);
  });

  test("decoding from a generator source stays under 128 MiB", () => {
    const result = run("decode-generator", SIZE);
    console.log(report(result, layout.totalBytes));
    expect({ events: result.events, pages: result.pages }).toEqual({ events, pages: layout.pages });
    expect(result.maxRss).toBeLessThan(LIMIT);
  });

  test("decoding and re-encoding (a streaming pipe) stays under 128 MiB", () => {
    const result = run("pipe-generator", SIZE);
    console.log(report(result, layout.totalBytes));
    expect({ events: result.events, pages: result.pages, bytes: result.bytes }).toEqual({ events, pages: layout.pages, bytes: layout.totalBytes });
    expect(result.maxRss).toBeLessThan(LIMIT);
  });
});
