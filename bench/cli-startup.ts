/**
 * `xen-stream verify` as users run it (a child process on the built
 * dist/cli.cjs), this build beside another one (issues #12/#13: verify of
 * a 1 GiB file within 5% of the base, start-up on a small file no worse):
 *
 *   npx tsx bench/cli-startup.ts --base ../base/dist [--rounds 5] [--small-runs 15] [--size-mib 1024] [--input FILE]
 *
 * Rows: verify of a small file (the captured PV sample, 34 KB: start-up
 * dominates), verify --verbose of it, info of it (a build without `info`
 * runs `verify` there instead, said in the row's name), and verify of a
 * generated PV xl save file of --size-mib MiB (throughput). The contenders alternate within
 * every round (base, new, base, new...) so that drift in a shared
 * machine's speed touches both alike; a round's small-file time is the
 * median of --small-runs runs; the table shows the median of the rounds.
 * Both run on the same node with NODE_EXTRA_CA_CERTS unset (node parses
 * the file it names at every start-up), stdout to /dev/null, each with a
 * code cache directory of its own (NODE_COMPILE_CACHE: the launcher of one
 * build removes the cache files of other builds in a shared one); a
 * warm-up run of each row writes the caches before the timed runs.
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
  { name: "base", cli: join(resolve(values.base), "cli.cjs"), env: {} as NodeJS.ProcessEnv },
  { name: "new", cli: join(ROOT, "dist", "cli.cjs"), env: {} as NodeJS.ProcessEnv },
];
for (const { cli } of contenders) {
  if (!existsSync(cli)) {
    console.error(`${cli} not found (npm run build)`);
    process.exit(2);
  }
}
const env: NodeJS.ProcessEnv = { ...process.env };
const extraCerts = env.NODE_EXTRA_CA_CERTS !== undefined;
delete env.NODE_EXTRA_CA_CERTS;
const small = join(ROOT, "spec-vectors", "captured", "xen-4.17-pv-save.skel.xl");

/** Wall milliseconds of one run of `node CLI ARGS` (stdout to /dev/null). */
function time(cli: string, args: string[], runEnv: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [cli, ...args], { env: runEnv, stdio: ["ignore", "ignore", "pipe"] });
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
  for (const contender of contenders) contender.env = { ...env, NODE_COMPILE_CACHE: join(work, `cache-${contender.name}`) };
  const hasInfo = contenders.map((contender) => spawnSync(process.execPath, [contender.cli, "info", "--help"], { env: contender.env, stdio: "ignore" }).status === 0);
  const infoName = hasInfo.every(Boolean) ? "info of it" : `info of it (${contenders.filter((_, c) => hasInfo[c] !== true).map((contender) => contender.name).join(", ")}: verify)`;
  const rows = [
    { name: `verify ${statSync(small).size} B sample`, args: () => ["verify", small], runs: smallRuns },
    { name: "verify -v of it", args: () => ["verify", "-v", small], runs: smallRuns },
    { name: infoName, args: (c: number) => [hasInfo[c] === true ? "info" : "verify", small], runs: smallRuns },
    { name: `verify ${(bigBytes / 2 ** 20).toFixed(0)} MiB`, args: () => ["verify", big], runs: 1 },
  ];
  // Warm-up: each build writes its code caches.
  for (const row of rows) for (const [c, contender] of contenders.entries()) time(contender.cli, row.args(c), contender.env);
  // results[row][contender] = per-round medians
  const results = rows.map(() => contenders.map(() => [] as number[]));
  for (let round = 0; round < rounds; round++) {
    for (const [r, row] of rows.entries()) {
      const runs = contenders.map(() => [] as number[]);
      for (let i = 0; i < row.runs; i++) for (const [c, contender] of contenders.entries()) runs[c]?.push(time(contender.cli, row.args(c), contender.env));
      for (const [c] of contenders.entries()) results[r]?.[c]?.push(median(runs[c] as number[]));
    }
    process.stderr.write(`round ${round + 1}/${rounds} done\n`);
  }
  console.log(`node ${process.version}, ${rounds} rounds, medians of the rounds [range of the rounds]; small-file rounds: median of ${smallRuns} runs`);
  console.log(`environment: NODE_EXTRA_CA_CERTS unset for both contenders${extraCerts ? " (it was set here)" : " (it was not set)"}`);
  const cells = rows.map((row, r) =>
    (results[r] as number[][]).map((perRound) => {
      const show = (ms: number): string => (row.runs === 1 ? (bigBytes / (ms / 1000) / 1e9).toFixed(2) : ms.toFixed(1));
      const unit = row.runs === 1 ? " GB/s" : " ms";
      // The range low to high in the row's unit (a rate is high when the time is low).
      const [low, high] = row.runs === 1 ? [Math.max(...perRound), Math.min(...perRound)] : [Math.min(...perRound), Math.max(...perRound)];
      return `${show(median(perRound))}${unit} [${show(low)}-${show(high)}]`;
    }),
  );
  const width = Math.max(24, ...rows.map((row) => row.name.length));
  const cell = Math.max(10, ...cells.flat().map((text) => text.length));
  console.log(`| ${"run".padEnd(width)} | ${"base".padStart(cell)} | ${"new".padStart(cell)} | new/base |`);
  console.log(`|${"-".repeat(width + 2)}|${"-".repeat(cell + 2)}|${"-".repeat(cell + 2)}|----------|`);
  for (const [r, row] of rows.entries()) {
    const [base, fresh] = (results[r] as number[][]).map(median) as [number, number];
    const [baseCell, newCell] = cells[r] as [string, string];
    console.log(`| ${row.name.padEnd(width)} | ${baseCell.padStart(cell)} | ${newCell.padStart(cell)} | ${(fresh / base).toFixed(3).padStart(8)} |`);
  }
  console.log("(new/base: ratio of the medians' times, below 1 is faster)");
} finally {
  rmSync(work, { recursive: true, force: true });
}
