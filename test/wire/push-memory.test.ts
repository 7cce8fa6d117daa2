// Issue #19 item 1: the memory a push decoder holds is at most twice the
// bytes it holds plus a constant, whatever the chunking. Each decoder runs
// in a child process with a 64 MiB heap (fixtures/push-memory-child.ts):
// the head of a libxc stream announcing a 128 MiB PAGE_DATA body, then
// 8 MiB of that body as fresh 1-byte chunks. Before small chunks were
// coalesced (src/wire/queue.ts) this cost some 100 bytes of heap per byte
// and the child died of an out-of-memory abort after about 0.5 MiB.
//
// The child is bundled with esbuild and run on plain node, so that the
// heap is the library's and not a TypeScript loader's.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const SIZE = 8 * 2 ** 20;
const CONSTANT = 2 ** 20;

const scratch = mkdtempSync(join(tmpdir(), "xen-push-memory-"));
const child = join(scratch, "push-memory-child.mjs");

beforeAll(async () => {
  await build({
    entryPoints: [fileURLToPath(new URL("./fixtures/push-memory-child.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node18",
    outfile: child,
    logLevel: "warning",
  });
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("memory held while a record body arrives in 1-byte chunks", () => {
  test.each(["libxc", "savefile", "verifier"])("%s: heap growth <= 2x the bytes held + 1 MiB, in a 64 MiB heap", (name) => {
    // execFileSync throws if the child dies (an out-of-memory abort) or fails.
    const output = execFileSync(process.execPath, ["--expose-gc", "--max-old-space-size=64", child, name, String(SIZE)], {
      encoding: "utf8",
      timeout: 60_000,
    });
    const result = JSON.parse(output) as { decoder: string; held: number; grown: number };
    expect(result.decoder).toBe(name);
    expect(result.held).toBe(SIZE);
    // The bytes really are held (a decoder that dropped them would grow by nothing).
    expect(result.grown).toBeGreaterThanOrEqual(SIZE - CONSTANT);
    expect(result.grown).toBeLessThanOrEqual(2 * result.held + CONSTANT);
  }, 70_000);
});
