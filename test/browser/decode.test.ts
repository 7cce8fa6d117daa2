// The core in a real browser page: esbuild bundles a page script from the
// sources for the browser (platform "browser": a Node built-in anywhere in
// the core fails the build), and Debian's chromium, headless, loads the page,
// which decodes, re-encodes and verifies a captured Xen save file embedded
// in it, then decodes it again from a WHATWG ReadableStream through
// xen-migration-stream/io. The page writes what it found into the DOM,
// which chromium prints (--dump-dom).
//
// Needs chromium (`apt-get install chromium`; .ci/run installs it); without
// it the test is skipped, loudly.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, test } from "vitest";
import { browserPageScript, runBrowserPage } from "../../scripts/browser-page.mjs";

const root = new URL("../..", import.meta.url).pathname;
const candidates = ["chromium", "chromium-browser", "google-chrome"];
const browser = candidates.find((name) => spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0);
if (browser === undefined) {
  console.warn(
    [
      "",
      "=".repeat(78),
      "SKIPPING test/browser/decode.test.ts: no chromium on this machine.",
      "To run it: apt-get install chromium (Debian), then rerun the test.",
      "=".repeat(78),
      "",
    ].join("\n"),
  );
}

const pageScript = browserPageScript({ core: `${root}src/index.ts`, io: `${root}src/io/index.ts` });

describe.skipIf(browser === undefined)("in a browser page", () => {
  test("decodes, re-encodes, verifies and stream-decodes a captured save file", { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "xen-browser-"));
    try {
      const bundle = await build({
        stdin: { contents: pageScript, resolveDir: root, loader: "js" },
        bundle: true,
        platform: "browser",
        format: "iife",
        write: false,
        logLevel: "silent",
      });
      const vector = readFileSync(join(root, "spec-vectors/captured/xen-4.17-hvm-save.skel.xl"));
      const page = runBrowserPage(browser as string, dir, vector, bundle.outputFiles[0]?.text ?? "");
      expect(page.result, `chromium printed no result (status ${page.status}): ${page.stderr}`).not.toBeUndefined();
      expect(JSON.parse(page.result as string)).toEqual({ format: "libxl", same: true, ok: true, hasProcess: false, streamed: 11 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
