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
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, test } from "vitest";

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

const pageScript = `
import { decodeSaveFile, encodeSaveFile, verifyStream } from "${root}src/index.ts";
import { decodeSaveFileAsync, toReadableStream } from "${root}src/io/index.ts";

const text = atob(document.getElementById("vector").textContent.trim());
const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
const file = decodeSaveFile(bytes);
const again = encodeSaveFile(file);
const result = {
  format: file.format,
  same: again.length === bytes.length && again.every((b, i) => b === bytes[i]),
  ok: verifyStream(bytes).ok,
  hasProcess: typeof process !== "undefined",
};
(async () => {
  let records = 0;
  const stream = toReadableStream([bytes.subarray(0, 5000), bytes.subarray(5000)]);
  for await (const event of decodeSaveFileAsync(stream)) if (event.kind === "record") records++;
  result.streamed = records;
})()
  .catch((error) => { result.error = String(error); })
  .finally(() => { document.getElementById("result").textContent = JSON.stringify(result); });
`;

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
      const vector = readFileSync(join(root, "spec-vectors/captured/xen-4.17-hvm-save.skel.xl")).toString("base64");
      const script = bundle.outputFiles[0]?.text ?? "";
      const page = `<!doctype html><html><body><pre id="vector">${vector}</pre><pre id="result">pending</pre><script>${script.replaceAll("</script", "<\\/script")}</script></body></html>`;
      writeFileSync(join(dir, "page.html"), page);
      const run = spawnSync(
        browser as string,
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", `--user-data-dir=${join(dir, "profile")}`, "--virtual-time-budget=10000", "--dump-dom", `file://${join(dir, "page.html")}`],
        { encoding: "utf8", timeout: 100_000 },
      );
      const match = /<pre id="result">([^<]*)<\/pre>/.exec(run.stdout ?? "");
      expect(match, `chromium printed no result (status ${run.status}): ${run.stderr}`).not.toBeNull();
      expect(JSON.parse((match as RegExpExecArray)[1] as string)).toEqual({ format: "libxl", same: true, ok: true, hasProcess: false, streamed: 11 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
