/**
 * Issue #19 item 1: the heap a decoder holds stays within twice the bytes
 * it holds plus a constant, whatever the chunking. Each case runs in a
 * child process with a 48 MiB heap (memory-child.ts): a record header that
 * announces a 128 MiB body, then 1 MiB of body as fresh 1-byte chunks
 * (before the fix this cost ~100 bytes of heap per byte and the child died).
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";

const CHILD = fileURLToPath(new URL("./memory-child.ts", import.meta.url));
const CONSTANT = 1024 * 1024;

function runChild(name: string): { held: number; grown: number } {
  const result = spawnSync(process.execPath, ["--max-old-space-size=48", "--expose-gc", "--import", "tsx", CHILD, name], {
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`child ${name} exited ${String(result.status)} ${String(result.signal)}: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout.trim().split("\n").pop() as string) as { held: number; grown: number };
}

describe("memory held while a record arrives in 1-byte chunks", () => {
  const cases = ["libxc", "libxl", "savefile", "verifier", "legacy", "verify-async", "convert-async"];
  test.each(cases)("%s: heap grown <= 2x bytes held + 1 MiB", (name) => {
    const { held, grown } = runChild(name);
    expect(held).toBeGreaterThan(1_000_000);
    expect(grown).toBeLessThanOrEqual(2 * held + CONSTANT);
  }, 130_000);
});
