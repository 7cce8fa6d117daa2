// test/global-setup.ts, which runs before any test of `npm test`: with the
// reference tools it is silent and tells the workers not to fetch; without
// them (and nothing it may fetch) it says so loudly with how to get them,
// before the tests and again after the run's summary; under CI it fails.
// Run in a child (tsx), since it writes to stderr and sets process.env.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const tsx = join(root, "node_modules", ".bin", "tsx");
const script = `
import setup from "./test/global-setup.ts";
const teardown = setup();
process.stderr.write("--- tests run here ---\\n");
teardown?.();
process.stdout.write(JSON.stringify({ fetch: process.env.XEN_TOOLS_FETCH, teardown: typeof teardown }));
`;
const empty = mkdtempSync(join(tmpdir(), "xen-tools-none-"));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

function setup(env: Record<string, string | undefined>): { status: number | null; stdout: string; stderr: string } {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [key, value] of Object.entries(env)) if (value === undefined) delete childEnv[key];
  const result = spawnSync(tsx, ["-e", script], { cwd: root, encoding: "utf8", env: childEnv });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the reference tools, before any test", () => {
  test("missing and not to be fetched: a banner with the reason and the how-to, before and after the tests", () => {
    const run = setup({ XEN_TOOLS_DIR: empty, XEN_TOOLS_FETCH: "0", CI: undefined });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ fetch: "0", teardown: "function" });
    const [before, after] = run.stderr.split("--- tests run here ---\n") as [string, string];
    expect(before).toContain("SKIPPING the interop tests against Xen's own tools");
    expect(before).toContain("Why: XEN_TOOLS_FETCH=0 is set and they are not in the cache.");
    expect(before).toContain("`bash scripts/fetch-xen-tools.sh`");
    expect(after).toContain("SKIPPED the interop tests against Xen's own tools");
    expect(after).toContain("`bash scripts/fetch-xen-tools.sh`");
  });

  test("missing under CI: the run fails before any test", () => {
    const run = setup({ XEN_TOOLS_DIR: empty, XEN_TOOLS_FETCH: "0", CI: "true" });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("reference tools missing in CI: XEN_TOOLS_FETCH=0 is set and they are not in the cache");
    expect(run.stderr).not.toContain("--- tests run here ---");
  });

  const tools = process.env.XEN_TOOLS_DIR ?? join(root, ".cache", "xen-tools");
  test.skipIf(!existsSync(join(tools, "usr/lib/xen-4.17/bin/verify-stream-v2")))("present: silent, and the workers are told not to fetch", () => {
    const run = setup({ XEN_TOOLS_DIR: tools, XEN_TOOLS_FETCH: undefined, CI: undefined });
    expect(run).toEqual({ status: 0, stdout: JSON.stringify({ fetch: "0", teardown: "undefined" }), stderr: "--- tests run here ---\n" });
  });
});
