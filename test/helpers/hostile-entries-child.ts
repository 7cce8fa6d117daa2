/**
 * Child process of test/verify/memory.test.ts, run with a small
 * --max-old-space-size: verifies (or decodes) one hostile stream per kind
 * named on the command line and prints one JSON line per kind, then the
 * process's peak RSS. An implementation that builds the entries dies of
 * an out-of-memory abort instead.
 *
 *   node --import tsx --max-old-space-size=N hostile-entries-child.ts MODE BODY_BYTES KIND...
 *
 * MODE: `verify` (verifyStream on the bytes), `stream` (StreamVerifier fed
 * 64 KiB chunks), `cli` (xen-stream verify FILE, FILE written first),
 * `decode` (decodeSaveFile: refused, or decoded and the heap it holds).
 */
import { PassThrough } from "node:stream";
import { decodeSaveFile, isXenStreamError, verifyStream } from "../../src/index.js";
import { main } from "../../src/cli/main.js";
import { HOSTILE_KINDS, hostileStream, type HostileKind } from "./hostile-entries.js";

const [mode, bodyArg, ...kindArgs] = process.argv.slice(2);
const bodyBytes = Number(bodyArg);
const kinds = kindArgs.filter((kind): kind is HostileKind => (HOSTILE_KINDS as readonly string[]).includes(kind));
const out = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))}\n`);

if (mode === "cli") {
  // The files were written by the parent: this process holds only what the CLI reads.
  for (const file of kindArgs) {
    const stdout = new PassThrough();
    let text = "";
    stdout.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
    const code = await main(["verify", "--json", file], { stdin: new PassThrough(), stdout, stderr: process.stderr });
    out({ file, code, report: JSON.parse(text) as unknown });
  }
}

// One buffer for every kind (a stream is its body plus under 100 bytes).
const buffer = new Uint8Array(bodyBytes + 4096);
/** The last decoded file, kept until the next is measured. */
let kept: unknown;
for (const kind of kinds) {
  const bytes = hostileStream(kind, bodyBytes, buffer);
  if (mode === "verify") {
    const report = verifyStream(bytes, { profile: "restore" });
    out({ kind, ok: report.ok, codes: report.findings.map((finding) => finding.code), first: report.findings.slice(0, 4), summary: report.summary });
  } else if (mode === "decode") {
    try {
      const gc = (globalThis as { gc?: () => void }).gc;
      kept = undefined;
      gc?.();
      const before = process.memoryUsage().heapUsed;
      const file = decodeSaveFile(bytes);
      kept = file;
      // Held while measured (run with --expose-gc: collected first).
      gc?.();
      const heldBytes = process.memoryUsage().heapUsed - before;
      out({ kind, decoded: true, format: file.format, inputBytes: bytes.length, heldBytes });
    } catch (error) {
      if (!isXenStreamError(error)) throw error;
      out({ kind, decoded: false, code: error.code, message: error.message });
    }
  }
}
out({ maxRssMiB: process.resourceUsage().maxRSS / 1024 });
