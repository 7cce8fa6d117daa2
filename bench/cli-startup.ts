/**
 * `xen-stream verify` as users run it (a child process on the built
 * dist/cli.cjs), this build beside another one (issues #12/#13: verify of
 * a 1 GiB file within 5% of the base, start-up on a small file no worse):
 *
 *   npx tsx bench/cli-startup.ts --base ../base/dist [--rounds 5] [--small-runs 15] [--size-mib 1024] [--input FILE]
 *
 * Rows: verify of a small file (the captured PV sample, 34 KB: start-up
 * dominates), verify --verbose of it, and verify of a generated PV xl save
 * file of --size-mib MiB (throughput). The contenders alternate within
 * every round (base, new, base, new...) so that drift in a shared
 * machine's speed touches both alike; a round's small-file time is the
 * median of --small-runs runs; the table shows the median of the rounds.
 * Both run on the same node with NODE_EXTRA_CA_CERTS unset (node parses
 * the file it names at every start-up), stdout to /dev/null.
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
    base: { type: "string" },
    rounds: { type: "string", default: "5" },
    "small-runs": { type: "string", default: "15" },
    "size-mib": { type: "string", default: "1024" },
    input: { type: "string" },
  },
});
if (values.base === undefined) {
  console.error("usage: npx tsx bench/cli-startup.ts --base DIST_OF_THE_OTHER_BUILD [--rounds 5] [--small-runs 15] [--size-mib 1024] [--input FILE]");
  process.exit(2);
}
const rounds = Number(values.rounds);
const smallRuns = Number(values["small-runs"]);
const contenders = [
  { name: "base", cli: join(resolve(values.base), "cli.cjs") },
  { name: "new", cli: join(ROOT, "dist", "cli.cjs") },
];
for (const { cli } of contenders) {
  if (!existsSync(cli)) {
    console.error(`${cli} not found (npm run build)`);
    process.exit(2);
  }
}
const env: NodeJS.ProcessEnv = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const small = join(ROOT, "spec-vectors", "captured", "xen-4.17-pv-save.skel.xl");

/** Wall milliseconds of one run of `node CLI ARGS` (stdout to /dev/null). */
function time(cli: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [cli, ...args], { env, stdio: ["ignore", "ignore", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${cli} ${args.join(" ")}: exit ${result.status}: ${result.stderr.toString()}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const work = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), "cli-startup-"));
try {
  const big = values.input ?? join(work, "pv.xl");
  if (values.input === undefined) {
    process.stderr.write(`generating a ${values["size-mib"]} MiB PV xl save file in ${big} ...\n`);
    const fd = openSync(big, "w");
    for (const chunk of generatePvStream({ size: Number(values["size-mib"]) * 2 ** 20, format: "xl" })) writeSync(fd, chunk);
    closeSync(fd);
  }
  const bigBytes = statSync(big).size;
  const rows = [
    { name: `verify ${statSync(small).size} B sample`, args: [small], runs: smallRuns },
    { name: "verify -v of it", args: ["-v", small], runs: smallRuns },
    { name: `verify ${(bigBytes / 2 ** 20).toFixed(0)} MiB`, args: [big], runs: 1 },
  ];
  // results[row][contender] = per-round medians
  const results = rows.map(() => contenders.map(() => [] as number[]));
  for (let round = 0; round < rounds; round++) {
    for (const [r, row] of rows.entries()) {
      const runs = contenders.map(() => [] as number[]);
      for (let i = 0; i < row.runs; i++) for (const [c, contender] of contenders.entries()) runs[c]?.push(time(contender.cli, ["verify", ...row.args]));
      for (const [c] of contenders.entries()) results[r]?.[c]?.push(median(runs[c] as number[]));
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  console.log(`node ${process.version}, ${rounds} rounds, medians; small-file rounds: median of ${smallRuns} runs`);
  console.log(`| ${"run".padEnd(24)} | ${"base".padStart(10)} | ${"new".padStart(10)} | new/base |`);
  console.log(`|${"-".repeat(26)}|${"-".repeat(12)}|${"-".repeat(12)}|----------|`);
  for (const [r, row] of rows.entries()) {
    const [base, fresh] = (results[r] as number[][]).map(median) as [number, number];
    const show = (ms: number): string => (row.runs === 1 ? `${(bigBytes / (ms / 1000) / 1e9).toFixed(2)} GB/s` : `${ms.toFixed(1)} ms`);
    console.log(`| ${row.name.padEnd(24)} | ${show(base).padStart(10)} | ${show(fresh).padStart(10)} | ${(fresh / base).toFixed(3).padStart(8)} |`);
  }
  console.log("(new/base: time ratio, below 1 is faster)");
} finally {
  rmSync(work, { recursive: true, force: true });
}
