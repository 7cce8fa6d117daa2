/**
 * Inspection speed (issue 14): `xen-stream info FILE` and `xen-stream
 * stats FILE` beside `xen-stream verify FILE`, and `xen-stream diff A B`
 * beside reading both files (`cat A B > /dev/null`), on generated 1 GiB xl
 * save files (B: another seed, so every page differs and diff does all its
 * work), all from the page cache, rows interleaved round after round.
 * Peak RSS from /usr/bin/time (%M). Targets: info and stats at least as
 * fast as verify; diff under 3x the time of reading both, peak RSS under
 * 256 MiB. Every contender runs with NODE_EXTRA_CA_CERTS unset.
 *
 *   npx tsx bench/inspect-compare.ts [--size-mib 1024] [--runs 5]
 *
 * Needs the built CLI (`npm run build`).
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generatePvStream } from "../src/testing/pv-stream-generator.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "5" },
  },
});
const size = Number(values["size-mib"]) * 2 ** 20;
const runs = Number(values.runs);
const cli = join(ROOT, "dist", "cli.cjs");
if (!existsSync(cli)) {
  console.error("dist/cli.cjs not found: run `npm run build` first");
  process.exit(2);
}
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

const work = mkdtempSync(join(ROOT, ".bench-inspect-"));
const fileA = join(work, "a.xl");
const fileB = join(work, "b.xl");
for (const [path, seed] of [
  [fileA, 1],
  [fileB, 2],
] as const) {
  const fd = openSync(path, "w");
  for (const chunk of generatePvStream({ size, format: "xl", seed })) writeSync(fd, chunk);
  closeSync(fd);
}

interface Contender {
  name: string;
  command: string;
  args: string[];
  /** Exit statuses that mean success (diff exits 1 for files that differ). */
  ok: number[];
}

const contenders: Contender[] = [
  { name: "verify A", command: cli, args: ["verify", fileA], ok: [0] },
  { name: "info A", command: cli, args: ["info", fileA], ok: [0] },
  { name: "stats A", command: cli, args: ["stats", fileA], ok: [0] },
  { name: "cat A B > /dev/null", command: "sh", args: ["-c", 'cat "$0" "$1" > /dev/null', fileA, fileB], ok: [0] },
  { name: "diff A B", command: cli, args: ["diff", fileA, fileB], ok: [1] },
];

function timed(contender: Contender): { seconds: number; rssMiB: number } {
  const result = spawnSync("/usr/bin/time", ["-f", "TIME %e %M", contender.command, ...contender.args], { env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (result.status === null || !contender.ok.includes(result.status)) throw new Error(`${contender.name} failed (${result.status}): ${result.stderr}`);
  const match = /TIME ([\d.]+) (\d+)/.exec(result.stderr) as RegExpExecArray;
  return { seconds: Number(match[1]), rssMiB: Number(match[2]) / 1024 };
}

console.log(`inputs: two ${(size / 2 ** 20).toFixed(0)} MiB generated PV xl save files (seeds 1 and 2) in ${work}; ${runs} rounds, rows interleaved; NODE_EXTRA_CA_CERTS unset`);
const times = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
const peaks = new Map<string, number>(contenders.map((c) => [c.name, 0]));
try {
  for (let round = 0; round < runs; round++) {
    for (const contender of contenders) {
      const { seconds, rssMiB } = timed(contender);
      (times.get(contender.name) as number[]).push(seconds);
      peaks.set(contender.name, Math.max(peaks.get(contender.name) as number, rssMiB));
    }
  }
  const best = (name: string): number => Math.min(...(times.get(name) as number[]));
  const median = (name: string): number => {
    const sorted = [...(times.get(name) as number[])].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] as number;
  };
  console.log(`| command | best s | median s | peak RSS MiB |`);
  console.log(`|---|---|---|---|`);
  for (const { name } of contenders) console.log(`| ${name} | ${best(name).toFixed(2)} | ${median(name).toFixed(2)} | ${(peaks.get(name) as number).toFixed(0)} |`);
  const verify = best("verify A");
  const info = best("info A") / verify;
  const stats = best("stats A") / verify;
  const diff = best("diff A B") / best("cat A B > /dev/null");
  const diffRss = peaks.get("diff A B") as number;
  console.log(`info/verify ${info.toFixed(2)}x (target <= 1), stats/verify ${stats.toFixed(2)}x (target <= 1), diff/(cat A B) ${diff.toFixed(2)}x (target < 3), diff peak RSS ${diffRss.toFixed(0)} MiB (limit 256)`);
  if (info > 1 || stats > 1 || diff >= 3 || diffRss >= 256) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
