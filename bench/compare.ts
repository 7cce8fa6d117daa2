/**
 * The comparison runner: every row measured in the same run, on the same
 * generated PV stream (an xl save file, 1 GiB by default), printed as one
 * table of GB/s with the ratios the targets are stated in.
 *
 *   npx tsx bench/compare.ts            (BENCH_SIZE=bytes, BENCH_DIR=dir, BENCH_REPEAT=n)
 *   BENCH_BASE=../base npx tsx bench/compare.ts
 *
 * BENCH_BASE names the worktree (or its dist/) of another build, the
 * base: every row that runs the library (in this process: the base's
 * src/ through tsx; children: its dist/cli.cjs and its stream child) runs
 * for both builds, the two alternating within every repetition (base,
 * new, base, new...) so that drift in a shared machine's speed touches
 * both alike, and the table shows both with new/base. The baselines and
 * Xen's tool run once. The targets below are checked for the new build.
 *
 * Baselines: a plain copy of the bytes (Uint8Array.prototype.set into a
 * pre-faulted buffer), a plain read of the file with one reused 4 MiB
 * buffer, a plain write of the bytes to a new file, and Xen's own
 * verify-stream-v2 on the file (scripts/fetch-xen-tools.sh). The file is
 * read from the page cache by every row alike (it was just written).
 *
 * Rows run in this process use the sources through tsx; rows marked
 * "child" run in their own process (the CLI from dist/, the bundled
 * streaming decoder) so that their peak RSS can be read
 * (getrusage RUSAGE_CHILDREN through a small python wrapper).
 *
 * The CLI and the child decoder are compared with Xen's tool end to end
 * (process start included: about 40 ms for node and 13 ms for python on
 * the reference machine, a large part of a 1 GiB run) and with a plain read
 * in a node child, which pays the same start-up. The baselines "plain read"
 * are the fastest plain reads of the run.
 *
 * Each row runs BENCH_REPEAT times (default 5); the table shows the best
 * and the median rate. Ratios use the best rates. The machine is shared:
 * rerun when a number looks off.
 */
import { spawnSync } from "node:child_process";
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import * as newCore from "../src/index.js";
import type { SaveFileEvent } from "../src/index.js";
import * as newIo from "../src/io/index.js";
import * as newNode from "../src/io/node.js";
import { generatePvStream, pvStreamLayout } from "../src/testing/pv-stream-generator.js";

const SIZE = Number(process.env.BENCH_SIZE ?? 2 ** 30);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 5);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "xen-bench-"));
const input = join(dir, "pv.xl");
const output = join(dir, "out.xl");
const MiB = 2 ** 20;
const CLI_ROW = "xen-stream verify FILE (child, dist/cli.cjs)";
const PLACED_READ = "plain read, reused 4 MiB buffer, half a page off";

interface Row {
  name: string;
  /** Rates in bytes/s, one per run. */
  rates: number[];
  /** Peak RSS of a child process, bytes. */
  rss?: number;
  note?: string;
}

const rows = new Map<string, Row>();
/** The base build's rows, by the same names (BENCH_BASE). */
const baseRows = new Map<string, Row>();

/** What the rows call of a build of the library. */
interface Library {
  SaveFileDecoder: typeof newCore.SaveFileDecoder;
  StreamVerifier: typeof newCore.StreamVerifier;
  decodeSaveFile: typeof newCore.decodeSaveFile;
  decodeSaveFileAsync: typeof newIo.decodeSaveFileAsync;
  encodeEventChunks: typeof newIo.encodeEventChunks;
  encodeSaveFileChunks: typeof newIo.encodeSaveFileChunks;
  fileSource: typeof newNode.fileSource;
  writeToFile: typeof newNode.writeToFile;
}

interface Contender {
  name: "base" | "new";
  lib: Library;
  /** The build's worktree (its dist/, test/io/fixtures/stream-child.ts). */
  root: string;
  rows: Map<string, Row>;
}

const contenders: Contender[] = [{ name: "new", lib: { ...newCore, ...newIo, ...newNode }, root: ROOT, rows }];

