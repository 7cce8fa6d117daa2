// The headless-browser check, shared by test/browser/decode.test.ts (the
// sources) and scripts/consumer-test.mjs (the installed tarball): a page
// script that decodes, re-encodes and verifies a save file embedded in the
// page, then decodes it again from a WHATWG ReadableStream through /io, and
// writes what it found into the DOM, which chromium prints (--dump-dom).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The page script, importing the core from `core` and /io from `io`; with
 * `constants`, it also reports IHDR_SIZE from that entry (as `ihdr`).
 *
 * @param {{ core: string, io: string, constants?: string }} from - module specifiers
 * @returns {string} the script's source (an ES module, to bundle for the browser)
 */
export function browserPageScript(from) {
  const constants = from.constants === undefined ? "" : `import { IHDR_SIZE } from ${JSON.stringify(from.constants)};\n`;
  return `import { decodeSaveFile, encodeSaveFile, verifyStream } from ${JSON.stringify(from.core)};
${constants}import { decodeSaveFileAsync, toReadableStream } from ${JSON.stringify(from.io)};

const text = atob(document.getElementById("vector").textContent.trim());
const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
const file = decodeSaveFile(bytes);
const again = encodeSaveFile(file);
const result = {
  format: file.format,
  same: again.length === bytes.length && again.every((b, i) => b === bytes[i]),
  ok: verifyStream(bytes).ok,
${from.constants === undefined ? "" : "  ihdr: IHDR_SIZE,\n"}  hasProcess: typeof process !== "undefined",
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
}

/**
 * Writes `dir`/page.html with the save file and the bundled page script in
 * it, loads it in headless `chromium` (profile in `dir`) and returns what
 * the page wrote.
 *
 * @param {string} chromium - the browser's command
 * @param {string} dir - a fresh directory for the page and the profile
 * @param {Uint8Array} vector - the save file
 * @param {string} bundledScript - the page script, bundled for the browser
 * @returns {{ result: string | undefined, status: number | null, stderr: string }} the DOM's result text (undefined: none printed)
 */
export function runBrowserPage(chromium, dir, vector, bundledScript) {
  const script = bundledScript.replaceAll("</script", "<\\/script");
  const base64 = Buffer.from(vector).toString("base64");
  const page = join(dir, "page.html");
  writeFileSync(page, `<!doctype html><html><body><pre id="vector">${base64}</pre><pre id="result">pending</pre><script>${script}</script></body></html>`);
  const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", `--user-data-dir=${join(dir, "profile")}`, "--virtual-time-budget=10000", "--dump-dom"];
  const run = spawnSync(chromium, [...flags, `file://${page}`], { encoding: "utf8", timeout: 100_000 });
  return { result: /<pre id="result">([^<]*)<\/pre>/.exec(run.stdout ?? "")?.[1], status: run.status, stderr: run.stderr ?? "" };
}
