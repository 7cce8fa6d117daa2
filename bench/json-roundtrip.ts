/**
 * JSON document round trip speed: `xen-stream decode FILE -o doc.json`
 * (document + page file) then `xen-stream encode doc.json -o OUT`, beside
 * `cp FILE OUT` of the same generated 1 GiB xl save file, on the same disk,
 * same run, rows interleaved, each after a `sync`. Checks that OUT equals FILE. Peak RSS from
 * /usr/bin/time (%M). Target (issue 14): decode + encode under 4x cp.
 * Every contender runs with NODE_EXTRA_CA_CERTS unset.
 *
 *   npx tsx bench/json-roundtrip.ts [--size-mib 1024] [--runs 3]
 *
 * Needs the built CLI (`npm run build`).
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { generatePvStream } from "../src/testing/pv-stream-generator.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values } = parseArgs({
  options: {
    "size-mib": { type: "string", default: "1024" },
    runs: { type: "string", default: "3" },
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

const work = mkdtempSync(join(ROOT, ".bench-json-"));
const input = join(work, "pv.xl");
const fd = openSync(input, "w");
for (const chunk of generatePvStream({ size, format: "xl" })) writeSync(fd, chunk);
closeSync(fd);
const bytes = statSync(input).size;

/**
 * Runs one contender from a clean page cache state: `sync` first, so that
 * no contender pays for writing back the dirty pages of the one before it
 * (three 1 GiB writers in a row hit the kernel's dirty-page throttling).
 */
function timed(command: string, args: string[]): { seconds: number; cpu: number; rssMiB: number } {
  spawnSync("sync");
  const result = spawnSync("/usr/bin/time", ["-f", "TIME %e %U %S %M", command, ...args], { env, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  const match = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(result.stderr) as RegExpExecArray;
  return { seconds: Number(match[1]), cpu: Number(match[2]) + Number(match[3]), rssMiB: Number(match[4]) / 1024 };
}

console.log(`input: ${(bytes / 2 ** 20).toFixed(0)} MiB generated PV xl save file; outputs on the same disk (${work}); NODE_EXTRA_CA_CERTS unset for every row`);
const copies: number[] = [];
const cpuCopies: number[] = [];
const cpuRoundTrips: number[] = [];
const decodes: number[] = [];
const encodes: number[] = [];
let peak = 0;
const doc = join(work, "doc.json");
const out = join(work, "out");
try {
  for (let i = 0; i < runs; i++) {
    for (const path of [out, doc, join(work, "doc.pages")]) rmSync(path, { force: true });
    const copy = timed("cp", [input, out]);
    copies.push(copy.seconds);
    cpuCopies.push(copy.cpu);
    rmSync(out, { force: true });
    const decode = timed(cli, ["decode", input, "-o", doc]);
    const encode = timed(cli, ["encode", doc, "-o", out]);
    decodes.push(decode.seconds);
    encodes.push(encode.seconds);
    cpuRoundTrips.push(decode.cpu + encode.cpu);
    peak = Math.max(peak, decode.rssMiB, encode.rssMiB);
    const same = spawnSync("cmp", [input, out]).status === 0;
    if (!same) throw new Error("encode(decode(FILE)) differs from FILE");
    console.log(
      `run ${i + 1}: cp ${copy.seconds.toFixed(2)} s (cpu ${copy.cpu.toFixed(2)} s); decode ${decode.seconds.toFixed(2)} s (${decode.rssMiB.toFixed(0)} MiB RSS), ` +
        `encode ${encode.seconds.toFixed(2)} s (${encode.rssMiB.toFixed(0)} MiB RSS); cpu decode+encode ${(decode.cpu + encode.cpu).toFixed(2)} s; identical; doc.json ${(statSync(doc).size / 2 ** 20).toFixed(1)} MiB`,
    );
  }
  const best = (list: number[]): number => Math.min(...list);
  const total = Math.min(...decodes.map((d, i) => d + (encodes[i] as number)));
  const ratio = total / best(copies);
  console.log(
    `best: cp ${best(copies).toFixed(2)} s, decode ${best(decodes).toFixed(2)} s, encode ${best(encodes).toFixed(2)} s, ` +
      `decode+encode ${total.toFixed(2)} s: ${ratio.toFixed(2)}x cp (target < 4x); peak RSS ${peak.toFixed(0)} MiB`,
  );
  // Info: user+sys time, less sensitive to other load on the machine than elapsed time.
  console.log(`info: best cpu time (user+sys): cp ${best(cpuCopies).toFixed(2)} s, decode+encode ${best(cpuRoundTrips).toFixed(2)} s: ${(best(cpuRoundTrips) / best(cpuCopies)).toFixed(2)}x`);
  if (ratio >= 4) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