function best(row: Row | undefined): number {
  return row === undefined || row.rates.length === 0 ? Number.NaN : Math.max(...row.rates);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function measure(name: string, bytes: number, run: () => unknown, repeat = REPEAT): Promise<Row> {
  const row: Row = { name, rates: [] };
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    await run();
    row.rates.push(bytes / ((performance.now() - start) / 1000));
  }
  rows.set(name, row);
  return row;
}

/** A row of every contender, alternating within each repetition (base first). */
async function measureEach(name: string, bytes: number, run: (lib: Library) => unknown): Promise<void> {
  const order = [...contenders].reverse();
  for (const contender of order) contender.rows.set(name, { name, rates: [] });
  for (let i = 0; i < REPEAT; i++) {
    for (const contender of order) {
      const start = performance.now();
      await run(contender.lib);
      contender.rows.get(name)?.rates.push(bytes / ((performance.now() - start) / 1000));
    }
  }
}

/** Loads the base build named by BENCH_BASE (a worktree or its dist/) from its sources. */
async function loadBase(given: string): Promise<void> {
  const root = basename(resolve(given)) === "dist" ? dirname(resolve(given)) : resolve(given);
  const load = (path: string) => import(pathToFileURL(join(root, path)).href);
  const lib = { ...(await load("src/index.ts")), ...(await load("src/io/index.ts")), ...(await load("src/io/node.ts")) } as Library;
  contenders.push({ name: "base", lib, root, rows: baseRows });
}

const CHILD_WRAPPER = [
  "import os, resource, subprocess, sys, time",
  "env = dict(os.environ)",
  "env.update(dict(item.split('=', 1) for item in sys.argv[1].split(',') if item))",
  "t = time.perf_counter()",
  "r = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)",
  "dt = time.perf_counter() - t",
  "sys.stdout.write('%f %d %d\\n' % (dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode))",
  "sys.stderr.write(r.stderr.decode('utf8', 'replace')[-2000:])",
].join("\n");

interface ChildJob {
  row: Row;
  command: string[];
  env: Record<string, string>;
}
const childJobs: ChildJob[] = [];

/**
 * Queues a child-process row: the command runs through a python wrapper
 * that reports wall time and the child's peak RSS. The queued rows run by
 * {@link runChildren}, round-robin, so that drift in the machine's speed
 * touches every child row alike (the CLI and verify-stream-v2 alternate).
 */
function measureChild(name: string, command: string[], env: Record<string, string> = {}, into = rows): void {
  const row: Row = { name, rates: [] };
  into.set(name, row);
  childJobs.push({ row, command, env });
}

function runChildren(bytes: number): void {
  for (let i = 0; i < REPEAT; i++) {
    for (const { row, command, env } of childJobs) {
      const envText = Object.entries(env).map(([key, value]) => `${key}=${value}`).join(",");
      const result = spawnSync("/usr/bin/python3", ["-c", CHILD_WRAPPER, envText, ...command], { encoding: "utf8" });
      const [seconds, rssKiB, status] = result.stdout.trim().split(" ").map(Number) as [number, number, number];
      if (status !== 0) throw new Error(`${row.name}: exit ${status}\n${result.stderr}`);
      row.rates.push(bytes / seconds);
      row.rss = Math.max(row.rss ?? 0, rssKiB * 1024);
    }
  }
}

function skip(name: string, note: string): void {
  rows.set(name, { name, rates: [], note });
}

async function drain(events: AsyncIterable<SaveFileEvent>): Promise<number> {
  let count = 0;
  for await (const event of events) if (event.kind === "record") count += 1;
  return count;
}

