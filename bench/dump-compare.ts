/**
 * `xen-stream dump --json` beside Xen's `verify-stream-v2 -v` (issue #14:
 * dump --json at least as fast), on the same generated PV xl save file
 * (src/testing/pv-stream-generator.ts), both printing to /dev/null. Rows
 * for `xen-stream dump` (text) and `xen-stream verify` for reference.
 *
 *   npx tsx bench/dump-compare.ts [--size-mib 1024] [--runs 3] [--keep] [--input FILE]
 *
 * (--input: time an existing save file instead of generating one.)
 *
 * Every contender runs as a child with NODE_EXTRA_CA_CERTS unset (the
 * xen-stream launcher starts node without it; node parses the file it
 * names at every start-up). Wall time (perf_counter) and peak RSS (rusage)
 * measured by a small python parent;
 * the contenders alternate run by run so drift in the machine's speed
 * touches them alike. Prints every run, the best of each and the ratio;
 * exits 1 when dump --json is slower than verify-stream-v2 -v.
 *
 * Needs the reference tools (`bash scripts/fetch-xen-tools.sh`), python3
 * and the built CLI (`npm run build`): dist/cli.cjs, as
 * users run it.
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generatePvStream } from "../src/testing/pv-stream-generator.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
    keep: { type: "boolean", default: false },
    input: { type: "string" },
  },
});
const size = Number(values["size-mib"]) * 2 ** 20;
const runs = Number(values.runs);

const tools = resolve(process.env.XEN_TOOLS_DIR ?? join(ROOT, ".cache", "xen-tools"), "usr", "lib", "xen-4.17");
const reference = join(tools, "bin", "verify-stream-v2");
const cli = join(ROOT, "dist", "cli.cjs");
for (const [path, hint] of [
  [reference, "verify-stream-v2 not found: run `bash scripts/fetch-xen-tools.sh` first"],
  [cli, "dist/cli.cjs not found: run `npm run build` first"],
] as const) {
  if (!existsSync(path)) {
    console.error(hint);
    process.exit(2);
  }
}

// One environment for every child: without NODE_EXTRA_CA_CERTS.
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const pythonEnv = { ...env, PYTHONPATH: join(tools, "lib", "python") };

interface Contender {
  name: string;
  command: string[];
  env: NodeJS.ProcessEnv;
  /** Wall seconds of each run. */
  seconds: number[];
  rssMiB: number;
}

const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "dump-bench-"));
const input = values.input ?? join(work, "pv.xl");

// Times one child from a python parent: wall time by perf_counter (finer
// than /usr/bin/time's 10 ms), peak RSS from the children's rusage,
// stdout to /dev/null.
const TIMER = [
  "import resource, subprocess, sys, time",
  "start = time.perf_counter()",
  "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)",
  "wall = time.perf_counter() - start",
  "print('%.6f %d %d' % (wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, done.returncode))",
  "sys.stderr.write(done.stderr.decode('utf8', 'replace')[-2000:])",
].join("\n");

function timed(contender: Contender): void {
  const result = spawnSync(python, ["-c", TIMER, ...contender.command], { env: contender.env, encoding: "utf8" });
  const [seconds, rssKiB, status] = result.stdout.trim().split(" ").map(Number) as [number, number, number];
  if (result.status !== 0 || status !== 0) throw new Error(`${contender.name} failed (${status}): ${result.stderr}`);
  contender.seconds.push(seconds);
  contender.rssMiB = Math.max(contender.rssMiB, rssKiB / 1024);
}

try {
  if (values.input === undefined) {
    process.stderr.write(`generating a ${(size / 2 ** 30).toFixed(2)} GiB PV xl save file in ${input} ...\n`);
    const fd = openSync(input, "w");
    for (const chunk of generatePvStream({ size, format: "xl" })) writeSync(fd, chunk);
    closeSync(fd);
  }
  const bytes = statSync(input).size;

  const contenders: Contender[] = [
    { name: "verify-stream-v2 -v -f xl", command: [python, reference, "-v", "-f", "xl", "-i", input], env: pythonEnv, seconds: [], rssMiB: 0 },
    { name: "xen-stream dump --json", command: [cli, "dump", "--json", input], env, seconds: [], rssMiB: 0 },
    { name: "xen-stream dump (text)", command: [cli, "dump", input], env, seconds: [], rssMiB: 0 },
    { name: "xen-stream verify", command: [cli, "verify", input], env, seconds: [], rssMiB: 0 },
    // From a pipe: the pipe alone (cat into cat), then dump --json reading it.
    { name: "cat FILE | cat (the pipe)", command: ["sh", "-c", 'cat "$1" | cat', "sh", input], env, seconds: [], rssMiB: 0 },
    { name: "cat FILE | dump --json -", command: ["sh", "-c", 'cat "$1" | "$2" dump --json -', "sh", input, cli], env, seconds: [], rssMiB: 0 },
  ];
  // Output sizes, once, for the record.
  const outputBytes = (command: string[], childEnv: NodeJS.ProcessEnv): number => {
    const [head, ...rest] = command as [string, ...string[]];
    const result = spawnSync("sh", ["-c", 'exec "$@" | wc -c', "sh", head, ...rest], { env: childEnv, encoding: "utf8" });
    return Number(result.stdout.trim());
  };
  console.log(`input: ${(bytes / 2 ** 20).toFixed(0)} MiB ${values.input === undefined ? "generated PV xl save file" : input}; output to /dev/null; NODE_EXTRA_CA_CERTS unset`);
  for (const contender of contenders.slice(0, 2)) console.log(`  ${contender.name} prints ${outputBytes(contender.command, contender.env)} bytes`);
  for (let run = 0; run < runs; run++) {
    for (const contender of contenders) {
      timed(contender);
      const seconds = contender.seconds[contender.seconds.length - 1] as number;
      console.log(`${contender.name.padEnd(28)} ${seconds.toFixed(3)} s  ${(bytes / seconds / 1e9).toFixed(2)} GB/s`);
    }
  }
  const best = (contender: Contender): number => Math.min(...contender.seconds);
  for (const contender of contenders) {
    console.log(`best ${contender.name.padEnd(28)} ${best(contender).toFixed(3)} s  ${(bytes / best(contender) / 1e9).toFixed(2)} GB/s  peak RSS ${contender.rssMiB.toFixed(0)} MiB`);
  }
  const [referenceRow, dumpRow, , , pipeRow, pipedDumpRow] = contenders as [Contender, Contender, Contender, Contender, Contender, Contender];
  const ratio = best(referenceRow) / best(dumpRow);
  console.log(`dump --json / verify-stream-v2 -v: ${ratio.toFixed(2)}x (target >= 1)`);
  console.log(`dump --json from a pipe / the pipe alone: ${(best(pipeRow) / best(pipedDumpRow)).toFixed(2)}x (1: as fast as the pipe carries the bytes)`);
  // verify-stream-v2 on a pipe: its reads of a pipe come back short, and it
  // calls a short read a truncated stream (Xen 4.17's verify-stream-v2).
  const piped = spawnSync("sh", ["-c", 'cat "$1" | "$2" "$3" -v -f xl', "sh", input, python, reference], { env: pythonEnv, encoding: "utf8", maxBuffer: 1 << 26 });
  const said = (piped.stderr.split("\n").filter((line) => line.trim() !== "" && !line.startsWith("#")).pop() ?? "").trim();
  console.log(`cat FILE | verify-stream-v2 -v -f xl: exit ${piped.status}${piped.status === 0 ? "" : ` (${said})`}`);
  if (ratio < 1) process.exitCode = 1;
} finally {
  if (values.keep) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
