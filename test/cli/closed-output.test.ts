// A closed output pipe ends every command quietly (`xen-stream dump big |
// head -c 10`): the rest of the output is dropped and the command exits
// with its own status, as if stdout were /dev/null; no EPIPE stack trace.
//
// Each command runs as a child process (the CLI bundled with esbuild, run
// on plain node, as users run dist/cli.cjs) with stdout a pipe; the parent
// reads the first bytes, stops reading so that the pipe fills, then closes
// it. Two kinds of pipe: a blocking one (the fd write meets EPIPE), and a
// non-blocking one (the fd write meets EAGAIN first, the output falls back
// to process.stdout, and the EPIPE arrives later as the stream's 'error'
// event). A node parent that has set up its own process.stdout hands such
// a pipe to its children; here a preload makes the child's fd non-blocking
// the same way, by setting up process.stdout before the CLI starts.
import { spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { generateLegacyStream } from "../../src/testing/legacy-generator.js";
import { generatePvStream } from "../../src/testing/pv-stream-generator.js";

const scratch = mkdtempSync(join(tmpdir(), "xen-stream-closed-output-"));
const cli = join(scratch, "cli.cjs");
const preload = join(scratch, "nonblocking-stdout.cjs");
const pv = join(scratch, "pv.xl");
const legacy = join(scratch, "legacy.bin");

beforeAll(async () => {
  await build({
    entryPoints: [fileURLToPath(new URL("../../src/cli/bin.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node18",
    outfile: cli,
    logLevel: "warning",
  });
  // Setting up process.stdout on a pipe makes its fd non-blocking (libuv).
  writeFileSync(preload, "void process.stdout;\n");
  const fd = openSync(pv, "w");
  for (const chunk of generatePvStream({ size: 6 * 2 ** 20, format: "xl" })) writeSync(fd, chunk);
  closeSync(fd);
  writeFileSync(legacy, generateLegacyStream({ seed: 3, guest: "pv", width: 64, pages: 1500 }).bytes);
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface Closed {
  status: number | null;
  signal: string | null;
  stderr: string;
  first: number;
}

/** Runs the CLI with `args`, reads its first output, lets the pipe fill, then closes it. */
function runAndClose(args: string[], nonBlocking: boolean, stdinFile?: string): Promise<Closed> {
  return new Promise((resolve, reject) => {
    const stdin = stdinFile === undefined ? "ignore" : openSync(stdinFile, "r");
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS; // parsed at every node start-up, unused here
    const child = spawn(process.execPath, [...(nonBlocking ? ["--require", preload] : []), cli, ...args], {
      cwd: scratch,
      env,
      stdio: [stdin, "pipe", "pipe"],
    });
    if (typeof stdin === "number") closeSync(stdin);
    const stdout = child.stdout as Readable;
    let stderr = "";
    let first = 0;
    (child.stderr as Readable).setEncoding("utf8").on("data", (text: string) => (stderr += text));
    stdout.once("data", (data: Buffer) => {
      first = data.length;
      stdout.pause(); // like a slow reader: the pipe fills, the writer meets EAGAIN
      setTimeout(() => stdout.destroy(), 150); // then like head -c 10 exiting
    });
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stderr, first }));
  });
}

// Commands whose output is far more than a pipe holds.
const cases: { name: string; args: () => string[]; stdin?: () => string }[] = [
  { name: "dump --pages (text)", args: () => ["dump", "--pages", pv] },
  { name: "dump --json --pages", args: () => ["dump", "--json", "--pages", pv] },
  { name: "decode (the document on stdout)", args: () => ["decode", "--inline", pv] },
  { name: "convert-legacy IN (the v2 stream on stdout)", args: () => ["convert-legacy", legacy] },
  { name: "convert -o - (the stream on stdout)", args: () => ["convert", "--to", "libxc", "-o", "-", pv] },
  { name: "tap (stdin copied to stdout)", args: () => ["tap", "--quiet"], stdin: () => pv },
  { name: "simulate -o - (a generated stream on stdout)", args: () => ["simulate", "--memory", "16", "-o", "-"] },
];

describe("a closed output pipe ends the command quietly with its own exit status", () => {
  for (const nonBlocking of [false, true]) {
    test(`${nonBlocking ? "non-blocking" : "blocking"} pipe: ${cases.map((item) => item.name.split(" (")[0]).join(", ")}`, async () => {
      const results = await Promise.all(cases.map((item) => runAndClose(item.args(), nonBlocking, item.stdin?.())));
      const seen = Object.fromEntries(cases.map((item, i) => [item.name, results[i]]));
      // Notes a command prints on stderr whatever its output (convert drops the xl header) are not about the pipe.
      for (const result of results) result.stderr = result.stderr.replace(/^xen-stream convert: note: .*\n/gm, "");
      const expected = Object.fromEntries(cases.map((item, i) => [item.name, { status: 0, signal: null, stderr: "", first: (results[i] as Closed).first }]));
      expect(seen).toEqual(expected);
      for (const result of results) expect(result.first).toBeGreaterThan(0);
    }, 60_000);
  }

  test("small output (extract-memory --json, info, verify --json) to a pipe closed at once: exit status kept", async () => {
    const image = join(scratch, "image.raw");
    const results = await Promise.all([
      runAndClose(["extract-memory", pv, "-o", image, "--json"], true),
      runAndClose(["info", pv], true),
      runAndClose(["verify", "--json", "-v", pv], true),
    ]);
    expect(results.map(({ status, signal, stderr }) => ({ status, signal, stderr }))).toEqual([
      { status: 0, signal: null, stderr: "" },
      { status: 0, signal: null, stderr: "" },
      { status: 0, signal: null, stderr: "" },
    ]);
  }, 60_000);
});
