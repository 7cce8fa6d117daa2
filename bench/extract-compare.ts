/**
 * Memory extraction speed: `xen-stream extract-memory FILE -o OUT` (a
 * sparse raw image) beside `cp FILE OUT` of the same generated 1 GiB xl
 * save file, on the same disk, same run, rows interleaved. Peak RSS from
 * /usr/bin/time (%M). Target (issue: guest memory): ours >= 0.8x cp, peak
 * RSS < 128 MiB. Every contender runs with the same environment, with
 * NODE_EXTRA_CA_CERTS unset.
 *
 *   npx tsx bench/extract-compare.ts [--size-mib 1024] [--runs 5] [--format raw|elf]
 *
 * Needs the built CLI (`npm run build`).
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generatePvStream } from "../src/testing/pv-stream-generator.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "5" },
    format: { type: "string", default: "raw" },
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

const work = mkdtempSync(join(ROOT, ".bench-extract-"));
const input = join(work, "pv.xl");
const fd = openSync(input, "w");
for (const chunk of generatePvStream({ size, format: "xl" })) writeSync(fd, chunk);
closeSync(fd);
const bytes = statSync(input).size;

/**
 * Runs one contender after a `sync`, so that neither pays for writing back
 * the other's 1 GiB of dirty pages (the kernel's writeback and dirty-page
 * throttling otherwise land on whoever runs next: sys time of 2 s for the
 * same work).
 */
function timed(command: string, args: string[]): { seconds: number; cpu: number; rssMiB: number } {
  spawnSync("sync");
  const result = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", command, ...args], { env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  const match = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.stderr) as RegExpExecArray;
  return { seconds: Number(match[1]), cpu: Number(match[2]) + Number(match[3]), rssMiB: Number(match[4]) / 1024 };
}

console.log(`input: ${(bytes / 2 ** 20).toFixed(0)} MiB generated PV xl save file; output on the same disk (${work}); NODE_EXTRA_CA_CERTS unset for every row`);
const ours: number[] = [];
const copies: number[] = [];
const ourCpu: number[] = [];
const copyCpu: number[] = [];
let peak = 0;
try {
  for (let i = 0; i < runs; i++) {
    const out = join(work, "out");
    rmSync(out, { force: true });
    const copy = timed("cp", [input, out]);
    copies.push(copy.seconds);
    copyCpu.push(copy.cpu);
    rmSync(out, { force: true });
    const our = timed(cli, ["extract-memory", input, "-o", out, "--format", values.format]);
    ours.push(our.seconds);
    ourCpu.push(our.cpu);
    peak = Math.max(peak, our.rssMiB);
    console.log(`run ${i + 1}: cp ${copy.seconds.toFixed(2)} s (cpu ${copy.cpu.toFixed(2)}), extract-memory ${our.seconds.toFixed(2)} s (cpu ${our.cpu.toFixed(2)}, ${our.rssMiB.toFixed(0)} MiB RSS), load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
  }
  const best = (list: number[]): number => Math.min(...list);
  const median = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] as number;
  const ratio = best(copies) / best(ours);
  console.log(`best: cp ${best(copies).toFixed(2)} s, extract-memory ${best(ours).toFixed(2)} s: ${ratio.toFixed(2)}x cp (target >= 0.8x); peak RSS ${peak.toFixed(0)} MiB (limit 128)`);
  console.log(`median: cp ${median(copies).toFixed(2)} s, extract-memory ${median(ours).toFixed(2)} s: ${(median(copies) / median(ours)).toFixed(2)}x cp`);
  console.log(`cpu (user+sys) best: cp ${best(copyCpu).toFixed(2)} s, extract-memory ${best(ourCpu).toFixed(2)} s: ${(best(copyCpu) / best(ourCpu)).toFixed(2)}x cp (cp moves the bytes in the kernel with copy_file_range, one copy; Node has no such call, so ours reads and writes: two)`);
  if (ratio < 0.8 || peak >= 128) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