async function main(): Promise<void> {
  if (process.env.BENCH_BASE !== undefined && process.env.BENCH_BASE !== "") await loadBase(process.env.BENCH_BASE);
  // Every contender (node children, python, the CLI) runs with the same
  // environment: without NODE_EXTRA_CA_CERTS, which node parses at every
  // start-up (~70 ms on Node 20 where it names the system bundle) and no
  // contender needs. Said in the output, set or not.
  const extraCerts = process.env.NODE_EXTRA_CA_CERTS !== undefined;
  delete process.env.NODE_EXTRA_CA_CERTS;
  console.log(`environment: NODE_EXTRA_CA_CERTS unset for every contender${extraCerts ? " (it was set here)" : " (it was not set)"}`);
  const layout = pvStreamLayout({ size: SIZE, format: "xl" });
  const n = layout.totalBytes;
  process.stderr.write(`generating ${(n / 2 ** 30).toFixed(2)} GiB PV stream (xl) in ${input} ...\n`);
  const fd = openSync(input, "w");
  for (const chunk of generatePvStream({ size: SIZE, format: "xl" })) writeSync(fd, chunk);
  closeSync(fd);
  const bytes = new Uint8Array(readFileSync(input));

  // --- baselines -----------------------------------------------------------
  const target = new Uint8Array(n);
  target.fill(1); // pre-fault: the copy row measures copying, not page faults
  await measure("plain copy (Uint8Array.prototype.set)", n, () => target.set(bytes));
  const plainRead = (size: number, offset = 0) => () => {
    const file = openSync(input, "r");
    const buffer = new Uint8Array(size + offset).subarray(offset);
    while (readSync(file, buffer, 0, size, null) > 0);
    closeSync(file);
  };
  await measure("plain read, reused 4 MiB buffer", n, plainRead(4 * MiB));
  await measure("plain read, reused 1 MiB buffer", n, plainRead(MiB));
  // Half a page off the file offset, like the library's reads: on some VMs
  // reads whose target sits at the source's offset in a page run at a
  // fraction of the speed (READ_TARGET_OFFSET in src/io/decode.ts).
  await measure(PLACED_READ, n, plainRead(4 * MiB, 2048));
  await measure("plain write to a new file, 4 MiB writes", n, () => {
    const file = openSync(output, "w");
    for (let pos = 0; pos < n; pos += 4 * MiB) writeSync(file, bytes, pos, Math.min(4 * MiB, n - pos));
    closeSync(file);
  });
  const tools = join(ROOT, ".cache", "xen-tools", "usr", "lib", "xen-4.17");
  if (existsSync(join(tools, "bin", "verify-stream-v2"))) {
    const env = { PYTHONPATH: join(tools, "lib", "python") };
    measureChild("verify-stream-v2 -f xl FILE (child)", ["/usr/bin/python3", join(tools, "bin", "verify-stream-v2"), "-i", input, "-f", "xl"], env);
  } else skip("verify-stream-v2 -f xl FILE (child)", "not fetched: bash scripts/fetch-xen-tools.sh");

  // --- decoding ------------------------------------------------------------
  await measureEach("decode whole buffer from memory (SaveFileDecoder)", n, (lib) => {
    const decoder = new lib.SaveFileDecoder();
    decoder.push(bytes);
    decoder.end();
  });
  await measureEach("verify from memory in 4 MiB chunks (StreamVerifier)", n, (lib) => {
    const verifier = new lib.StreamVerifier();
    for (let at = 0; at < bytes.length; at += 4 * MiB) verifier.push(bytes.subarray(at, at + 4 * MiB));
    verifier.end();
  });
  await measureEach("decode async from memory (Uint8Array source)", n, (lib) => drain(lib.decodeSaveFileAsync(bytes)));
  await measureEach("decode streaming from file (fileSource)", n, (lib) => drain(lib.decodeSaveFileAsync(lib.fileSource(input))));
  await measureEach("decode streaming from file (fileSource sync)", n, (lib) => drain(lib.decodeSaveFileAsync(lib.fileSource(input, { sync: true }))));
  await measureEach("decode streaming from file (fs.createReadStream 1 MiB)", n, (lib) =>
    drain(lib.decodeSaveFileAsync(createReadStream(input, { highWaterMark: MiB }))),
  );
  await measureEach("decode streaming from the generator", n, (lib) => drain(lib.decodeSaveFileAsync(generatePvStream({ size: SIZE, format: "xl" }))));

  // Children: the base's first in each repetition (runChildren goes in queue order).
  for (const contender of [...contenders].reverse()) {
    const child = join(dir, `stream-child-${contender.name}.mjs`);
    await build({
      entryPoints: [join(contender.root, "test", "io", "fixtures", "stream-child.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: child,
      logLevel: "warning",
    });
    if (contender.name === "new") {
      measureChild("plain read, reused 4 MiB buffer, node child", [process.execPath, child, "read-file", "0", input]);
      measureChild(`${PLACED_READ}, node child`, [process.execPath, child, "read-file", "0", input], { XEN_STREAM_READ_OFFSET: "2048" });
    }
    measureChild("decode streaming from file, node child (fileSource sync)", [process.execPath, child, "decode-file", "0", input], {}, contender.rows);
  }

  // Start-up of an empty node and python process, to read the end-to-end
  // rows with and without it.
  measureChild("start-up only: node -e 0 (child)", [process.execPath, "-e", "0"]);
  measureChild("start-up only: python3 -c 0 (child)", ["/usr/bin/python3", "-c", "0"]);

  // The executable users run (the package's bin, dist/cli.cjs).
  for (const contender of [...contenders].reverse()) {
    const cli = join(contender.root, "dist", "cli.cjs");
    const hasVerify = existsSync(cli) && spawnSync(process.execPath, [cli, "verify", "--help"]).status === 0;
    // A code cache of its own per build (the launcher of one build removes
    // the caches of other builds in a shared directory).
    if (hasVerify) measureChild(CLI_ROW, [process.execPath, cli, "verify", input], { NODE_COMPILE_CACHE: join(dir, `cache-${contender.name}`) }, contender.rows);
    else contender.rows.set(CLI_ROW, { name: CLI_ROW, rates: [], note: `${cli} has no verify command: npm run build` });
  }
  runChildren(n);

  // --- encoding ------------------------------------------------------------
  // Values whose byte fields are views into `bytes`, one set per build.
  const files = new Map(contenders.map((contender) => [contender.lib, contender.lib.decodeSaveFile(bytes)]));
  const fileOf = (lib: Library) => files.get(lib) as ReturnType<Library["decodeSaveFile"]>;
  const sink = async (chunks: AsyncIterable<Uint8Array>): Promise<void> => {
    let total = 0;
    for await (const chunk of chunks) total += chunk.length;
    if (total !== n) throw new Error(`encoded ${total} bytes, expected ${n}`);
  };
  await measureEach("encode to a sink (encodeSaveFileChunks, reuseBuffer)", n, (lib) => sink(lib.encodeSaveFileChunks(fileOf(lib), { reuseBuffer: true })));
  await measureEach("encode to a sink (encodeSaveFileChunks, fresh chunks)", n, (lib) => sink(lib.encodeSaveFileChunks(fileOf(lib))));
  await measureEach("encode to a file (writeToFile, reuseBuffer)", n, (lib) => lib.writeToFile(lib.encodeSaveFileChunks(fileOf(lib), { reuseBuffer: true }), output));
  await measureEach("pipe file -> file (decode + encodeEventChunks)", n, (lib) =>
    lib.writeToFile(lib.encodeEventChunks(lib.decodeSaveFileAsync(lib.fileSource(input, { sync: true })), { reuseBuffer: true }), output),
  );
  // The new build runs each repetition's last.
  if (!readFileSync(output).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) throw new Error("pipe output differs");

  print(n);
}

function gb(rate: number): string {
  return Number.isNaN(rate) ? "-" : (rate / 1e9).toFixed(2);
}

function print(n: number): void {
  const copy = best(rows.get("plain copy (Uint8Array.prototype.set)"));
  // The baselines are the fastest plain reads of the run.
  const read = Math.max(best(rows.get("plain read, reused 4 MiB buffer")), best(rows.get("plain read, reused 1 MiB buffer")), best(rows.get(PLACED_READ)));
  const write = best(rows.get("plain write to a new file, 4 MiB writes"));
  const reference = best(rows.get("verify-stream-v2 -f xl FILE (child)"));
  const childRead = Math.max(best(rows.get("plain read, reused 4 MiB buffer, node child")), best(rows.get(`${PLACED_READ}, node child`)));
  const ratio = (value: number, base: number): number => value / base;
  const checks: Array<[string, number, string, boolean]> = [];
  const check = (what: string, value: number, text: string, ok: boolean): void => {
    checks.push([what, value, text, ok]);
  };
  const whole = best(rows.get("decode whole buffer from memory (SaveFileDecoder)"));
  check("whole-buffer decode / copy", ratio(whole, copy), ">= 2", ratio(whole, copy) >= 2);
  const cliRow = rows.get(CLI_ROW);
  const cli = best(cliRow);
  check("xen-stream verify / verify-stream-v2", ratio(cli, reference), ">= 1", ratio(cli, reference) >= 1);
  // The target compares like with like: a node process that starts, reads
  // the file and exits. The in-process read pays no start-up (info).
  check("xen-stream verify / plain read (node child)", ratio(cli, childRead), ">= 0.8", ratio(cli, childRead) >= 0.8);
  check("xen-stream verify / plain read (in-process, no start-up)", ratio(cli, read), "(info)", true);
  check("xen-stream verify peak RSS (MiB)", (cliRow?.rss ?? Number.NaN) / MiB, "< 128", (cliRow?.rss ?? Number.POSITIVE_INFINITY) < 128 * MiB);
  const fileRow = rows.get("decode streaming from file, node child (fileSource sync)");
  const streamed = best(fileRow);
  check("streaming decode from file (child) / verify-stream-v2", ratio(streamed, reference), "(>= 1 for verify)", ratio(streamed, reference) >= 1);
  check("streaming decode from file (child) / plain read (in-process)", ratio(streamed, read), "(>= 0.8 for verify)", ratio(streamed, read) >= 0.8);
  check("streaming decode from file (child) / plain read (node child)", ratio(streamed, childRead), "(>= 0.8 for verify)", ratio(streamed, childRead) >= 0.8);
  const inProcess = best(rows.get("decode streaming from file (fileSource sync)"));
  check("streaming decode from file (in-process) / plain read", ratio(inProcess, read), "(>= 0.8 for verify)", ratio(inProcess, read) >= 0.8);
  check("streaming decode from file (child) peak RSS (MiB)", (fileRow?.rss ?? Number.NaN) / MiB, "< 128", (fileRow?.rss ?? Number.POSITIVE_INFINITY) < 128 * MiB);
  // The same ratios with each process's empty start-up time taken out.
  const seconds = (name: string): number => n / best(rows.get(name));
  const nodeStart = seconds("start-up only: node -e 0 (child)");
  const pythonStart = seconds("start-up only: python3 -c 0 (child)");
  const referenceWork = n / (seconds("verify-stream-v2 -f xl FILE (child)") - pythonStart);
  const streamedWork = n / (seconds("decode streaming from file, node child (fileSource sync)") - nodeStart);
  const cliWork = n / (seconds(CLI_ROW) - nodeStart);
  check("xen-stream verify / verify-stream-v2, start-up excluded", ratio(cliWork, referenceWork), ">= 1", ratio(cliWork, referenceWork) >= 1);
  check("xen-stream verify, start-up excluded / plain read (in-process)", ratio(cliWork, read), "(info)", true);
  check("streaming decode (child) / verify-stream-v2, start-up excl.", ratio(streamedWork, referenceWork), "(>= 1 for verify)", ratio(streamedWork, referenceWork) >= 1);
  const encode = best(rows.get("encode to a sink (encodeSaveFileChunks, reuseBuffer)"));
  check("encode to a sink / copy", ratio(encode, copy), ">= 0.5", ratio(encode, copy) >= 0.5);
  const toFile = best(rows.get("encode to a file (writeToFile, reuseBuffer)"));
  check("encode to a file / plain write", ratio(toFile, write), "(info)", true);

  const lines: string[] = [];
  lines.push(`PV stream: xl save file, ${n} bytes (${(n / 2 ** 30).toFixed(2)} GiB), ${REPEAT} runs per row, GB/s = 1e9 bytes/s`);
  lines.push("");
  const width = Math.max(...[...rows.keys()].map((k) => k.length));
  const rssText = (row: Row | undefined): string => (row?.rss === undefined ? "" : `${(row.rss / MiB).toFixed(1)} MiB`);
  const comparing = contenders.length > 1;
  if (comparing) {
    lines.push(`base: ${contenders[1]?.root ?? ""}; new: ${ROOT}; new/base: ratio of the best rates (above 1 is faster)`);
    lines.push("");
  }
  const head = comparing
    ? `${"base".padStart(6)}  ${"base".padStart(6)}  ${"new".padStart(6)}  ${"new".padStart(6)}  ${"new/".padStart(6)}  ${"new".padStart(6)}  ${"base".padStart(9)}  ${"new".padStart(9)}`
    : "";
  if (comparing) lines.push(`${"".padEnd(width)}  ${head}`);
  lines.push(
    comparing
      ? `${"row".padEnd(width)}  ${"best".padStart(6)}  ${"median".padStart(6)}  ${"best".padStart(6)}  ${"median".padStart(6)}  ${"base".padStart(6)}  ${"x read".padStart(6)}  ${"peak RSS".padStart(9)}  ${"peak RSS".padStart(9)}`
      : `${"row".padEnd(width)}  ${"best".padStart(6)}  ${"median".padStart(6)}  ${"x copy".padStart(6)}  ${"x read".padStart(6)}  ${"peak RSS".padStart(9)}`,
  );
  for (const row of rows.values()) {
    if (row.rates.length === 0) {
      lines.push(`${row.name.padEnd(width)}  skipped: ${row.note ?? ""}`);
      continue;
    }
    const rss = rssText(row);
    if (row.name.startsWith("start-up only")) {
      const ms = `${((n / best(row)) * 1000).toFixed(0)} ms`.padStart(6);
      const medianMs = `${((n / median(row.rates)) * 1000).toFixed(0)} ms`.padStart(6);
      lines.push(
        comparing
          ? `${row.name.padEnd(width)}  ${"".padStart(6)}  ${"".padStart(6)}  ${ms}  ${medianMs}  ${"".padStart(6)}  ${"".padStart(6)}  ${"".padStart(9)}  ${rss.padStart(9)}`
          : `${row.name.padEnd(width)}  ${ms}  ${medianMs}  ${"".padStart(6)}  ${"".padStart(6)}  ${rss.padStart(9)}`,
      );
      continue;
    }
    if (!comparing) {
      lines.push(
        `${row.name.padEnd(width)}  ${gb(best(row)).padStart(6)}  ${gb(median(row.rates)).padStart(6)}  ${ratio(best(row), copy).toFixed(2).padStart(6)}  ${ratio(best(row), read).toFixed(2).padStart(6)}  ${rss.padStart(9)}`,
      );
      continue;
    }
    const baseRow = baseRows.get(row.name);
    const hasBase = baseRow !== undefined && baseRow.rates.length > 0;
    lines.push(
      `${row.name.padEnd(width)}  ${(hasBase ? gb(best(baseRow)) : "").padStart(6)}  ${(hasBase ? gb(median(baseRow.rates)) : "").padStart(6)}  ${gb(best(row)).padStart(6)}  ${gb(median(row.rates)).padStart(6)}  ${(hasBase ? ratio(best(row), best(baseRow)).toFixed(2) : "").padStart(6)}  ${ratio(best(row), read).toFixed(2).padStart(6)}  ${rssText(baseRow).padStart(9)}  ${rss.padStart(9)}`,
    );
  }
  lines.push("");
  lines.push("targets (ratios of best rates from this run):");
  for (const [what, value, text, ok] of checks) {
    lines.push(`  ${what.padEnd(62)} ${Number.isNaN(value) ? "   -" : value.toFixed(2).padStart(6)}  ${text.padEnd(20)} ${Number.isNaN(value) ? "n/a" : ok ? "ok" : "MISSED"}`);
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(() => {
    rmSync(dir, { recursive: true, force: true });
  });
